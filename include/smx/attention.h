// Scaled dot-product attention, O = softmax(scale Q K^T + bias) V, computed tile by tile with the
// online softmax: each query row keeps a running max m, a running sum l and its output row, and a
// tile of keys updates them (m' = max(m, tile max), l' = l e^(m - m') + sum_j e^(s_j - m'),
// O' = O e^(m - m') + sum_j e^(s_j - m') v_j). The score matrix is never stored: extra memory is a
// few tiles per thread and, so that they are packed once, the keys and values of the head a
// thread works on (O(Lk (d + dv)), at most 32 MiB per thread; longer heads are packed tile by
// tile), never O(Lq Lk).
//
// Shapes follow PyTorch's torch.nn.functional.scaled_dot_product_attention: q [B, H, Lq, d],
// k [B, Hk, Lk, d], v [B, Hk, Lk, dv], out [B, H, Lq, dv]; or the same without B ([H, L, d]) or
// without B and H ([L, d]). Any strides (a [B, L, H, d] tensor viewed as [B, H, L, d] works as is).
// Hk = H unless enable_gqa, where H must be a multiple of Hk and query head h reads key/value head
// h / (H / Hk) (grouped-query and multi-query attention, PyTorch's repeat_interleave).
//
// The score of query i and key j, in this order:
//   s = scale * q_i . k_j                       scale: 1/sqrt(d) unless given
//   s = softcap * tanh(s / softcap)             softcap > 0 (Gemma 2's logit soft-capping)
//   s = s - slope_h * |i + Lk - Lq - j|         alibi_slopes given (FlashAttention's ALiBi)
//   s = s + mask[i, j]                          an additive attn_mask
// and key j is left out (by selection: its score, key and value are never read into the sums)
// where a boolean attn_mask is false, or under is_causal where j > i (top-left alignment, as
// PyTorch) or j > i + Lk - Lq (lower-right, FlashAttention's, what a KV-cache decoder needs).
// sinks[h] (gpt-oss's attention sinks) is one more logit in every row's softmax denominator, with
// no value: l gains e^(sink - m).
//
// Outputs: out, and on request lse[B, H, Lq] = log sum_j e^(s_j) (plus e^sink), the row's
// logsumexp that the backward pass needs. Edge cases, all tested:
//   - a query row with no key left (all masked, or causal lower-right with i + Lk - Lq < 0, or
//     Lk = 0) gives O = 0 and lse = -inf, never NaN (with a sink: O = 0, lse = sink);
//   - a NaN or inf in a key or value that the row does not attend does not reach its output;
//     one it attends gives NaN, as does a NaN query;
//   - Lq = 0, B = 0 or H = 0: nothing to do; d = 0: every score is 0 (+ bias).
//
// Accuracy (golden cases of shared/golden/public.jsonl): f32 within 1e-5 relative + 1e-5
// absolute of the exact attention of the given inputs, f64 within 1e-12 + 1e-15. Computed in f32
// for f32, f16 and bf16 data (16-bit data is widened on load), in f64 for f64. The result does not
// depend on the thread count.
//
// Example:
//   smx::Status s = smx::scaled_dot_product_attention(q.ref(), k.ref(), v.ref(), out.ref(),
//                                                     {.is_causal = true});
#ifndef SMX_ATTENTION_H_
#define SMX_ATTENTION_H_

#include <cstdint>
#include <optional>

#include "smx/status.h"
#include "smx/tensor.h"

namespace smx {

// Where a causal mask puts the diagonal when Lq != Lk.
enum class CausalAlignment : std::uint8_t {
  kTopLeft,     // query i attends keys j <= i (PyTorch's is_causal)
  kLowerRight,  // query i attends keys j <= i + Lk - Lq (FlashAttention's; the last query sees all)
};

// "top_left", "lower_right"; parse_causal_alignment returns false for anything else.
const char* causal_alignment_name(CausalAlignment alignment);
bool parse_causal_alignment(const char* name, CausalAlignment& alignment);

// attn_mask: broadcast to [B, H, Lq, Lk] as PyTorch broadcasts (its dimensions aligned from the
// last, each of size 1 or the full size; fewer than 4 dimensions are leading 1s).
struct AttentionMask {
  enum class Kind : std::uint8_t {
    kNone,
    kBool,      // one byte per entry: nonzero attends, 0 leaves the key out
    kAdditive,  // added to the scores; q's dtype (-inf leaves the key out, by selection)
  };
  Kind kind = Kind::kNone;
  const void* data = nullptr;
  DType dtype = DType::kF32;  // kAdditive
  Layout layout;

  static AttentionMask Bool(const bool* data, const Layout& layout) {
    return {Kind::kBool, data, DType::kF32, layout};
  }
  static AttentionMask Additive(const ConstTensorRef& mask) {
    return {Kind::kAdditive, mask.data, mask.dtype, mask.layout};
  }
};

struct AttentionOptions {
  AttentionMask attn_mask{};
  bool is_causal = false;
  CausalAlignment causal_alignment = CausalAlignment::kTopLeft;
  std::optional<double> scale{};  // default 1/sqrt(d)
  bool enable_gqa = false;
  double softcap = 0;  // > 0: logit soft-capping; 0: none
  // [H] per-head tensors of q's dtype (data == nullptr: none).
  ConstTensorRef sinks{};
  ConstTensorRef alibi_slopes{};
};

// out (q's dtype, [..., Lq, dv]) = attention(q, k, v). q, k and v share one dtype. Errors (nothing
// is written): ranks other than 2-4 or that differ, batch or head counts that do not match (or
// do not divide, with enable_gqa), d of q and k that differ, a mask that does not broadcast or
// has another dtype, a scale or softcap that is not finite (or softcap < 0), sinks or slopes not
// of shape [H], is_causal together with a mask, out or lse of the wrong shape or dtype.
Status scaled_dot_product_attention(const ConstTensorRef& q, const ConstTensorRef& k,
                                    const ConstTensorRef& v, const TensorRef& out,
                                    const AttentionOptions& options = {});
// The same, and lse ([..., Lq]; f64 for f64 data, f32 otherwise).
Status scaled_dot_product_attention(const ConstTensorRef& q, const ConstTensorRef& k,
                                    const ConstTensorRef& v, const TensorRef& out,
                                    const TensorRef& lse, const AttentionOptions& options = {});

// The backward pass, from the forward pass's out and lse (the probabilities are recomputed tile by
// tile, never stored): with grad_out = dL/dout, writes dq, dk and dv (the shapes and dtype of q, k
// and v; with enable_gqa a key head's gradients sum over its query heads). Pass the options of
// the forward call. With D_i = grad_out_i . out_i and P = e^(s - lse),
//   dv_j = sum_i P_ij grad_out_i,   dS_ij = P_ij (grad_out_i . v_j - D_i) (ds/du: softcap's
//   1 - tanh^2), dq_i = scale sum_j dS_ij k_j,   dk_j = scale sum_i dS_ij q_i.
// Keys a row leaves out add nothing to its gradients (their P is 0 by selection: a NaN there does
// not leak). sinks and alibi_slopes get no gradient. Errors as the forward pass, plus grad_out of
// another shape than out's, lse of another shape, dq, dk or dv of another shape or dtype, or
// overlapping an input or each other. Extra memory: one value per query row (D), tiles per
// thread and, when a thread takes a whole (batch, key head), its query heads' q, grad_out and dq
// rows (at most 64 MiB per thread).
Status scaled_dot_product_attention_backward(const ConstTensorRef& grad_out,
                                             const ConstTensorRef& q, const ConstTensorRef& k,
                                             const ConstTensorRef& v, const ConstTensorRef& out,
                                             const ConstTensorRef& lse, const TensorRef& dq,
                                             const TensorRef& dk, const TensorRef& dv,
                                             const AttentionOptions& options = {});

}  // namespace smx

#endif  // SMX_ATTENTION_H_
