// The f64 exp and log1p of the group logs (src/softmax/wide_log-inl.h) against long double, on
// every SIMD target: their contracts (relative error < 1e-13 over the documented domains) are
// what keeps log_softmax and logsumexp of f32 data exact, so they are checked directly, at the
// edges the row sums reach (exactly 0, tiny, the range-reduction boundaries, huge) and between.
#include <cmath>
#include <cstddef>
#include <limits>
#include <random>
#include <vector>

#undef HWY_TARGET_INCLUDE
#define HWY_TARGET_INCLUDE "wide_log_test.cc"
#include "hwy/foreach_target.h"  // IWYU pragma: keep
#include "hwy/highway.h"
#include "hwy/tests/hwy_gtest.h"
#include "softmax/wide_log-inl.h"

HWY_BEFORE_NAMESPACE();
namespace smx_test::HWY_NAMESPACE {
namespace hn = hwy::HWY_NAMESPACE;

// Applies f to every element of `in` (padded to whole vectors with `pad`), one vector at a time.
template <class F>
std::vector<double> Apply(const std::vector<double>& in, double pad, F f) {
  const hn::ScalableTag<double> d;
  const std::size_t lanes = hn::Lanes(d);
  std::vector<double> padded(in);
  padded.resize((in.size() + lanes - 1) / lanes * lanes, pad);
  std::vector<double> out(padded.size());
  for (std::size_t i = 0; i < padded.size(); i += lanes) {
    hn::StoreU(f(d, hn::LoadU(d, padded.data() + i)), d, out.data() + i);
  }
  out.resize(in.size());
  return out;
}

double RelativeError(double got, long double want) {
  if (want == 0) return got == 0 ? 0 : std::numeric_limits<double>::infinity();
  return static_cast<double>(std::fabs((static_cast<long double>(got) - want) / want));
}

void TestExpOfNonPositive() {
  std::vector<double> t = {0.0,         -0.0,        -5e-324, -1e-300,     -1e-16, -1e-8, -0.1,
                           -0.34657359, -0.34657360, -0.5,    -0.69314718, -1,     -10,   -59.99,
                           -60,         -87.3,       -100,    -500,        -699.9, -700};
  std::mt19937_64 rng(7);
  std::uniform_real_distribution<double> wide(-700, 0), near(-2, 0);
  for (int i = 0; i < 2000; ++i) t.push_back(wide(rng));
  for (int i = 0; i < 2000; ++i) t.push_back(near(rng));
  const auto got = Apply(
      t, 0.0, [](auto d, auto v) HWY_ATTR { return smx::HWY_NAMESPACE::ExpOfNonPositive(d, v); });
  for (std::size_t i = 0; i < t.size(); ++i) {
    const long double want = std::exp(static_cast<long double>(t[i]));
    EXPECT_LT(RelativeError(got[i], want), 1e-13) << "exp(" << t[i] << ") = " << got[i];
  }
  EXPECT_EQ(got[0], 1.0);  // the zero shift's scale: exactly 1
}

void TestLog1pOfSum() {
  std::vector<double> x = {-0.5,   -0.3,       -0.29289321, -1e-7,  -6e-8,   -1e-17, 0.0,
                           5e-324, 1e-300,     1e-20,       1e-16,  1.1e-16, 3e-16,  1e-10,
                           1e-5,   0.41421356, 0.5,         1.0,    1.5,     2.0,    2.718281828,
                           10.0,   1e10,       1e300,       1.7e308};
  std::mt19937_64 rng(11);
  std::uniform_real_distribution<double> exponent(-40, 40), small(-0.5, 1);
  for (int i = 0; i < 2000; ++i) x.push_back(std::pow(10.0, exponent(rng)));
  for (int i = 0; i < 2000; ++i) x.push_back(small(rng));
  const auto got =
      Apply(x, 0.0, [](auto d, auto v) HWY_ATTR { return smx::HWY_NAMESPACE::Log1pOfSum(d, v); });
  for (std::size_t i = 0; i < x.size(); ++i) {
    const long double want = std::log1p(static_cast<long double>(x[i]));
    EXPECT_LT(RelativeError(got[i], want), 1e-13) << "log1p(" << x[i] << ") = " << got[i];
  }
  const double nan = std::numeric_limits<double>::quiet_NaN();
  const auto nan_out = Apply(
      {nan}, 0.0, [](auto d, auto v) HWY_ATTR { return smx::HWY_NAMESPACE::Log1pOfSum(d, v); });
  EXPECT_TRUE(std::isnan(nan_out[0]));
}

}  // namespace smx_test::HWY_NAMESPACE
HWY_AFTER_NAMESPACE();

#if HWY_ONCE
namespace smx_test {
HWY_BEFORE_TEST(WideLogTest);
HWY_EXPORT_AND_TEST_P(WideLogTest, TestExpOfNonPositive);
HWY_EXPORT_AND_TEST_P(WideLogTest, TestLog1pOfSum);
}  // namespace smx_test
#endif
