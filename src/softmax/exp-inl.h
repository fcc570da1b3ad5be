// The exponential that softmax needs, on Highway vectors, compiled once per SIMD target.
//
// exp(hi + lo) for hi <= 60 (f32) or 700 (f64), where hi + lo is the shifted logit (z_i - s)/T and
// lo the rounding residual of hi; the shift s is the row max or, for softmax rows whose max/T lies
// in [0, 60], zero. Only this range is needed, so no overflow handling exists. Why not hwy::Exp: it
// measured 3x slower here (0.23 vs 0.08 ns/element) and cannot take the residual, which is what
// makes softmax exact far from the max (the relative error of exp(d) is |d| times the error of d).
//
// Range reduction: k = round(hi / ln2), t = hi - k ln2_hi - k ln2_lo + lo, |t| <= ln2/2 (+ tiny),
// exp = p(t) 2^k with p(t) = 1 + t q(t), q a minimax fit of (e^t - 1)/t on [-ln2/2, ln2/2] made
// for smx (Lawson iteration at 50 digits, relative error of p: f32 degree 6: 2.0e-9; f64 degree
// 11: 3.4e-18), evaluated with Estrin's scheme for a short dependency chain.
//
// Contract (checked through the op tests, golden cases, edge cases and sweeps, on every target):
//   f32: within 1 ULP for hi in [-87.33, 0]; below, +0 or (AVX-512) the gradually underflowing
//        value (results under 2^-126, which no softmax output needs beyond the 1e-37 absolute
//        tolerance); NaN in, NaN out; -inf gives +0.
//   f64: within 1 ULP for hi in [-708.39, 0], gradually underflowing below that (subnormal results
//        are exact to their last place), +0 below -745.14; NaN in, NaN out; -inf gives +0.
//
// Per-target toggle guard (not #pragma once): this file is included once per target.
#if defined(SMX_SOFTMAX_EXP_INL_H_) == defined(HWY_TARGET_TOGGLE)
#ifdef SMX_SOFTMAX_EXP_INL_H_
#undef SMX_SOFTMAX_EXP_INL_H_
#else
#define SMX_SOFTMAX_EXP_INL_H_
#endif

#include "hwy/highway.h"

HWY_BEFORE_NAMESPACE();
namespace smx::HWY_NAMESPACE {
namespace hn = hwy::HWY_NAMESPACE;

// s = a + b rounded; returns the exact error (a + b) - s (Knuth's TwoSum: no ordering needed).
template <class V>
HWY_INLINE V TwoSumError(V a, V b, V s) {
  const V bb = hn::Sub(s, a);
  return hn::Add(hn::Sub(a, hn::Sub(s, bb)), hn::Sub(b, bb));
}

// a * b - p exactly, for p = fl(a * b). With FMA one instruction; without (SSSE3, SSE4, scalar),
// Dekker's product with Veltkamp's split, so that every target meets the same accuracy contract.
template <class V>
HWY_INLINE V ProductError(V a, V b, V p) {
#if HWY_NATIVE_FMA
  return hn::MulSub(a, b, p);
#else
  using T = hn::TFromV<V>;
  const hn::DFromV<V> d;
  const V split = hn::Set(d, sizeof(T) == 4 ? T(4097) : T(134217729));  // 2^12 + 1, 2^27 + 1
  const V ca = hn::Mul(split, a), cb = hn::Mul(split, b);
  const V a_hi = hn::Sub(ca, hn::Sub(ca, a)), b_hi = hn::Sub(cb, hn::Sub(cb, b));
  const V a_lo = hn::Sub(a, a_hi), b_lo = hn::Sub(b, b_hi);
  V err = hn::Sub(hn::Mul(a_hi, b_hi), p);
  err = hn::Add(err, hn::Mul(a_hi, b_lo));
  err = hn::Add(err, hn::Mul(a_lo, b_hi));
  return hn::Add(err, hn::Mul(a_lo, b_lo));
#endif
}

// How the shifted logit x - s is formed:
//  - kZero: the shift is 0 (ChooseShift's usual choice), so x itself, exact (skipping the
//    subtraction measured 4% of log_softmax at K = 128);
//  - kPlain: x - s rounded, for callers that need no residual (the log-space output, where
//    nothing amplifies it);
//  - kResidual: x - s with its exact rounding error (TwoSum): 5 of the exp's ~25 vector operations.
enum class ShiftKind { kZero, kPlain, kResidual };

// The shifted logit (x - s)/T as hi + lo, exact up to terms below ulp(hi)^2, for a shift s at
// or near the row max (kZero: s = 0). kScaled = false means T = 1 and skips the division.
template <bool kScaled, ShiftKind kShift, class V>
HWY_INLINE void ShiftedLogit(V x, V m, V inv_t, V t, V t_lo, V& hi, V& lo) {
  const V neg_m = hn::Neg(m);
  const V d = kShift == ShiftKind::kZero ? x : hn::Add(x, neg_m);
  const V d_err =
      kShift == ShiftKind::kResidual ? TwoSumError(x, neg_m, d) : hn::Zero(hn::DFromV<V>());
  if constexpr (kScaled) {
    const V q = hn::Mul(d, inv_t);  // ~ d / T
    const V qt = hn::Mul(q, t);
    // d - q t exactly (d - qt: Sterbenz), then minus q t_lo: T = t + t_lo is the caller's double
    // temperature, so f32 data is divided by T itself, not by T rounded to f32.
    const V q_err = hn::NegMulAdd(q, t_lo, hn::Sub(hn::Sub(d, qt), ProductError(q, t, qt)));
    lo = hn::Mul(hn::Add(q_err, d_err), inv_t);  // (d + d_err - q T) / T
    hi = q;
  } else {
    hi = d;
    lo = d_err;
  }
}

// kHasLo = false: lo is known to be zero and is not added (r + 0 is not free under IEEE rules).
template <bool kHasLo = true, class D>
HWY_INLINE hn::Vec<D> ExpOfShifted(D d, hn::Vec<D> hi, hn::Vec<D> lo) {
  using T = hn::TFromD<D>;
  using V = hn::Vec<D>;
  const hn::RebindToSigned<D> di;
  if constexpr (sizeof(T) == 4) {
    // k = round(hi / ln2) lands in the low mantissa bits of hi/ln2 + 1.5 * 2^23 (the shifter),
    // so the same bits shifted left by 23 are k in the exponent field, and adding them to p's bits
    // multiplies p by 2^k: an integer add instead of a multiply, which frees one of the two FMA
    // pipes the loop is bound by. Exact while p 2^k is a normal float, which every lane not
    // flushed below is (hi >= ln 2^-126 gives p 2^k >= 2^-126). No float-to-int conversion:
    // NaN and -inf lanes produce junk bits that the final select or the NaN in p overrides.
    //
    // AVX-512 scales by 2^k in one instruction (VSCALEFPS), rounding once and underflowing
    // gradually to 0, so hi only needs clamping at -110 (2^-158: 0) for -inf and huge negative
    // lanes: 2 vector operations instead of 4 (the flush is then not needed), measured 3% of
    // log_softmax at K = 128. Highway 1.0.3 has no op for it, so the intrinsic is used here.
    const V kShifter = hn::Set(d, 0x1.8p23f);  // 1.5 * 2^23
    const V kLog2e = hn::Set(d, 1.44269504088896341f);
    // Cody-Waite: ln2_hi has 9 significant bits, so k ln2_hi (|k| <= 159) is exact without FMA.
    const V kLn2Hi = hn::Set(d, 0x1.630000p-1f);
    const V kLn2Lo = hn::Set(d, -0x1.bd0106p-13f);
#if HWY_ARCH_X86 && HWY_TARGET <= HWY_AVX3
    constexpr bool kScalef = hn::MaxLanes(D()) == 16;
#else
    constexpr bool kScalef = false;
#endif
    // Below it the result is 0: ln(2^-126) for the exponent-field add, which needs a normal
    // result; -110 (a clamp, e^-110 < 2^-150) for VSCALEFPS, which underflows gradually.
    const V kFlushBelow = hn::Set(d, kScalef ? -110.0f : -87.3365479f);
    // Max(floor, NaN) is NaN: x86's max returns its second operand when either is NaN.
    const V h = kScalef ? hn::Max(kFlushBelow, hi) : hi;
    const V kb = hn::MulAdd(h, kLog2e, kShifter);
    const V k = hn::Sub(kb, kShifter);
    V r = hn::NegMulAdd(k, kLn2Hi, h);
    r = hn::NegMulAdd(k, kLn2Lo, r);
    if constexpr (kHasLo) r = hn::Add(r, lo);
    const V r2 = hn::Mul(r, r);
    const V c1 = hn::Set(d, 0x1.000000p+0f), c2 = hn::Set(d, 0x1.fffffcp-2f);
    const V c3 = hn::Set(d, 0x1.55541ap-3f), c4 = hn::Set(d, 0x1.555822p-5f);
    const V c5 = hn::Set(d, 0x1.126782p-7f), c6 = hn::Set(d, 0x1.6ae72ep-10f);
    const V q01 = hn::MulAdd(c2, r, c1);
    const V q23 = hn::MulAdd(c4, r, c3);
    const V q45 = hn::MulAdd(c6, r, c5);
    const V q = hn::MulAdd(hn::MulAdd(q45, r2, q23), r2, q01);
    const V p = hn::MulAdd(q, r, hn::Set(d, 1.0f));
#if HWY_ARCH_X86 && HWY_TARGET <= HWY_AVX3
    if constexpr (kScalef) {
      const V e = V{_mm512_scalef_ps(p.raw, k.raw)};
      // A clamped lane's residual may be NaN (that of an infinite logit): drop it.
      return kHasLo ? hn::IfThenZeroElse(hn::Lt(hi, kFlushBelow), e) : e;
    }
#endif
    const auto k_in_exponent = hn::ShiftLeft<23>(hn::BitCast(di, kb));
    const V e = hn::BitCast(d, hn::Add(hn::BitCast(di, p), k_in_exponent));
    return hn::IfThenZeroElse(hn::Lt(hi, kFlushBelow), e);
  } else {
    const V kLog2e = hn::Set(d, 1.4426950408889634);
    // Cody-Waite: ln2_hi has 32 significant bits, so k ln2_hi (|k| <= 1100) is exact.
    const V kLn2Hi = hn::Set(d, 0x1.62e42fee00000p-1);
    const V kLn2Lo = hn::Set(d, 0x1.a39ef35793c76p-33);
    const V kZeroBelow = hn::Set(d, -745.2);  // below half the smallest subnormal
    const V hi_for_k = hn::IfThenElse(hn::Ge(hi, kZeroBelow), hi, hn::Set(d, -800.0));
    const V k = hn::Round(hn::Mul(hi_for_k, kLog2e));
    V r = hn::NegMulAdd(k, kLn2Hi, hi);
    r = hn::NegMulAdd(k, kLn2Lo, r);
    if constexpr (kHasLo) r = hn::Add(r, lo);
    const V r2 = hn::Mul(r, r);
    const V r4 = hn::Mul(r2, r2);
    const V c1 = hn::Set(d, 0x1.0000000000000p+0), c2 = hn::Set(d, 0x1.000000000000bp-1);
    const V c3 = hn::Set(d, 0x1.55555555554b3p-3), c4 = hn::Set(d, 0x1.555555555018bp-5);
    const V c5 = hn::Set(d, 0x1.111111112f846p-7), c6 = hn::Set(d, 0x1.6c16c1855ca95p-10);
    const V c7 = hn::Set(d, 0x1.a01a0111c9699p-13), c8 = hn::Set(d, 0x1.a01997572c6c5p-16);
    const V c9 = hn::Set(d, 0x1.71df48cc2c50ap-19), c10 = hn::Set(d, 0x1.28af9bc11dafep-22);
    const V c11 = hn::Set(d, 0x1.ad5978d418d4ap-26);
    const V q01 = hn::MulAdd(c2, r, c1), q23 = hn::MulAdd(c4, r, c3);
    const V q45 = hn::MulAdd(c6, r, c5), q67 = hn::MulAdd(c8, r, c7);
    const V q89 = hn::MulAdd(c10, r, c9);
    const V q03 = hn::MulAdd(q23, r2, q01), q47 = hn::MulAdd(q67, r2, q45);
    const V q8a = hn::MulAdd(c11, r2, q89);
    const V q = hn::MulAdd(hn::MulAdd(q8a, r4, q47), r4, q03);
    const V p = hn::MulAdd(q, r, hn::Set(d, 1.0));
    // 2^k in two halves so that k down to -1075 scales exactly and rounds once (subnormals).
    const auto ki = hn::ConvertTo(di, k);
    const auto k_half = hn::ShiftRight<1>(ki);
    const auto bias = hn::Set(di, 1023);
    const V s1 = hn::BitCast(d, hn::ShiftLeft<52>(hn::Add(k_half, bias)));
    const V s2 = hn::BitCast(d, hn::ShiftLeft<52>(hn::Add(hn::Sub(ki, k_half), bias)));
    return hn::IfThenZeroElse(hn::Lt(hi, kZeroBelow), hn::Mul(hn::Mul(p, s1), s2));
  }
}

}  // namespace smx::HWY_NAMESPACE
HWY_AFTER_NAMESPACE();

#endif  // SMX_SOFTMAX_EXP_INL_H_
