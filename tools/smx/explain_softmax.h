// The textbook computations of softmax, log-softmax and logsumexp for --explain (see explain.h).
#ifndef SMX_TOOLS_EXPLAIN_SOFTMAX_H_
#define SMX_TOOLS_EXPLAIN_SOFTMAX_H_

#include <span>

#include "explain.h"

namespace smx_cli {

Explanation ExplainSoftmax(std::span<const double> row, double temperature);
Explanation ExplainLogSoftmax(std::span<const double> row, double temperature);
// logsumexp has no temperature; `temperature` is ignored.
Explanation ExplainLogSumExp(std::span<const double> row, double temperature);

}  // namespace smx_cli

#endif  // SMX_TOOLS_EXPLAIN_SOFTMAX_H_
