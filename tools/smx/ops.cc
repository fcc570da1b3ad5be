#include "ops.h"

namespace smx_cli {

const char* OpName(Op op) {
  switch (op) {
    case Op::kSoftmax: return "softmax";
    case Op::kLogSoftmax: return "log-softmax";
    case Op::kLogSumExp: return "logsumexp";
    case Op::kSigmoid: return "sigmoid";
    case Op::kLogSigmoid: return "log-sigmoid";
    case Op::kSoftplus: return "softplus";
    case Op::kJacobian: return "jacobian";
    case Op::kEntropy: return "entropy";
  }
  return "?";
}

std::optional<Op> FindOp(std::string_view name) {
  for (Op op : kAllOps) {
    if (name == OpName(op)) return op;
  }
  for (Op op : kElementwiseOps) {
    if (name == OpName(op)) return op;
  }
  for (Op op : kCalculusOps) {
    if (name == OpName(op)) return op;
  }
  return std::nullopt;
}

bool TakesTemperature(Op op) {
  return op == Op::kSoftmax || op == Op::kLogSoftmax || op == Op::kJacobian ||
         op == Op::kEntropy;
}

bool TakesAxis(Op op) {
  return op == Op::kSoftmax || op == Op::kLogSoftmax || op == Op::kLogSumExp ||
         op == Op::kJacobian || op == Op::kEntropy;
}

bool MatrixPerRow(Op op) { return op == Op::kJacobian; }

bool ReducesAxis(Op op) { return op == Op::kLogSumExp || op == Op::kEntropy; }

smx::Status RunOp(Op op, const smx::ConstTensorRef& x, const smx::TensorRef& y, double temperature,
                  int axis) {
  switch (op) {
    case Op::kSoftmax: return smx::softmax(x, y, {.temperature = temperature, .axis = axis});
    case Op::kLogSoftmax: return smx::log_softmax(x, y, {.temperature = temperature, .axis = axis});
    case Op::kLogSumExp: return smx::logsumexp(x, y, {.axis = axis});
    case Op::kSigmoid: return smx::sigmoid(x, y);
    case Op::kLogSigmoid: return smx::log_sigmoid(x, y);
    case Op::kSoftplus: return smx::softplus(x, y);
    case Op::kJacobian:
      return smx::softmax_jacobian(x, y, {.temperature = temperature, .axis = axis});
    case Op::kEntropy: return smx::entropy(x, y, {.temperature = temperature, .axis = axis});
  }
  return smx::Status::InvalidArgument("unknown op");
}

}  // namespace smx_cli
