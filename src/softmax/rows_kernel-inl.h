// Whole rows in one kernel call: the path of every contiguous row that fits in one chunk (rows of
// [4096, 1000], [32768, 128], ...). Rows are taken in groups whose passes run back to back, so
// the out-of-order core overlaps one row's serial chain (max -> exp -> sum -> 1/sum -> scale)
// with the next row's; the driver does no work per row.
#if defined(SMX_SOFTMAX_ROWS_KERNEL_INL_H_) == defined(HWY_TARGET_TOGGLE)
#ifdef SMX_SOFTMAX_ROWS_KERNEL_INL_H_
#undef SMX_SOFTMAX_ROWS_KERNEL_INL_H_
#else
#define SMX_SOFTMAX_ROWS_KERNEL_INL_H_
#endif

#include <algorithm>
#include <cmath>
#include <cstddef>

#include "hwy/cache_control.h"
#include "hwy/contrib/math/math-inl.h"
#include "hwy/highway.h"
#include "softmax/kernels.h"
#include "softmax/row_kernels-inl.h"
#include "softmax/row_math.h"

HWY_BEFORE_NAMESPACE();
namespace smx::HWY_NAMESPACE {

// log(sum) of each row's split sums relative to the row max, and the sum of the non-max terms
// relative to it (`rests`). The kernel summed relative to the shift s (0 or the max), so the rest
// is first scaled by exp((s - max)/T). For f32 data the group's scalings and log1p are one vector
// exp and one vector log1p in f64, Highway's (1 and 2 ULP in f64, far below f32's ulp): a libm
// call per row cost ~20 ns, 0.16 ns per element of a 128-long row.
template <std::size_t kGroup, typename T>
void LogsOfSums(const internal::ExpSum (&sums)[kGroup], const T (&max)[kGroup],
                const internal::Shift<T> (&shift)[kGroup], std::size_t g, double temperature,
                double (&logs)[kGroup], double (&rests)[kGroup]) {
  const hn::CappedTag<double, kGroup> d;
  double to_max[kGroup] = {};
  for (std::size_t i = 0; i < g; ++i) {
    rests[i] = sums[i].sum + sums[i].sum_lo;
    to_max[i] = (static_cast<double>(shift[i].value) - static_cast<double>(max[i])) / temperature;
  }
  for (std::size_t i = 0; i < kGroup; i += hn::Lanes(d)) {
    const auto diff = hn::LoadU(d, to_max + i);
    const auto scale = hn::IfThenElse(hn::Eq(diff, hn::Zero(d)), hn::Set(d, 1.0), hn::Exp(d, diff));
    const auto rest = hn::Mul(hn::LoadU(d, rests + i), scale);
    hn::StoreU(rest, d, rests + i);
    hn::StoreU(hn::Log1p(d, rest), d, logs + i);
  }
  for (std::size_t i = 0; i < g; ++i) {
    if (sums[i].max_count != 1) logs[i] = internal::LogOfSplitSum(sums[i].max_count, rests[i]);
  }
}
template <std::size_t kGroup, typename T>
void LogsOfSums(const internal::ExpSum (&sums)[kGroup], const T (&max)[kGroup],
                const internal::Shift<T> (&shift)[kGroup], std::size_t g, double temperature,
                long double (&logs)[kGroup], long double (&rests)[kGroup]) {
  for (std::size_t i = 0; i < g; ++i) {
    const long double to_max =
        (static_cast<long double>(shift[i].value) - static_cast<long double>(max[i])) /
        static_cast<long double>(temperature);
    rests[i] = (static_cast<long double>(sums[i].sum) + sums[i].sum_lo) *
               (to_max == 0 ? 1.0L : std::exp(to_max));
    logs[i] = internal::LogOfSplitSum(static_cast<long double>(sums[i].max_count), rests[i]);
  }
}

template <typename T>
void WholeRows(internal::RowOp op, const T* x, std::ptrdiff_t x_stride, T* y,
               std::ptrdiff_t y_stride, std::size_t rows, std::size_t n,
               const internal::Temperature<T>& temp, double temperature,
               internal::FunctionRef<void(std::size_t)> special) {
  using W = internal::Wide<T>;
  // Up to 16 rows per group: the per-row log (a vector exp and log1p in f64 per group) cost 0.37
  // -> 0.30 ns/element at K = 128 going from groups of 4 to 16. A group's rows should stay in L2
  // between its passes (x and y: 2 * 32 KiB), so long rows take fewer; the streaming path's stack
  // buffer holds one group (32 KiB).
  constexpr std::size_t kGroup = 16;
  constexpr std::size_t kGroupElements = 8192 * sizeof(float) / sizeof(T);  // 32 KiB
  const std::size_t group = std::max<std::size_t>(1, std::min(kGroup, kGroupElements / n));
  const bool softmax = op == internal::RowOp::kSoftmax;
  // Outputs beyond the caches: the exponentials go to a stack buffer and y is written once, with
  // streaming stores (no read of y's lines from memory first).
  constexpr std::size_t kStreamBytes = std::size_t{8} << 20;
  const bool stream = op != internal::RowOp::kLogSumExp && rows * n * sizeof(T) >= kStreamBytes &&
                      group * n <= kGroupElements;
  alignas(64) T scratch[kGroupElements];  // touched only when streaming
  for (std::size_t r0 = 0; r0 < rows; r0 += group) {
    const std::size_t g = rows - r0 < group ? rows - r0 : group;
    T max[kGroup];
    internal::Shift<T> shift[kGroup];
    internal::ExpSum sums[kGroup];
    bool finite[kGroup];
    for (std::size_t i = 0; i < g; ++i) max[i] = RowMax(x + (r0 + i) * x_stride, n);
    for (std::size_t i = 0; i < g; ++i) {
      finite[i] = std::isfinite(max[i]);
      if (!finite[i]) {
        special(r0 + i);
        shift[i] = {T(0), true};  // defined values for the group's vector log (results unused)
        sums[i] = internal::ExpSum{};
        continue;
      }
      shift[i] = internal::ChooseShift(max[i], temperature);
      // Prefetches the same row of the next group.
      const T* next = r0 + i + group < rows ? x + (r0 + i + group) * x_stride : nullptr;
      T* e = !softmax ? nullptr : stream ? scratch + i * n : y + (r0 + i) * y_stride;
      sums[i] = RowExpSum(x + (r0 + i) * x_stride, e, n, max[i], shift[i].value, temp,
                          shift[i].exact, !softmax, next);
    }
    W log_sums[kGroup], rests[kGroup];
    if (!softmax) LogsOfSums(sums, max, shift, g, temperature, log_sums, rests);
    for (std::size_t i = 0; i < g; ++i) {
      if (!finite[i]) continue;
      if (softmax) {
        const W sum = static_cast<W>(sums[i].sum) + static_cast<W>(sums[i].sum_lo);
        if (stream) {
          RowScale<true>(scratch + i * n, y + (r0 + i) * y_stride, n, static_cast<T>(1 / sum));
        } else {
          RowScale(y + (r0 + i) * y_stride, y + (r0 + i) * y_stride, n, static_cast<T>(1 / sum));
        }
        continue;
      }
      W log_sum = log_sums[i];
      if (internal::NeedsPreciseSum<T>(op, static_cast<W>(max[i]), log_sum, rests[i], n)) {
        const T* row = x + (r0 + i) * x_stride;
        log_sum = internal::LogSumOfRow(op, max[i], static_cast<W>(temperature), W(0), W(0), n,
                                        [row](std::size_t j) { return static_cast<W>(row[j]); });
      }
      if (op == internal::RowOp::kLogSumExp) {
        y[(r0 + i) * y_stride] = static_cast<T>(static_cast<W>(max[i]) + log_sum);
      } else {
        T log_hi, log_lo;
        internal::SplitWide(log_sum, log_hi, log_lo);
        if (stream) {
          RowLogShift<true>(x + (r0 + i) * x_stride, y + (r0 + i) * y_stride, n, max[i], temp,
                            log_hi, log_lo);
        } else {
          RowLogShift(x + (r0 + i) * x_stride, y + (r0 + i) * y_stride, n, max[i], temp, log_hi,
                      log_lo);
        }
      }
    }
  }
  if (stream) hwy::FlushStream();
}

}  // namespace smx::HWY_NAMESPACE
HWY_AFTER_NAMESPACE();

#endif  // SMX_SOFTMAX_ROWS_KERNEL_INL_H_
