// Every golden case of softmax, log_softmax and logsumexp, in f32 and f64, on every SIMD target,
// compared element by element with FORMAT.md's rules (f32 4 ULP or 1e-37 below 2^-126, f64 8 ULP,
// NaN/inf exactly).
#include "golden.h"

#include <cstdio>

#include "target_sweep.h"

namespace smx_test {
namespace {

TEST(Golden, FileLoadsAndHasTheCases) {
  const GoldenFile& g = Golden();
  ASSERT_TRUE(g.error.empty()) << g.error;  // a missing file is a failure, not a skip
  std::printf("%s: %zu cases, %zu run here (softmax, log_softmax, logsumexp), %zu by "
              "smx_sigmoid_test (sigmoid, log_sigmoid)\n",
              g.path.c_str(), g.total, g.cases.size(), g.elementwise.size());
  std::size_t not_run = 0;
  for (const auto& [op, count] : g.not_run) {
    std::printf("  not run here (later work): %-20s %zu\n", op.c_str(), count);
    not_run += count;
  }
  std::printf("  %zu cases not run\n", not_run);
  for (Op op : kAllOps) {
    for (const char* dtype : {"f32", "f64"}) {
      std::size_t count = 0;
      for (const auto& c : g.cases) count += (c.op == op && c.dtype == dtype);
      EXPECT_GT(count, 0u) << "no golden case for " << OpName(op) << " " << dtype;
    }
  }
  for (const auto& c : g.cases) {
    EXPECT_EQ(c.ulp, c.dtype == "f32" ? 4 : 8) << c.id << ": tolerance differs from the contract";
  }
}

// The long-double reference of reference.h against the golden truth: this is what makes the
// reference-based sweeps trustworthy. f64: within 1 ULP (plus the logsumexp cancellation bound);
// f32: within 0 ULP after rounding to float, except exact float32 halfway points, which the
// long double -> float rounding cannot see (1 ULP).
TEST(Golden, ReferenceAgreesWithGolden) {
  const GoldenFile& g = Golden();
  ASSERT_TRUE(g.error.empty()) << g.error;
  for (const auto& c : g.cases) {
    std::vector<ld> z(c.z.begin(), c.z.end());
    std::vector<ld> err;
    const std::vector<ld> ref = ReferenceRows(c.op, z, c.rows, c.k, c.temperature, &err);
    ASSERT_EQ(ref.size(), c.expected.size()) << c.id;
    std::vector<double> ref64(ref.begin(), ref.end());
    std::vector<ld> want(c.expected.begin(), c.expected.end());
    EXPECT_TRUE(MatchesReference(c.id + " (reference, f64)", ref64.data(), want.data(), want.size(),
                                 1, err.data()));
    if (c.dtype == "f32") {
      std::vector<float> ref32(ref.begin(), ref.end());
      EXPECT_TRUE(
          MatchesReference(c.id + " (reference, f32)", ref32.data(), want.data(), want.size(), 1));
    }
  }
}

class GoldenTest : public TargetTest {
 protected:
  template <typename T>
  void RunAll(Op op, const char* dtype) {
    const GoldenFile& g = Golden();
    ASSERT_TRUE(g.error.empty()) << g.error;
    std::size_t run = 0, failed = 0;
    for (const auto& c : g.cases) {
      if (c.op != op || c.dtype != dtype) continue;
      ++run;
      const auto r = RunGoldenCase<T>(c, GoldenLayout::kDirect);
      if (!r) ++failed;
      EXPECT_TRUE(r) << "[" << target_name() << "]";
    }
    std::printf("[%s] %s %s: %zu golden cases, %zu failed\n", target_name().c_str(), OpName(op),
                dtype, run, failed);
    EXPECT_GT(run, 0u);
  }
};

TEST_P(GoldenTest, SoftmaxF32) { RunAll<float>(Op::kSoftmax, "f32"); }
TEST_P(GoldenTest, SoftmaxF64) { RunAll<double>(Op::kSoftmax, "f64"); }
TEST_P(GoldenTest, LogSoftmaxF32) { RunAll<float>(Op::kLogSoftmax, "f32"); }
TEST_P(GoldenTest, LogSoftmaxF64) { RunAll<double>(Op::kLogSoftmax, "f64"); }
TEST_P(GoldenTest, LogSumExpF32) { RunAll<float>(Op::kLogSumExp, "f32"); }
TEST_P(GoldenTest, LogSumExpF64) { RunAll<double>(Op::kLogSumExp, "f64"); }
SMX_INSTANTIATE_TARGETS(GoldenTest);

}  // namespace
}  // namespace smx_test
