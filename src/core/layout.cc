// Validation and row iteration (see layout.h).
#include "core/layout.h"

#include <cstdint>
#include <string>

namespace smx::internal {

Status CheckView(const char* op, const char* name, const Layout& layout, const void* data) {
  if (layout.rank < 0 || layout.rank > kMaxRank) {
    return Status::InvalidArgument(std::string(op) + ": " + name + " has more than " +
                                   std::to_string(kMaxRank) + " dimensions (or its shape and " +
                                   "strides differ in length)");
  }
  for (int d = 0; d < layout.rank; ++d) {
    if (layout.shape[d] < 0) {
      return Status::InvalidArgument(std::string(op) + ": " + name + " has a negative size " +
                                     std::to_string(layout.shape[d]) + " in dimension " +
                                     std::to_string(d));
    }
  }
  if (data == nullptr && layout.num_elements() > 0) {
    return Status::InvalidArgument(std::string(op) + ": " + name + " is null but has " +
                                   std::to_string(layout.num_elements()) + " elements");
  }
  return Status::Ok();
}

namespace {

bool IsCContiguous(const Layout& layout) {
  std::int64_t expected = 1;
  for (int d = layout.rank - 1; d >= 0; --d) {
    if (layout.shape[d] != 1 && layout.strides[d] != expected) return false;
    expected *= layout.shape[d];
  }
  return true;
}

Status CheckCommon(const char* op, const ConstTensorRef& x, const TensorRef& y, int axis,
                   int& resolved_axis) {
  if (Status s = CheckView(op, "input", x.layout, x.data); !s.ok()) return s;
  if (Status s = CheckView(op, "output", y.layout, y.data); !s.ok()) return s;
  if (x.dtype != y.dtype) {
    return Status::InvalidArgument(std::string(op) + ": input is " + dtype_name(x.dtype) +
                                   " but output is " + dtype_name(y.dtype));
  }
  const int rank = x.layout.rank;
  if (axis < -rank || axis >= rank) {
    return Status::InvalidArgument(std::string(op) + ": axis " + std::to_string(axis) +
                                   " is out of range for a tensor of rank " + std::to_string(rank) +
                                   " with shape " + ShapeString(x.layout));
  }
  resolved_axis = axis < 0 ? axis + rank : axis;
  return Status::Ok();
}

// Fills the outer dimensions (all but the axis; sizes of 1 dropped). `out_dim_of(d)` maps an
// input dimension to the output's.
template <typename OutDim>
void FillRows(const Layout& x, const Layout& y, int axis, OutDim out_dim_of, RowSet& rows) {
  rows.length = x.shape[axis];
  rows.x_stride = x.strides[axis];
  rows.num_rows = 1;
  rows.outer_rank = 0;
  rows.inner = 1;
  for (int d = 0; d < x.rank; ++d) {
    if (d == axis) continue;
    rows.num_rows *= x.shape[d];
    if (d > axis) rows.inner *= x.shape[d];
    if (x.shape[d] == 1) continue;
    rows.outer_shape[rows.outer_rank] = x.shape[d];
    rows.outer_x_strides[rows.outer_rank] = x.strides[d];
    rows.outer_y_strides[rows.outer_rank] = y.strides[out_dim_of(d)];
    ++rows.outer_rank;
  }
}

}  // namespace

namespace {

// The byte offsets [lo, hi) of a view's elements from its data pointer; false when it has none.
bool ByteSpan(const Layout& layout, std::size_t element_size, std::int64_t& lo, std::int64_t& hi) {
  lo = 0;
  hi = static_cast<std::int64_t>(element_size);
  for (int d = 0; d < layout.rank; ++d) {
    if (layout.shape[d] == 0) return false;
    const std::int64_t reach =
        (layout.shape[d] - 1) * layout.strides[d] * static_cast<std::int64_t>(element_size);
    (reach < 0 ? lo : hi) += reach;
  }
  return true;
}

}  // namespace

bool ViewsOverlap(const ConstTensorRef& a, const ConstTensorRef& b) {
  std::int64_t a_lo, a_hi, b_lo, b_hi;
  if (a.data == nullptr || b.data == nullptr ||
      !ByteSpan(a.layout, dtype_size(a.dtype), a_lo, a_hi) ||
      !ByteSpan(b.layout, dtype_size(b.dtype), b_lo, b_hi)) {
    return false;
  }
  const auto a0 = reinterpret_cast<std::intptr_t>(a.data);
  const auto b0 = reinterpret_cast<std::intptr_t>(b.data);
  return a0 + a_lo < b0 + b_hi && b0 + b_lo < a0 + a_hi;
}

bool SameView(const ConstTensorRef& a, const ConstTensorRef& b) {
  if (a.data != b.data || a.layout.rank != b.layout.rank) return false;
  for (int d = 0; d < a.layout.rank; ++d) {
    if (a.layout.shape[d] != b.layout.shape[d]) return false;
    if (a.layout.shape[d] > 1 && a.layout.strides[d] != b.layout.strides[d]) return false;
  }
  return true;
}

std::string ShapeString(const Layout& layout) {
  std::string s = "[";
  for (int d = 0; d < layout.rank; ++d) {
    if (d) s += ", ";
    s += std::to_string(layout.shape[d]);
  }
  return s + "]";
}

void RowSet::Offsets(std::int64_t row, std::int64_t& x_offset, std::int64_t& y_offset) const {
  x_offset = 0;
  y_offset = 0;
  for (int d = outer_rank - 1; d >= 0; --d) {
    const std::int64_t i = row % outer_shape[d];
    row /= outer_shape[d];
    x_offset += i * outer_x_strides[d];
    y_offset += i * outer_y_strides[d];
  }
}

bool RowSet::EvenlySpaced(std::int64_t& x_row_stride, std::int64_t& y_row_stride) const {
  x_row_stride = outer_rank > 0 ? outer_x_strides[outer_rank - 1] : 0;
  y_row_stride = outer_rank > 0 ? outer_y_strides[outer_rank - 1] : 0;
  for (int d = outer_rank - 2; d >= 0; --d) {
    const std::int64_t size_below = outer_shape[d + 1];
    if (outer_x_strides[d] != outer_x_strides[d + 1] * size_below ||
        outer_y_strides[d] != outer_y_strides[d + 1] * size_below) {
      return false;
    }
  }
  return true;
}

Status PlanElementwise(const char* op, const ConstTensorRef& x, const TensorRef& y, int axis,
                       RowSet& rows) {
  int a = 0;
  if (Status s = CheckCommon(op, x, y, axis, a); !s.ok()) return s;
  bool same_shape = x.layout.rank == y.layout.rank;
  for (int d = 0; same_shape && d < x.layout.rank; ++d) {
    same_shape = x.layout.shape[d] == y.layout.shape[d];
  }
  if (!same_shape) {
    return Status::InvalidArgument(std::string(op) + ": output shape " + ShapeString(y.layout) +
                                   " differs from input shape " + ShapeString(x.layout));
  }
  FillRows(
      x.layout, y.layout, a, [](int d) { return d; }, rows);
  rows.y_stride = y.layout.strides[a];
  rows.contiguous = IsCContiguous(x.layout) && IsCContiguous(y.layout);
  return Status::Ok();
}

Status PlanReduction(const char* op, const ConstTensorRef& x, const TensorRef& out, int axis,
                     RowSet& rows) {
  int a = 0;
  if (Status s = CheckCommon(op, x, out, axis, a); !s.ok()) return s;
  const Layout& xl = x.layout;
  const Layout& ol = out.layout;
  bool dropped = ol.rank == xl.rank - 1;
  for (int d = 0, o = 0; dropped && d < xl.rank; ++d) {
    if (d == a) continue;
    dropped = ol.shape[o++] == xl.shape[d];
  }
  bool kept = ol.rank == xl.rank;
  for (int d = 0; kept && d < xl.rank; ++d) {
    kept = ol.shape[d] == (d == a ? 1 : xl.shape[d]);
  }
  if (!dropped && !kept) {
    return Status::InvalidArgument(std::string(op) + ": output shape " + ShapeString(ol) +
                                   " does not match input shape " + ShapeString(xl) +
                                   " reduced over axis " + std::to_string(axis));
  }
  if (dropped) {
    FillRows(
        xl, ol, a, [a](int d) { return d < a ? d : d - 1; }, rows);
  } else {
    FillRows(
        xl, ol, a, [](int d) { return d; }, rows);
  }
  rows.y_stride = 0;
  rows.contiguous = IsCContiguous(xl) && IsCContiguous(ol);
  return Status::Ok();
}

}  // namespace smx::internal
