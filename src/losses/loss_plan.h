// What the three losses share: the checks of their views and options, the row plan, and the
// reduction of the per-row losses into the caller's output.
#ifndef SMX_LOSSES_LOSS_PLAN_H_
#define SMX_LOSSES_LOSS_PLAN_H_

#include <cmath>
#include <cstdint>
#include <span>
#include <vector>

#include "core/layout.h"
#include "smx/losses.h"
#include "smx/status.h"
#include "smx/tensor.h"

namespace smx::internal {

// The rows of a loss call: `rows` maps row r to its offset in the logits (x) and in the gradient
// (y; the logits' own offsets when no gradient is asked for), `other_rows` to its offset in the
// second input (x; probability targets, the teacher), `loss_rows` to the offset of its entry in a
// Reduction::kNone loss.
struct LossPlan {
  RowSet rows;
  RowSet other_rows;
  RowSet loss_rows;
};

// Neumaier's compensated sum in f64: the order is fixed, so the result depends on nothing but the
// values; its error stays near one rounding of the total for any realistic count.
class CompensatedSum {
 public:
  void Add(double v) {
    const double t = sum_ + v;
    err_ += std::fabs(sum_) >= std::fabs(v) ? (sum_ - t) + v : (v - t) + sum_;
    sum_ = t;
  }
  // Adds another sum with its error term (only its sum where that is not finite).
  void Add(const CompensatedSum& other) {
    Add(other.sum_);
    if (std::isfinite(other.sum_)) err_ += other.err_;
  }
  // A non-finite sum is returned as is (its error term would be NaN).
  double Value() const { return std::isfinite(sum_) ? sum_ + err_ : sum_; }

 private:
  double sum_ = 0, err_ = 0;
};

// Checks logits, an optional second input of the logits' shape (`other`, null for class
// indices), loss and grad (null: none), and fills the plan (other_rows only with `other`).
Status PlanLoss(const char* op, const ConstTensorRef& logits, const char* other_name,
                const ConstTensorRef* other, const TensorRef& loss, const TensorRef* grad,
                Reduction reduction, int axis, LossPlan& plan);

// Checks options.weight against the class count and dtype, and options.label_smoothing.
Status CheckClassOptions(const char* op, const ConstTensorRef& logits,
                         const CrossEntropyOptions& options, std::int64_t classes);

// The weights as f64 (empty when none were given).
std::vector<double> WeightsOf(const ConstTensorRef& weight);

// Writes the loss: kNone each row's, kSum their sum, kMean the sum / divisor (NaN when the
// divisor is 0). Sums run in a fixed order, compensated, so the result does not depend on the
// thread count.
void WriteLoss(const TensorRef& loss, const LossPlan& plan, Reduction reduction,
               std::span<const double> row_loss, double divisor);

}  // namespace smx::internal

#endif  // SMX_LOSSES_LOSS_PLAN_H_
