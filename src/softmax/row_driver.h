// Runs softmax, log_softmax or logsumexp over every row of a validated RowSet: picks the kernel
// path per row (contiguous or staged), handles the temperature limits and special values, and
// spreads rows (or the chunks of one long row) over threads.
#ifndef SMX_SOFTMAX_ROW_DRIVER_H_
#define SMX_SOFTMAX_ROW_DRIVER_H_

#include "core/layout.h"
#include "smx/status.h"
#include "smx/tensor.h"
#include "softmax/row_math.h"

namespace smx::internal {

// `temperature` has been validated (>= 0, not NaN); logsumexp passes 1.
Status RunRows(RowOp op, double temperature, const ConstTensorRef& x, const TensorRef& y,
               const RowSet& rows);

}  // namespace smx::internal

#endif  // SMX_SOFTMAX_ROW_DRIVER_H_
