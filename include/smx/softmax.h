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

// Weighted logsumexp, as scipy.special.logsumexp(x, axis, b=b, return_sign=...):
//   out = log |S|,  S = sum_j b_j exp(x_j)  along options.axis,
// and, when `sign` is not null, sign = +1, -1 or 0 (S = 0 exactly; out is then -inf), or NaN
// where out is NaN. Without `sign`, a negative S gives out = NaN (as SciPy).
//
// Example: x = {1, 2}, b = {1, -1}: S = e - e^2 < 0, out = log(e^2 - e) = 1.5413, sign = -1
// (without sign: NaN).
//
// b has x's shape and dtype (any strides, 0 included, so one b can be broadcast over x's rows);
// out has x's shape without the axis or with it of size 1, and x's dtype; sign, if given, has
// out's shape and dtype and does not overlap out. Any rank <= 8, any axis, any strides.
//
// Special values, per row (rows never affect each other), following SciPy:
//   - an entry with b_j = 0 contributes nothing, whatever x_j is (+-inf and NaN included; a
//     masked entry is simply b_j = 0). (SciPy 1.17 agrees except where another entry makes its
//     result infinite: it then recomputes b * exp(x) directly and gets 0 * inf = NaN.)
//   - otherwise the terms follow IEEE arithmetic: NaN in x_j or b_j gives NaN; x_j = +inf gives
//     the term sign(b_j) inf, b_j = +-inf (x_j finite) the term b_j, b_j = +-inf with x_j = -inf
//     the term 0 * inf = NaN; +inf and -inf terms together give NaN, infinite terms of one sign
//     out = +inf with that sign;
//   - no term left (an empty axis, all b_j = 0, all x_j = -inf): S = 0, out = -inf, sign 0.
//     (SciPy 1.17 reports sign -1 for an empty axis, out -inf: a side effect of its
//     implementation; an empty sum is 0.)
//
// Accuracy: out is computed relative to m = max{x_j : b_j != 0}, as m + log|S e^-m|, with the
// terms b_j exp(x_j - m) summed compensated (TwoSum, and the exact product error) in f64 lanes
// (f32, f16 and bf16 data) or with the rounding residual of x_j - m carried into exp (f64 data).
// A row is recomputed by a scalar long-double path (expl or expm1l per element: ~50 ns per
// element, against ~1.5 ns for the fast path, measured on 256 x 32000, 2 threads) when that is
// not exact enough: rows whose terms cancel (sum_j |b_j exp(x_j)| above 2 |S| for f64 data,
// above 2^20 |S| for f32), results below 1 (f64) or 1/4 (f32) in magnitude (there log|S| is
// formed as log1p(|S| - 1) from b_j + b_j expm1(x_j - m), so that a weighted sum near 1 keeps
// its digits), and sums that are tiny, huge or could have lost terms to underflow. The result
// is then within a few ulps of the exact value (f32 within 2, f64 within 4), plus what the
// inputs' own conditioning costs: an error of about 2^-63 * (sum_j |b_j exp(x_j)|) / |S|
// relative to |S| when the terms cancel. A term smaller than the largest by more than long
// double's range (e^-11000) is lost, which matters only when the larger terms cancel exactly.
// f16 and bf16 are computed as f32 data is, and the f32 result is rounded to 16 bits (within 1
// ulp of the 16-bit type).
Status logsumexp(const ConstTensorRef& x, const ConstTensorRef& b, const TensorRef& out,
                 const TensorRef* sign = nullptr, const LogSumExpOptions& options = {});

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

// Weighted logsumexp on typed views; `sign` may be null.
template <typename In, typename W, typename Out>
Status logsumexp(const TensorView<In>& x, const TensorView<W>& b, const TensorView<Out>& out,
                 const TensorView<Out>* sign = nullptr, const LogSumExpOptions& options = {}) {
  static_assert(
      std::is_same_v<std::remove_const_t<In>, Out> && std::is_same_v<std::remove_const_t<W>, Out>,
      "x, b and out must have one dtype");
  const TensorRef sign_ref = sign != nullptr ? sign->ref() : TensorRef{};
  return logsumexp(ConstTensorRef(x.data(), dtype_of<Out>(), x.layout()),
                   ConstTensorRef(b.data(), dtype_of<Out>(), b.layout()), out.ref(),
                   sign != nullptr ? &sign_ref : nullptr, options);
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

// A single weighted row: out = log|sum_j b_j exp(x_j)|; b.size() must equal x.size(); `sign`
// (may be null) receives +1, -1, 0 or NaN.
template <typename T>
Status logsumexp(std::span<const T> x, std::span<const T> b, T& out, T* sign = nullptr) {
  const std::int64_t n[1] = {static_cast<std::int64_t>(x.size())};
  const std::int64_t nb[1] = {static_cast<std::int64_t>(b.size())};
  const TensorView<T> out_view(&out, std::span<const std::int64_t>());
  if (sign == nullptr) {
    return logsumexp(TensorView<const T>(x.data(), n), TensorView<const T>(b.data(), nb), out_view);
  }
  const TensorView<T> sign_view(sign, std::span<const std::int64_t>());
  return logsumexp(TensorView<const T>(x.data(), n), TensorView<const T>(b.data(), nb), out_view,
                   &sign_view);
}

}  // namespace smx

#endif  // SMX_SOFTMAX_H_
