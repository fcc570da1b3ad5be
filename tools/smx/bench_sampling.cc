// smx bench --op sample: sampling's time per call beside one softmax pass over the same logits
// (the bar: within 2x of it) and a copy of the same floats (the memory roofline), all on
// the same threads in the same run.
#include "bench_sampling.h"

#include <cstdio>
#include <string>
#include <vector>

#include "bench_core.h"
#include "cli_error.h"
#include "smx/runtime.h"
#include "smx/sampling.h"
#include "smx/softmax.h"

namespace smx_cli {
namespace {

struct Filter {
  const char* name;
  std::int64_t top_k;
  double top_p;
};
constexpr Filter kFilters[] = {{"top-k 50", 50, 1.0}, {"top-p 0.9", 0, 0.9}, {"both", 50, 0.9}};

// Model-like logits: Normal(0, 3), as the rest of smx bench.
constexpr double kLogitStddev = 3.0;
constexpr double kMinBatchSeconds = 0.02;

void Check(const smx::Status& status) {
  if (!status.ok()) throw RuntimeError(status.message());
}

}  // namespace

void RunSamplingBench(const std::vector<SamplingShape>& shapes, const std::vector<int>& threads,
                      int reps, bool json) {
  if (!json) {
    std::printf("smx %s bench: sample, f32 logits Normal(0, %g), T = 1, SIMD target %s\n",
                smx::version(), kLogitStddev, smx::simd_target());
    std::printf(
        "us per call, medians of %d batches; softmax = one smx::softmax of the same logits;\n"
        "copy = a plain copy of the same floats on the same threads\n\n",
        reps);
    std::printf("%-7s %-7s %-10s %7s %11s %11s %9s %11s\n", "batch", "V", "filter", "threads",
                "sample us", "softmax us", "/softmax", "copy us");
  }
  for (const SamplingShape& shape : shapes) {
    const std::size_t elements = static_cast<std::size_t>(shape.batch * shape.vocab);
    AlignedFloats logits(elements), output(elements);
    FillNormal(logits.span(), kLogitStddev, 7);
    const std::int64_t dims[2] = {shape.batch, shape.vocab};
    const smx::Layout layout = smx::Layout::Contiguous(dims);
    const smx::ConstTensorRef x(logits.data(), smx::DType::kF32, layout);
    const smx::TensorRef y{output.data(), smx::DType::kF32, layout};
    std::vector<std::int64_t> tokens(static_cast<std::size_t>(shape.batch));
    for (int t : threads) {
      const Measurement softmax =
          MeasureCallAgainstCopy([&] { Check(smx::softmax(x, y)); }, logits, output, elements,
                                 elements, t, reps, kMinBatchSeconds);
      for (const Filter& f : kFilters) {
        smx::SamplingOptions options;
        options.top_k = f.top_k;
        options.top_p = f.top_p;
        options.seed = 1;
        std::uint32_t step = 0;
        const Measurement m = MeasureCallAgainstCopy(
            [&] {
              options.step = step++;
              Check(smx::sample(x, tokens, options));
            },
            logits, output, elements, elements, t, reps, kMinBatchSeconds);
        const double us = m.smx_ns_per_element * static_cast<double>(elements) * 1e-3;
        const double softmax_us = softmax.smx_ns_per_element * static_cast<double>(elements) * 1e-3;
        const double copy_us = m.copy_ns_per_element * static_cast<double>(elements) * 1e-3;
        if (json) {
          std::printf(
              "{\"op\": \"sample\", \"batch\": %lld, \"vocab\": %lld, \"filter\": \"%s\", "
              "\"threads\": %d, \"sample_us\": %.3f, \"softmax_us\": %.3f, \"copy_us\": %.3f}\n",
              static_cast<long long>(shape.batch), static_cast<long long>(shape.vocab), f.name, t,
              us, softmax_us, copy_us);
        } else {
          std::printf("%-7lld %-7lld %-10s %7d %11.1f %11.1f %9.2f %11.1f\n",
                      static_cast<long long>(shape.batch), static_cast<long long>(shape.vocab),
                      f.name, t, us, softmax_us, us / softmax_us, copy_us);
        }
      }
    }
  }
}

}  // namespace smx_cli
