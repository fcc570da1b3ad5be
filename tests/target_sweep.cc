#include "target_sweep.h"

#include <hwy/targets.h>

#include <algorithm>
#include <cstdio>

#include "smx/runtime.h"

namespace smx_test {

std::vector<std::int64_t> TargetsUnderTest() {
  hwy::SetSupportedTargetsForTest(0);
  const std::int64_t supported = hwy::SupportedTargets();
  const std::vector<std::string> compiled = smx::compiled_targets();
  std::vector<std::int64_t> targets;
  // Lowest bit first = best target first (Highway orders its bits that way).
  for (std::int64_t bits = supported; bits != 0; bits &= bits - 1) {
    const std::int64_t target = bits & ~(bits - 1);
    const std::string name = hwy::TargetName(target);
    if (compiled.empty()) {
      if (target & HWY_TARGETS) targets.push_back(target);
    } else if (std::find(compiled.begin(), compiled.end(), name) != compiled.end()) {
      targets.push_back(target);
    }
  }
  if (targets.empty()) {
    // Never run zero instances silently: the sweep test reports the empty list as a failure, and
    // the numeric tests still run once on whatever dispatch picks.
    targets.push_back(0);
  }
  return targets;
}

std::string TargetNameOf(std::int64_t target) {
  return target == 0 ? std::string("Default") : std::string(hwy::TargetName(target));
}

void ForceTarget(std::int64_t target) { hwy::SetSupportedTargetsForTest(target); }

void TargetTest::SetUp() {
  ForceTarget(GetParam());
  const char* chosen = smx::simd_target();
  RecordProperty("simd_target", chosen);
  std::printf("[ target   ] %s (smx::simd_target() = %s)\n", TargetNameOf(GetParam()).c_str(),
              chosen);
}

std::string TargetTest::tag() const {
  std::string s = "[";
  s += target_name();
  s += ']';
  return s;
}

void TargetTest::TearDown() { ForceTarget(0); }

std::string TargetParamName(const ::testing::TestParamInfo<std::int64_t>& info) {
  return TargetNameOf(info.param);
}

}  // namespace smx_test
