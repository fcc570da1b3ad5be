"""smx.logsumexp with SciPy's weights ``b=`` and ``return_sign=``, and the derivatives of logsumexp
(``smx.logsumexp_gradient``, ``smx.logsumexp_hessian``).

Against ``scipy.special.logsumexp`` (random rows, every dim, keepdim, broadcast b, the special
values), against a ``np.longdouble`` reference where SciPy itself rounds (a weighted sum near 1,
cancelling sums), and the derivatives against central finite differences in ``np.longdouble``.
PyTorch tensors where torch is importable."""

from __future__ import annotations

import math

import numpy as np
import pytest

import smx

scipy_special = pytest.importorskip("scipy.special")

INF, NAN = math.inf, math.nan


def _scipy(x, b, axis, keepdims=False, return_sign=False):
    return scipy_special.logsumexp(np.asarray(x, np.float64), axis=axis,
                                   b=np.asarray(b, np.float64), keepdims=keepdims,
                                   return_sign=return_sign)


def _close(got, want, rtol, atol=0.0, label=""):
    np.testing.assert_allclose(np.asarray(got, np.float64), np.asarray(want, np.float64),
                               rtol=rtol, atol=atol, equal_nan=True, err_msg=label)


def _ld_reference(x, b):
    """log|sum b exp(x)| and its sign per row of 2-d arrays (last axis), in np.longdouble."""
    x = np.asarray(x, np.longdouble)
    b = np.asarray(b, np.longdouble)
    live = b != 0
    m = np.max(np.where(live, x, -np.inf), axis=-1, keepdims=True)
    s = np.sum(np.where(live, b * np.exp(x - m), 0), axis=-1)
    return m[..., 0] + np.log(np.abs(s)), np.sign(s)


RNG = np.random.default_rng(2024)


@pytest.mark.parametrize("dtype,rtol", [(np.float64, 2e-15), (np.float32, 5e-7)])
@pytest.mark.parametrize("shape,dim", [((5, 7), -1), ((5, 7), 0), ((3, 4, 6), 1), ((2, 3, 4), 0),
                                       ((1, 1030), -1), ((9,), 0)])
@pytest.mark.parametrize("keepdim", [False, True])
def test_matches_scipy_random(dtype, rtol, shape, dim, keepdim):
    x = (RNG.standard_normal(shape) * 3).astype(dtype)
    b = RNG.uniform(-0.3, 1.0, shape).astype(dtype)
    res, sgn = smx.logsumexp(x, dim, keepdim=keepdim, b=b, return_sign=True)
    want, want_sign = _scipy(x, b, dim, keepdims=keepdim, return_sign=True)
    assert res.dtype == dtype and res.shape == np.shape(want) and sgn.shape == np.shape(want)
    # SciPy rounds each of max, log1p and log: an absolute error of a few ulps of max |x| too.
    atol = 4 * float(np.finfo(np.float64).eps) * max(1.0, float(np.abs(x).max()))
    _close(res, want, rtol, atol, label="value")
    np.testing.assert_array_equal(sgn, want_sign)
    # Without the sign: NaN where the sum is negative, as SciPy.
    _close(smx.logsumexp(x, dim, keepdim=keepdim, b=b), _scipy(x, b, dim, keepdims=keepdim), rtol,
           atol)
    if dtype == np.float64 and np.finfo(np.longdouble).eps < np.finfo(np.float64).eps / 1000:
        # smx itself: within 4 ulps of the extended-precision reference.
        k = shape[dim]
        ref, ref_sign = _ld_reference(np.moveaxis(x, dim, -1).reshape(-1, k),
                                      np.moveaxis(b, dim, -1).reshape(-1, k))
        got = np.asarray(res, np.longdouble).reshape(-1)
        np.testing.assert_array_equal(np.asarray(sgn).reshape(-1), ref_sign.astype(np.float64))
        ulps = np.abs(got - ref) / np.spacing(np.abs(np.asarray(res).reshape(-1)))
        assert ulps.max() <= 4, ulps
    # Negative weights flip the sign and keep the value.
    res_neg, sgn_neg = smx.logsumexp(x, dim, keepdim=keepdim, b=-b, return_sign=True)
    np.testing.assert_array_equal(res_neg, res)
    np.testing.assert_array_equal(sgn_neg, -sgn)


def test_weights_change_the_result_and_none_is_plain_logsumexp():
    x = RNG.standard_normal((4, 6))
    plain = smx.logsumexp(x)
    np.testing.assert_array_equal(smx.logsumexp(x, b=None), plain)
    ones, sign = smx.logsumexp(x, b=np.ones_like(x), return_sign=True)
    _close(ones, plain, 2e-15)
    np.testing.assert_array_equal(sign, np.ones(4))
    _close(smx.logsumexp(x, b=2.0), plain + math.log(2), 2e-15)
    # return_sign alone (b = 1): the plain result and sign +1.
    res, sign = smx.logsumexp(x, return_sign=True)
    _close(res, plain, 2e-15)
    np.testing.assert_array_equal(sign, np.ones(4))


@pytest.mark.parametrize("b_shape", [(7,), (5, 1), (1, 7), ()])
def test_broadcast_b(b_shape):
    x = RNG.standard_normal((5, 7))
    b = RNG.uniform(0.1, 2.0, b_shape)
    for dim in (0, 1):
        got = smx.logsumexp(x, dim, b=b)
        want = _scipy(x, np.broadcast_to(b, x.shape), dim)
        _close(got, want, 2e-15, label=f"{b_shape} dim {dim}")
    # A list broadcasts too, and takes x's dtype.
    xf = x.astype(np.float32)
    got = smx.logsumexp(xf, b=np.broadcast_to(b, x.shape).astype(np.float32).tolist())
    assert got.dtype == np.float32
    _close(got, _scipy(xf, np.broadcast_to(b, x.shape).astype(np.float32), -1), 5e-7)


def test_scipy_example_and_negative_sum():
    res, sgn = smx.logsumexp([1.0, 2.0], b=[1, -1], return_sign=True)
    assert res == pytest.approx(1.5413248546129181, rel=1e-15) and sgn == -1.0
    assert np.isnan(smx.logsumexp([1.0, 2.0], b=[1, -1]))


# (x, b, value, sign): SciPy 1.17's results, checked there.
SPECIAL = [
    ([INF, 1], [0, 1], 1.0, 1.0),
    ([NAN, 1], [0, 1], 1.0, 1.0),
    ([-INF, 2], [1, 0], -INF, 0.0),
    ([1, 2], [0, 0], -INF, 0.0),
    ([-INF, -INF], [1, 1], -INF, 0.0),
    ([1, 1], [1, -1], -INF, 0.0),
    ([INF, 1], [1, 1], INF, 1.0),
    ([INF, 1], [-1, 1], INF, -1.0),
    ([INF, INF], [1, -1], NAN, NAN),
    ([NAN, 1], [1, 1], NAN, NAN),
    ([1, 2], [NAN, 1], NAN, NAN),
    ([1, 2], [INF, 1], INF, 1.0),
    ([1, 2], [-INF, 1], INF, -1.0),
    ([1, 2], [INF, -INF], NAN, NAN),
    ([-INF, 1], [INF, 1], NAN, NAN),
    ([0.25, 0.25, -3], [2.5, -2.5, 1], -3.0, 1.0),
]


@pytest.mark.parametrize("x,b,value,sign", SPECIAL)
@pytest.mark.parametrize("dtype", [np.float64, np.float32])
def test_special_values_as_scipy(x, b, value, sign, dtype):
    want_value, want_sign = _scipy(x, b, -1, return_sign=True)
    # The table is SciPy's.
    _close(want_value, value, 1e-15)
    _close(want_sign, sign, 0)
    res, sgn = smx.logsumexp(np.array(x, dtype), b=np.array(b, dtype), return_sign=True)
    _close(res, value, 1e-15 if dtype == np.float64 else 2e-7)
    _close(sgn, sign, 0)
    _close(smx.logsumexp(np.array(x, dtype), b=np.array(b, dtype)), value if sign >= 0 else NAN,
           1e-15 if dtype == np.float64 else 2e-7)


def test_documented_differences_from_scipy():
    # A zero weight drops its entry even where another makes the result infinite (SciPy 1.17:
    # NaN, from its fallback's 0 * inf)...
    assert np.isnan(_scipy([INF, INF], [0, 1], -1))
    res, sgn = smx.logsumexp([INF, INF], b=[0, 1], return_sign=True)
    assert res == INF and sgn == 1
    # ...and an empty sum is 0: sign 0 (SciPy 1.17: -1).
    x = np.zeros((3, 0))
    res, sgn = smx.logsumexp(x, 1, b=x, return_sign=True)
    np.testing.assert_array_equal(res, [-INF] * 3)
    np.testing.assert_array_equal(sgn, [0.0] * 3)
    np.testing.assert_array_equal(_scipy(x, x, 1, return_sign=True)[1], [-1.0] * 3)


def test_exact_where_scipy_rounds():
    # A weighted sum near 1: log(1/2 + e^-d / 2) = log1p(expm1(-d) / 2), well conditioned.
    for d in (1e-10, 2.0**-40, 3e-6):
        got = smx.logsumexp([0.0, -d], b=[0.5, 0.5])
        want = math.log1p(math.expm1(-d) / 2)
        assert abs(got - want) <= 4 * np.spacing(abs(want)), (d, got, want)
    # Terms cancelling to 2^-8 of their size: within a few ulps of the long-double reference.
    x = RNG.normal(5, 1, (6, 40))
    b = RNG.uniform(0.5, 1, (6, 40))
    xl = np.asarray(x, np.longdouble)
    part = (np.asarray(b[:, :-1], np.longdouble) * np.exp(xl[:, :-1])).sum(1)
    b[:, -1] = (-part * (1 - 2.0**-8) / np.exp(xl[:, -1])).astype(np.float64)
    want, want_sign = _ld_reference(x, b)
    res, sgn = smx.logsumexp(x, b=b, return_sign=True)
    np.testing.assert_array_equal(sgn, want_sign.astype(np.float64))
    if np.finfo(np.longdouble).eps < np.finfo(np.float64).eps / 1000:  # an extended long double
        err = np.abs(np.asarray(res, np.longdouble) - want) / np.spacing(np.abs(res))
        assert err.max() <= 4, err


@pytest.mark.parametrize("dtype", [np.float16, "bfloat16"])
def test_16_bit(dtype):
    if dtype == "bfloat16":
        ml_dtypes = pytest.importorskip("ml_dtypes")
        dtype = ml_dtypes.bfloat16
    x = RNG.standard_normal((4, 9)).astype(dtype)
    b = RNG.uniform(-0.3, 1, (4, 9)).astype(dtype)
    res, sgn = smx.logsumexp(x, b=b, return_sign=True)
    assert res.dtype == np.dtype(dtype) and sgn.dtype == np.dtype(dtype)
    want, want_sign = _scipy(x.astype(np.float64), b.astype(np.float64), -1, return_sign=True)
    _close(res.astype(np.float64), want, float(np.finfo(dtype).eps))
    np.testing.assert_array_equal(sgn.astype(np.float64), want_sign)


def test_out_keepdim_and_scalar():
    x = RNG.standard_normal((3, 4))
    b = RNG.uniform(0.1, 1, (3, 4))
    out = np.empty((3, 1))
    res, sgn = smx.logsumexp(x, 1, keepdim=True, b=b, return_sign=True, out=out)
    assert res is out and sgn.shape == (3, 1)
    _close(out, _scipy(x, b, 1, keepdims=True), 2e-15)
    # A 0-d x and b: a 0-d result.
    res = smx.logsumexp(np.float64(1.5), b=-2.0, return_sign=True)
    assert np.shape(res[0]) == () and res[0] == pytest.approx(1.5 + math.log(2), rel=1e-15)
    assert res[1] == -1


def test_errors():
    x = np.zeros((3, 4), np.float32)
    with pytest.raises(ValueError, match=r"b has shape \(2, 4\), which does not broadcast to x's "
                                         r"shape \(3, 4\)"):
        smx.logsumexp(x, b=np.ones((2, 4), np.float32))
    with pytest.raises(TypeError, match="b has dtype float64 but x is float32"):
        smx.logsumexp(x, b=np.ones((3, 4)))
    with pytest.raises(ValueError, match="dim 2 is out of range"):
        smx.logsumexp(x, 2, b=np.ones((3, 4), np.float32))


def test_torch():
    torch = pytest.importorskip("torch")
    x = torch.randn(4, 6, dtype=torch.float64)
    b = torch.rand(4, 6, dtype=torch.float64) - 0.2
    res, sgn = smx.logsumexp(x, b=b, return_sign=True)
    assert isinstance(res, torch.Tensor) and isinstance(sgn, torch.Tensor)
    want, want_sign = _scipy(x.numpy(), b.numpy(), -1, return_sign=True)
    _close(res.numpy(), want, 2e-15)
    np.testing.assert_array_equal(sgn.numpy(), want_sign)
    # A broadcast b (expand: stride 0) and a list.
    row = torch.rand(6, dtype=torch.float64)
    want = _scipy(x.numpy(), np.broadcast_to(row.numpy(), (4, 6)), -1)
    _close(smx.logsumexp(x, b=row).numpy(), want, 2e-15)
    _close(smx.logsumexp(x, b=[1.0] * 6).numpy(), smx.logsumexp(x).numpy(), 2e-15)
    with pytest.raises(TypeError, match="b has dtype torch.float32"):
        smx.logsumexp(x, b=b.float())


# ---- The derivatives of logsumexp ----

def _lse_ld(z):
    z = np.asarray(z, np.longdouble)
    m = z.max()
    return m + np.log(np.exp(z - m).sum())


@pytest.mark.parametrize("dtype,gtol,htol", [(np.float64, 1e-10, 1e-7), (np.float32, 5e-7, 3e-7)])
def test_gradient_and_hessian_against_finite_differences(dtype, gtol, htol):
    if np.finfo(np.longdouble).eps >= np.finfo(np.float64).eps:
        pytest.skip("np.longdouble is no wider than float64 here")
    z = RNG.normal(0.5, 1.5, (3, 5)).astype(dtype)
    g = smx.logsumexp_gradient(z)
    h = smx.logsumexp_hessian(z)
    assert g.shape == (3, 5) and h.shape == (3, 5, 5) and g.dtype == dtype and h.dtype == dtype
    hg, hh = np.longdouble(2.0**-17), np.longdouble(2.0**-12)
    for r in range(3):
        row = np.asarray(z[r], np.longdouble)
        for i in range(5):
            e_i = np.zeros(5, np.longdouble)
            e_i[i] = 1
            fd = (_lse_ld(row + hg * e_i) - _lse_ld(row - hg * e_i)) / (2 * hg)
            assert abs(float(fd) - float(g[r, i])) <= gtol * max(1.0, abs(float(fd))), (r, i)
            for j in range(5):
                e_j = np.zeros(5, np.longdouble)
                e_j[j] = 1
                fd2 = (_lse_ld(row + hh * (e_i + e_j)) - _lse_ld(row + hh * (e_i - e_j))
                       - _lse_ld(row - hh * (e_i - e_j))
                       + _lse_ld(row - hh * (e_i + e_j))) / (4 * hh * hh)
                assert abs(float(fd2) - float(h[r, i, j])) <= htol, (r, i, j, float(fd2))


def test_derivatives_along_a_dim_and_names():
    z = RNG.standard_normal((2, 4, 3))
    g = smx.logsumexp_gradient(z, dim=1)
    np.testing.assert_array_equal(g, smx.softmax(z, dim=1))
    h = smx.logsumexp_hessian(z, dim=1)
    assert h.shape == (2, 3, 4, 4)
    y = np.moveaxis(g, 1, -1)
    _close(h, y[..., :, None] * (np.eye(4) - y[..., None, :]), 1e-14, 1e-16)
    with pytest.raises(ValueError, match="logsumexp_hessian: dim 3 is out of range"):
        smx.logsumexp_hessian(z, dim=3)
    with pytest.raises(ValueError, match="logsumexp_gradient: dim -4 is out of range"):
        smx.logsumexp_gradient(z, dim=-4)
