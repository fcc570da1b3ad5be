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
  double to_max[kGroup] = {}, max_terms[kGroup] = {};
  const double inv_temperature = 1 / temperature;  // far below f32's ulp in exp(to_max)
  for (std::size_t i = 0; i < g; ++i) {
    rests[i] = sums[i].sum + sums[i].sum_lo;
    to_max[i] =
        (static_cast<double>(shift[i].value) - static_cast<double>(max[i])) * inv_temperature;
    max_terms[i] = sums[i].max_count == 0 ? 1 : 0;  // an unsplit sum: take out one max term
  }
  for (std::size_t i = 0; i < kGroup; i += hn::Lanes(d)) {
    const auto diff = hn::LoadU(d, to_max + i);
    const auto scale = hn::IfThenElse(hn::Eq(diff, hn::Zero(d)), hn::Set(d, 1.0), hn::Exp(d, diff));
    const auto rest = hn::Sub(hn::Mul(hn::LoadU(d, rests + i), scale), hn::LoadU(d, max_terms + i));
    hn::StoreU(rest, d, rests + i);
    hn::StoreU(hn::Log1p(d, rest), d, logs + i);
  }
  for (std::size_t i = 0; i < g; ++i) {
    if (sums[i].max_count > 1) logs[i] = internal::LogOfSplitSum(sums[i].max_count, rests[i]);
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
    long double count = sums[i].max_count;
    if (count == 0) {  // an unsplit sum: take out one max term
      count = 1;
      rests[i] -= 1;
    }
    logs[i] = internal::LogOfSplitSum(count, rests[i]);
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
  // between its passes (x and y: 2 * 32 KiB), so long rows take fewer.
  //
  constexpr std::size_t kGroup = 16;
  constexpr std::size_t kGroupElements = 8192 * sizeof(float) / sizeof(T);  // 32 KiB
  const std::size_t group = std::max<std::size_t>(1, std::min(kGroup, kGroupElements / n));
  const bool softmax = op == internal::RowOp::kSoftmax;
  const bool writes_rows = op != internal::RowOp::kLogSumExp;
  // y is written with ordinary stores into lines prefetched for write ahead. That beat streaming
  // stores even for outputs beyond the caches (1 / 2 threads, ns/element, softmax and log_softmax
  // on [4096, 1000]: 0.291 / 0.140 and 0.316 / 0.174 streamed, 0.273 / 0.120 and 0.307 / 0.133
  // prefetched one group ahead). The distances, ~96 KiB of x and ~64 KiB of y ahead, measured best
  // on [4096, 1000] (1 thread: softmax 0.27 -> 0.225, log_softmax 0.31 -> 0.26) against 1 to 8
  // groups; they made no difference at K = 128 or 8192.
  const std::size_t group_bytes = group * n * sizeof(T);
  const std::size_t read_ahead = ((std::size_t{96} << 10) + group_bytes - 1) / group_bytes;
  const std::size_t write_ahead = ((std::size_t{64} << 10) + group_bytes - 1) / group_bytes;
  // log_softmax rows of 2 KiB or more copy x into y during the exp pass and shift y in place
  // (1 thread, ns/element: [4096, 1000] 0.251 -> 0.239, [2048, 8192] 0.25 -> 0.237); at K = 128 the
  // copy cost more than it saved (0.309 -> 0.333), so short rows read x again.
  const bool copy_x = op == internal::RowOp::kLogSoftmax && n * sizeof(T) >= 2048;
  // The log ops keep the max entries out of the sum (log1p of the rest), which a log_softmax row
  // always needs: its max entry's output is -log1p(rest), however small. logsumexp needs it only
  // where m + log(sum) can be small: with |m + log(sum)| >= 1, guaranteed by m >= 1 or
  // m <= -1 - log n, the unsplit sum's relative error (2u) stays below 2u of the result. That
  // saves two vector operations per exponential (1 thread, ns/element: 32768x128 0.230 -> 0.218,
  // 4096x1000 0.172 -> 0.153).
  const double log_n = std::log(static_cast<double>(n));
  auto split_max = [&](T m) {
    if (softmax) return false;
    if (op == internal::RowOp::kLogSoftmax) return true;
    return !(static_cast<double>(m) >= 1 || static_cast<double>(m) <= -1 - log_n);
  };
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
      // Prefetches the same row of a group further on (see the distances above).
      internal::Lookahead<T> ahead;
      if (const std::size_t next = r0 + i + read_ahead * group; next < rows) {
        ahead.read = x + next * x_stride;
      }
      if (const std::size_t next = r0 + i + write_ahead * group; next < rows && writes_rows) {
        ahead.write = y + next * y_stride;
      }
      T* e = softmax || copy_x ? y + (r0 + i) * y_stride : nullptr;
      sums[i] = RowExpSum(x + (r0 + i) * x_stride, e, n, max[i], shift[i].value, temp,
                          shift[i].zero, split_max(max[i]), ahead);
    }
    W log_sums[kGroup] = {}, rests[kGroup] = {};  // the vector log reads whole vectors
    if (!softmax) LogsOfSums(sums, max, shift, g, temperature, log_sums, rests);
    for (std::size_t i = 0; i < g; ++i) {
      if (!finite[i]) continue;
      if (softmax) {
        const W sum = static_cast<W>(sums[i].sum) + static_cast<W>(sums[i].sum_lo);
        RowScale(y + (r0 + i) * y_stride, y + (r0 + i) * y_stride, n, static_cast<T>(1 / sum));
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
        T* row_y = y + (r0 + i) * y_stride;
        RowLogShift(copy_x ? row_y : x + (r0 + i) * x_stride, row_y, n, max[i], temp, log_hi,
                    log_lo);
      }
    }
  }
}

}  // namespace smx::HWY_NAMESPACE
HWY_AFTER_NAMESPACE();

#endif  // SMX_SOFTMAX_ROWS_KERNEL_INL_H_
