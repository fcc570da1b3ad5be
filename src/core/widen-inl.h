// f32 or f64 data as f64 vectors, compiled once per SIMD target: the loads of every kernel that
// computes f32 data in f64 lanes (the calculus, the weighted logsumexp, the losses), and the
// compensated reduction of their lane sums.
//
// Per-target toggle guard (not #pragma once): this file is included once per target.
#if defined(SMX_CORE_WIDEN_INL_H_) == defined(HWY_TARGET_TOGGLE)
#ifdef SMX_CORE_WIDEN_INL_H_
#undef SMX_CORE_WIDEN_INL_H_
#else
#define SMX_CORE_WIDEN_INL_H_
#endif

#include <cstddef>

#include "hwy/highway.h"

HWY_BEFORE_NAMESPACE();
namespace smx::HWY_NAMESPACE {
namespace hn = hwy::HWY_NAMESPACE;

// Lanes(f64) elements of T (float or double) at p as f64; when n < Lanes only the first n, the
// others 0 (nothing is read past p + n).
template <typename T>
HWY_INLINE hn::Vec<hn::ScalableTag<double>> LoadWide(const T* p, std::size_t n) {
  const hn::ScalableTag<double> dd;
  const hn::Rebind<T, decltype(dd)> dt;
  hn::Vec<decltype(dt)> v;
  if (n >= hn::Lanes(dd)) {
    v = hn::LoadU(dt, p);
  } else {
    HWY_ALIGN T buf[hn::MaxLanes(decltype(dd)())] = {};
    for (std::size_t j = 0; j < n; ++j) buf[j] = p[j];
    v = hn::Load(dt, buf);
  }
  if constexpr (sizeof(T) == 4) {
    return hn::PromoteTo(dd, v);
  } else {
    return v;
  }
}

// The lanes of `sum` (with their error terms `err`) added in lane order with TwoSum, as
// hi + lo: the result depends on nothing but the data, not on the vector width's grouping.
HWY_INLINE void SumLanesInOrder(hn::Vec<hn::ScalableTag<double>> sum,
                                hn::Vec<hn::ScalableTag<double>> err, double& hi_out,
                                double& lo_out) {
  const hn::ScalableTag<double> dd;
  HWY_ALIGN double sums[hn::MaxLanes(decltype(dd)())], errs[hn::MaxLanes(decltype(dd)())];
  hn::Store(sum, dd, sums);
  hn::Store(err, dd, errs);
  double hi = 0, lo = 0;
  for (std::size_t j = 0; j < hn::Lanes(dd); ++j) {
    const double t = hi + sums[j];
    const double bb = t - hi;
    lo += (hi - (t - bb)) + (sums[j] - bb) + errs[j];
    hi = t;
  }
  hi_out = hi + lo;
  lo_out = lo - (hi_out - hi);
}

}  // namespace smx::HWY_NAMESPACE
HWY_AFTER_NAMESPACE();

#endif  // SMX_CORE_WIDEN_INL_H_
