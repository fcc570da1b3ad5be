// The losses on 1 and 2 threads: the same bits, for short rows split over the threads by rows
// and long rows split by chunks, against the long-double reference.
#include <algorithm>
#include <cmath>
#include <random>
#include <string>
#include <vector>

#include "cross_entropy_harness.h"
#include "smx/losses.h"
#include "smx/runtime.h"
#include "test_util.h"

namespace smx_test {
namespace {

TEST(LossThreads, SameBitsForAnyThreadCount) {
  std::mt19937_64 rng(9);
  const std::size_t n = 1024, c = 1000;
  const std::vector<float> z = RandomNormal<float>(rng, n * c, 0, 3);
  std::vector<std::int64_t> target(n);
  for (auto& t : target) t = static_cast<std::int64_t>(rng() % c);
  CeSpec spec;
  spec.smoothing = 0.1;
  const int saved = smx::get_num_threads();
  smx::set_num_threads(1);
  const CeResult<float> one = RunCrossEntropy<float>(z, n, c, target, spec, GradMode::kOutOfPlace);
  smx::set_num_threads(2);
  const CeResult<float> two = RunCrossEntropy<float>(z, n, c, target, spec, GradMode::kOutOfPlace);
  smx::set_num_threads(saved);
  EXPECT_TRUE(BitwiseEqual("loss 1 vs 2 threads", one.loss.data(), two.loss.data(), 1));
  EXPECT_TRUE(
      BitwiseEqual("grad 1 vs 2 threads", one.grad.data(), two.grad.data(), one.grad.size()));
}

// sum and mean add fixed blocks of rows (LossWriter::kRowsPerBlock, 1024), each on a thread that
// has all of it; a block split between threads is added at the end. Row counts that split blocks
// at 2 and 3 threads give the bits of 1 thread and the reference's sum; none gives every row.
TEST(LossThreads, ReductionsOverBlocksSplitBetweenThreads) {
  std::mt19937_64 rng(23);
  const std::size_t c = 37;
  for (const std::size_t n : {std::size_t(1023), std::size_t(3 * 1024 + 517)}) {
    const std::vector<double> z = RandomNormal<double>(rng, n * c, 0, 3);
    std::vector<std::int64_t> target(n);
    for (auto& t : target) t = static_cast<std::int64_t>(rng() % c);
    std::vector<ld> want_loss, want_grad;
    CeSpec ref_spec;
    ref_spec.reduction = smx::Reduction::kNone;
    CrossEntropyRef(WidenT(z), n, c, target, ref_spec, want_loss, want_grad);
    ld want_sum = 0;
    for (const ld v : want_loss) want_sum += v;
    for (const smx::Reduction reduction :
         {smx::Reduction::kNone, smx::Reduction::kSum, smx::Reduction::kMean}) {
      CeSpec spec;
      spec.reduction = reduction;
      const std::string label = "N=" + std::to_string(n) + " " + smx::reduction_name(reduction);
      const int saved = smx::get_num_threads();
      std::vector<CeResult<double>> runs;
      for (const int threads : {1, 2, 3}) {
        smx::set_num_threads(threads);
        runs.push_back(RunCrossEntropy<double>(z, n, c, target, spec, GradMode::kNone));
        ASSERT_TRUE(runs.back().status.ok()) << label;
      }
      smx::set_num_threads(saved);
      for (std::size_t i = 1; i < runs.size(); ++i) {
        EXPECT_TRUE(BitwiseEqual(label + " loss, 1 vs " + std::to_string(i + 1) + " threads",
                                 runs[0].loss.data(), runs[i].loss.data(), runs[0].loss.size()));
      }
      if (reduction == smx::Reduction::kNone) {
        EXPECT_TRUE(MatchesRel(label, runs[0].loss, want_loss, 1e-13, 0));
      } else {
        const ld want = reduction == smx::Reduction::kSum ? want_sum : want_sum / n;
        EXPECT_NEAR(runs[0].loss[0], static_cast<double>(want), 1e-13 * static_cast<double>(want))
            << label;
      }
    }
  }
}

// Rows longer than one chunk (LossChunkLength: 16384 f32, 8192 f64 elements) run chunk by chunk,
// and with fewer rows than threads each row's chunks go over the threads: the same bits for 1 and
// 2 threads, and the reference's values, for every option, in place and for the loss alone, with
// a confident row (its target the max, its loss ~1e-6: the split sum) and rows whose max is
// outside the shift-0 range.
template <typename T>
void CheckLongRows() {
  std::mt19937_64 rng(17 + sizeof(T));
  const std::size_t c = 3 * LossChunk<T>() + 101;
  for (const std::size_t n : {std::size_t(1), std::size_t(3)}) {
    for (int variant = 0; variant < 4; ++variant) {
      std::vector<T> z = RandomNormal<T>(rng, n * c, variant == 3 ? 80.0 : 0.5, 3);
      std::vector<std::int64_t> target(n);
      for (auto& t : target) t = static_cast<std::int64_t>(rng() % c);
      if (variant == 2) {  // confident: the target 30 above every other entry
        for (std::size_t r = 0; r < n; ++r) z[r * c + target[r]] = 40;
      }
      CeSpec spec;
      spec.reduction = smx::Reduction::kNone;
      if (variant == 1) {
        spec.smoothing = 0.1;
        spec.weight = RandomUniform<double>(rng, c, 0.25, 2.0);
        for (auto& v : spec.weight) v = static_cast<T>(v);
      }
      std::vector<ld> want_loss, want_grad;
      CrossEntropyRef(WidenT(z), n, c, target, spec, want_loss, want_grad);
      const std::string label = std::string(Elem<T>::kName) + " N=" + std::to_string(n) +
                                " C=" + std::to_string(c) + " variant " + std::to_string(variant);
      const double rel = sizeof(T) == 4 ? 2e-6 : 2e-14;
      for (const GradMode mode : {GradMode::kOutOfPlace, GradMode::kInPlace, GradMode::kNone}) {
        const int saved = smx::get_num_threads();
        smx::set_num_threads(1);
        const CeResult<T> one = RunCrossEntropy<T>(z, n, c, target, spec, mode);
        smx::set_num_threads(2);
        const CeResult<T> two = RunCrossEntropy<T>(z, n, c, target, spec, mode);
        smx::set_num_threads(saved);
        ASSERT_TRUE(one.status.ok() && two.status.ok()) << label;
        EXPECT_TRUE(BitwiseEqual(label + " loss, 1 vs 2 threads", one.loss.data(), two.loss.data(),
                                 one.loss.size()));
        EXPECT_TRUE(MatchesRel(label + " loss", two.loss, want_loss, rel, 0));
        if (mode == GradMode::kNone) continue;
        EXPECT_TRUE(BitwiseEqual(label + " grad, 1 vs 2 threads", one.grad.data(), two.grad.data(),
                                 one.grad.size()));
        EXPECT_TRUE(
            MatchesRel(label + " grad", two.grad, want_grad, rel, sizeof(T) == 4 ? 1e-12 : 1e-20));
      }
    }
  }
}

// A row of more than 256 chunks of 16384, whose chunks grow so that their sums fit the kernel's
// stack arrays (kMaxLossChunks): the loss against a double reference, 1 and 2 threads alike.
TEST(LossThreads, RowOfMoreThanTheMostChunks) {
  std::mt19937_64 rng(23);
  const std::size_t c = 256 * 16384 + 4097;
  const std::vector<float> z = RandomNormal<float>(rng, c, 0.0, 2.0);
  const std::vector<std::int64_t> target = {12345};
  double m = z[0];
  for (const float v : z) m = std::max(m, static_cast<double>(v));
  double sum = 0;
  for (const float v : z) sum += std::exp(static_cast<double>(v) - m);
  const std::vector<ld> want = {static_cast<ld>(m + std::log(sum) - z[12345])};
  CeSpec spec;
  spec.reduction = smx::Reduction::kSum;
  const int saved = smx::get_num_threads();
  smx::set_num_threads(1);
  const CeResult<float> one = RunCrossEntropy<float>(z, 1, c, target, spec, GradMode::kInPlace);
  smx::set_num_threads(2);
  const CeResult<float> two = RunCrossEntropy<float>(z, 1, c, target, spec, GradMode::kInPlace);
  smx::set_num_threads(saved);
  ASSERT_TRUE(one.status.ok() && two.status.ok());
  EXPECT_TRUE(BitwiseEqual("loss, 1 vs 2 threads", one.loss.data(), two.loss.data(), 1));
  EXPECT_TRUE(BitwiseEqual("grad, 1 vs 2 threads", one.grad.data(), two.grad.data(), c));
  EXPECT_TRUE(MatchesRel("loss", two.loss, want, 1e-6, 0));
}

TEST(LossThreads, LongRowsF32) { CheckLongRows<float>(); }
TEST(LossThreads, LongRowsF64) { CheckLongRows<double>(); }

}  // namespace
}  // namespace smx_test
