// Attention's edge cases (smx/attention.h): rows with no key, NaN and inf in keys and values a row
// leaves out (they must not reach it) or attends, empty sizes, huge scores; the gradients against
// central differences and at the same edges; and the errors, each naming the problem.
#include <cmath>
#include <cstdint>
#include <limits>
#include <random>
#include <string>
#include <vector>

#include "attention_support.h"

namespace smx_test {
namespace {

class AttentionEdges : public AttentionTest {};

// The edge cases of smx/attention.h.
TEST_P(AttentionEdges, EdgeCases) {
  constexpr double kNaN = std::numeric_limits<double>::quiet_NaN();
  constexpr double kInfD = std::numeric_limits<double>::infinity();
  std::mt19937_64 rng(41);
  // Rows with no key left: causal lower-right with Lq > Lk (the first rows), and a boolean mask
  // row of zeros. O = 0 and lse = -inf; with a sink, O = 0 and lse = the sink.
  for (bool sink : {false, true}) {
    Case c;
    c.lq = 6;
    c.lk = 3;
    c.d = 4;
    c.dv = 5;
    c.causal = c.lower_right = true;
    if (sink) c.sinks = {0.75};
    FillInputs(c, rng);
    std::vector<float> out;
    std::vector<float> lse;
    ASSERT_TRUE(RunSmx<float>(c, out, lse).ok());
    for (std::int64_t i = 0; i < 3; ++i) {  // i + Lk - Lq < 0
      for (std::int64_t e = 0; e < c.dv; ++e)
        EXPECT_EQ(out[i * c.dv + e], 0.0f) << i << " " << tag();
      EXPECT_EQ(lse[i], sink ? 0.75f : -std::numeric_limits<float>::infinity()) << i;
    }
    Check<float>(c, 2e-5, 2e-6);
    Check<double>(c, 1e-12, 1e-14);
  }
  {
    Case c;
    c.lq = 4;
    c.lk = 40;
    c.d = 3;
    c.dv = 2;
    c.mask_kind = 1;
    c.mask_shape = {c.lq, c.lk};
    c.mask.assign(static_cast<std::size_t>(c.lq * c.lk), 1);
    for (std::int64_t j = 0; j < c.lk; ++j) c.mask[2 * c.lk + j] = 0;  // row 2 sees nothing
    FillInputs(c, rng);
    Check<double>(c, 1e-12, 1e-14);
    std::vector<double> out, lse;
    ASSERT_TRUE(RunSmx<double>(c, out, lse).ok());
    EXPECT_EQ(lse[2], -kInfD);
    EXPECT_EQ(out[2 * c.dv], 0.0);
    EXPECT_EQ(out[2 * c.dv + 1], 0.0);
  }
  // NaN and inf in keys and values that a row leaves out do not reach it; one it attends makes
  // it NaN. Keys 0 and 1 are poisoned; causal top-left, row 0 attends key 0 only.
  // Five query rows take the packed tiles, two (decoding) read keys and values in place.
  for (int poison = 0; poison < 8; ++poison) {
    Case c;
    c.lq = poison < 4 ? 5 : 2;
    c.lk = 300;  // more than one key tile
    c.d = 3;
    c.dv = poison < 4 ? 4 : 16;
    c.mask_kind = 1;
    c.mask_shape = {c.lq, c.lk};
    c.mask.assign(static_cast<std::size_t>(c.lq * c.lk), 1);
    for (std::int64_t i = 1; i < c.lq; ++i) c.mask[i * c.lk + 1] = c.mask[i * c.lk + 250] = 0;
    FillInputs(c, rng);
    const double bad = poison % 2 == 0 ? kNaN : kInfD;
    if (poison % 4 < 2) {
      c.k[1 * c.d] = bad;
      c.k[250 * c.d + 2] = bad;
    } else {
      c.v[1 * c.dv + 3] = bad;
      c.v[250 * c.dv] = -bad;
    }
    std::vector<float> out;
    std::vector<float> lse;
    ASSERT_TRUE(RunSmx<float>(c, out, lse).ok());
    // Rows 1..4 leave keys 1 and 250 out: finite, and as if those keys were not there.
    Case clean = c;
    clean.k[1 * c.d] = clean.k[250 * c.d + 2] = 0;
    clean.v[1 * c.dv + 3] = clean.v[250 * c.dv] = 0;
    const Result want = Reference(clean);
    for (std::int64_t i = 1; i < c.lq; ++i) {
      for (std::int64_t e = 0; e < c.dv; ++e) {
        const float got = out[i * c.dv + e];
        EXPECT_NEAR(got, static_cast<double>(want.out[i * c.dv + e]), 2e-5)
            << "poison " << poison << " row " << i << " " << tag();
      }
      EXPECT_NEAR(lse[i], static_cast<double>(want.lse[i]), 2e-5) << i;
    }
    // Row 0 attends them: a NaN key or value makes it NaN, an infinite key NaN (its score is
    // infinite: inf - inf in the softmax), an infinite value infinite where it is.
    bool nan = false, inf = false;
    for (std::int64_t e = 0; e < c.dv; ++e) {
      nan |= std::isnan(out[e]);
      inf |= std::isinf(out[e]);
    }
    EXPECT_TRUE(poison % 4 == 3 ? inf : nan) << "poison " << poison << " " << tag();
  }
  // Empty sizes: Lk = 0 (O = 0, lse = -inf), Lq = 0, d = 0 (every score 0: O = mean of V).
  {
    Case c;
    c.lq = 3;
    c.lk = 0;
    c.d = 2;
    c.dv = 2;
    FillInputs(c, rng);
    std::vector<double> out, lse;
    ASSERT_TRUE(RunSmx<double>(c, out, lse).ok());
    for (double x : out) EXPECT_EQ(x, 0.0);
    for (double x : lse) EXPECT_EQ(x, -kInfD);
    c.lk = 4;
    c.lq = 0;
    FillInputs(c, rng);
    ASSERT_TRUE(RunSmx<double>(c, out, lse).ok());
    c.lq = 2;
    c.d = 0;
    FillInputs(c, rng);
    Check<double>(c, 1e-12, 1e-14);
  }
  // Huge logits (scores ~ 1e4): the online max keeps them finite.
  {
    Case c;
    c.lq = 3;
    c.lk = 260;
    c.d = 2;
    c.dv = 3;
    c.scale = 1;
    FillInputs(c, rng);
    for (auto& x : c.q) x *= 100;
    for (auto& x : c.k) x *= 100;
    Check<double>(c, 1e-12, 1e-14);
  }
}

// The backward pass against central differences of smx's own f64 forward pass, with every option
// that changes the scores at once.
TEST_P(AttentionEdges, GradientsMatchFiniteDifferences) {
  std::mt19937_64 rng(44);
  Case c;
  c.heads = 2;
  c.kv_heads = 1;
  c.gqa = true;
  c.lq = 5;
  c.lk = 7;
  c.d = 3;
  c.dv = 2;
  c.causal = c.lower_right = true;
  c.softcap = 1.5;
  c.slopes = {0.3, 0.1};
  c.sinks = {0.2, -0.4};
  FillInputs(c, rng);
  const std::vector<double> grad_out =
      Normal(rng, static_cast<std::size_t>(c.batch * c.heads * c.lq * c.dv), 1);
  std::vector<double> out, lse;
  SmxGradients<double> got;
  ASSERT_TRUE(RunSmx<double>(c, out, lse, &grad_out, &got).ok());
  auto loss = [&](const Case& x) {
    std::vector<double> o, l;
    EXPECT_TRUE(RunSmx<double>(x, o, l).ok());
    double sum = 0;
    for (std::size_t i = 0; i < o.size(); ++i) sum += grad_out[i] * o[i];
    return sum;
  };
  const double h = 1e-6;
  auto check = [&](std::vector<double> Case::*field, const std::vector<double>& grad,
                   const char* name) {
    for (std::size_t i = 0; i < (c.*field).size(); ++i) {
      Case plus = c, minus = c;
      (plus.*field)[i] += h;
      (minus.*field)[i] -= h;
      const double fd = (loss(plus) - loss(minus)) / (2 * h);
      EXPECT_NEAR(grad[i], fd, 1e-7 * (1 + std::fabs(fd))) << name << "[" << i << "] " << tag();
    }
  };
  check(&Case::q, got.dq, "dq");
  check(&Case::k, got.dk, "dk");
  check(&Case::v, got.dv, "dv");
}

// The backward pass's edge cases: keys no row attends, poisoned with NaN and inf, reach no
// gradient and get zero gradients; rows with no key get dq = 0; Lk = 0 and Lq = 0.
TEST_P(AttentionEdges, BackwardEdgeCases) {
  constexpr double kNaN = std::numeric_limits<double>::quiet_NaN();
  std::mt19937_64 rng(45);
  for (std::int64_t lq : {2, 9}) {  // decoding-sized and packed query blocks
    Case c;
    c.batch = 2;
    c.lq = lq;
    c.lk = 150;
    c.d = 4;
    c.dv = 16;
    c.mask_kind = 1;
    c.mask_shape = {c.batch, 1, 1, c.lk};  // key padding: keys 3 and 140 of batch 1 are out
    c.mask.assign(static_cast<std::size_t>(c.batch * c.lk), 1);
    c.mask[c.lk + 3] = c.mask[c.lk + 140] = 0;
    FillInputs(c, rng);
    Case clean = c;
    const std::size_t k3 = static_cast<std::size_t>(c.lk + 3),
                      k140 = static_cast<std::size_t>(c.lk + 140);
    c.k[k3 * c.d] = kNaN;
    c.v[k140 * c.dv + 1] = std::numeric_limits<double>::infinity();
    c.k[k140 * c.d + 2] = -std::numeric_limits<double>::infinity();
    const std::vector<double> grad_out =
        Normal(rng, static_cast<std::size_t>(c.batch * c.heads * c.lq * c.dv), 1);
    std::vector<float> out, lse;
    SmxGradients<float> got;
    ASSERT_TRUE(RunSmx<float>(c, out, lse, &grad_out, &got).ok());
    const Gradients want = ReferenceBackward(clean, grad_out);
    EXPECT_TRUE(MatchesRel("dq, poisoned keys left out " + tag(), got.dq, want.dq, 2e-4, 2e-5));
    EXPECT_TRUE(MatchesRel("dk, poisoned keys left out " + tag(), got.dk, want.dk, 2e-4, 2e-5));
    EXPECT_TRUE(MatchesRel("dv, poisoned keys left out " + tag(), got.dv, want.dv, 2e-4, 2e-5));
  }
  {  // causal lower-right with Lq > Lk: the first rows attend nothing
    Case c;
    c.lq = 6;
    c.lk = 3;
    c.d = 2;
    c.dv = 3;
    c.causal = c.lower_right = true;
    FillInputs(c, rng);
    const std::vector<double> grad_out = Normal(rng, static_cast<std::size_t>(c.lq * c.dv), 1);
    std::vector<double> out, lse;
    SmxGradients<double> got;
    ASSERT_TRUE(RunSmx<double>(c, out, lse, &grad_out, &got).ok());
    for (std::int64_t i = 0; i < 3 * c.d; ++i) EXPECT_EQ(got.dq[i], 0.0) << i;
    const Gradients want = ReferenceBackward(c, grad_out);
    EXPECT_TRUE(MatchesRel("dq " + tag(), got.dq, want.dq, 1e-11, 1e-13));
    EXPECT_TRUE(MatchesRel("dk " + tag(), got.dk, want.dk, 1e-11, 1e-13));
    EXPECT_TRUE(MatchesRel("dv " + tag(), got.dv, want.dv, 1e-11, 1e-13));
  }
  for (auto [lq, lk] : {std::pair<std::int64_t, std::int64_t>{3, 0}, {0, 4}}) {
    Case c;
    c.lq = lq;
    c.lk = lk;
    c.d = 2;
    c.dv = 2;
    FillInputs(c, rng);
    const std::vector<double> grad_out = Normal(rng, static_cast<std::size_t>(c.lq * c.dv), 1);
    std::vector<double> out, lse;
    SmxGradients<double> got;
    ASSERT_TRUE(RunSmx<double>(c, out, lse, &grad_out, &got).ok());
    for (double x : got.dq) EXPECT_EQ(x, 0.0);
    for (double x : got.dk) EXPECT_EQ(x, 0.0);
    for (double x : got.dv) EXPECT_EQ(x, 0.0);
  }
}

TEST(AttentionErrors, NameTheProblem) {
  float q[2 * 3 * 4] = {}, k[2 * 5 * 4] = {}, v[2 * 5 * 6] = {}, out[2 * 3 * 6] = {}, lse[6] = {};
  const std::int64_t qs[3] = {2, 3, 4}, ks[3] = {2, 5, 4}, vs[3] = {2, 5, 6}, os[3] = {2, 3, 6},
                     ls[2] = {2, 3};
  const auto qv = smx::TensorView<const float>(q, qs).ref();
  const auto kv = smx::TensorView<const float>(k, ks).ref();
  const auto vv = smx::TensorView<const float>(v, vs).ref();
  const auto ov = smx::TensorView<float>(out, os).ref();
  auto message = [&](const smx::ConstTensorRef& a, const smx::ConstTensorRef& b,
                     const smx::ConstTensorRef& c, const smx::TensorRef& o,
                     const smx::AttentionOptions& opt = {}) {
    return smx::scaled_dot_product_attention(a, b, c, o, opt).message();
  };
  EXPECT_TRUE(smx::scaled_dot_product_attention(qv, kv, vv, ov).ok());
  EXPECT_TRUE(
      smx::scaled_dot_product_attention(qv, kv, vv, ov, smx::TensorView<float>(lse, ls).ref())
          .ok());
  auto contains = [](const std::string& s, const char* part) {
    return s.find(part) != std::string::npos;
  };
  const std::int64_t k3[3] = {2, 5, 3};
  EXPECT_TRUE(contains(message(qv, smx::TensorView<const float>(k, k3).ref(), vv, ov),
                       "(batch and d must agree)"));
  const std::int64_t o_bad[3] = {2, 3, 5};
  EXPECT_TRUE(contains(message(qv, kv, vv, smx::TensorView<float>(out, o_bad).ref()),
                       "out must be f32 [2, 3, 6], got f32 [2, 3, 5]"));
  const std::int64_t k1[3] = {1, 5, 4}, v1[3] = {1, 5, 6};
  const auto k1v = smx::TensorView<const float>(k, k1).ref();
  const auto v1v = smx::TensorView<const float>(v, v1).ref();
  EXPECT_TRUE(contains(message(qv, k1v, v1v, ov), "set enable_gqa"));
  EXPECT_TRUE(smx::scaled_dot_product_attention(qv, k1v, v1v, ov, {.enable_gqa = true}).ok());
  EXPECT_TRUE(contains(message(qv, kv, vv, ov, {.scale = std::numeric_limits<double>::infinity()}),
                       "scale must be finite"));
  EXPECT_TRUE(
      contains(message(qv, kv, vv, ov, {.softcap = -1}), "softcap must be finite and >= 0"));
  bool mask[3 * 5] = {};
  const std::int64_t m_ok[2] = {3, 5}, m_bad[2] = {3, 4};
  smx::AttentionOptions o;
  o.attn_mask = smx::AttentionMask::Bool(mask, smx::Layout::Contiguous(m_bad));
  EXPECT_TRUE(
      contains(message(qv, kv, vv, ov, o), "attn_mask [3, 4] does not broadcast to [1, 2, 3, 5]"));
  o.attn_mask = smx::AttentionMask::Bool(mask, smx::Layout::Contiguous(m_ok));
  o.is_causal = true;
  EXPECT_TRUE(contains(message(qv, kv, vv, ov, o), "is_causal and attn_mask cannot both"));
  double dmask[15] = {};
  o = {};
  o.attn_mask = smx::AttentionMask::Additive(smx::TensorView<const double>(dmask, m_ok).ref());
  EXPECT_TRUE(contains(message(qv, kv, vv, ov, o), "a float attn_mask must have q's dtype f32"));
  float sinks[3] = {};
  const std::int64_t s3[1] = {3};
  o = {};
  o.sinks = smx::TensorView<const float>(sinks, s3).ref();
  EXPECT_TRUE(contains(message(qv, kv, vv, ov, o), "sinks must be f32 [2]"));
  const std::int64_t q5[5] = {1, 1, 2, 3, 4};
  EXPECT_TRUE(contains(message(smx::TensorView<const float>(q, q5).ref(), kv, vv, ov),
                       "q must be [B, H, L, d], [H, L, d] or [L, d]"));
  const std::int64_t l_bad[2] = {2, 4};
  EXPECT_TRUE(contains(
      smx::scaled_dot_product_attention(qv, kv, vv, ov, smx::TensorView<float>(lse, l_bad).ref())
          .message(),
      "lse must be f32 [2, 3], got f32 [2, 4]"));
  // Nothing written on error.
  for (float x : out) EXPECT_EQ(x, 0.0f);
  // The backward pass: gradients shaped like their inputs, grad_out like out.
  float dq[2 * 3 * 4] = {}, dk[2 * 5 * 4] = {}, dv[2 * 5 * 6] = {};
  const auto lv = smx::TensorView<const float>(lse, ls).ref();
  auto backward = [&](const smx::ConstTensorRef& g, const smx::TensorRef& dqv) {
    return smx::scaled_dot_product_attention_backward(
               g, qv, kv, vv, smx::TensorView<const float>(out, os).ref(), lv, dqv,
               smx::TensorView<float>(dk, ks).ref(), smx::TensorView<float>(dv, vs).ref())
        .message();
  };
  const auto gv = smx::TensorView<const float>(out, os).ref();
  EXPECT_EQ(backward(gv, smx::TensorView<float>(dq, qs).ref()), "");
  EXPECT_TRUE(contains(backward(gv, smx::TensorView<float>(dq, k3).ref()),
                       "dq must be f32 [2, 3, 4] like q, got f32 [2, 5, 3]"));
  EXPECT_TRUE(contains(backward(smx::TensorView<const float>(out, o_bad).ref(),
                                smx::TensorView<float>(dq, qs).ref()),
                       "grad_out must be f32 [2, 3, 6] like out"));
  // Gradients over an input, or over each other: an error, nothing written.
  EXPECT_TRUE(contains(backward(gv, smx::TensorView<float>(q, qs).ref()), "dq overlaps q"));
  EXPECT_TRUE(
      contains(smx::scaled_dot_product_attention_backward(
                   gv, qv, kv, vv, smx::TensorView<const float>(out, os).ref(), lv,
                   smx::TensorView<float>(dk, qs).ref(), smx::TensorView<float>(dk, ks).ref(),
                   smx::TensorView<float>(dv, vs).ref())
                   .message(),
               "dq overlaps dk"));
}

SMX_INSTANTIATE_TARGETS(AttentionEdges);

}  // namespace
}  // namespace smx_test
