"""Arrays that arrive through DLPack: a minimal producer (always tested) and JAX (skipped when JAX
is not installed). The result must hold the computed values, not the output buffer as it was
before the kernel ran."""

from __future__ import annotations

import numpy as np
import pytest

import smx
from conftest import ULP_TOL, assert_ulp, reference


class DLPackOnly:
    """Exposes a NumPy array only through __dlpack__ / __dlpack_device__."""

    def __init__(self, a: np.ndarray):
        self._a = a

    def __dlpack__(self, **kwargs):
        return self._a.__dlpack__(**kwargs)

    def __dlpack_device__(self):
        return self._a.__dlpack_device__()


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("op", ["softmax", "log_softmax", "logsumexp"])
def test_dlpack_producer(op, dtype):
    x = (np.random.default_rng(3).standard_normal((6, 33)) * 3).astype(dtype)
    for dim in (-1, 0):
        y = getattr(smx, op)(DLPackOnly(x), dim)
        assert isinstance(y, np.ndarray) and y.dtype == dtype
        assert_ulp(y, reference(op, x.astype(np.float64), dim), ULP_TOL[np.dtype(dtype)],
                   f"{op} {dtype} dim={dim} through DLPack")


def test_jax():
    jax = pytest.importorskip("jax", reason="JAX is not installed: JAX interop not tested")
    jnp = jax.numpy
    x64 = np.random.default_rng(4).standard_normal((5, 40)) * 3
    for dtype, tol in ((jnp.float32, None), (jnp.float16, 2**-11), (jnp.bfloat16, 2**-8)):
        x = jnp.asarray(x64, dtype=dtype)
        xr = np.asarray(x).astype(np.float64)  # the values JAX holds, widened
        for op in ("softmax", "log_softmax", "logsumexp"):
            for dim in (-1, 0):
                y = getattr(smx, op)(x, dim)
                assert isinstance(y, jax.Array) and y.dtype == dtype, (op, dtype, type(y))
                want = reference(op, xr, dim)
                got = np.asarray(y).astype(np.float64)
                if tol is None:
                    assert_ulp(np.asarray(y), want, ULP_TOL[np.dtype(np.float32)], f"jax {op}")
                else:  # computed in f32, rounded once to the 16-bit type
                    np.testing.assert_allclose(got, want, rtol=tol, atol=tol * 2)
