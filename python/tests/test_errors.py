"""Bad arguments raise TypeError or ValueError naming the bad value; nothing crashes."""

from __future__ import annotations

import numpy as np
import pytest

import smx

X = np.zeros((3, 4), dtype=np.float32)


@pytest.mark.parametrize("op", ["softmax", "log_softmax", "logsumexp"])
@pytest.mark.parametrize("dtype", [np.int32, np.int64, np.bool_, np.complex64, np.uint8])
def test_unsupported_dtype(op, dtype):
    with pytest.raises(TypeError, match=np.dtype(dtype).name):
        getattr(smx, op)(np.zeros((2, 3), dtype=dtype))


@pytest.mark.parametrize("op", ["softmax", "log_softmax", "logsumexp"])
@pytest.mark.parametrize("dim", [2, -3, 100])
def test_bad_dim(op, dim):
    with pytest.raises(ValueError, match=f"dim {dim}"):
        getattr(smx, op)(X, dim)


def test_dim_not_an_integer():
    with pytest.raises(TypeError, match="1.5"):
        smx.softmax(X, 1.5)


@pytest.mark.parametrize("op", ["softmax", "log_softmax"])
@pytest.mark.parametrize("t", [-1.0, -1e-300, float("nan"), float("-inf")])
def test_bad_temperature(op, t):
    with pytest.raises(ValueError, match=repr(t).replace("(", r"\(")):
        getattr(smx, op)(X, temperature=t)


@pytest.mark.parametrize("t", [1e-310, 5e-324, 1e308])
def test_extreme_temperatures_are_computed(t):
    # A T whose reciprocal leaves the double range is an ordinary temperature (softmax.h): computed
    # in long double where that has the range (x86); elsewhere it is a ValueError naming T.
    z = np.array([-1.0, 0.0, 1.0]) * t  # exact: z / T = [-1, 0, 1]
    if np.finfo(np.longdouble).maxexp <= 2048:
        with pytest.raises(ValueError, match="temperature"):
            smx.softmax(z, temperature=t)
        return
    e = np.exp([-1.0, 0.0, 1.0])
    np.testing.assert_allclose(smx.softmax(z, temperature=t), e / e.sum(), rtol=1e-15)
    np.testing.assert_allclose(
        smx.log_softmax(z, temperature=t), np.log(e / e.sum()), rtol=1e-15
    )


def test_out_errors():
    with pytest.raises(TypeError, match="float64"):
        smx.softmax(X, out=np.zeros((3, 4)))
    with pytest.raises(ValueError, match=r"\(4, 3\)"):
        smx.softmax(X, out=np.zeros((4, 3), dtype=np.float32))
    with pytest.raises(ValueError, match=r"expected \(3,\)"):
        smx.logsumexp(X, out=np.zeros((3, 1), dtype=np.float32))
    with pytest.raises(ValueError, match="read-only"):
        ro = np.zeros((3, 4), dtype=np.float32)
        ro.flags.writeable = False
        smx.softmax(X, out=ro)
    with pytest.raises(ValueError, match="overlap"):
        row = np.zeros(4, dtype=np.float32)
        smx.softmax(X, out=np.lib.stride_tricks.as_strided(row, (3, 4), (0, 4)))
    with pytest.raises(TypeError, match="list"):
        smx.softmax(X, out=[0.0] * 12)


def test_read_only_input_is_fine():
    x = np.ones((2, 3), dtype=np.float32)
    x.flags.writeable = False
    np.testing.assert_allclose(smx.softmax(x), np.full((2, 3), 1 / 3), rtol=1e-6)


def test_set_num_threads_negative():
    with pytest.raises(ValueError, match="-2"):
        smx.set_num_threads(-2)
