#include "explain_softmax.h"

#include <cmath>
#include <string>
#include <vector>

#include "numbers.h"

namespace smx_cli {
namespace {

// Long double keeps the textbook steps well below the library's error bound, so the final check
// against smx means something.
using Real = long double;

enum class Kind { kSoftmax, kLogSoftmax, kLogSumExp };

std::string Num(double value) { return ExplainNumber(value); }

std::string Heading(Kind kind, std::size_t length, double temperature) {
  const std::string row = "one row of " + std::to_string(length) + " values";
  switch (kind) {
    case Kind::kSoftmax: return "softmax of " + row + ", temperature T = " + Num(temperature) + ":";
    case Kind::kLogSoftmax:
      return "log-softmax of " + row + ", temperature T = " + Num(temperature) + ":";
    case Kind::kLogSumExp: return "logsumexp of " + row + ":";
  }
  return "";
}

// The rules for NaN, +inf and fully masked rows (softmax.h), which come before any arithmetic.
// Returns true, with the explanation complete, when one applies.
bool ExplainSpecialRow(Kind kind, std::span<const double> row, Explanation* e) {
  bool has_nan = false, has_positive_infinity = false, all_negative_infinity = true;
  for (double z : row) {
    has_nan |= std::isnan(z);
    has_positive_infinity |= z == INFINITY;
    all_negative_infinity &= z == -INFINITY;
  }
  const std::size_t k = row.size();
  if (has_nan) {
    e->steps.push_back({"The row holds a NaN",
                        "",
                        {},
                        true,
                        "NaN is not a number, so no distribution over the row exists: smx makes "
                        "every output of the row NaN."});
    e->result.assign(kind == Kind::kLogSumExp ? 1 : k, NAN);
  } else if (has_positive_infinity && kind == Kind::kLogSumExp) {
    e->steps.push_back({"The row holds +inf",
                        "",
                        {},
                        true,
                        "exp(+inf) = +inf dominates the sum, so log Σ exp(z_j) = +inf (as in "
                        "PyTorch and SciPy)."});
    e->result.assign(1, INFINITY);
  } else if (has_positive_infinity) {
    e->steps.push_back({"The row holds +inf",
                        "",
                        {},
                        true,
                        "Shifting by the maximum gives +inf - +inf, which is NaN: the weights "
                        "are undefined, so every output of the row is NaN (as in PyTorch)."});
    e->result.assign(k, NAN);
  } else if (all_negative_infinity) {
    const double fill = kind == Kind::kSoftmax ? 0.0 : -INFINITY;
    e->steps.push_back(
        {"Every entry is -inf (a fully masked row)",
         "",
         {},
         true,
         "Every weight exp(-inf) is 0, so nothing is left to normalise: smx defines "
         "softmax as 0 everywhere, log-softmax as -inf and logsumexp as log 0 = -inf."});
    e->result.assign(kind == Kind::kLogSumExp ? 1 : k, fill);
  } else {
    return false;
  }
  return true;
}

// T = 0: the hardmax, the limit of softmax(z/T) as T -> 0+.
void ExplainHardmax(Kind kind, std::span<const double> row, Explanation* e) {
  Real m = -INFINITY;
  for (double z : row) m = std::max<Real>(m, z);
  std::size_t ties = 0;
  for (double z : row) ties += z == m;
  e->steps.push_back(NumberStep("T = 0 is the limit T -> 0+: find the largest logit",
                                "m = max_i z_i", static_cast<double>(m),
                                "As T shrinks, (z_i - m)/T -> -inf for every z_i below m, so its "
                                "weight exp((z_i - m)/T) -> 0; the entries equal to m share all "
                                "the mass."));
  e->steps.push_back(NumberStep("Count the entries equal to the maximum", "c = #{i : z_i = m}",
                                static_cast<double>(ties)));
  const Real hit = kind == Kind::kSoftmax ? 1.0L / ties : -std::log(static_cast<Real>(ties));
  const Real miss = kind == Kind::kSoftmax ? 0.0L : -INFINITY;
  std::vector<Real> result;
  for (double z : row) result.push_back(z == m ? hit : miss);
  e->steps.push_back(RowStep(
      kind == Kind::kSoftmax ? "Share the mass among them (hardmax)"
                             : "Take the log of the hardmax",
      kind == Kind::kSoftmax ? "p_i = (z_i = m ? 1/c : 0)" : "log p_i = (z_i = m ? -log c : -inf)",
      ToDoubles(result)));
  e->result = ToDoubles(result);
}

// T = +inf: the uniform limit.
void ExplainUniform(Kind kind, std::span<const double> row, Explanation* e) {
  std::size_t finite = 0;
  for (double z : row) finite += std::isfinite(z);
  e->steps.push_back(NumberStep("T = inf is the limit T -> inf: count the finite entries", "n",
                                static_cast<double>(finite),
                                "z_i/T -> 0 for every finite z_i, so each of them gets the same "
                                "weight exp(0) = 1; an entry of -inf keeps weight 0."));
  const Real hit = kind == Kind::kSoftmax ? 1.0L / finite : -std::log(static_cast<Real>(finite));
  const Real miss = kind == Kind::kSoftmax ? 0.0L : -INFINITY;
  std::vector<Real> result;
  for (double z : row) result.push_back(std::isfinite(z) ? hit : miss);
  e->steps.push_back(RowStep(kind == Kind::kSoftmax ? "Spread the mass evenly"
                                                    : "Take the log of the uniform distribution",
                             kind == Kind::kSoftmax ? "p_i = 1/n" : "log p_i = -log n",
                             ToDoubles(result)));
  e->result = ToDoubles(result);
}

// The steps every op of the family shares: scale by T, find the max, shift, exponentiate, sum.
struct ShiftedSum {
  std::vector<Real> shifted;  // s_i = x_i - m
  std::vector<Real> weights;  // e_i = exp(s_i)
  Real max;                   // m
  Real sum;                   // S = Σ e_j
  Real log_sum;               // log S
};

ShiftedSum ExplainShiftedSum(Kind kind, std::span<const double> row, double temperature,
                             Explanation* e) {
  std::vector<Real> x(row.begin(), row.end());
  // After dividing by T the row is called x, as in the formulas of softmax.h.
  const std::string name = temperature != 1 ? "x" : "z";
  if (temperature != 1) {
    for (Real& value : x) value /= temperature;
    e->steps.push_back(RowStep("Divide by the temperature T = " + Num(temperature), "x_i = z_i / T",
                               ToDoubles(x),
                               temperature < 1 ? "T < 1 sharpens the distribution: gaps between "
                                                 "logits grow."
                                               : "T > 1 flattens the distribution: gaps between "
                                                 "logits shrink."));
  }
  ShiftedSum s;
  s.max = -INFINITY;
  for (Real value : x) s.max = std::max(s.max, value);
  e->steps.push_back(
      NumberStep("Find the largest value", "m = max_i " + name + "_i", static_cast<double>(s.max)));
  for (Real value : x) s.shifted.push_back(value - s.max);
  const char* invariance = kind == Kind::kLogSumExp
                               ? "m is added back at the end, "
                               : "subtracting one number from every entry leaves the result "
                                 "unchanged, ";
  e->steps.push_back(
      RowStep("Subtract it from every entry", "s_i = " + name + "_i - m", ToDoubles(s.shifted),
              std::string("This is what keeps the computation stable: ") + invariance +
                  "and now every s_i <= 0, so exp(s_i) <= 1 and nothing overflows "
                  "(exp(1000) would be inf); the largest term is exp(0) = 1, so "
                  "the sum is at least 1."));
  // log S = log(c + rest) as log c + log1p(rest / c), c being the entries at the max: a rest far
  // below 1 would otherwise vanish, as it does in a naive log.
  Real ties = 0, rest = 0;
  for (Real shifted : s.shifted) {
    const Real weight = std::exp(shifted);
    s.weights.push_back(weight);
    if (shifted == 0) {
      ties += 1;
    } else {
      rest += weight;
    }
  }
  s.sum = ties + rest;
  s.log_sum = std::log(ties) + std::log1p(rest / ties);
  e->steps.push_back(RowStep("Exponentiate", "e_i = exp(s_i)", ToDoubles(s.weights)));
  e->steps.push_back(NumberStep("Add them up", "S = Σ_j e_j", static_cast<double>(s.sum)));
  return s;
}

Explanation ExplainRow(Kind kind, std::span<const double> row, double temperature) {
  Explanation e;
  e.heading = Heading(kind, row.size(), temperature);
  e.result_is_row = kind != Kind::kLogSumExp;
  e.steps.push_back(RowStep("The logits", "z", std::vector<double>(row.begin(), row.end())));
  if (ExplainSpecialRow(kind, row, &e)) return e;
  if (temperature == 0) {
    ExplainHardmax(kind, row, &e);
    return e;
  }
  if (std::isinf(temperature)) {
    ExplainUniform(kind, row, &e);
    return e;
  }
  const ShiftedSum s = ExplainShiftedSum(kind, row, temperature, &e);
  const std::string name = temperature != 1 ? "x" : "z";
  std::vector<Real> result;
  Real check = 0;
  switch (kind) {
    case Kind::kSoftmax:
      for (Real weight : s.weights) result.push_back(weight / s.sum);
      e.steps.push_back(RowStep("Normalise", "p_i = e_i / S", ToDoubles(result)));
      for (Real p : result) check += p;
      e.steps.push_back(
          NumberStep("Check: the outputs sum to 1", "Σ_i p_i", static_cast<double>(check)));
      break;
    case Kind::kLogSoftmax:
      e.steps.push_back(
          NumberStep("Take the log of the sum", "log S", static_cast<double>(s.log_sum)));
      for (Real shifted : s.shifted) result.push_back(shifted - s.log_sum);
      e.steps.push_back(
          RowStep("Subtract it", "log p_i = s_i - log S", ToDoubles(result),
                  "This is " + name + "_i - logsumexp(" + name +
                      "). Working in log space keeps tiny "
                      "probabilities: log p_i stays finite where p_i would round to 0."));
      for (Real log_p : result) check += std::exp(log_p);
      e.steps.push_back(NumberStep("Check: the probabilities sum to 1", "Σ_i exp(log p_i)",
                                   static_cast<double>(check)));
      break;
    case Kind::kLogSumExp:
      result.push_back(s.max + s.log_sum);
      e.steps.push_back(NumberStep("Take the log and add the maximum back", "m + log S",
                                   static_cast<double>(result[0]),
                                   "log Σ_j exp(z_j) = log(exp(m) Σ_j exp(z_j - m)) = m + log S."));
      for (double z : row) check += std::exp(z - result[0]);
      e.steps.push_back(NumberStep("Check: softmax from it sums to 1",
                                   "Σ_i exp(z_i - logsumexp(z))", static_cast<double>(check)));
      break;
  }
  e.result = ToDoubles(result);
  return e;
}

}  // namespace

Explanation ExplainSoftmax(std::span<const double> row, double temperature) {
  return ExplainRow(Kind::kSoftmax, row, temperature);
}

Explanation ExplainLogSoftmax(std::span<const double> row, double temperature) {
  return ExplainRow(Kind::kLogSoftmax, row, temperature);
}

Explanation ExplainLogSumExp(std::span<const double> row, double /*temperature*/) {
  return ExplainRow(Kind::kLogSumExp, row, 1.0);
}

}  // namespace smx_cli
