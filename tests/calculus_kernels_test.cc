// The f32 rows kernel of softmax's backward called directly on every target, pipelined (each
// row's output pass, whole or its second half, in one loop with the next row's dot) against the
// same rows unpipelined: the pipelined loop must give the same bits, whatever the driver's choice
// on this CPU's L2. The unpipelined kernel is checked against the reference in calculus_test.cc.
#include <gtest/gtest.h>

#include <cmath>
#include <cstddef>
#include <cstdint>
#include <random>
#include <string>
#include <vector>

#include "calculus/kernels.h"
#include "target_sweep.h"
#include "test_util.h"

namespace smx_test {
namespace {

class CalculusRowsKernel : public TargetTest {};

// Lengths around the vector and the dot's step (4 f64 vectors), and around the dot's 65536-element
// chunks, whose ends the pipelined loop crosses with the output pass ahead of or behind the dot;
// dz on and 3 elements off a 64-byte line (where the streamed output starts after a head); rows at
// their own strides and packed; scaled (T = 0.7) and not; out of place and in place over g and
// over y.
TEST_P(CalculusRowsKernel, PipelinedRowsGiveTheSameBits) {
  const auto& kernels = smx::internal::GetCalculusKernels().f32;
  std::mt19937_64 rng(41);
  std::normal_distribution<float> normal(0, 2);
  std::uniform_real_distribution<float> uniform(0, 1);
  constexpr float kGuard = -12345.0f;
  for (const std::size_t n : {1, 15, 16, 17, 31, 32, 33, 100, 1000, 65535, 65536, 65537, 131109}) {
    for (const bool packed : {false, true}) {
      // packed: each array's rows follow one another, where a streamed dz off its lines is streamed
      // across the rows' ends (the block [1, 4) then has two such ends); only rows under 2 KiB
      // are, so longer ones are not packed here.
      if (packed && n * sizeof(float) >= 2048) continue;
      const std::size_t rows = packed ? 4 : 3, y_stride = packed ? n : n + 1,
                        g_stride = packed ? n : n + 2, dz_stride = packed ? n : n + 16;
      std::vector<float> y(rows * y_stride), g(rows * g_stride);
      for (const bool wide : {false, true}) {
        if (!wide) {
          for (float& v : y) v = uniform(rng) / static_cast<float>(n);
          for (float& v : g) v = normal(rng);
        } else {
          // Terms x ~ 2^20..2^40 beside -x and a term ~ 1, repeated: x and -x fall in different
          // lanes and accumulators, whose sums round at 2^-32..2^-12 before they cancel, so that
          // any other order of the dot's additions (its four accumulators, its tail, its chunks)
          // gives another <g, y> at a scale that dz = g - <g, y> shows.
          std::uniform_int_distribution<int> exponent(20, 40);
          for (float& v : y) v = 1;
          for (std::size_t i = 0; i < g.size(); ++i) {
            if (i % 3 == 0) g[i] = std::ldexp(1 + uniform(rng), exponent(rng)) * (i % 2 ? -1 : 1);
            if (i % 3 == 1) g[i] = -g[i - 1];
            if (i % 3 == 2) g[i] = normal(rng);
          }
        }
        for (const std::size_t offset : {0, 3}) {
          for (const bool stream : {false, true}) {
            for (const double scale : {1.0, 1 / 0.7}) {
              for (const char* in_place : {"", "g", "y"}) {
                const std::string label =
                    tag() + (wide ? " wide" : "") + (packed ? " packed" : "") +
                    " n=" + std::to_string(n) + " offset=" + std::to_string(offset) +
                    (stream ? " streamed" : "") + " scale=" + std::to_string(scale) +
                    " in place over " + in_place;
                // in place: dz is a copy of g (or y) at that array's stride, passed as both.
                const std::string over = in_place;
                const std::size_t stride = over == "g"   ? g_stride
                                           : over == "y" ? y_stride
                                                         : dz_stride;
                // Unpipelined, then pipelined from element 0 and from half the row.
                const std::size_t from[3] = {n, 0, n / 2};
                std::vector<float> out[3];
                for (int variant = 0; variant < 3; ++variant) {
                  // 64-byte aligned storage with a guard before dz and after its last row.
                  std::vector<float> storage(rows * stride + 64, kGuard);
                  auto* base = storage.data() + 16;
                  while (reinterpret_cast<std::uintptr_t>(base) % 64 != 0) ++base;
                  float* dz = base + offset;
                  std::vector<float> y_in = y, g_in = g;
                  for (std::size_t r = 0; r < rows && !over.empty(); ++r) {
                    const float* from = over == "g" ? &g[r * g_stride] : &y[r * y_stride];
                    std::copy(from, from + n, dz + r * stride);
                  }
                  smx::internal::BackwardRows<float> block{over == "y" ? dz : y_in.data(),
                                                           over == "g" ? dz : g_in.data(),
                                                           dz,
                                                           static_cast<std::ptrdiff_t>(y_stride),
                                                           static_cast<std::ptrdiff_t>(g_stride),
                                                           static_cast<std::ptrdiff_t>(stride),
                                                           n};
                  block.stream = stream;
                  block.pipeline_from = from[variant];
                  // Rows [0, 1) and [1, rows) in two calls: a range that starts past row 0.
                  kernels.softmax_backward_rows(block, 0, 1, scale);
                  kernels.softmax_backward_rows(block, 1, rows, scale);
                  EXPECT_EQ(dz[-1], kGuard) << label << ": wrote before dz";
                  EXPECT_EQ(dz[(rows - 1) * stride + n], kGuard) << label << ": wrote past dz";
                  for (std::size_t r = 0; r < rows; ++r) {
                    out[variant].insert(out[variant].end(), dz + r * stride, dz + r * stride + n);
                  }
                }
                for (int variant = 1; variant < 3; ++variant) {
                  ASSERT_TRUE(BitwiseEqual(
                      label + ", pipelined from " + std::to_string(from[variant]) + " vs not",
                      out[variant].data(), out[0].data(), out[0].size()));
                }
              }
            }
          }
        }
      }
    }
  }
}

SMX_INSTANTIATE_TARGETS(CalculusRowsKernel);

}  // namespace
}  // namespace smx_test
