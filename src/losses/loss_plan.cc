// The checks and the reduction shared by the losses (see loss_plan.h).
#include "losses/loss_plan.h"

#include <algorithm>
#include <cmath>
#include <limits>
#include <string>

namespace smx::internal {
namespace {

bool SameShape(const Layout& a, const Layout& b) {
  if (a.rank != b.rank) return false;
  for (int d = 0; d < a.rank; ++d) {
    if (a.shape[d] != b.shape[d]) return false;
  }
  return true;
}

Status CheckLike(const char* op, const char* name, const ConstTensorRef& logits,
                 const ConstTensorRef& t) {
  if (t.dtype != logits.dtype) {
    return Status::InvalidArgument(std::string(op) + ": " + name + " is " + dtype_name(t.dtype) +
                                   " but the logits are " + dtype_name(logits.dtype));
  }
  if (!SameShape(t.layout, logits.layout)) {
    return Status::InvalidArgument(std::string(op) + ": " + name + " shape " +
                                   ShapeString(t.layout) + " differs from the logits' shape " +
                                   ShapeString(logits.layout));
  }
  return Status::Ok();
}

void StoreAs(const TensorRef& out, std::int64_t offset, double value) {
  switch (out.dtype) {
    case DType::kF32:
      static_cast<float*>(out.data)[offset] = static_cast<float>(value);
      break;
    case DType::kF64:
      static_cast<double*>(out.data)[offset] = value;
      break;
    case DType::kF16:
      static_cast<float16*>(out.data)[offset] = to_float16(static_cast<float>(value));
      break;
    case DType::kBF16:
      static_cast<bfloat16*>(out.data)[offset] = to_bfloat16(static_cast<float>(value));
      break;
  }
}

}  // namespace

Status PlanLoss(const char* op, const ConstTensorRef& logits, const char* other_name,
                const ConstTensorRef* other, const TensorRef& loss, const TensorRef* grad,
                Reduction reduction, int axis, LossPlan& plan) {
  if (other != nullptr) {
    if (Status s = CheckLike(op, other_name, logits, *other); !s.ok()) return s;
  }
  if (grad != nullptr) {
    if (Status s = CheckLike(op, "grad", logits, *grad); !s.ok()) return s;
    if (grad->data == logits.data && !SameView(logits, *grad)) {
      return Status::InvalidArgument(std::string(op) +
                                     ": grad is the logits' buffer with other strides; in place "
                                     "needs the logits' own layout");
    }
    // Otherwise grad may be an input itself, not a view that overlaps one: the kernels would
    // read elements they had already written.
    const ConstTensorRef* inputs[2] = {&logits, other};
    const char* names[2] = {"the logits", other_name};
    for (int i = 0; i < 2; ++i) {
      if (inputs[i] != nullptr && !SameView(*inputs[i], *grad) && ViewsOverlap(*inputs[i], *grad)) {
        return Status::InvalidArgument(std::string(op) + ": grad overlaps " + names[i] +
                                       " without being the same view (in place needs it)");
      }
    }
  }
  // Without a gradient, the rows are planned against the logits' own layout (never written).
  const TensorRef self(const_cast<void*>(logits.data), logits.dtype, logits.layout);
  const TensorRef& out = grad != nullptr ? *grad : self;
  if (Status s = PlanElementwise(op, logits, out, axis, plan.rows); !s.ok()) return s;
  if (other != nullptr) {
    if (Status s = PlanElementwise(op, *other, out, axis, plan.other_rows); !s.ok()) return s;
  }
  if (reduction == Reduction::kNone) {
    return PlanReduction(op, logits, loss, axis, plan.loss_rows);
  }
  if (loss.dtype != logits.dtype) {
    return Status::InvalidArgument(std::string(op) + ": loss is " + dtype_name(loss.dtype) +
                                   " but the logits are " + dtype_name(logits.dtype));
  }
  if (loss.layout.rank < 0 || loss.layout.rank > kMaxRank || loss.layout.num_elements() != 1 ||
      loss.data == nullptr) {
    return Status::InvalidArgument(std::string(op) + ": reduction '" + reduction_name(reduction) +
                                   "' writes one loss value, but loss has shape " +
                                   ShapeString(loss.layout));
  }
  return Status::Ok();
}

Status CheckClassOptions(const char* op, const ConstTensorRef& logits,
                         const CrossEntropyOptions& options, std::int64_t classes) {
  const double eps = options.label_smoothing;
  if (!(eps >= 0 && eps <= 1)) {
    return Status::InvalidArgument(std::string(op) + ": label_smoothing must be in [0, 1], got " +
                                   std::to_string(eps));
  }
  if (options.reduction != Reduction::kNone && options.reduction != Reduction::kSum &&
      options.reduction != Reduction::kMean) {
    return Status::InvalidArgument(std::string(op) + ": unknown reduction " +
                                   std::to_string(static_cast<int>(options.reduction)));
  }
  const ConstTensorRef& w = options.weight;
  if (w.data == nullptr) return Status::Ok();
  if (w.dtype != logits.dtype) {
    return Status::InvalidArgument(std::string(op) + ": weight is " + dtype_name(w.dtype) +
                                   " but the logits are " + dtype_name(logits.dtype));
  }
  if (w.layout.rank != 1 || w.layout.shape[0] != classes) {
    return Status::InvalidArgument(std::string(op) + ": weight must have shape [" +
                                   std::to_string(classes) + "] (one per class), got " +
                                   ShapeString(w.layout));
  }
  return Status::Ok();
}

std::vector<double> WeightsOf(const ConstTensorRef& weight) {
  std::vector<double> w;
  if (weight.data == nullptr) return w;
  const std::int64_t n = weight.layout.shape[0], stride = weight.layout.strides[0];
  w.resize(static_cast<std::size_t>(n));
  for (std::int64_t c = 0; c < n; ++c) {
    switch (weight.dtype) {
      case DType::kF32:
        w[c] = static_cast<const float*>(weight.data)[c * stride];
        break;
      case DType::kF64:
        w[c] = static_cast<const double*>(weight.data)[c * stride];
        break;
      case DType::kF16:
        w[c] = to_float(static_cast<const float16*>(weight.data)[c * stride]);
        break;
      case DType::kBF16:
        w[c] = to_float(static_cast<const bfloat16*>(weight.data)[c * stride]);
        break;
    }
  }
  return w;
}

LossWriter::LossWriter(const TensorRef& loss, const LossPlan& plan, Reduction reduction,
                       std::span<const double> row_loss)
    : loss_(loss), plan_(plan), reduction_(reduction), row_loss_(row_loss) {
  if (reduction_ != Reduction::kNone) {
    const auto rows = static_cast<std::int64_t>(row_loss_.size());
    const auto blocks = static_cast<std::size_t>((rows + kRowsPerBlock - 1) / kRowsPerBlock);
    block_sums_.resize(blocks);
    block_done_.assign(blocks, 0);
  }
}

void LossWriter::StoreRows(std::int64_t begin, std::int64_t end) const {
  for (std::int64_t r = begin; r < end; ++r) {
    std::int64_t unused = 0, offset = 0;
    plan_.loss_rows.Offsets(r, unused, offset);
    StoreAs(loss_, offset, row_loss_[static_cast<std::size_t>(r)]);
  }
}

CompensatedSum LossWriter::SumOfBlock(std::int64_t block) const {
  // Eight sums over interleaved rows, then added in order: one sum's chain of dependent additions
  // (about 4 cycles a row) had been 4% of cross-entropy's time on [32768, 128] at 2 threads; four
  // sums left the chain still the bound (2.4% of that run's samples, 2.1% with eight).
  const auto begin = static_cast<std::size_t>(block * kRowsPerBlock);
  const std::size_t end = std::min(row_loss_.size(), begin + kRowsPerBlock);
  CompensatedSum lanes[8], sum;
  std::size_t i = begin;
  for (; i + 8 <= end; i += 8) {
    for (std::size_t j = 0; j < 8; ++j) lanes[j].Add(row_loss_[i + j]);
  }
  for (; i < end; ++i) lanes[(i - begin) % 8].Add(row_loss_[i]);
  for (const CompensatedSum& lane : lanes) sum.Add(lane);
  return sum;
}

void LossWriter::RowsDone(std::int64_t begin, std::int64_t end) {
  if (reduction_ == Reduction::kNone) return StoreRows(begin, end);
  const auto rows = static_cast<std::int64_t>(row_loss_.size());
  // The blocks wholly inside [begin, end); the last block may be short.
  for (std::int64_t b = (begin + kRowsPerBlock - 1) / kRowsPerBlock;
       b * kRowsPerBlock < end && std::min(rows, (b + 1) * kRowsPerBlock) <= end; ++b) {
    block_sums_[static_cast<std::size_t>(b)] = SumOfBlock(b);
    block_done_[static_cast<std::size_t>(b)] = 1;
  }
}

void LossWriter::Finish(double divisor) {
  if (reduction_ == Reduction::kNone) return;
  CompensatedSum sum;
  for (std::size_t b = 0; b < block_sums_.size(); ++b) {
    sum.Add(block_done_[b] ? block_sums_[b] : SumOfBlock(static_cast<std::int64_t>(b)));
  }
  double total = sum.Value();
  if (reduction_ == Reduction::kMean) {
    total = divisor == 0 ? std::numeric_limits<double>::quiet_NaN() : total / divisor;
  }
  StoreAs(loss_, 0, total);  // its one element, at offset 0
}

}  // namespace smx::internal
