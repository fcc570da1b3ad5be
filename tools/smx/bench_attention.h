// smx bench --op attention (bench_attention.cc).
#ifndef SMX_TOOLS_BENCH_ATTENTION_H_
#define SMX_TOOLS_BENCH_ATTENTION_H_

#include <cstdint>
#include <vector>

namespace smx_cli {

// q, k and v of [1, 16, length, dim].
struct AttentionShape {
  std::int64_t length;
  std::int64_t dim;
};

// The default table: L of 512, 2048 and 8192 by d of 64 and 128.
inline const std::vector<AttentionShape> kDefaultAttentionShapes = {
    {512, 64}, {512, 128}, {2048, 64}, {2048, 128}, {8192, 64}, {8192, 128}};

// Forward and forward + backward GFLOP/s (medians of `reps` calls; 1 at L >= 8192), causal and
// not, on each thread count, and the forward pass's extra heap; a table, or JSON lines.
void RunAttentionBench(const std::vector<AttentionShape>& shapes, const std::vector<int>& threads,
                       int reps, bool json);

}  // namespace smx_cli

#endif  // SMX_TOOLS_BENCH_ATTENTION_H_
