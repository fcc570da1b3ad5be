// What the attention entry points share: the checked plan of a call (shapes as [B, H, L, E],
// strides, options read into plain values), and the tile sizes.
#ifndef SMX_ATTENTION_PLAN_H_
#define SMX_ATTENTION_PLAN_H_

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <limits>
#include <type_traits>
#include <vector>

#include "attention/kernels.h"
#include "core/storage.h"
#include "smx/attention.h"
#include "smx/status.h"
#include "smx/tensor.h"

namespace smx::internal {

// A tensor seen as [B, H, L, E]: the dimensions it lacks are leading ones of size 1.
struct View4 {
  std::int64_t shape[4] = {1, 1, 1, 1};
  std::int64_t strides[4] = {0, 0, 0, 0};
  std::int64_t Offset(std::int64_t b, std::int64_t h, std::int64_t l, std::int64_t e) const {
    return b * strides[0] + h * strides[1] + l * strides[2] + e * strides[3];
  }
};

struct AttentionPlan {
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

// A layout of rank <= dims as the last dimensions of a View4 (dims = 4: [B, H, L, E]; 3: [B, H, L]
// in the first three); sizes of 1 get stride 0, so that broadcasting and indexing agree.
View4 AlignRight(const Layout& layout, int dims);

// Checks q, k, v, out (q's dtype, [..., Lq, dv]; an input of the backward pass) and lse (when
// given) and reads the options; `op` names the entry point in messages.
Status PlanAttention(const char* op, const ConstTensorRef& q, const ConstTensorRef& k,
                     const ConstTensorRef& v, const ConstTensorRef& out, const ConstTensorRef* lse,
                     const AttentionOptions& options, AttentionPlan& plan);

// The attention tile sizes. Query rows per task and keys per tile; a task's buffers (f32, d = dv
// = 128): the query block 32 KiB, a key tile transposed 64 KiB, a value tile 64 KiB, the scores
// 32 KiB, the output rows 32 KiB.
inline constexpr std::int64_t kQueryBlock = 64;
inline constexpr std::int64_t kKeyBlock = 128;

inline std::int64_t RoundUp(std::int64_t n, std::int64_t unit) {
  return (n + unit - 1) / unit * unit;
}

// The tiles of a call on a target of `lanes` lanes: query blocks of block_q rows, key tiles of
// block_k keys (a multiple of lanes), and rows of d and dv padded to whole vectors.
struct TileSizes {
  std::int64_t lanes, block_q, block_k, d_pad, dv_pad;
  TileSizes(const AttentionPlan& p, std::size_t target_lanes)
      : lanes(static_cast<std::int64_t>(target_lanes)),
        block_q(std::min(kQueryBlock, p.lq)),
        block_k(RoundUp(std::min(kKeyBlock, std::max<std::int64_t>(p.lk, 1)), lanes)),
        d_pad(RoundUp(std::max<std::int64_t>(p.d, 1), lanes)),
        dv_pad(RoundUp(std::max<std::int64_t>(p.dv, 1), lanes)) {}
  std::int64_t QueryBlocks(const AttentionPlan& p) const { return (p.lq + block_q - 1) / block_q; }
  std::int64_t KeyBlocks(const AttentionPlan& p) const { return (p.lk + block_k - 1) / block_k; }
};

// How row i (query head h) shapes the scores of keys [j0, j0 + keys): mask_row is its row of the
// mask tile (FillMaskTile), or null.
template <typename C>
ScoreRowShape<C> RowShape(const AttentionPlan& p, std::int64_t h, std::int64_t i, std::int64_t j0,
                          std::int64_t keys, const C* mask_row) {
  ScoreRowShape<C> shape;
  shape.valid = static_cast<std::size_t>(keys);
  shape.first_key = j0;
  shape.last_key = p.causal ? i + p.causal_offset : std::numeric_limits<std::int64_t>::max();
  shape.softcap = static_cast<C>(p.softcap);
  shape.alibi_slope = p.slopes.empty() ? C(0) : static_cast<C>(p.slopes[h]);
  shape.alibi_position = i + p.lk - p.lq;
  shape.mask = mask_row;
  return shape;
}

// The attn_mask entries of rows [i0, i0 + rows) and keys [j0, j0 + keys) as additive values of
// the compute type in tile [rows, keys_padded] (a boolean false is -inf; padding 0).
template <typename S, typename C = ComputeType<S>>
void FillMaskTile(const AttentionPlan& p, std::int64_t b, std::int64_t h, std::int64_t i0,
                  std::int64_t rows, std::int64_t j0, std::int64_t keys, std::int64_t keys_padded,
                  C* tile) {
  for (std::int64_t r = 0; r < rows; ++r) {
    C* row = tile + r * keys_padded;
    for (std::int64_t c = 0; c < keys; ++c) {
      const std::int64_t at = p.mask.Offset(b, h, i0 + r, j0 + c);
      if (p.mask_kind == AttentionMask::Kind::kBool) {
        row[c] = static_cast<const std::uint8_t*>(p.mask_data)[at] != 0
                     ? C(0)
                     : -std::numeric_limits<C>::infinity();
      } else {
        row[c] = ToCompute(static_cast<const S*>(p.mask_data)[at]);
      }
    }
    std::fill(row + keys, row + keys_padded, C(0));
  }
}

// Rows [first, first + count) of a [B, H, L, E] tensor at (b, head), in the compute type: as rows
// out[r, :E] (Transposed: out[:E, r] columns) of a buffer whose rows hold `padded` elements, the
// rest zero (rows padded to `padded_rows`). Returns whether every value is finite.
template <bool kTransposed, typename S, typename C = ComputeType<S>>
bool PackTile(const S* data, const View4& view, std::int64_t b, std::int64_t head,
              std::int64_t first, std::int64_t count, std::int64_t width, std::int64_t padded,
              std::int64_t padded_rows, C* out) {
  bool finite = true;
  for (std::int64_t r = 0; r < count; ++r) {
    const S* row = data + view.Offset(b, head, first + r, 0);
    for (std::int64_t e = 0; e < width; ++e) {
      const C value = ToCompute(row[e * view.strides[3]]);
      finite &= std::isfinite(value);
      (kTransposed ? out[e * padded + r] : out[r * padded + e]) = value;
    }
  }
  if constexpr (kTransposed) {
    for (std::int64_t e = 0; e < width; ++e) {
      std::fill(out + e * padded + count, out + (e + 1) * padded, C(0));
    }
  } else {
    for (std::int64_t r = 0; r < padded_rows; ++r) {
      std::fill(out + r * padded + (r < count ? width : 0), out + (r + 1) * padded, C(0));
    }
  }
  return finite;
}

// The packed tiles of one (batch, key head), kept while a thread stays on it (its next query
// blocks, and the other query heads of a GQA group) when all of the head's tiles fit max_bytes;
// otherwise one slot, packed again at every request. The buffers are allocated on first use.
template <typename C>
class TileCache {
 public:
  TileCache(std::int64_t tiles, std::int64_t tile_elements, std::int64_t max_bytes)
      : tile_elements_(tile_elements),
        cached_(tiles * tile_elements * static_cast<std::int64_t>(sizeof(C)) <= max_bytes),
        slots_(cached_ ? std::max<std::int64_t>(tiles, 1) : 1) {}

  // Starts on (b, kvh); the tiles packed for it so far stay valid when it is the current head.
  void Select(std::int64_t b, std::int64_t kvh) {
    if (b == b_ && kvh == kvh_) return;
    b_ = b;
    kvh_ = kvh;
    std::fill(valid_.begin(), valid_.end(), std::uint8_t{0});
  }

  // Tile t's buffer and flag byte (the caller's: whether its values are finite); `fresh` says
  // that the caller must pack it now.
  C* Get(std::int64_t t, bool& fresh, std::uint8_t*& flag) {
    if (buffer_.empty()) {
      buffer_.resize(static_cast<std::size_t>(slots_ * tile_elements_));
      valid_.assign(static_cast<std::size_t>(slots_), 0);
      flags_.assign(static_cast<std::size_t>(slots_), 0);
    }
    const auto slot = static_cast<std::size_t>(cached_ ? t : 0);
    fresh = !cached_ || valid_[slot] == 0;
    valid_[slot] = 1;
    flag = &flags_[slot];
    return buffer_.data() + static_cast<std::int64_t>(slot) * tile_elements_;
  }

 private:
  std::int64_t tile_elements_;
  bool cached_;
  std::int64_t slots_;
  std::int64_t b_ = -1, kvh_ = -1;
  std::vector<C> buffer_;
  std::vector<std::uint8_t> valid_, flags_;
};

template <typename C>
const AttentionKernels<C>& KernelsOf(const AttentionKernelTable& table) {
  if constexpr (std::is_same_v<C, float>) {
    return table.f32;
  } else {
    return table.f64;
  }
}

}  // namespace smx::internal

#endif  // SMX_ATTENTION_PLAN_H_
