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

#include <cstddef>

#include "hwy/highway.h"
#include "softmax/exp-inl.h"
#include "softmax/kernels.h"
#include "softmax/row_kernels-inl.h"
#include "softmax/row_math.h"

HWY_BEFORE_NAMESPACE();
namespace smx::HWY_NAMESPACE {
namespace hn = hwy::HWY_NAMESPACE;

template <bool kScaled, typename T>
std::size_t ColumnsImpl(internal::RowOp op, const T* x, T* y, std::size_t length, std::size_t inner,
                        const internal::Temperature<T>& temp, double temperature,
                        internal::FunctionRef<void(std::size_t, std::size_t)> fallback) {
  using W = internal::Wide<T>;
  const hn::ScalableTag<T> d;
  using V = hn::Vec<decltype(d)>;
  const std::size_t N = hn::Lanes(d);
  const std::size_t full = inner - inner % N;
  const bool softmax = op == internal::RowOp::kSoftmax;
  const V vinv = hn::Set(d, temp.inv_t), vt = hn::Set(d, temp.t), zero = hn::Zero(d);
  const V vtlo = hn::Set(d, temp.t_lo);
  const V one = hn::Set(d, T(1));
  HWY_ALIGN T lane_max[hn::MaxLanes(d)];
  HWY_ALIGN T out_a[hn::MaxLanes(d)] = {};
  HWY_ALIGN T out_b[hn::MaxLanes(d)] = {};
  HWY_ALIGN T counts[hn::MaxLanes(d)];
  double sums[hn::MaxLanes(d)], errs[hn::MaxLanes(d)];
  for (std::size_t j = 0; j < full; j += N) {
    V vmax = hn::LoadU(d, x + j);
    for (std::size_t k = 1; k < length; ++k) vmax = hn::Max(vmax, hn::LoadU(d, x + k * inner + j));
    if (!hn::AllTrue(d, hn::IsFinite(vmax))) {
      fallback(j, N);  // NaN, +inf or a fully masked column: the general path handles the block
      continue;
    }
    LaneSums<decltype(d)> lane_sums;
    V count = zero;
    for (std::size_t k = 0; k < length; ++k) {
      V hi, lo;
      ShiftedLogit<kScaled, false>(hn::LoadU(d, x + k * inner + j), vmax, vinv, vt, vtlo, hi, lo);
      const V e = ExpOfShifted(d, hi, lo);
      if (softmax) {
        hn::StoreU(e, d, y + k * inner + j);
        lane_sums.Add(e);
      } else {
        const auto is_max = hn::Eq(hi, zero);
        count = hn::Add(count, hn::IfThenElseZero(is_max, one));
        lane_sums.Add(hn::IfThenZeroElse(is_max, e));
      }
    }
    lane_sums.Store(sums, errs);
    hn::Store(vmax, d, lane_max);
    hn::Store(count, d, counts);
    // Per lane: softmax's factor; log_softmax's c = m + log_sum as out_a + out_b (T = 1) or
    // log_sum as out_a + out_b (T != 1); logsumexp's value.
    for (std::size_t i = 0; i < N; ++i) {
      const W sum = static_cast<W>(sums[i]) + static_cast<W>(errs[i]);
      if (softmax) {
        out_a[i] = static_cast<T>(1 / sum);
        continue;
      }
      const T* column = x + j + i;
      const W log_sum = internal::LogSumOfRow(
          op, lane_max[i], static_cast<W>(temperature), static_cast<W>(counts[i]), sum, length,
          [column, inner](std::size_t k) { return static_cast<W>(column[k * inner]); });
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
    for (std::size_t k = 0; k < length; ++k) {
      T* yk = y + k * inner + j;
      if (softmax) {
        hn::StoreU(hn::Mul(hn::LoadU(d, yk), a), d, yk);
      } else if (kScaled) {
        V hi, lo;
        ShiftedLogit<true, true>(hn::LoadU(d, x + k * inner + j), vmax, vinv, vt, vtlo, hi, lo);
        const V main = hn::Sub(hi, a);
        hn::StoreU(hn::IfThenElse(hn::IsFinite(main), hn::Add(main, hn::Sub(lo, b)), main), d, yk);
      } else {
        hn::StoreU(hn::Sub(hn::Sub(hn::LoadU(d, x + k * inner + j), a), b), d, yk);
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
