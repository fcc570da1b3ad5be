// The walk of sampling's inverse CDF, called directly on every target where rounding decides:
// the token-by-token sum of the crossing block falls short of its vector sum, or the target
// reaches the total. The token chosen is then the last counted one with e > 0, never a token of
// zero probability after it.
#include <gtest/gtest.h>

#include <cmath>
#include <cstdint>
#include <limits>
#include <vector>

#include "sampling/kernels.h"
#include "target_sweep.h"

namespace smx_test {
namespace {

class SamplingWalkTest : public TargetTest {};

TEST_P(SamplingWalkTest, RoundingFallsBackToTheLastPositiveToken) {
  const auto& k = smx::internal::GetSamplingKernels().f32;
  // e = [1, 2^-53 x 300, 0 x 211]: token by token the sum stays 1 (1 + 2^-53 rounds to even), in
  // f64 lanes the small terms add up apart first, so the block sums to more than 1.
  std::vector<float> x(512, 0.0f), e(512, 0.0f);
  e[0] = 1;
  for (int i = 1; i <= 300; ++i) e[static_cast<std::size_t>(i)] = std::ldexp(1.0f, -53);
  smx::internal::TokenFilter<float> all;
  EXPECT_EQ(k.walk(x.data(), e.data(), 512, all, 1.0), 300) << tag();
  EXPECT_EQ(k.walk(x.data(), e.data(), 512, all, 0.5), 0) << tag();
  // A target at or past the total: the last positive token of the row, here in a later block.
  std::vector<float> x2(2000, 0.0f), e2(2000, 0.0f);
  e2[3] = 0.25f;
  e2[1500] = 0.5f;
  x2[1999] = -std::numeric_limits<float>::infinity();
  EXPECT_EQ(k.walk(x2.data(), e2.data(), 2000, all, 0.75), 1500) << tag();
  EXPECT_EQ(k.walk(x2.data(), e2.data(), 2000, all, 2.0), 1500) << tag();
  EXPECT_EQ(k.walk(x2.data(), e2.data(), 2000, all, 0.1), 3) << tag();
  // Counted tokens only: with min_e above 0.25, token 3 is skipped.
  smx::internal::TokenFilter<float> min_e;
  min_e.min_e = 0.3f;
  EXPECT_EQ(k.walk(x2.data(), e2.data(), 2000, min_e, 0.1), 1500) << tag();
  // Nothing counted: -1.
  min_e.min_e = 0.75f;
  EXPECT_EQ(k.walk(x2.data(), e2.data(), 2000, min_e, 0.1), -1) << tag();
}

SMX_INSTANTIATE_TARGETS(SamplingWalkTest);

}  // namespace
}  // namespace smx_test
