// Run a test once per SIMD target: every target this CPU supports and smx was compiled for.
//
//   class MyTest : public smx_test::TargetTest {};
//   TEST_P(MyTest, Works) { ... smx::softmax(...) now dispatches to GetParam() ... }
//   SMX_INSTANTIATE_TARGETS(MyTest);
//
// The fixture restricts Highway's dispatch with hwy::SetSupportedTargetsForTest(target) in SetUp
// and lifts the restriction (mask 0) in TearDown. target_sweep_test.cc checks that the restriction
// really changes smx::simd_target().
#ifndef SMX_TESTS_TARGET_SWEEP_H_
#define SMX_TESTS_TARGET_SWEEP_H_

#include <gtest/gtest.h>

#include <cstdint>
#include <string>
#include <vector>

namespace smx_test {

// The Highway target bits (HWY_AVX3, HWY_AVX2, ..., HWY_SCALAR) to test, best first: those that
// hwy::SupportedTargets() reports for this CPU and whose names appear in smx::compiled_targets().
// If smx reports no compiled targets, falls back to the targets compiled into this test binary.
std::vector<std::int64_t> TargetsUnderTest();

// "AVX3", "AVX2", ... (hwy::TargetName).
std::string TargetNameOf(std::int64_t target);

// Restricts dispatch to `target` (0 lifts the restriction).
void ForceTarget(std::int64_t target);

class TargetTest : public ::testing::TestWithParam<std::int64_t> {
 protected:
  void SetUp() override;
  void TearDown() override;
  // The name of the target under test.
  std::string target_name() const { return TargetNameOf(GetParam()); }
  // "[AVX3]", for failure labels.
  std::string tag() const;
};

std::string TargetParamName(const ::testing::TestParamInfo<std::int64_t>& info);

}  // namespace smx_test

#define SMX_INSTANTIATE_TARGETS(suite)                                                          \
  INSTANTIATE_TEST_SUITE_P(Targets, suite, ::testing::ValuesIn(::smx_test::TargetsUnderTest()), \
                           ::smx_test::TargetParamName)

#endif  // SMX_TESTS_TARGET_SWEEP_H_
