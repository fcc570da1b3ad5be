// Sampling: the draws follow the exact filtered distribution (chi-square over seeded draws), the
// filter and the log-probabilities match a long-double reference, on every SIMD target.
#include "smx/sampling.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <limits>
#include <random>
#include <string>
#include <vector>

#include "sampling_reference.h"
#include "target_sweep.h"

namespace smx_test {
namespace {

constexpr double kInf = std::numeric_limits<double>::infinity();

smx::SamplingOptions OptionsOf(const SamplingParams& p) {
  smx::SamplingOptions o;
  o.temperature = p.temperature;
  o.top_k = p.top_k;
  o.top_p = p.top_p;
  o.min_p = p.min_p;
  return o;
}

// Logits like a language model's: a few strong tokens over a broad normal bulk.
std::vector<double> ModelLikeLogits(std::size_t n, std::uint32_t seed) {
  std::mt19937 rng(seed);
  std::normal_distribution<double> bulk(0, 1.5);
  std::vector<double> z(n);
  for (double& v : z) v = bulk(rng);
  std::uniform_int_distribution<std::size_t> pick(0, n - 1);
  for (int j = 0; j < 6; ++j) z[pick(rng)] += 4 + j;
  return z;
}

std::vector<float> ToFloat(const std::vector<double>& z) { return {z.begin(), z.end()}; }

// How often each token comes out of `rows` identical rows (one batch, row ids 0..rows-1) over
// `steps` steps.
std::vector<std::int64_t> CountDraws(const std::vector<float>& row, const SamplingParams& p,
                                     std::int64_t rows, std::uint32_t steps, std::uint64_t seed) {
  const std::int64_t n = static_cast<std::int64_t>(row.size());
  std::vector<float> batch(static_cast<std::size_t>(rows * n));
  for (std::int64_t r = 0; r < rows; ++r) std::copy(row.begin(), row.end(), batch.begin() + r * n);
  std::vector<std::int64_t> counts(row.size(), 0), tokens(static_cast<std::size_t>(rows));
  smx::SamplingOptions o = OptionsOf(p);
  o.seed = seed;
  for (std::uint32_t step = 0; step < steps; ++step) {
    o.step = step;
    const smx::Status s =
        smx::sample(smx::TensorView<const float>(batch.data(), {rows, n}).ref(), tokens, o);
    EXPECT_TRUE(s.ok()) << s.message();
    for (std::int64_t t : tokens) {
      if (t < 0 || t >= n) {
        ADD_FAILURE() << "token " << t << " out of range";
        continue;
      }
      ++counts[static_cast<std::size_t>(t)];
    }
  }
  return counts;
}

struct DistributionCase {
  const char* name;
  std::size_t n;
  SamplingParams params;
};

class SamplingDistributionTest : public TargetTest {};

// 40000 draws per case against the exact distribution: a draw outside the support fails at
// once, and the chi-square statistic must stay below its 1e-6 critical value (fixed seeds: the
// outcome is deterministic).
TEST_P(SamplingDistributionTest, DrawsFollowTheFilteredDistribution) {
  const DistributionCase cases[] = {
      {"plain", 40, {1.0, 0, 1.0, 0.0}},          {"temperature", 40, {0.6, 0, 1.0, 0.0}},
      {"hot", 300, {2.5, 0, 1.0, 0.0}},           {"top_k", 1000, {1.0, 12, 1.0, 0.0}},
      {"top_k_ties", 64, {1.0, 7, 1.0, 0.0}},     {"top_p dense", 1000, {1.0, 0, 0.8, 0.0}},
      {"top_p small", 700, {1.3, 0, 0.3, 0.0}},   {"top_p flat", 200, {8.0, 0, 0.5, 0.0}},
      {"top_k top_p", 1000, {0.9, 30, 0.7, 0.0}}, {"min_p", 500, {1.0, 0, 1.0, 0.02}},
      {"top_p min_p", 500, {1.0, 0, 0.9, 0.05}},  {"all", 2000, {0.8, 40, 0.9, 0.01}},
      {"uniform", 50, {kInf, 0, 1.0, 0.0}},       {"uniform top_k", 50, {kInf, 10, 1.0, 0.0}},
  };
  std::uint64_t seed = 11;
  for (const DistributionCase& c : cases) {
    std::vector<double> z = ModelLikeLogits(c.n, static_cast<std::uint32_t>(seed));
    if (std::string(c.name) == "top_k_ties") {
      for (std::size_t i = 0; i < c.n; i += 3) z[i] = 2.0;  // ties across the top-k boundary
    }
    for (std::size_t i = 5; i < c.n; i += 17) z[i] = -kInf;  // masked tokens
    const std::vector<float> zf = ToFloat(z);
    const std::vector<double> zd(zf.begin(), zf.end());
    const std::vector<long double> expected = FilteredDistribution(zd, c.params);
    const std::vector<std::int64_t> counts = CountDraws(zf, c.params, 400, 100, ++seed);
    for (std::size_t i = 0; i < c.n; ++i) {
      if (expected[i] == 0) {
        EXPECT_EQ(counts[i], 0) << tag() << " " << c.name << ": token " << i << " is filtered out";
      }
    }
    const ChiSquare chi = ChiSquareOf(counts, expected);
    EXPECT_LT(chi.statistic, chi.Critical())
        << tag() << " " << c.name << ": chi-square " << chi.statistic << " with "
        << chi.degrees_of_freedom << " degrees of freedom";
  }
}

// A row of several chunks (the dense path's unit): the strong tokens sit in different chunks, so
// that the draws cross chunk boundaries; the filters against the definition.
TEST_P(SamplingDistributionTest, RowsOfSeveralChunks) {
  const std::size_t n = 40000;
  std::mt19937 rng(9);
  std::normal_distribution<double> bulk(-6, 1);
  std::vector<double> z(n);
  for (double& v : z) v = bulk(rng);
  for (std::size_t j = 0; j < 40; ++j) z[(j * 997 + 13) % n] = 2.0 + 0.05 * static_cast<double>(j);
  const std::vector<float> zf = ToFloat(z);
  // Five values over the whole row: ties everywhere, so the top-p set ends inside a class of
  // equal logits (the lower indices first) that spans two chunks, and rejected draws leave pivots
  // whose ties sit in other chunks.
  std::vector<float> tied(n);
  for (std::size_t i = 0; i < n; ++i) tied[i] = static_cast<float>((i * 7919) % 5);
  std::uint64_t seed = 70;
  for (const SamplingParams& p :
       {SamplingParams{1.0, 0, 1.0, 0.0}, SamplingParams{1.0, 0, 0.5, 0.0},
        SamplingParams{0.7, 0, 0.95, 0.02}, SamplingParams{1.0, 0, 0.3, 0.0}}) {
    const bool ties = p.top_p == 0.3;
    const std::vector<float>& row = ties ? tied : zf;
    const std::vector<double> rowd(row.begin(), row.end());
    const std::vector<long double> expected = FilteredDistribution(rowd, p);
    const std::vector<std::int64_t> counts = CountDraws(row, p, 100, 40, ++seed);
    for (std::size_t i = 0; i < n; ++i) {
      if (expected[i] == 0) {
        ASSERT_EQ(counts[i], 0) << tag() << " token " << i << " is filtered out";
      }
    }
    const ChiSquare chi = ChiSquareOf(counts, expected);
    EXPECT_LT(chi.statistic, chi.Critical())
        << tag() << " p=" << p.top_p << ": chi-square " << chi.statistic << " with "
        << chi.degrees_of_freedom << " degrees of freedom";
  }
}

class SamplingFilterTest : public TargetTest {};

void ExpectFilterMatches(const std::vector<double>& z, const SamplingParams& p,
                         const std::string& label) {
  const std::int64_t n = static_cast<std::int64_t>(z.size());
  const std::vector<float> zf = ToFloat(z);
  const std::vector<double> zd(zf.begin(), zf.end());
  const std::vector<long double> expected = FilteredDistribution(zd, p);
  std::vector<float> probs(z.size()), logits(z.size());
  const smx::SamplingOptions o = OptionsOf(p);
  ASSERT_TRUE(smx::top_k_top_p_filter(smx::TensorView<const float>(zf.data(), {n}).ref(),
                                      smx::TensorView<float>(probs.data(), {n}).ref(),
                                      smx::FilterOutput::kProbabilities, o)
                  .ok());
  ASSERT_TRUE(smx::top_k_top_p_filter(smx::TensorView<const float>(zf.data(), {n}).ref(),
                                      smx::TensorView<float>(logits.data(), {n}).ref(),
                                      smx::FilterOutput::kLogits, o)
                  .ok());
  for (std::size_t i = 0; i < z.size(); ++i) {
    const double want = static_cast<double>(expected[i]);
    EXPECT_NEAR(probs[i], want, 2e-6 * want + 1e-37) << label << " token " << i;
    if (expected[i] == 0) {
      EXPECT_EQ(logits[i], -std::numeric_limits<float>::infinity()) << label << " token " << i;
    } else if (p.temperature > 0 && std::isfinite(p.temperature)) {
      EXPECT_FLOAT_EQ(logits[i], static_cast<float>(zd[i] / p.temperature))
          << label << " token " << i;
    }
  }
}

// Lengths across the vector widths and the walk's 512-token blocks; every filter and their
// combinations; the survivors and their probabilities exactly as the definition says.
TEST_P(SamplingFilterTest, MatchesTheDefinition) {
  const std::size_t lengths[] = {1, 2, 3, 15, 16, 17, 63, 100, 511, 512, 513, 1500, 4099};
  const SamplingParams params[] = {
      {1.0, 0, 1.0, 0.0}, {0.7, 0, 1.0, 0.0},  {1.0, 5, 1.0, 0.0},  {1.0, 0, 0.9, 0.0},
      {1.0, 0, 0.2, 0.0}, {1.0, 0, 1.0, 0.1},  {0.5, 20, 0.8, 0.0}, {1.2, 50, 0.95, 0.02},
      {0.0, 0, 1.0, 0.0}, {kInf, 3, 1.0, 0.0}, {1.0, 1, 1.0, 0.0},  {3.0, 0, 0.6, 0.001},
  };
  std::uint32_t seed = 3;
  for (std::size_t n : lengths) {
    for (const SamplingParams& p : params) {
      std::vector<double> z = ModelLikeLogits(n, ++seed);
      if (n > 10) z[n / 2] = z[n / 3];  // a tie
      ExpectFilterMatches(z, p,
                          tag() + " n=" + std::to_string(n) +
                              " T=" + std::to_string(p.temperature) +
                              " k=" + std::to_string(p.top_k) + " p=" + std::to_string(p.top_p) +
                              " min_p=" + std::to_string(p.min_p));
    }
  }
}

// The log-probabilities of the drawn tokens, filtered and raw, against the reference.
TEST_P(SamplingFilterTest, LogProbabilities) {
  const SamplingParams params[] = {{1.0, 0, 1.0, 0.0},  {0.8, 0, 0.9, 0.0},  {1.0, 10, 1.0, 0.0},
                                   {1.0, 10, 0.5, 0.0}, {1.0, 0, 1.0, 0.05}, {1.5, 0, 0.7, 0.01},
                                   {0.0, 0, 1.0, 0.0}};
  std::uint32_t seed = 100;
  for (const SamplingParams& p : params) {
    for (std::size_t n : {7u, 600u, 3000u}) {
      const std::vector<double> z = ModelLikeLogits(n, ++seed);
      const std::vector<float> zf = ToFloat(z);
      const std::vector<double> zd(zf.begin(), zf.end());
      std::vector<long double> raw;
      const std::vector<long double> expected = FilteredDistribution(zd, p, &raw);
      std::vector<std::int64_t> token(1);
      std::vector<double> logprob(1), raw_logprob(1);
      smx::SamplingOptions o = OptionsOf(p);
      for (std::uint32_t step = 0; step < 5; ++step) {
        o.step = step;
        const std::int64_t nn = static_cast<std::int64_t>(n);
        ASSERT_TRUE(smx::sample(smx::TensorView<const float>(zf.data(), {nn}).ref(), token, logprob,
                                raw_logprob, o)
                        .ok());
        const std::size_t t = static_cast<std::size_t>(token[0]);
        ASSERT_GT(expected[t], 0) << tag();
        EXPECT_NEAR(logprob[0], std::log(static_cast<double>(expected[t])), 1e-6)
            << tag() << " n=" << n;
        if (p.temperature > 0) {
          EXPECT_NEAR(raw_logprob[0], std::log(static_cast<double>(raw[t])), 1e-6)
              << tag() << " n=" << n;
        }
      }
    }
  }
}

SMX_INSTANTIATE_TARGETS(SamplingDistributionTest);
SMX_INSTANTIATE_TARGETS(SamplingFilterTest);

}  // namespace
}  // namespace smx_test
