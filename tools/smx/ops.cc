#include "ops.h"

namespace smx_cli {

const char* OpName(Op op) {
  switch (op) {
    case Op::kSoftmax: return "softmax";
    case Op::kLogSoftmax: return "log-softmax";
    case Op::kLogSumExp: return "logsumexp";
  }
  return "?";
}

std::optional<Op> FindOp(std::string_view name) {
  for (Op op : kAllOps) {
    if (name == OpName(op)) return op;
  }
  return std::nullopt;
}

bool TakesTemperature(Op op) { return op != Op::kLogSumExp; }

bool ReducesAxis(Op op) { return op == Op::kLogSumExp; }

smx::Status RunOp(Op op, const smx::ConstTensorRef& x, const smx::TensorRef& y, double temperature,
                  int axis) {
  switch (op) {
    case Op::kSoftmax: return smx::softmax(x, y, {.temperature = temperature, .axis = axis});
    case Op::kLogSoftmax: return smx::log_softmax(x, y, {.temperature = temperature, .axis = axis});
    case Op::kLogSumExp: return smx::logsumexp(x, y, {.axis = axis});
  }
  return smx::Status::InvalidArgument("unknown op");
}

}  // namespace smx_cli
