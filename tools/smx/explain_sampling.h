// --explain for sampling: one row's distribution through temperature, top-k, top-p and min-p, as
// sampling.h defines them (see explain.h).
#ifndef SMX_TOOLS_EXPLAIN_SAMPLING_H_
#define SMX_TOOLS_EXPLAIN_SAMPLING_H_

#include <cstdint>
#include <span>

#include "explain.h"

namespace smx_cli {

struct SamplingFilters {
  double temperature = 1;
  std::int64_t top_k = 0;  // 0: every token
  double top_p = 1;        // 1: every token
  double min_p = 0;        // 0: every token
};

// softmax's steps for p, the order of the tokens, each filter's survivors, and the filtered
// distribution (p renormalised over them), which is the result, checked against
// smx::top_k_top_p_filter's probabilities.
Explanation ExplainSampling(std::span<const double> logits, const SamplingFilters& filters);

}  // namespace smx_cli

#endif  // SMX_TOOLS_EXPLAIN_SAMPLING_H_
