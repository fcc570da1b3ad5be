"""Special values, empty tensors, 0-d inputs, aliasing out=, non-contiguous views, lists."""

from __future__ import annotations

import numpy as np
import pytest

import smx
from conftest import assert_ulp

NAN, INF = np.nan, np.inf


@pytest.mark.parametrize("dtype", [np.float32, np.float64, np.float16])
def test_special_rows(dtype):
    x = np.array(
        [[1.0, 2.0, 3.0], [1.0, NAN, 3.0], [1.0, INF, 3.0], [-INF, -INF, -INF], [-INF, 0.0, 1.0]],
        dtype=dtype,
    )
    y = smx.softmax(x)
    assert np.all(np.isnan(y[1])) and np.all(np.isnan(y[2]))
    assert np.array_equal(y[3], np.zeros(3)) and y[4][0] == 0 and y[4][1:].sum() > 0.99
    assert abs(float(y[0].sum()) - 1) < 1e-3
    ly = smx.log_softmax(x)
    assert np.all(np.isnan(ly[1])) and np.all(np.isnan(ly[2]))
    assert np.all(ly[3] == -INF) and ly[4][0] == -INF and np.all(np.isfinite(ly[4][1:]))
    lse = smx.logsumexp(x)
    assert np.isnan(lse[1]) and lse[2] == INF and lse[3] == -INF and np.isfinite(lse[4])


def test_empty():
    for shape, dim in [((3, 0), -1), ((0, 5), -1), ((0, 5), 0), ((0,), 0)]:
        x = np.zeros(shape, dtype=np.float32)
        assert smx.softmax(x, dim).shape == shape
        assert smx.log_softmax(x, dim).shape == shape
    lse = smx.logsumexp(np.zeros((3, 0)))
    assert lse.shape == (3,) and np.all(lse == -INF)
    assert smx.logsumexp(np.zeros((0, 4)), 0, keepdim=True).shape == (1, 4)


def test_scalar_and_list_inputs():
    y = smx.softmax([2, 1, 0.5])
    assert y.dtype == np.float64
    np.testing.assert_allclose(y, [0.6285317192117624, 0.23122389762214907, 0.14024438316608848])
    assert float(smx.softmax(3.0)) == 1.0 and smx.softmax(3.0).shape == ()
    assert float(smx.log_softmax(np.float32(-2))) == 0.0
    assert float(smx.logsumexp(np.float32(-2))) == -2.0
    assert smx.logsumexp([[1, 2], [3, 4]], 0).dtype == np.float64


@pytest.mark.parametrize("op", ["softmax", "log_softmax"])
def test_out_aliasing_the_input(op):
    rng = np.random.default_rng(1)
    x = rng.normal(size=(6, 40)).astype(np.float32)
    want = getattr(smx, op)(x)
    y = x.copy()
    assert getattr(smx, op)(y, out=y) is y  # exactly in place
    np.testing.assert_array_equal(y, want)
    # Partial overlap: out is the input shifted by one element; the input is copied first.
    buf = np.zeros(6 * 40 + 1, dtype=np.float32)
    buf[:-1] = x.reshape(-1)
    getattr(smx, op)(buf[:-1].reshape(6, 40), out=buf[1:].reshape(6, 40))
    np.testing.assert_array_equal(buf[1:].reshape(6, 40), want)
    # Results of one op may differ in the last bits between layouts (different kernel paths),
    # each within the contract; the layout tests below allow twice the tolerance between them.
    # Transposed alias: out = x.T written while x is read along the other axis.
    sq = rng.normal(size=(30, 30))
    want_t = getattr(smx, op)(sq, dim=0).T
    getattr(smx, op)(sq, dim=0, out=sq.T)
    assert_ulp(sq.T, want_t.T, 16, "transposed alias")


def test_logsumexp_out_aliasing_the_input():
    x = np.random.default_rng(2).normal(size=(8, 8))
    want = smx.logsumexp(x)
    smx.logsumexp(x, out=x[:, 0])  # the output is the input's first column
    np.testing.assert_array_equal(x[:, 0], want)


def test_non_contiguous_views_and_strided_out():
    rng = np.random.default_rng(4)
    big = rng.normal(size=(20, 30, 40))
    view = big[::2, 3:27:3, ::-2]
    want = smx.softmax(np.ascontiguousarray(view), dim=1, temperature=0.3)
    assert_ulp(smx.softmax(view, dim=1, temperature=0.3), want, 16, "strided input")
    out_buf = np.zeros((10, 8, 40))
    out = out_buf[:, :, ::2]
    assert smx.softmax(view, dim=1, temperature=0.3, out=out) is out
    assert_ulp(out, want, 16, "strided out")
    assert np.all(out_buf[:, :, 1::2] == 0), "wrote outside out"


def test_large_output_allocation():
    x = np.random.default_rng(0).normal(size=(64, 32768)).astype(np.float32)  # 8 MiB
    y = smx.softmax(x)
    assert y.flags.c_contiguous and y.flags.writeable and y.flags.owndata is False
    np.testing.assert_array_equal(y, smx.softmax(x, out=np.empty_like(x)))
    del y
    y2 = smx.log_softmax(x)  # may reuse the cached buffer
    np.testing.assert_array_equal(y2, smx.log_softmax(x, out=np.empty_like(x)))


def test_rank_limit():
    x = np.zeros((1,) * 8 + (3,))
    with pytest.raises(ValueError, match="9 dimensions"):
        smx.softmax(x)
    assert smx.softmax(np.zeros((1,) * 7 + (3,))).shape == (1,) * 7 + (3,)


def test_runtime_info():
    assert smx.__version__.count(".") == 2
    assert smx.simd_target() in smx.compiled_targets()
    old = smx.get_num_threads()
    try:
        smx.set_num_threads(1)
        assert smx.get_num_threads() == 1
        smx.set_num_threads(0)
        assert smx.get_num_threads() >= 1
    finally:
        smx.set_num_threads(old)
