// Element types and tensor views of the public API.
//
// smx never owns a buffer: the caller passes views (data pointer, shape and strides in elements,
// rank <= 8). A view is cheap to copy. Typed views are what C++ callers use:
//
//   std::vector<float> x(rows * k), y(rows * k);
//   smx::Status s = smx::softmax(smx::TensorView<const float>(x.data(), {rows, k}),
//                                smx::TensorView<float>(y.data(), {rows, k}));
//
// A TensorRef is the same view with its element type as a run-time value (DType); the CLI, the C
// API and the Python package use it. f16 and bf16 are smx's own 16-bit storage types: they hold the
// bits and convert to and from float with round-to-nearest-even; smx computes them in f32.
#ifndef SMX_TENSOR_H_
#define SMX_TENSOR_H_

#include <array>
#include <cstdint>
#include <cstring>
#include <initializer_list>
#include <span>
#include <type_traits>

namespace smx {

// IEEE 754 binary16, storage only.
struct float16 {
  std::uint16_t bits = 0;
};
// bfloat16 (the upper half of a binary32), storage only.
struct bfloat16 {
  std::uint16_t bits = 0;
};

// Exact widening conversions.
float to_float(float16 h);
float to_float(bfloat16 b);
// Round to nearest even; NaN stays NaN (quiet), overflow gives +-inf.
float16 to_float16(float f);
bfloat16 to_bfloat16(float f);

enum class DType : std::uint8_t { kF32, kF64, kF16, kBF16 };

// "f32", "f64", "f16", "bf16".
const char* dtype_name(DType dtype);
std::size_t dtype_size(DType dtype);

template <typename T>
inline constexpr bool kIsElement = std::is_same_v<T, float> || std::is_same_v<T, double> ||
                                   std::is_same_v<T, float16> || std::is_same_v<T, bfloat16>;

template <typename T>
constexpr DType dtype_of() {
  static_assert(kIsElement<T>, "smx elements are float, double, smx::float16, smx::bfloat16");
  if constexpr (std::is_same_v<T, float>) return DType::kF32;
  if constexpr (std::is_same_v<T, double>) return DType::kF64;
  if constexpr (std::is_same_v<T, float16>) return DType::kF16;
  return DType::kBF16;
}

inline constexpr int kMaxRank = 8;

// Shape and strides, both in elements (not bytes). Strides may be any value; a dimension of size 1
// ignores its stride.
struct Layout {
  int rank = 0;
  std::array<std::int64_t, kMaxRank> shape{};
  std::array<std::int64_t, kMaxRank> strides{};

  // Row-major (C order) layout of `shape`; rank > kMaxRank or a negative size is reported by the
  // op that receives it (the layout records rank = -1).
  static Layout Contiguous(std::span<const std::int64_t> shape);
  static Layout Strided(std::span<const std::int64_t> shape, std::span<const std::int64_t> strides);
  std::int64_t num_elements() const;
};

// A view whose element type is known at run time.
struct TensorRef {
  void* data = nullptr;
  DType dtype = DType::kF32;
  Layout layout;
};
struct ConstTensorRef {
  const void* data = nullptr;
  DType dtype = DType::kF32;
  Layout layout;
  ConstTensorRef() = default;
  ConstTensorRef(const void* d, DType t, const Layout& l) : data(d), dtype(t), layout(l) {}
  ConstTensorRef(const TensorRef& r) : data(r.data), dtype(r.dtype), layout(r.layout) {}  // NOLINT
};

// A typed view; T may be const-qualified for inputs.
template <typename T>
class TensorView {
 public:
  using Element = std::remove_const_t<T>;
  static_assert(kIsElement<Element>, "smx elements are float, double, smx::float16, smx::bfloat16");

  // Row-major view of `shape`.
  TensorView(T* data, std::initializer_list<std::int64_t> shape)
      : data_(data), layout_(Layout::Contiguous({shape.begin(), shape.size()})) {}
  TensorView(T* data, std::span<const std::int64_t> shape)
      : data_(data), layout_(Layout::Contiguous(shape)) {}
  // Explicit strides, in elements.
  TensorView(T* data, std::span<const std::int64_t> shape, std::span<const std::int64_t> strides)
      : data_(data), layout_(Layout::Strided(shape, strides)) {}
  TensorView(T* data, const Layout& layout) : data_(data), layout_(layout) {}
  // A mutable view converts to a const one.
  template <typename U, typename = std::enable_if_t<std::is_same_v<const U, T>>>
  TensorView(const TensorView<U>& other)  // NOLINT(google-explicit-constructor)
      : data_(other.data()), layout_(other.layout()) {}

  T* data() const { return data_; }
  const Layout& layout() const { return layout_; }

  ConstTensorRef ref() const requires std::is_const_v<T> {
    return ConstTensorRef(data_, dtype_of<Element>(), layout_);
  }
  TensorRef ref() const requires(!std::is_const_v<T>) {
    return TensorRef{data_, dtype_of<Element>(), layout_};
  }

 private:
  T* data_;
  Layout layout_;
};

}  // namespace smx

#endif  // SMX_TENSOR_H_
