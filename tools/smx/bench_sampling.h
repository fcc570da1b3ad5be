// smx bench --op sample (bench_sampling.cc).
#ifndef SMX_TOOLS_BENCH_SAMPLING_H_
#define SMX_TOOLS_BENCH_SAMPLING_H_

#include <cstdint>
#include <vector>

namespace smx_cli {

// logits [batch, vocab].
struct SamplingShape {
  std::int64_t batch;
  std::int64_t vocab;
};

// The default table: V of 32000, 128256 and 256000 (Llama 2, Llama 3, Gemma) by batch 1, 8, 64.
inline const std::vector<SamplingShape> kDefaultSamplingShapes = {
    {1, 32000},   {8, 32000},  {64, 32000}, {1, 128256}, {8, 128256},
    {64, 128256}, {1, 256000}, {8, 256000}, {64, 256000}};

// smx::sample with top-k 50, top-p 0.9 and both, beside one smx::softmax pass over the same
// logits and a copy of them, on each thread count (medians of `reps` batches); a table, or JSON
// lines.
void RunSamplingBench(const std::vector<SamplingShape>& shapes, const std::vector<int>& threads,
                      int reps, bool json);

}  // namespace smx_cli

#endif  // SMX_TOOLS_BENCH_SAMPLING_H_
