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
using internal::kQueryBlock;
using internal::RoundUp;

constexpr const char* kOp = "scaled_dot_product_attention";

// A thread keeps the packed tiles of one (batch, key head) for its next query blocks while they
// take at most this much (all of K and V of a head: 8 MiB for L = 8192, d = dv = 128 in f32);
// longer keys are packed tile by tile for every query block. Packing per query block had cost
// 47% of the forward at L = 2048, d = 64 (32-row blocks).
constexpr std::int64_t kMaxCachedBytes = std::int64_t{32} << 20;
// Tasks of at most this many query rows read keys and values in place (see ForwardWorker::Keys).
constexpr std::int64_t kDirectRows = 4;
// Such decoding calls split more keys than this into chunks of this many, one task each (see
// SplitKeyForward).
constexpr std::int64_t kSplitKeys = 8192;

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

// One thread's forward pass over blocks of query rows: Start packs a block's rows and sets their
// online softmax state (m, l, o), Keys runs it over a range of keys, Finish writes the rows.
template <typename S>
class ForwardWorker {
 public:
  using C = internal::ComputeType<S>;
  static constexpr C kNegInf = -std::numeric_limits<C>::infinity();

  ForwardWorker(const internal::AttentionPlan& p, const S* q, const S* k, const S* v)
      : p_(p),
        q_(q),
        k_(k),
        v_(v),
        kern_(KernelsOf<C>(internal::GetAttentionKernels())),
        lanes_(static_cast<std::int64_t>(kern_.lanes)),
        block_q_(internal::TileSizes(p, kern_.lanes).block_q),
        block_k_(internal::TileSizes(p, kern_.lanes).block_k),
        dv_pad_(internal::TileSizes(p, kern_.lanes).dv_pad),
        group_(p.kv_heads > 0 ? p.heads / p.kv_heads : 1),
        tiles_(p, k, v, block_k_, lanes_, dv_pad_),
        // Keys and values can be read in place: rows of unit stride in the compute type, and
        // value rows of whole vectors (the kernel reads dv in vectors).
        direct_layout_(std::is_same_v<S, C> && p.d > 0 && p.k.strides[3] == 1 && p.dv > 0 &&
                       p.v.strides[3] == 1 && p.dv % lanes_ == 0) {
    w_.q.resize(static_cast<std::size_t>(block_q_ * std::max<std::int64_t>(p.d, 1)));
    w_.s.resize(static_cast<std::size_t>(block_q_ * block_k_));
    w_.o.resize(static_cast<std::size_t>(block_q_ * dv_pad_));
    if (p.mask_kind != AttentionMask::Kind::kNone) w_.mask.resize(w_.s.size());
    w_.m.resize(static_cast<std::size_t>(block_q_));
    w_.l.resize(static_cast<std::size_t>(block_q_));
  }

  std::int64_t block_q() const { return block_q_; }
  std::int64_t block_k() const { return block_k_; }
  std::int64_t dv_pad() const { return dv_pad_; }
  const Workspace<C>& state() const { return w_; }

  // Rows [i0, i0 + rows) of head h: packed, scaled, and their state at "nothing seen" (or, with
  // the head's sink, at the sink: a logit whose value is 0).
  void Start(std::int64_t b, std::int64_t h, std::int64_t i0, std::int64_t rows, bool sink) {
    b_ = b;
    h_ = h;
    i0_ = i0;
    rows_ = rows;
    const C scale = static_cast<C>(p_.scale);
    for (std::int64_t r = 0; r < rows; ++r) {
      for (std::int64_t e = 0; e < p_.d; ++e) {
        w_.q[r * p_.d + e] = internal::ToCompute(q_[p_.q.Offset(b, h, i0 + r, e)]) * scale;
      }
      w_.m[r] = sink ? static_cast<C>(p_.sinks[h]) : kNegInf;
      w_.l[r] = sink ? C(1) : C(0);
    }
    std::fill(w_.o.begin(), w_.o.end(), C(0));
  }

  // The keys of the rows' causal reach: [0, KeyEnd()).
  std::int64_t KeyEnd() const {
    if (!p_.causal) return p_.lk;
    return std::clamp<std::int64_t>(i0_ + rows_ + p_.causal_offset, 0, p_.lk);
  }

  // The online softmax over keys [first, end) (first a multiple of block_k).
  void Keys(std::int64_t first, std::int64_t end) {
    const std::int64_t kvh = h_ / group_, rows = rows_, d = p_.d;
    // A few query rows (decoding) read the keys and values in place: packing them would cost
    // more than the rows' work (decoding, H = 32, Lk = 4096, d = 128, 1 thread: 48 -> 4.5 ms).
    const bool direct = direct_layout_ && rows <= kDirectRows;
    if (!direct) tiles_.Select(b_, kvh);
    for (std::int64_t j0 = first; j0 < end; j0 += block_k_) {
      typename KeyValueTiles<S>::Tile tile{};
      std::int64_t bk = std::min(block_k_, end - j0), bk_pad = RoundUp(bk, lanes_);
      if (direct) {
        if constexpr (std::is_same_v<S, C>) {
          kern_.gemm_nt(w_.q.data(), static_cast<std::size_t>(d), k_ + p_.k.Offset(b_, kvh, j0, 0),
                        static_cast<std::size_t>(p_.k.strides[2]), w_.s.data(),
                        static_cast<std::size_t>(bk_pad), static_cast<std::size_t>(rows),
                        static_cast<std::size_t>(bk), static_cast<std::size_t>(d));
        }
      } else {
        tile = tiles_.Get(j0 / block_k_);
        // The tile's keys past `end` are left out by the causal limit of every row.
        bk = tile.keys;
        bk_pad = tile.keys_padded;
        kern_.gemm(w_.q.data(), static_cast<std::size_t>(d), tile.kt,
                   static_cast<std::size_t>(bk_pad), w_.s.data(), static_cast<std::size_t>(bk_pad),
                   static_cast<std::size_t>(rows), static_cast<std::size_t>(bk_pad),
                   static_cast<std::size_t>(d), /*accumulate=*/false);
      }
      if (!w_.mask.empty()) {
        internal::FillMaskTile<S>(p_, b_, h_, i0_, rows, j0, bk, bk_pad, w_.mask.data());
      }
      for (std::int64_t r = 0; r < rows; ++r) {
        const internal::ScoreRowShape<C> shape = internal::RowShape<C>(
            p_, h_, i0_ + r, j0, bk, w_.mask.empty() ? nullptr : w_.mask.data() + r * bk_pad);
        C* s = w_.s.data() + r * bk_pad;
        kern_.shape_scores(s, static_cast<std::size_t>(bk_pad), shape);
        kern_.online_softmax_row(s, static_cast<std::size_t>(bk_pad), w_.m[r], w_.l[r],
                                 w_.o.data() + r * dv_pad_, static_cast<std::size_t>(dv_pad_));
      }
      if (direct) {
        if constexpr (std::is_same_v<S, C>) {
          kern_.accumulate_attended(
              w_.s.data(), static_cast<std::size_t>(bk_pad), v_ + p_.v.Offset(b_, kvh, j0, 0),
              static_cast<std::size_t>(p_.v.strides[2]), w_.o.data(),
              static_cast<std::size_t>(dv_pad_), static_cast<std::size_t>(rows),
              static_cast<std::size_t>(p_.dv), static_cast<std::size_t>(bk));
        }
      } else if (tile.v_finite) {
        kern_.gemm(w_.s.data(), static_cast<std::size_t>(bk_pad), tile.v,
                   static_cast<std::size_t>(dv_pad_), w_.o.data(),
                   static_cast<std::size_t>(dv_pad_), static_cast<std::size_t>(rows),
                   static_cast<std::size_t>(dv_pad_), static_cast<std::size_t>(bk),
                   /*accumulate=*/true);
      } else {
        // A value tile with a NaN or inf: 0 times it would be NaN, so the keys a row leaves out
        // (probability exactly 0) are skipped rather than multiplied.
        for (std::int64_t r = 0; r < rows; ++r) {
          C* o = w_.o.data() + r * dv_pad_;
          for (std::int64_t c = 0; c < bk; ++c) {
            const C prob = w_.s[r * bk_pad + c];
            if (prob == 0) continue;
            const C* vr = tile.v + c * dv_pad_;
            for (std::int64_t e = 0; e < p_.dv; ++e) o[e] += prob * vr[e];
          }
        }
      }
    }
  }

  // Row r's output from a state (m, l, o): o / l and lse = m + log l; no key (l = 0): 0 and -inf.
  void WriteRow(std::int64_t b, std::int64_t h, std::int64_t i, C m, C l, C* o, S* out,
                C* lse) const {
    if (l > 0) {
      kern_.scale_row(o, static_cast<std::size_t>(dv_pad_), 1 / l);
    } else if (l == 0) {
      std::fill(o, o + dv_pad_, C(0));
    }
    for (std::int64_t e = 0; e < p_.dv; ++e) {
      out[p_.out.Offset(b, h, i, e)] = internal::FromCompute<S>(o[e]);
    }
    if (lse != nullptr)
      lse[p_.lse.Offset(b, h, i, 0)] = l > 0 ? m + std::log(l) : l == 0 ? kNegInf : l;
  }

  void Finish(S* out, C* lse) {
    for (std::int64_t r = 0; r < rows_; ++r) {
      WriteRow(b_, h_, i0_ + r, w_.m[r], w_.l[r], w_.o.data() + r * dv_pad_, out, lse);
    }
  }

 private:
  const internal::AttentionPlan& p_;
  const S* q_;
  const S* k_;
  const S* v_;
  const internal::AttentionKernels<C>& kern_;
  std::int64_t lanes_, block_q_, block_k_, dv_pad_, group_;
  KeyValueTiles<S> tiles_;
  bool direct_layout_;
  Workspace<C> w_;
  std::int64_t b_ = 0, h_ = 0, i0_ = 0, rows_ = 0;
};

// The forward pass over tasks [begin, end) of (batch, head, query block).
template <typename S>
void ForwardTasks(const internal::AttentionPlan& p, const S* q, const S* k, const S* v, S* out,
                  internal::ComputeType<S>* lse, std::int64_t begin, std::int64_t end) {
  ForwardWorker<S> worker(p, q, k, v);
  const std::int64_t block_q = worker.block_q();
  const std::int64_t query_blocks = (p.lq + block_q - 1) / block_q;
  for (std::int64_t task = begin; task < end; ++task) {
    const std::int64_t b = task / (p.heads * query_blocks);
    const std::int64_t h = task / query_blocks % p.heads;
    const std::int64_t i0 = task % query_blocks * block_q;
    worker.Start(b, h, i0, std::min(block_q, p.lq - i0), !p.sinks.empty());
    worker.Keys(0, worker.KeyEnd());
    worker.Finish(out, lse);
  }
}

// Decoding with many keys: the keys are split into chunks of kSplitKeys, each a task of its own
// (so that one query uses every thread), and the chunks' states merged in order:
//   m = max_c m_c,  l = sum_c l_c e^(m_c - m),  o = sum_c o_c e^(m_c - m).
// The chunks do not depend on the thread count, so neither do the results.
template <typename S>
void SplitKeyForward(const internal::AttentionPlan& p, const S* q, const S* k, const S* v, S* out,
                     internal::ComputeType<S>* lse, int threads) {
  using C = internal::ComputeType<S>;
  const std::int64_t chunks = (p.lk + kSplitKeys - 1) / kSplitKeys;
  const std::int64_t heads = p.batch * p.heads, rows = p.lq;
  const std::int64_t dv_pad =
      internal::TileSizes(p, KernelsOf<C>(internal::GetAttentionKernels()).lanes).dv_pad;
  const std::int64_t state_size = rows * (dv_pad + 2);  // per chunk: m, l and o of every row
  std::vector<C> states(static_cast<std::size_t>(heads * chunks * state_size));
  internal::ParallelFor(heads * chunks, threads, [&](std::int64_t begin, std::int64_t end) {
    ForwardWorker<S> worker(p, q, k, v);
    for (std::int64_t task = begin; task < end; ++task) {
      const std::int64_t bh = task / chunks, c = task % chunks;
      worker.Start(bh / p.heads, bh % p.heads, 0, rows, !p.sinks.empty() && c == 0);
      worker.Keys(c * kSplitKeys, std::min((c + 1) * kSplitKeys, worker.KeyEnd()));
      C* state = states.data() + task * state_size;
      const auto& w = worker.state();
      for (std::int64_t r = 0; r < rows; ++r) {
        state[r] = w.m[r];
        state[rows + r] = w.l[r];
        std::copy(w.o.begin() + r * dv_pad, w.o.begin() + (r + 1) * dv_pad,
                  state + 2 * rows + r * dv_pad);
      }
    }
  });
  ForwardWorker<S> writer(p, q, k, v);
  std::vector<C> o(static_cast<std::size_t>(dv_pad));
  for (std::int64_t bh = 0; bh < heads; ++bh) {
    for (std::int64_t r = 0; r < rows; ++r) {
      C m = -std::numeric_limits<C>::infinity();
      bool nan = false;
      for (std::int64_t c = 0; c < chunks; ++c) {
        const C mc = states[(bh * chunks + c) * state_size + r];
        nan |= std::isnan(mc);
        m = mc > m ? mc : m;
      }
      C l = nan ? std::numeric_limits<C>::quiet_NaN() : C(0);
      std::fill(o.begin(), o.end(), nan ? l : C(0));
      for (std::int64_t c = 0; c < chunks && !nan && m != -std::numeric_limits<C>::infinity();
           ++c) {
        const C* state = states.data() + (bh * chunks + c) * state_size;
        if (state[r] == -std::numeric_limits<C>::infinity()) continue;  // nothing in the chunk
        const C factor = std::exp(state[r] - m);
        l += state[rows + r] * factor;
        const C* oc = state + 2 * rows + r * dv_pad;
        for (std::int64_t e = 0; e < dv_pad; ++e) o[e] += oc[e] * factor;
      }
      writer.WriteRow(bh / p.heads, bh % p.heads, r, m, l, o.data(), out, lse);
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
    if (p.lq <= kDirectRows && p.lk > kSplitKeys) {
      const std::int64_t split_tasks = p.batch * p.heads * ((p.lk + kSplitKeys - 1) / kSplitKeys);
      SplitKeyForward<S>(p, static_cast<const S*>(q.data), static_cast<const S*>(k.data),
                         static_cast<const S*>(v.data), static_cast<S*>(out.data), lse_data,
                         internal::ThreadsFor(work, split_tasks));
      return;
    }
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
