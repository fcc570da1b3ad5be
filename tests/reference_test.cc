// The test-side reference and the 16-bit rounding helpers checked against values known by hand,
// so that a bug in the tests' own arithmetic cannot pass for a library bug (or hide one).
// (golden_test.cc checks the reference against every golden case as well.)
#include <cmath>

#include "test_util.h"

namespace smx_test {
namespace {

TEST(Reference, SmallRowsByHand) {
  const ld z[3] = {0, 0, 0};
  ld p[3], lp[3];
  ReferenceSoftmaxRow(z, 3, 1.0, p, lp);
  for (int i = 0; i < 3; ++i) {
    EXPECT_EQ(p[i], 1.0L / 3);
    // (within a long-double ulp: GCC folds the constant with MPFR, glibc's logl may differ by 1)
    EXPECT_NEAR(static_cast<double>((lp[i] + std::log(3.0L)) * 1e18L), 0.0, 1.0);
  }
  const ld w[2] = {1, 0};
  ReferenceSoftmaxRow(w, 2, 1.0, p, lp);
  EXPECT_NEAR(static_cast<double>(p[0]), 1 / (1 + std::exp(-1.0)), 1e-16);
  EXPECT_NEAR(static_cast<double>(lp[1]), -std::log1p(std::exp(1.0)), 1e-15);
  EXPECT_NEAR(static_cast<double>(ReferenceLogSumExpRow(w, 2)), std::log1p(std::exp(1.0)), 1e-15);
  // Temperature divides before the exponential: softmax([1, 0] / 2).
  ReferenceSoftmaxRow(w, 2, 2.0, p, nullptr);
  EXPECT_NEAR(static_cast<double>(p[0]), 1 / (1 + std::exp(-0.5)), 1e-16);
}

TEST(Reference, LimitsAndSpecials) {
  const ld inf = std::numeric_limits<ld>::infinity();
  const ld z[4] = {3, -inf, 3, 1};
  ld p[4], lp[4];
  ReferenceSoftmaxRow(z, 4, 0.0, p, lp);  // hardmax: two max entries
  EXPECT_EQ(p[0], 0.5L);
  EXPECT_EQ(p[1], 0.0L);
  EXPECT_EQ(p[3], 0.0L);
  EXPECT_NEAR(static_cast<double>((lp[2] + std::log(2.0L)) * 1e18L), 0.0, 1.0);
  EXPECT_EQ(lp[3], -inf);
  ReferenceSoftmaxRow(z, 4, kInf, p, lp);  // uniform over the 3 finite entries
  EXPECT_EQ(p[3], 1.0L / 3);
  EXPECT_EQ(p[1], 0.0L);
  EXPECT_EQ(lp[1], -inf);
  const ld masked[2] = {-inf, -inf};
  ReferenceSoftmaxRow(masked, 2, 1.0, p, lp);
  EXPECT_EQ(p[0], 0.0L);
  EXPECT_EQ(lp[1], -inf);
  EXPECT_EQ(ReferenceLogSumExpRow(masked, 2), -inf);
  EXPECT_EQ(ReferenceLogSumExpRow(masked, 0), -inf);
  const ld with_inf[3] = {1, inf, -inf};
  ReferenceSoftmaxRow(with_inf, 3, 1.0, p, lp);
  EXPECT_TRUE(std::isnan(p[0]) && std::isnan(lp[2]));
  EXPECT_EQ(ReferenceLogSumExpRow(with_inf, 3), inf);
  const ld with_nan[3] = {1, inf, std::numeric_limits<ld>::quiet_NaN()};
  EXPECT_TRUE(std::isnan(ReferenceLogSumExpRow(with_nan, 3)));
}

TEST(Reference, DominantEntryKeepsItsTinyLogProbability) {
  // log_softmax of the max entry of [40, 0] is -log1p(e^-40) = -4.248354255291589e-18.
  const ld z[2] = {40, 0};
  ld lp[2];
  ReferenceSoftmaxRow(z, 2, 1.0, nullptr, lp);
  EXPECT_EQ(static_cast<double>(lp[0]), -std::log1p(std::exp(-40.0)));
  EXPECT_LT(lp[0], 0.0L);
}

TEST(Reference, ShiftCarriesTheResidual) {
  // (z - m)/T for T = 1e-3 and z, m ~ 1e4 is not exact in long double; the residual keeps the
  // exponential right. Compare two ways of computing exp(-(1/1024)/1e-3): 2^-10 and 1e-3 differ,
  // so d = -0.9765625 / 1.0000000000000000208e-3 in the exact double T.
  const double t = 1e-3;
  const ld z[2] = {10000.0L, 10000.0L - 1.0L / 1024};
  ld p[2];
  ReferenceSoftmaxRow(z, 2, t, p, nullptr);
  const ld d = -(1.0L / 1024) / static_cast<ld>(t);
  EXPECT_NEAR(static_cast<double>(p[1] / p[0]), static_cast<double>(std::exp(d)), 1e-16);
}

TEST(Reference, SixteenBitRounding) {
  EXPECT_EQ(RoundToF16Bits(1.0L), 0x3C00);
  EXPECT_EQ(RoundToF16Bits(-2.0L), 0xC000);
  EXPECT_EQ(RoundToF16Bits(65504.0L), 0x7BFF);
  EXPECT_EQ(RoundToF16Bits(65519.99L), 0x7BFF);
  EXPECT_EQ(RoundToF16Bits(65520.0L), 0x7C00);               // halfway to 2^16 ties to even = inf
  EXPECT_EQ(RoundToF16Bits(std::ldexp(1.0L, -24)), 0x0001);  // smallest subnormal
  EXPECT_EQ(RoundToF16Bits(std::ldexp(1.0L, -25)), 0x0000);  // halfway to 0: ties to even
  EXPECT_EQ(RoundToF16Bits(std::ldexp(1.5L, -25)), 0x0001);
  EXPECT_EQ(RoundToF16Bits(1.0L + std::ldexp(1.0L, -11)), 0x3C00);  // tie -> even
  EXPECT_EQ(RoundToF16Bits(1.0L + std::ldexp(3.0L, -11)), 0x3C02);  // tie -> even (up)
  EXPECT_EQ(RoundToF16Bits(std::numeric_limits<ld>::quiet_NaN()) & 0x7E00, 0x7E00);
  EXPECT_EQ(F16Value(0x3555), 0.333251953125L);
  EXPECT_EQ(RoundToBF16Bits(1.0L), 0x3F80);
  EXPECT_EQ(RoundToBF16Bits(1.0L + std::ldexp(1.0L, -8)), 0x3F80);  // tie -> even
  EXPECT_EQ(RoundToBF16Bits(1.0L + std::ldexp(3.0L, -8)), 0x3F82);
  EXPECT_EQ(BF16Value(0x7F7F), static_cast<ld>(std::ldexp(255.0f, 120)));
  EXPECT_EQ(RoundToBF16Bits(std::ldexp(1.0L, 128)), 0x7F80);
  EXPECT_EQ(RoundToBF16Bits(-std::numeric_limits<ld>::infinity()), 0xFF80);
}

TEST(Reference, UlpDistanceAndMatching) {
  EXPECT_EQ(UlpDistance(1.0f, std::nextafter(1.0f, 2.0f)), 1);
  EXPECT_EQ(UlpDistance(0.0f, -0.0f), 0);
  EXPECT_EQ(UlpDistance(-std::numeric_limits<float>::denorm_min(),
                        std::numeric_limits<float>::denorm_min()),
            2);
  std::int64_t d;
  EXPECT_TRUE(ElementMatches(1.0f, 1.0L + 4 * std::ldexp(1.0L, -23), 4, 0, &d));
  EXPECT_FALSE(ElementMatches(1.0f, 1.0L + 5 * std::ldexp(1.0L, -23), 4, 0, &d));
  EXPECT_EQ(d, 5);
  EXPECT_TRUE(ElementMatches(0.0f, 1e-38L, 4, 0, &d));   // below 2^-126 and within 1e-37
  EXPECT_FALSE(ElementMatches(0.0f, 5e-38L, 4, 0, &d));  // a normal float: ULP rule only
  EXPECT_TRUE(ElementMatches(1e-38f, 0.0L, 4, 0, &d));   // a zero truth: the abs rule
  EXPECT_FALSE(ElementMatches(0.0, 1e-300L, 8, 0, &d));  // no abs rule for f64
  EXPECT_FALSE(ElementMatches(1.0f, std::numeric_limits<ld>::quiet_NaN(), 4, 0, &d));
  EXPECT_TRUE(ElementMatches(std::nanf(""), std::numeric_limits<ld>::quiet_NaN(), 4, 0, &d));
  EXPECT_FALSE(ElementMatches(std::numeric_limits<float>::infinity(), 1.0L, 4, 0, &d));
  EXPECT_FALSE(ElementMatches(-std::numeric_limits<double>::infinity(),
                              std::numeric_limits<ld>::infinity(), 8, 0, &d));
  EXPECT_TRUE(ElementMatches(smx::float16{0x3C01}, 1.0L, 1, 0, &d));
  EXPECT_FALSE(ElementMatches(smx::float16{0x3C02}, 1.0L, 1, 0, &d));
}

}  // namespace
}  // namespace smx_test
