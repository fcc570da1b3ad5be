// The array plumbing shared by every op of the Python extension: DLPack/buffer arrays to smx
// views, smx::Status to Python exceptions, and running a kernel with the GIL released.
//
// An op binding is three lines:
//
//   m.def("softmax", [](InArray x, OutArray y, int dim, double t, DTypeOverride dtype) {
//     RunOp(x, y, dtype, [&](auto& in, auto& out) { return smx::softmax(in, out, {t, dim}); });
//   });
//
// The Python layer (python/smx/_array.py) normalises the arguments (framework, dim, out shape and
// dtype) before it calls here; these checks are the last line, never the only one.
#ifndef SMX_PYTHON_ARRAY_H_
#define SMX_PYTHON_ARRAY_H_

#include <nanobind/ndarray.h>

#include <optional>
#include <string>
#include <utility>

#include "smx/status.h"
#include "smx/tensor.h"

namespace smx_py {

namespace nb = nanobind;

// Any CPU array: NumPy (buffer protocol or DLPack), PyTorch, JAX, anything with __dlpack__.
using InArray = nb::ndarray<nb::ro, nb::device::cpu>;
using OutArray = nb::ndarray<nb::device::cpu>;

// "bf16" when a 16-bit unsigned array holds bfloat16 bits (NumPy with ml_dtypes has no DLPack
// code for bfloat16, so the Python layer passes a uint16 view); nullopt otherwise.
using DTypeOverride = std::optional<std::string>;

// Throws nb::type_error for an element type smx does not compute.
smx::DType DTypeOf(const nb::dlpack::dtype& dtype, const DTypeOverride& override_name,
                   const char* what);

// Views of the arrays (shape and strides in elements). Rank above smx::kMaxRank is a ValueError.
smx::ConstTensorRef InputRef(const InArray& x, const DTypeOverride& dtype);
smx::TensorRef OutputRef(const OutArray& y, const DTypeOverride& dtype);

// The layout of a boolean mask given as one byte per entry (bool, uint8 or int8; TypeError
// otherwise).
smx::Layout MaskLayout(const InArray& mask);

// True when the bytes spanned by x and y intersect.
bool Overlaps(const smx::ConstTensorRef& x, const smx::TensorRef& y);
// True when the bytes [data, data + bytes) intersect those spanned by y.
bool OverlapsBytes(const void* data, std::size_t bytes, const smx::TensorRef& y);
// True when x and y are the same view (same data, dtype, shape and strides): in place.
bool SameView(const smx::ConstTensorRef& x, const smx::TensorRef& y);

// A contiguous copy of a strided view, for inputs that overlap the output without being it.
class ContiguousCopy {
 public:
  explicit ContiguousCopy(const smx::ConstTensorRef& x);
  ContiguousCopy(const ContiguousCopy&) = delete;
  ContiguousCopy& operator=(const ContiguousCopy&) = delete;
  ~ContiguousCopy();
  const smx::ConstTensorRef& ref() const { return ref_; }

 private:
  void* buffer_ = nullptr;
  smx::ConstTensorRef ref_;
};

// The one map from smx::Status to Python: kInvalidArgument -> ValueError, anything else ->
// RuntimeError. Type errors are raised before a kernel is called (DTypeOf).
void ThrowIfError(const smx::Status& status);

// Converts the views, copies the input first when it partly overlaps the output, runs
// kernel(const ConstTensorRef&, const TensorRef&) -> smx::Status without the GIL, and raises on
// error. `allow_in_place` says whether output == input (the same view) is allowed as is.
template <typename Kernel>
void RunOp(const InArray& x, const OutArray& y, const DTypeOverride& dtype, bool allow_in_place,
           Kernel&& kernel) {
  const smx::ConstTensorRef in = InputRef(x, dtype);
  const smx::TensorRef out = OutputRef(y, dtype);
  smx::Status status;
  {
    nb::gil_scoped_release release;
    if (Overlaps(in, out) && !(allow_in_place && SameView(in, out))) {
      ContiguousCopy copy(in);
      status = kernel(copy.ref(), out);
    } else {
      status = kernel(in, out);
    }
  }
  ThrowIfError(status);
}

// RunOp for two inputs and an output, each input in place allowed (the same view as the output)
// and copied first when it partly overlaps it: kernel(a, b, out) -> smx::Status.
template <typename Kernel>
void RunOp2(const InArray& a, const InArray& b, const OutArray& y, const DTypeOverride& dtype,
            Kernel&& kernel) {
  const smx::ConstTensorRef in_a = InputRef(a, dtype), in_b = InputRef(b, dtype);
  const smx::TensorRef out = OutputRef(y, dtype);
  smx::Status status;
  {
    nb::gil_scoped_release release;
    auto clash = [&](const smx::ConstTensorRef& in) {
      return Overlaps(in, out) && !SameView(in, out);
    };
    if (clash(in_a) || clash(in_b)) {
      ContiguousCopy copy_a(in_a), copy_b(in_b);
      status = kernel(clash(in_a) ? copy_a.ref() : in_a, clash(in_b) ? copy_b.ref() : in_b, out);
    } else {
      status = kernel(in_a, in_b, out);
    }
  }
  ThrowIfError(status);
}

}  // namespace smx_py

#endif  // SMX_PYTHON_ARRAY_H_
