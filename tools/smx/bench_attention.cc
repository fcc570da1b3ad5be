// smx bench --op attention: scaled dot-product attention in GFLOP/s, forward and forward +
// backward, with the extra heap the forward pass takes beside its inputs.
#include "bench_attention.h"

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <functional>
#include <string>
#include <vector>

#include "bench_core.h"
#include "cli_error.h"
#include "heap_tracker.h"
#include "numbers.h"
#include "smx/attention.h"
#include "smx/runtime.h"

namespace smx_cli {
namespace {

constexpr std::int64_t kHeads = 16;  // B H of the training shapes

double SecondsOf(const std::function<void()>& run, int reps) {
  run();  // warm up: the tiles and the threads
  std::vector<double> seconds;
  for (int r = 0; r < reps; ++r) {
    const auto start = std::chrono::steady_clock::now();
    run();
    seconds.push_back(
        std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count());
  }
  std::sort(seconds.begin(), seconds.end());
  return seconds[seconds.size() / 2];
}

void Check(const smx::Status& status) {
  if (!status.ok()) throw RuntimeError(status.message());
}

}  // namespace

void RunAttentionBench(const std::vector<AttentionShape>& shapes, const std::vector<int>& threads,
                       int reps, bool json) {
  if (!json) {
    std::printf("smx %s bench: attention, f32, [1, %lld, L, d] q, k, v, SIMD target %s\n",
                smx::version(), static_cast<long long>(kHeads), smx::simd_target());
    std::printf(
        "GFLOP/s: forward 4 L^2 d per head (half causal), forward + backward 3.5 times that;\n"
        "extra heap: the forward pass's peak, and over its inputs and output\n\n");
    std::printf("%-6s %-4s %-7s %7s %13s %17s %12s %9s\n", "L", "d", "causal", "threads",
                "fwd GFLOP/s", "fwd+bwd GFLOP/s", "extra heap", "/ inputs");
  }
  for (const AttentionShape& shape : shapes) {
    const std::int64_t n = kHeads * shape.length * shape.dim;
    AlignedFloats q(static_cast<std::size_t>(n)), k(q.size()), v(q.size()), g(q.size());
    AlignedFloats out(q.size()), dq(q.size()), dk(q.size()), dv(q.size());
    AlignedFloats lse(static_cast<std::size_t>(kHeads * shape.length));
    FillNormal(q.span(), 1.0, 1);
    FillNormal(k.span(), 1.0, 2);
    FillNormal(v.span(), 1.0, 3);
    FillNormal(g.span(), 1.0, 4);
    const std::int64_t dims[4] = {1, kHeads, shape.length, shape.dim};
    const std::int64_t lse_dims[3] = {1, kHeads, shape.length};
    const smx::Layout layout = smx::Layout::Contiguous(dims);
    const smx::Layout lse_layout = smx::Layout::Contiguous(lse_dims);
    auto in = [&](const AlignedFloats& a) {
      return smx::ConstTensorRef(a.data(), smx::DType::kF32, layout);
    };
    auto mut = [&](const AlignedFloats& a) {
      return smx::TensorRef{a.data(), smx::DType::kF32, layout};
    };
    const smx::TensorRef lse_ref{lse.data(), smx::DType::kF32, lse_layout};
    for (bool causal : {false, true}) {
      smx::AttentionOptions options;
      options.is_causal = causal;
      const double flops = 4.0 * static_cast<double>(kHeads) * static_cast<double>(shape.length) *
                           static_cast<double>(shape.length) * static_cast<double>(shape.dim) *
                           (causal ? 0.5 : 1.0);
      auto forward = [&] {
        Check(smx::scaled_dot_product_attention(in(q), in(k), in(v), mut(out), lse_ref, options));
      };
      auto backward = [&] {
        Check(smx::scaled_dot_product_attention_backward(in(g), in(q), in(k), in(v), in(out),
                                                         smx::ConstTensorRef(lse_ref), mut(dq),
                                                         mut(dk), mut(dv), options));
      };
      for (int t : threads) {
        smx::set_num_threads(t);
        const std::size_t heap = PeakHeapBytesDuring(forward);
        const int r = shape.length >= 8192 ? 1 : reps;
        const double fwd = SecondsOf(forward, r);
        const double bwd = SecondsOf(backward, r);
        const double fwd_gflops = flops / fwd / 1e9, both_gflops = 3.5 * flops / (fwd + bwd) / 1e9;
        const double io_bytes = 4.0 * static_cast<double>(n) * sizeof(float);
        if (json) {
          std::printf(
              "{\"op\":\"attention\",\"L\":%lld,\"d\":%lld,\"causal\":%s,\"threads\":%d,"
              "\"fwd_gflops\":%s,\"fwd_bwd_gflops\":%s,\"extra_heap_bytes\":%zu,\"reps\":%d,"
              "\"simd_target\":\"%s\"}\n",
              static_cast<long long>(shape.length), static_cast<long long>(shape.dim),
              causal ? "true" : "false", t, FormatNumber(fwd_gflops, smx::DType::kF64, 4).c_str(),
              FormatNumber(both_gflops, smx::DType::kF64, 4).c_str(), heap, r, smx::simd_target());
        } else {
          std::printf("%-6lld %-4lld %-7s %7d %13.1f %17.1f %10.1fMB %9.3f\n",
                      static_cast<long long>(shape.length), static_cast<long long>(shape.dim),
                      causal ? "yes" : "no", t, fwd_gflops, both_gflops,
                      static_cast<double>(heap) / (1 << 20), static_cast<double>(heap) / io_bytes);
        }
        std::fflush(stdout);
      }
    }
  }
}

}  // namespace smx_cli
