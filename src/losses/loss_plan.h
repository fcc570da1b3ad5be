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

// Writes the per-row losses into the caller's loss as the threads finish their rows: kNone
// stores each row's loss from the thread that computed it; kSum and kMean sum fixed blocks of
// kRowsPerBlock rows (compensated), each on a thread that has all of its rows, and add the blocks'
// sums in order at the end. The order depends on the row count alone, so the result does not
// depend on the thread count. (One thread summing every row after the others had finished was
// 18 of the 490 us of cross-entropy on [32768, 128] at 2 threads.)
class LossWriter {
 public:
  static constexpr std::int64_t kRowsPerBlock = 1024;

  // row_loss: one entry per row of plan.rows, alive until Finish.
  LossWriter(const TensorRef& loss, const LossPlan& plan, Reduction reduction,
             std::span<const double> row_loss);
  // Rows [begin, end) are final. Called by the thread that wrote them; every row is in exactly
  // one call.
  void RowsDone(std::int64_t begin, std::int64_t end);
  // After the last RowsDone: kSum the sum, kMean the sum / divisor (NaN when the divisor is 0).
  void Finish(double divisor);

 private:
  CompensatedSum SumOfBlock(std::int64_t block) const;
  void StoreRows(std::int64_t begin, std::int64_t end) const;

  TensorRef loss_;
  const LossPlan& plan_;
  Reduction reduction_;
  std::span<const double> row_loss_;
  std::vector<CompensatedSum> block_sums_;
  // Whether a RowsDone call had all of a block: one byte each, so threads write different bytes.
  std::vector<std::uint8_t> block_done_;
};

}  // namespace smx::internal

#endif  // SMX_LOSSES_LOSS_PLAN_H_
