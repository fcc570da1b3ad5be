// The target sweep itself: forcing a target through hwy::SetSupportedTargetsForTest must change
// what smx dispatches to, or every "per target" test below would silently test one target only.
#include "target_sweep.h"

#include <hwy/targets.h>

#include <cstdio>
#include <string>
#include <vector>

#include "test_util.h"

namespace smx_test {
namespace {

TEST(TargetSweep, ListsTheCompiledTargets) {
  const std::vector<std::string> compiled = smx::compiled_targets();
  std::printf("smx %s, compiled targets:", smx::version());
  for (const auto& name : compiled) std::printf(" %s", name.c_str());
  std::printf("\nhwy::SupportedTargets() = 0x%llx, targets under test:",
              static_cast<unsigned long long>(hwy::SupportedTargets()));
  const std::vector<std::int64_t> targets = TargetsUnderTest();
  for (std::int64_t t : targets) std::printf(" %s", TargetNameOf(t).c_str());
  std::printf("\n");
  ASSERT_FALSE(compiled.empty()) << "smx::compiled_targets() is empty";
  ASSERT_FALSE(targets.empty());
  EXPECT_NE(targets.front(), 0) << "no compiled target is supported by this CPU";
  // Every x86-64 CPU that runs this has at least SSSE3/SSE4 and a scalar fallback compiled in;
  // a sweep of one target would mean the sweep is not sweeping.
#if HWY_ARCH_X86
  EXPECT_GE(targets.size(), 2u);
#endif
}

TEST(TargetSweep, ForcingChangesSimdTarget) {
  const std::vector<std::int64_t> targets = TargetsUnderTest();
  std::vector<float> x = {2.0f, 1.0f, 0.5f}, y(3);
  for (std::int64_t t : targets) {
    if (t == 0) continue;
    ForceTarget(t);
    // Forcing resets Highway's chosen target; the next HWY_DYNAMIC_DISPATCH inside smx must
    // re-initialise it from the forced set (so smx does not cache a kernel chosen earlier).
    EXPECT_FALSE(hwy::GetChosenTarget().IsInitialized());
    ASSERT_TRUE(smx::softmax(std::span<const float>(x), std::span<float>(y)).ok());
    EXPECT_TRUE(hwy::GetChosenTarget().IsInitialized())
        << "smx::softmax did not go through HWY_DYNAMIC_DISPATCH after the target was forced";
    const std::string chosen = smx::simd_target();
    std::printf("forced %-8s -> smx::simd_target() = %s\n", TargetNameOf(t).c_str(),
                chosen.c_str());
    EXPECT_EQ(chosen, TargetNameOf(t)) << "forcing target " << TargetNameOf(t);
  }
  ForceTarget(0);
  ASSERT_TRUE(smx::softmax(std::span<const float>(x), std::span<float>(y)).ok());
  EXPECT_EQ(std::string(smx::simd_target()), TargetNameOf(targets.front()))
      << "after lifting the restriction, dispatch should pick the best target again";
}

// The fixture itself: SetUp has forced GetParam() by the time the body runs.
class TargetFixture : public TargetTest {};
TEST_P(TargetFixture, BodyRunsOnTheForcedTarget) {
  if (GetParam() == 0) GTEST_SKIP() << "no target list";
  EXPECT_EQ(std::string(smx::simd_target()), target_name());
}
SMX_INSTANTIATE_TARGETS(TargetFixture);

}  // namespace
}  // namespace smx_test
