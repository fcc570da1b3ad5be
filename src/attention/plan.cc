// Argument checks of the attention entry points (plan.h).
#include "attention/plan.h"

#include <cmath>
#include <string>
#include <utility>

#include "core/layout.h"
#include "core/storage.h"

namespace smx::internal {
namespace {

std::string Shape4(std::int64_t a, std::int64_t b, std::int64_t c, std::int64_t d, int rank) {
  const std::int64_t all[4] = {a, b, c, d};
  std::string s = "[";
  for (int i = 4 - rank; i < 4; ++i) s += std::to_string(all[i]) + (i < 3 ? ", " : "");
  return s + "]";
}

bool SameShape(const Layout& layout, const std::string& want) {
  return ShapeString(layout) == want;
}

// A per-head option ([H], q's dtype) as doubles; empty when not given.
Status ReadPerHead(const char* op, const char* name, const ConstTensorRef& t, DType dtype,
                   std::int64_t heads, std::vector<double>& values) {
  values.clear();
  if (t.data == nullptr) return Status::Ok();
  if (t.layout.rank != 1 || t.layout.shape[0] != heads || t.dtype != dtype) {
    return Status::InvalidArgument(std::string(op) + ": " + name + " must be " + dtype_name(dtype) +
                                   " [" + std::to_string(heads) + "] (one per query head), got " +
                                   dtype_name(t.dtype) + " " + ShapeString(t.layout));
  }
  values.resize(static_cast<std::size_t>(heads));
  VisitStorage(dtype, [&](auto tag) {
    using S = decltype(tag);
    const S* p = static_cast<const S*>(t.data);
    for (std::int64_t h = 0; h < heads; ++h) {
      values[static_cast<std::size_t>(h)] = ToCompute(p[h * t.layout.strides[0]]);
    }
  });
  return Status::Ok();
}

}  // namespace

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

Status PlanAttention(const char* op, const ConstTensorRef& q, const ConstTensorRef& k,
                     const ConstTensorRef& v, const ConstTensorRef& out, const ConstTensorRef* lse,
                     const AttentionOptions& o, AttentionPlan& p) {
  for (auto [name, t] :
       {std::pair<const char*, const ConstTensorRef*>{"q", &q}, {"k", &k}, {"v", &v}}) {
    if (Status s = CheckView(op, name, t->layout, t->data); !s.ok()) return s;
  }
  if (Status s = CheckView(op, "out", out.layout, out.data); !s.ok()) return s;
  if (lse != nullptr) {
    if (Status s = CheckView(op, "lse", lse->layout, lse->data); !s.ok()) return s;
  }
  const int rank = q.layout.rank;
  if (rank < 2 || rank > 4) {
    return Status::InvalidArgument(std::string(op) + ": q must be [B, H, L, d], [H, L, d] or " +
                                   "[L, d], got " + ShapeString(q.layout));
  }
  if (k.layout.rank != rank || v.layout.rank != rank) {
    return Status::InvalidArgument(std::string(op) + ": q " + ShapeString(q.layout) + ", k " +
                                   ShapeString(k.layout) + " and v " + ShapeString(v.layout) +
                                   " differ in rank");
  }
  if (k.dtype != q.dtype || v.dtype != q.dtype) {
    return Status::InvalidArgument(std::string(op) + ": q, k and v must share a dtype, got " +
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
    return Status::InvalidArgument(std::string(op) + ": k " + ShapeString(k.layout) +
                                   " does not match q " + ShapeString(q.layout) +
                                   " (batch and d must agree)");
  }
  if (p.v.shape[0] != p.batch || p.v.shape[1] != p.kv_heads || p.v.shape[2] != p.lk) {
    return Status::InvalidArgument(std::string(op) + ": v " + ShapeString(v.layout) +
                                   " does not match k " + ShapeString(k.layout) +
                                   " (batch, heads and length must agree)");
  }
  if (!o.enable_gqa && p.kv_heads != p.heads) {
    return Status::InvalidArgument(std::string(op) + ": q has " + std::to_string(p.heads) +
                                   " heads but k and v have " + std::to_string(p.kv_heads) +
                                   " (set enable_gqa for grouped-query attention)");
  }
  if (o.enable_gqa && (p.kv_heads == 0 ? p.heads != 0 : p.heads % p.kv_heads != 0)) {
    return Status::InvalidArgument(std::string(op) + ": enable_gqa needs the query heads (" +
                                   std::to_string(p.heads) + ") to be a multiple of the key " +
                                   "heads (" + std::to_string(p.kv_heads) + ")");
  }
  const std::string out_want = Shape4(p.batch, p.heads, p.lq, p.dv, rank);
  if (out.dtype != q.dtype || !SameShape(out.layout, out_want)) {
    return Status::InvalidArgument(std::string(op) + ": out must be " + dtype_name(q.dtype) + " " +
                                   out_want + ", got " + dtype_name(out.dtype) + " " +
                                   ShapeString(out.layout));
  }
  p.out = AlignRight(out.layout, 4);
  if (lse != nullptr) {
    const DType lse_dtype = q.dtype == DType::kF64 ? DType::kF64 : DType::kF32;
    const std::string lse_want = Shape4(1, p.batch, p.heads, p.lq, rank - 1);
    if (lse->dtype != lse_dtype || !SameShape(lse->layout, lse_want)) {
      return Status::InvalidArgument(std::string(op) + ": lse must be " + dtype_name(lse_dtype) +
                                     " " + lse_want + ", got " + dtype_name(lse->dtype) + " " +
                                     ShapeString(lse->layout));
    }
    p.lse = AlignRight(lse->layout, 3);  // [B, H, L] in the first three
    p.has_lse = true;
  }
  if (o.scale.has_value() && !std::isfinite(*o.scale)) {
    return Status::InvalidArgument(std::string(op) + ": scale must be finite, got " +
                                   std::to_string(*o.scale));
  }
  // d = 0: every score is 0 whatever the scale.
  p.scale = o.scale.has_value() ? *o.scale : p.d > 0 ? 1 / std::sqrt(static_cast<double>(p.d)) : 1;
  if (!(o.softcap >= 0) || std::isinf(o.softcap)) {
    return Status::InvalidArgument(std::string(op) + ": softcap must be finite and >= 0 (0: " +
                                   "none), got " + std::to_string(o.softcap));
  }
  p.softcap = o.softcap;
  if (o.is_causal && o.attn_mask.kind != AttentionMask::Kind::kNone) {
    return Status::InvalidArgument(std::string(op) + ": is_causal and attn_mask cannot both " +
                                   "be given (PyTorch's rule); put the causal mask in attn_mask");
  }
  p.causal = o.is_causal;
  p.causal_offset = o.causal_alignment == CausalAlignment::kLowerRight ? p.lk - p.lq : 0;
  if (Status s = ReadPerHead(op, "sinks", o.sinks, q.dtype, p.heads, p.sinks); !s.ok()) return s;
  if (Status s = ReadPerHead(op, "alibi_slopes", o.alibi_slopes, q.dtype, p.heads, p.slopes);
      !s.ok()) {
    return s;
  }
  p.mask_kind = o.attn_mask.kind;
  if (p.mask_kind != AttentionMask::Kind::kNone) {
    const Layout& ml = o.attn_mask.layout;
    if (Status s = CheckView(op, "attn_mask", ml, o.attn_mask.data); !s.ok()) return s;
    if (p.mask_kind == AttentionMask::Kind::kAdditive && o.attn_mask.dtype != q.dtype) {
      return Status::InvalidArgument(std::string(op) + ": a float attn_mask must have q's " +
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
      return Status::InvalidArgument(std::string(op) + ": attn_mask " + ShapeString(ml) +
                                     " does not broadcast to " +
                                     Shape4(p.batch, p.heads, p.lq, p.lk, 4));
    }
    p.mask = AlignRight(ml, 4);
    p.mask_data = o.attn_mask.data;
  }
  return Status::Ok();
}

}  // namespace smx::internal
