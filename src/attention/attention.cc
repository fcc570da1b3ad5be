// Public entry points of attention: argument checks, then the tiled forward pass. The work is
// split into tasks of (batch, head, block of query rows); each task packs its query rows once and
// each tile of keys and values into contiguous buffers of the compute type (any strides and the
// 16-bit types are read there), and the kernels (attention/kernels.h) do the tile math.
#include "smx/attention.h"

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <cstring>
#include <limits>
#include <string>
#include <type_traits>
#include <vector>

#include "attention/kernels.h"
#include "core/layout.h"
#include "core/parallel.h"
#include "core/storage.h"

namespace smx {
namespace {

constexpr const char* kOp = "scaled_dot_product_attention";

// Query rows per task and keys per tile. A task's buffers (f32, d = dv = 128): the query block
// 32 KiB, a key tile transposed 64 KiB, a value tile 64 KiB, the scores 32 KiB, the output rows
// 32 KiB.
constexpr std::int64_t kQueryBlock = 64;
constexpr std::int64_t kKeyBlock = 128;
// A thread keeps the packed tiles of one (batch, key head) for its next query blocks while they
// take at most this much (all of K and V of a head: 8 MiB for L = 8192, d = dv = 128 in f32);
// longer keys are packed tile by tile for every query block. Packing per query block had cost
// 47% of the forward at L = 2048, d = 64 (32-row blocks).
// Tasks of at most this many query rows read keys and values in place (see ForwardTasks).
constexpr std::int64_t kDirectRows = 4;
constexpr std::int64_t kMaxCachedBytes = std::int64_t{32} << 20;

// A tensor seen as [B, H, L, E]: the dimensions it lacks are leading ones of size 1.
struct View4 {
  std::int64_t shape[4] = {1, 1, 1, 1};
  std::int64_t strides[4] = {0, 0, 0, 0};
  std::int64_t Offset(std::int64_t b, std::int64_t h, std::int64_t l, std::int64_t e) const {
    return b * strides[0] + h * strides[1] + l * strides[2] + e * strides[3];
  }
};

// The last `rank` dimensions of a View4 from a layout of that rank (dimensions of size 1 get
// stride 0, so that broadcasting and indexing agree).
View4 AlignRight(const Layout& layout, int dims) {
  View4 v;
  for (int i = 0; i < layout.rank; ++i) {
    const int to = dims - layout.rank + i;
    v.shape[to] = layout.shape[i];
    v.strides[to] = layout.shape[i] == 1 ? 0 : layout.strides[i];
  }
  return v;
}

struct Plan {
  std::int64_t batch = 0, heads = 0, kv_heads = 0, lq = 0, lk = 0, d = 0, dv = 0;
  View4 q, k, v, out, lse, mask;
  bool has_lse = false;
  double scale = 1, softcap = 0;
  bool causal = false;
  std::int64_t causal_offset = 0;     // query i attends keys j <= i + causal_offset
  std::vector<double> sinks, slopes;  // per head; empty: none
  AttentionMask::Kind mask_kind = AttentionMask::Kind::kNone;
  const void* mask_data = nullptr;
};

std::string Shape4(std::int64_t a, std::int64_t b, std::int64_t c, std::int64_t d, int rank) {
  const std::int64_t all[4] = {a, b, c, d};
  std::string s = "[";
  for (int i = 4 - rank; i < 4; ++i) s += std::to_string(all[i]) + (i < 3 ? ", " : "");
  return s + "]";
}

bool SameShape(const Layout& layout, const std::string& want) {
  return internal::ShapeString(layout) == want;
}

// A per-head option ([H], q's dtype) as doubles; empty when not given.
Status ReadPerHead(const char* name, const ConstTensorRef& t, DType dtype, std::int64_t heads,
                   std::vector<double>& values) {
  values.clear();
  if (t.data == nullptr) return Status::Ok();
  if (t.layout.rank != 1 || t.layout.shape[0] != heads || t.dtype != dtype) {
    return Status::InvalidArgument(std::string(kOp) + ": " + name + " must be " +
                                   dtype_name(dtype) + " [" + std::to_string(heads) +
                                   "] (one per query head), got " + dtype_name(t.dtype) + " " +
                                   internal::ShapeString(t.layout));
  }
  values.resize(static_cast<std::size_t>(heads));
  internal::VisitStorage(dtype, [&](auto tag) {
    using S = decltype(tag);
    const S* p = static_cast<const S*>(t.data);
    for (std::int64_t h = 0; h < heads; ++h) {
      values[static_cast<std::size_t>(h)] = internal::ToCompute(p[h * t.layout.strides[0]]);
    }
  });
  return Status::Ok();
}

Status PlanAttention(const ConstTensorRef& q, const ConstTensorRef& k, const ConstTensorRef& v,
                     const TensorRef& out, const TensorRef* lse, const AttentionOptions& o,
                     Plan& p) {
  using internal::CheckView;
  for (auto [name, t] :
       {std::pair<const char*, const ConstTensorRef*>{"q", &q}, {"k", &k}, {"v", &v}}) {
    if (Status s = CheckView(kOp, name, t->layout, t->data); !s.ok()) return s;
  }
  if (Status s = CheckView(kOp, "out", out.layout, out.data); !s.ok()) return s;
  if (lse != nullptr) {
    if (Status s = CheckView(kOp, "lse", lse->layout, lse->data); !s.ok()) return s;
  }
  const int rank = q.layout.rank;
  if (rank < 2 || rank > 4) {
    return Status::InvalidArgument(std::string(kOp) + ": q must be [B, H, L, d], [H, L, d] or " +
                                   "[L, d], got " + internal::ShapeString(q.layout));
  }
  if (k.layout.rank != rank || v.layout.rank != rank) {
    return Status::InvalidArgument(std::string(kOp) + ": q " + internal::ShapeString(q.layout) +
                                   ", k " + internal::ShapeString(k.layout) + " and v " +
                                   internal::ShapeString(v.layout) + " differ in rank");
  }
  if (k.dtype != q.dtype || v.dtype != q.dtype) {
    return Status::InvalidArgument(std::string(kOp) + ": q, k and v must share a dtype, got " +
                                   dtype_name(q.dtype) + ", " + dtype_name(k.dtype) + " and " +
                                   dtype_name(v.dtype));
  }
  p.q = AlignRight(q.layout, 4);
  p.k = AlignRight(k.layout, 4);
  p.v = AlignRight(v.layout, 4);
  p.batch = p.q.shape[0];
  p.heads = p.q.shape[1];
  p.lq = p.q.shape[2];
  p.d = p.q.shape[3];
  p.kv_heads = p.k.shape[1];
  p.lk = p.k.shape[2];
  p.dv = p.v.shape[3];
  const std::string kv_want = Shape4(p.batch, p.kv_heads, p.lk, p.d, rank);
  if (p.k.shape[0] != p.batch || p.k.shape[3] != p.d) {
    return Status::InvalidArgument(std::string(kOp) + ": k " + internal::ShapeString(k.layout) +
                                   " does not match q " + internal::ShapeString(q.layout) +
                                   " (batch and d must agree)");
  }
  if (p.v.shape[0] != p.batch || p.v.shape[1] != p.kv_heads || p.v.shape[2] != p.lk) {
    return Status::InvalidArgument(std::string(kOp) + ": v " + internal::ShapeString(v.layout) +
                                   " does not match k " + internal::ShapeString(k.layout) +
                                   " (batch, heads and length must agree)");
  }
  if (!o.enable_gqa && p.kv_heads != p.heads) {
    return Status::InvalidArgument(std::string(kOp) + ": q has " + std::to_string(p.heads) +
                                   " heads but k and v have " + std::to_string(p.kv_heads) +
                                   " (set enable_gqa for grouped-query attention)");
  }
  if (o.enable_gqa && (p.kv_heads == 0 ? p.heads != 0 : p.heads % p.kv_heads != 0)) {
    return Status::InvalidArgument(std::string(kOp) + ": enable_gqa needs the query heads (" +
                                   std::to_string(p.heads) + ") to be a multiple of the key " +
                                   "heads (" + std::to_string(p.kv_heads) + ")");
  }
  const std::string out_want = Shape4(p.batch, p.heads, p.lq, p.dv, rank);
  if (out.dtype != q.dtype || !SameShape(out.layout, out_want)) {
    return Status::InvalidArgument(std::string(kOp) + ": out must be " + dtype_name(q.dtype) + " " +
                                   out_want + ", got " + dtype_name(out.dtype) + " " +
                                   internal::ShapeString(out.layout));
  }
  p.out = AlignRight(out.layout, 4);
  if (lse != nullptr) {
    const DType lse_dtype = q.dtype == DType::kF64 ? DType::kF64 : DType::kF32;
    const std::string lse_want = Shape4(1, p.batch, p.heads, p.lq, rank - 1);
    if (lse->dtype != lse_dtype || !SameShape(lse->layout, lse_want)) {
      return Status::InvalidArgument(std::string(kOp) + ": lse must be " + dtype_name(lse_dtype) +
                                     " " + lse_want + ", got " + dtype_name(lse->dtype) + " " +
                                     internal::ShapeString(lse->layout));
    }
    p.lse = AlignRight(lse->layout, 3);  // [B, H, L] in the first three
    p.has_lse = true;
  }
  if (o.scale.has_value() && !std::isfinite(*o.scale)) {
    return Status::InvalidArgument(std::string(kOp) + ": scale must be finite, got " +
                                   std::to_string(*o.scale));
  }
  // d = 0: every score is 0 whatever the scale.
  p.scale = o.scale.has_value() ? *o.scale : p.d > 0 ? 1 / std::sqrt(static_cast<double>(p.d)) : 1;
  if (!(o.softcap >= 0) || std::isinf(o.softcap)) {
    return Status::InvalidArgument(std::string(kOp) + ": softcap must be finite and >= 0 (0: " +
                                   "none), got " + std::to_string(o.softcap));
  }
  p.softcap = o.softcap;
  if (o.is_causal && o.attn_mask.kind != AttentionMask::Kind::kNone) {
    return Status::InvalidArgument(std::string(kOp) + ": is_causal and attn_mask cannot both " +
                                   "be given (PyTorch's rule); put the causal mask in attn_mask");
  }
  p.causal = o.is_causal;
  p.causal_offset = o.causal_alignment == CausalAlignment::kLowerRight ? p.lk - p.lq : 0;
  if (Status s = ReadPerHead("sinks", o.sinks, q.dtype, p.heads, p.sinks); !s.ok()) return s;
  if (Status s = ReadPerHead("alibi_slopes", o.alibi_slopes, q.dtype, p.heads, p.slopes); !s.ok()) {
    return s;
  }
  p.mask_kind = o.attn_mask.kind;
  if (p.mask_kind != AttentionMask::Kind::kNone) {
    const Layout& ml = o.attn_mask.layout;
    if (Status s = CheckView(kOp, "attn_mask", ml, o.attn_mask.data); !s.ok()) return s;
    if (p.mask_kind == AttentionMask::Kind::kAdditive && o.attn_mask.dtype != q.dtype) {
      return Status::InvalidArgument(std::string(kOp) + ": a float attn_mask must have q's " +
                                     "dtype " + dtype_name(q.dtype) + ", got " +
                                     dtype_name(o.attn_mask.dtype));
    }
    const std::int64_t full[4] = {p.batch, p.heads, p.lq, p.lk};
    bool fits = ml.rank <= 4;
    for (int i = 0; fits && i < ml.rank; ++i) {
      const std::int64_t size = ml.shape[i];
      fits = size == 1 || size == full[4 - ml.rank + i];
    }
    if (!fits) {
      return Status::InvalidArgument(std::string(kOp) + ": attn_mask " + internal::ShapeString(ml) +
                                     " does not broadcast to " +
                                     Shape4(p.batch, p.heads, p.lq, p.lk, 4));
    }
    p.mask = AlignRight(ml, 4);
    p.mask_data = o.attn_mask.data;
  }
  return Status::Ok();
}

template <typename C>
const internal::AttentionKernels<C>& KernelsOf(const internal::AttentionKernelTable& table) {
  if constexpr (std::is_same_v<C, float>) {
    return table.f32;
  } else {
    return table.f64;
  }
}

std::int64_t RoundUp(std::int64_t n, std::int64_t unit) { return (n + unit - 1) / unit * unit; }

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

  KeyValueTiles(const Plan& p, const S* k, const S* v, std::int64_t block_k, std::int64_t lanes,
                std::int64_t dv_pad)
      : p_(p), k_(k), v_(v), block_k_(block_k), lanes_(lanes), dv_pad_(dv_pad) {
    const std::int64_t tiles = (p.lk + block_k - 1) / block_k;
    const std::int64_t kt_size = std::max<std::int64_t>(p.d, 1) * block_k;
    const std::int64_t v_size = block_k * dv_pad;
    cached_ = tiles * (kt_size + v_size) * static_cast<std::int64_t>(sizeof(C)) <= kMaxCachedBytes;
    slots_ = cached_ ? std::max<std::int64_t>(tiles, 1) : 1;
  }

  // Starts on (b, kvh); the tiles packed for it so far stay valid when it is the current one.
  void Select(std::int64_t b, std::int64_t kvh) {
    if (b == b_ && kvh == kvh_) return;
    b_ = b;
    kvh_ = kvh;
    packed_ = 0;
  }

  Tile Get(std::int64_t t) {
    const std::int64_t first = t * block_k_;
    const std::int64_t keys = std::min(block_k_, p_.lk - first);
    const std::int64_t padded = RoundUp(keys, lanes_);
    const std::int64_t slot = cached_ ? t : 0;
    if (kt_.empty()) {  // allocated on first use: decoding tasks read keys in place
      kt_.resize(static_cast<std::size_t>(slots_ * std::max<std::int64_t>(p_.d, 1) * block_k_));
      vt_.resize(static_cast<std::size_t>(slots_ * block_k_ * dv_pad_));
      finite_.resize(static_cast<std::size_t>(slots_));
    }
    C* kt = kt_.data() + slot * std::max<std::int64_t>(p_.d, 1) * block_k_;
    C* vt = vt_.data() + slot * block_k_ * dv_pad_;
    if (!cached_ || t >= packed_) {
      if (cached_) {
        for (std::int64_t u = packed_; u < t; ++u) Get(u);  // keep [0, packed_) contiguous
        packed_ = t + 1;
      }
      finite_[static_cast<std::size_t>(slot)] = Pack(first, keys, padded, kt, vt);
    }
    return {kt, vt, keys, padded, finite_[static_cast<std::size_t>(slot)] != 0};
  }

 private:
  bool Pack(std::int64_t first, std::int64_t keys, std::int64_t padded, C* kt, C* vt) const {
    for (std::int64_t c = 0; c < keys; ++c) {
      for (std::int64_t e = 0; e < p_.d; ++e) {
        kt[e * padded + c] = internal::ToCompute(k_[p_.k.Offset(b_, kvh_, first + c, e)]);
      }
    }
    for (std::int64_t e = 0; e < p_.d; ++e) {
      std::fill(kt + e * padded + keys, kt + (e + 1) * padded, C(0));
    }
    bool finite = true;
    for (std::int64_t c = 0; c < keys; ++c) {
      C* row = vt + c * dv_pad_;
      for (std::int64_t e = 0; e < p_.dv; ++e) {
        row[e] = internal::ToCompute(v_[p_.v.Offset(b_, kvh_, first + c, e)]);
        finite &= std::isfinite(row[e]);
      }
      std::fill(row + p_.dv, row + dv_pad_, C(0));
    }
    return finite;
  }

  const Plan& p_;
  const S* k_;
  const S* v_;
  std::int64_t block_k_, lanes_, dv_pad_;
  bool cached_ = false;
  std::int64_t slots_ = 1;
  std::int64_t b_ = -1, kvh_ = -1, packed_ = 0;
  std::vector<C> kt_, vt_;
  std::vector<std::uint8_t> finite_;
};

// The forward pass over tasks [begin, end) of (batch, head, query block).
template <typename S>
void ForwardTasks(const Plan& p, const S* q, const S* k, const S* v, S* out,
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
      if (p.mask_kind != AttentionMask::Kind::kNone) {
        for (std::int64_t r = 0; r < rows; ++r) {
          C* row = w.mask.data() + r * bk_pad;
          for (std::int64_t c = 0; c < bk; ++c) {
            const std::int64_t at = p.mask.Offset(b, h, i0 + r, j0 + c);
            if (p.mask_kind == AttentionMask::Kind::kBool) {
              row[c] = static_cast<const std::uint8_t*>(p.mask_data)[at] != 0 ? C(0) : kNegInf;
            } else {
              row[c] = internal::ToCompute(static_cast<const S*>(p.mask_data)[at]);
            }
          }
          std::fill(row + bk, row + bk_pad, C(0));
        }
      }
      for (std::int64_t r = 0; r < rows; ++r) {
        const std::int64_t i = i0 + r;
        internal::ScoreRowShape<C> shape;
        shape.valid = static_cast<std::size_t>(bk);
        shape.first_key = j0;
        shape.last_key = p.causal ? i + p.causal_offset : std::numeric_limits<std::int64_t>::max();
        shape.softcap = static_cast<C>(p.softcap);
        shape.alibi_slope = p.slopes.empty() ? C(0) : static_cast<C>(p.slopes[h]);
        shape.alibi_position = i + p.lk - p.lq;
        shape.mask = w.mask.empty() ? nullptr : w.mask.data() + r * bk_pad;
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
  Plan p;
  if (Status s = PlanAttention(q, k, v, out, lse, options, p); !s.ok()) return s;
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
