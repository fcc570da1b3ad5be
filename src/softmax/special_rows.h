// The rows that the kernels do not compute: the temperature limits (T = 0: hardmax, T = inf:
// uniform) and rows whose max is not finite (NaN, +inf, fully masked). Plain scalar code over any
// element type and stride: these rows are rare, or cheap at any speed.
#ifndef SMX_SOFTMAX_SPECIAL_ROWS_H_
#define SMX_SOFTMAX_SPECIAL_ROWS_H_

#include <cmath>
#include <cstdint>
#include <limits>

#include "smx/tensor.h"
#include "softmax/row_driver.h"
#include "softmax/row_math.h"

namespace smx::internal {

template <typename S>
double ToDouble(S v) {
  if constexpr (std::is_same_v<S, float16> || std::is_same_v<S, bfloat16>) {
    return to_float(v);
  } else {
    return static_cast<double>(v);
  }
}

template <typename S>
S FromDouble(double v) {
  if constexpr (std::is_same_v<S, float16>) {
    return to_float16(static_cast<float>(v));
  } else if constexpr (std::is_same_v<S, bfloat16>) {
    return to_bfloat16(static_cast<float>(v));
  } else {
    return static_cast<S>(v);
  }
}

// One row: x[i * x_stride], y[i * y_stride] for i < length; `lse` receives logsumexp.
template <typename S>
struct RowRef {
  const S* x;
  std::int64_t x_stride;
  S* y;  // null for logsumexp
  std::int64_t y_stride;
  S* lse;  // logsumexp only
  std::int64_t length;

  double In(std::int64_t i) const { return ToDouble(x[i * x_stride]); }
  void Out(std::int64_t i, double v) const { y[i * y_stride] = FromDouble<S>(v); }
};

struct RowFacts {
  bool has_nan = false;
  bool has_pos_inf = false;
  bool all_neg_inf = true;
};

template <typename S>
RowFacts ScanRow(const RowRef<S>& row) {
  RowFacts f;
  for (std::int64_t i = 0; i < row.length; ++i) {
    const double v = row.In(i);
    f.has_nan |= std::isnan(v);
    f.has_pos_inf |= v == std::numeric_limits<double>::infinity();
    f.all_neg_inf &= v == -std::numeric_limits<double>::infinity();
  }
  return f;
}

// Writes the result of a row holding NaN, +inf or only -inf. Returns false (writing nothing) if
// the row has none of these.
template <typename S>
bool WriteNonFiniteRow(RowOp op, const RowRef<S>& row) {
  constexpr double kInf = std::numeric_limits<double>::infinity();
  constexpr double kNaN = std::numeric_limits<double>::quiet_NaN();
  const RowFacts f = ScanRow(row);
  double fill = 0, lse = 0;
  if (f.has_nan) {
    fill = kNaN, lse = kNaN;
  } else if (f.has_pos_inf) {
    fill = kNaN, lse = kInf;  // inf - inf in every output; the sum itself is +inf
  } else if (f.all_neg_inf) {
    fill = op == RowOp::kSoftmax ? 0.0 : -kInf, lse = -kInf;  // a fully masked row
  } else {
    return false;
  }
  if (op == RowOp::kLogSumExp) {
    *row.lse = FromDouble<S>(lse);
  } else {
    for (std::int64_t i = 0; i < row.length; ++i) row.Out(i, fill);
  }
  return true;
}

// T = 0 (hardmax: 1/c on the c entries equal to the max) or T = inf (uniform over the entries
// that are not -inf). softmax and log_softmax only.
template <typename S>
void WriteLimitRow(RowOp op, bool zero_temperature, const RowRef<S>& row) {
  if (WriteNonFiniteRow(op, row)) return;
  double m = -std::numeric_limits<double>::infinity();
  for (std::int64_t i = 0; i < row.length; ++i) m = std::max(m, row.In(i));
  auto selected = [&](double v) {
    return zero_temperature ? v == m : v > -std::numeric_limits<double>::infinity();
  };
  std::int64_t count = 0;
  for (std::int64_t i = 0; i < row.length; ++i) count += selected(row.In(i));
  const double p = 1.0 / static_cast<double>(count);
  const double log_p = -std::log(static_cast<double>(count));
  for (std::int64_t i = 0; i < row.length; ++i) {
    const bool on = selected(row.In(i));
    if (op == RowOp::kSoftmax) {
      row.Out(i, on ? p : 0.0);
    } else {
      row.Out(i, on ? log_p : -std::numeric_limits<double>::infinity());
    }
  }
}

// Whether WriteExtremeTemperatureRow can work here: long double must reach beyond double's
// exponent range, so that z/T stays finite for every finite double z and T (x87 extended on x86).
inline constexpr bool kExtremeTemperatureRows =
    std::numeric_limits<long double>::max_exponent > 2 * std::numeric_limits<double>::max_exponent;

// A finite T > 0 whose reciprocal does not fit a double (below about 1e-307 or above 1e307):
// the row in long double, scalar. z/T is exact to 2^-64, so the exponent's rounding amplified by
// |z/T - m| (at most ~11400 before exp underflows) stays below 2^-50 relative; sums and logs as in
// the kernels (the max entries counted apart, log1p of the rest). Rare by construction.
template <typename S>
void WriteExtremeTemperatureRow(RowOp op, double temperature, const RowRef<S>& row) {
  using L = long double;
  if (WriteNonFiniteRow(op, row)) return;
  const L t = temperature;
  L m = -std::numeric_limits<L>::infinity();
  for (std::int64_t i = 0; i < row.length; ++i) m = std::max(m, static_cast<L>(row.In(i)) / t);
  L count = 0, rest = 0;
  for (std::int64_t i = 0; i < row.length; ++i) {
    const L v = static_cast<L>(row.In(i)) / t;
    if (v == m) {
      count += 1;
    } else {
      rest += std::exp(v - m);
    }
  }
  const L log_sum = LogOfSplitSum(count, rest);
  if (op == RowOp::kLogSumExp) {  // no temperature: the driver passes 1, so t = 1 here
    *row.lse = FromDouble<S>(static_cast<double>(m + log_sum));
    return;
  }
  const L total = count + rest;
  for (std::int64_t i = 0; i < row.length; ++i) {
    const L shifted = static_cast<L>(row.In(i)) / t - m;
    row.Out(i, static_cast<double>(op == RowOp::kSoftmax ? std::exp(shifted) / total
                                                         : shifted - log_sum));
  }
}

}  // namespace smx::internal

#endif  // SMX_SOFTMAX_SPECIAL_ROWS_H_
