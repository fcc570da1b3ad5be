#include "explain_calculus.h"

#include <algorithm>
#include <cmath>
#include <string>
#include <vector>

#include "explain_softmax.h"
#include "numbers.h"

namespace smx_cli {
namespace {

// "The X for one row of K values, temperature T = t".
std::string RowHeading(const std::string& what, std::size_t k, double temperature) {
  return what + " for one row of " + std::to_string(k) +
         " values, temperature T = " + FormatNumber(temperature, smx::DType::kF64, 6);
}

}  // namespace

Explanation ExplainJacobian(std::span<const double> row, double temperature) {
  Explanation e = ExplainSoftmax(row, temperature);
  const std::size_t k = row.size();
  e.heading = RowHeading("The Jacobian of softmax", k, temperature) +
              ": first the probabilities p = softmax(z/T), then J.";
  const std::vector<long double> p(e.result.begin(), e.result.end());
  std::vector<double> jac(k * k), row_sums(k);
  for (std::size_t i = 0; i < k; ++i) {
    // 1 - p_i as the sum of the other probabilities: for a dominant p_i (1 - 1e-10), 1 - p_i
    // would keep only the rounding of p_i.
    long double others = 0;
    for (std::size_t j = 0; j < k; ++j) others += j == i ? 0 : p[j];
    long double sum = 0;
    for (std::size_t j = 0; j < k; ++j) {
      const long double v = (i == j ? p[i] * others : -p[i] * p[j]) / temperature;
      jac[i * k + j] = static_cast<double>(v);
      sum += v;
    }
    row_sums[i] = static_cast<double>(sum);
  }
  e.steps.push_back({"The Jacobian, row by row (row i holds dp_i/dz_j for j = 1..K)",
                     "J_ij = p_i (δ_ij - p_j) / T",
                     jac,
                     true,
                     "Raising z_j raises p_j and takes mass from every other p_i in proportion "
                     "to p_i. On the diagonal, 1 - p_i is the sum of the other p_j. J is "
                     "symmetric: J = (diag(p) - p p^T)/T."});
  e.steps.push_back({"Check: every row of J sums to 0", "Σ_j J_ij", row_sums, true,
                     "The probabilities always sum to 1, so moving any z_j cannot change their "
                     "sum: J 1 = 0."});
  e.result = jac;
  e.result_is_row = true;
  return e;
}

namespace {

using Real = long double;

// The rows whose entropy follows from p alone, exactly: NaN or +inf in the row (H is NaN), a
// fully masked row (H = 0), and the limits T = 0 (H = log of the ties) and T = inf (log n).
bool EntropyFromProbabilities(std::span<const double> row, double temperature) {
  const bool special = std::any_of(row.begin(), row.end(),
                                   [](double z) { return std::isnan(z) || z == INFINITY; }) ||
                       std::all_of(row.begin(), row.end(), [](double z) { return z == -INFINITY; });
  return special || temperature == 0 || std::isinf(temperature);
}

// H = -Σ p_i log p_i with 0 log 0 = 0, for the rows above.
void ExplainEntropyOfProbabilities(Explanation* e) {
  Real h = 0;
  for (double p : e->result) {
    if (std::isnan(p)) h = NAN;
    if (p > 0) h -= static_cast<Real>(p) * std::log(static_cast<Real>(p));
  }
  e->steps.push_back(NumberStep("Add up -p_i log p_i", "H = -Σ_i p_i log p_i",
                                static_cast<double>(h),
                                "An outcome that never occurs (p_i = 0) adds nothing: 0 log 0 = "
                                "0, its limit. A NaN anywhere makes H NaN."));
  e->result = {static_cast<double>(h)};
}

}  // namespace

Explanation ExplainEntropy(std::span<const double> row, double temperature) {
  Explanation e = ExplainSoftmax(row, temperature);
  e.heading = RowHeading("The entropy of softmax(z/T)", row.size(), temperature) +
              ": first the probabilities p, then H = -Σ p_i log p_i in nats.";
  e.result_is_row = false;
  e.bound = Explanation::Bound::kRelative;
  if (EntropyFromProbabilities(row, temperature)) {
    ExplainEntropyOfProbabilities(&e);
    return e;
  }
  // The softmax steps' terms again: x = z/T, m its max, d_i = m - x_i >= 0, e_i = exp(-d_i).
  Real m = -INFINITY;
  for (double z : row) m = std::max<Real>(m, static_cast<Real>(z) / temperature);
  std::vector<Real> gap;
  Real ties = 0, rest = 0, weighted = 0;
  for (double z : row) {
    const Real d = m - static_cast<Real>(z) / temperature;
    gap.push_back(d);
    if (d == 0) ties += 1;
    if (d > 0 && std::isfinite(d)) {
      rest += std::exp(-d);
      weighted += std::exp(-d) * d;
    }
  }
  const Real log_sum = std::log(ties) + std::log1p(rest / ties);
  const Real spread = weighted / (ties + rest);
  e.steps.push_back(NumberStep("Take the log of the sum", "log S = log c + log1p(rest/c)",
                               static_cast<double>(log_sum),
                               "c counts the entries at the maximum (e_i = 1) and rest adds the "
                               "others: a rest far below 1 would vanish in log(c + rest)."));
  std::vector<Real> surprise;
  for (Real d : gap) surprise.push_back(log_sum + d);
  e.steps.push_back(RowStep("The surprise of each outcome", "-log p_i = log S + d_i, d_i = -s_i",
                            ToDoubles(surprise),
                            "log p_i = s_i - log S: the less likely an outcome, the more "
                            "information it carries. An entry of -inf never occurs: its "
                            "surprise is infinite but its weight p_i is 0, and 0 log 0 = 0."));
  const Real h = log_sum + spread;
  e.steps.push_back(NumberStep("Average the surprise over p",
                               "H = Σ_i p_i (-log p_i) = log S + Σ_i p_i d_i",
                               static_cast<double>(h),
                               "Both terms are sums of terms >= 0, so nothing cancels: a confident "
                               "row keeps its tiny H to full precision, where -Σ p_i log p_i would "
                               "lose it to the rounding of the p_i near 1."));
  const auto finite = static_cast<Real>(
      std::count_if(row.begin(), row.end(), [](double z) { return std::isfinite(z); }));
  e.steps.push_back(RowStep("Compare with the limits", "(log c, H, log n)",
                            ToDoubles({std::log(ties), h, std::log(finite)}),
                            "H grows with T: as T -> 0 the mass goes to the c entries at the "
                            "maximum (H -> log c), as T -> inf it spreads evenly over the n "
                            "finite entries (H -> log n)."));
  e.result = {static_cast<double>(h)};
  return e;
}

}  // namespace smx_cli
