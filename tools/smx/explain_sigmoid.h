// The textbook computations of sigmoid, log-sigmoid and softplus for --explain (see explain.h):
// elementwise, so the "row" is the values given, each computed on its own.
#ifndef SMX_TOOLS_EXPLAIN_SIGMOID_H_
#define SMX_TOOLS_EXPLAIN_SIGMOID_H_

#include <span>

#include "explain.h"

namespace smx_cli {

// These ops take no temperature; `temperature` is ignored.
Explanation ExplainSigmoid(std::span<const double> row, double temperature);
Explanation ExplainLogSigmoid(std::span<const double> row, double temperature);
Explanation ExplainSoftplus(std::span<const double> row, double temperature);

}  // namespace smx_cli

#endif  // SMX_TOOLS_EXPLAIN_SIGMOID_H_
