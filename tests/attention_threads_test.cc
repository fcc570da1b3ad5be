// Attention and threads: split-key decoding, both backward schedules, and the same bits for any
// thread count.
#include <cmath>
#include <cstdint>
#include <limits>
#include <random>
#include <string>
#include <vector>

#include "attention_support.h"
#include "smx/runtime.h"

namespace smx_test {
namespace {

// Decoding with more than 8192 keys splits them into chunks, one task each, and merges the
// chunks' states: against the reference with every option that touches the merge (sinks, causal
// reach ending inside a chunk, a mask, a row masked everywhere, a NaN in one chunk), on 1 and 2
// threads with the same bits.
TEST(AttentionThreads, SplitKeyDecoding) {
  std::mt19937_64 rng(47);
  const int before = smx::get_num_threads();
  for (int variant = 0; variant < 4; ++variant) {
    Case c;
    c.heads = c.kv_heads = 2;
    c.lq = variant == 0 ? 1 : 3;
    c.lk = 20000;
    c.d = 16;
    c.dv = 16;
    if (variant == 1) c.sinks = {1.5, -2.0};
    if (variant == 2) {
      c.causal = c.lower_right = true;
      c.lq = 4;
      c.lk = 16390;  // row 0 reaches key 16386: the last chunk holds a few keys
    }
    if (variant == 3) {  // key padding, and row 1 of head 0 masked everywhere
      c.mask_kind = 1;
      c.mask_shape = {1, c.heads, c.lq, c.lk};
      std::uniform_real_distribution<double> u(0, 1);
      for (std::int64_t i = 0; i < c.heads * c.lq * c.lk; ++i) c.mask.push_back(u(rng) < 0.5);
      for (std::int64_t j = 0; j < c.lk; ++j) c.mask[c.lk + j] = 0;
    }
    FillInputs(c, rng);
    for (auto& x : c.q) x *= 2;  // sharper rows, so that the chunks' maxima differ
    const Result want = Reference(c);
    std::vector<float> out1, lse1, out2, lse2;
    smx::set_num_threads(1);
    ASSERT_TRUE(RunSmx<float>(c, out1, lse1).ok());
    smx::set_num_threads(2);
    ASSERT_TRUE(RunSmx<float>(c, out2, lse2).ok());
    const std::string label = "split decoding, variant " + std::to_string(variant);
    EXPECT_TRUE(MatchesRel(label + " out", out1, want.out, 2e-5, 2e-6));
    EXPECT_TRUE(MatchesRel(label + " lse", lse1, want.lse, 2e-5, 2e-6));
    EXPECT_EQ(out1, out2) << label;
    EXPECT_EQ(lse1, lse2) << label;
    std::vector<double> out64, lse64;
    ASSERT_TRUE(RunSmx<double>(c, out64, lse64).ok());
    EXPECT_TRUE(MatchesRel(label + " f64 out", out64, want.out, 1e-12, 1e-14));
    EXPECT_TRUE(MatchesRel(label + " f64 lse", lse64, want.lse, 1e-12, 1e-14));
  }
  // A NaN key attended in the second chunk makes the row NaN; the other head stays finite.
  Case c;
  c.heads = c.kv_heads = 2;
  c.lk = 20000;
  c.d = 8;
  c.dv = 16;
  FillInputs(c, rng);
  c.k[12000 * c.d] = std::numeric_limits<double>::quiet_NaN();
  std::vector<float> out, lse;
  ASSERT_TRUE(RunSmx<float>(c, out, lse).ok());
  EXPECT_TRUE(std::isnan(out[0]) && std::isnan(lse[0]));
  EXPECT_TRUE(std::isfinite(out[c.dv]) && std::isfinite(lse[1]));
  smx::set_num_threads(before);
}

// The backward pass takes one task per (batch, key head) when there are as many as threads, and
// key-side then query-side tasks otherwise: one head on 1 and on 2 threads runs both.
TEST(AttentionThreads, BothBackwardSchedules) {
  std::mt19937_64 rng(46);
  Case c;
  c.lq = 100;
  c.lk = 300;
  c.d = 24;
  c.dv = 16;
  c.causal = true;
  c.softcap = 5;
  FillInputs(c, rng);
  const std::vector<double> grad_out = Normal(rng, static_cast<std::size_t>(c.lq * c.dv), 1);
  const Gradients want = ReferenceBackward(c, grad_out);
  const int before = smx::get_num_threads();
  for (int threads : {1, 2}) {
    smx::set_num_threads(threads);
    std::vector<double> out, lse;
    SmxGradients<double> got;
    ASSERT_TRUE(RunSmx<double>(c, out, lse, &grad_out, &got).ok());
    const std::string label = std::to_string(threads) + " threads";
    EXPECT_TRUE(MatchesRel("dq " + label, got.dq, want.dq, 1e-11, 1e-13));
    EXPECT_TRUE(MatchesRel("dk " + label, got.dk, want.dk, 1e-11, 1e-13));
    EXPECT_TRUE(MatchesRel("dv " + label, got.dv, want.dv, 1e-11, 1e-13));
  }
  smx::set_num_threads(before);
}

// A task's rows never depend on the thread count.
TEST(AttentionThreads, SameBitsForAnyThreadCount) {
  std::mt19937_64 rng(43);
  Case c;
  c.batch = 2;
  c.heads = 3;
  c.kv_heads = 3;
  c.lq = 100;
  c.lk = 300;
  c.d = 32;
  c.dv = 32;
  c.causal = true;
  FillInputs(c, rng);
  std::vector<float> out1, lse1, out2, lse2;
  const int before = smx::get_num_threads();
  smx::set_num_threads(1);
  ASSERT_TRUE(RunSmx<float>(c, out1, lse1).ok());
  smx::set_num_threads(2);
  ASSERT_TRUE(RunSmx<float>(c, out2, lse2).ok());
  smx::set_num_threads(before);
  EXPECT_EQ(out1, out2);
  EXPECT_EQ(lse1, lse2);
  const std::vector<double> grad_out =
      Normal(rng, static_cast<std::size_t>(c.batch * c.heads * c.lq * c.dv), 1);
  SmxGradients<float> g1, g2;
  smx::set_num_threads(1);
  ASSERT_TRUE(RunSmx<float>(c, out1, lse1, &grad_out, &g1).ok());
  smx::set_num_threads(2);
  ASSERT_TRUE(RunSmx<float>(c, out2, lse2, &grad_out, &g2).ok());
  smx::set_num_threads(before);
  EXPECT_EQ(g1.dq, g2.dq);
  EXPECT_EQ(g1.dk, g2.dk);
  EXPECT_EQ(g1.dv, g2.dv);
}

}  // namespace
}  // namespace smx_test
