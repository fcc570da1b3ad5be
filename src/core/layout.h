// Validation of the views an op receives, and the iteration over its rows.
//
// A "row" is the 1-d slice along the reduction axis; every other index names one row. RowSet
// turns a row number into the element offsets of that row in the input and the output, so the
// driver can hand out rows to threads in any order.
#ifndef SMX_CORE_LAYOUT_H_
#define SMX_CORE_LAYOUT_H_

#include <cstdint>
#include <string>

#include "smx/status.h"
#include "smx/tensor.h"

namespace smx::internal {

struct RowSet {
  std::int64_t num_rows = 0;
  std::int64_t length = 0;    // K, the size of the reduced axis
  std::int64_t x_stride = 0;  // element strides along the axis
  std::int64_t y_stride = 0;  // (0 for a logsumexp output: one element per row)
  // The other dimensions, outermost first.
  int outer_rank = 0;
  std::int64_t outer_shape[kMaxRank] = {};
  std::int64_t outer_x_strides[kMaxRank] = {};
  std::int64_t outer_y_strides[kMaxRank] = {};
  // Set when x and y are both C-contiguous (the [outer, K, inner] fast paths).
  bool contiguous = false;
  std::int64_t inner = 1;  // product of the dimensions after the axis

  void Offsets(std::int64_t row, std::int64_t& x_offset, std::int64_t& y_offset) const;
  // Whether row r starts at r * x_row_stride (and r * y_row_stride): the outer dimensions collapse
  // into one, as in any C-contiguous [rows, K] block or a view of one.
  bool EvenlySpaced(std::int64_t& x_row_stride, std::int64_t& y_row_stride) const;
};

// Checks a row op whose output has the input's shape (softmax, log_softmax).
Status PlanElementwise(const char* op, const ConstTensorRef& x, const TensorRef& y, int axis,
                       RowSet& rows);
// Checks a reduction whose output drops the axis, or keeps it with size 1 (logsumexp).
Status PlanReduction(const char* op, const ConstTensorRef& x, const TensorRef& out, int axis,
                     RowSet& rows);

// A view's rank, sizes and data pointer ("op: input has a negative size ..."); `name` names it.
Status CheckView(const char* op, const char* name, const Layout& layout, const void* data);

// Whether the bytes two views span (from their first to their last element) intersect; views
// without elements overlap nothing.
bool ViewsOverlap(const ConstTensorRef& a, const ConstTensorRef& b);

// Whether a and b are one view: the same data, rank and shape, and the same strides wherever a
// dimension has more than one element (what "in place" means for an output and an input).
bool SameView(const ConstTensorRef& a, const ConstTensorRef& b);

// "[4, 1000]"
std::string ShapeString(const Layout& layout);

}  // namespace smx::internal

#endif  // SMX_CORE_LAYOUT_H_
