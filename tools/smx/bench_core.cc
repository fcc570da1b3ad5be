#include "bench_core.h"

#include <omp.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstring>
#include <functional>
#include <new>
#include <numbers>
#include <vector>

#include "cli_error.h"
#include "smx/runtime.h"

namespace smx_cli {
namespace {

constexpr std::size_t kAlignment = 64;

double Seconds(const std::function<void()>& run, int calls) {
  const auto start = std::chrono::steady_clock::now();
  for (int i = 0; i < calls; ++i) run();
  const auto stop = std::chrono::steady_clock::now();
  return std::chrono::duration<double>(stop - start).count();
}

// How many calls make a batch of at least `min_seconds`, from one timed call after a warm-up.
int CallsPerBatch(const std::function<void()>& run, double min_seconds) {
  run();  // warm-up: caches, page tables, thread pool
  const double once = std::max(Seconds(run, 1), 1e-9);
  return std::max(1, static_cast<int>(std::ceil(min_seconds / once)));
}

double Median(std::vector<double> values) {
  std::sort(values.begin(), values.end());
  const std::size_t n = values.size();
  return n % 2 == 1 ? values[n / 2] : 0.5 * (values[n / 2 - 1] + values[n / 2]);
}

// splitmix64: small, fast and the same everywhere (std::normal_distribution is not).
std::uint64_t NextRandom(std::uint64_t* state) {
  std::uint64_t z = (*state += 0x9E3779B97F4A7C15ull);
  z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
  z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
  return z ^ (z >> 31);
}

double UniformOpenZeroOne(std::uint64_t* state) {
  return (static_cast<double>(NextRandom(state) >> 11) + 0.5) * 0x1p-53;
}

}  // namespace

AlignedFloats::AlignedFloats(std::size_t count) : size_(count) {
  const std::size_t bytes = (count * sizeof(float) + kAlignment - 1) / kAlignment * kAlignment;
  data_.reset(static_cast<float*>(std::aligned_alloc(kAlignment, std::max(bytes, kAlignment))));
  if (!data_) throw std::bad_alloc();
  std::memset(data_.get(), 0, count * sizeof(float));
}

void FillNormal(std::span<float> values, double stddev, std::uint64_t seed) {
  std::uint64_t state = seed;
  for (std::size_t i = 0; i < values.size(); i += 2) {
    // Box-Muller: two independent normals from two uniforms.
    const double radius = stddev * std::sqrt(-2.0 * std::log(UniformOpenZeroOne(&state)));
    const double angle = 2.0 * std::numbers::pi * UniformOpenZeroOne(&state);
    values[i] = static_cast<float>(radius * std::cos(angle));
    if (i + 1 < values.size()) values[i + 1] = static_cast<float>(radius * std::sin(angle));
  }
}

void ParallelCopy(const float* source, float* destination, std::size_t count, int threads) {
  if (threads <= 1) {
    std::memcpy(destination, source, count * sizeof(float));
    return;
  }
#pragma omp parallel num_threads(threads)
  {
    const std::size_t parts = static_cast<std::size_t>(omp_get_num_threads());
    const std::size_t part = static_cast<std::size_t>(omp_get_thread_num());
    // Slices of whole cache lines, so no two threads write to one line.
    const std::size_t per_line = kAlignment / sizeof(float);
    const std::size_t slice = ((count + parts - 1) / parts + per_line - 1) / per_line * per_line;
    const std::size_t begin = std::min(count, part * slice);
    const std::size_t end = std::min(count, begin + slice);
    std::memcpy(destination + begin, source + begin, (end - begin) * sizeof(float));
  }
}

Measurement MeasureAgainstCopy(Op op, const AlignedFloats& input, const AlignedFloats& output,
                               std::int64_t rows, std::int64_t cols, int threads, int reps,
                               double min_batch_seconds) {
  const std::int64_t shape[2] = {rows, cols};
  const std::int64_t reduced[2] = {rows, 1};
  const smx::ConstTensorRef x(input.data(), smx::DType::kF32, smx::Layout::Contiguous(shape));
  const smx::TensorRef y{output.data(), smx::DType::kF32,
                         smx::Layout::Contiguous(ReducesAxis(op) ? reduced : shape)};
  const std::size_t elements = static_cast<std::size_t>(rows * cols);

  smx::set_num_threads(threads);
  const smx::Status status = RunOp(op, x, y, 1.0, -1);
  if (!status.ok()) throw RuntimeError(status.message());

  // The library never fails after the first call on the same arguments; the timed loop ignores it.
  return MeasureCallAgainstCopy([&] { (void)RunOp(op, x, y, 1.0, -1); }, input, output, elements,
                                elements, threads, reps, min_batch_seconds);
}

Measurement MeasureCallAgainstCopy(const std::function<void()>& run_smx, const AlignedFloats& input,
                                   const AlignedFloats& output, std::size_t elements,
                                   std::size_t copy_elements, int threads, int reps,
                                   double min_batch_seconds) {
  smx::set_num_threads(threads);
  const std::function<void()> run_copy = [&] {
    ParallelCopy(input.data(), output.data(), copy_elements, threads);
  };
  const int smx_calls = CallsPerBatch(run_smx, min_batch_seconds);
  const int copy_calls = CallsPerBatch(run_copy, min_batch_seconds);

  std::vector<double> smx_ns, copy_ns;
  for (int rep = 0; rep < reps; ++rep) {
    smx_ns.push_back(Seconds(run_smx, smx_calls) * 1e9 / (smx_calls * double(elements)));
    copy_ns.push_back(Seconds(run_copy, copy_calls) * 1e9 / (copy_calls * double(elements)));
  }
  return {Median(smx_ns), Median(copy_ns), reps};
}

}  // namespace smx_cli
