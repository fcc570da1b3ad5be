// Array: the tool's in-memory tensor, a dense row-major block of one dtype, as read from the
// command line, a .csv or a .npy file, and as handed to the library.
#ifndef SMX_TOOLS_ARRAY_H_
#define SMX_TOOLS_ARRAY_H_

#include <cstddef>
#include <cstdint>
#include <span>
#include <string>
#include <vector>

#include "smx/tensor.h"

namespace smx_cli {

struct Array {
  smx::DType dtype = smx::DType::kF64;
  std::vector<std::int64_t> shape;
  std::vector<std::byte> bytes;  // num_elements() * dtype_size(dtype), row-major

  // A zero-filled array.
  static Array Zeros(smx::DType dtype, std::vector<std::int64_t> shape);

  int rank() const { return static_cast<int>(shape.size()); }
  std::int64_t num_elements() const;
  // Element `index` (row-major) as a double; exact for every dtype.
  double Get(std::int64_t index) const;

  smx::ConstTensorRef ConstRef() const;
  smx::TensorRef Ref();
};

// The product of the sizes; 1 for a scalar.
std::int64_t NumElements(std::span<const std::int64_t> shape);

// "(3, 4)", "(5,)" and "()": Python's tuple spelling, used both in messages and .npy headers.
std::string FormatShape(std::span<const std::int64_t> shape);

// The elements along `axis` at index 0 of every other axis: the first row the op works on.
std::vector<double> FirstLane(const Array& array, int axis);

}  // namespace smx_cli

#endif  // SMX_TOOLS_ARRAY_H_
