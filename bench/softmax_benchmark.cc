// smx_bench: Google Benchmark timings of softmax, log_softmax and logsumexp.
//
//   build/bench/smx_bench                                   # everything (minutes)
//   build/bench/smx_bench --benchmark_filter=4096x1000      # one shape
//   build/bench/smx_bench --benchmark_filter='axis:|^copy_f32/4096x1000/'   # any axis vs last
//
// Names are op_dtype/shape[/axis:A]/threads:T. Every row reports items/s (elements of the input)
// and bytes/s (bytes read plus bytes written). Each shape also times copy_<dtype>: a plain copy of
// the same bytes at the same thread count, the memory roofline. Read the ops as ratios to the copy
// of the same run, not as absolute figures: the machine is shared and noisy.
//
// Inputs are normal(0, 3) with a fixed seed, in 64-byte aligned buffers that are written before
// timing. Times are wall-clock (UseRealTime), since smx may run on several threads.
#include <benchmark/benchmark.h>
#include <omp.h>

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <memory>
#include <random>
#include <string>
#include <utility>
#include <vector>

#include "smx/smx.hpp"

namespace {

constexpr std::size_t kAlignment = 64;
constexpr std::uint64_t kSeed = 0x5EED5EEDULL;
constexpr double kInputStddev = 3.0;

struct FreeDeleter {
  void operator()(void* p) const { std::free(p); }
};
template <typename T>
using AlignedBuffer = std::unique_ptr<T[], FreeDeleter>;

template <typename T>
AlignedBuffer<T> AllocateAligned(std::size_t n) {
  const std::size_t bytes =
      std::max(kAlignment, (n * sizeof(T) + kAlignment - 1) / kAlignment * kAlignment);
  void* p = std::aligned_alloc(kAlignment, bytes);
  if (p == nullptr) {
    std::fprintf(stderr, "smx_bench: cannot allocate %zu bytes\n", bytes);
    std::abort();
  }
  return AlignedBuffer<T>(static_cast<T*>(p));
}

// The input and output of the current size. The input is filled once per size and kept while
// consecutive benchmarks use that size (they are registered shape by shape), so the fill is not
// repeated for every op and thread count.
template <typename T>
struct Buffers {
  std::size_t size = 0;
  AlignedBuffer<T> x;
  AlignedBuffer<T> y;
};

template <typename T>
Buffers<T>& GetBuffers(std::size_t n) {
  static Buffers<T> buffers;
  if (buffers.size != n) {
    buffers.x.reset();  // free the old pair first: the big shapes are 64 MiB and more each
    buffers.y.reset();
    buffers.x = AllocateAligned<T>(n);
    buffers.y = AllocateAligned<T>(n);
    std::mt19937_64 rng(kSeed);
    std::normal_distribution<double> normal(0.0, kInputStddev);
    for (std::size_t i = 0; i < n; ++i) buffers.x[i] = static_cast<T>(normal(rng));
    std::memset(buffers.y.get(), 0, n * sizeof(T));  // fault the output pages in
    buffers.size = n;
  }
  return buffers;
}

// memcpy of `bytes` split into `threads` contiguous, cache-line aligned chunks.
void ParallelCopy(const void* src, void* dst, std::size_t bytes, int threads) {
  if (threads <= 1) {
    std::memcpy(dst, src, bytes);
    return;
  }
#pragma omp parallel num_threads(threads)
  {
    const auto t = static_cast<std::size_t>(omp_get_thread_num());
    const auto nt = static_cast<std::size_t>(omp_get_num_threads());
    const std::size_t chunk = (bytes / nt + kAlignment - 1) / kAlignment * kAlignment;
    const std::size_t begin = std::min(bytes, t * chunk);
    const std::size_t end = std::min(bytes, begin + chunk);
    std::memcpy(static_cast<char*>(dst) + begin, static_cast<const char*>(src) + begin,
                end - begin);
  }
}

enum class Op { kCopy, kSoftmax, kLogSoftmax, kLogSumExp };

const char* OpName(Op op) {
  switch (op) {
    case Op::kCopy:
      return "copy";
    case Op::kSoftmax:
      return "softmax";
    case Op::kLogSoftmax:
      return "log_softmax";
    case Op::kLogSumExp:
      return "logsumexp";
  }
  return "?";
}

struct Case {
  Op op = Op::kSoftmax;
  std::vector<std::int64_t> shape;
  int axis = -1;
  bool show_axis = false;  // put "/axis:A" in the name
  int threads = 1;
};

std::int64_t Product(const std::vector<std::int64_t>& v) {
  std::int64_t p = 1;
  for (std::int64_t d : v) p *= d;
  return p;
}

template <typename T>
smx::Status RunOp(const Case& c, const T* x, T* y, const std::vector<std::int64_t>& out_shape) {
  const smx::TensorView<const T> in(x, std::span<const std::int64_t>(c.shape));
  switch (c.op) {
    case Op::kSoftmax:
      return smx::softmax(in, smx::TensorView<T>(y, std::span<const std::int64_t>(c.shape)),
                          {.axis = c.axis});
    case Op::kLogSoftmax:
      return smx::log_softmax(in, smx::TensorView<T>(y, std::span<const std::int64_t>(c.shape)),
                              {.axis = c.axis});
    case Op::kLogSumExp:
      return smx::logsumexp(in, smx::TensorView<T>(y, std::span<const std::int64_t>(out_shape)),
                            {.axis = c.axis});
    case Op::kCopy:
      break;
  }
  return {smx::StatusCode::kInternal, "not an smx op"};
}

template <typename T>
void BM_Case(benchmark::State& state, const Case& c) {
  const auto n = static_cast<std::size_t>(Product(c.shape));
  const int rank = static_cast<int>(c.shape.size());
  const int axis = c.axis < 0 ? c.axis + rank : c.axis;
  std::vector<std::int64_t> out_shape = c.shape;  // logsumexp: the shape without the axis
  out_shape.erase(out_shape.begin() + axis);
  const auto out_n = static_cast<std::size_t>(Product(out_shape));

  Buffers<T>& b = GetBuffers<T>(n);
  const T* x = b.x.get();
  T* y = b.y.get();
  std::size_t bytes = 2 * n * sizeof(T);
  if (c.op == Op::kCopy) {
    for (auto _ : state) {
      ParallelCopy(x, y, n * sizeof(T), c.threads);
      benchmark::ClobberMemory();
    }
  } else {
    if (c.op == Op::kLogSumExp) bytes = (n + out_n) * sizeof(T);
    smx::set_num_threads(c.threads);
    const smx::Status first = RunOp(c, x, y, out_shape);  // also a warm-up
    if (!first.ok()) {
      state.SkipWithError(first.message().c_str());
      return;
    }
    for (auto _ : state) {
      const smx::Status s = RunOp(c, x, y, out_shape);
      benchmark::DoNotOptimize(s.ok());
      benchmark::ClobberMemory();
    }
  }
  state.SetItemsProcessed(static_cast<std::int64_t>(state.iterations()) *
                          static_cast<std::int64_t>(n));
  state.SetBytesProcessed(static_cast<std::int64_t>(state.iterations()) *
                          static_cast<std::int64_t>(bytes));
}

std::string ShapeName(const std::vector<std::int64_t>& shape) {
  std::string s;
  for (std::size_t i = 0; i < shape.size(); ++i) {
    if (i > 0) s += 'x';
    s += std::to_string(shape[i]);
  }
  return s;
}

template <typename T>
void Register(const Case& c) {
  const char* dtype = smx::dtype_name(smx::dtype_of<T>());
  std::string name = std::string(OpName(c.op)) + "_" + dtype + "/" + ShapeName(c.shape);
  if (c.show_axis) name += "/axis:" + std::to_string(c.axis);
  name += "/threads:" + std::to_string(c.threads);
  benchmark::RegisterBenchmark(name.c_str(), BM_Case<T>, c)->UseRealTime();
}

constexpr int kThreadCounts[] = {1, 2};

// The copy and the three ops on a [rows, cols] shape, over the last axis.
template <typename T>
void RegisterShape(std::int64_t rows, std::int64_t cols) {
  for (Op op : {Op::kCopy, Op::kSoftmax, Op::kLogSoftmax, Op::kLogSumExp}) {
    for (int threads : kThreadCounts) {
      Register<T>({.op = op, .shape = {rows, cols}, .threads = threads});
    }
  }
}

void RegisterAll() {
  // The six standard shapes (rows x cols), f32.
  const std::pair<std::int64_t, std::int64_t> shapes[] = {
      {4096, 1000}, {512, 32000}, {16, 128256}, {32768, 128}, {1, 16777216}, {2048, 8192}};
  for (const auto& [rows, cols] : shapes) RegisterShape<float>(rows, cols);
  // f64 on two of them.
  RegisterShape<double>(4096, 1000);
  RegisterShape<double>(2048, 8192);
  // Any axis: softmax of [64, 1000, 64] over axis 1 (strided rows, vectorised across the inner
  // 64) against the same 4,096,000 elements as [4096, 1000] over the last axis; the copy of
  // those bytes is copy_f32/4096x1000.
  for (int threads : kThreadCounts) {
    Register<float>({.op = Op::kSoftmax,
                     .shape = {64, 1000, 64},
                     .axis = 1,
                     .show_axis = true,
                     .threads = threads});
    Register<float>({.op = Op::kSoftmax,
                     .shape = {4096, 1000},
                     .axis = -1,
                     .show_axis = true,
                     .threads = threads});
  }
}

}  // namespace

int main(int argc, char** argv) {
  benchmark::Initialize(&argc, argv);
  if (benchmark::ReportUnrecognizedArguments(argc, argv)) return 1;
  benchmark::AddCustomContext("smx_version", smx::version());
  benchmark::AddCustomContext("smx_simd_target", smx::simd_target());
  std::string targets;
  for (const std::string& t : smx::compiled_targets()) targets += (targets.empty() ? "" : ",") + t;
  benchmark::AddCustomContext("smx_compiled_targets", targets);
  RegisterAll();
  benchmark::RunSpecifiedBenchmarks();
  benchmark::Shutdown();
  return 0;
}
