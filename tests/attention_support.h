// What the attention tests share: a case (shapes and options), a naive long-double reference that
// materialises every score (forward and gradients), smx run on a case, and a fixture that checks
// one against the other on the SIMD target under test.
#ifndef SMX_TESTS_ATTENTION_SUPPORT_H_
#define SMX_TESTS_ATTENTION_SUPPORT_H_

#include <cmath>
#include <cstdint>
#include <optional>
#include <random>
#include <string>
#include <type_traits>
#include <vector>

#include "smx/attention.h"
#include "target_sweep.h"
#include "test_util.h"

namespace smx_test {

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

struct Gradients {
  std::vector<ld> dq, dk, dv;
};

// Every score materialised, in long double: the output and lse of a case.
Result Reference(const Case& c);
// The gradients of sum(grad_out * out), every probability materialised, in long double.
Gradients ReferenceBackward(const Case& c, const std::vector<double>& grad_out);
std::vector<double> Normal(std::mt19937_64& rng, std::size_t n, double sd);
// q, k and v of the case's sizes, normal.
void FillInputs(Case& c, std::mt19937_64& rng);

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

class AttentionTest : public TargetTest {
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
};

}  // namespace smx_test

#endif  // SMX_TESTS_ATTENTION_SUPPORT_H_
