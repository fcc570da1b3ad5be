// The per-target kernels of sigmoid, log_sigmoid and softplus on contiguous f32 and f64 arrays.
// The driver (sigmoid.cc) asks for the table once per call and stages other layouts and types.
#ifndef SMX_SIGMOID_KERNELS_H_
#define SMX_SIGMOID_KERNELS_H_

#include <cstddef>

namespace smx::internal {

enum class SigmoidOp { kSigmoid, kLogSigmoid, kSoftplus };

struct SigmoidKernels {
  // y_i = op(x_i) for i < n; y may be x.
  void (*f32)(SigmoidOp op, const float* x, float* y, std::size_t n);
  void (*f64)(SigmoidOp op, const double* x, double* y, std::size_t n);
};

// The table for the best target of this CPU (honours hwy::SetSupportedTargetsForTest).
const SigmoidKernels& GetSigmoidKernels();

}  // namespace smx::internal

#endif  // SMX_SIGMOID_KERNELS_H_
