// Public entry points of softmax, log_softmax and logsumexp: argument checks, then the row driver.
#include "smx/softmax.h"

#include <cmath>
#include <string>

#include "core/layout.h"
#include "softmax/row_driver.h"

namespace smx {
namespace {

Status CheckTemperature(const char* op, double temperature) {
  if (std::isnan(temperature) || temperature < 0) {
    return Status::InvalidArgument(std::string(op) + ": temperature must be >= 0 (0 is the " +
                                   "argmax limit, inf the uniform one), got " +
                                   std::to_string(temperature));
  }
  return Status::Ok();
}

Status RunElementwise(internal::RowOp op, const char* name, const ConstTensorRef& x,
                      const TensorRef& y, const SoftmaxOptions& options) {
  if (Status s = CheckTemperature(name, options.temperature); !s.ok()) return s;
  internal::RowSet rows;
  if (Status s = internal::PlanElementwise(name, x, y, options.axis, rows); !s.ok()) return s;
  return internal::RunRows(op, options.temperature, x, y, rows);
}

}  // namespace

Status softmax(const ConstTensorRef& x, const TensorRef& y, const SoftmaxOptions& options) {
  return RunElementwise(internal::RowOp::kSoftmax, "softmax", x, y, options);
}

Status log_softmax(const ConstTensorRef& x, const TensorRef& y, const SoftmaxOptions& options) {
  return RunElementwise(internal::RowOp::kLogSoftmax, "log_softmax", x, y, options);
}

Status logsumexp(const ConstTensorRef& x, const TensorRef& out, const LogSumExpOptions& options) {
  internal::RowSet rows;
  if (Status s = internal::PlanReduction("logsumexp", x, out, options.axis, rows); !s.ok()) {
    return s;
  }
  return internal::RunRows(internal::RowOp::kLogSumExp, 1.0, x, out, rows);
}

}  // namespace smx
