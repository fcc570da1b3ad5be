// --explain for the calculus of softmax: the Jacobian and the entropy of one row.
#ifndef SMX_TOOLS_EXPLAIN_CALCULUS_H_
#define SMX_TOOLS_EXPLAIN_CALCULUS_H_

#include <span>

#include "explain.h"

namespace smx_cli {

// softmax's steps, then J = (diag(p) - p p^T)/T; the result is J row by row (K * K values).
Explanation ExplainJacobian(std::span<const double> row, double temperature);

// softmax's steps, then H = -Σ p_i log p_i in nats, in the form that keeps a confident row's tiny
// H (calculus.h); the result is H, checked against the library's relative bound.
Explanation ExplainEntropy(std::span<const double> row, double temperature);

}  // namespace smx_cli

#endif  // SMX_TOOLS_EXPLAIN_CALCULUS_H_
