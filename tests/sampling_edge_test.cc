// Sampling: Philox's known answers, greedy and ties, reproducibility across batch composition,
// thread counts and layouts, 16-bit and f64 logits, and the errors.
#include <gtest/gtest.h>

#include <cmath>
#include <cstdint>
#include <limits>
#include <random>
#include <string>
#include <vector>

#include "sampling/philox.h"
#include "sampling_reference.h"
#include "smx/runtime.h"
#include "smx/sampling.h"
#include "target_sweep.h"

namespace smx_test {
namespace {

TEST(PhiloxTest, KnownAnswers) {
  // Random123's kat_vectors for philox4x32 10: counter, key, output.
  using smx::internal::Philox4x32;
  EXPECT_EQ(Philox4x32({0, 0, 0, 0}, {0, 0}),
            (smx::internal::PhiloxCounter{0x6627e8d5, 0xe169c58d, 0xbc57ac4c, 0x9b00dbd8}));
  EXPECT_EQ(Philox4x32({~0u, ~0u, ~0u, ~0u}, {~0u, ~0u}),
            (smx::internal::PhiloxCounter{0x408f276d, 0x41c83b0e, 0xa20bc7c6, 0x6d5451fd}));
  EXPECT_EQ(Philox4x32({0x243f6a88, 0x85a308d3, 0x13198a2e, 0x03707344}, {0xa4093822, 0x299f31d0}),
            (smx::internal::PhiloxCounter{0xd16cfe09, 0x94fdcceb, 0x5001e420, 0x24126ea1}));
  EXPECT_EQ(smx::internal::UniformFromBits(0, 0), 0.0);
  EXPECT_EQ(smx::internal::UniformFromBits(~0u, ~0u), 1 - 0x1p-53);
}

constexpr float kInfF = std::numeric_limits<float>::infinity();

std::vector<std::int64_t> Draw(const std::vector<float>& z, std::int64_t rows,
                               const smx::SamplingOptions& o, smx::Status* status = nullptr) {
  const std::int64_t n = static_cast<std::int64_t>(z.size()) / std::max<std::int64_t>(rows, 1);
  std::vector<std::int64_t> tokens(static_cast<std::size_t>(rows), -7);
  const smx::Status s =
      smx::sample(smx::TensorView<const float>(z.data(), {rows, n}).ref(), tokens, o);
  if (status != nullptr) {
    *status = s;
  } else {
    EXPECT_TRUE(s.ok()) << s.message();
  }
  return tokens;
}

std::vector<float> RandomLogits(std::size_t n, std::uint32_t seed, double scale = 2.0) {
  std::mt19937 rng(seed);
  std::normal_distribution<float> normal(0, static_cast<float>(scale));
  std::vector<float> z(n);
  for (float& v : z) v = normal(rng);
  return z;
}

class SamplingEdgeTest : public TargetTest {};

TEST_P(SamplingEdgeTest, GreedyTakesTheLowestIndexAmongTies) {
  const std::vector<float> z = {1, 5, 2, 5, -kInfF, 5};
  smx::SamplingOptions o;
  o.temperature = 0.0;
  std::vector<std::int64_t> token(1);
  std::vector<double> logprob(1), raw(1);
  for (std::uint64_t seed = 0; seed < 5; ++seed) {
    o.seed = seed;
    ASSERT_TRUE(
        smx::sample(smx::TensorView<const float>(z.data(), {6}).ref(), token, logprob, raw, o)
            .ok());
    EXPECT_EQ(token[0], 1) << tag();
    EXPECT_EQ(logprob[0], 0.0);
    EXPECT_NEAR(raw[0], -std::log(3.0), 1e-15);
  }
  // A tiny temperature (below what f32 and f64 can divide by) samples among the maxima only.
  o.temperature = 1e-320;
  for (std::uint32_t step = 0; step < 40; ++step) {
    o.step = step;
    const std::int64_t t = Draw(z, 1, o)[0];
    EXPECT_TRUE(t == 1 || t == 3 || t == 5) << tag() << " token " << t;
  }
}

TEST_P(SamplingEdgeTest, TopKBreaksTiesByIndexAndKeepsExactlyK) {
  // Ties straddle the boundary: k = 3 keeps 9 and the first two 4s.
  const std::vector<float> z = {4, 1, 4, 9, 4, -kInfF, 4};
  smx::SamplingOptions o;
  o.top_k = 3;
  std::vector<float> probs(z.size());
  ASSERT_TRUE(smx::top_k_top_p_filter(smx::TensorView<const float>(z.data(), {7}).ref(),
                                      smx::TensorView<float>(probs.data(), {7}).ref(),
                                      smx::FilterOutput::kProbabilities, o)
                  .ok());
  const double e = std::exp(-5.0), total = 1 + 2 * e;
  EXPECT_NEAR(probs[0], e / total, 1e-7);
  EXPECT_NEAR(probs[2], e / total, 1e-7);
  EXPECT_NEAR(probs[3], 1 / total, 1e-7);
  for (int i : {1, 4, 5, 6}) EXPECT_EQ(probs[i], 0.0f) << tag() << " token " << i;
  // top_k = 1 is greedy whatever the temperature; k beyond the finite tokens keeps them all.
  o.top_k = 1;
  o.temperature = 50.0;
  for (std::uint32_t step = 0; step < 20; ++step) {
    o.step = step;
    EXPECT_EQ(Draw(z, 1, o)[0], 3) << tag();
  }
  o.top_k = 6;
  o.temperature = 1e6;
  std::vector<int> seen(z.size(), 0);
  for (std::uint32_t step = 0; step < 200; ++step) {
    o.step = step;
    ++seen[static_cast<std::size_t>(Draw(z, 1, o)[0])];
  }
  EXPECT_EQ(seen[5], 0) << tag() << ": -inf drawn";
  for (int i : {0, 1, 2, 3, 4, 6})
    EXPECT_GT(seen[static_cast<std::size_t>(i)], 0) << tag() << " " << i;
}

// The running threshold of top-k: ascending rows (every token beats all before it), descending
// and random ones, long enough for many compactions of the candidate buffer.
TEST_P(SamplingEdgeTest, TopKSelectionOnAdversarialOrders) {
  const std::size_t n = 20000;
  std::vector<std::vector<float>> rows;
  std::vector<float> up(n), down(n), saw(n);
  for (std::size_t i = 0; i < n; ++i) {
    up[i] = static_cast<float>(i) * 1e-3f;
    down[i] = -up[i];
    saw[i] = static_cast<float>(i % 997) * 1e-2f;  // ties every 997 tokens
  }
  rows = {up, down, saw, RandomLogits(n, 5)};
  for (const std::vector<float>& z : rows) {
    for (std::int64_t k : {1, 3, 50, 700, 5000}) {
      smx::SamplingOptions o;
      o.top_k = k;
      std::vector<float> probs(n);
      ASSERT_TRUE(smx::top_k_top_p_filter(smx::TensorView<const float>(z.data(), {20000}).ref(),
                                          smx::TensorView<float>(probs.data(), {20000}).ref(),
                                          smx::FilterOutput::kProbabilities, o)
                      .ok());
      const std::vector<double> zd(z.begin(), z.end());
      const std::vector<long double> want = FilteredDistribution(zd, {1.0, k, 1.0, 0.0});
      std::int64_t kept = 0, mismatched = 0;
      for (std::size_t i = 0; i < n; ++i) {
        kept += probs[i] > 0;
        mismatched += (probs[i] > 0) != (want[i] > 0);
      }
      EXPECT_EQ(kept, k) << tag();
      EXPECT_EQ(mismatched, 0) << tag() << " k=" << k;
    }
  }
}

// The same seed and row id give the same token whatever the rest of the batch and the thread
// count; the step and the seed change it.
TEST_P(SamplingEdgeTest, ReproducibleAcrossBatchesAndThreads) {
  const std::int64_t rows = 64, n = 5000;
  std::vector<float> batch(static_cast<std::size_t>(rows * n));
  for (std::int64_t r = 0; r < rows; ++r) {
    const std::vector<float> z =
        RandomLogits(static_cast<std::size_t>(n), static_cast<std::uint32_t>(r));
    std::copy(z.begin(), z.end(), batch.begin() + r * n);
  }
  for (const auto& [k, p] :
       {std::pair<std::int64_t, double>{0, 1.0}, {40, 1.0}, {0, 0.6}, {20, 0.9}}) {
    smx::SamplingOptions o;
    o.top_k = k;
    o.top_p = p;
    o.seed = 42;
    o.step = 3;
    smx::set_num_threads(1);
    const std::vector<std::int64_t> one = Draw(batch, rows, o);
    smx::set_num_threads(2);
    const std::vector<std::int64_t> two = Draw(batch, rows, o);
    smx::set_num_threads(0);
    EXPECT_EQ(one, two) << tag() << " k=" << k << " p=" << p;
    // Row 9 alone, with its row id, and inside a reversed batch.
    smx::SamplingOptions alone = o;
    const std::uint64_t id9[] = {9};
    alone.row_ids = id9;
    const std::vector<float> row9(batch.begin() + 9 * n, batch.begin() + 10 * n);
    EXPECT_EQ(Draw(row9, 1, alone)[0], one[9]) << tag();
    std::vector<float> reversed(batch.size());
    std::vector<std::uint64_t> ids(static_cast<std::size_t>(rows));
    for (std::int64_t r = 0; r < rows; ++r) {
      std::copy(batch.begin() + r * n, batch.begin() + (r + 1) * n,
                reversed.begin() + (rows - 1 - r) * n);
      ids[static_cast<std::size_t>(rows - 1 - r)] = static_cast<std::uint64_t>(r);
    }
    smx::SamplingOptions with_ids = o;
    with_ids.row_ids = ids;
    const std::vector<std::int64_t> rev = Draw(reversed, rows, with_ids);
    for (std::int64_t r = 0; r < rows; ++r) {
      EXPECT_EQ(rev[static_cast<std::size_t>(rows - 1 - r)], one[static_cast<std::size_t>(r)])
          << tag();
    }
    // Another step or seed draws other tokens (at T = 1 over 64 broad rows, some must differ).
    smx::SamplingOptions next = o;
    next.step = 4;
    EXPECT_NE(Draw(batch, rows, next), one) << tag();
    next = o;
    next.seed = 43;
    EXPECT_NE(Draw(batch, rows, next), one) << tag();
  }
}

// Rows of several chunks, alone or two in a batch, split over 2 threads or on one: the same
// tokens, for every filter and for rounds of the top-p test that reject.
TEST_P(SamplingEdgeTest, ChunkedRowsAreTheSameOnAnyThreadCount) {
  const std::int64_t n = 100000;  // 7 chunks of 16384
  for (std::int64_t rows : {1, 2}) {
    std::vector<float> z;
    for (std::int64_t r = 0; r < rows; ++r) {
      const std::vector<float> row =
          RandomLogits(static_cast<std::size_t>(n), 40 + static_cast<std::uint32_t>(r), 3.0);
      z.insert(z.end(), row.begin(), row.end());
    }
    for (const auto& [p, q] : {std::pair<double, double>{1.0, 0.0},
                               {0.9, 0.0},
                               {0.3, 0.0},
                               {0.05, 0.0},
                               {1.0, 0.01},
                               {0.7, 0.001}}) {
      smx::SamplingOptions o;
      o.top_p = p;
      o.min_p = q;
      o.seed = 5;
      for (std::uint32_t step = 0; step < 20; ++step) {
        o.step = step;
        smx::set_num_threads(1);
        const std::vector<std::int64_t> one = Draw(z, rows, o);
        smx::set_num_threads(2);
        const std::vector<std::int64_t> two = Draw(z, rows, o);
        smx::set_num_threads(0);
        ASSERT_EQ(one, two) << tag() << " rows " << rows << " p " << p << " min_p " << q;
      }
    }
  }
}

// f16, bf16 and strided rows are staged into f32: the same values give the same tokens. f64
// rows follow the same distribution (their own exponentials): checked through the filter.
TEST_P(SamplingEdgeTest, DTypesAndLayouts) {
  const std::int64_t rows = 8, n = 777;
  std::vector<float> z(static_cast<std::size_t>(rows * n));
  std::vector<smx::bfloat16> zb(z.size());
  std::vector<smx::float16> zh(z.size());
  std::mt19937 rng(1);
  std::normal_distribution<float> normal(0, 2);
  for (std::size_t i = 0; i < z.size(); ++i) {
    zb[i] = smx::to_bfloat16(normal(rng));
    z[i] = smx::to_float(zb[i]);  // exactly representable in all three
    zh[i] = smx::to_float16(z[i]);
    z[i] = smx::to_float(zh[i]);
    zb[i] = smx::to_bfloat16(z[i]);
  }
  smx::SamplingOptions o;
  o.top_p = 0.8;
  const std::vector<double> temperatures = {0.5, 1.0, 0.0, 2.0, 1.0, 1.0, 0.7, 1.3};
  o.temperature = temperatures;
  std::vector<std::int64_t> t32(rows), t16(rows), tb16(rows), tstrided(rows);
  const std::int64_t shape[] = {rows, n};
  ASSERT_TRUE(smx::sample(smx::TensorView<const float>(z.data(), shape).ref(), t32, o).ok());
  ASSERT_TRUE(
      smx::sample(smx::TensorView<const smx::float16>(zh.data(), shape).ref(), t16, o).ok());
  ASSERT_TRUE(
      smx::sample(smx::TensorView<const smx::bfloat16>(zb.data(), shape).ref(), tb16, o).ok());
  // The transpose of a [n, rows] buffer: stride 1 between rows, rows between tokens.
  std::vector<float> zt(z.size());
  for (std::int64_t r = 0; r < rows; ++r) {
    for (std::int64_t i = 0; i < n; ++i)
      zt[static_cast<std::size_t>(i * rows + r)] = z[static_cast<std::size_t>(r * n + i)];
  }
  const std::int64_t strides[] = {1, rows};
  ASSERT_TRUE(
      smx::sample(smx::TensorView<const float>(zt.data(), shape, strides).ref(), tstrided, o).ok());
  EXPECT_EQ(t16, t32) << tag();
  EXPECT_EQ(tb16, t32) << tag();
  EXPECT_EQ(tstrided, t32) << tag();
  // f64: the filter against the reference, and draws inside the support.
  std::vector<double> zd(z.begin(), z.begin() + n), probs(static_cast<std::size_t>(n));
  smx::SamplingOptions o64;
  o64.top_p = 0.7;
  o64.min_p = 0.01;
  ASSERT_TRUE(smx::top_k_top_p_filter(smx::TensorView<const double>(zd.data(), {n}).ref(),
                                      smx::TensorView<double>(probs.data(), {n}).ref(),
                                      smx::FilterOutput::kProbabilities, o64)
                  .ok());
  const std::vector<long double> want = FilteredDistribution(zd, {1.0, 0, 0.7, 0.01});
  for (std::int64_t i = 0; i < n; ++i) {
    const double w = static_cast<double>(want[static_cast<std::size_t>(i)]);
    EXPECT_NEAR(probs[static_cast<std::size_t>(i)], w, 1e-13 * w) << tag() << " token " << i;
  }
  std::vector<std::int64_t> t64(1);
  for (std::uint32_t step = 0; step < 50; ++step) {
    o64.step = step;
    ASSERT_TRUE(smx::sample(smx::TensorView<const double>(zd.data(), {n}).ref(), t64, o64).ok());
    EXPECT_GT(want[static_cast<std::size_t>(t64[0])], 0) << tag();
  }
}

TEST_P(SamplingEdgeTest, FilterInPlaceAndSpecialRows) {
  std::vector<float> z = {3, -kInfF, 1, 2, 0.5f};
  const std::vector<float> original = z;
  smx::SamplingOptions o;
  o.top_k = 2;
  o.temperature = 2.0;
  ASSERT_TRUE(smx::top_k_top_p_filter(smx::TensorView<const float>(z.data(), {5}).ref(),
                                      smx::TensorView<float>(z.data(), {5}).ref(),
                                      smx::FilterOutput::kLogits, o)
                  .ok());
  EXPECT_EQ(z, (std::vector<float>{1.5f, -kInfF, -kInfF, 1.0f, -kInfF})) << tag();
  // One element; a row of a single finite token among -inf.
  const std::vector<float> one = {7};
  EXPECT_EQ(Draw(one, 1, {})[0], 0);
  std::vector<float> lone(100, -kInfF);
  lone[63] = -1e30f;
  smx::SamplingOptions p;
  p.top_p = 0.1;
  EXPECT_EQ(Draw(lone, 1, p)[0], 63) << tag();
  p.top_k = 5;
  EXPECT_EQ(Draw(lone, 1, p)[0], 63) << tag();
  // Huge offsets and denormals change nothing but the shift.
  std::vector<float> big = {1e30f, 1e30f, -1e30f}, tiny = {1e-40f, 2e-40f, 0};
  smx::SamplingOptions flat;
  int hits[2] = {0, 0};
  for (std::uint32_t step = 0; step < 100; ++step) {
    flat.step = step;
    const std::int64_t t = Draw(big, 1, flat)[0];
    ASSERT_TRUE(t == 0 || t == 1) << tag();
    ++hits[t];
    EXPECT_LT(Draw(tiny, 1, flat)[0], 3);
  }
  EXPECT_GT(hits[0], 20);
  EXPECT_GT(hits[1], 20);
  // An empty batch is fine.
  std::vector<std::int64_t> none;
  EXPECT_TRUE(smx::sample(smx::TensorView<const float>(nullptr, {0, 10}).ref(), none).ok());
}

// The running sums that decide a token are monotone, and a token drawn always has a positive
// probability under the filters, even where the mass sits at one end of the row and rounding
// leaves the target beside the total (draws with u near 1 land in the fallback).
TEST_P(SamplingEdgeTest, DrawnTokensHavePositiveProbability) {
  const std::int64_t n = 5000;
  std::vector<float> z(static_cast<std::size_t>(3 * n));
  for (std::int64_t i = 0; i < n; ++i) {
    z[static_cast<std::size_t>(i)] =
        i == 0 ? 30.0f : -60.0f - static_cast<float>(i % 7);             // mass first
    z[static_cast<std::size_t>(n + i)] = i == n - 101 ? 0.0f : -100.0f;  // mass near the end
    z[static_cast<std::size_t>(2 * n + i)] = static_cast<float>(i % 3) * 1e-7f;  // near ties
  }
  for (std::int64_t i = n - 100; i < n; ++i) {
    z[static_cast<std::size_t>(i)] = -kInfF;
    z[static_cast<std::size_t>(n + i)] = -kInfF;
  }
  for (const double p : {1.0, 0.999999, 0.5}) {
    smx::SamplingOptions o;
    o.top_p = p;
    std::vector<float> probs(z.size());
    ASSERT_TRUE(smx::top_k_top_p_filter(smx::TensorView<const float>(z.data(), {3, n}).ref(),
                                        smx::TensorView<float>(probs.data(), {3, n}).ref(),
                                        smx::FilterOutput::kProbabilities, o)
                    .ok());
    for (std::uint32_t step = 0; step < 300; ++step) {
      o.step = step;
      const std::vector<std::int64_t> t = Draw(z, 3, o);
      for (std::int64_t r = 0; r < 3; ++r) {
        const std::size_t at = static_cast<std::size_t>(r * n + t[static_cast<std::size_t>(r)]);
        ASSERT_GT(probs[at], 0.0f)
            << tag() << " p=" << p << " row " << r << " token " << t[static_cast<std::size_t>(r)];
      }
    }
  }
}

TEST_P(SamplingEdgeTest, Errors) {
  std::vector<float> z = {1, 2, 3, 4, 5, 6};
  std::vector<std::int64_t> tokens(2, -7);
  auto run = [&](const smx::SamplingOptions& o) {
    return smx::sample(smx::TensorView<const float>(z.data(), {2, 3}).ref(), tokens, o);
  };
  auto expect_error = [&](const smx::SamplingOptions& o, const std::string& part) {
    const smx::Status s = run(o);
    EXPECT_FALSE(s.ok()) << tag() << " expected an error naming " << part;
    EXPECT_NE(s.message().find(part), std::string::npos) << s.message();
    EXPECT_EQ(tokens, (std::vector<std::int64_t>{-7, -7})) << "written despite: " << s.message();
  };
  smx::SamplingOptions o;
  o.temperature = -1.0;
  expect_error(o, "temperature = -1");
  o = {};
  o.temperature = std::numeric_limits<double>::quiet_NaN();
  expect_error(o, "temperature");
  o = {};
  o.top_k = -2;
  expect_error(o, "top_k = -2");
  o = {};
  o.top_p = 0.0;
  expect_error(o, "top_p");
  o.top_p = 1.5;
  expect_error(o, "top_p");
  o = {};
  o.min_p = 2.0;
  expect_error(o, "min_p");
  const std::vector<double> three_temps = {1, 1, 1};
  o = {};
  o.temperature = three_temps;
  expect_error(o, "3 values for 2 rows");
  const std::vector<double> bad_p = {0.5, -0.5};
  o = {};
  o.top_p = bad_p;
  expect_error(o, "top_p[1]");
  o = {};
  o.step = std::uint64_t{1} << 32;
  expect_error(o, "step");
  const std::uint64_t one_id[] = {5};
  o = {};
  o.row_ids = one_id;
  expect_error(o, "row_ids");
  z[4] = std::numeric_limits<float>::quiet_NaN();
  expect_error({}, "row 1 of the logits holds NaN");
  z[4] = kInfF;
  expect_error({}, "row 1");
  smx::SamplingOptions k2;
  k2.top_k = 2;
  expect_error(k2, "row 1");  // the top-k pass sees it too
  z = {-kInfF, -kInfF, -kInfF, 1, 2, 3};
  expect_error({}, "row 0 of the logits has no finite logit");
  expect_error(k2, "row 0 of the logits has no finite logit");
  std::vector<std::int64_t> wrong(3);
  EXPECT_FALSE(smx::sample(smx::TensorView<const float>(z.data(), {2, 3}).ref(), wrong).ok());
  EXPECT_FALSE(smx::sample(smx::TensorView<const float>(z.data(), {1, 2, 3}).ref(), tokens).ok());
  EXPECT_FALSE(smx::sample(smx::TensorView<const float>(z.data(), {2, 0}).ref(), tokens).ok());
  // The filter: out of another shape or dtype, or overlapping the logits without being them.
  std::vector<double> out64(6);
  EXPECT_FALSE(smx::top_k_top_p_filter(smx::TensorView<const float>(z.data(), {2, 3}).ref(),
                                       smx::TensorView<double>(out64.data(), {2, 3}).ref(),
                                       smx::FilterOutput::kLogits)
                   .ok());
  std::vector<float> zz(7, 1.0f);
  EXPECT_FALSE(smx::top_k_top_p_filter(smx::TensorView<const float>(zz.data(), {2, 3}).ref(),
                                       smx::TensorView<float>(zz.data() + 1, {2, 3}).ref(),
                                       smx::FilterOutput::kLogits)
                   .ok());
  // A bad row leaves the filter's output untouched.
  std::vector<float> bad = {1, 2, std::numeric_limits<float>::quiet_NaN(), 4}, out(4, 9.0f);
  EXPECT_FALSE(smx::top_k_top_p_filter(smx::TensorView<const float>(bad.data(), {2, 2}).ref(),
                                       smx::TensorView<float>(out.data(), {2, 2}).ref(),
                                       smx::FilterOutput::kProbabilities)
                   .ok());
  EXPECT_EQ(out, std::vector<float>(4, 9.0f));
}

SMX_INSTANTIATE_TARGETS(SamplingEdgeTest);

}  // namespace
}  // namespace smx_test
