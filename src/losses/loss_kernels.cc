// The fused losses on Highway vectors, compiled once per SIMD target, and their kernel table:
// cross-entropy with class indices (losses/class_rows-inl.h) and, here, the kernels that run two
// rows at a time in f64 lanes (distillation, probability targets).
#undef HWY_TARGET_INCLUDE
#define HWY_TARGET_INCLUDE "losses/loss_kernels.cc"
// clang-format off
#include "hwy/foreach_target.h"  // IWYU pragma: keep
#include "hwy/highway.h"
// clang-format on
#include <algorithm>
#include <cmath>
#include <cstring>
#include <limits>
#include <type_traits>

#include "core/widen-inl.h"
#include "losses/class_rows-inl.h"
#include "losses/kernels.h"
#include "softmax/exp-inl.h"
#include "softmax/row_kernels-inl.h"  // RowMax

HWY_BEFORE_NAMESPACE();
namespace smx::HWY_NAMESPACE {
namespace hn = hwy::HWY_NAMESPACE;

// ---- Two rows at a time, in f64 lanes (distillation, probability targets) -----------------

using DD = hn::ScalableTag<double>;

// Calls body(i, a, b, valid) for every Lanes(DD) block of two rows a and b of T, as f64 vectors;
// the last partial block is padded with `pad` and `valid` marks its real lanes.
template <typename T, class Body>
HWY_INLINE void ForEachPair(const T* a, const T* b, std::size_t n, T pad, Body body) {
  const DD dd;
  const std::size_t N = hn::Lanes(dd);
  auto widen = [&](const T* p) HWY_ATTR { return LoadWide(p, N); };
  std::size_t i = 0;
  for (; i + N <= n; i += N) body(i, widen(a + i), widen(b + i), hn::FirstN(dd, N));
  if (i < n) {
    HWY_ALIGN T ba[hn::MaxLanes(DD())], bb[hn::MaxLanes(DD())];
    for (std::size_t j = 0; j < N; ++j) {
      ba[j] = i + j < n ? a[i + j] : pad;
      bb[j] = i + j < n ? b[i + j] : pad;
    }
    body(i, widen(ba), widen(bb), hn::FirstN(dd, n - i));
  }
}

// Stores the first `count` lanes of v to p as T.
template <typename T>
HWY_INLINE void StoreLanes(hn::Vec<DD> v, T* p, std::size_t count) {
  const DD dd;
  if (count == hn::Lanes(dd)) {
    if constexpr (sizeof(T) == 4) {
      return hn::StoreU(hn::DemoteTo(hn::Rebind<T, DD>(), v), hn::Rebind<T, DD>(), p);
    } else {
      return hn::StoreU(v, dd, p);
    }
  }
  HWY_ALIGN double buf[hn::MaxLanes(DD())];
  hn::Store(v, dd, buf);
  for (std::size_t j = 0; j < count && j < hn::Lanes(dd); ++j) p[j] = static_cast<T>(buf[j]);
}

// exp(-d) for d >= 0 (or +inf), for data of type T. f32 data: the group logs' exponential
// (relative error < 1e-13, far below f32's), 0 beyond 700 where the result is below 1e-304. f64
// data: the f64 kernel exponential (within 1 ulp; 0 for +inf), as its results are held to 1e-12.
template <typename T>
HWY_INLINE hn::Vec<DD> ExpOfNegative(hn::Vec<DD> d) {
  const DD dd;
  const auto t = hn::Neg(d);
  if constexpr (sizeof(T) == 8) {
    return ExpOfShifted</*kHasLo=*/false>(dd, t, t);
  } else {
    const auto far = hn::Lt(t, hn::Set(dd, -700.0));
    return hn::IfThenZeroElse(far, ExpOfNonPositive(dd, hn::Max(t, hn::Set(dd, -700.0))));
  }
}

// NaN or +inf lanes.
HWY_INLINE hn::Mask<DD> NanOrPosInf(hn::Vec<DD> v) {
  const DD dd;
  return hn::Not(hn::Lt(v, hn::Set(dd, std::numeric_limits<double>::infinity())));
}

template <typename T>
internal::DistillSums DistillSumsKernel(const T* s, const T* t, std::size_t n, T ms, T mt,
                                        double inv_t) {
  const DD dd;
  const auto vms = hn::Set(dd, static_cast<double>(ms)), vmt = hn::Set(dd, static_cast<double>(mt));
  const auto vinv = hn::Set(dd, inv_t), zero = hn::Zero(dd), one = hn::Set(dd, 1.0);
  auto s_count = zero, s_rest = zero, t_count = zero, t_rest = zero, cross = zero, bad = zero;
  ForEachPair(s, t, n, -std::numeric_limits<T>::infinity(),
              [&](std::size_t, hn::Vec<DD> sv, hn::Vec<DD> tv, hn::Mask<DD>) HWY_ATTR {
                bad = hn::Or(bad, hn::VecFromMask(dd, hn::Or(NanOrPosInf(sv), NanOrPosInf(tv))));
                const auto ds = hn::Mul(hn::Sub(vms, sv), vinv);
                const auto dt = hn::Mul(hn::Sub(vmt, tv), vinv);
                const auto es = ExpOfNegative<T>(ds), et = ExpOfNegative<T>(dt);
                const auto s_max = hn::Eq(ds, zero), t_max = hn::Eq(dt, zero);
                s_count = hn::Add(s_count, hn::IfThenElseZero(s_max, one));
                s_rest = hn::Add(s_rest, hn::IfThenZeroElse(s_max, es));
                t_count = hn::Add(t_count, hn::IfThenElseZero(t_max, one));
                t_rest = hn::Add(t_rest, hn::IfThenZeroElse(t_max, et));
                cross = hn::Add(cross,
                                hn::IfThenZeroElse(hn::Eq(et, zero), hn::Mul(et, hn::Sub(ds, dt))));
              });
  auto sum = [&](hn::Vec<DD> v) HWY_ATTR { return hn::GetLane(hn::SumOfLanes(dd, v)); };
  internal::DistillSums out;
  out.s_count = sum(s_count);
  out.s_rest = sum(s_rest);
  out.t_count = sum(t_count);
  out.t_rest = sum(t_rest);
  out.cross = sum(cross);
  out.nan_or_inf = !hn::AllFalse(dd, hn::MaskFromVec(bad));
  return out;
}

template <typename T>
void DistillGradKernel(const T* s, const T* t, T* g, std::size_t n, T ms, T mt, double inv_t,
                       double cs, double ct) {
  const DD dd;
  const std::size_t N = hn::Lanes(dd);
  const auto vms = hn::Set(dd, static_cast<double>(ms)), vmt = hn::Set(dd, static_cast<double>(mt));
  const auto vinv = hn::Set(dd, inv_t), vcs = hn::Set(dd, cs), vct = hn::Set(dd, ct);
  ForEachPair(s, t, n, -std::numeric_limits<T>::infinity(),
              [&](std::size_t i, hn::Vec<DD> sv, hn::Vec<DD> tv, hn::Mask<DD>) HWY_ATTR {
                const auto es = ExpOfNegative<T>(hn::Mul(hn::Sub(vms, sv), vinv));
                const auto et = ExpOfNegative<T>(hn::Mul(hn::Sub(vmt, tv), vinv));
                // cs es - ct et as cs (es - et) + (cs - ct) et: a student equal to its teacher
                // gives exactly 0 whatever FMA contraction the compiler applies.
                const auto diff = hn::MulAdd(vcs, hn::Sub(es, et), hn::Mul(hn::Sub(vcs, vct), et));
                StoreLanes<T>(diff, g + i, std::min(N, n - i));
              });
}

// phi(v) = e^v - 1 - v >= 0 without cancellation: its series v^2/2! + v^3/3! + ... (to v^14/14!,
// truncation below 1e-16 relative) where |v| < 1/2, else e^v - 1 - v directly.
HWY_INLINE hn::Vec<DD> ExpExcess(hn::Vec<DD> v) {
  const DD dd;
  const auto small = hn::Lt(hn::Abs(v), hn::Set(dd, 0.5));
  double inv_fact[13];  // 1/(j + 2)! for j = 0..12
  double f = 2;
  for (int j = 0; j < 13; ++j) {
    inv_fact[j] = 1 / f;
    f *= j + 3;
  }
  auto series = hn::Set(dd, inv_fact[12]);
  for (int j = 11; j >= 0; --j) series = hn::MulAdd(series, v, hn::Set(dd, inv_fact[j]));
  series = hn::Mul(hn::Mul(v, v), series);
  const auto direct =
      hn::Sub(hn::Sub(ExpOfShifted</*kHasLo=*/false>(dd, v, v), hn::Set(dd, 1.0)), v);
  return hn::IfThenElse(small, series, direct);
}

// A compensated f64 vector sum (TwoSum per addition).
struct CompensatedLanes {
  hn::Vec<DD> sum, err;
  HWY_INLINE void Add(hn::Vec<DD> v) {
    const auto s = hn::Add(sum, v);
    err = hn::Add(err, TwoSumError(sum, v, s));
    sum = s;
  }
  HWY_INLINE double Total() const {
    double hi = 0, lo = 0;
    SumLanesInOrder(sum, err, hi, lo);
    return hi + lo;
  }
};

template <typename T>
internal::DistillExcess DistillExcessKernel(const T* s, const T* t, std::size_t n, T ms, T mt,
                                            double inv_t, double c) {
  const DD dd;
  const auto vmt = hn::Set(dd, static_cast<double>(mt)), vinv = hn::Set(dd, inv_t);
  const auto gap = hn::Set(dd, static_cast<double>(mt) - static_cast<double>(ms));
  const auto vc = hn::Set(dd, c), zero = hn::Zero(dd);
  CompensatedLanes excess{zero, zero}, resid{zero, zero}, total{zero, zero};
  auto masked_student = zero;
  ForEachPair(
      s, t, n, -std::numeric_limits<T>::infinity(),
      [&](std::size_t, hn::Vec<DD> sv, hn::Vec<DD> tv, hn::Mask<DD> valid) HWY_ATTR {
        const auto e = hn::IfThenElseZero(valid, ExpOfNegative<T>(hn::Mul(hn::Sub(vmt, tv), vinv)));
        const auto keep = hn::Gt(e, zero);
        const auto v = hn::Add(hn::Mul(hn::Sub(gap, hn::Sub(tv, sv)), vinv), vc);
        // v = -inf: the student masks a class the teacher gives mass (infinite KL).
        masked_student = hn::Or(masked_student, hn::VecFromMask(dd, hn::And(keep, hn::IsInf(v))));
        const auto finite = hn::And(keep, hn::Not(hn::IsInf(v)));
        excess.Add(hn::IfThenElseZero(finite, hn::Mul(e, ExpExcess(v))));
        resid.Add(hn::IfThenElseZero(finite, hn::Mul(e, v)));
        total.Add(e);
      });
  internal::DistillExcess out;
  if (!hn::AllFalse(dd, hn::MaskFromVec(masked_student))) {
    out.excess = std::numeric_limits<double>::infinity();
    return out;
  }
  out.excess = excess.Total();
  out.resid = resid.Total();
  out.total = total.Total();
  return out;
}

// q_i = w_i ((1 - eps) P_i + eps/C) on f64 lanes, 0 outside `valid`.
HWY_INLINE hn::Vec<DD> TargetWeight(hn::Vec<DD> pv, hn::Vec<DD> wv, hn::Mask<DD> valid, double eps,
                                    double eps_c) {
  const DD dd;
  const auto q = hn::Mul(wv, hn::MulAdd(pv, hn::Set(dd, 1 - eps), hn::Set(dd, eps_c)));
  return hn::IfThenElseZero(valid, q);
}

template <typename T>
HWY_INLINE hn::Vec<DD> WeightsAt(const T* w, std::size_t i, std::size_t n) {
  const DD dd;
  if (w == nullptr) return hn::Set(dd, 1.0);
  HWY_ALIGN double buf[hn::MaxLanes(DD())];
  for (std::size_t j = 0; j < hn::Lanes(dd); ++j)
    buf[j] = i + j < n ? static_cast<double>(w[i + j]) : 0.0;
  return hn::Load(dd, buf);
}

template <typename T>
internal::ProbsSums ProbsSumsKernel(const T* z, const T* p, const T* w, std::size_t n, T m,
                                    double eps) {
  const DD dd;
  const double eps_c = eps / static_cast<double>(n);
  const auto vm = hn::Set(dd, static_cast<double>(m)), zero = hn::Zero(dd), one = hn::Set(dd, 1.0);
  auto count = zero, rest = zero, total = zero, gap = zero, bad = zero;
  ForEachPair(z, p, n, T(0),
              [&](std::size_t i, hn::Vec<DD> zv, hn::Vec<DD> pv, hn::Mask<DD> valid) HWY_ATTR {
                bad = hn::Or(bad, hn::VecFromMask(dd, hn::Or(NanOrPosInf(zv), hn::IsNaN(pv))));
                const auto d = hn::Sub(vm, zv);  // >= 0; +inf for a masked class
                const auto e = hn::IfThenElseZero(valid, ExpOfNegative<T>(d));
                const auto at_max = hn::And(valid, hn::Eq(d, zero));
                count = hn::Add(count, hn::IfThenElseZero(at_max, one));
                rest = hn::Add(rest, hn::IfThenZeroElse(at_max, e));
                const auto q = TargetWeight(pv, WeightsAt(w, i, n), valid, eps, eps_c);
                total = hn::Add(total, q);
                gap = hn::Add(gap, hn::IfThenZeroElse(hn::Eq(q, zero), hn::Mul(q, d)));
              });
  auto sum = [&](hn::Vec<DD> v) HWY_ATTR { return hn::GetLane(hn::SumOfLanes(dd, v)); };
  internal::ProbsSums out;
  out.count = sum(count);
  out.rest = sum(rest);
  out.total = sum(total);
  out.gap = sum(gap);
  out.nan_or_inf = !hn::AllFalse(dd, hn::MaskFromVec(bad));
  return out;
}

template <typename T>
void ProbsGradKernel(const T* z, const T* p, const T* w, T* g, std::size_t n, T m, double eps,
                     double a, double b) {
  const DD dd;
  const std::size_t N = hn::Lanes(dd);
  const double eps_c = eps / static_cast<double>(n);
  const auto vm = hn::Set(dd, static_cast<double>(m)), va = hn::Set(dd, a), vb = hn::Set(dd, b);
  ForEachPair(z, p, n, T(0),
              [&](std::size_t i, hn::Vec<DD> zv, hn::Vec<DD> pv, hn::Mask<DD> valid) HWY_ATTR {
                const auto e = ExpOfNegative<T>(hn::Sub(vm, zv));
                const auto q = TargetWeight(pv, WeightsAt(w, i, n), valid, eps, eps_c);
                StoreLanes<T>(hn::Sub(hn::Mul(va, e), hn::Mul(vb, q)), g + i, std::min(N, n - i));
              });
}

template <typename T>
T MaxKernel(const T* x, std::size_t n) {
  return RowMax(x, n);
}

internal::TargetCounts CountTargets(const std::int64_t* target, std::size_t n, std::int64_t classes,
                                    std::int64_t ignore_index) {
  const hn::ScalableTag<std::int64_t> d;
  const std::size_t N = hn::Lanes(d);
  const auto ignore = hn::Set(d, ignore_index), limit = hn::Set(d, classes);
  const auto zero = hn::Zero(d);
  // Per lane: minus the count of ignored targets, and all ones where a target was bad.
  auto ignored_neg = zero, bad = zero;
  auto add = [&](hn::Vec<decltype(d)> t, hn::Mask<decltype(d)> valid) HWY_ATTR {
    const auto ignored = hn::And(hn::Eq(t, ignore), valid);
    const auto outside = hn::Or(hn::Lt(t, zero), hn::Not(hn::Lt(t, limit)));
    ignored_neg = hn::Add(ignored_neg, hn::VecFromMask(d, ignored));
    bad = hn::Or(bad, hn::VecFromMask(d, hn::AndNot(ignored, hn::And(outside, valid))));
  };
  std::size_t i = 0;
  for (; i + N <= n; i += N) add(hn::LoadU(d, target + i), hn::FirstN(d, N));
  if (i < n) {
    HWY_ALIGN std::int64_t tail[hn::MaxLanes(decltype(d)())] = {};
    std::memcpy(tail, target + i, (n - i) * sizeof(std::int64_t));
    add(hn::Load(d, tail), hn::FirstN(d, n - i));
  }
  internal::TargetCounts counts;
  counts.counted = static_cast<std::int64_t>(n) + hn::GetLane(hn::SumOfLanes(d, ignored_neg));
  counts.any_bad = !hn::AllTrue(d, hn::Eq(bad, zero));
  return counts;
}

template <typename T>
internal::LossKernels<T> MakeLossKernels() {
  return {&ClassRowsKernel<T>,   &MaxKernel<T>,           &DistillSumsKernel<T>,
          &DistillGradKernel<T>, &DistillExcessKernel<T>, &ProbsSumsKernel<T>,
          &ProbsGradKernel<T>};
}

const internal::LossKernelTable* GetLossKernelTable() {
  static const internal::LossKernelTable table = {MakeLossKernels<float>(),
                                                  MakeLossKernels<double>(), &CountTargets};
  return &table;
}

}  // namespace smx::HWY_NAMESPACE
HWY_AFTER_NAMESPACE();

#if HWY_ONCE
namespace smx::internal {

HWY_EXPORT(GetLossKernelTable);

const LossKernelTable& GetLossKernels() { return *HWY_DYNAMIC_DISPATCH(GetLossKernelTable)(); }

}  // namespace smx::internal
#endif  // HWY_ONCE
