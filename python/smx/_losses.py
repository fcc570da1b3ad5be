"""The losses: cross_entropy (class indices or probabilities) and kl_div_distill.

Argument checks and output allocation; the kernels are in smx._smx (python/src/losses_ext.cc).
"""

from __future__ import annotations

import math
import operator
from typing import Any, Optional, Tuple

import numpy as np

from . import _array, _smx

_REDUCTIONS = ("none", "sum", "mean")


def _is_floating(x: Any) -> bool:
    if _array._is_torch(x):
        return bool(x.is_floating_point())
    dtype = getattr(x, "dtype", None)
    if dtype is None:
        dtype = np.asarray(x).dtype
    try:
        return np.dtype(dtype).kind == "f" or str(dtype) == "bfloat16"
    except TypeError:
        return str(dtype) == "bfloat16"


def _class_indices(target: Any, shape: Tuple[int, ...], op: str) -> np.ndarray:
    """The class indices as a contiguous int64 NumPy array of ``shape`` (a copy when needed)."""
    if _array._is_torch(target):
        if target.device.type != "cpu":
            raise TypeError(f"{op}: smx runs on the CPU; target is on device '{target.device}'")
        target = target.detach().numpy()
    t = np.asarray(target)
    if t.dtype.kind not in "iu":
        raise TypeError(f"{op}: target must hold integer class indices (or floating "
                        f"probabilities), got dtype {t.dtype}")
    t = np.ascontiguousarray(t, dtype=np.int64)
    if tuple(t.shape) != shape:
        raise ValueError(f"{op}: target has shape {tuple(t.shape)}, expected {shape} (the logits' "
                         "shape without the class dim)")
    return t


def _reduction(reduction: Any, op: str) -> str:
    if reduction not in _REDUCTIONS:
        raise ValueError(f"{op}: reduction must be 'none', 'sum' or 'mean', got {reduction!r}")
    return reduction


def _smoothing(label_smoothing: Any, op: str) -> float:
    try:
        eps = float(label_smoothing)
    except (TypeError, ValueError):
        raise TypeError(f"{op}: label_smoothing must be a real number, got {label_smoothing!r}") from None
    if not 0.0 <= eps <= 1.0:
        raise ValueError(f"{op}: label_smoothing must be in [0, 1], got {label_smoothing!r}")
    return eps


def _like(a: _array.Input, x: Any, name: str, shape: Tuple[int, ...]) -> _array.Input:
    """A second input that must have the dtype of ``a`` and ``shape``; lists and tuples take the
    logits' dtype (as a tensor or array already has its own, it must match)."""
    b = _array.same_dtype(a, x, name, "the logits are")
    if b.shape != shape:
        raise ValueError(f"{a.op}: {name} has shape {b.shape}, expected {shape}")
    return b


def _finish(loss: _array.Output, grad: Optional[_array.Output], with_grad: bool) -> Any:
    if not with_grad:
        return loss.result
    return loss.result, grad.result


def cross_entropy(logits: Any, target: Any, weight: Any = None, ignore_index: int = -100,
                  reduction: str = "mean", label_smoothing: float = 0.0, *,
                  return_grad: bool = False, grad_out: Any = None) -> Any:
    """Softmax cross-entropy, PyTorch's ``F.cross_entropy``, fused with its gradient.

    ``logits`` is [N, C] (or [C], or [N, C, d1, ...] with the classes in dim 1). An integer
    ``target`` of the logits' shape without the class dim holds class indices; a floating
    ``target`` of the logits' shape holds probabilities (PyTorch's rule). ``weight`` ([C]) weighs
    the classes, ``ignore_index`` marks targets that add nothing (class indices only),
    ``label_smoothing`` mixes eps/C into every target, and ``reduction`` is 'none' (one loss per
    sample), 'sum' or 'mean' (class indices: divided by the summed weights of the non-ignored
    targets, NaN when every target is ignored, as PyTorch; probabilities: divided by N).

    Returns the loss (a 0-d array of the logits' dtype, or the per-sample losses for 'none'), or
    ``(loss, grad)`` with ``return_grad=True`` or ``grad_out``: the gradient of the loss wrt the
    logits, written into ``grad_out`` when given, which may be ``logits`` itself (in place).

    A confident prediction's loss is exact (1e-7 stays 1e-7; PyTorch f32 returns 0). A target
    outside [0, C) that is not ``ignore_index`` is a ValueError naming the sample and the value.
    """
    op = "cross_entropy"
    a = _array.Input(logits, op)
    if a.scalar:
        raise ValueError(f"{op}: logits must have at least one dimension (the classes), got a scalar")
    dim = 1 if len(a.shape) >= 2 else 0
    classes = a.shape[dim]
    sample_shape = a.shape[:dim] + a.shape[dim + 1:]
    red = _reduction(reduction, op)
    eps = _smoothing(label_smoothing, op)
    w = None
    if weight is not None:
        w = _like(a, weight, "weight", (classes,))
    loss = a.output(sample_shape if red == "none" else (), None)
    with_grad = bool(return_grad) or grad_out is not None
    grad = a.output(a.shape, grad_out) if with_grad else None
    grad_array = grad.array if grad is not None else None
    w_array = w.array if w is not None else None
    if _is_floating(target):
        p = _like(a, target, "target", a.shape)
        _smx.cross_entropy_probs(a.array, p.array, loss.array, grad_array, dim, red, eps, w_array,
                                 a.dtype_override)
    else:
        try:
            ignore = operator.index(ignore_index)
        except TypeError:
            raise TypeError(f"{op}: ignore_index must be an integer, got {ignore_index!r}") from None
        t = _class_indices(target, sample_shape, op)
        _smx.cross_entropy(a.array, t, loss.array, grad_array, dim, red, ignore, eps, w_array,
                           a.dtype_override)
    return _finish(loss, grad, with_grad)


def kl_div_distill(student: Any, teacher: Any, temperature: float = 1.0, *,
                   return_grad: bool = False, grad_out: Any = None) -> Any:
    """The distillation loss of Hinton et al.: ``T^2/N sum_n KL(softmax(t_n/T) || softmax(s_n/T))``.

    PyTorch's ``T**2 * F.kl_div(F.log_softmax(s/T, -1), F.softmax(t/T, -1), reduction='batchmean')``
    for [N, C] logits (the classes are the last dim; N counts every other index). Teacher entries
    of probability 0 give 0 terms, not NaN; a student equal to its teacher gives exactly 0. Returns
    the loss (0-d), or ``(loss, grad)`` with ``return_grad=True`` or ``grad_out`` (which may be the
    student itself): ``(T/N) (softmax(s/T) - softmax(t/T))``.
    """
    op = "kl_div_distill"
    a = _array.Input(student, op)
    if a.scalar:
        raise ValueError(f"{op}: student must have at least one dimension (the classes), got a scalar")
    b = _like(a, teacher, "teacher", a.shape)
    try:
        t = float(temperature)
    except (TypeError, ValueError):
        raise TypeError(f"{op}: temperature must be a real number, got {temperature!r}") from None
    if not (t > 0 and math.isfinite(t)):
        raise ValueError(f"{op}: temperature must be finite and > 0, got {temperature!r}")
    loss = a.output((), None)
    with_grad = bool(return_grad) or grad_out is not None
    grad = a.output(a.shape, grad_out) if with_grad else None
    _smx.kl_div_distill(a.array, b.array, loss.array, grad.array if grad is not None else None,
                        len(a.shape) - 1, t, a.dtype_override)
    return _finish(loss, grad, with_grad)
