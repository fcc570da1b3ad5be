// --explain for attention: one query row's scores, the online softmax over blocks of keys and the
// output, as attention.h computes them (see explain.h).
#ifndef SMX_TOOLS_EXPLAIN_ATTENTION_H_
#define SMX_TOOLS_EXPLAIN_ATTENTION_H_

#include <cstdint>
#include <optional>
#include <vector>

#include "explain.h"
#include "smx/attention.h"

namespace smx_cli {

// Query row `query` (of `num_queries`) of one head, with that head's keys and values and the
// options that shape its scores.
struct AttentionRow {
  std::vector<double> q;                    // d values
  std::vector<std::vector<double>> keys;    // Lk rows of d
  std::vector<std::vector<double>> values;  // Lk rows of dv
  std::int64_t query = 0;
  std::int64_t num_queries = 1;  // Lq
  double scale = 1;
  double softcap = 0;                 // > 0: s = softcap tanh(s / softcap)
  std::optional<double> alibi_slope;  // s -= slope |i + Lk - Lq - j|
  std::vector<double> additive;       // Lk values added to the scores, or empty
  std::vector<bool> attends;          // Lk flags of a boolean mask, or empty
  bool causal = false;
  smx::CausalAlignment alignment = smx::CausalAlignment::kTopLeft;
  std::optional<double> sink;  // one more logit in the denominator, with no value
};

// The scores, the online softmax a block of keys at a time (running max m, sum l, output o), the
// output o / l, and the same output computed at once as softmax(s) V. The result is the output
// row, checked against attention.h's bound.
Explanation ExplainAttention(const AttentionRow& row);

}  // namespace smx_cli

#endif  // SMX_TOOLS_EXPLAIN_ATTENTION_H_
