// The ops the tool runs, by their command-line names, and how each is called in the library.
#ifndef SMX_TOOLS_OPS_H_
#define SMX_TOOLS_OPS_H_

#include <optional>
#include <span>
#include <string_view>

#include "smx/calculus.h"
#include "smx/sigmoid.h"
#include "smx/softmax.h"

namespace smx_cli {

enum class Op {
  kSoftmax,
  kLogSoftmax,
  kLogSumExp,
  kSigmoid,
  kLogSigmoid,
  kSoftplus,
  kJacobian,
  kEntropy
};

// The softmax family (what `smx bench` measures), then the elementwise ops.
inline constexpr Op kAllOps[] = {Op::kSoftmax, Op::kLogSoftmax, Op::kLogSumExp};
inline constexpr Op kElementwiseOps[] = {Op::kSigmoid, Op::kLogSigmoid, Op::kSoftplus};
inline constexpr Op kCalculusOps[] = {Op::kJacobian, Op::kEntropy};

// "softmax", "log-softmax", "logsumexp", "sigmoid", "log-sigmoid", "softplus", "jacobian",
// "entropy".
const char* OpName(Op op);
std::optional<Op> FindOp(std::string_view name);

// softmax, log-softmax, jacobian and entropy take a temperature; logsumexp and entropy reduce
// their axis to one value; the elementwise ops (sigmoid, log-sigmoid, softplus) take neither a
// temperature nor an axis.
bool TakesTemperature(Op op);
bool TakesAxis(Op op);
bool ReducesAxis(Op op);
// jacobian turns each row of K values into a K x K matrix: the output drops the axis and ends
// with K, K.
bool MatrixPerRow(Op op);

// Runs `op` along `axis` of x. y has x's shape; for logsumexp the axis has size 1 there.
smx::Status RunOp(Op op, const smx::ConstTensorRef& x, const smx::TensorRef& y, double temperature,
                  int axis);

}  // namespace smx_cli

#endif  // SMX_TOOLS_OPS_H_
