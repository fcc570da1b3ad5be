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

#include <cmath>
#include <cstddef>

#include "hwy/contrib/math/math-inl.h"
#include "hwy/highway.h"
#include "softmax/kernels.h"
#include "softmax/row_kernels-inl.h"
#include "softmax/row_math.h"

HWY_BEFORE_NAMESPACE();
namespace smx::HWY_NAMESPACE {

// log(sum) of each row's split sums (LogOfSplitSum). For f32 data the usual rows (one max entry)
// take one vector log1p in f64 for the whole group, Highway's (2 ULP in f64, far below f32's ulp):
// a libm log1p per row cost ~20 ns, 0.16 ns per element of a 128-long row.
template <std::size_t kGroup>
void LogsOfSums(const internal::ExpSum (&sums)[kGroup], std::size_t g, double (&logs)[kGroup]) {
  const hn::CappedTag<double, kGroup> d;
  double rest[kGroup] = {};
  for (std::size_t i = 0; i < g; ++i) rest[i] = sums[i].sum + sums[i].sum_lo;
  for (std::size_t i = 0; i < kGroup; i += hn::Lanes(d)) {
    hn::StoreU(hn::Log1p(d, hn::LoadU(d, rest + i)), d, logs + i);
  }
  for (std::size_t i = 0; i < g; ++i) {
    if (sums[i].max_count != 1) logs[i] = internal::LogOfSplitSum(sums[i].max_count, rest[i]);
  }
}
template <std::size_t kGroup>
void LogsOfSums(const internal::ExpSum (&sums)[kGroup], std::size_t g,
                long double (&logs)[kGroup]) {
  for (std::size_t i = 0; i < g; ++i) {
    logs[i] = internal::LogOfSplitSum(static_cast<long double>(sums[i].max_count),
                                      static_cast<long double>(sums[i].sum) + sums[i].sum_lo);
  }
}

template <typename T>
void WholeRows(internal::RowOp op, const T* x, std::ptrdiff_t x_stride, T* y,
               std::ptrdiff_t y_stride, std::size_t rows, std::size_t n,
               const internal::Temperature<T>& temp, double temperature,
               internal::FunctionRef<void(std::size_t)> special) {
  using W = internal::Wide<T>;
  constexpr std::size_t kGroup = 4;
  const bool softmax = op == internal::RowOp::kSoftmax;
  for (std::size_t r0 = 0; r0 < rows; r0 += kGroup) {
    const std::size_t g = rows - r0 < kGroup ? rows - r0 : kGroup;
    T max[kGroup];
    internal::Shift<T> shift[kGroup];
    internal::ExpSum sums[kGroup];
    bool finite[kGroup];
    for (std::size_t i = 0; i < g; ++i) max[i] = RowMax(x + (r0 + i) * x_stride, n);
    for (std::size_t i = 0; i < g; ++i) {
      finite[i] = std::isfinite(max[i]);
      if (!finite[i]) {
        special(r0 + i);
        continue;
      }
      shift[i] = internal::ChooseShift(max[i], temperature, softmax);
      // Prefetches the same row of the next group.
      const T* next = r0 + i + kGroup < rows ? x + (r0 + i + kGroup) * x_stride : nullptr;
      sums[i] = RowExpSum(x + (r0 + i) * x_stride, softmax ? y + (r0 + i) * y_stride : nullptr, n,
                          shift[i].value, temp, shift[i].exact, !softmax, next);
    }
    W log_sums[kGroup];
    if (!softmax) LogsOfSums(sums, g, log_sums);
    for (std::size_t i = 0; i < g; ++i) {
      if (!finite[i]) continue;
      if (softmax) {
        const W sum = static_cast<W>(sums[i].sum) + static_cast<W>(sums[i].sum_lo);
        RowScale(y + (r0 + i) * y_stride, y + (r0 + i) * y_stride, n, static_cast<T>(1 / sum));
        continue;
      }
      W log_sum = log_sums[i];
      const W rest = static_cast<W>(sums[i].sum) + static_cast<W>(sums[i].sum_lo);
      if (internal::NeedsPreciseSum<T>(op, static_cast<W>(max[i]), log_sum, rest, n)) {
        const T* row = x + (r0 + i) * x_stride;
        log_sum = internal::LogSumOfRow(op, max[i], static_cast<W>(temperature), W(0), W(0), n,
                                        [row](std::size_t j) { return static_cast<W>(row[j]); });
      }
      if (op == internal::RowOp::kLogSumExp) {
        y[(r0 + i) * y_stride] = static_cast<T>(static_cast<W>(max[i]) + log_sum);
      } else {
        T log_hi, log_lo;
        internal::SplitWide(log_sum, log_hi, log_lo);
        RowLogShift(x + (r0 + i) * x_stride, y + (r0 + i) * y_stride, n, max[i], temp, log_hi,
                    log_lo);
      }
    }
  }
}

}  // namespace smx::HWY_NAMESPACE
HWY_AFTER_NAMESPACE();

#endif  // SMX_SOFTMAX_ROWS_KERNEL_INL_H_
