// The attention backward pass, FlashAttention-2's way on the CPU: the probabilities are recomputed
// tile by tile from q, k and the saved lse, never stored. Three phases, each over independent
// tasks on the threads:
//   1. D_i = grad_out_i . out_i for every query row;
//   2. the key side: tasks of (batch, key head, key block) sum dk and dv over every query block
//      (and every query head of a GQA group);
//   3. the query side: tasks of (batch, head, query block) sum dq over the key tiles.
// Every gradient element is written by one task, so the results do not depend on the thread
// count, and no task waits on another.
#include <algorithm>
#include <cmath>
#include <cstdint>
#include <limits>
#include <string>
#include <tuple>
#include <utility>
#include <vector>

#include "attention/kernels.h"
#include "attention/plan.h"
#include "core/layout.h"
#include "core/parallel.h"
#include "core/storage.h"
#include "smx/attention.h"

namespace smx {
namespace {

using internal::AttentionPlan;
using internal::ComputeType;
using internal::KernelsOf;
using internal::RoundUp;
using internal::View4;

constexpr const char* kOp = "scaled_dot_product_attention_backward";
// The query side keeps a head's packed key tiles (K^T, K and V^T) up to this much, as the forward
// pass does.
constexpr std::int64_t kMaxCachedBytes = std::int64_t{32} << 20;
// HeadTasks holds a head group's q, grad_out and dq rows up to this much per thread (f32, d = dv =
// 128: Lq = 16384 for one query head per key head).
constexpr std::int64_t kMaxHeadBytes = std::int64_t{64} << 20;
constexpr std::int64_t kMaxPad = 16;  // the most a row is padded (AVX-512 f32 lanes)

Status CheckLike(const char* name, const Layout& layout, DType dtype, const char* like_name,
                 const ConstTensorRef& like) {
  if (dtype != like.dtype || internal::ShapeString(layout) != internal::ShapeString(like.layout)) {
    return Status::InvalidArgument(
        std::string(kOp) + ": " + name + " must be " + dtype_name(like.dtype) + " " +
        internal::ShapeString(like.layout) + " like " + like_name + ", got " + dtype_name(dtype) +
        " " + internal::ShapeString(layout));
  }
  return Status::Ok();
}

template <typename S>
struct Tensors {
  using C = ComputeType<S>;
  const S *grad_out, *q, *k, *v, *out;
  const C* lse;
  S *dq, *dk, *dv;
  View4 grad_out_view, dq_view, dk_view, dv_view;
};

// A task's tiles of queries: the scaled rows of q ([rows, d_pad], zero-padded) and of grad_out
// ([rows, dv_pad]).
template <typename S>
void PackQueries(const AttentionPlan& p, const Tensors<S>& t, std::int64_t b, std::int64_t h,
                 std::int64_t i0, std::int64_t rows, std::int64_t d_pad, std::int64_t dv_pad,
                 ComputeType<S>* qs, ComputeType<S>* dout) {
  using C = ComputeType<S>;
  internal::PackTile<false>(t.q, p.q, b, h, i0, rows, p.d, d_pad, rows, qs);
  const C scale = static_cast<C>(p.scale);
  for (std::int64_t i = 0; i < rows * d_pad; ++i) qs[i] *= scale;
  internal::PackTile<false>(t.grad_out, t.grad_out_view, b, h, i0, rows, p.dv, dv_pad, rows, dout);
}

// Per-thread buffers of a block of query rows against a tile of keys (qs and dout: one packed
// query block, for the callers that pack a block at a time).
template <typename C>
struct ScoreTiles {
  std::vector<C> qs, dout, s, dp, dtanh, mask;
  ScoreTiles(const AttentionPlan& p, std::int64_t block_q, std::int64_t block_k, std::int64_t d_pad,
             std::int64_t dv_pad, bool query_block) {
    if (query_block) {
      qs.resize(static_cast<std::size_t>(block_q * d_pad));
      dout.resize(static_cast<std::size_t>(block_q * dv_pad));
    }
    s.resize(static_cast<std::size_t>(block_q * block_k));
    dp.resize(s.size());
    if (p.softcap > 0) dtanh.resize(s.size());
    if (p.mask_kind != AttentionMask::Kind::kNone) mask.resize(s.size());
  }
};

// For query rows [i0, i0 + rows) of head h (packed in qs and dout) and keys [j0, j0 + keys) (K^T
// in kt, V^T in vt, both [*, keys_pad]): the probabilities into w.s, the score gradients dS into
// w.dp.
template <typename S>
void ScoreGradients(const AttentionPlan& p, const std::vector<ComputeType<S>>& delta,
                    const Tensors<S>& t, const internal::AttentionKernels<ComputeType<S>>& kern,
                    ScoreTiles<ComputeType<S>>& w, std::int64_t b, std::int64_t h, std::int64_t i0,
                    std::int64_t rows, std::int64_t j0, std::int64_t keys, std::int64_t keys_pad,
                    std::int64_t d_pad, std::int64_t dv_pad, const ComputeType<S>* qs,
                    const ComputeType<S>* dout, const ComputeType<S>* kt,
                    const ComputeType<S>* vt) {
  const auto ks = static_cast<std::size_t>(keys_pad);
  kern.gemm(qs, static_cast<std::size_t>(d_pad), kt, ks, w.s.data(), ks,
            static_cast<std::size_t>(rows), ks, static_cast<std::size_t>(p.d), false);
  if (!w.mask.empty()) {
    internal::FillMaskTile<S>(p, b, h, i0, rows, j0, keys, keys_pad, w.mask.data());
  }
  kern.gemm(dout, static_cast<std::size_t>(dv_pad), vt, ks, w.dp.data(), ks,
            static_cast<std::size_t>(rows), ks, static_cast<std::size_t>(p.dv), false);
  for (std::int64_t r = 0; r < rows; ++r) {
    const std::int64_t i = i0 + r;
    const auto shape = internal::RowShape<ComputeType<S>>(
        p, h, i, j0, keys, w.mask.empty() ? nullptr : w.mask.data() + r * keys_pad);
    auto* dtanh = w.dtanh.empty() ? nullptr : w.dtanh.data() + r * keys_pad;
    const std::int64_t row = (b * p.heads + h) * p.lq + i;
    kern.probabilities_row(w.s.data() + r * keys_pad, ks, shape, t.lse[p.lse.Offset(b, h, i, 0)],
                           dtanh);
    kern.score_gradient_row(w.s.data() + r * keys_pad, w.dp.data() + r * keys_pad, ks,
                            delta[static_cast<std::size_t>(row)], dtanh);
  }
}

// Phase 2: dk and dv of key blocks [begin, end) (tasks of (batch, key head, key block)).
template <typename S>
void KeySide(const AttentionPlan& p, const Tensors<S>& t, const std::vector<ComputeType<S>>& delta,
             std::int64_t begin, std::int64_t end) {
  using C = ComputeType<S>;
  const internal::AttentionKernels<C>& kern = KernelsOf<C>(internal::GetAttentionKernels());
  const internal::TileSizes sizes(p, kern.lanes);
  const std::int64_t lanes = sizes.lanes, block_q = sizes.block_q, block_k = sizes.block_k;
  const std::int64_t d_pad = sizes.d_pad, dv_pad = sizes.dv_pad;
  const std::int64_t key_blocks = (p.lk + block_k - 1) / block_k;
  const std::int64_t group = p.heads / p.kv_heads;
  ScoreTiles<C> w(p, block_q, block_k, d_pad, dv_pad, /*query_block=*/true);
  std::vector<C> kt(static_cast<std::size_t>(std::max<std::int64_t>(p.d, 1) * block_k));
  std::vector<C> vt(static_cast<std::size_t>(std::max<std::int64_t>(p.dv, 1) * block_k));
  std::vector<C> dk(static_cast<std::size_t>(block_k * d_pad));
  std::vector<C> dv(static_cast<std::size_t>(block_k * dv_pad));
  for (std::int64_t task = begin; task < end; ++task) {
    const std::int64_t b = task / (p.kv_heads * key_blocks);
    const std::int64_t kvh = task / key_blocks % p.kv_heads;
    const std::int64_t j0 = task % key_blocks * block_k;
    const std::int64_t keys = std::min(block_k, p.lk - j0);
    const std::int64_t keys_pad = RoundUp(keys, lanes);
    internal::PackTile<true>(t.k, p.k, b, kvh, j0, keys, p.d, keys_pad, keys_pad, kt.data());
    internal::PackTile<true>(t.v, p.v, b, kvh, j0, keys, p.dv, keys_pad, keys_pad, vt.data());
    std::fill(dk.begin(), dk.end(), C(0));
    std::fill(dv.begin(), dv.end(), C(0));
    const auto ks = static_cast<std::size_t>(keys);
    for (std::int64_t h = kvh * group; h < (kvh + 1) * group; ++h) {
      for (std::int64_t i0 = 0; i0 < p.lq; i0 += block_q) {
        const std::int64_t rows = std::min(block_q, p.lq - i0);
        // Causal: rows whose last key comes before the block add nothing.
        if (p.causal && i0 + rows - 1 + p.causal_offset < j0) continue;
        PackQueries(p, t, b, h, i0, rows, d_pad, dv_pad, w.qs.data(), w.dout.data());
        ScoreGradients(p, delta, t, kern, w, b, h, i0, rows, j0, keys, keys_pad, d_pad, dv_pad,
                       w.qs.data(), w.dout.data(), kt.data(), vt.data());
        // dv += P^T grad_out, dk += dS^T (scale q): P and dS are [rows, keys_pad], read
        // transposed.
        const auto kp = static_cast<std::size_t>(keys_pad), r = static_cast<std::size_t>(rows);
        kern.gemm_tn(w.s.data(), kp, w.dout.data(), static_cast<std::size_t>(dv_pad), dv.data(),
                     static_cast<std::size_t>(dv_pad), ks, static_cast<std::size_t>(dv_pad), r,
                     true);
        kern.gemm_tn(w.dp.data(), kp, w.qs.data(), static_cast<std::size_t>(d_pad), dk.data(),
                     static_cast<std::size_t>(d_pad), ks, static_cast<std::size_t>(d_pad), r, true);
      }
    }
    for (std::int64_t c = 0; c < keys; ++c) {
      for (std::int64_t e = 0; e < p.d; ++e) {
        t.dk[t.dk_view.Offset(b, kvh, j0 + c, e)] = internal::FromCompute<S>(dk[c * d_pad + e]);
      }
      for (std::int64_t e = 0; e < p.dv; ++e) {
        t.dv[t.dv_view.Offset(b, kvh, j0 + c, e)] = internal::FromCompute<S>(dv[c * dv_pad + e]);
      }
    }
  }
}

// Phase 3: dq of query blocks [begin, end) (tasks of (batch, head, query block)).
template <typename S>
void QuerySide(const AttentionPlan& p, const Tensors<S>& t,
               const std::vector<ComputeType<S>>& delta, std::int64_t begin, std::int64_t end) {
  using C = ComputeType<S>;
  const internal::AttentionKernels<C>& kern = KernelsOf<C>(internal::GetAttentionKernels());
  const internal::TileSizes sizes(p, kern.lanes);
  const std::int64_t lanes = sizes.lanes, block_q = sizes.block_q, block_k = sizes.block_k;
  const std::int64_t d_pad = sizes.d_pad, dv_pad = sizes.dv_pad;
  const std::int64_t query_blocks = (p.lq + block_q - 1) / block_q;
  const std::int64_t group = p.kv_heads > 0 ? p.heads / p.kv_heads : 1;
  ScoreTiles<C> w(p, block_q, block_k, d_pad, dv_pad, /*query_block=*/true);
  // A tile: K^T [d, block_k], K [block_k, d_pad], V^T [dv, block_k].
  const std::int64_t kt_size = std::max<std::int64_t>(p.d, 1) * block_k;
  const std::int64_t kr_size = block_k * d_pad;
  const std::int64_t vt_size = std::max<std::int64_t>(p.dv, 1) * block_k;
  internal::TileCache<C> cache((p.lk + block_k - 1) / block_k, kt_size + kr_size + vt_size,
                               kMaxCachedBytes);
  std::vector<C> dq(static_cast<std::size_t>(block_q * d_pad));
  const C scale = static_cast<C>(p.scale);
  for (std::int64_t task = begin; task < end; ++task) {
    const std::int64_t b = task / (p.heads * query_blocks);
    const std::int64_t h = task / query_blocks % p.heads;
    const std::int64_t i0 = task % query_blocks * block_q;
    const std::int64_t rows = std::min(block_q, p.lq - i0);
    const std::int64_t kvh = h / group;
    PackQueries(p, t, b, h, i0, rows, d_pad, dv_pad, w.qs.data(), w.dout.data());
    std::fill(dq.begin(), dq.end(), C(0));
    std::int64_t key_end = p.lk;
    if (p.causal) key_end = std::clamp<std::int64_t>(i0 + rows + p.causal_offset, 0, p.lk);
    cache.Select(b, kvh);
    for (std::int64_t j0 = 0; j0 < key_end; j0 += block_k) {
      const std::int64_t keys = std::min(block_k, p.lk - j0);
      const std::int64_t keys_pad = RoundUp(keys, lanes);
      bool fresh = false;
      std::uint8_t* k_finite = nullptr;
      C* kt = cache.Get(j0 / block_k, fresh, k_finite);
      C* kr = kt + kt_size;
      C* vt = kr + kr_size;
      if (fresh) {
        internal::PackTile<true>(t.k, p.k, b, kvh, j0, keys, p.d, keys_pad, keys_pad, kt);
        *k_finite =
            internal::PackTile<false>(t.k, p.k, b, kvh, j0, keys, p.d, d_pad, keys, kr) ? 1 : 0;
        internal::PackTile<true>(t.v, p.v, b, kvh, j0, keys, p.dv, keys_pad, keys_pad, vt);
      }
      ScoreGradients(p, delta, t, kern, w, b, h, i0, rows, j0, keys, keys_pad, d_pad, dv_pad,
                     w.qs.data(), w.dout.data(), kt, vt);
      const auto kp = static_cast<std::size_t>(keys_pad), dp = static_cast<std::size_t>(d_pad);
      if (*k_finite != 0) {
        kern.gemm(w.dp.data(), kp, kr, dp, dq.data(), dp, static_cast<std::size_t>(rows), dp,
                  static_cast<std::size_t>(keys), true);
      } else {
        // A key tile with a NaN or inf: keys a row leaves out (dS exactly 0) are skipped.
        kern.accumulate_attended(w.dp.data(), kp, kr, dp, dq.data(), dp,
                                 static_cast<std::size_t>(rows), dp,
                                 static_cast<std::size_t>(keys));
      }
    }
    for (std::int64_t r = 0; r < rows; ++r) {
      for (std::int64_t e = 0; e < p.d; ++e) {
        t.dq[t.dq_view.Offset(b, h, i0 + r, e)] =
            internal::FromCompute<S>(dq[r * d_pad + e] * scale);
      }
    }
  }
}

// Phases 2 and 3 at once, for tasks of (batch, key head): a task holds its query heads' packed q
// and grad_out rows and their dq sums (group Lq (2 d + dv) floats), so that each pair of a query
// block and a key tile computes its probabilities and score gradients once: five tile products
// instead of seven (L = 2048, d = 64, 1 thread: backward 0.33 -> 0.21 s). Taken when there are at
// least as many (batch, key head) pairs as threads and their rows fit kMaxHeadBytes.
template <typename S>
void HeadTasks(const AttentionPlan& p, const Tensors<S>& t,
               const std::vector<ComputeType<S>>& delta, std::int64_t begin, std::int64_t end) {
  using C = ComputeType<S>;
  const internal::AttentionKernels<C>& kern = KernelsOf<C>(internal::GetAttentionKernels());
  const internal::TileSizes sizes(p, kern.lanes);
  const std::int64_t lanes = sizes.lanes, block_q = sizes.block_q, block_k = sizes.block_k;
  const std::int64_t d_pad = sizes.d_pad, dv_pad = sizes.dv_pad;
  const std::int64_t group = p.heads / p.kv_heads;
  const std::int64_t rows_all = group * p.lq;
  ScoreTiles<C> w(p, block_q, block_k, d_pad, dv_pad, /*query_block=*/false);
  std::vector<C> qs(static_cast<std::size_t>(rows_all * d_pad));
  std::vector<C> dout(static_cast<std::size_t>(rows_all * dv_pad));
  std::vector<C> dq(static_cast<std::size_t>(rows_all * d_pad));
  std::vector<C> kt(static_cast<std::size_t>(std::max<std::int64_t>(p.d, 1) * block_k));
  std::vector<C> kr(static_cast<std::size_t>(block_k * d_pad));
  std::vector<C> vt(static_cast<std::size_t>(std::max<std::int64_t>(p.dv, 1) * block_k));
  std::vector<C> dk(static_cast<std::size_t>(block_k * d_pad));
  std::vector<C> dv(static_cast<std::size_t>(block_k * dv_pad));
  const C scale = static_cast<C>(p.scale);
  const auto dps = static_cast<std::size_t>(d_pad), dvs = static_cast<std::size_t>(dv_pad);
  for (std::int64_t task = begin; task < end; ++task) {
    const std::int64_t b = task / p.kv_heads, kvh = task % p.kv_heads;
    for (std::int64_t g = 0; g < group; ++g) {
      PackQueries(p, t, b, kvh * group + g, 0, p.lq, d_pad, dv_pad, qs.data() + g * p.lq * d_pad,
                  dout.data() + g * p.lq * dv_pad);
    }
    std::fill(dq.begin(), dq.end(), C(0));
    for (std::int64_t j0 = 0; j0 < p.lk; j0 += block_k) {
      const std::int64_t keys = std::min(block_k, p.lk - j0);
      const std::int64_t keys_pad = RoundUp(keys, lanes);
      internal::PackTile<true>(t.k, p.k, b, kvh, j0, keys, p.d, keys_pad, keys_pad, kt.data());
      const bool k_finite =
          internal::PackTile<false>(t.k, p.k, b, kvh, j0, keys, p.d, d_pad, keys, kr.data());
      internal::PackTile<true>(t.v, p.v, b, kvh, j0, keys, p.dv, keys_pad, keys_pad, vt.data());
      std::fill(dk.begin(), dk.end(), C(0));
      std::fill(dv.begin(), dv.end(), C(0));
      const auto ks = static_cast<std::size_t>(keys), kp = static_cast<std::size_t>(keys_pad);
      for (std::int64_t g = 0; g < group; ++g) {
        const std::int64_t h = kvh * group + g;
        for (std::int64_t i0 = 0; i0 < p.lq; i0 += block_q) {
          const std::int64_t rows = std::min(block_q, p.lq - i0);
          if (p.causal && i0 + rows - 1 + p.causal_offset < j0) continue;
          const std::int64_t first = g * p.lq + i0;
          const C* q_rows = qs.data() + first * d_pad;
          const C* dout_rows = dout.data() + first * dv_pad;
          ScoreGradients(p, delta, t, kern, w, b, h, i0, rows, j0, keys, keys_pad, d_pad, dv_pad,
                         q_rows, dout_rows, kt.data(), vt.data());
          const auto r = static_cast<std::size_t>(rows);
          kern.gemm_tn(w.s.data(), kp, dout_rows, dvs, dv.data(), dvs, ks, dvs, r, true);
          kern.gemm_tn(w.dp.data(), kp, q_rows, dps, dk.data(), dps, ks, dps, r, true);
          C* dq_rows = dq.data() + first * d_pad;
          if (k_finite) {
            kern.gemm(w.dp.data(), kp, kr.data(), dps, dq_rows, dps, r, dps, ks, true);
          } else {  // keys a row leaves out (dS exactly 0) are skipped: see QuerySide
            kern.accumulate_attended(w.dp.data(), kp, kr.data(), dps, dq_rows, dps, r, dps, ks);
          }
        }
      }
      for (std::int64_t c = 0; c < keys; ++c) {
        for (std::int64_t e = 0; e < p.d; ++e) {
          t.dk[t.dk_view.Offset(b, kvh, j0 + c, e)] = internal::FromCompute<S>(dk[c * d_pad + e]);
        }
        for (std::int64_t e = 0; e < p.dv; ++e) {
          t.dv[t.dv_view.Offset(b, kvh, j0 + c, e)] = internal::FromCompute<S>(dv[c * dv_pad + e]);
        }
      }
    }
    for (std::int64_t g = 0; g < group; ++g) {
      for (std::int64_t i = 0; i < p.lq; ++i) {
        const C* row = dq.data() + (g * p.lq + i) * d_pad;
        for (std::int64_t e = 0; e < p.d; ++e) {
          t.dq[t.dq_view.Offset(b, kvh * group + g, i, e)] =
              internal::FromCompute<S>(row[e] * scale);
        }
      }
    }
  }
}

}  // namespace

Status scaled_dot_product_attention_backward(const ConstTensorRef& grad_out,
                                             const ConstTensorRef& q, const ConstTensorRef& k,
                                             const ConstTensorRef& v, const ConstTensorRef& out,
                                             const ConstTensorRef& lse, const TensorRef& dq,
                                             const TensorRef& dk, const TensorRef& dv,
                                             const AttentionOptions& options) {
  AttentionPlan p;
  if (Status s = internal::PlanAttention(kOp, q, k, v, out, &lse, options, p); !s.ok()) return s;
  if (Status s = internal::CheckView(kOp, "grad_out", grad_out.layout, grad_out.data); !s.ok()) {
    return s;
  }
  if (Status s = CheckLike("grad_out", grad_out.layout, grad_out.dtype, "out", out); !s.ok()) {
    return s;
  }
  for (auto [name, g, like_name, like] :
       {std::tuple<const char*, const TensorRef*, const char*, const ConstTensorRef*>{"dq", &dq,
                                                                                      "q", &q},
        {"dk", &dk, "k", &k},
        {"dv", &dv, "v", &v}}) {
    if (Status s = internal::CheckView(kOp, name, g->layout, g->data); !s.ok()) return s;
    if (Status s = CheckLike(name, g->layout, g->dtype, like_name, *like); !s.ok()) return s;
  }
  // The passes read the inputs after writing some gradients: they must not share memory.
  for (auto [name, g] :
       {std::pair<const char*, const TensorRef*>{"dq", &dq}, {"dk", &dk}, {"dv", &dv}}) {
    for (auto [input, x] : {std::pair<const char*, const ConstTensorRef*>{"grad_out", &grad_out},
                            {"q", &q},
                            {"k", &k},
                            {"v", &v},
                            {"out", &out},
                            {"lse", &lse}}) {
      if (internal::ViewsOverlap(*g, *x)) {
        return Status::InvalidArgument(std::string(kOp) + ": " + name + " overlaps " + input +
                                       " (the gradients need buffers of their own)");
      }
    }
  }
  for (auto [a, b, na, nb] :
       {std::tuple<const TensorRef*, const TensorRef*, const char*, const char*>{&dq, &dk, "dq",
                                                                                 "dk"},
        {&dq, &dv, "dq", "dv"},
        {&dk, &dv, "dk", "dv"}}) {
    if (internal::ViewsOverlap(*a, *b)) {
      return Status::InvalidArgument(std::string(kOp) + ": " + na + " overlaps " + nb);
    }
  }
  internal::VisitStorage(q.dtype, [&](auto tag) {
    using S = decltype(tag);
    using C = ComputeType<S>;
    Tensors<S> t{static_cast<const S*>(grad_out.data),
                 static_cast<const S*>(q.data),
                 static_cast<const S*>(k.data),
                 static_cast<const S*>(v.data),
                 static_cast<const S*>(out.data),
                 static_cast<const C*>(lse.data),
                 static_cast<S*>(dq.data),
                 static_cast<S*>(dk.data),
                 static_cast<S*>(dv.data),
                 internal::AlignRight(grad_out.layout, 4),
                 internal::AlignRight(dq.layout, 4),
                 internal::AlignRight(dk.layout, 4),
                 internal::AlignRight(dv.layout, 4)};
    const std::int64_t rows = p.batch * p.heads * p.lq;
    const internal::TileSizes sizes(p, KernelsOf<C>(internal::GetAttentionKernels()).lanes);
    // Phase 1: D = rowsum(grad_out * out), summed in double.
    std::vector<C> delta(static_cast<std::size_t>(rows));
    internal::ParallelFor(rows, internal::ThreadsFor(rows * std::max<std::int64_t>(p.dv, 1), rows),
                          [&](std::int64_t begin, std::int64_t end) {
                            for (std::int64_t row = begin; row < end; ++row) {
                              const std::int64_t i = row % p.lq, bh = row / p.lq;
                              const std::int64_t b = bh / p.heads, h = bh % p.heads;
                              double sum = 0;
                              for (std::int64_t e = 0; e < p.dv; ++e) {
                                sum += static_cast<double>(internal::ToCompute(
                                           t.grad_out[t.grad_out_view.Offset(b, h, i, e)])) *
                                       internal::ToCompute(t.out[p.out.Offset(b, h, i, e)]);
                              }
                              delta[static_cast<std::size_t>(row)] = static_cast<C>(sum);
                            }
                          });
    const std::int64_t work = rows * std::max<std::int64_t>(p.lk, 1) * (p.d + p.dv + 1);
    const std::int64_t head_tasks = p.batch * p.kv_heads;
    const std::int64_t head_bytes = (p.kv_heads > 0 ? p.heads / p.kv_heads : 0) * p.lq *
                                    (2 * p.d + p.dv + 3 * kMaxPad) *
                                    static_cast<std::int64_t>(sizeof(C));
    // The threads the work would take, were there tasks enough.
    const int threads = internal::ThreadsFor(work, std::numeric_limits<std::int64_t>::max());
    if (p.lk > 0 && p.lq > 0 && head_tasks >= std::max(threads, 1) && head_bytes <= kMaxHeadBytes) {
      internal::ParallelFor(
          head_tasks, internal::ThreadsFor(work, head_tasks),
          [&](std::int64_t begin, std::int64_t end) { HeadTasks<S>(p, t, delta, begin, end); });
      return;
    }
    // Phase 2: dk, dv (Lk = 0: nothing to write).
    if (p.lk > 0 && p.kv_heads > 0) {
      const std::int64_t key_tasks = p.batch * p.kv_heads * sizes.KeyBlocks(p);
      internal::ParallelFor(
          key_tasks, internal::ThreadsFor(work, key_tasks),
          [&](std::int64_t begin, std::int64_t end) { KeySide<S>(p, t, delta, begin, end); });
    }
    // Phase 3: dq.
    if (p.lq > 0 && p.heads > 0) {
      const std::int64_t query_tasks = p.batch * p.heads * sizes.QueryBlocks(p);
      internal::ParallelFor(
          query_tasks, internal::ThreadsFor(work, query_tasks),
          [&](std::int64_t begin, std::int64_t end) { QuerySide<S>(p, t, delta, begin, end); });
    }
  });
  return Status::Ok();
}

}  // namespace smx
