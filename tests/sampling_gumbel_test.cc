// Gumbel-max and Gumbel-softmax: draws against softmax(z / T) (chi-square), the values against
// the definition computed here from the same Philox stream, hard samples, row ids, errors.
#include <gtest/gtest.h>

#include <cmath>
#include <cstdint>
#include <limits>
#include <random>
#include <string>
#include <vector>

#include "sampling/kernels.h"
#include "sampling/philox.h"
#include "sampling_reference.h"
#include "smx/sampling.h"
#include "target_sweep.h"

namespace smx_test {
namespace {

constexpr double kInf = std::numeric_limits<double>::infinity();

// G_i of row `row_id` as gumbel.cc defines it.
std::vector<double> Noise(std::size_t n, std::uint64_t seed, std::uint64_t row_id,
                          std::uint32_t step) {
  const smx::internal::RowRandom random(seed, row_id, step);
  std::vector<double> g(n);
  for (std::size_t i = 0; i < n; ++i) {
    const double u = random.TokenUniforms(static_cast<std::uint32_t>(i / 2))[i % 2];
    EXPECT_TRUE(u > 0 && u < 1);
    g[i] = -std::log(-std::log(u));
  }
  return g;
}

class GumbelTest : public TargetTest {};

TEST_P(GumbelTest, MaxFollowsSoftmax) {
  const std::size_t n = 30;
  std::mt19937 rng(3);
  std::normal_distribution<double> normal(0, 1.5);
  std::vector<double> z(n);
  for (double& v : z) v = normal(rng);
  z[7] = -kInf;
  const std::int64_t rows = 500;
  std::vector<double> batch;
  for (std::int64_t r = 0; r < rows; ++r) batch.insert(batch.end(), z.begin(), z.end());
  std::vector<std::int64_t> counts(n, 0), tokens(static_cast<std::size_t>(rows));
  smx::GumbelOptions o;
  o.temperature = 0.8;
  o.seed = 12;
  for (std::uint32_t step = 0; step < 40; ++step) {
    o.step = step;
    ASSERT_TRUE(
        smx::gumbel_max(smx::TensorView<const double>(batch.data(), {rows, 30}).ref(), tokens, o)
            .ok());
    for (std::int64_t t : tokens) ++counts[static_cast<std::size_t>(t)];
  }
  EXPECT_EQ(counts[7], 0);
  const std::vector<long double> want = FilteredDistribution(z, {0.8, 0, 1.0, 0.0});
  const ChiSquare chi = ChiSquareOf(counts, want);
  EXPECT_LT(chi.statistic, chi.Critical()) << chi.degrees_of_freedom << " dof";
}

// The noise kernel (vector Philox and logs) against philox.h's scalar stream and libm, on an odd
// length and for a row id above 2^32.
TEST_P(GumbelTest, NoiseKernelMatchesTheScalarStream) {
  for (const std::uint64_t row_id : {0ull, 7ull, (1ull << 40) + 3}) {
    const std::size_t n = 1001;
    std::vector<double> got(n);
    smx::internal::GetSamplingKernels().gumbel_noise(0x123456789abcdefull, row_id, 77, got.data(),
                                                     n);
    const std::vector<double> want = Noise(n, 0x123456789abcdefull, row_id, 77);
    for (std::size_t i = 0; i < n; ++i) {
      ASSERT_NEAR(got[i], want[i], 1e-13 * (1 + std::fabs(want[i]))) << tag() << " token " << i;
    }
  }
}

TEST_P(GumbelTest, ValuesFromTheStream) {
  const std::int64_t rows = 3, n = 9;
  std::vector<double> z = {1, 2, 3, -kInf, 0, 0.5, -1, 2, 2.5, 0, 0, 0, 0, 0,
                           0, 0, 0, 0,     5, -3,  1,  1, 1,   1, 1, 1, 1};
  const std::uint64_t ids[] = {40, 41, 1ull << 40};
  smx::GumbelOptions o;
  o.temperature = 0.5;
  o.seed = 99;
  o.step = 6;
  o.row_ids = ids;
  std::vector<double> y(z.size()), hard(z.size());
  std::vector<std::int64_t> tokens(rows);
  ASSERT_TRUE(smx::gumbel_softmax(smx::TensorView<const double>(z.data(), {rows, n}).ref(),
                                  smx::TensorView<double>(y.data(), {rows, n}).ref(), o)
                  .ok());
  smx::GumbelOptions oh = o;
  oh.hard = true;
  ASSERT_TRUE(smx::gumbel_softmax(smx::TensorView<const double>(z.data(), {rows, n}).ref(),
                                  smx::TensorView<double>(hard.data(), {rows, n}).ref(), oh)
                  .ok());
  ASSERT_TRUE(
      smx::gumbel_max(smx::TensorView<const double>(z.data(), {rows, n}).ref(), tokens, o).ok());
  for (std::int64_t r = 0; r < rows; ++r) {
    const std::vector<double> g = Noise(n, 99, ids[r], 6);
    std::vector<double> v(n), soft(n);
    double m = -kInf, sum = 0;
    std::int64_t best = 0;
    for (std::int64_t i = 0; i < n; ++i) {
      const double zi = z[static_cast<std::size_t>(r * n + i)];
      v[i] = zi == -kInf ? -kInf : zi / 0.5 + g[i];
      if (v[i] > m) {
        m = v[i];
        best = i;
      }
    }
    for (std::int64_t i = 0; i < n; ++i) sum += soft[i] = std::exp(v[i] - m);
    EXPECT_EQ(tokens[r], best) << tag() << " row " << r;
    for (std::int64_t i = 0; i < n; ++i) {
      const std::size_t at = static_cast<std::size_t>(r * n + i);
      EXPECT_NEAR(y[at], soft[i] / sum, 1e-14) << "row " << r << " token " << i;
      EXPECT_EQ(hard[at], i == best ? 1.0 : 0.0);
    }
  }
  EXPECT_EQ(y[3], 0.0);  // -inf
  // gumbel_max at T = 0 is greedy; f32 in place gives the f64 values rounded.
  o.temperature = 0;
  ASSERT_TRUE(
      smx::gumbel_max(smx::TensorView<const double>(z.data(), {rows, n}).ref(), tokens, o).ok());
  EXPECT_EQ(tokens, (std::vector<std::int64_t>{2, 0, 0}));
  std::vector<float> zf(z.begin(), z.end());
  o.temperature = 0.5;
  ASSERT_TRUE(smx::gumbel_softmax(smx::TensorView<const float>(zf.data(), {rows, n}).ref(),
                                  smx::TensorView<float>(zf.data(), {rows, n}).ref(), o)
                  .ok());
  for (std::size_t i = 0; i < z.size(); ++i) EXPECT_FLOAT_EQ(zf[i], static_cast<float>(y[i]));
}

TEST_P(GumbelTest, Errors) {
  std::vector<float> z = {1, 2, std::numeric_limits<float>::quiet_NaN(), 0};
  std::vector<float> out(4, 7.0f);
  std::vector<std::int64_t> tokens(2, -1);
  const smx::ConstTensorRef x = smx::TensorView<const float>(z.data(), {2, 2}).ref();
  const smx::TensorRef y = smx::TensorView<float>(out.data(), {2, 2}).ref();
  smx::Status s = smx::gumbel_softmax(x, y);
  EXPECT_NE(s.message().find("row 1 of the logits holds NaN"), std::string::npos) << s.message();
  EXPECT_EQ(out, std::vector<float>(4, 7.0f));
  s = smx::gumbel_max(x, tokens);
  EXPECT_FALSE(s.ok());
  EXPECT_EQ(tokens, (std::vector<std::int64_t>{-1, -1}));
  z[2] = 1;
  smx::GumbelOptions o;
  o.temperature = 0;
  EXPECT_NE(smx::gumbel_softmax(x, y, o).message().find("finite and > 0"), std::string::npos);
  o.temperature = -1;
  EXPECT_FALSE(smx::gumbel_max(x, tokens, o).ok());
  o = {};
  o.step = 1ull << 32;
  EXPECT_FALSE(smx::gumbel_max(x, tokens, o).ok());
  std::vector<float> masked = {-INFINITY, -INFINITY};
  EXPECT_NE(smx::gumbel_max(smx::TensorView<const float>(masked.data(), {2}).ref(),
                            std::span<std::int64_t>(tokens.data(), 1))
                .message()
                .find("no finite logit"),
            std::string::npos);
}

SMX_INSTANTIATE_TARGETS(GumbelTest);

}  // namespace
}  // namespace smx_test
