"""Attention: scaled_dot_product_attention and its backward pass.

Argument checks and output allocation; the kernels are in smx._smx (python/src/attention_ext.cc).
"""

from __future__ import annotations

import math
from typing import Any, Optional, Tuple

import numpy as np

from . import _array, _smx

_ALIGNMENTS = ("top_left", "lower_right")


def _same_dtype(a: _array.Input, x: Any, name: str) -> _array.Input:
    """Another input of ``a``'s op (the query) that must share its dtype."""
    return _array.same_dtype(a, x, name, "query is")


def _is_bool(x: Any) -> bool:
    if _array._is_torch(x):
        import torch  # noqa: PLC0415

        return x.dtype == torch.bool
    return np.asarray(x).dtype == np.bool_


def _lse_output(q: _array.Input, shape: Tuple[int, ...]) -> Any:
    """lse in the compute type (float64 for float64 inputs, float32 otherwise), q's framework."""
    wide = str(q.dtype).replace("torch.", "") == "float64"
    if q.kind == "torch":
        import torch  # noqa: PLC0415

        return torch.empty(shape, dtype=torch.float64 if wide else torch.float32)
    return np.empty(shape, dtype=np.float64 if wide else np.float32)


def _options(q: _array.Input, attn_mask: Any, is_causal: Any, scale: Any, enable_gqa: Any,
             causal_alignment: Any, softcap: Any, sinks: Any, alibi_slopes: Any) -> Any:
    op = q.op
    args = _smx.AttentionOptionArgs()
    if attn_mask is not None:
        if _is_bool(attn_mask):
            m = attn_mask.detach().numpy() if _array._is_torch(attn_mask) else np.asarray(attn_mask)
            args.mask = m.view(np.uint8)
            args.mask_is_bool = True
        else:
            args.mask = _same_dtype(q, attn_mask, "attn_mask").array
    args.is_causal = bool(is_causal)
    if causal_alignment not in _ALIGNMENTS:
        raise ValueError(f"{op}: causal_alignment must be 'top_left' or 'lower_right', got "
                         f"{causal_alignment!r}")
    args.alignment = causal_alignment
    if scale is not None:
        try:
            args.scale = float(scale)
        except (TypeError, ValueError):
            raise TypeError(f"{op}: scale must be a real number or None, got {scale!r}") from None
    args.enable_gqa = bool(enable_gqa)
    if softcap is not None:
        try:
            cap = float(softcap)
        except (TypeError, ValueError):
            raise TypeError(f"{op}: softcap must be a real number or None, got {softcap!r}") from None
        if not (cap > 0 and math.isfinite(cap)):
            raise ValueError(f"{op}: softcap must be finite and > 0 (None: no cap), got {softcap!r}")
        args.softcap = cap
    if sinks is not None:
        args.sinks = _same_dtype(q, sinks, "sinks").array
    if alibi_slopes is not None:
        args.slopes = _same_dtype(q, alibi_slopes, "alibi_slopes").array
    return args


def _inputs(op: str, query: Any, key: Any, value: Any) -> Tuple[_array.Input, ...]:
    q = _array.Input(query, op)
    k = _same_dtype(q, key, "key")
    v = _same_dtype(q, value, "value")
    for name, x in (("query", q), ("key", k), ("value", v)):
        if not 2 <= len(x.shape) <= 4 or x.scalar:
            raise ValueError(f"{op}: {name} must be [B, H, L, E], [H, L, E] or [L, E], got shape "
                             f"{x.shape}")
    return q, k, v


def scaled_dot_product_attention(query: Any, key: Any, value: Any, attn_mask: Any = None,
                                 is_causal: bool = False, scale: Optional[float] = None,
                                 enable_gqa: bool = False, *, causal_alignment: str = "top_left",
                                 softcap: Optional[float] = None, sinks: Any = None,
                                 alibi_slopes: Any = None, return_lse: bool = False,
                                 out: Any = None) -> Any:
    """softmax(scale q k^T + bias) v with an online softmax: the score matrix is never stored.

    PyTorch's ``F.scaled_dot_product_attention`` for [B, H, L, E] (or [H, L, E], or [L, E])
    arrays or tensors: ``attn_mask`` (bool: True attends; float: added), ``is_causal`` (PyTorch's
    top-left diagonal, or ``causal_alignment='lower_right'``: query i attends keys
    j <= i + Lk - Lq, what a KV-cache decoder needs), ``scale`` (default 1/sqrt(E)),
    ``enable_gqa`` (query head h reads key head h // (H / Hk)). Beyond PyTorch: ``softcap``
    (scores become softcap * tanh(score / softcap)), ``sinks`` ([H]: one more logit per head in
    every row's softmax, with no value) and ``alibi_slopes`` ([H]: score -= slope * |i + Lk - Lq -
    j|).

    A query row with no key left gives 0 (and lse -inf), never NaN; a NaN in a key or value the
    row leaves out does not reach it. Returns the output (query's dtype, [..., Lq, Ev]), or
    ``(out, lse)`` with ``return_lse=True``: lse [..., Lq], float64 for float64 inputs and float32
    otherwise, what the backward pass needs.
    """
    op = "scaled_dot_product_attention"
    q, k, v = _inputs(op, query, key, value)
    args = _options(q, attn_mask, is_causal, scale, enable_gqa, causal_alignment, softcap, sinks,
                    alibi_slopes)
    o = q.output(q.shape[:-1] + (v.shape[-1],), out)
    lse = _lse_output(q, q.shape[:-1]) if return_lse else None
    _smx.scaled_dot_product_attention(q.array, k.array, v.array, o.array, lse, args,
                                      q.dtype_override)
    if return_lse:
        return o.result, lse
    return o.result


def scaled_dot_product_attention_backward(grad_out: Any, query: Any, key: Any, value: Any,
                                          out: Any, lse: Any, attn_mask: Any = None,
                                          is_causal: bool = False, scale: Optional[float] = None,
                                          enable_gqa: bool = False, *,
                                          causal_alignment: str = "top_left",
                                          softcap: Optional[float] = None, sinks: Any = None,
                                          alibi_slopes: Any = None) -> Tuple[Any, Any, Any]:
    """The gradients (dq, dk, dv) of ``scaled_dot_product_attention`` from its ``out`` and
    ``lse`` (``return_lse=True``) and ``grad_out`` = dL/dout; the other arguments are those of the
    forward call. The probabilities are recomputed tile by tile, never stored; with
    ``enable_gqa`` a key head's gradients sum over its query heads. sinks and alibi_slopes get
    no gradient.
    """
    op = "scaled_dot_product_attention_backward"
    q, k, v = _inputs(op, query, key, value)
    g = _same_dtype(q, grad_out, "grad_out")
    o = _same_dtype(q, out, "out")
    l_in = _array.Input(lse, op)
    args = _options(q, attn_mask, is_causal, scale, enable_gqa, causal_alignment, softcap, sinks,
                    alibi_slopes)
    dq, dk, dv = q.output(q.shape), q.output(k.shape), q.output(v.shape)
    _smx.scaled_dot_product_attention_backward(g.array, q.array, k.array, v.array, o.array,
                                               l_in.array, dq.array, dk.array, dv.array, args,
                                               q.dtype_override)
    return dq.result, dk.result, dv.result
