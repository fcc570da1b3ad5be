// The calculus of softmax: its Jacobian, the vector products of the backward pass (VJP) and of
// forward mode (JVP), from the saved forward output, as autograd engines call them; and the
// entropy of the distribution.
//
// For y = softmax(z/T) along an axis, the Jacobian is J = (diag(y) - y y^T) / T (J[i][j] =
// dy_i/dz_j; symmetric, positive semi-definite, rows and columns summing to 0, null vector 1),
// and with out = log_softmax(z/T):
//   softmax_backward(g, y)       dz = y * (g - <g, y>) / T          = J^T g
//   log_softmax_backward(g, out) dz = (g - exp(out) * sum(g)) / T
//   softmax_jvp(y, v)            J v = y * (v - <v, y>) / T         (J is symmetric)
// The gradient of logsumexp is softmax and its Hessian is J (the covariance of the categorical
// distribution y): softmax_jacobian at T = 1 is that Hessian (logsumexp_gradient and
// logsumexp_hessian below call them by those names).
//
// Example (PyTorch's softmax backward from the saved output):
//   smx::Status s = smx::softmax_backward(grad, y, dz, {.axis = -1});
//
// Accuracy: relative 1e-5 (f32) and 1e-12 (f64) per element against the exact result of the
// given inputs, as the golden cases of shared/golden/public.jsonl check, and usually far better:
// for f32 data the sums are taken in f64 (products exact) and softmax_backward's output pass
// carries <g, y> as two floats (g - <g, y> formed without rounding <g, y> to one float: within
// 3 ulp where g_i is near <g, y>); log_softmax_backward at T = 1 is within 3 ulp plus
// |exp(out) sum(g)| 2^-50 (f32 lanes where |exp(out) sum(g)| <= |dz|, f64 lanes elsewhere: the
// second term is exp(out) rounded in f64, which shows only where dz cancels, as at the target of
// a confident row under NLL); the others in f64; f64 data with compensated sums and products. The
// sums <g, y> and sum(g) run over the whole axis, -inf entries of out included (their exp is 0).
// NaN anywhere in a row's inputs makes that row's outputs NaN; nothing leaks into other rows.
//
// Shapes: grad, y (or out) and dz have one dtype (f32, f64, f16, bf16: the 16-bit types compute
// in f32's way) and one shape, any rank <= 8, any axis (negative counts from the end), any
// strides; dz may be grad or y itself (the same view; any other overlap with them is an error).
// The temperature must be finite and > 0 (the derivative of the T = 0 limit does not exist).
// Threads: see runtime.h; fewer rows than threads, each longer than 65536 elements, are each
// split over the threads in chunks of 65536 (their partial sums take 16 bytes of heap per chunk);
// the results do not depend on the thread count.
#ifndef SMX_CALCULUS_H_
#define SMX_CALCULUS_H_

#include "smx/softmax.h"
#include "smx/status.h"
#include "smx/tensor.h"

namespace smx {

struct BackwardOptions {
  double temperature = 1.0;  // the forward pass's T: finite, > 0
  int axis = -1;             // the forward pass's axis; negative counts from the end
};

Status softmax_backward(const ConstTensorRef& grad, const ConstTensorRef& y, const TensorRef& dz,
                        const BackwardOptions& options = {});
Status log_softmax_backward(const ConstTensorRef& grad, const ConstTensorRef& out,
                            const TensorRef& dz, const BackwardOptions& options = {});
Status softmax_jvp(const ConstTensorRef& y, const ConstTensorRef& v, const TensorRef& out,
                   const BackwardOptions& options = {});

// J = (diag(y) - y y^T)/T of y = softmax(z/T) along options.axis, for every row: `jacobian` has
// z's shape without the axis, then K, K (z [K]: [K, K]; z [B, K], axis -1: [B, K, K]), and z's
// dtype. options.temperature must be finite and > 0. A row with NaN or +inf gives NaN; a fully
// masked row (all -inf, y = 0) gives 0. J[i][i] = y_i (1 - y_i) is formed without cancellation
// (for the entry above 1/2, 1 - y_i as the sum of the others). Accuracy: f32 within 1 ulp (computed
// in f64), f64 within a few ulps of the exact J of the given z.
Status softmax_jacobian(const ConstTensorRef& z, const TensorRef& jacobian,
                        const SoftmaxOptions& options = {});

// The entropy H(softmax(z/T)) = -sum_i y_i log y_i in nats along options.axis, with 0 log 0 = 0.
// `out` has z's shape without the axis (or with it of size 1) and z's dtype. Computed as
// log S + sum_i e_i d_i / S with d_i = (max - z_i)/T >= 0 and e_i = exp(-d_i), two sums of
// positive terms, so a confident row keeps its tiny H (1e-14) to full relative precision: within
// 1e-5 (f32) and 1e-12 (f64) relative of the exact value, usually far better. T = 0 gives log m
// (m entries at the max), T = inf log n (n finite entries); a negative or NaN T is an error. A
// row with NaN or +inf gives NaN; a fully masked row (all -inf) and an empty one give 0.
Status entropy(const ConstTensorRef& z, const TensorRef& out, const SoftmaxOptions& options = {});

// The derivatives of logsumexp, under their own names. For L(x) = log sum_j exp(x_j) along
// `axis`, the gradient is dL/dx_i = softmax(x)_i and the Hessian d2L/dx_i dx_j = diag(y) - y y^T
// with y = softmax(x): softmax and softmax_jacobian at T = 1, with their accuracy and their
// special rows (NaN or +inf in a row: NaN; all -inf: a zero gradient and a zero Hessian).
//
// logsumexp_gradient: `gradient` has x's shape and dtype (it may be x itself).
// logsumexp_hessian: `hessian` has x's shape without the axis, then K, K (x [B, K]: [B, K, K]).
//
// Example (x = {0, log 3}: gradient {1/4, 3/4}, Hessian {{3/16, -3/16}, {-3/16, 3/16}}):
//   smx::Status s = smx::logsumexp_gradient(x, g);
//   s = smx::logsumexp_hessian(x, h);
// Errors carry the name of the op and of the call it runs ("logsumexp_hessian: softmax_jacobian:
// the jacobian must be f32 [4, 4] ...").
inline Status logsumexp_gradient(const ConstTensorRef& x, const TensorRef& gradient,
                                 int axis = -1) {
  Status s = softmax(x, gradient, {.temperature = 1.0, .axis = axis});
  return s.ok() ? s : Status(s.code(), "logsumexp_gradient: " + s.message());
}
inline Status logsumexp_hessian(const ConstTensorRef& x, const TensorRef& hessian, int axis = -1) {
  Status s = softmax_jacobian(x, hessian, {.temperature = 1.0, .axis = axis});
  return s.ok() ? s : Status(s.code(), "logsumexp_hessian: " + s.message());
}

// Typed views.
template <typename G, typename Y, typename D>
Status softmax_backward(const TensorView<G>& grad, const TensorView<Y>& y, const TensorView<D>& dz,
                        const BackwardOptions& options = {}) {
  static_assert(std::is_same_v<std::remove_const_t<G>, D> && std::is_same_v<std::remove_const_t<Y>, D>,
                "grad, y and dz must have one dtype");
  return softmax_backward(ConstTensorRef(grad.data(), dtype_of<D>(), grad.layout()),
                          ConstTensorRef(y.data(), dtype_of<D>(), y.layout()), dz.ref(), options);
}
template <typename G, typename Y, typename D>
Status log_softmax_backward(const TensorView<G>& grad, const TensorView<Y>& out,
                            const TensorView<D>& dz, const BackwardOptions& options = {}) {
  static_assert(std::is_same_v<std::remove_const_t<G>, D> && std::is_same_v<std::remove_const_t<Y>, D>,
                "grad, out and dz must have one dtype");
  return log_softmax_backward(ConstTensorRef(grad.data(), dtype_of<D>(), grad.layout()),
                              ConstTensorRef(out.data(), dtype_of<D>(), out.layout()), dz.ref(),
                              options);
}
template <typename Z, typename J>
Status softmax_jacobian(const TensorView<Z>& z, const TensorView<J>& jacobian,
                        const SoftmaxOptions& options = {}) {
  static_assert(std::is_same_v<std::remove_const_t<Z>, J>, "z and jacobian must have one dtype");
  return softmax_jacobian(ConstTensorRef(z.data(), dtype_of<J>(), z.layout()), jacobian.ref(),
                          options);
}

template <typename Z, typename O>
Status entropy(const TensorView<Z>& z, const TensorView<O>& out, const SoftmaxOptions& options = {}) {
  static_assert(std::is_same_v<std::remove_const_t<Z>, O>, "z and out must have one dtype");
  return entropy(ConstTensorRef(z.data(), dtype_of<O>(), z.layout()), out.ref(), options);
}

template <typename X, typename G>
Status logsumexp_gradient(const TensorView<X>& x, const TensorView<G>& gradient, int axis = -1) {
  static_assert(std::is_same_v<std::remove_const_t<X>, G>, "x and gradient must have one dtype");
  return logsumexp_gradient(ConstTensorRef(x.data(), dtype_of<G>(), x.layout()), gradient.ref(),
                            axis);
}
template <typename X, typename H>
Status logsumexp_hessian(const TensorView<X>& x, const TensorView<H>& hessian, int axis = -1) {
  static_assert(std::is_same_v<std::remove_const_t<X>, H>, "x and hessian must have one dtype");
  return logsumexp_hessian(ConstTensorRef(x.data(), dtype_of<H>(), x.layout()), hessian.ref(),
                           axis);
}

}  // namespace smx

#endif  // SMX_CALCULUS_H_
