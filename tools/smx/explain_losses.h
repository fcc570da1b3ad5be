// --explain for the losses: softmax cross-entropy of one sample, with its gradient.
#ifndef SMX_TOOLS_EXPLAIN_LOSSES_H_
#define SMX_TOOLS_EXPLAIN_LOSSES_H_

#include <cstdint>
#include <optional>
#include <vector>

#include "explain.h"
#include "smx/losses.h"

namespace smx_cli {

// One sample of `smx cross-entropy` and the options it ran with.
struct CrossEntropySample {
  std::vector<double> logits;                // z: the C logits of the sample
  std::optional<std::int64_t> target_class;  // a class index, or
  std::vector<double> target_probs;          // probabilities (C of them) when there is no index
  std::vector<double> weight;                // C class weights; empty: every w_c = 1
  double label_smoothing = 0;
  std::int64_t ignore_index = -100;
  smx::Reduction reduction = smx::Reduction::kMean;
  double divisor = 1;  // D of the mean (losses.h), for the closing note on the reduction
};

// softmax's steps, then the target distribution y, the loss l = -Σ_c w_c y_c log p_c and the
// gradient (Σ_c w_c y_c) p - w∘y of this sample (unreduced, as with reduction none). The result
// is l followed by the C entries of the gradient; its check uses the losses' relative bound.
Explanation ExplainCrossEntropy(const CrossEntropySample& sample);

}  // namespace smx_cli

#endif  // SMX_TOOLS_EXPLAIN_LOSSES_H_
