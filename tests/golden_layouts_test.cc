// Every golden case again through other layouts: transposed ([K, rows] with axis = 0), in-place
// (y == x), and with 2 threads versus 1 (bitwise identical), on every SIMD target.
#include "golden.h"
#include "target_sweep.h"

namespace smx_test {
namespace {

class GoldenLayoutTest : public TargetTest {
 protected:
  template <typename T>
  void RunAll(GoldenLayout layout, const char* dtype) {
    const GoldenFile& g = Golden();
    ASSERT_TRUE(g.error.empty()) << g.error;
    std::size_t run = 0;
    for (const auto& c : g.cases) {
      if (c.dtype != dtype) continue;
      if (layout == GoldenLayout::kInPlace && c.op == Op::kLogSumExp) continue;
      ++run;
      EXPECT_TRUE(RunGoldenCase<T>(c, layout)) << "[" << target_name() << "]";
    }
    EXPECT_GT(run, 0u);
  }

  template <typename T>
  void RunThreads(const char* dtype) {
    const GoldenFile& g = Golden();
    ASSERT_TRUE(g.error.empty()) << g.error;
    const int saved = smx::get_num_threads();
    for (const auto& c : g.cases) {
      if (c.dtype != dtype) continue;
      std::vector<T> one, two;
      smx::set_num_threads(1);
      EXPECT_TRUE(RunGoldenCase<T>(c, GoldenLayout::kDirect, &one));
      smx::set_num_threads(2);
      EXPECT_TRUE(RunGoldenCase<T>(c, GoldenLayout::kDirect, &two));
      ASSERT_EQ(one.size(), two.size());
      EXPECT_TRUE(BitwiseEqual(c.id + " 1 vs 2 threads [" + target_name() + "]", one.data(),
                               two.data(), one.size()));
    }
    smx::set_num_threads(saved);
  }
};

TEST_P(GoldenLayoutTest, TransposedF32) { RunAll<float>(GoldenLayout::kTransposed, "f32"); }
TEST_P(GoldenLayoutTest, TransposedF64) { RunAll<double>(GoldenLayout::kTransposed, "f64"); }
TEST_P(GoldenLayoutTest, InPlaceF32) { RunAll<float>(GoldenLayout::kInPlace, "f32"); }
TEST_P(GoldenLayoutTest, InPlaceF64) { RunAll<double>(GoldenLayout::kInPlace, "f64"); }
TEST_P(GoldenLayoutTest, ThreadsF32) { RunThreads<float>("f32"); }
TEST_P(GoldenLayoutTest, ThreadsF64) { RunThreads<double>("f64"); }
SMX_INSTANTIATE_TARGETS(GoldenLayoutTest);

}  // namespace
}  // namespace smx_test
