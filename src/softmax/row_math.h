// Scalar arithmetic of a row shared by the driver and the per-target kernels: the choice of shift,
// the log of a split sum. Target-independent (plain C++), included by both.
#ifndef SMX_SOFTMAX_ROW_MATH_H_
#define SMX_SOFTMAX_ROW_MATH_H_

#include <cmath>
#include <type_traits>

namespace smx::internal {

enum class RowOp { kSoftmax, kLogSoftmax, kLogSumExp };

// Per-row scalar arithmetic (merging chunk sums, the log of the sum, the final scale): double is
// ample for f32 data; f64 data gets long double (x87 extended on x86; where long double is
// double the f64 contract still holds with less margin).
template <typename T>
using Wide = std::conditional_t<sizeof(T) == 4, double, long double>;

// log(sum) for sum = count + rest, count >= 1 entries equal to the max: log1p keeps `rest` even
// when it is far below one ulp of count (a dominant entry's log_softmax is -rest, not 0).
template <typename W>
W LogOfSplitSum(W count, W rest) {
  if (count == 1) return std::log1p(rest);  // the usual case; one call saves ~20 ns per row
  return std::log(count) + std::log1p(rest / count);
}

// The shift s of a row's (or chunk's) exponentials exp((x - s)/T), and whether it is 0 (then the
// kernels take x itself, exactly, and skip the TwoSum residual of x - s: ~20% of their work):
//  - max/T in [0, 60] (f32; [0, 700] f64): s = 0. The exponentials stay finite (e^60) and at
//    most 1 relative to the max's, so what they flush to zero is below 2^-126 in the output too;
//  - otherwise s = max, with the residual.
// (Rows with |max/T| beyond the flush range could skip the residual too, by Sterbenz's lemma; that
// would take a third kernel instance per op for rows that logits rarely produce, so it is not
// done: they are right, only ~20% slower.)
template <typename T>
struct Shift {
  T value;
  bool zero;  // value == 0
};
template <typename T>
Shift<T> ChooseShift(T max, double temperature) {
  constexpr double kZeroShiftUpTo = sizeof(T) == 4 ? 60 : 700;
  const double scaled_max = static_cast<double>(max) / temperature;
  if (scaled_max >= 0 && scaled_max <= kZeroShiftUpTo) return {T(0), true};
  return {max, false};
}

// Whether the fast sums are not precise enough for a log op, so that the row's split sum must be
// taken again with wide exponentials (PreciseSplitSum):
//  - the sum of the non-max terms is tiny (below n * 2^-100 for f32, n * 2^-1000 for f64): the
//    fast path flushes exponentials below 2^-126 (f32), which is harmless for probabilities but
//    not for log1p(rest) ~ rest when rest itself is ~1e-37;
//  - logsumexp cancels (m + log_sum is less than half of log_sum): its result then needs the sum
//    to more than the working precision.
// Rare by construction (a dominant entry with rest < 1e-28, or m ~ -log_sum); the recomputation
// costs a scalar exp per element of that row.
// (The group kernel of f32 rows applies the same test to 8 rows at once in f64 lanes.)
template <typename T>
constexpr double kTinyRestPerElement = sizeof(T) == 4 ? 0x1p-100 : 0x1p-1000;
constexpr double kCancellingLogSumExp = 0.5;
template <typename T, typename W>
bool NeedsPreciseSum(RowOp op, W m, W log_sum, W rest, std::size_t n) {
  if (rest < static_cast<W>(kTinyRestPerElement<T>) * static_cast<W>(n)) return true;
  return op == RowOp::kLogSumExp &&
         std::fabs(m + log_sum) < static_cast<W>(kCancellingLogSumExp) * std::fabs(log_sum);
}

// The split sum (count of entries equal to m; sum of exp((x - m)/T) over the others) with scalar
// exponentials in W (double for f32 data, long double for f64): no flushing, x - m exact in W.
// get(i) returns element i as W.
template <typename W, typename Get>
void PreciseSplitSum(std::size_t n, Get get, W m, W temperature, W& count, W& rest) {
  count = 0;
  rest = 0;
  for (std::size_t i = 0; i < n; ++i) {
    const W v = get(i);
    if (v == m) {
      count += 1;
    } else {
      rest += std::exp((v - m) / temperature);
    }
  }
}

// log(sum) of a log op's row from its fast split sums, falling back to PreciseSplitSum where
// NeedsPreciseSum says so.
template <typename T, typename W, typename Get>
W LogSumOfRow(RowOp op, T m, W temperature, W count, W rest, std::size_t n, Get get) {
  W log_sum = LogOfSplitSum(count, rest);
  if (NeedsPreciseSum<T>(op, static_cast<W>(m), log_sum, rest, n)) {
    PreciseSplitSum(n, get, static_cast<W>(m), temperature, count, rest);
    log_sum = LogOfSplitSum(count, rest);
  }
  return log_sum;
}

// Splits a wide value into two values of type T whose sum is it to twice T's precision.
template <typename T, typename W>
void SplitWide(W value, T& hi, T& lo) {
  hi = static_cast<T>(value);
  lo = static_cast<T>(value - static_cast<W>(hi));
}

}  // namespace smx::internal

#endif  // SMX_SOFTMAX_ROW_MATH_H_
