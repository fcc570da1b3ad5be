// Scaled dot-product attention (smx/attention.h): the golden `attention` cases, then a naive
// long-double reference that materialises every score, over shapes that cross the query-block and
// key-tile boundaries, with causal masks of both alignments, boolean and additive masks (full and
// broadcast), grouped-query heads, soft-capping, sinks, ALiBi and an explicit scale; strided
// views, the 16-bit types, the edge cases (fully masked rows, NaN and inf where they must not
// leak, empty sizes), errors and threads; on every SIMD target.
#include "smx/attention.h"

#include <cmath>
#include <cstdint>
#include <limits>
#include <optional>
#include <random>
#include <string>
#include <vector>

#include "golden.h"
#include "smx/runtime.h"
#include "target_sweep.h"
#include "test_util.h"

namespace smx_test {
namespace {

constexpr ld kInf = std::numeric_limits<ld>::infinity();

struct Case {
  std::int64_t batch = 1, heads = 1, kv_heads = 1, lq = 1, lk = 1, d = 1, dv = 1;
  int rank = 4;  // of q, k, v and out (the leading dimensions of size 1 dropped)
  bool causal = false, lower_right = false, gqa = false;
  std::optional<double> scale;
  double softcap = 0;
  std::vector<double> sinks, slopes;
  // attn_mask: kind 1 bool, 2 additive; its shape (broadcast to [B, H, Lq, Lk]) and values.
  int mask_kind = 0;
  std::vector<std::int64_t> mask_shape;
  std::vector<double> mask;     // bool: 0 or 1
  std::vector<double> q, k, v;  // contiguous [B, H(k), L, E]

  std::string Label() const {
    std::string s = "B=" + std::to_string(batch) + " H=" + std::to_string(heads) + "/" +
                    std::to_string(kv_heads) + " Lq=" + std::to_string(lq) +
                    " Lk=" + std::to_string(lk) + " d=" + std::to_string(d) +
                    " dv=" + std::to_string(dv);
    if (causal) s += lower_right ? " causal(lower-right)" : " causal";
    if (mask_kind) s += mask_kind == 1 ? " bool-mask" : " float-mask";
    if (softcap > 0) s += " softcap";
    if (!sinks.empty()) s += " sinks";
    if (!slopes.empty()) s += " alibi";
    if (scale) s += " scale";
    return s;
  }
  std::vector<std::int64_t> Shape(std::int64_t h, std::int64_t l, std::int64_t e) const {
    std::vector<std::int64_t> full = {batch, h, l, e};
    return std::vector<std::int64_t>(full.end() - rank, full.end());
  }
  // The mask entry broadcast at [b, h, i, j].
  double MaskAt(std::int64_t b, std::int64_t h, std::int64_t i, std::int64_t j) const {
    const std::int64_t full[4] = {b, h, i, j};
    const int mr = static_cast<int>(mask_shape.size());
    std::int64_t at = 0;
    for (int a = 0; a < mr; ++a) {
      const std::int64_t idx = mask_shape[a] == 1 ? 0 : full[4 - mr + a];
      at = at * mask_shape[a] + idx;
    }
    return mask[static_cast<std::size_t>(at)];
  }
};

struct Result {
  std::vector<ld> out, lse;
};

// Every score materialised, in long double.
Result Reference(const Case& c) {
  Result r;
  r.out.assign(static_cast<std::size_t>(c.batch * c.heads * c.lq * c.dv), 0);
  r.lse.assign(static_cast<std::size_t>(c.batch * c.heads * c.lq), -kInf);
  const ld scale = c.scale ? ld(*c.scale) : 1 / std::sqrt(ld(c.d));
  const std::int64_t group = c.heads / c.kv_heads;
  for (std::int64_t b = 0; b < c.batch; ++b) {
    for (std::int64_t h = 0; h < c.heads; ++h) {
      const std::int64_t kvh = h / group;
      for (std::int64_t i = 0; i < c.lq; ++i) {
        std::vector<ld> s(static_cast<std::size_t>(c.lk));
        std::vector<bool> on(static_cast<std::size_t>(c.lk), true);
        ld m = c.sinks.empty() ? -kInf : ld(c.sinks[h]);
        for (std::int64_t j = 0; j < c.lk; ++j) {
          ld dot = 0;
          for (std::int64_t e = 0; e < c.d; ++e) {
            dot += ld(c.q[((b * c.heads + h) * c.lq + i) * c.d + e]) *
                   ld(c.k[((b * c.kv_heads + kvh) * c.lk + j) * c.d + e]);
          }
          ld v = c.d > 0 ? scale * dot : 0;
          if (c.softcap > 0) v = ld(c.softcap) * std::tanh(v / ld(c.softcap));
          if (!c.slopes.empty()) v -= ld(c.slopes[h]) * std::fabs(ld(i + c.lk - c.lq - j));
          if (c.mask_kind == 2) {
            const ld a = c.MaskAt(b, h, i, j);
            if (a == -kInf) on[j] = false;
            v += a;
          } else if (c.mask_kind == 1) {
            on[j] = c.MaskAt(b, h, i, j) != 0;
          }
          if (c.causal && j > i + (c.lower_right ? c.lk - c.lq : 0)) on[j] = false;
          s[j] = v;
          if (on[j] && v > m) m = v;
        }
        if (m == -kInf) continue;  // nothing attended: O = 0, lse = -inf
        ld l = c.sinks.empty() ? 0 : std::exp(ld(c.sinks[h]) - m);
        std::vector<ld> o(static_cast<std::size_t>(c.dv), 0);
        for (std::int64_t j = 0; j < c.lk; ++j) {
          if (!on[j]) continue;
          const ld p = std::exp(s[j] - m);
          l += p;
          for (std::int64_t e = 0; e < c.dv; ++e) {
            o[e] += p * ld(c.v[((b * c.kv_heads + kvh) * c.lk + j) * c.dv + e]);
          }
        }
        const std::size_t row = static_cast<std::size_t>((b * c.heads + h) * c.lq + i);
        for (std::int64_t e = 0; e < c.dv; ++e) r.out[row * c.dv + e] = o[e] / l;
        r.lse[row] = m + std::log(l);
      }
    }
  }
  return r;
}

struct Gradients {
  std::vector<ld> dq, dk, dv;
};

// The gradients of sum(grad_out * out), every probability materialised, in long double.
Gradients ReferenceBackward(const Case& c, const std::vector<double>& grad_out) {
  const Result fwd = Reference(c);
  Gradients g;
  g.dq.assign(c.q.size(), 0);
  g.dk.assign(c.k.size(), 0);
  g.dv.assign(c.v.size(), 0);
  const ld scale = c.scale ? ld(*c.scale) : 1 / std::sqrt(ld(c.d));
  const std::int64_t group = c.heads / c.kv_heads;
  for (std::int64_t b = 0; b < c.batch; ++b) {
    for (std::int64_t h = 0; h < c.heads; ++h) {
      const std::int64_t kvh = h / group;
      for (std::int64_t i = 0; i < c.lq; ++i) {
        const std::size_t row = static_cast<std::size_t>((b * c.heads + h) * c.lq + i);
        const ld lse = fwd.lse[row];
        if (lse == -kInf) continue;
        ld delta = 0;
        for (std::int64_t e = 0; e < c.dv; ++e) {
          delta += ld(grad_out[row * c.dv + e]) * fwd.out[row * c.dv + e];
        }
        for (std::int64_t j = 0; j < c.lk; ++j) {
          const std::size_t key = static_cast<std::size_t>((b * c.kv_heads + kvh) * c.lk + j);
          ld dot = 0;
          for (std::int64_t e = 0; e < c.d; ++e) {
            dot += ld(c.q[row * c.d + e]) * ld(c.k[key * c.d + e]);
          }
          const ld u = c.d > 0 ? scale * dot : 0;
          ld v = u, dtanh = 1;
          if (c.softcap > 0) {
            const ld t = std::tanh(u / ld(c.softcap));
            v = ld(c.softcap) * t;
            dtanh = 1 - t * t;
          }
          if (!c.slopes.empty()) v -= ld(c.slopes[h]) * std::fabs(ld(i + c.lk - c.lq - j));
          bool on = true;
          if (c.mask_kind == 2) {
            const ld a = c.MaskAt(b, h, i, j);
            on = a != -kInf;
            v += a;
          } else if (c.mask_kind == 1) {
            on = c.MaskAt(b, h, i, j) != 0;
          }
          if (c.causal && j > i + (c.lower_right ? c.lk - c.lq : 0)) on = false;
          if (!on) continue;
          const ld p = std::exp(v - lse);
          ld dp = 0;
          for (std::int64_t e = 0; e < c.dv; ++e) {
            dp += ld(grad_out[row * c.dv + e]) * ld(c.v[key * c.dv + e]);
            g.dv[key * c.dv + e] += p * ld(grad_out[row * c.dv + e]);
          }
          const ld ds = p * (dp - delta) * dtanh;
          for (std::int64_t e = 0; e < c.d; ++e) {
            g.dq[row * c.d + e] += scale * ds * ld(c.k[key * c.d + e]);
            g.dk[key * c.d + e] += scale * ds * ld(c.q[row * c.d + e]);
          }
        }
      }
    }
  }
  return g;
}

template <typename T>
std::vector<T> Converted(const std::vector<double>& v) {
  std::vector<T> out(v.size());
  for (std::size_t i = 0; i < v.size(); ++i) out[i] = Elem<T>::Round(v[i]);
  return out;
}

template <typename T>
struct SmxGradients {
  std::vector<T> dq, dk, dv;
};

// Runs smx on the case in T (contiguous views of rank c.rank); with grads, the backward pass too.
template <typename T>
smx::Status RunSmx(const Case& c, std::vector<T>& out,
                   std::vector<std::conditional_t<std::is_same_v<T, double>, double, float>>& lse,
                   const std::vector<double>* grad_out = nullptr,
                   SmxGradients<T>* grads = nullptr) {
  using L = std::conditional_t<std::is_same_v<T, double>, double, float>;
  const std::vector<T> q = Converted<T>(c.q), k = Converted<T>(c.k), v = Converted<T>(c.v);
  const std::vector<T> sinks = Converted<T>(c.sinks), slopes = Converted<T>(c.slopes);
  std::vector<T> mask_t;
  std::vector<std::uint8_t> mask_b;
  out.assign(static_cast<std::size_t>(c.batch * c.heads * c.lq * c.dv), Elem<T>::Round(-7));
  lse.assign(static_cast<std::size_t>(c.batch * c.heads * c.lq), L(-7));
  const auto qs = c.Shape(c.heads, c.lq, c.d), ks = c.Shape(c.kv_heads, c.lk, c.d),
             vs = c.Shape(c.kv_heads, c.lk, c.dv), os = c.Shape(c.heads, c.lq, c.dv);
  std::vector<std::int64_t> ls(os.begin(), os.end() - 1);
  smx::AttentionOptions o;
  o.is_causal = c.causal;
  o.causal_alignment =
      c.lower_right ? smx::CausalAlignment::kLowerRight : smx::CausalAlignment::kTopLeft;
  o.scale = c.scale;
  o.enable_gqa = c.gqa;
  o.softcap = c.softcap;
  const std::int64_t hs[1] = {c.heads};
  if (!c.sinks.empty()) o.sinks = smx::TensorView<const T>(sinks.data(), hs).ref();
  if (!c.slopes.empty()) o.alibi_slopes = smx::TensorView<const T>(slopes.data(), hs).ref();
  const smx::Layout mask_layout = smx::Layout::Contiguous(c.mask_shape);
  if (c.mask_kind == 1) {
    mask_b.resize(c.mask.size());
    for (std::size_t i = 0; i < c.mask.size(); ++i) mask_b[i] = c.mask[i] != 0;
    o.attn_mask =
        smx::AttentionMask::Bool(reinterpret_cast<const bool*>(mask_b.data()), mask_layout);
  } else if (c.mask_kind == 2) {
    mask_t = Converted<T>(c.mask);
    o.attn_mask =
        smx::AttentionMask::Additive(smx::TensorView<const T>(mask_t.data(), mask_layout).ref());
  }
  const smx::Status s = smx::scaled_dot_product_attention(
      smx::TensorView<const T>(q.data(), qs).ref(), smx::TensorView<const T>(k.data(), ks).ref(),
      smx::TensorView<const T>(v.data(), vs).ref(), smx::TensorView<T>(out.data(), os).ref(),
      smx::TensorView<L>(lse.data(), ls).ref(), o);
  if (!s.ok() || grads == nullptr) return s;
  // The backward pass from this forward pass's out and lse.
  const std::vector<T> g = Converted<T>(*grad_out);
  grads->dq.assign(q.size(), Elem<T>::Round(-7));
  grads->dk.assign(k.size(), Elem<T>::Round(-7));
  grads->dv.assign(v.size(), Elem<T>::Round(-7));
  return smx::scaled_dot_product_attention_backward(
      smx::TensorView<const T>(g.data(), os).ref(), smx::TensorView<const T>(q.data(), qs).ref(),
      smx::TensorView<const T>(k.data(), ks).ref(), smx::TensorView<const T>(v.data(), vs).ref(),
      smx::TensorView<const T>(out.data(), os).ref(),
      smx::TensorView<const L>(lse.data(), ls).ref(),
      smx::TensorView<T>(grads->dq.data(), qs).ref(),
      smx::TensorView<T>(grads->dk.data(), ks).ref(),
      smx::TensorView<T>(grads->dv.data(), vs).ref(), o);
}

std::vector<double> Normal(std::mt19937_64& rng, std::size_t n, double sd) {
  std::normal_distribution<double> nd(0, sd);
  std::vector<double> v(n);
  for (auto& x : v) x = nd(rng);
  return v;
}

void FillInputs(Case& c, std::mt19937_64& rng) {
  c.q = Normal(rng, static_cast<std::size_t>(c.batch * c.heads * c.lq * c.d), 1);
  c.k = Normal(rng, static_cast<std::size_t>(c.batch * c.kv_heads * c.lk * c.d), 1);
  c.v = Normal(rng, static_cast<std::size_t>(c.batch * c.kv_heads * c.lk * c.dv), 1);
}

class Attention : public TargetTest {
 protected:
  template <typename T>
  void Check(const Case& c, double rel, double abs) {
    using L = std::conditional_t<std::is_same_v<T, double>, double, float>;
    std::vector<T> out;
    std::vector<L> lse;
    const smx::Status s = RunSmx<T>(c, out, lse);
    ASSERT_TRUE(s.ok()) << c.Label() << ": " << s.message();
    const Result want = Reference(c);
    const std::string label = std::string(Elem<T>::kName) + " " + c.Label() + " " + tag();
    EXPECT_TRUE(MatchesRel("out " + label, out, want.out, rel, abs));
    EXPECT_TRUE(MatchesRel("lse " + label, lse, want.lse, rel, abs));
  }

  // The backward pass against ReferenceBackward, for a random grad_out.
  template <typename T>
  void CheckBackward(const Case& c, double rel, double abs, std::mt19937_64& rng) {
    using L = std::conditional_t<std::is_same_v<T, double>, double, float>;
    const std::vector<double> grad_out =
        Normal(rng, static_cast<std::size_t>(c.batch * c.heads * c.lq * c.dv), 1);
    std::vector<T> out;
    std::vector<L> lse;
    SmxGradients<T> got;
    const smx::Status s = RunSmx<T>(c, out, lse, &grad_out, &got);
    ASSERT_TRUE(s.ok()) << c.Label() << ": " << s.message();
    const Gradients want = ReferenceBackward(c, grad_out);
    const std::string label = std::string(Elem<T>::kName) + " " + c.Label() + " " + tag();
    EXPECT_TRUE(MatchesRel("dq " + label, got.dq, want.dq, rel, abs));
    EXPECT_TRUE(MatchesRel("dk " + label, got.dk, want.dk, rel, abs));
    EXPECT_TRUE(MatchesRel("dv " + label, got.dv, want.dv, rel, abs));
  }

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

// The edge cases of smx/attention.h.
TEST_P(Attention, EdgeCases) {
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
TEST_P(Attention, GradientsMatchFiniteDifferences) {
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
TEST_P(Attention, BackwardEdgeCases) {
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

SMX_INSTANTIATE_TARGETS(Attention);

}  // namespace
}  // namespace smx_test
