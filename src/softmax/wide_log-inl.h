// The f64 exp and log1p of a group's row sums (f32 data), on Highway vectors, compiled once per
// SIMD target.
//
// A log op's row of f32 data needs log(count + rest) with rest = sum * exp(t), t = (s - max)/T.
// Its result is subtracted from f32 outputs whose magnitude is at least its own, so a relative
// error of 1e-13 in it stays below 1e-5 ulp of every output: full f64 accuracy (what hwy::Exp and
// hwy::Log1p give, with twice the operations) buys nothing here. With them, the group's logs took
// 9% of log_softmax's time on [512, 128] rows in L2 (1 thread); these measured 2.3% faster overall.
//
// Contracts (tested against long double in tests/wide_log_test.cc, on every target):
//   ExpOfNonPositive(t): t in [-700, 0], relative error < 1e-13; exactly 1 at t = 0.
//   Log1pOfSum(x): finite x >= -0.5, relative error < 1e-13; NaN in, NaN out.
//
// Per-target toggle guard (not #pragma once): this file is included once per target.
#if defined(SMX_SOFTMAX_WIDE_LOG_INL_H_) == defined(HWY_TARGET_TOGGLE)
#ifdef SMX_SOFTMAX_WIDE_LOG_INL_H_
#undef SMX_SOFTMAX_WIDE_LOG_INL_H_
#else
#define SMX_SOFTMAX_WIDE_LOG_INL_H_
#endif

#include "hwy/highway.h"

HWY_BEFORE_NAMESPACE();
namespace smx::HWY_NAMESPACE {
namespace hn = hwy::HWY_NAMESPACE;

// exp(t) for t in [-700, 0]: t = k ln2 + r with |r| <= ln2/2, e^r by its Taylor polynomial of
// degree 11 (truncation 0.347^12/12! < 6e-15 relative), 2^k added to the exponent field (k >= -1010
// keeps the result normal). Not the f64 ExpOfShifted of exp-inl.h: its flush select and two-step
// scaling for subnormal results are not needed here, and sharing it measured 2-4% slower on
// log_softmax of [512, 128] and [32768, 128] (1 thread).
template <class D>
HWY_INLINE hn::Vec<D> ExpOfNonPositive(D d, hn::Vec<D> t) {
  using V = hn::Vec<D>;
  const hn::RebindToSigned<D> di;
  const V kShifter = hn::Set(d, 0x1.8p52);  // k lands in the low mantissa bits of t/ln2 + this
  const V kb = hn::MulAdd(t, hn::Set(d, 1.4426950408889634), kShifter);
  const V k = hn::Sub(kb, kShifter);
  // Cody-Waite: ln2_hi has 32 significant bits, so k ln2_hi (|k| <= 1100) is exact.
  V r = hn::NegMulAdd(k, hn::Set(d, 0x1.62e42fee00000p-1), t);
  r = hn::NegMulAdd(k, hn::Set(d, 0x1.a39ef35793c76p-33), r);
  const V r2 = hn::Mul(r, r), r4 = hn::Mul(r2, r2), r8 = hn::Mul(r4, r4);
  auto pair = [&](double a, double b) HWY_ATTR {
    return hn::MulAdd(hn::Set(d, b), r, hn::Set(d, a));  // a + b r
  };
  // 1/i! for i = 0..11, Estrin's scheme.
  const V p01 = pair(1.0, 1.0), p23 = pair(1.0 / 2, 1.0 / 6);
  const V p45 = pair(1.0 / 24, 1.0 / 120), p67 = pair(1.0 / 720, 1.0 / 5040);
  const V p89 = pair(1.0 / 40320, 1.0 / 362880), pab = pair(1.0 / 3628800, 1.0 / 39916800);
  const V p03 = hn::MulAdd(p23, r2, p01), p47 = hn::MulAdd(p67, r2, p45);
  const V p8b = hn::MulAdd(pab, r2, p89);
  const V p = hn::MulAdd(p8b, r8, hn::MulAdd(p47, r4, p03));
  const auto k_in_exponent = hn::ShiftLeft<52>(hn::BitCast(di, kb));
  return hn::BitCast(d, hn::Add(hn::BitCast(di, p), k_in_exponent));
}

// log1p(x) for x >= -0.5 (or NaN). u = 1 + x rounded, c = x - (u - 1) its rounding error (u - 1
// is exact for u >= 0.5); u = 2^e f with f in [sqrt(1/2), sqrt(2)); log f = 2 atanh(s),
// s = (f - 1)/(f + 1), |s| <= 0.1716, by its series to s^15 (truncation < 4e-14 relative);
// log1p(x) = e ln2 + log f + c/u, where c/u keeps the bits of a tiny x that u lost.
template <class D>
HWY_INLINE hn::Vec<D> Log1pOfSum(D d, hn::Vec<D> x) {
  using V = hn::Vec<D>;
  const hn::RebindToSigned<D> di;
  using VI = hn::Vec<decltype(di)>;
  const V one = hn::Set(d, 1.0);
  const V u = hn::Add(one, x);
  const V c = hn::Sub(x, hn::Sub(u, one));
  // Moves the exponent boundary to sqrt(1/2): u's bits minus those of sqrt(1/2) have e in their
  // exponent field and f - sqrt(1/2) (scaled) below it.
  const VI kSqrtHalfBits = hn::Set(di, 0x3fe6a09e667f3bcdLL);
  const VI shifted = hn::Sub(hn::BitCast(di, u), kSqrtHalfBits);
  const VI e = hn::ShiftRight<52>(shifted);  // arithmetic: e may be -1
  const VI mantissa = hn::And(shifted, hn::Set(di, 0x000fffffffffffffLL));
  const V f = hn::BitCast(d, hn::Add(mantissa, kSqrtHalfBits));
  const V s = hn::Div(hn::Sub(f, one), hn::Add(f, one));
  const V z = hn::Mul(s, s);
  const V z2 = hn::Mul(z, z), z4 = hn::Mul(z2, z2);
  auto pair = [&](double a, double b) HWY_ATTR {
    return hn::MulAdd(hn::Set(d, b), z, hn::Set(d, a));  // a + b z
  };
  // 2 atanh(s) = 2s (1 + z/3 + z^2/5 + ... + z^7/15), Estrin's scheme.
  const V q01 = pair(1.0 / 3, 1.0 / 5), q23 = pair(1.0 / 7, 1.0 / 9);
  const V q45 = pair(1.0 / 11, 1.0 / 13), q6 = hn::Set(d, 1.0 / 15);
  const V q = hn::MulAdd(hn::MulAdd(q6, z2, q45), z4, hn::MulAdd(q23, z2, q01));  // sum z^i q_i
  const V two_s = hn::Add(s, s);
  const V log_f = hn::MulAdd(hn::Mul(two_s, z), q, two_s);
  const V ef = hn::ConvertTo(d, e);
  const V log_u = hn::MulAdd(ef, hn::Set(d, 0x1.62e42fefa39efp-1), log_f);
  return hn::Add(log_u, hn::Div(c, u));
}

}  // namespace smx::HWY_NAMESPACE
HWY_AFTER_NAMESPACE();

#endif  // SMX_SOFTMAX_WIDE_LOG_INL_H_
