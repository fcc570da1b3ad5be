// The losses of a softmax classifier, fused with their gradients: softmax cross-entropy with class
// indices or with probabilities (PyTorch's F.cross_entropy), and the distillation loss of Hinton
// et al. (T^2 KL(teacher || student) at temperature T, averaged over the batch).
//
// Each runs in one call over the logits: the loss, and (when `grad` is given) its gradient with
// respect to the logits, which may be written over the logits themselves (grad.data ==
// logits.data, same layout): the saved logits are usually dead after the loss, and writing the
// gradient in place halves the memory a training step touches. (The probability targets and the
// teacher may be grad too; a grad that overlaps an input without being that same view is an
// error.) Extra memory: one double per row
// (the per-row losses, summed in a fixed order so that the result does not depend on the thread
// count); contiguous f32/f64 rows use nothing per logit, other layouts and f16/bf16 stage one
// row per thread.
//
// Example (a classifier's loss and gradient, in place):
//   std::vector<std::int64_t> labels = ...;               // N class indices
//   float loss;
//   smx::Status s = smx::cross_entropy(logits_view, labels, smx::TensorView<float>(&loss, {}),
//                                      logits_view, {.label_smoothing = 0.1});
//
// The row is the 1-d slice along `axis` (the classes, C of them); every other index names one
// sample, in row-major order, so logits [N, C] with axis -1 (or 1) is PyTorch's [N, C], and [N, C,
// d] with axis 1 its K-dimensional case (the targets then have the shape [N, d]). Accuracy: within
// 1e-5 (f32) and 1e-12 (f64) relative of the exact loss and gradient of the given inputs, as the
// golden cases of shared/golden/public.jsonl check (f16 and bf16 compute in f32's way). Threads:
// see runtime.h; fewer rows than threads, each longer than 64 KiB, are each split over the
// threads in chunks; the results do not depend on the thread count.
#ifndef SMX_LOSSES_H_
#define SMX_LOSSES_H_

#include <cstdint>
#include <span>

#include "smx/status.h"
#include "smx/tensor.h"

namespace smx {

// How the per-sample losses l_n become the result (PyTorch's `reduction`).
enum class Reduction : std::uint8_t {
  kNone,  // loss has the logits' shape without the class axis: l_n for every sample
  kSum,   // loss is one element: sum_n l_n
  kMean,  // one element: sum_n l_n / D (class indices: D = sum of w[t_n] over non-ignored
          // samples; probabilities: D = the number of samples)
};

// "none", "sum", "mean"; parse_reduction accepts those and returns false for anything else.
const char* reduction_name(Reduction reduction);
bool parse_reduction(const char* name, Reduction& reduction);

struct CrossEntropyOptions {
  Reduction reduction = Reduction::kMean;
  // A target equal to this contributes no loss and a zero gradient row (class indices only).
  std::int64_t ignore_index = -100;
  // eps in [0, 1]: the target becomes (1 - eps) onehot(t) + eps/C (PyTorch's label smoothing).
  double label_smoothing = 0.0;
  // w: one weight per class, shape [C], the logits' dtype; data == nullptr: every w_c = 1.
  ConstTensorRef weight{};
  int axis = -1;  // the class axis; negative counts from the end
};

// Cross-entropy with class indices: for a sample n whose target t = target[n] is not
// ignore_index, with lp = log_softmax of its logits z, p = softmax, W = sum_c w_c,
//   l_n    = (1 - eps) w_t (-lp_t) + (eps/C) sum_c w_c (-lp_c)
//   grad_n = (1 - eps) w_t (p - onehot(t)) + (eps/C) (W p - w)        (then / D under kMean)
// and an ignored sample has l_n = 0 and a zero gradient row. The loss of a confident prediction
// is exact: -lp_t = (max - z_t) + log1p(S - 1) with S - 1 kept apart, so a loss of 1e-7 keeps all
// its digits (PyTorch f32 returns 0 there); so is p_t - 1 in the gradient.
//
// target: one index per sample (int64, PyTorch's dtype); it and the weights must not share bytes
// with loss or grad, which the kernel writes after it has checked them (the Python binding
// copies them when they do). Errors (Status, nothing written): a target outside [0, C) that is
// not ignore_index (the message names the sample and the value), a target count other than the
// number of samples, eps outside [0, 1] or NaN, a weight of another shape or dtype, a loss or grad
// of the wrong shape or dtype.
// Edge cases: kMean with every sample ignored (D = 0) gives NaN, as PyTorch (its gradient: 0 on
// ignored rows, NaN on others). N = 0: kNone writes nothing, kSum gives 0, kMean NaN. A class
// with w_c = 0 contributes nothing, even where its logit is -inf. A row with NaN, or +inf, gives a
// NaN loss and a NaN gradient row. A -inf logit is a masked class: p = 0 there, and if it is the
// target (or eps > 0 puts mass on it) the loss is +inf. A fully masked row (all -inf) has p = 0:
// its loss is +inf (0 when the target's weight is 0 and eps = 0) and its gradient is the limit
// formula with p = 0.
Status cross_entropy(const ConstTensorRef& logits, std::span<const std::int64_t> target,
                     const TensorRef& loss, const CrossEntropyOptions& options = {});
Status cross_entropy(const ConstTensorRef& logits, std::span<const std::int64_t> target,
                     const TensorRef& loss, const TensorRef& grad,
                     const CrossEntropyOptions& options = {});

// Cross-entropy with probability targets P (the logits' shape and dtype; rows are usually
// distributions but need not be), PyTorch's rule for a floating target: with P' = (1 - eps) P +
// eps/C,
//   l_n = -sum_c w_c P'_c lp_c,   grad_n = (sum_c w_c P'_c) p - w * P'     (then / N under kMean)
// options.ignore_index is not used. Terms with w_c P'_c = 0 are 0, even where lp_c = -inf.
Status cross_entropy_probs(const ConstTensorRef& logits, const ConstTensorRef& target,
                           const TensorRef& loss, const CrossEntropyOptions& options = {});
Status cross_entropy_probs(const ConstTensorRef& logits, const ConstTensorRef& target,
                           const TensorRef& loss, const TensorRef& grad,
                           const CrossEntropyOptions& options = {});

struct DistillOptions {
  double temperature = 1.0;  // finite, > 0
  int axis = -1;             // the class axis
};

// Distillation (Hinton et al.; PyTorch's T^2 * kl_div(log_softmax(s/T), softmax(t/T),
// reduction='batchmean')): with pt = softmax(teacher/T), ps = softmax(student/T) and N samples,
//   loss = T^2/N sum_n sum_c pt_c (log pt_c - log ps_c),   grad_student = (T/N) (ps - pt).
// loss has one element. Teacher entries with pt_c = 0 (-inf logits, or underflow) give 0 terms,
// not NaN; a student -inf where pt_c > 0 gives +inf. A NaN or +inf in a sample gives a NaN loss
// and a NaN gradient row. student equal to teacher gives exactly 0, and a student close to its
// teacher keeps the digits of its tiny KL (f64: computed without cancellation). grad may be the
// student itself. Errors: shapes or dtypes that differ, T not finite and > 0.
Status kl_div_distill(const ConstTensorRef& student, const ConstTensorRef& teacher,
                      const TensorRef& loss, const DistillOptions& options = {});
Status kl_div_distill(const ConstTensorRef& student, const ConstTensorRef& teacher,
                      const TensorRef& loss, const TensorRef& grad,
                      const DistillOptions& options = {});

// Typed views.
template <typename Z, typename L>
Status cross_entropy(const TensorView<Z>& logits, std::span<const std::int64_t> target,
                     const TensorView<L>& loss, const CrossEntropyOptions& options = {}) {
  static_assert(std::is_same_v<std::remove_const_t<Z>, L>, "logits and loss must have one dtype");
  return cross_entropy(ConstTensorRef(logits.data(), dtype_of<L>(), logits.layout()), target,
                       loss.ref(), options);
}
template <typename Z, typename L, typename G>
Status cross_entropy(const TensorView<Z>& logits, std::span<const std::int64_t> target,
                     const TensorView<L>& loss, const TensorView<G>& grad,
                     const CrossEntropyOptions& options = {}) {
  static_assert(std::is_same_v<std::remove_const_t<Z>, L> && std::is_same_v<L, G>,
                "logits, loss and grad must have one dtype");
  return cross_entropy(ConstTensorRef(logits.data(), dtype_of<L>(), logits.layout()), target,
                       loss.ref(), grad.ref(), options);
}

}  // namespace smx

#endif  // SMX_LOSSES_H_
