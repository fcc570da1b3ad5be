"""Random inputs of many shapes, dims, strides and temperatures against SciPy (float64) and a
long-double NumPy reference (conftest.reference), element by element."""

from __future__ import annotations

import numpy as np
import pytest
import scipy.special as sp

import smx
from conftest import ULP_TOL, assert_ulp, reference

TEMPERATURES = (0.1, 0.5, 1.0, 2.0, 10.0)


def _random_view(rng: np.random.Generator, dtype) -> np.ndarray:
    """A random array of rank 1-4, sometimes a strided, transposed or reversed view."""
    rank = int(rng.integers(1, 5))
    shape = tuple(int(rng.integers(1, 9 if rank > 2 else 70)) for _ in range(rank))
    kind = rng.integers(0, 4)
    base = rng.normal(0, 3, size=shape).astype(dtype)
    if kind == 1:  # every other element of a larger buffer
        big = rng.normal(0, 3, size=tuple(2 * s for s in shape)).astype(dtype)
        return big[tuple(slice(None, None, 2) for _ in shape)]
    if kind == 2 and rank > 1:  # transposed
        return np.ascontiguousarray(base.transpose()).transpose()
    if kind == 3:  # reversed along a random axis (negative stride)
        return np.flip(base, axis=int(rng.integers(0, rank)))
    return base


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("op", ["softmax", "log_softmax", "logsumexp"])
def test_random_against_references(op, dtype):
    rng = np.random.default_rng(abs(hash((op, np.dtype(dtype).name))) % 2**32)
    fn = getattr(smx, op)
    for trial in range(60):
        x = _random_view(rng, dtype)
        dim = int(rng.integers(-x.ndim, x.ndim))
        before = x.copy()
        label = f"{op} trial {trial} shape {x.shape} strides {x.strides} dim {dim}"
        if op == "logsumexp":
            keepdim = bool(rng.integers(0, 2))
            got = fn(x, dim, keepdim=keepdim)
            want = reference(op, x, dim)
            scipy_want = sp.logsumexp(x.astype(np.float64), axis=dim, keepdims=keepdim)
            if keepdim:
                want = np.expand_dims(want, dim)
            label += f" keepdim {keepdim}"
        else:
            t = float(rng.choice(TEMPERATURES))
            got = fn(x, dim, temperature=t)
            want = reference(op, x, dim, t)
            z = x.astype(np.float64) / t
            scipy_want = getattr(sp, op)(z, axis=dim)
            label += f" T {t}"
        np.testing.assert_array_equal(x, before, err_msg=label + ": input modified")
        assert got.dtype == x.dtype and got.shape == scipy_want.shape, label
        assert_ulp(got, want, ULP_TOL[np.dtype(dtype)], label)
        # SciPy in float64 is itself off by up to |z/T| ulp; compare at a scale-aware tolerance.
        scale = 1 + np.max(np.abs(x.astype(np.float64))) * (1 if op == "logsumexp" else 1 / t)
        rtol = 1e-6 if dtype == np.float32 else 1e-12
        np.testing.assert_allclose(got, scipy_want, rtol=rtol, atol=rtol * scale, err_msg=label)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_temperature_limits(dtype):
    rng = np.random.default_rng(7)
    x = rng.integers(-3, 4, size=(16, 9)).astype(dtype)  # many ties
    hard = smx.softmax(x, temperature=0)
    is_max = x == x.max(axis=-1, keepdims=True)
    count = is_max.sum(axis=-1, keepdims=True)
    assert_ulp(hard, np.where(is_max, 1.0 / count, 0.0), 1, "T=0 softmax")
    assert_ulp(smx.log_softmax(x, temperature=0), np.where(is_max, -np.log(count), -np.inf), 1,
               "T=0 log_softmax")
    assert_ulp(smx.softmax(x, temperature=np.inf), np.full(x.shape, 1 / 9), 1, "T=inf softmax")
    assert_ulp(smx.log_softmax(x, temperature=float("inf")), np.full(x.shape, -np.log(9)), 1,
               "T=inf log_softmax")


def test_temperature_changes_the_output():
    x = np.array([3.0, 1.0, 0.0])
    outs = [smx.softmax(x, temperature=t) for t in (0.5, 1.0, 2.0)]
    assert not np.allclose(outs[0], outs[1]) and not np.allclose(outs[1], outs[2])
    np.testing.assert_allclose(outs[0], sp.softmax(x / 0.5), rtol=1e-15)


def test_half_types_close_to_f32():
    rng = np.random.default_rng(3)
    x = rng.normal(0, 3, size=(32, 100)).astype(np.float16)
    got = smx.softmax(x, temperature=0.7)
    assert got.dtype == np.float16
    want = reference("softmax", x, -1, 0.7).astype(np.float16)  # rounded once
    assert_ulp(got, want.astype(np.float64), 1, "f16 softmax")
    lse = smx.logsumexp(x, 0)
    assert_ulp(lse, reference("logsumexp", x, 0).astype(np.float16).astype(np.float64), 1, "f16")


def test_bfloat16_numpy_via_ml_dtypes():
    ml_dtypes = pytest.importorskip("ml_dtypes", reason="ml_dtypes (NumPy bfloat16) not installed")
    bf16 = ml_dtypes.bfloat16
    rng = np.random.default_rng(5)
    x = rng.normal(0, 3, size=(8, 50)).astype(bf16)
    got = smx.log_softmax(x)
    assert got.dtype == bf16
    want = reference("log_softmax", x.astype(np.float32), -1).astype(np.float32)
    np.testing.assert_allclose(got.astype(np.float32), want, rtol=2**-8, atol=2**-8)
    out = np.empty_like(x)
    assert smx.log_softmax(x, out=out) is out
    np.testing.assert_array_equal(out.view(np.uint16), got.view(np.uint16))
