// The C API of sigmoid, log_sigmoid and softplus (include/smx/smx.h): each function is the C++
// call of smx/sigmoid.h inside capi::Guard.
#include <cstddef>
#include <cstdint>

#include "capi/capi_util.h"
#include "smx/sigmoid.h"
#include "smx/smx.h"

namespace smx::capi {
namespace {

using SigmoidFn = Status (*)(const ConstTensorRef&, const TensorRef&);

smx_status Tensors(const char* function, SigmoidFn op, const smx_tensor* x, const smx_tensor* y) {
  return Guard(function, [&]() -> Status {
    ConstTensorRef xr;
    TensorRef yr;
    if (Status s = ToConstRef(function, "x", x, xr); !s.ok()) return s;
    if (Status s = ToRef(function, "y", y, yr); !s.ok()) return s;
    return op(xr, yr);
  });
}

template <typename T>
smx_status Array(const char* function, SigmoidFn op, const T* x, T* y, std::size_t n) {
  return Guard(function, [&]() -> Status {
    std::int64_t shape[2];
    if (Status s = BlockShape(function, 1, n, shape); !s.ok()) return s;
    const Layout layout = Layout::Contiguous({shape + 1, 1});
    return op(ConstTensorRef(x, dtype_of<T>(), layout), TensorRef{y, dtype_of<T>(), layout});
  });
}

constexpr SigmoidFn kSigmoid = &sigmoid;
constexpr SigmoidFn kLogSigmoid = &log_sigmoid;
constexpr SigmoidFn kSoftplus = &softplus;

}  // namespace
}  // namespace smx::capi

extern "C" {

smx_status smx_sigmoid(const smx_tensor* x, const smx_tensor* y) {
  return smx::capi::Tensors("smx_sigmoid", smx::capi::kSigmoid, x, y);
}
smx_status smx_log_sigmoid(const smx_tensor* x, const smx_tensor* y) {
  return smx::capi::Tensors("smx_log_sigmoid", smx::capi::kLogSigmoid, x, y);
}
smx_status smx_softplus(const smx_tensor* x, const smx_tensor* y) {
  return smx::capi::Tensors("smx_softplus", smx::capi::kSoftplus, x, y);
}

smx_status smx_sigmoid_f32(const float* x, float* y, size_t n) {
  return smx::capi::Array("smx_sigmoid_f32", smx::capi::kSigmoid, x, y, n);
}
smx_status smx_sigmoid_f64(const double* x, double* y, size_t n) {
  return smx::capi::Array("smx_sigmoid_f64", smx::capi::kSigmoid, x, y, n);
}
smx_status smx_log_sigmoid_f32(const float* x, float* y, size_t n) {
  return smx::capi::Array("smx_log_sigmoid_f32", smx::capi::kLogSigmoid, x, y, n);
}
smx_status smx_log_sigmoid_f64(const double* x, double* y, size_t n) {
  return smx::capi::Array("smx_log_sigmoid_f64", smx::capi::kLogSigmoid, x, y, n);
}
smx_status smx_softplus_f32(const float* x, float* y, size_t n) {
  return smx::capi::Array("smx_softplus_f32", smx::capi::kSoftplus, x, y, n);
}
smx_status smx_softplus_f64(const double* x, double* y, size_t n) {
  return smx::capi::Array("smx_softplus_f64", smx::capi::kSoftplus, x, y, n);
}

}  // extern "C"
