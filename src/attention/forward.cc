// The attention forward pass. The work is split into tasks of (batch, head, block of query rows);
// each task packs its query rows once, and the key and value tiles of its head into contiguous
// buffers of the compute type (any strides and the 16-bit types are read there; see
// KeyValueTiles), and the kernels (attention/kernels.h) do the tile math.
#include <algorithm>
#include <cmath>
#include <cstdint>
#include <cstring>
#include <limits>
#include <optional>
#include <string>
#include <type_traits>
#include <vector>

#include "attention/kernels.h"
#include "attention/plan.h"
#include "core/parallel.h"
#include "core/storage.h"
#include "smx/attention.h"

namespace smx {
namespace {

using internal::KernelsOf;
using internal::kKeyBlock;
using internal::kQueryBlock;
using internal::RoundUp;

constexpr const char* kOp = "scaled_dot_product_attention";

// A thread keeps the packed tiles of one (batch, key head) for its next query blocks while they
// take at most this much (all of K and V of a head: 8 MiB for L = 8192, d = dv = 128 in f32);
// longer keys are packed tile by tile for every query block. Packing per query block had cost
// 47% of the forward at L = 2048, d = 64 (32-row blocks).
constexpr std::int64_t kMaxCachedBytes = std::int64_t{32} << 20;
// Tasks of at most this many query rows read keys and values in place (see ForwardTasks).
constexpr std::int64_t kDirectRows = 4;

// One thread's buffers, sized for the largest tile.
template <typename C>
struct Workspace {
  std::vector<C> q, s, o, mask, m, l;
};

// The key and value tiles of one (batch, key head), packed for the kernels: K^T [d, bk_pad] and
// V [bk, dv_pad] in the compute type, zero-padded, and whether the V tile is finite. Tile t holds
// keys [t block_k, (t + 1) block_k). Tiles are packed when first asked for and kept while the
// thread stays on that head (its next query blocks, and the other query heads of a GQA group), if
// all of them fit kMaxCachedBytes; otherwise every request packs into one slot.
template <typename S>
class KeyValueTiles {
 public:
  using C = internal::ComputeType<S>;
  struct Tile {
    const C* kt;
    const C* v;
    std::int64_t keys, keys_padded;
    bool v_finite;
  };

  KeyValueTiles(const internal::AttentionPlan& p, const S* k, const S* v, std::int64_t block_k,
                std::int64_t lanes, std::int64_t dv_pad)
      : p_(p),
        k_(k),
        v_(v),
        block_k_(block_k),
        lanes_(lanes),
        dv_pad_(dv_pad),
        kt_size_(std::max<std::int64_t>(p.d, 1) * block_k),
        cache_((p.lk + block_k - 1) / block_k, kt_size_ + block_k * dv_pad, kMaxCachedBytes) {}

  void Select(std::int64_t b, std::int64_t kvh) {
    b_ = b;
    kvh_ = kvh;
    cache_.Select(b, kvh);
  }

  Tile Get(std::int64_t t) {
    const std::int64_t first = t * block_k_;
    const std::int64_t keys = std::min(block_k_, p_.lk - first);
    const std::int64_t padded = RoundUp(keys, lanes_);
    bool fresh = false;
    std::uint8_t* finite = nullptr;
    C* kt = cache_.Get(t, fresh, finite);
    C* vt = kt + kt_size_;
    if (fresh) {
      internal::PackTile<true>(k_, p_.k, b_, kvh_, first, keys, p_.d, padded, padded, kt);
      *finite =
          internal::PackTile<false>(v_, p_.v, b_, kvh_, first, keys, p_.dv, dv_pad_, keys, vt);
    }
    return {kt, vt, keys, padded, *finite != 0};
  }

 private:
  const internal::AttentionPlan& p_;
  const S* k_;
  const S* v_;
  std::int64_t block_k_, lanes_, dv_pad_, kt_size_;
  internal::TileCache<C> cache_;
  std::int64_t b_ = -1, kvh_ = -1;
};

// The forward pass over tasks [begin, end) of (batch, head, query block).
template <typename S>
void ForwardTasks(const internal::AttentionPlan& p, const S* q, const S* k, const S* v, S* out,
                  internal::ComputeType<S>* lse, std::int64_t begin, std::int64_t end) {
  using C = internal::ComputeType<S>;
  constexpr C kNegInf = -std::numeric_limits<C>::infinity();
  const internal::AttentionKernels<C>& kern = KernelsOf<C>(internal::GetAttentionKernels());
  const auto lanes = static_cast<std::int64_t>(kern.lanes);
  const std::int64_t block_q = std::min(kQueryBlock, p.lq);
  const std::int64_t block_k = RoundUp(std::min(kKeyBlock, std::max<std::int64_t>(p.lk, 1)), lanes);
  const std::int64_t dv_pad = RoundUp(std::max<std::int64_t>(p.dv, 1), lanes);
  const std::int64_t d = p.d;
  Workspace<C> w;
  w.q.resize(static_cast<std::size_t>(block_q * std::max<std::int64_t>(d, 1)));
  KeyValueTiles<S> tiles(p, k, v, block_k, lanes, dv_pad);
  // Keys and values can be read in place: rows of unit stride in the compute type, and value rows
  // of whole vectors (the kernel reads dv in vectors).
  const bool direct_layout = std::is_same_v<S, C> && p.d > 0 && p.k.strides[3] == 1 && p.dv > 0 &&
                             p.v.strides[3] == 1 && p.dv % lanes == 0;
  w.s.resize(static_cast<std::size_t>(block_q * block_k));
  w.o.resize(static_cast<std::size_t>(block_q * dv_pad));
  if (p.mask_kind != AttentionMask::Kind::kNone) w.mask.resize(w.s.size());
  w.m.resize(static_cast<std::size_t>(block_q));
  w.l.resize(static_cast<std::size_t>(block_q));
  const std::int64_t query_blocks = (p.lq + block_q - 1) / block_q;
  const std::int64_t group = p.kv_heads > 0 ? p.heads / p.kv_heads : 1;
  const C scale = static_cast<C>(p.scale);
  for (std::int64_t task = begin; task < end; ++task) {
    const std::int64_t b = task / (p.heads * query_blocks);
    const std::int64_t h = task / query_blocks % p.heads;
    const std::int64_t i0 = task % query_blocks * block_q;
    const std::int64_t rows = std::min(block_q, p.lq - i0);
    const std::int64_t kvh = h / group;
    for (std::int64_t r = 0; r < rows; ++r) {
      for (std::int64_t e = 0; e < d; ++e) {
        w.q[r * d + e] = internal::ToCompute(q[p.q.Offset(b, h, i0 + r, e)]) * scale;
      }
    }
    const bool sink = !p.sinks.empty();
    for (std::int64_t r = 0; r < rows; ++r) {
      // A sink is a logit whose value is 0: the state starts as if its key had been seen.
      w.m[r] = sink ? static_cast<C>(p.sinks[h]) : kNegInf;
      w.l[r] = sink ? C(1) : C(0);
    }
    std::fill(w.o.begin(), w.o.end(), C(0));
    // Keys past the block's last row's causal limit are left out for every row.
    std::int64_t key_end = p.lk;
    if (p.causal) key_end = std::clamp<std::int64_t>(i0 + rows - 1 + p.causal_offset + 1, 0, p.lk);
    // A few query rows (decoding) read the keys and values in place: packing them would cost
    // more than the rows' work (decoding, H = 32, Lk = 4096, d = 128, 1 thread: 48 -> 4.5 ms).
    const bool direct = direct_layout && rows <= kDirectRows;
    if (!direct) tiles.Select(b, kvh);
    for (std::int64_t j0 = 0; j0 < key_end; j0 += block_k) {
      typename KeyValueTiles<S>::Tile tile{};
      std::int64_t bk = std::min(block_k, key_end - j0), bk_pad = RoundUp(bk, lanes);
      if (direct) {
        if constexpr (std::is_same_v<S, C>) {
          kern.gemm_nt(w.q.data(), static_cast<std::size_t>(d), k + p.k.Offset(b, kvh, j0, 0),
                       static_cast<std::size_t>(p.k.strides[2]), w.s.data(),
                       static_cast<std::size_t>(bk_pad), static_cast<std::size_t>(rows),
                       static_cast<std::size_t>(bk), static_cast<std::size_t>(d));
        }
      } else {
        tile = tiles.Get(j0 / block_k);
        // The tile's keys past key_end are left out by the causal limit of every row.
        bk = tile.keys;
        bk_pad = tile.keys_padded;
        kern.gemm(w.q.data(), static_cast<std::size_t>(d), tile.kt,
                  static_cast<std::size_t>(bk_pad), w.s.data(), static_cast<std::size_t>(bk_pad),
                  static_cast<std::size_t>(rows), static_cast<std::size_t>(bk_pad),
                  static_cast<std::size_t>(d), /*accumulate=*/false);
      }
      if (!w.mask.empty()) {
        internal::FillMaskTile<S>(p, b, h, i0, rows, j0, bk, bk_pad, w.mask.data());
      }
      for (std::int64_t r = 0; r < rows; ++r) {
        const std::int64_t i = i0 + r;
        const internal::ScoreRowShape<C> shape = internal::RowShape<C>(
            p, h, i, j0, bk, w.mask.empty() ? nullptr : w.mask.data() + r * bk_pad);
        C* s = w.s.data() + r * bk_pad;
        kern.shape_scores(s, static_cast<std::size_t>(bk_pad), shape);
        kern.online_softmax_row(s, static_cast<std::size_t>(bk_pad), w.m[r], w.l[r],
                                w.o.data() + r * dv_pad, static_cast<std::size_t>(dv_pad));
      }
      if (direct) {
        if constexpr (std::is_same_v<S, C>) {
          kern.accumulate_attended(w.s.data(), static_cast<std::size_t>(bk_pad),
                                   v + p.v.Offset(b, kvh, j0, 0),
                                   static_cast<std::size_t>(p.v.strides[2]), w.o.data(),
                                   static_cast<std::size_t>(dv_pad), static_cast<std::size_t>(rows),
                                   static_cast<std::size_t>(p.dv), static_cast<std::size_t>(bk));
        }
      } else if (tile.v_finite) {
        kern.gemm(w.s.data(), static_cast<std::size_t>(bk_pad), tile.v,
                  static_cast<std::size_t>(dv_pad), w.o.data(), static_cast<std::size_t>(dv_pad),
                  static_cast<std::size_t>(rows), static_cast<std::size_t>(dv_pad),
                  static_cast<std::size_t>(bk), /*accumulate=*/true);
      } else {
        // A value tile with a NaN or inf: 0 times it would be NaN, so the keys a row leaves out
        // (probability exactly 0) are skipped rather than multiplied.
        for (std::int64_t r = 0; r < rows; ++r) {
          C* o = w.o.data() + r * dv_pad;
          for (std::int64_t c = 0; c < bk; ++c) {
            const C prob = w.s[r * bk_pad + c];
            if (prob == 0) continue;
            const C* vr = tile.v + c * dv_pad;
            for (std::int64_t e = 0; e < p.dv; ++e) o[e] += prob * vr[e];
          }
        }
      }
    }
    for (std::int64_t r = 0; r < rows; ++r) {
      C* o = w.o.data() + r * dv_pad;
      const C l = w.l[r];
      if (l > 0) {
        kern.scale_row(o, static_cast<std::size_t>(dv_pad), 1 / l);
      } else if (l == 0) {
        std::fill(o, o + dv_pad, C(0));  // no key attended (and no sink)
      }
      for (std::int64_t e = 0; e < p.dv; ++e) {
        out[p.out.Offset(b, h, i0 + r, e)] = internal::FromCompute<S>(o[e]);
      }
      if (lse != nullptr) {
        lse[p.lse.Offset(b, h, i0 + r, 0)] = l > 0 ? w.m[r] + std::log(l) : l == 0 ? kNegInf : l;
      }
    }
  }
}

Status Attention(const ConstTensorRef& q, const ConstTensorRef& k, const ConstTensorRef& v,
                 const TensorRef& out, const TensorRef* lse, const AttentionOptions& options) {
  internal::AttentionPlan p;
  const ConstTensorRef out_ref = out;
  std::optional<ConstTensorRef> lse_ref;
  if (lse != nullptr) lse_ref = *lse;
  if (Status s =
          internal::PlanAttention(kOp, q, k, v, out_ref, lse_ref ? &*lse_ref : nullptr, options, p);
      !s.ok()) {
    return s;
  }
  const std::int64_t query_blocks = (p.lq + kQueryBlock - 1) / kQueryBlock;
  const std::int64_t tasks = p.batch * p.heads * query_blocks;
  if (tasks == 0) return Status::Ok();
  const std::int64_t work =
      p.batch * p.heads * p.lq * std::max<std::int64_t>(p.lk, 1) * (p.d + p.dv + 1);
  const int threads = internal::ThreadsFor(work, tasks);
  internal::VisitStorage(q.dtype, [&](auto tag) {
    using S = decltype(tag);
    using C = internal::ComputeType<S>;
    C* lse_data = lse != nullptr ? static_cast<C*>(lse->data) : nullptr;
    internal::ParallelFor(tasks, threads, [&](std::int64_t begin, std::int64_t end) {
      ForwardTasks<S>(p, static_cast<const S*>(q.data), static_cast<const S*>(k.data),
                      static_cast<const S*>(v.data), static_cast<S*>(out.data), lse_data, begin,
                      end);
    });
  });
  return Status::Ok();
}

}  // namespace

const char* causal_alignment_name(CausalAlignment alignment) {
  return alignment == CausalAlignment::kLowerRight ? "lower_right" : "top_left";
}

bool parse_causal_alignment(const char* name, CausalAlignment& alignment) {
  if (name == nullptr) return false;
  if (std::strcmp(name, "top_left") == 0) {
    alignment = CausalAlignment::kTopLeft;
  } else if (std::strcmp(name, "lower_right") == 0) {
    alignment = CausalAlignment::kLowerRight;
  } else {
    return false;
  }
  return true;
}

Status scaled_dot_product_attention(const ConstTensorRef& q, const ConstTensorRef& k,
                                    const ConstTensorRef& v, const TensorRef& out,
                                    const AttentionOptions& options) {
  return Attention(q, k, v, out, nullptr, options);
}

Status scaled_dot_product_attention(const ConstTensorRef& q, const ConstTensorRef& k,
                                    const ConstTensorRef& v, const TensorRef& out,
                                    const TensorRef& lse, const AttentionOptions& options) {
  return Attention(q, k, v, out, &lse, options);
}

}  // namespace smx
