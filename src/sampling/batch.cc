#include "sampling/batch.h"

#include "core/layout.h"

namespace smx::internal {

Status PlanBatch(const char* op, const char* name, const ConstTensorRef& x, Batch& batch) {
  if (Status s = CheckView(op, name, x.layout, x.data); !s.ok()) return s;
  const Layout& l = x.layout;
  if (l.rank == 1) {
    batch = {1, l.shape[0], 0, l.strides[0]};
  } else if (l.rank == 2) {
    batch = {l.shape[0], l.shape[1], l.strides[0], l.strides[1]};
  } else {
    return Status::InvalidArgument(std::string(op) + ": " + name +
                                   " must be [batch, V] or [V], got " + ShapeString(l));
  }
  if (batch.length == 0 && batch.rows > 0) {
    return Status::InvalidArgument(std::string(op) + ": " + name + " has V = 0 tokens (" +
                                   ShapeString(l) + "): there is nothing to draw");
  }
  return Status::Ok();
}

Status CheckSpan(const char* op, const char* name, std::size_t size, std::int64_t rows,
                 bool optional) {
  if ((optional && size == 0) || static_cast<std::int64_t>(size) == rows) return Status::Ok();
  return Status::InvalidArgument(std::string(op) + ": " + name + " has " + std::to_string(size) +
                                 " entries for " + std::to_string(rows) + " rows");
}

}  // namespace smx::internal
