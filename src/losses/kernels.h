// The per-target kernels of the losses on contiguous rows of f32 or f64. The drivers
// (cross_entropy.cc) validate the arguments, ask for the table once per call and stage other
// layouts and types.
#ifndef SMX_LOSSES_KERNELS_H_
#define SMX_LOSSES_KERNELS_H_

#include <cstddef>
#include <cstdint>

#include "core/function_ref.h"

namespace smx::internal {

// A block of samples of cross-entropy with class indices: row r of the logits at
// logits + r * logits_stride, of its gradient at grad + r * grad_stride (grad may equal logits).
template <typename T>
struct ClassRows {
  const T* logits = nullptr;
  std::ptrdiff_t logits_stride = 0;
  T* grad = nullptr;  // nullptr: the loss only
  std::ptrdiff_t grad_stride = 0;
  std::size_t rows = 0;
  std::size_t classes = 0;           // C >= 1
  const std::int64_t* target = nullptr;  // rows entries, each in [0, C) or ignore_index
  std::int64_t ignore_index = -100;
  const T* weight = nullptr;  // C entries; nullptr: every weight is 1
  double smoothing = 0;       // eps
  double weight_sum = 0;      // W = sum_c w_c (C without weights)
  double grad_scale = 1;      // the reduction's 1/D, or 1
  double* row_loss = nullptr;  // rows entries: l_n, unscaled
};

// The sums of one row of a distillation (student s, teacher t) for their finite maxima ms, mt:
// with ds_i = (ms - s_i)/T and dt_i = (mt - t_i)/T (>= 0), the entries at each max (counted) and
// the rest of each softmax's sum, sum_i exp(-ds_i) and sum_i exp(-dt_i) over the others, and
// cross = sum_i exp(-dt_i) (ds_i - dt_i) (terms of teacher probability 0 are 0).
// nan_or_inf: a NaN, or a +inf, in either row.
struct DistillSums {
  double s_count = 0, s_rest = 0, t_count = 0, t_rest = 0, cross = 0;
  bool nan_or_inf = false;
};

struct DistillExcess {
  double excess = 0, resid = 0, total = 0;
};

// The sums of one row of cross-entropy with probability targets P, for the logits' finite max m:
// with q_i = w_i ((1 - eps) P_i + eps/C) (w null: 1), the entries at the max (counted) and the
// rest of sum_i exp(z_i - m), total = sum_i q_i and gap = sum_i q_i (m - z_i) (terms with q_i = 0
// are 0). nan_or_inf: a NaN or +inf in z, or a NaN in P.
struct ProbsSums {
  double count = 0, rest = 0, total = 0, gap = 0;
  bool nan_or_inf = false;
};

// Rows longer than one chunk go through their passes chunk by chunk, each chunk's sums kept apart
// and added in chunk order, so that the chunks may run on several threads with the bits of one:
// chunks of 64 KiB, longer where a row would have more than kMaxLossChunks (their sums live on
// the stack).
inline constexpr std::size_t kMaxLossChunks = 256;
template <typename T>
constexpr std::size_t LossChunkLength(std::size_t n) {
  const std::size_t base = 65536 / sizeof(T);
  const std::size_t needed = (n + kMaxLossChunks - 1) / kMaxLossChunks;
  return base > needed ? base : (needed + 63) / 64 * 64;
}

// Runs body(begin, end) over a partition of [0, count) (chunks of a row), on the threads the
// driver gives a call of few long rows, or inline.
using ChunkLoop = FunctionRef<void(std::size_t count, FunctionRef<void(std::size_t, std::size_t)>)>;

template <typename T>
struct LossKernels {
  // Cross-entropy over a block of rows: row_loss and the gradient rows. A row whose max is -inf
  // (fully masked, or a NaN the max did not see) is left untouched, for special(r) to finish from
  // its logits; rows with +inf or NaN are finished here (NaN loss and gradient). The chunks of
  // rows longer than LossChunkLength go through `chunks`.
  void (*class_rows)(const ClassRows<T>& rows, FunctionRef<void(std::size_t)> special,
                     ChunkLoop chunks);
  // The max of x (n >= 1; NaN handling unspecified: the sums report NaN).
  T (*max)(const T* x, std::size_t n);
  // The distillation's sums, and its gradient row g_i = cs exp(-ds_i) - ct exp(-dt_i) (g may be
  // s or t). Computed in f64 lanes: used for f32 data, whose differences are exact there (f64
  // data takes the long-double rows of probability_losses.cc).
  DistillSums (*distill_sums)(const T* s, const T* t, std::size_t n, T ms, T mt, double inv_t);
  void (*distill_grad)(const T* s, const T* t, T* g, std::size_t n, T ms, T mt, double inv_t,
                       double cs, double ct);
  // The KL of a row without cancellation (f64 data): with e_i = exp(-dt_i), u_i = ((mt - ms) -
  // (t_i - s_i))/T (the log-ratio of the two softmaxes up to a constant; its differences are
  // exact where s and t nearly agree) and v_i = u_i + c, the sums excess = sum_i e_i phi(v_i)
  // with phi(v) = e^v - 1 - v >= 0, resid = sum_i e_i v_i and total = sum_i e_i (compensated;
  // terms of teacher probability 0 are 0). excess is +inf where the student is -inf on a class
  // the teacher gives mass.
  DistillExcess (*distill_excess)(const T* s, const T* t, std::size_t n, T ms, T mt,
                                  double inv_t, double c);
  // The probability targets' sums, and the gradient row g_i = a exp(z_i - m) - b q_i (g may be z
  // or p). f64 lanes, for f32 and f64 data (the loss is a sum of positive terms).
  ProbsSums (*probs_sums)(const T* z, const T* p, const T* w, std::size_t n, T m, double eps);
  void (*probs_grad)(const T* z, const T* p, const T* w, T* g, std::size_t n, T m, double eps,
                     double a, double b);
};

// Class indices checked against [0, classes) and ignore_index: how many are not ignored, and
// whether any is out of range (and not ignored).
struct TargetCounts {
  std::int64_t counted = 0;
  bool any_bad = false;
};

struct LossKernelTable {
  LossKernels<float> f32;
  LossKernels<double> f64;
  // The targets of one call, before anything is written (one thread: scalar, this was 11 of the
  // 490 us of cross-entropy on [32768, 128] at 2 threads).
  TargetCounts (*count_targets)(const std::int64_t* target, std::size_t n, std::int64_t classes,
                                std::int64_t ignore_index);
};

// The table for the best target of this CPU (honours hwy::SetSupportedTargetsForTest).
const LossKernelTable& GetLossKernels();

}  // namespace smx::internal

#endif  // SMX_LOSSES_KERNELS_H_
