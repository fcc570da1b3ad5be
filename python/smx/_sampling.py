"""Sampling from logits: sample, top_k_top_p_filter, gumbel_max and gumbel_softmax.

Argument checks, the per-row parameters as one contiguous array each, output allocation; the
kernels are in smx._smx (python/src/sampling_ext.cc). The method and its guarantees are those of
include/smx/sampling.h.
"""

from __future__ import annotations

import operator
from typing import Any, Optional, Tuple

import numpy as np

from . import _array, _smx


def _rows(x: _array.Input) -> int:
    if x.scalar or len(x.shape) not in (1, 2):
        raise ValueError(f"{x.op}: logits must be [batch, V] or [V], got shape "
                         f"{() if x.scalar else x.shape}")
    return 1 if len(x.shape) == 1 else x.shape[0]


def _per_row(op: str, name: str, value: Any, default: Any, dtype: Any, rows: int) -> np.ndarray:
    """``value`` (None: ``default``) as a contiguous 1-d array of one value or one per row."""
    if value is None:
        value = default
    if _array._is_torch(value):
        value = value.detach().cpu().numpy()
    arr = np.asarray(value)
    if arr.ndim == 0:
        arr = arr.reshape(1)
    if arr.ndim != 1 or (arr.shape[0] != rows and arr.shape[0] != 1) or arr.shape[0] == 0:
        raise ValueError(f"{op}: {name} must be one value or one per row ({rows}), got shape "
                         f"{arr.shape}")
    if np.dtype(dtype).kind == "i":
        if arr.dtype.kind not in "iub":
            raise TypeError(f"{op}: {name} must hold integers, got dtype {arr.dtype}")
    elif arr.dtype.kind not in "iubf":
        raise TypeError(f"{op}: {name} must hold real numbers, got dtype {arr.dtype}")
    return np.ascontiguousarray(arr, dtype=dtype)


def _parameters(op: str, rows: int, temperature: Any, top_k: Any, top_p: Any,
                min_p: Any) -> Tuple[np.ndarray, ...]:
    return (_per_row(op, "temperature", temperature, 1.0, np.float64, rows),
            _per_row(op, "top_k", top_k, 0, np.int64, rows),
            _per_row(op, "top_p", top_p, 1.0, np.float64, rows),
            _per_row(op, "min_p", min_p, 0.0, np.float64, rows))


def _unsigned(op: str, name: str, value: Any) -> int:
    try:
        v = operator.index(value)
    except TypeError:
        raise TypeError(f"{op}: {name} must be an integer, got {value!r}") from None
    if not 0 <= v < 2**64:
        raise ValueError(f"{op}: {name} must be in [0, 2^64), got {v}")
    return v


def _stream(op: str, rows: int, seed: Any, step: Any, row_ids: Any) -> Tuple[int, int, Any]:
    """The Philox stream's seed, step and row ids (None, or uint64 with one id per row)."""
    seed = _unsigned(op, "seed", seed)
    step = _unsigned(op, "step", step)
    if row_ids is None:
        return seed, step, None
    ids = _per_row(op, "row_ids", row_ids, 0, np.int64, rows)
    if ids.shape[0] != rows:
        raise ValueError(f"{op}: row_ids must have one id per row ({rows}), got {ids.shape[0]}")
    if (ids < 0).any():
        raise ValueError(f"{op}: row_ids must be >= 0")
    return seed, step, ids.view(np.uint64)


def _real(op: str, name: str, value: Any) -> float:
    try:
        return float(value)
    except (TypeError, ValueError):
        raise TypeError(f"{op}: {name} must be a real number, got {value!r}") from None


def _result(x: _array.Input, values: np.ndarray, one_row: bool) -> Any:
    values = values.reshape(()) if one_row else values
    if x.kind == "torch":
        import torch  # noqa: PLC0415

        return torch.from_numpy(values)
    return values


def sample(logits: Any, *, temperature: Any = 1.0, top_k: Any = None, top_p: Any = None,
           min_p: Any = None, seed: int, step: int = 0, row_ids: Any = None,
           return_logprobs: bool = False) -> Any:
    """Draws one token id per row of ``logits`` ([batch, V], or [V] for one row).

    Temperature (0: greedy, the lowest index among ties), then top-k, then top-p over the
    renormalised top-k survivors (the shortest prefix of the tokens ordered by logit, then index,
    whose mass reaches p, the crossing token included), then min-p (p_i >= min_p * p_max). Each
    parameter is one value or one per row; None (or top_k 0, top_p 1, min_p 0) turns it off.

    The random numbers come from Philox keyed on (seed, row id, step): ``row_ids`` (one per row,
    default the row's index) makes a row's token independent of the rest of the batch. Returns
    the token ids (int64, shape [batch], or a 0-d array for 1-d logits); with
    ``return_logprobs=True`` also their log-probabilities under the filtered distribution and
    under the unfiltered softmax(logits / T) (float64), as (tokens, logprobs, raw_logprobs).
    """
    op = "sample"
    x = _array.Input(logits, op)
    rows = _rows(x)
    temperature, top_k, top_p, min_p = _parameters(op, rows, temperature, top_k, top_p, min_p)
    seed, step, ids = _stream(op, rows, seed, step, row_ids)
    tokens = np.empty(rows, dtype=np.int64)
    logprobs = np.empty(rows, dtype=np.float64) if return_logprobs else None
    raw = np.empty(rows, dtype=np.float64) if return_logprobs else None
    _smx.sample(x.array, tokens, logprobs, raw, temperature, top_k, top_p, min_p, seed, step, ids,
                x.dtype_override)
    one_row = len(x.shape) == 1
    if not return_logprobs:
        return _result(x, tokens, one_row)
    return (_result(x, tokens, one_row), _result(x, logprobs, one_row), _result(x, raw, one_row))


def top_k_top_p_filter(logits: Any, *, top_k: Any = None, top_p: Any = None, min_p: Any = None,
                       temperature: Any = 1.0, output: str = "probs", out: Optional[Any] = None) -> Any:
    """The filtered distribution of ``sample`` itself, for every row of ``logits``.

    ``output="probs"``: softmax(logits / T) renormalised over the surviving tokens, 0 elsewhere;
    ``output="logits"``: logits / T on the survivors and -inf elsewhere (softmax of it is the
    filtered distribution). The result has the logits' shape and dtype; ``out`` may be the logits.
    """
    op = "top_k_top_p_filter"
    x = _array.Input(logits, op)
    rows = _rows(x)
    if output not in ("probs", "logits"):
        raise ValueError(f"{op}: output must be 'probs' or 'logits', got {output!r}")
    temperature, top_k, top_p, min_p = _parameters(op, rows, temperature, top_k, top_p, min_p)
    y = x.output(x.shape, out)
    _smx.top_k_top_p_filter(x.array, y.array, output == "probs", temperature, top_k, top_p, min_p,
                            x.dtype_override)
    return y.result


def gumbel_max(logits: Any, *, temperature: Any = 1.0, seed: int, step: int = 0,
               row_ids: Any = None) -> Any:
    """argmax(logits / T + G) per row, G Gumbel noise from Philox (seed, row id, step): a draw from
    softmax(logits / T) that perturbs every logit (slower than ``sample``; no filters)."""
    op = "gumbel_max"
    x = _array.Input(logits, op)
    rows = _rows(x)
    seed, step, ids = _stream(op, rows, seed, step, row_ids)
    tokens = np.empty(rows, dtype=np.int64)
    _smx.gumbel_max(x.array, tokens, _real(op, "temperature", temperature), seed, step, ids,
                    x.dtype_override)
    return _result(x, tokens, len(x.shape) == 1)


def gumbel_softmax(logits: Any, tau: Any = 1.0, hard: bool = False, *, seed: int, step: int = 0,
                   row_ids: Any = None, out: Optional[Any] = None) -> Any:
    """PyTorch's F.gumbel_softmax along the last axis: softmax((logits + G) / tau), or with
    ``hard=True`` the one-hot of its argmax; G from Philox (seed, row id, step)."""
    op = "gumbel_softmax"
    x = _array.Input(logits, op)
    rows = _rows(x)
    seed, step, ids = _stream(op, rows, seed, step, row_ids)
    y = x.output(x.shape, out)
    _smx.gumbel_softmax(x.array, y.array, _real(op, "tau", tau), bool(hard), seed, step, ids,
                        x.dtype_override)
    return y.result
