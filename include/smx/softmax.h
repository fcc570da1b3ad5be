// softmax, log_softmax and logsumexp: stable, exact at the edges, at memory speed.
//
// For a row z of K logits and a temperature T:
//   softmax(z/T)_i     = exp(z_i/T - m) / sum_j exp(z_j/T - m),   m = max_j z_j/T
//   log_softmax(z/T)_i = z_i/T - LSE(z/T)
//   logsumexp(z)       = m + log sum_j exp(z_j - m)               (no temperature)
//
// Example:
//   std::vector<float> z = {2, 1, 0.5f}, y(3);
//   smx::Status s = smx::softmax(std::span<const float>(z), std::span<float>(y));
//   // y ~ {0.6285, 0.2312, 0.1402}
//   s = smx::softmax(std::span<const float>(z), std::span<float>(y), {.temperature = 0.5});
//
// Temperature: T > 0 finite is the usual case; T = +inf gives the uniform limit (1/K, or
// 1/(number of finite entries) on a row with -inf entries); T = 0 gives the hardmax limit (1/c on
// each of the c entries equal to the row max, 0 elsewhere; log_softmax: -log c there, -inf
// elsewhere). A negative or NaN temperature is an error. Any finite T > 0 is valid, down to the
// smallest subnormal double: a T whose reciprocal would overflow or underflow a double (outside
// about [1e-307, 1e307]) is computed by a slower scalar path in long double (on platforms whose
// long double has no wider range than double, such a T is an error instead). The temperature
// divides the logits before the exponential, never after; f32 data is divided by the caller's
// double T, not by T rounded to f32.
//
// The numerical contract, per row (rows never affect each other):
//   - a NaN anywhere in the row: every output of the row is NaN (logsumexp NaN);
//   - +inf and no NaN: softmax and log_softmax NaN, logsumexp +inf (as PyTorch and SciPy);
//   - only -inf (a fully masked row): softmax all 0, log_softmax all -inf, logsumexp -inf;
//   - K = 0: logsumexp -inf, nothing else written;
//   - -inf entries beside finite ones: softmax 0 and log_softmax -inf there;
//   - accuracy: every element within 4 ULP (f32) and 8 ULP (f64) of the correctly rounded exact
//     result, at every temperature, on every SIMD target (f32 outputs below 2^-126 are within
//     1e-37). The logit shift z_i/T - m is carried with its rounding residual into the
//     exponential, sums are accumulated in f64 (f32 input) or compensated (f64 input), and the log
//     of a sum dominated by its max entries is taken as log(c) + log1p(rest/c). Measured maximum
//     error on the exact cases of shared/golden/public.jsonl: 2 ULP, f32 and f64, every target;
//   - f16 and bf16 are computed in f32 with f32-or-better sums, then rounded once;
//   - huge offsets (z + 1e30), denormals, ties and odd lengths are ordinary inputs.
//
// Shapes: any rank <= 8, any axis (negative counts from the end, default -1), any strides. The
// output has the shape of the input (logsumexp: the input's shape without the axis, or with the
// axis of size 1). In-place (output == input, same layout) is allowed. The fast paths are
// contiguous rows and the contiguous outer x K x inner case, vectorised across `inner`.
//
// Threads: see runtime.h; results are bitwise identical for any thread count. The hot path
// allocates nothing: its scratch lives on the stack of the calling (and worker) threads, at most
// about 64 KiB deep.
#ifndef SMX_SOFTMAX_H_
#define SMX_SOFTMAX_H_

#include <cstddef>
#include <span>

#include "smx/status.h"
#include "smx/tensor.h"

namespace smx {

struct SoftmaxOptions {
  double temperature = 1.0;  // >= 0; 0 = hardmax, +inf = uniform
  int axis = -1;             // negative counts from the end
};

struct LogSumExpOptions {
  int axis = -1;
};

// Run-time typed entry points (the CLI, C API and Python use these). x and y must have the same
// dtype and shape.
Status softmax(const ConstTensorRef& x, const TensorRef& y, const SoftmaxOptions& options = {});
Status log_softmax(const ConstTensorRef& x, const TensorRef& y, const SoftmaxOptions& options = {});
Status logsumexp(const ConstTensorRef& x, const TensorRef& out,
                 const LogSumExpOptions& options = {});

// Typed views.
template <typename In, typename Out>
Status softmax(const TensorView<In>& x, const TensorView<Out>& y,
               const SoftmaxOptions& options = {}) {
  static_assert(std::is_same_v<std::remove_const_t<In>, Out>, "x and y must have one dtype");
  return softmax(ConstTensorRef(x.data(), dtype_of<Out>(), x.layout()), y.ref(), options);
}
template <typename In, typename Out>
Status log_softmax(const TensorView<In>& x, const TensorView<Out>& y,
                   const SoftmaxOptions& options = {}) {
  static_assert(std::is_same_v<std::remove_const_t<In>, Out>, "x and y must have one dtype");
  return log_softmax(ConstTensorRef(x.data(), dtype_of<Out>(), x.layout()), y.ref(), options);
}
template <typename In, typename Out>
Status logsumexp(const TensorView<In>& x, const TensorView<Out>& out,
                 const LogSumExpOptions& options = {}) {
  static_assert(std::is_same_v<std::remove_const_t<In>, Out>, "x and out must have one dtype");
  return logsumexp(ConstTensorRef(x.data(), dtype_of<Out>(), x.layout()), out.ref(), options);
}

// A contiguous [rows, cols] block (row-major); options.axis must be -1 or 1.
template <typename T>
Status softmax(const T* x, T* y, std::size_t rows, std::size_t cols,
               const SoftmaxOptions& options = {}) {
  const std::int64_t shape[2] = {static_cast<std::int64_t>(rows), static_cast<std::int64_t>(cols)};
  return softmax(TensorView<const T>(x, shape), TensorView<T>(y, shape), options);
}
template <typename T>
Status log_softmax(const T* x, T* y, std::size_t rows, std::size_t cols,
                   const SoftmaxOptions& options = {}) {
  const std::int64_t shape[2] = {static_cast<std::int64_t>(rows), static_cast<std::int64_t>(cols)};
  return log_softmax(TensorView<const T>(x, shape), TensorView<T>(y, shape), options);
}
// out has `rows` elements.
template <typename T>
Status logsumexp(const T* x, T* out, std::size_t rows, std::size_t cols) {
  const std::int64_t shape[2] = {static_cast<std::int64_t>(rows), static_cast<std::int64_t>(cols)};
  const std::int64_t out_shape[1] = {static_cast<std::int64_t>(rows)};
  return logsumexp(TensorView<const T>(x, shape), TensorView<T>(out, out_shape));
}

// A single row; y.size() must equal x.size().
template <typename T>
Status softmax(std::span<const T> x, std::span<T> y, const SoftmaxOptions& options = {}) {
  const std::int64_t n[1] = {static_cast<std::int64_t>(x.size())};
  const std::int64_t m[1] = {static_cast<std::int64_t>(y.size())};
  return softmax(TensorView<const T>(x.data(), n), TensorView<T>(y.data(), m), options);
}
template <typename T>
Status log_softmax(std::span<const T> x, std::span<T> y, const SoftmaxOptions& options = {}) {
  const std::int64_t n[1] = {static_cast<std::int64_t>(x.size())};
  const std::int64_t m[1] = {static_cast<std::int64_t>(y.size())};
  return log_softmax(TensorView<const T>(x.data(), n), TensorView<T>(y.data(), m), options);
}
template <typename T>
Status logsumexp(std::span<const T> x, T& out) {
  const std::int64_t n[1] = {static_cast<std::int64_t>(x.size())};
  return logsumexp(TensorView<const T>(x.data(), n),
                   TensorView<T>(&out, std::span<const std::int64_t>()));
}

}  // namespace smx

#endif  // SMX_SOFTMAX_H_
