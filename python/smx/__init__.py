"""smx: softmax, log_softmax and logsumexp (and sigmoid, log_sigmoid, softplus), exact and fast.

Names and conventions follow ``torch.nn.functional``; inputs are NumPy arrays, PyTorch tensors or
anything with ``__dlpack__`` (JAX), float32/float64/float16/bfloat16, any rank up to 8, any dim,
any strides. The result comes back in the caller's framework (NumPy in, NumPy out; torch in, torch
out), or is written into ``out=``. Kernels run without the GIL and dispatch at run time to the
best SIMD target of the CPU (``simd_target()``).

Numerical contract (per row; rows never affect each other):

* every element within 4 ULP (f32) / 8 ULP (f64) of the correctly rounded exact result, at every
  temperature; f16 and bf16 are computed in f32 and rounded once;
* a row with a NaN gives NaN everywhere (logsumexp NaN); a row with +inf and no NaN gives NaN
  for softmax and log_softmax and +inf for logsumexp; a fully masked row (all -inf) gives 0
  (softmax), -inf (log_softmax) and -inf (logsumexp); -inf beside finite values gives 0 / -inf
  there; an empty row gives logsumexp -inf;
* temperature T divides the logits: T = 0 is the hardmax limit (1/c on the c entries equal to
  the max), T = inf the uniform one (1/K); a negative or NaN T is a ValueError.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from . import _array, _smx
from ._attention import scaled_dot_product_attention, scaled_dot_product_attention_backward
from ._losses import cross_entropy, kl_div_distill
from ._sampling import gumbel_max, gumbel_softmax, sample, top_k_top_p_filter

__version__: str = _smx.version()

__all__ = [
    "softmax",
    "log_softmax",
    "logsumexp",
    "sigmoid",
    "log_sigmoid",
    "softplus",
    "softmax_backward",
    "log_softmax_backward",
    "softmax_jvp",
    "softmax_jacobian",
    "logsumexp_gradient",
    "logsumexp_hessian",
    "entropy",
    "cross_entropy",
    "kl_div_distill",
    "scaled_dot_product_attention",
    "scaled_dot_product_attention_backward",
    "sample",
    "top_k_top_p_filter",
    "gumbel_max",
    "gumbel_softmax",
    "set_num_threads",
    "get_num_threads",
    "simd_target",
    "compiled_targets",
    "__version__",
]


def _same_shape_op(name: str, kernel: Any, x: Any, dim: int, temperature: float, out: Any) -> Any:
    """softmax and log_softmax: the output has x's shape; checks, output, kernel call."""
    a = _array.Input(x, name)
    d = a.dim(dim)
    t = a.temperature(temperature)
    y = a.output(a.shape, out)
    kernel(a.array, y.array, d, t, a.dtype_override)
    return y.result


def softmax(x: Any, dim: int = -1, *, temperature: float = 1.0, out: Any = None) -> Any:
    """softmax(x / temperature) along ``dim``: ``exp(x_i/T - m) / sum_j exp(x_j/T - m)``.

    Within 4 ULP (f32) / 8 ULP (f64) of the exact result. A row with NaN gives NaN, with +inf
    NaN, all -inf gives 0. ``temperature=0`` is the hardmax (1/c on the c maxima), ``inf`` the
    uniform 1/K. ``out`` (same shape and dtype, may be ``x`` itself) receives the result.
    """
    return _same_shape_op("softmax", _smx.softmax, x, dim, temperature, out)


def log_softmax(x: Any, dim: int = -1, *, temperature: float = 1.0, out: Any = None) -> Any:
    """log(softmax(x / temperature)) along ``dim``, computed in log space: ``x_i/T - LSE(x/T)``.

    Within 4 ULP (f32) / 8 ULP (f64) of the exact result. A row with NaN or +inf gives NaN, all
    -inf gives -inf. ``temperature=0``: -log c on the c maxima and -inf elsewhere; ``inf``:
    -log K. ``out`` (same shape and dtype, may be ``x`` itself) receives the result.
    """
    return _same_shape_op("log_softmax", _smx.log_softmax, x, dim, temperature, out)


def logsumexp(x: Any, dim: int = -1, *, keepdim: bool = False, b: Any = None,
              return_sign: bool = False, out: Any = None) -> Any:
    """``log(sum(exp(x)))`` along ``dim``, without overflow: ``m + log sum_j exp(x_j - m)``.

    Within 4 ULP (f32) / 8 ULP (f64). A row with NaN gives NaN, with +inf (no NaN) +inf, all
    -inf or empty -inf. The result drops ``dim`` (``keepdim=True`` keeps it with size 1);
    ``out`` must have that shape and x's dtype.

    With weights ``b`` (broadcastable to x; lists and scalars take x's dtype, an array or tensor
    must have it) the result is ``log|sum_j b_j exp(x_j)|``, as ``scipy.special.logsumexp(x, dim,
    b=b, return_sign=...)``: a negative sum gives NaN unless ``return_sign=True``, which returns
    ``(result, sign)`` with sign +1, -1, 0 (the sum is exactly 0, result -inf) or NaN. An entry
    with ``b_j = 0`` adds nothing, even where x_j is NaN or +-inf; an empty or fully masked row
    gives -inf with sign 0. Exact where SciPy rounds: terms summed compensated, rows that cancel
    recomputed in long double (see smx/softmax.h). ``out`` receives the result; the sign is a
    new array.
    """
    a = _array.Input(x, "logsumexp")
    d = a.dim(dim)
    shape = a.reduced_shape(d, bool(keepdim))
    if b is None and not return_sign:
        y = a.output(shape, out)
        _smx.logsumexp(a.array, y.array, d, a.dtype_override)
        return y.result
    w = _weights(a, b)
    y = a.output(shape, out)
    sign = a.output(shape) if return_sign else None
    _smx.logsumexp(a.array, y.array, d, a.dtype_override, w,
                   sign.array if sign is not None else None)
    return (y.result, sign.result) if return_sign else y.result


def _weights(a: Any, b: Any) -> Any:
    """logsumexp's b as an array of x's framework, dtype and shape (stride 0 where broadcast);
    None means weights of 1."""
    op = a.op
    if a.kind == "torch":
        import torch  # noqa: PLC0415

        if b is None:
            w = torch.ones((), dtype=a.dtype)
        elif isinstance(b, torch.Tensor):
            if b.device.type != "cpu":
                raise TypeError(f"{op}: smx runs on the CPU; b is on device '{b.device}'")
            if b.dtype != a.dtype and b.dtype.is_floating_point:
                raise TypeError(f"{op}: b has dtype {b.dtype} but x is {a.dtype}; they must match")
            w = b.detach().to(a.dtype)
        else:
            w = torch.as_tensor(np.asarray(b, dtype=np.float64), dtype=a.dtype)
        try:
            w = w.expand(a.shape)
        except RuntimeError:
            raise ValueError(f"{op}: b has shape {tuple(w.shape)}, which does not broadcast to "
                             f"x's shape {a.shape}") from None
        return w
    if b is None:
        w = np.ones((), dtype=a.dtype)
    else:
        if _array._is_torch(b):
            raise TypeError(f"{op}: b is a torch.Tensor but x is not; pass both from one framework")
        if hasattr(b, "__dlpack__") and not isinstance(b, np.ndarray):
            b = np.from_dlpack(b) if not _array._is_jax(b) else np.asarray(b)
        if isinstance(b, np.ndarray) and b.dtype.kind == "f" and b.dtype != a.dtype:
            raise TypeError(f"{op}: b has dtype {b.dtype} but x is {a.dtype}; they must match")
        w = np.asarray(b, dtype=a.dtype)
    if any(s < 0 for s in w.strides):
        w = np.ascontiguousarray(w)
    try:
        w = np.broadcast_to(w, a.shape)
    except ValueError:
        raise ValueError(f"{op}: b has shape {w.shape}, which does not broadcast to x's shape "
                         f"{() if a.scalar else a.shape}") from None
    return w.view(np.uint16) if a.dtype_override else w


def _elementwise(name: str, kernel: Any, x: Any, out: Any) -> Any:
    """sigmoid, log_sigmoid, softplus: the output has x's shape; checks, output, kernel call."""
    a = _array.Input(x, name)
    y = a.output(a.shape, out)
    kernel(a.array, y.array, a.dtype_override)
    return y.result


def sigmoid(x: Any, *, out: Any = None) -> Any:
    """``1 / (1 + exp(-x))`` elementwise: the 2-class softmax, ``softmax([x, 0])[0]``.

    Within 4 ULP (f32) / 8 ULP (f64) over the whole range; sigmoid(inf) = 1, sigmoid(-inf) = 0,
    NaN gives NaN. ``out`` (same shape and dtype, may be ``x`` itself) receives the result.
    """
    return _elementwise("sigmoid", _smx.sigmoid, x, out)


def log_sigmoid(x: Any, *, out: Any = None) -> Any:
    """``log(sigmoid(x)) = -log1p(exp(-x))`` elementwise, in log space.

    Within 4 ULP (f32) / 8 ULP (f64): log_sigmoid(-100) is -100 (not -inf) and log_sigmoid(40)
    the tiny negative -exp(-40) (not 0); log_sigmoid(inf) = 0, log_sigmoid(-inf) = -inf.
    """
    return _elementwise("log_sigmoid", _smx.log_sigmoid, x, out)


def softplus(x: Any, *, out: Any = None) -> Any:
    """``log1p(exp(x))`` elementwise, without overflow: ``logsumexp([x, 0])``.

    Within 4 ULP (f32) / 8 ULP (f64); softplus(inf) = inf, softplus(-inf) = 0.
    """
    return _elementwise("softplus", _smx.softplus, x, out)


def _backward(name: str, kernel: Any, a: Any, b: Any, dim: int, temperature: float,
              out: Any) -> Any:
    """The backward passes and the JVP: two inputs of one shape and dtype, the output of it."""
    x = _array.Input(a, name)
    w = _array.Input(b, name)
    if x.shape != w.shape:
        raise ValueError(f"{name}: the inputs have shapes {x.shape} and {w.shape}; they must match")
    if x.dtype != w.dtype:
        raise TypeError(f"{name}: the inputs have dtypes {x.dtype} and {w.dtype}; they must match")
    d = x.dim(dim)
    t = x.temperature(temperature)
    y = x.output(x.shape, out)
    kernel(x.array, w.array, y.array, d, t, x.dtype_override)
    return y.result


def softmax_backward(grad: Any, y: Any, dim: int = -1, *, temperature: float = 1.0,
                     out: Any = None) -> Any:
    """The gradient wrt the logits from the saved ``y = softmax(z / T)``: ``y * (g - <g, y>) / T``.

    PyTorch's ``_softmax_backward_data``. Relative error ~1e-7 (f32, computed in f64) and ~1e-16
    (f64, compensated). ``out`` may be ``grad`` or ``y`` itself.
    """
    return _backward("softmax_backward", _smx.softmax_backward, grad, y, dim, temperature, out)


def log_softmax_backward(grad: Any, output: Any, dim: int = -1, *, temperature: float = 1.0,
                         out: Any = None) -> Any:
    """The gradient wrt the logits from the saved ``output = log_softmax(z / T)``:
    ``(g - exp(output) * sum(g)) / T`` (PyTorch's ``_log_softmax_backward_data``)."""
    return _backward("log_softmax_backward", _smx.log_softmax_backward, grad, output, dim,
                     temperature, out)


def softmax_jvp(y: Any, v: Any, dim: int = -1, *, temperature: float = 1.0,
                out: Any = None) -> Any:
    """Forward mode: ``J v = y * (v - <v, y>) / T`` for ``y = softmax(z / T)`` (J is symmetric)."""
    return _backward("softmax_jvp", _smx.softmax_jvp, y, v, dim, temperature, out)


def logsumexp_gradient(x: Any, dim: int = -1) -> Any:
    """The gradient of ``logsumexp(x, dim)`` wrt x: ``softmax(x, dim)``, x's shape.

    Its accuracy and special rows are softmax's (NaN or +inf in a row: NaN; all -inf: 0).
    """
    return _same_shape_op("logsumexp_gradient", _smx.softmax, x, dim, 1.0, None)


def logsumexp_hessian(x: Any, dim: int = -1) -> Any:
    """The Hessian of ``logsumexp(x, dim)`` wrt x: ``diag(y) - y y^T`` with ``y = softmax(x)``.

    ``softmax_jacobian(x, dim)`` at temperature 1: x's shape without ``dim``, then ``K, K``.
    """
    a = _array.Input(x, "logsumexp_hessian")
    d = a.dim(dim)
    k = a.shape[d]
    y = a.output(a.shape[:d] + a.shape[d + 1 :] + (k, k))
    _smx.softmax_jacobian(a.array, y.array, d, 1.0, a.dtype_override)
    return y.result


def softmax_jacobian(z: Any, dim: int = -1, *, temperature: float = 1.0) -> Any:
    """``J = (diag(y) - y y^T) / T`` of ``y = softmax(z / T)`` along ``dim``, for every row.

    The result has z's shape without ``dim``, then ``K, K`` (J[i][j] = dy_i / dz_j): symmetric,
    positive semi-definite, rows and columns summing to 0. At T = 1 it is the Hessian of
    logsumexp.
    """
    a = _array.Input(z, "softmax_jacobian")
    d = a.dim(dim)
    t = a.temperature(temperature)
    k = a.shape[d]
    y = a.output(a.shape[:d] + a.shape[d + 1 :] + (k, k))
    _smx.softmax_jacobian(a.array, y.array, d, t, a.dtype_override)
    return y.result


def entropy(z: Any, dim: int = -1, *, temperature: float = 1.0, keepdim: bool = False,
            out: Any = None) -> Any:
    """The entropy of ``softmax(z / T)`` along ``dim`` in nats, straight from the logits.

    ``H = log S + sum_i e_i d_i / S`` with ``d_i = (max - z_i) / T``: two sums of positive terms,
    so a confident row's tiny H keeps its digits ([5, 0, -5]: 0.0407). T = 0 gives log m (m maxima),
    T = inf log n (n finite entries). NaN or +inf in a row gives NaN; a fully masked row 0. The
    result drops ``dim`` (``keepdim=True`` keeps it with size 1).
    """
    a = _array.Input(z, "entropy")
    d = a.dim(dim)
    t = a.temperature(temperature)
    y = a.output(a.reduced_shape(d, bool(keepdim)), out)
    _smx.entropy(a.array, y.array, d, t, a.dtype_override)
    return y.result


def set_num_threads(n: int) -> None:
    """Sets the number of threads smx kernels may use (0: the default, SMX_NUM_THREADS or every
    core). Results are bitwise identical for any thread count."""
    import operator  # noqa: PLC0415

    n = operator.index(n)
    if n < 0:
        raise ValueError(f"set_num_threads: n must be >= 0 (0 is the default), got {n}")
    _smx.set_num_threads(n)


def get_num_threads() -> int:
    """The number of threads smx kernels may use."""
    return _smx.get_num_threads()


def simd_target() -> str:
    """The SIMD target run-time dispatch chose on this CPU: "AVX3", "AVX2", "SSE4", ..."""
    return _smx.simd_target()


def compiled_targets() -> list[str]:
    """Every SIMD target compiled into this build, best first."""
    return list(_smx.compiled_targets())
