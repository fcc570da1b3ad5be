// Measuring smx against the memory roofline: a plain copy of the same bytes on the same threads.
// Shared by `smx bench` and the benchmark line of `smx demo`.
#ifndef SMX_TOOLS_BENCH_CORE_H_
#define SMX_TOOLS_BENCH_CORE_H_

#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <functional>
#include <memory>
#include <span>

#include "ops.h"

namespace smx_cli {

// Floats aligned to 64 bytes (a cache line), every page written at allocation so that no timed run
// pays for page faults.
class AlignedFloats {
 public:
  explicit AlignedFloats(std::size_t count);
  float* data() const { return data_.get(); }
  std::size_t size() const { return size_; }
  std::span<float> span() const { return {data_.get(), size_}; }

 private:
  struct Free {
    void operator()(float* p) const { std::free(p); }
  };
  std::unique_ptr<float[], Free> data_;
  std::size_t size_;
};

// Normal(0, stddev) values, the same for a given seed on every machine: logits like a model's.
void FillNormal(std::span<float> values, double stddev, std::uint64_t seed);

// Copies `count` floats on `threads` threads, each a contiguous slice.
void ParallelCopy(const float* source, float* destination, std::size_t count, int threads);

struct Measurement {
  double smx_ns_per_element = 0;   // median over the batches
  double copy_ns_per_element = 0;  // median; the copy moves rows * cols floats
  int reps = 0;                    // batches of each
};

// Times run() against a copy of `copy_elements` floats from input to output on `threads` threads
// (the same bytes as the op moves: half its reads plus writes), alternating batch by batch. The
// ns per element of both divide by `elements`.
Measurement MeasureCallAgainstCopy(const std::function<void()>& run, const AlignedFloats& input,
                                   const AlignedFloats& output, std::size_t elements,
                                   std::size_t copy_elements, int threads, int reps,
                                   double min_batch_seconds);

// Times `op` on the [rows, cols] f32 input (last axis) with `threads` threads, and a copy of the
// same rows * cols floats from input to output on as many threads. The two alternate batch by
// batch, so that a change in clock speed or in the neighbours' load hits both alike; every batch
// repeats its call until it lasts at least `min_batch_seconds`. A warm-up run comes first. `output`
// holds rows * cols floats. An error from the library is thrown as a RuntimeError.
Measurement MeasureAgainstCopy(Op op, const AlignedFloats& input, const AlignedFloats& output,
                               std::int64_t rows, std::int64_t cols, int threads, int reps,
                               double min_batch_seconds);

}  // namespace smx_cli

#endif  // SMX_TOOLS_BENCH_CORE_H_
