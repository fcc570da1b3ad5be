"""Shared helpers of the smx Python tests: ULP comparison as FORMAT.md defines it, and an
extended-precision (long double) reference of softmax, log_softmax and logsumexp."""

from __future__ import annotations

import os
import pathlib

import numpy as np
import pytest

ULP_TOL = {np.dtype(np.float32): 4, np.dtype(np.float64): 8}
F32_TINY = 2.0**-126


def golden_path() -> pathlib.Path:
    """public.jsonl: $SMX_GOLDEN_DIR, else <repo>/../shared/golden (as the C++ tests)."""
    env = os.environ.get("SMX_GOLDEN_DIR")
    root = pathlib.Path(__file__).resolve().parents[2]
    base = pathlib.Path(env) if env else root.parent / "shared" / "golden"
    return base / "public.jsonl"


def golden_number(v):
    """A number of the golden file: JSON numbers, or the strings "inf", "-inf", "nan"."""
    return float(v) if isinstance(v, str) else v


def golden_tensor(t, dtype) -> np.ndarray:
    """A tensor of a golden case ({"shape", "data"}) as a NumPy array of ``dtype``."""
    data = np.array([golden_number(v) for v in t["data"]], dtype=np.float64)
    return data.astype(dtype).reshape(t["shape"])


def assert_rel(got, want, tol, label: str) -> None:
    """FORMAT.md's relative rule: |got - want| <= max(abs, rel |want|) elementwise; infinities
    must be equal, NaN must be NaN."""
    got = np.asarray(got, dtype=np.float64)
    want = np.asarray(want, dtype=np.float64)
    with np.errstate(invalid="ignore"):
        close = np.abs(got - want) <= np.maximum(tol["abs"], tol["value"] * np.abs(want))
    bad = ~(close | (got == want) | (np.isnan(got) & np.isnan(want)))
    assert not bad.any(), f"{label}: {bad.sum()} of {bad.size} off; first {got[bad][:3]} vs {want[bad][:3]}"


def golden_cases(ops) -> list:
    """The cases of public.jsonl whose op is in ``ops`` (empty when the file is missing)."""
    path = golden_path()
    if not path.exists():
        return []
    import json  # noqa: PLC0415

    with open(path, encoding="utf-8") as f:
        return [c for c in map(json.loads, filter(str.strip, f)) if c["op"] in ops]


def _ordered(a: np.ndarray) -> np.ndarray:
    """Floats mapped to integers monotonic in value, +0 and -0 both to 0 (as int64)."""
    signed = {2: np.int16, 4: np.int32, 8: np.int64}[a.dtype.itemsize]
    bits = a.view(signed).astype(np.int64)
    mag = bits & ((1 << (8 * a.dtype.itemsize - 1)) - 1)
    return np.where(bits < 0, -mag, mag)


def ulp_distance(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """|a - b| in ULP of their dtype (uint64, saturating for opposite signs)."""
    oa, ob = _ordered(a), _ordered(b)
    same = (oa >= 0) == (ob >= 0)
    diff = np.where(same, np.abs(oa - np.where(same, ob, 0)), 0).astype(np.uint64)
    cross = np.abs(oa).astype(np.uint64) + np.abs(ob).astype(np.uint64)
    return np.where(same, diff, cross)


def mismatches(got: np.ndarray, want, ulp: int) -> np.ndarray:
    """Indices of elements of `got` outside `ulp` of `want` (float64 or long double truths),
    FORMAT.md section 2: special values must match, f32 truths below 2^-126 pass within 1e-37."""
    got = np.ascontiguousarray(got).reshape(-1)
    want = np.asarray(want).reshape(-1)
    e = want.astype(got.dtype)  # round to nearest even
    ok = np.zeros(got.shape, dtype=bool)
    nan_e, inf_e = np.isnan(e), np.isinf(e)
    ok |= nan_e & np.isnan(got)
    ok |= inf_e & (got == e)
    finite = ~nan_e & ~inf_e & np.isfinite(got)
    with np.errstate(invalid="ignore"):
        ok |= finite & (ulp_distance(got, e) <= ulp)
        if got.dtype == np.float32:
            ew = e.astype(np.float64)
            ok |= finite & (np.abs(ew) < F32_TINY) & (np.abs(got.astype(np.float64) - ew) <= 1e-37)
    return np.nonzero(~ok)[0]


def assert_ulp(got: np.ndarray, want, ulp: int, label: str = "") -> None:
    bad = mismatches(got, want, ulp)
    if bad.size:
        g = np.ascontiguousarray(got).reshape(-1)
        w = np.asarray(want).reshape(-1)
        lines = [f"[{i}] got {g[i]!r}, want {w[i]!r}" for i in bad[:8]]
        pytest.fail(f"{label}: {bad.size} of {g.size} elements off by more than {ulp} ULP "
                    f"({g.dtype})\n  " + "\n  ".join(lines))


def reference(op: str, x: np.ndarray, dim: int, temperature: float = 1.0) -> np.ndarray:
    """softmax/log_softmax/logsumexp of x (finite rows, 0 < T < inf) in long double, with the
    sum of the non-max terms kept apart so that log_softmax near 0 keeps its relative accuracy."""
    ld = np.longdouble
    z = np.moveaxis(np.asarray(x).astype(ld), dim, -1)
    if op != "logsumexp":
        z = z / ld(temperature)
    m = np.max(z, axis=-1, keepdims=True)
    d = z - m
    e = np.exp(d)
    at_max = d == 0
    rest = np.sum(np.where(at_max, 0, e), axis=-1, keepdims=True)
    count = np.sum(at_max, axis=-1, keepdims=True).astype(ld)
    log_sum = np.log(count) + np.log1p(rest / count)  # log sum_j exp(d_j)
    if op == "softmax":
        out = e / (count + rest)
    elif op == "log_softmax":
        out = d - log_sum
    else:
        return (m + log_sum)[..., 0]
    return np.moveaxis(out, -1, dim)
