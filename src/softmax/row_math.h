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

// The shift s of a row's (or chunk's) exponentials exp((x - s)/T), and whether x - s is exact
// wherever it matters (then the kernel skips the TwoSum residual, ~20% of its work):
//  - softmax with max/T in [0, 60] (f32; [0, 700] f64): s = 0, so x - s = x. The exponentials
//    stay finite (e^60) and at most 1 relative to the max's, so what they flush to zero is below
//    2^-126 in the output too;
//  - |max/T| large: s = max, and every x whose exponential is not flushed lies within a factor of
//    2 of the max, where subtraction is exact (Sterbenz): max/T >= 2 * 87.4 or <= -87.4 (f32);
//  - otherwise s = max with the residual. log ops always use s = max (they count the max entries).
template <typename T>
struct Shift {
  T value;
  bool exact;
};
template <typename T>
Shift<T> ChooseShift(T max, double temperature, bool zero_allowed) {
  constexpr double kZeroShiftUpTo = sizeof(T) == 4 ? 60 : 700;
  constexpr double kFlushedBelow = sizeof(T) == 4 ? 87.4 : 745.2;
  const double scaled_max = static_cast<double>(max) / temperature;
  if (zero_allowed && scaled_max >= 0 && scaled_max <= kZeroShiftUpTo) return {T(0), true};
  return {max, scaled_max >= 2 * kFlushedBelow || scaled_max <= -kFlushedBelow};
}

// Splits a wide value into two values of type T whose sum is it to twice T's precision.
template <typename T, typename W>
void SplitWide(W value, T& hi, T& lo) {
  hi = static_cast<T>(value);
  lo = static_cast<T>(value - static_cast<W>(hi));
}

}  // namespace smx::internal

#endif  // SMX_SOFTMAX_ROW_MATH_H_
