#include "explain_calculus.h"

#include <string>
#include <vector>

#include "explain_softmax.h"
#include "numbers.h"

namespace smx_cli {

Explanation ExplainJacobian(std::span<const double> row, double temperature) {
  Explanation e = ExplainSoftmax(row, temperature);
  const std::size_t k = row.size();
  e.heading = "The Jacobian of softmax for one row of " + std::to_string(k) +
              " values, temperature T = " + FormatNumber(temperature, smx::DType::kF64, 6) +
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

}  // namespace smx_cli
