// sigmoid, log_sigmoid and softplus, elementwise: the 2-class case of softmax and its logs, exact
// over the whole range.
//
//   sigmoid(x)     = 1 / (1 + exp(-x))          = softmax([x, 0])_0
//   log_sigmoid(x) = -log1p(exp(-x))            = log_softmax([x, 0])_0
//   softplus(x)    = log1p(exp(x))              = logsumexp([x, 0])
//
// Example:
//   std::vector<float> x = {-100, 0, 40}, y(3);
//   smx::Status s = smx::log_sigmoid(std::span<const float>(x), std::span<float>(y));
//   // y = {-100, -0.6931472, -4.2483543e-18}: not -inf, and not 0
//
// Each is computed from e = exp(-|x|) <= 1, so that nothing overflows and nothing cancels:
//   sigmoid(x) = 1/(1 + e) for x >= 0, e/(1 + e) for x < 0;
//   log_sigmoid(x) = min(x, 0) - log1p(e);  softplus(x) = max(x, 0) + log1p(e).
// f32 (and f16, bf16) data are computed in f64 lanes, then rounded once; f64 data with a 1-ulp
// exponential and a 2-ulp log1p.
//
// The numerical contract, element by element:
//   - accuracy: within 4 ULP (f32) and 8 ULP (f64) of the correctly rounded exact result (f32
//     results below 2^-126 within 1e-37); measured on the cases of shared/golden/public.jsonl:
//     1 ULP (f32 and f64), on every SIMD target;
//   - sigmoid(+inf) = 1, sigmoid(-inf) = 0; log_sigmoid(+inf) = 0, log_sigmoid(-inf) = -inf;
//     softplus(+inf) = +inf, softplus(-inf) = 0; NaN in, NaN out;
//   - log_sigmoid(x) for large x is the tiny negative -exp(-x) (or -0 once that underflows), and
//     log_sigmoid(-100) is -100, never -inf; sigmoid(x) of very negative x underflows gradually.
//
// Shapes: any rank <= 8 (rank 0 included), any strides; x and y have the same dtype and shape.
// In-place (y == x, same layout) is allowed. Threads: see runtime.h; the results do not depend
// on the thread count. The hot path allocates nothing.
#ifndef SMX_SIGMOID_H_
#define SMX_SIGMOID_H_

#include <cstddef>
#include <span>

#include "smx/status.h"
#include "smx/tensor.h"

namespace smx {

// Run-time typed entry points (the C API and Python use these).
Status sigmoid(const ConstTensorRef& x, const TensorRef& y);
Status log_sigmoid(const ConstTensorRef& x, const TensorRef& y);
Status softplus(const ConstTensorRef& x, const TensorRef& y);

// Typed views.
template <typename In, typename Out>
Status sigmoid(const TensorView<In>& x, const TensorView<Out>& y) {
  static_assert(std::is_same_v<std::remove_const_t<In>, Out>, "x and y must have one dtype");
  return sigmoid(ConstTensorRef(x.data(), dtype_of<Out>(), x.layout()), y.ref());
}
template <typename In, typename Out>
Status log_sigmoid(const TensorView<In>& x, const TensorView<Out>& y) {
  static_assert(std::is_same_v<std::remove_const_t<In>, Out>, "x and y must have one dtype");
  return log_sigmoid(ConstTensorRef(x.data(), dtype_of<Out>(), x.layout()), y.ref());
}
template <typename In, typename Out>
Status softplus(const TensorView<In>& x, const TensorView<Out>& y) {
  static_assert(std::is_same_v<std::remove_const_t<In>, Out>, "x and y must have one dtype");
  return softplus(ConstTensorRef(x.data(), dtype_of<Out>(), x.layout()), y.ref());
}

// Contiguous arrays; y.size() must equal x.size().
template <typename T>
Status sigmoid(std::span<const T> x, std::span<T> y) {
  const std::int64_t n[1] = {static_cast<std::int64_t>(x.size())};
  const std::int64_t m[1] = {static_cast<std::int64_t>(y.size())};
  return sigmoid(TensorView<const T>(x.data(), n), TensorView<T>(y.data(), m));
}
template <typename T>
Status log_sigmoid(std::span<const T> x, std::span<T> y) {
  const std::int64_t n[1] = {static_cast<std::int64_t>(x.size())};
  const std::int64_t m[1] = {static_cast<std::int64_t>(y.size())};
  return log_sigmoid(TensorView<const T>(x.data(), n), TensorView<T>(y.data(), m));
}
template <typename T>
Status softplus(std::span<const T> x, std::span<T> y) {
  const std::int64_t n[1] = {static_cast<std::int64_t>(x.size())};
  const std::int64_t m[1] = {static_cast<std::int64_t>(y.size())};
  return softplus(TensorView<const T>(x.data(), n), TensorView<T>(y.data(), m));
}

}  // namespace smx

#endif  // SMX_SIGMOID_H_
