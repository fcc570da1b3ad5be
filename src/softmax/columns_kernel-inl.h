// The softmax family along a middle axis of a contiguous [outer, K, inner] tensor, vectorised
// across `inner`: each vector holds N neighbouring columns, so every load is contiguous (a peer
// that gathered element by element ran at 0.18 GB/s here). Per block of N columns: the max over K,
// then the exponentials stored and summed per lane, then the output pass; the block of K vectors
// (K * 64 bytes with AVX-512) stays in L2 between the passes.
#if defined(SMX_SOFTMAX_COLUMNS_KERNEL_INL_H_) == defined(HWY_TARGET_TOGGLE)
#ifdef SMX_SOFTMAX_COLUMNS_KERNEL_INL_H_
#undef SMX_SOFTMAX_COLUMNS_KERNEL_INL_H_
#else
#define SMX_SOFTMAX_COLUMNS_KERNEL_INL_H_
#endif

#include <cmath>
#include <cstddef>
#include <type_traits>

#include "hwy/highway.h"
#include "softmax/exp-inl.h"
#include "softmax/kernels.h"
#include "softmax/row_kernels-inl.h"
#include "softmax/row_math.h"

HWY_BEFORE_NAMESPACE();
namespace smx::HWY_NAMESPACE {
namespace hn = hwy::HWY_NAMESPACE;

template <bool kScaled, bool kZeroShift, bool kSoftmax, class D>
void ColumnExpSums(D d, const hn::TFromD<D>* x, hn::TFromD<D>* y, std::size_t length,
                   std::size_t inner, hn::Vec<D> vmax, hn::Vec<D> vshift,
                   const internal::Temperature<hn::TFromD<D>>& temp, LaneSums<D>& lane_sums,
                   hn::Vec<D>& count) {
  using T = hn::TFromD<D>;
  using V = hn::Vec<D>;
  const V vinv = hn::Set(d, temp.inv_t), vt = hn::Set(d, temp.t), vtlo = hn::Set(d, temp.t_lo);
  const V one = hn::Set(d, T(1));
  // (exponential, term of the sum) of row k's vector.
  auto exp_of = [&](std::size_t k) HWY_ATTR {
    const V v = hn::LoadU(d, x + k * inner);
    V hi, lo;
    ShiftedLogit<kScaled, kZeroShift ? ShiftKind::kZero : ShiftKind::kResidual>(v, vshift, vinv, vt,
                                                                                vtlo, hi, lo);
    const V e = ExpOfShifted < kScaled || !kZeroShift > (d, hi, lo);
    if constexpr (kSoftmax) {
      hn::StoreU(e, d, y + k * inner);
      return e;
    } else {
      // The max entries are counted apart (log1p of the rest keeps a dominant entry's -rest).
      const auto is_max = hn::Eq(v, vmax);
      count = hn::Add(count, hn::IfThenElseZero(is_max, one));
      return hn::IfThenZeroElse(is_max, e);
    }
  };
  std::size_t k = 0;
  if constexpr (sizeof(T) == 4) {
    // Four rows added in an f32 tree before widening, as in the row kernel (each term keeps a
    // relative error <= 2u; the widening is paid once per four vectors).
    for (; k + 4 <= length; k += 4) {
      const V e0 = exp_of(k), e1 = exp_of(k + 1), e2 = exp_of(k + 2), e3 = exp_of(k + 3);
      lane_sums.Add(hn::Add(hn::Add(e0, e1), hn::Add(e2, e3)));
    }
  }
  for (; k < length; ++k) lane_sums.Add(exp_of(k));
}

template <bool kScaled, typename T>
std::size_t ColumnsImpl(internal::RowOp op, const T* x, T* y, std::size_t length, std::size_t inner,
                        const internal::Temperature<T>& temp, double temperature,
                        internal::FunctionRef<void(std::size_t, std::size_t)> fallback) {
  using W = internal::Wide<T>;
  using D = hn::ScalableTag<T>;
  const D d;
  using V = hn::Vec<D>;
  const std::size_t N = hn::Lanes(d);
  const std::size_t full = inner - inner % N;
  const bool softmax = op == internal::RowOp::kSoftmax;
  const V vinv = hn::Set(d, temp.inv_t), vt = hn::Set(d, temp.t), zero = hn::Zero(d);
  const V vtlo = hn::Set(d, temp.t_lo);
  HWY_ALIGN T lane_max[hn::MaxLanes(d)];
  HWY_ALIGN T lane_shift[hn::MaxLanes(d)];
  HWY_ALIGN T out_a[hn::MaxLanes(d)] = {};
  HWY_ALIGN T out_b[hn::MaxLanes(d)] = {};
  HWY_ALIGN T counts[hn::MaxLanes(d)];
  double sums[hn::MaxLanes(d)], errs[hn::MaxLanes(d)];
  for (std::size_t j = 0; j < full; j += N) {
    // Four independent max chains: one chain of K dependent maxes was a tenth of the block's time.
    V m0 = hn::LoadU(d, x + j), m1 = m0, m2 = m0, m3 = m0;
    std::size_t k = 1;
    for (; k + 4 <= length; k += 4) {
      m0 = hn::Max(m0, hn::LoadU(d, x + k * inner + j));
      m1 = hn::Max(m1, hn::LoadU(d, x + (k + 1) * inner + j));
      m2 = hn::Max(m2, hn::LoadU(d, x + (k + 2) * inner + j));
      m3 = hn::Max(m3, hn::LoadU(d, x + (k + 3) * inner + j));
    }
    for (; k < length; ++k) m0 = hn::Max(m0, hn::LoadU(d, x + k * inner + j));
    const V vmax = hn::Max(hn::Max(m0, m1), hn::Max(m2, m3));
    if (!hn::AllTrue(d, hn::IsFinite(vmax))) {
      fallback(j, N);  // NaN, +inf or a fully masked column: the general path handles the block
      continue;
    }
    // Each lane's shift as in the row kernels (ChooseShift): 0 where max/T is small, which skips
    // the subtraction and its residual (~20% of the exp) when it holds for every lane.
    hn::Store(vmax, d, lane_max);
    bool zero_shift = true;
    for (std::size_t i = 0; i < N; ++i) {
      const internal::Shift<T> shift = internal::ChooseShift(lane_max[i], temperature);
      lane_shift[i] = shift.value;
      zero_shift &= shift.zero;
    }
    const V vshift = hn::Load(d, lane_shift);
    LaneSums<D> lane_sums;
    V count = zero;
    // One instance per (exact, softmax) pair: both flags are loop-invariant.
    auto exp_sums = [&](auto zero_shift, auto is_softmax) HWY_ATTR {
      ColumnExpSums<kScaled, decltype(zero_shift)::value, decltype(is_softmax)::value>(
          d, x + j, y + j, length, inner, vmax, vshift, temp, lane_sums, count);
    };
    if (softmax) {
      zero_shift ? exp_sums(std::true_type(), std::true_type())
                 : exp_sums(std::false_type(), std::true_type());
    } else {
      zero_shift ? exp_sums(std::true_type(), std::false_type())
                 : exp_sums(std::false_type(), std::false_type());
    }
    lane_sums.Store(sums, errs);
    hn::Store(count, d, counts);
    // Per lane: softmax's factor (the shift cancels); log_softmax's c = m + log_sum as
    // out_a + out_b (T = 1) or log_sum as out_a + out_b (T != 1); logsumexp's value.
    for (std::size_t i = 0; i < N; ++i) {
      W sum = static_cast<W>(sums[i]) + static_cast<W>(errs[i]);
      if (softmax) {
        out_a[i] = static_cast<T>(1 / sum);
        continue;
      }
      if (lane_shift[i] != lane_max[i]) {  // the rest relative to the max
        sum *= std::exp((static_cast<W>(lane_shift[i]) - static_cast<W>(lane_max[i])) /
                        static_cast<W>(temperature));
      }
      const T* column = x + j + i;
      const W log_sum = internal::LogSumOfRow(
          op, lane_max[i], static_cast<W>(temperature), static_cast<W>(counts[i]), sum, length,
          [column, inner](std::size_t r) { return static_cast<W>(column[r * inner]); });
      const W m = static_cast<W>(lane_max[i]);
      if (op == internal::RowOp::kLogSumExp) {
        y[j + i] = static_cast<T>(m + log_sum);
      } else if (kScaled) {
        internal::SplitWide(log_sum, out_a[i], out_b[i]);
      } else {
        out_a[i] = static_cast<T>(m + log_sum);
        out_b[i] = static_cast<T>((m - static_cast<W>(out_a[i])) + log_sum);
      }
    }
    if (op == internal::RowOp::kLogSumExp) continue;
    const V a = hn::Load(d, out_a), b = hn::Load(d, out_b);
    for (std::size_t r = 0; r < length; ++r) {
      T* yk = y + r * inner + j;
      if (softmax) {
        hn::StoreU(hn::Mul(hn::LoadU(d, yk), a), d, yk);
      } else if (kScaled) {
        V hi, lo;
        ShiftedLogit<true, ShiftKind::kPlain>(hn::LoadU(d, x + r * inner + j), vmax, vinv, vt, vtlo,
                                              hi, lo);
        const V main = hn::Sub(hi, a);
        hn::StoreU(hn::IfThenElse(hn::IsFinite(main), hn::Add(main, hn::Sub(lo, b)), main), d, yk);
      } else {
        hn::StoreU(hn::Sub(hn::Sub(hn::LoadU(d, x + r * inner + j), a), b), d, yk);
      }
    }
  }
  return full;
}

// Returns how many leading columns it computed (a multiple of the vector length); the driver
// does the rest.
template <typename T>
std::size_t Columns(internal::RowOp op, const T* x, T* y, std::size_t length, std::size_t inner,
                    const internal::Temperature<T>& temp, double temperature,
                    internal::FunctionRef<void(std::size_t, std::size_t)> fallback) {
  return temp.scaled ? ColumnsImpl<true>(op, x, y, length, inner, temp, temperature, fallback)
                     : ColumnsImpl<false>(op, x, y, length, inner, temp, temperature, fallback);
}

}  // namespace smx::HWY_NAMESPACE
HWY_AFTER_NAMESPACE();

#endif  // SMX_SOFTMAX_COLUMNS_KERNEL_INL_H_
