// The ops the tool runs, by their command-line names, and how each is called in the library.
#ifndef SMX_TOOLS_OPS_H_
#define SMX_TOOLS_OPS_H_

#include <optional>
#include <span>
#include <string_view>

#include "smx/softmax.h"

namespace smx_cli {

enum class Op { kSoftmax, kLogSoftmax, kLogSumExp };

inline constexpr Op kAllOps[] = {Op::kSoftmax, Op::kLogSoftmax, Op::kLogSumExp};

// "softmax", "log-softmax", "logsumexp".
const char* OpName(Op op);
std::optional<Op> FindOp(std::string_view name);

// logsumexp has no temperature and reduces its axis to one value; the others keep the shape.
bool TakesTemperature(Op op);
bool ReducesAxis(Op op);

// Runs `op` along `axis` of x. y has x's shape; for logsumexp the axis has size 1 there.
smx::Status RunOp(Op op, const smx::ConstTensorRef& x, const smx::TensorRef& y, double temperature,
                  int axis);

}  // namespace smx_cli

#endif  // SMX_TOOLS_OPS_H_
