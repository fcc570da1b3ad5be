// What the attention entry points share: the checked plan of a call (shapes as [B, H, L, E],
// strides, options read into plain values), and the tile sizes.
#ifndef SMX_ATTENTION_PLAN_H_
#define SMX_ATTENTION_PLAN_H_

#include <cstdint>
#include <type_traits>
#include <vector>

#include "attention/kernels.h"
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
