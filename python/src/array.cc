#include "array.h"

#include <algorithm>
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <new>

namespace smx_py {
namespace {

std::string DLPackName(const nb::dlpack::dtype& dtype) {
  using Code = nb::dlpack::dtype_code;
  const char* kind = "unknown";
  switch (static_cast<Code>(dtype.code)) {
    case Code::Int: kind = "int"; break;
    case Code::UInt: kind = "uint"; break;
    case Code::Float: kind = "float"; break;
    case Code::Bfloat: kind = "bfloat"; break;
    case Code::Complex: kind = "complex"; break;
    case Code::Bool: return "bool";
  }
  return std::string(kind) + std::to_string(dtype.bits);
}

template <typename Array>
smx::Layout LayoutOf(const Array& a, const char* what) {
  const std::size_t rank = a.ndim();
  if (rank > static_cast<std::size_t>(smx::kMaxRank)) {
    throw nb::value_error((std::string(what) + " has " + std::to_string(rank) +
                           " dimensions; smx takes at most " + std::to_string(smx::kMaxRank))
                              .c_str());
  }
  smx::Layout layout;
  layout.rank = static_cast<int>(rank);
  for (std::size_t d = 0; d < rank; ++d) {
    layout.shape[d] = static_cast<std::int64_t>(a.shape(d));
    layout.strides[d] = a.stride(d);
  }
  return layout;
}

// The byte offsets of the first and one past the last element a view touches; false if empty.
bool ByteExtent(const smx::Layout& layout, std::size_t element_size, std::int64_t& lo,
                std::int64_t& hi) {
  lo = 0;
  hi = 0;
  for (int d = 0; d < layout.rank; ++d) {
    if (layout.shape[d] == 0) return false;
    const std::int64_t span = (layout.shape[d] - 1) * layout.strides[d];
    (span < 0 ? lo : hi) += span;
  }
  const auto size = static_cast<std::int64_t>(element_size);
  lo *= size;
  hi = hi * size + size;
  return true;
}

}  // namespace

smx::DType DTypeOf(const nb::dlpack::dtype& dtype, const DTypeOverride& override_name,
                   const char* what) {
  using Code = nb::dlpack::dtype_code;
  const auto code = static_cast<Code>(dtype.code);
  if (override_name) {
    if (*override_name == "bf16" && code == Code::UInt && dtype.bits == 16 && dtype.lanes == 1) {
      return smx::DType::kBF16;
    }
    throw nb::type_error(("internal: dtype override '" + *override_name + "' does not fit " +
                          std::string(what) + " of dtype " + DLPackName(dtype))
                             .c_str());
  }
  if (dtype.lanes == 1) {
    if (code == Code::Float && dtype.bits == 32) return smx::DType::kF32;
    if (code == Code::Float && dtype.bits == 64) return smx::DType::kF64;
    if (code == Code::Float && dtype.bits == 16) return smx::DType::kF16;
    if (code == Code::Bfloat && dtype.bits == 16) return smx::DType::kBF16;
  }
  throw nb::type_error((std::string(what) + " has dtype " + DLPackName(dtype) +
                        "; smx computes float32, float64, float16 and bfloat16")
                           .c_str());
}

smx::ConstTensorRef InputRef(const InArray& x, const DTypeOverride& dtype) {
  return smx::ConstTensorRef(x.data(), DTypeOf(x.dtype(), dtype, "the input"),
                             LayoutOf(x, "the input"));
}

smx::Layout MaskLayout(const InArray& mask) {
  if (mask.dtype().bits != 8) {
    throw nb::type_error(("a boolean attn_mask must hold one byte per entry, got " +
                          DLPackName(mask.dtype()))
                             .c_str());
  }
  return LayoutOf(mask, "attn_mask");
}

smx::TensorRef OutputRef(const OutArray& y, const DTypeOverride& dtype) {
  return smx::TensorRef{y.data(), DTypeOf(y.dtype(), dtype, "out"), LayoutOf(y, "out")};
}

bool Overlaps(const smx::ConstTensorRef& x, const smx::TensorRef& y) {
  std::int64_t x_lo, x_hi, y_lo, y_hi;
  if (!ByteExtent(x.layout, smx::dtype_size(x.dtype), x_lo, x_hi) ||
      !ByteExtent(y.layout, smx::dtype_size(y.dtype), y_lo, y_hi)) {
    return false;
  }
  const auto xa = reinterpret_cast<std::intptr_t>(x.data);
  const auto ya = reinterpret_cast<std::intptr_t>(y.data);
  return xa + x_lo < ya + y_hi && ya + y_lo < xa + x_hi;
}

bool OverlapsBytes(const void* data, std::size_t bytes, const smx::TensorRef& y) {
  std::int64_t y_lo, y_hi;
  if (bytes == 0 || !ByteExtent(y.layout, smx::dtype_size(y.dtype), y_lo, y_hi)) return false;
  const auto xa = reinterpret_cast<std::intptr_t>(data);
  const auto ya = reinterpret_cast<std::intptr_t>(y.data);
  return xa < ya + y_hi && ya + y_lo < xa + static_cast<std::intptr_t>(bytes);
}

bool SameView(const smx::ConstTensorRef& x, const smx::TensorRef& y) {
  if (x.data != y.data || x.dtype != y.dtype || x.layout.rank != y.layout.rank) return false;
  for (int d = 0; d < x.layout.rank; ++d) {
    if (x.layout.shape[d] != y.layout.shape[d]) return false;
    if (x.layout.shape[d] != 1 && x.layout.strides[d] != y.layout.strides[d]) return false;
  }
  return true;
}

ContiguousCopy::ContiguousCopy(const smx::ConstTensorRef& x) {
  const std::size_t size = smx::dtype_size(x.dtype);
  const smx::Layout& l = x.layout;
  const std::int64_t n = l.num_elements();
  buffer_ = std::malloc(static_cast<std::size_t>(std::max<std::int64_t>(n, 1)) * size);
  if (buffer_ == nullptr) throw std::bad_alloc();
  // Row-major walk over the view with an index counter.
  std::int64_t index[smx::kMaxRank] = {};
  const auto* src = static_cast<const unsigned char*>(x.data);
  auto* dst = static_cast<unsigned char*>(buffer_);
  for (std::int64_t i = 0; i < n; ++i) {
    std::int64_t offset = 0;
    for (int d = 0; d < l.rank; ++d) offset += index[d] * l.strides[d];
    std::memcpy(dst + i * size, src + offset * static_cast<std::int64_t>(size), size);
    for (int d = l.rank - 1; d >= 0; --d) {
      if (++index[d] < l.shape[d]) break;
      index[d] = 0;
    }
  }
  ref_ = smx::ConstTensorRef(buffer_, x.dtype,
                             smx::Layout::Contiguous({l.shape.data(), std::size_t(l.rank)}));
}

ContiguousCopy::~ContiguousCopy() { std::free(buffer_); }

void ThrowIfError(const smx::Status& status) {
  switch (status.code()) {
    case smx::StatusCode::kOk: return;
    case smx::StatusCode::kInvalidArgument: throw nb::value_error(status.message().c_str());
    default: throw std::runtime_error("smx internal error: " + status.message());
  }
}

}  // namespace smx_py
