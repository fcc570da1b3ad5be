// sigmoid, log_sigmoid and softplus on Highway vectors, compiled once per SIMD target.
//
// All three come from e = exp(-|x|) in [0, 1], which neither overflows nor cancels:
//   sigmoid = 1/(1 + e) (x >= 0) or e/(1 + e) (x < 0);
//   log_sigmoid = min(x, 0) - log1p(e);  softplus = max(x, 0) + log1p(e)
// (the two terms of each log have one sign). f32 data is computed in f64 lanes with the group
// logs' exp and log1p (softmax/wide_log-inl.h, relative error < 1e-13), so its results are
// rounded once; f64 data with softmax's f64 exponential (1 ulp, gradual underflow) and Highway's
// Log1p (2 ulp).
#undef HWY_TARGET_INCLUDE
#define HWY_TARGET_INCLUDE "sigmoid/sigmoid_kernels.cc"
#include "hwy/foreach_target.h"  // IWYU pragma: keep
#include "hwy/contrib/math/math-inl.h"
#include "hwy/highway.h"
#include "sigmoid/kernels.h"
#include "softmax/exp-inl.h"
#include "softmax/wide_log-inl.h"

HWY_BEFORE_NAMESPACE();
namespace smx::HWY_NAMESPACE {
namespace hn = hwy::HWY_NAMESPACE;

// The op on f64 lanes from e = exp_of_nonpositive(-|x|) and log1p(e).
template <internal::SigmoidOp kOp, class D, class Exp, class Log1p>
HWY_INLINE hn::Vec<D> SigmoidOf(D d, hn::Vec<D> x, Exp exp_of_nonpositive, Log1p log1p) {
  using V = hn::Vec<D>;
  const V zero = hn::Zero(d), one = hn::Set(d, 1.0);
  const V e = exp_of_nonpositive(hn::Neg(hn::Abs(x)));
  V r;
  if constexpr (kOp == internal::SigmoidOp::kSigmoid) {
    r = hn::Div(hn::IfThenElse(hn::Lt(x, zero), e, one), hn::Add(one, e));
  } else if constexpr (kOp == internal::SigmoidOp::kLogSigmoid) {
    r = hn::Sub(hn::Min(x, zero), log1p(e));
  } else {
    r = hn::Add(hn::Max(x, zero), log1p(e));
  }
  return hn::IfThenElse(hn::IsNaN(x), x, r);  // the exp's bit tricks do not carry NaN
}

// Applies `f` (a function of an f64 vector) to n elements of x into y, Lanes(dd) at a time; the
// last partial vector goes through a buffer. T is float (promoted to f64 lanes) or double.
template <typename T, class F>
HWY_INLINE void EachVector(const T* x, T* y, std::size_t n, F f) {
  const hn::ScalableTag<double> dd;
  const hn::Rebind<T, decltype(dd)> dt;
  const std::size_t N = hn::Lanes(dd);
  auto apply = [&](hn::Vec<decltype(dt)> v) HWY_ATTR {
    if constexpr (sizeof(T) == 4) {
      const auto r = hn::DemoteTo(dt, f(hn::PromoteTo(dd, v)));
      // The demotion saturates at the largest float; the only infinite results are those of an
      // infinite x (log_sigmoid(-inf), softplus(+inf)), which are x itself.
      const auto saturated = hn::Eq(hn::Abs(r), hn::Set(dt, hwy::HighestValue<float>()));
      return hn::IfThenElse(hn::And(hn::IsInf(v), saturated), v, r);
    } else {
      return f(v);
    }
  };
  std::size_t i = 0;
  for (; i + N <= n; i += N) hn::StoreU(apply(hn::LoadU(dt, x + i)), dt, y + i);
  if (i < n) {
    HWY_ALIGN T buf[hn::MaxLanes(decltype(dd)())] = {};
    for (std::size_t j = 0; j < n - i; ++j) buf[j] = x[i + j];
    hn::Store(apply(hn::Load(dt, buf)), dt, buf);
    for (std::size_t j = 0; j < n - i; ++j) y[i + j] = buf[j];
  }
}

template <internal::SigmoidOp kOp>
void SigmoidF32Op(const float* x, float* y, std::size_t n) {
  const hn::ScalableTag<double> dd;
  // e^-700 ~ 1e-304 is 0 to every f32 result (it is below their last bit or their underflow).
  const auto floor = hn::Set(dd, -700.0);
  EachVector(x, y, n, [&](hn::Vec<decltype(dd)> v) HWY_ATTR {
    return SigmoidOf<kOp>(
        dd, v, [&](auto t) HWY_ATTR { return ExpOfNonPositive(dd, hn::Max(t, floor)); },
        [&](auto e) HWY_ATTR { return Log1pOfSum(dd, e); });
  });
}

template <internal::SigmoidOp kOp>
void SigmoidF64Op(const double* x, double* y, std::size_t n) {
  const hn::ScalableTag<double> dd;
  EachVector(x, y, n, [&](hn::Vec<decltype(dd)> v) HWY_ATTR {
    return SigmoidOf<kOp>(
        dd, v, [&](auto t) HWY_ATTR { return ExpOfShifted</*kHasLo=*/false>(dd, t, t); },
        [&](auto e) HWY_ATTR { return hn::Log1p(dd, e); });
  });
}

void SigmoidF32(internal::SigmoidOp op, const float* x, float* y, std::size_t n) {
  switch (op) {
    case internal::SigmoidOp::kSigmoid: return SigmoidF32Op<internal::SigmoidOp::kSigmoid>(x, y, n);
    case internal::SigmoidOp::kLogSigmoid:
      return SigmoidF32Op<internal::SigmoidOp::kLogSigmoid>(x, y, n);
    case internal::SigmoidOp::kSoftplus:
      return SigmoidF32Op<internal::SigmoidOp::kSoftplus>(x, y, n);
  }
}

void SigmoidF64(internal::SigmoidOp op, const double* x, double* y, std::size_t n) {
  switch (op) {
    case internal::SigmoidOp::kSigmoid: return SigmoidF64Op<internal::SigmoidOp::kSigmoid>(x, y, n);
    case internal::SigmoidOp::kLogSigmoid:
      return SigmoidF64Op<internal::SigmoidOp::kLogSigmoid>(x, y, n);
    case internal::SigmoidOp::kSoftplus:
      return SigmoidF64Op<internal::SigmoidOp::kSoftplus>(x, y, n);
  }
}

const internal::SigmoidKernels* GetSigmoidKernelTable() {
  static const internal::SigmoidKernels table = {&SigmoidF32, &SigmoidF64};
  return &table;
}

}  // namespace smx::HWY_NAMESPACE
HWY_AFTER_NAMESPACE();

#if HWY_ONCE
namespace smx::internal {

HWY_EXPORT(GetSigmoidKernelTable);

const SigmoidKernels& GetSigmoidKernels() { return *HWY_DYNAMIC_DISPATCH(GetSigmoidKernelTable)(); }

}  // namespace smx::internal
#endif  // HWY_ONCE
