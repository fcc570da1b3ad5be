// The C API of the softmax calculus (include/smx/smx.h): each function is the C++ call of
// smx/calculus.h inside capi::Guard.
#include <cstdint>

#include "capi/capi_util.h"
#include "smx/calculus.h"
#include "smx/smx.h"

namespace smx::capi {
namespace {

using BackwardFn = Status (*)(const ConstTensorRef&, const ConstTensorRef&, const TensorRef&,
                              const BackwardOptions&);

smx_status Backward(const char* function, BackwardFn op, const char* a_name, const smx_tensor* a,
                    const char* b_name, const smx_tensor* b, const char* out_name,
                    const smx_tensor* out, int32_t axis, double temperature) {
  return Guard(function, [&]() -> Status {
    ConstTensorRef ar, br;
    TensorRef outr;
    if (Status s = ToConstRef(function, a_name, a, ar); !s.ok()) return s;
    if (Status s = ToConstRef(function, b_name, b, br); !s.ok()) return s;
    if (Status s = ToRef(function, out_name, out, outr); !s.ok()) return s;
    return op(ar, br, outr, {.temperature = temperature, .axis = axis});
  });
}

constexpr BackwardFn kSoftmaxBackward = &softmax_backward;
constexpr BackwardFn kLogSoftmaxBackward = &log_softmax_backward;
constexpr BackwardFn kSoftmaxJvp = &softmax_jvp;

}  // namespace
}  // namespace smx::capi

extern "C" {

smx_status smx_softmax_backward(const smx_tensor* grad, const smx_tensor* y, const smx_tensor* dz,
                                int32_t axis, double temperature) {
  return smx::capi::Backward("smx_softmax_backward", smx::capi::kSoftmaxBackward, "grad", grad,
                             "y", y, "dz", dz, axis, temperature);
}

smx_status smx_log_softmax_backward(const smx_tensor* grad, const smx_tensor* out,
                                    const smx_tensor* dz, int32_t axis, double temperature) {
  return smx::capi::Backward("smx_log_softmax_backward", smx::capi::kLogSoftmaxBackward, "grad",
                             grad, "out", out, "dz", dz, axis, temperature);
}

smx_status smx_softmax_jvp(const smx_tensor* y, const smx_tensor* v, const smx_tensor* jv,
                           int32_t axis, double temperature) {
  return smx::capi::Backward("smx_softmax_jvp", smx::capi::kSoftmaxJvp, "y", y, "v", v, "jv", jv,
                             axis, temperature);
}

smx_status smx_softmax_jacobian(const smx_tensor* z, const smx_tensor* jacobian, int32_t axis,
                                double temperature) {
  return smx::capi::Guard("smx_softmax_jacobian", [&]() -> smx::Status {
    smx::ConstTensorRef zr;
    smx::TensorRef jr;
    if (smx::Status s = smx::capi::ToConstRef("smx_softmax_jacobian", "z", z, zr); !s.ok()) {
      return s;
    }
    if (smx::Status s = smx::capi::ToRef("smx_softmax_jacobian", "jacobian", jacobian, jr);
        !s.ok()) {
      return s;
    }
    return smx::softmax_jacobian(zr, jr, {.temperature = temperature, .axis = axis});
  });
}

smx_status smx_entropy(const smx_tensor* z, const smx_tensor* out, int32_t axis,
                       double temperature) {
  return smx::capi::Guard("smx_entropy", [&]() -> smx::Status {
    smx::ConstTensorRef zr;
    smx::TensorRef outr;
    if (smx::Status s = smx::capi::ToConstRef("smx_entropy", "z", z, zr); !s.ok()) return s;
    if (smx::Status s = smx::capi::ToRef("smx_entropy", "out", out, outr); !s.ok()) return s;
    return smx::entropy(zr, outr, {.temperature = temperature, .axis = axis});
  });
}

}  // extern "C"
