#include "array.h"

#include <cstring>

namespace smx_cli {

Array Array::Zeros(smx::DType dtype, std::vector<std::int64_t> shape) {
  Array array;
  array.dtype = dtype;
  array.shape = std::move(shape);
  array.bytes.resize(static_cast<std::size_t>(array.num_elements()) * smx::dtype_size(dtype));
  return array;
}

std::int64_t Array::num_elements() const { return NumElements(shape); }

double Array::Get(std::int64_t index) const {
  const std::byte* p = bytes.data() + static_cast<std::size_t>(index) * smx::dtype_size(dtype);
  switch (dtype) {
    case smx::DType::kF64: {
      double value;
      std::memcpy(&value, p, sizeof value);
      return value;
    }
    case smx::DType::kF32: {
      float value;
      std::memcpy(&value, p, sizeof value);
      return value;
    }
    case smx::DType::kF16: {
      smx::float16 value;
      std::memcpy(&value, p, sizeof value);
      return smx::to_float(value);
    }
    case smx::DType::kBF16: {
      smx::bfloat16 value;
      std::memcpy(&value, p, sizeof value);
      return smx::to_float(value);
    }
  }
  return 0;
}

smx::ConstTensorRef Array::ConstRef() const {
  return smx::ConstTensorRef(bytes.data(), dtype, smx::Layout::Contiguous(shape));
}

smx::TensorRef Array::Ref() {
  return smx::TensorRef{bytes.data(), dtype, smx::Layout::Contiguous(shape)};
}

std::int64_t NumElements(std::span<const std::int64_t> shape) {
  std::int64_t n = 1;
  for (std::int64_t size : shape) n *= size;
  return n;
}

std::string FormatShape(std::span<const std::int64_t> shape) {
  std::string text = "(";
  for (std::size_t i = 0; i < shape.size(); ++i) {
    if (i > 0) text += ", ";
    text += std::to_string(shape[i]);
  }
  if (shape.size() == 1) text += ",";
  return text + ")";
}

std::vector<double> FirstLane(const Array& array, int axis) {
  std::int64_t stride = 1;
  for (int d = axis + 1; d < array.rank(); ++d) stride *= array.shape[d];
  std::vector<double> lane(static_cast<std::size_t>(array.shape[axis]));
  for (std::size_t i = 0; i < lane.size(); ++i) {
    lane[i] = array.Get(static_cast<std::int64_t>(i) * stride);
  }
  return lane;
}

}  // namespace smx_cli
