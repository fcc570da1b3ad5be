// The C API of the softmax family (include/smx/smx.h): each function is the C++ call of
// smx/softmax.h inside capi::Guard.
#include <cstddef>
#include <cstdint>
#include <span>

#include "capi/capi_util.h"
#include "smx/smx.h"
#include "smx/softmax.h"

namespace smx::capi {
namespace {

using ElementwiseOp = Status (*)(const ConstTensorRef&, const TensorRef&, const SoftmaxOptions&);

smx_status Elementwise(const char* function, ElementwiseOp op, const smx_tensor* x,
                       const smx_tensor* y, int32_t axis, double temperature) {
  return Guard(function, [&]() -> Status {
    ConstTensorRef xr;
    TensorRef yr;
    if (Status s = ToConstRef(function, "x", x, xr); !s.ok()) return s;
    if (Status s = ToRef(function, "y", y, yr); !s.ok()) return s;
    return op(xr, yr, {.temperature = temperature, .axis = axis});
  });
}

template <typename T>
smx_status ElementwiseBlock(const char* function, ElementwiseOp op, const T* x, T* y,
                            std::size_t rows, std::size_t cols, double temperature) {
  return Guard(function, [&]() -> Status {
    std::int64_t shape[2];
    if (Status s = BlockShape(function, rows, cols, shape); !s.ok()) return s;
    const Layout layout = Layout::Contiguous(shape);
    return op(ConstTensorRef(x, dtype_of<T>(), layout), TensorRef{y, dtype_of<T>(), layout},
              {.temperature = temperature, .axis = -1});
  });
}

template <typename T>
smx_status LogSumExpBlock(const char* function, const T* x, T* out, std::size_t rows,
                          std::size_t cols) {
  return Guard(function, [&]() -> Status {
    std::int64_t shape[2];
    if (Status s = BlockShape(function, rows, cols, shape); !s.ok()) return s;
    return logsumexp(
        ConstTensorRef(x, dtype_of<T>(), Layout::Contiguous(shape)),
        TensorRef{out, dtype_of<T>(), Layout::Contiguous(std::span<const std::int64_t>(shape, 1))},
        {.axis = -1});
  });
}

constexpr ElementwiseOp kSoftmax = &softmax;
constexpr ElementwiseOp kLogSoftmax = &log_softmax;

}  // namespace
}  // namespace smx::capi

extern "C" {

smx_status smx_softmax(const smx_tensor* x, const smx_tensor* y, int32_t axis, double temperature) {
  return smx::capi::Elementwise("smx_softmax", smx::capi::kSoftmax, x, y, axis, temperature);
}

smx_status smx_log_softmax(const smx_tensor* x, const smx_tensor* y, int32_t axis,
                           double temperature) {
  return smx::capi::Elementwise("smx_log_softmax", smx::capi::kLogSoftmax, x, y, axis, temperature);
}

smx_status smx_logsumexp(const smx_tensor* x, const smx_tensor* out, int32_t axis) {
  return smx::capi::Guard("smx_logsumexp", [&]() -> smx::Status {
    smx::ConstTensorRef xr;
    smx::TensorRef outr;
    if (smx::Status s = smx::capi::ToConstRef("smx_logsumexp", "x", x, xr); !s.ok()) return s;
    if (smx::Status s = smx::capi::ToRef("smx_logsumexp", "out", out, outr); !s.ok()) return s;
    return smx::logsumexp(xr, outr, {.axis = axis});
  });
}

smx_status smx_logsumexp_weighted(const smx_tensor* x, const smx_tensor* b, const smx_tensor* out,
                                  const smx_tensor* sign, int32_t axis) {
  const char* function = "smx_logsumexp_weighted";
  return smx::capi::Guard(function, [&]() -> smx::Status {
    smx::ConstTensorRef xr, br;
    smx::TensorRef outr, signr;
    if (smx::Status s = smx::capi::ToConstRef(function, "x", x, xr); !s.ok()) return s;
    if (smx::Status s = smx::capi::ToConstRef(function, "b", b, br); !s.ok()) return s;
    if (smx::Status s = smx::capi::ToRef(function, "out", out, outr); !s.ok()) return s;
    if (sign != nullptr) {
      if (smx::Status s = smx::capi::ToRef(function, "sign", sign, signr); !s.ok()) return s;
    }
    return smx::logsumexp(xr, br, outr, sign != nullptr ? &signr : nullptr, {.axis = axis});
  });
}

smx_status smx_softmax_f32(const float* x, float* y, size_t rows, size_t cols, double temperature) {
  return smx::capi::ElementwiseBlock("smx_softmax_f32", smx::capi::kSoftmax, x, y, rows, cols,
                                     temperature);
}

smx_status smx_softmax_f64(const double* x, double* y, size_t rows, size_t cols,
                           double temperature) {
  return smx::capi::ElementwiseBlock("smx_softmax_f64", smx::capi::kSoftmax, x, y, rows, cols,
                                     temperature);
}

smx_status smx_log_softmax_f32(const float* x, float* y, size_t rows, size_t cols,
                               double temperature) {
  return smx::capi::ElementwiseBlock("smx_log_softmax_f32", smx::capi::kLogSoftmax, x, y, rows,
                                     cols, temperature);
}

smx_status smx_log_softmax_f64(const double* x, double* y, size_t rows, size_t cols,
                               double temperature) {
  return smx::capi::ElementwiseBlock("smx_log_softmax_f64", smx::capi::kLogSoftmax, x, y, rows,
                                     cols, temperature);
}

smx_status smx_logsumexp_f32(const float* x, float* out, size_t rows, size_t cols) {
  return smx::capi::LogSumExpBlock("smx_logsumexp_f32", x, out, rows, cols);
}

smx_status smx_logsumexp_f64(const double* x, double* out, size_t rows, size_t cols) {
  return smx::capi::LogSumExpBlock("smx_logsumexp_f64", x, out, rows, cols);
}

}  // extern "C"
