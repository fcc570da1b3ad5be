"""Array plumbing shared by every op: frameworks, dtypes, dim, output allocation and ``out=``.

An op is written as::

    def softmax(x, dim=-1, *, temperature=1.0, out=None):
        a = _array.Input(x, "softmax")
        d = a.dim(dim)
        y = a.output(a.shape, out)
        _smx.softmax(a.array, y.array, d, float(temperature), a.dtype_override)
        return y.result

``Input`` accepts NumPy arrays, PyTorch tensors, anything with ``__dlpack__`` (JAX) and, through
``numpy.asarray``, Python lists and scalars (as float64). The output is allocated by the caller's
framework (``numpy.empty`` or huge-page memory for NumPy, ``torch.empty`` for PyTorch) and the
kernel writes into it zero-copy; ``out=`` is checked here, before the kernel runs.
"""

from __future__ import annotations

import math
import operator
from typing import Any, Optional, Sequence, Tuple

import numpy as np

from . import _smx

# NumPy outputs of at least this many bytes come from the huge-page allocator (alloc.cc).
HUGE_PAGE_THRESHOLD = 4 << 20

_NUMPY_DTYPES = {np.dtype(np.float32), np.dtype(np.float64), np.dtype(np.float16)}
_TORCH_DTYPES = ("float32", "float64", "float16", "bfloat16")


def _bf16_numpy_dtype() -> Optional[np.dtype]:
    """ml_dtypes.bfloat16 when ml_dtypes is importable (optional), else None."""
    try:
        import ml_dtypes  # noqa: PLC0415
    except ImportError:
        return None
    return np.dtype(ml_dtypes.bfloat16)


_BF16 = _bf16_numpy_dtype()


def _is_torch(x: Any) -> bool:
    return type(x).__module__.startswith("torch") and hasattr(x, "data_ptr")


def _is_jax(x: Any) -> bool:
    return type(x).__module__.startswith(("jax", "jaxlib"))


def _dtype_name(dtype: Any) -> str:
    return str(dtype).replace("torch.", "")


class Output:
    """An output buffer: ``array`` is what the kernel writes, ``result`` what the op returns.

    ``result`` is read after the kernel has run: for a framework whose arrays smx cannot write
    (JAX arrays are immutable) it is then converted, a copy of the finished NumPy output.
    """

    __slots__ = ("array", "_value", "_finish")

    def __init__(self, array: Any, value: Any, finish: Any = None):
        self.array = array
        self._value = value
        self._finish = finish

    @property
    def result(self) -> Any:
        return self._finish(self._value) if self._finish is not None else self._value


def same_dtype(a: "Input", x: Any, name: str, reference: str) -> "Input":
    """Another input of ``a``'s op that must have ``a``'s dtype (``reference`` names ``a`` in the
    message); lists and tuples are converted to it, as a tensor or array already has its own."""
    if isinstance(x, (list, tuple)):
        name_of_dtype = str(a.dtype).replace("torch.", "")
        if name_of_dtype in ("float32", "float64", "float16"):
            x = np.asarray(x, dtype=np.dtype(name_of_dtype))
    b = Input(x, a.op)
    if b.dtype != a.dtype:
        raise TypeError(f"{a.op}: {name} has dtype {b.dtype} but {reference} {a.dtype}")
    return b


class Input:
    """One validated input array of op ``op``.

    Attributes: ``array`` (what the kernel reads), ``kind`` ("numpy" or "torch"),
    ``shape`` (tuple), ``dtype`` (the framework's dtype object), ``dtype_override`` ("bf16" for an
    ml_dtypes bfloat16 NumPy array passed as its uint16 bits, else None) and ``scalar`` (the input
    was 0-d and is computed as shape (1,)).
    """

    __slots__ = ("op", "array", "kind", "shape", "dtype", "dtype_override", "scalar", "_finish")

    def __init__(self, x: Any, op: str):
        self.op = op
        self.dtype_override = None
        self._finish = None  # converts a fresh NumPy result back to the caller's framework
        if isinstance(x, np.ndarray):
            self.kind = "numpy"
            arr = x
        elif _is_torch(x):
            self.kind = "torch"
            if x.device.type != "cpu":
                raise TypeError(f"{op}: smx runs on the CPU; got a tensor on device '{x.device}'")
            if _dtype_name(x.dtype) not in _TORCH_DTYPES:
                raise TypeError(
                    f"{op}: unsupported dtype {x.dtype}; smx computes float32, float64, "
                    "float16 and bfloat16"
                )
            arr = x.detach()
        elif _is_jax(x):
            # JAX: read zero-copy as NumPy (its bfloat16 is ml_dtypes'); JAX arrays are immutable,
            # so a fresh result is computed into NumPy and handed back as a JAX array.
            self.kind = "numpy"
            arr = np.asarray(x)
            import jax.numpy as jnp  # noqa: PLC0415

            self._finish = jnp.asarray
        elif hasattr(x, "__dlpack__"):
            # Other DLPack producers: read zero-copy through numpy.from_dlpack; the result is a
            # NumPy array.
            self.kind = "numpy"
            try:
                arr = np.from_dlpack(x)
            except (TypeError, ValueError, RuntimeError, BufferError) as e:
                raise TypeError(
                    f"{op}: cannot read a {type(x).__name__} through DLPack on the CPU: {e}"
                ) from None
        else:
            # Lists, scalars, NumPy scalars: float arrays keep their dtype, the rest is float64.
            self.kind = "numpy"
            arr = np.asarray(x)
            if arr.dtype.kind in "biu" or (arr.dtype.kind == "f" and arr.dtype not in _NUMPY_DTYPES):
                arr = arr.astype(np.float64)
        if self.kind == "numpy":
            if arr.dtype not in _NUMPY_DTYPES and (_BF16 is None or arr.dtype != _BF16):
                raise TypeError(
                    f"{op}: unsupported dtype {arr.dtype}; smx computes float32, float64, "
                    "float16 and bfloat16 (ml_dtypes.bfloat16 for NumPy)"
                )
            if any(s < 0 for s in arr.strides):
                # Negative strides (x[::-1]) are computed from a contiguous copy.
                arr = np.ascontiguousarray(arr)
            self.dtype = arr.dtype
            if _BF16 is not None and arr.dtype == _BF16:
                self.dtype_override = "bf16"
                arr = arr.view(np.uint16)
        else:
            self.dtype = arr.dtype
        self.shape = tuple(int(s) for s in arr.shape)
        self.scalar = len(self.shape) == 0
        if self.scalar:
            arr = arr.reshape(1)
            self.shape = (1,)
        self.array = arr

    # -- arguments ---------------------------------------------------------------------------

    def dim(self, dim: Any) -> int:
        """``dim`` as a non-negative axis; TypeError if not an integer, ValueError if out of range."""
        try:
            d = operator.index(dim)
        except TypeError:
            raise TypeError(
                f"{self.op}: dim must be an integer, got {dim!r} ({type(dim).__name__})"
            ) from None
        rank = 0 if self.scalar else len(self.shape)
        lo, hi = (-1, 0) if rank == 0 else (-rank, rank - 1)
        if not lo <= d <= hi:
            raise ValueError(
                f"{self.op}: dim {d} is out of range for a tensor of rank {rank} "
                f"(expected {lo} to {hi})"
            )
        return d % len(self.shape)

    def temperature(self, temperature: Any) -> float:
        """``temperature`` as a float >= 0 (0: hardmax, inf: uniform); ValueError otherwise."""
        try:
            t = float(temperature)
        except (TypeError, ValueError):
            raise TypeError(
                f"{self.op}: temperature must be a real number, got {temperature!r}"
            ) from None
        if math.isnan(t) or t < 0:
            raise ValueError(
                f"{self.op}: temperature must be >= 0 (0 is the argmax limit, inf the uniform "
                f"one), got {temperature!r}"
            )
        return t

    def reduced_shape(self, dim: int, keepdim: bool) -> Tuple[int, ...]:
        """The shape of a reduction over axis ``dim`` (``dim`` already normalised)."""
        if self.scalar:
            return (1,) if keepdim else ()
        if keepdim:
            return self.shape[:dim] + (1,) + self.shape[dim + 1 :]
        return self.shape[:dim] + self.shape[dim + 1 :]

    # -- outputs -----------------------------------------------------------------------------

    def output(self, shape: Sequence[int], out: Any = None) -> Output:
        """A fresh output of ``shape`` in the input's framework, or the checked ``out``."""
        shape = tuple(shape)
        logical = () if (self.scalar and shape == (1,)) else shape
        if out is not None:
            return self._check_out(out, logical, shape)
        if self.kind == "torch":
            import torch  # noqa: PLC0415  (torch is imported only when the caller uses it)

            y = torch.empty(shape, dtype=self.dtype, device="cpu")
            return Output(y, y.reshape(logical) if logical != shape else y)
        y = _empty_numpy(shape, self.dtype)
        kernel_view = y.view(np.uint16) if self.dtype_override else y
        result: Any = y.reshape(logical) if logical != shape else y
        return Output(kernel_view, result, self._finish)

    def _check_out(self, out: Any, logical: Tuple[int, ...], shape: Tuple[int, ...]) -> Output:
        op = self.op
        if self.kind == "torch":
            if not _is_torch(out):
                raise TypeError(f"{op}: out must be a torch.Tensor for a torch input, got "
                                f"{type(out).__name__}")
            if out.device.type != "cpu":
                raise TypeError(f"{op}: out is on device '{out.device}'; smx runs on the CPU")
            if out.requires_grad:
                raise ValueError(f"{op}: out requires grad; smx does not record autograd")
            strides = tuple(out.stride())
            arr = out
        elif isinstance(out, np.ndarray):
            if not out.flags.writeable:
                raise ValueError(f"{op}: out is read-only")
            item = out.dtype.itemsize
            strides = tuple(s // item if s % item == 0 else s / item for s in out.strides)
            arr = out
        else:
            raise TypeError(
                f"{op}: out must be a numpy.ndarray (or a torch.Tensor for a torch input), got "
                f"{type(out).__name__}"
            )
        if out.dtype != self.dtype:
            raise TypeError(f"{op}: out has dtype {out.dtype} but the input is {self.dtype}")
        out_shape = tuple(int(s) for s in out.shape)
        if out_shape != logical:
            raise ValueError(f"{op}: out has shape {out_shape}, expected {logical}")
        # Any strides work except overlapping ones (a broadcast or stride-0 view, negative steps):
        # two output elements in one place would make the result depend on thread timing.
        for size, stride in zip(out_shape, strides):
            if size > 1 and (not isinstance(stride, int) or stride <= 0):
                raise ValueError(
                    f"{op}: out must not overlap itself and needs positive strides; got strides "
                    f"{strides} (in elements) for shape {out_shape}"
                )
        if logical != shape:
            arr = arr.reshape(shape)
        if self.dtype_override:
            arr = arr.view(np.uint16)
        return Output(arr, out)


def _empty_numpy(shape: Tuple[int, ...], dtype: np.dtype) -> np.ndarray:
    nbytes = dtype.itemsize * math.prod(shape)
    if nbytes < HUGE_PAGE_THRESHOLD:
        return np.empty(shape, dtype=dtype)
    if dtype.itemsize == 2 and dtype.kind != "f":  # ml_dtypes bfloat16
        return _smx.empty_numpy(list(shape), "uint16").view(dtype)
    return _smx.empty_numpy(list(shape), dtype.name)

