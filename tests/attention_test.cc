// Scaled dot-product attention (smx/attention.h), forward and backward against the long-double
// reference (attention_support.h): the golden `attention` cases, shapes that cross the query-block
// and key-tile boundaries with causal masks of both alignments, boolean and additive masks (full
// and broadcast), grouped-query heads, soft-capping, sinks, ALiBi and an explicit scale; ranks and
// strided views, keys packed tile by tile, the 16-bit types; on every SIMD target.
#include <cmath>
#include <cstdint>
#include <limits>
#include <random>
#include <string>
#include <vector>

#include "attention_support.h"
#include "golden.h"

namespace smx_test {
namespace {

class Attention : public AttentionTest {
 protected:
  template <typename T>
  void RunGolden() {
    const GoldenFile& gf = Golden();
    ASSERT_TRUE(gf.error.empty()) << gf.error;
    std::size_t run = 0;
    for (const auto& g : gf.tensor_cases) {
      if (g.op != "attention" || g.dtype != Elem<T>::kName) continue;
      const GoldenTensor &q = g.inputs.at("Q"), &k = g.inputs.at("K"), &v = g.inputs.at("V");
      Case c;
      c.rank = 2;
      c.lq = q.shape[0];
      c.d = q.shape[1];
      c.lk = k.shape[0];
      c.dv = v.shape[1];
      c.q = q.data;
      c.k = k.data;
      c.v = v.data;
      c.causal = g.params.count("causal") && g.params.at("causal") != 0;
      c.lower_right = true;  // FORMAT.md: j <= i + (Lk - Lq)
      if (g.params.count("scale")) c.scale = g.params.at("scale");
      using L = std::conditional_t<std::is_same_v<T, double>, double, float>;
      std::vector<T> out;
      std::vector<L> lse;
      const smx::Status s = RunSmx<T>(c, out, lse);
      ASSERT_TRUE(s.ok()) << g.id << ": " << s.message();
      const GoldenTensor &want_o = g.expected.at("O"), &want_l = g.expected.at("lse");
      ASSERT_EQ(g.tol_kind, "rel") << g.id;
      EXPECT_TRUE(MatchesRel(g.id + " O " + tag(), out,
                             std::vector<ld>(want_o.data.begin(), want_o.data.end()), g.tol_value,
                             g.tol_abs));
      EXPECT_TRUE(MatchesRel(g.id + " lse " + tag(), lse,
                             std::vector<ld>(want_l.data.begin(), want_l.data.end()), g.tol_value,
                             g.tol_abs));
      ++run;
    }
    EXPECT_GE(run, 3u) << "golden attention cases in " << Elem<T>::kName;
  }

  // Shapes across the query blocks (32 rows) and key tiles (128 keys, padded to the vector), with
  // every option on its own and some together.
  template <typename T>
  void RunSweep() {
    constexpr bool kF64 = std::is_same_v<T, double>;
    const double rel = kF64 ? 1e-12 : 2e-5, abs = kF64 ? 1e-14 : 2e-6;
    std::mt19937_64 rng(kF64 ? 31 : 30);
    struct Dims {
      std::int64_t lq, lk, d, dv;
    };
    for (const Dims dims : {Dims{1, 1, 1, 1}, Dims{3, 5, 4, 3}, Dims{33, 17, 16, 16},
                            Dims{31, 129, 33, 17}, Dims{70, 300, 8, 40}, Dims{5, 257, 64, 64},
                            // decoding: few query rows, keys and values read in place
                            Dims{1, 300, 32, 32}, Dims{4, 130, 20, 16}}) {
      for (int variant = 0; variant < 10; ++variant) {
        Case c;
        c.batch = 2;
        c.heads = 2;
        c.kv_heads = 2;
        c.lq = dims.lq;
        c.lk = dims.lk;
        c.d = dims.d;
        c.dv = dims.dv;
        switch (variant) {
          case 1: c.causal = true; break;
          case 2: c.causal = c.lower_right = true; break;
          case 3:
            c.mask_kind = 1;
            c.mask_shape = {c.batch, c.heads, c.lq, c.lk};
            break;
          case 4:  // an additive [Lq, Lk] mask with some -inf
            c.mask_kind = 2;
            c.mask_shape = {c.lq, c.lk};
            break;
          case 5:
            c.heads = 4;
            c.kv_heads = 1;
            c.gqa = true;
            c.causal = c.lower_right = true;
            break;
          case 6:
            c.softcap = 2.5;
            c.scale = 0.8;
            break;
          case 7:
            c.sinks = {0.5, -1.0};
            c.slopes = {0.25, 0.0625};
            break;
          case 8:  // a key-padding mask [B, 1, 1, Lk], with sinks
            c.mask_kind = 1;
            c.mask_shape = {c.batch, 1, 1, c.lk};
            c.sinks = {2.0, -30.0};
            break;
          case 9:
            c.heads = 6;
            c.kv_heads = 3;
            c.gqa = true;
            c.softcap = 30;
            break;
          default: break;
        }
        std::int64_t mask_size = 1;
        for (auto s : c.mask_shape) mask_size *= s;
        std::uniform_real_distribution<double> u(0, 1);
        for (std::int64_t i = 0; i < mask_size && c.mask_kind != 0; ++i) {
          if (c.mask_kind == 1) {
            c.mask.push_back(u(rng) < 0.7 ? 1 : 0);
          } else {
            c.mask.push_back(u(rng) < 0.2 ? -std::numeric_limits<double>::infinity()
                                          : u(rng) - 0.5);
          }
        }
        FillInputs(c, rng);
        Check<T>(c, rel, abs);
        // Gradients sum many terms: f32 gets a looser bound.
        CheckBackward<T>(c, kF64 ? 1e-11 : 2e-4, kF64 ? 1e-13 : 2e-5, rng);
        if (HasFailure()) return;
      }
    }
  }
};

TEST_P(Attention, GoldenF32) { RunGolden<float>(); }
TEST_P(Attention, GoldenF64) { RunGolden<double>(); }
TEST_P(Attention, SweepF32) { RunSweep<float>(); }
TEST_P(Attention, SweepF64) { RunSweep<double>(); }

// Rank 3 and 2 views, and q, k, v and out as [B, L, H, E] tensors viewed as [B, H, L, E].
TEST_P(Attention, RanksAndStrides) {
  std::mt19937_64 rng(40);
  for (int rank : {2, 3}) {
    Case c;
    c.rank = rank;
    c.heads = c.kv_heads = rank == 3 ? 3 : 1;
    c.lq = 9;
    c.lk = 20;
    c.d = 7;
    c.dv = 5;
    c.causal = true;
    FillInputs(c, rng);
    Check<double>(c, 1e-12, 1e-14);
  }
  const std::int64_t B = 2, H = 3, Lq = 6, Lk = 11, d = 5, dv = 4;
  Case c;
  c.batch = B;
  c.heads = c.kv_heads = H;
  c.lq = Lq;
  c.lk = Lk;
  c.d = d;
  c.dv = dv;
  FillInputs(c, rng);
  // [B, L, H, E] storage of each tensor.
  auto blhe = [&](const std::vector<double>& x, std::int64_t L, std::int64_t E) {
    std::vector<double> y(x.size());
    for (std::int64_t b = 0; b < B; ++b)
      for (std::int64_t h = 0; h < H; ++h)
        for (std::int64_t l = 0; l < L; ++l)
          for (std::int64_t e = 0; e < E; ++e) {
            y[((b * L + l) * H + h) * E + e] = x[((b * H + h) * L + l) * E + e];
          }
    return y;
  };
  const std::vector<double> q = blhe(c.q, Lq, d), k = blhe(c.k, Lk, d), v = blhe(c.v, Lk, dv);
  std::vector<double> out(static_cast<std::size_t>(B * Lq * H * dv), -7);
  auto view = [&](auto* data, std::int64_t L, std::int64_t E) {
    const std::int64_t shape[4] = {B, H, L, E}, strides[4] = {L * H * E, E, H * E, 1};
    return smx::TensorView<std::remove_pointer_t<decltype(data)>>(data, shape, strides).ref();
  };
  ASSERT_TRUE(smx::scaled_dot_product_attention(view(q.data(), Lq, d), view(k.data(), Lk, d),
                                                view(v.data(), Lk, dv), view(out.data(), Lq, dv))
                  .ok());
  const Result want = Reference(c);
  std::vector<double> back(out.size());
  for (std::int64_t b = 0; b < B; ++b)
    for (std::int64_t h = 0; h < H; ++h)
      for (std::int64_t l = 0; l < Lq; ++l)
        for (std::int64_t e = 0; e < dv; ++e) {
          back[((b * H + h) * Lq + l) * dv + e] = out[((b * Lq + l) * H + h) * dv + e];
        }
  EXPECT_TRUE(MatchesRel("[B, L, H, E] views " + tag(), back, want.out, 1e-12, 1e-14));
}

// Keys and values of a head beyond the 32 MiB a thread keeps packed: every tile is packed again
// into one slot (33000 keys of d = 256: 35 MB in f32).
TEST_P(Attention, LongKeysPackedTileByTile) {
  std::mt19937_64 rng(48);
  Case c;
  c.lq = 5;  // more than the decoding path's rows: the packed tiles
  c.lk = 33000;
  c.d = 256;
  c.dv = 3;
  c.causal = c.lower_right = true;
  FillInputs(c, rng);
  Check<float>(c, 2e-5, 2e-6);
}

// f16 and bf16 in and out, computed in f32: within their rounding of the f32 result.
TEST_P(Attention, HalfTypes) {
  std::mt19937_64 rng(42);
  Case c;
  c.batch = 2;
  c.heads = 2;
  c.kv_heads = 2;
  c.lq = 19;
  c.lk = 140;
  c.d = 16;
  c.dv = 8;
  c.causal = true;
  FillInputs(c, rng);
  // The inputs as the 16-bit types hold them, so that the reference sees the same values.
  auto run = [&](auto tag, double rel) {
    using H = decltype(tag);
    Case r = c;
    for (auto* x : {&r.q, &r.k, &r.v}) {
      for (auto& e : *x) e = static_cast<double>(Elem<H>::Widen(Elem<H>::Round(e)));
    }
    std::vector<H> out;
    std::vector<float> lse;
    ASSERT_TRUE(RunSmx<H>(r, out, lse).ok());
    const Result want = Reference(r);
    EXPECT_TRUE(MatchesRel(std::string("out ") + Elem<H>::kName, out, want.out, rel, rel));
    EXPECT_TRUE(MatchesRel(std::string("lse ") + Elem<H>::kName, lse, want.lse, 1e-5, 1e-5));
  };
  run(smx::float16{}, 2e-3);
  run(smx::bfloat16{}, 1.6e-2);
}

SMX_INSTANTIATE_TARGETS(Attention);

}  // namespace
}  // namespace smx_test
