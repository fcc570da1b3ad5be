"""The softmax calculus through the Python API: the golden softmax_jacobian, softmax_vjp and
log_softmax_vjp cases (FORMAT.md's relative rule), PyTorch's autograd where torch is installed,
the Jacobian's shape and properties, out= and in place, and the errors."""

from __future__ import annotations

import numpy as np
import pytest

import smx
from conftest import assert_rel, golden_cases, golden_number, golden_tensor

OPS = ("softmax_jacobian", "softmax_vjp", "log_softmax_vjp", "entropy")


CASES = golden_cases(OPS)


def test_golden_file_has_calculus_cases():
    assert {c["op"] for c in CASES} == set(OPS)


@pytest.mark.parametrize("case", CASES, ids=[c["id"] for c in CASES])
def test_golden(case):
    dtype = np.float32 if case["dtype"] == "f32" else np.float64
    z = golden_tensor(case["inputs"]["z"], dtype)
    if case["op"] == "entropy":
        got = smx.entropy(z, temperature=golden_number(case["params"]["T"]))
        want = golden_tensor(case["expected"]["out"], np.float64)
    elif case["op"] == "softmax_jacobian":
        got = smx.softmax_jacobian(z)
        want = golden_tensor(case["expected"]["J"], np.float64)
    else:
        g = golden_tensor(case["inputs"]["g"], dtype)
        want = golden_tensor(case["expected"]["dz"], np.float64)
        if case["op"] == "softmax_vjp":
            got = smx.softmax_backward(g, smx.softmax(z))
        else:
            got = smx.log_softmax_backward(g, smx.log_softmax(z))
    assert got.dtype == dtype
    assert_rel(got, want, case["tol"], case["id"])


def test_against_torch_autograd():
    torch = pytest.importorskip("torch")
    z = torch.randn(4, 7, 9, dtype=torch.float64, requires_grad=True)
    g = torch.randn(4, 7, 9, dtype=torch.float64)
    for fn, back in ((torch.softmax, smx.softmax_backward), (torch.log_softmax, smx.log_softmax_backward)):
        y = fn(z / 0.5, dim=1)
        (want,) = torch.autograd.grad(y, z, g)
        got = back(g, y.detach(), dim=1, temperature=0.5)
        assert torch.allclose(got, want, rtol=1e-13, atol=1e-15)


def test_jacobian_shape_and_properties():
    rng = np.random.default_rng(1)
    z = rng.normal(0, 2, (5, 3))  # rows along dim 0: three columns of 5
    jac = smx.softmax_jacobian(z, dim=0)
    assert jac.shape == (3, 5, 5)
    for c in range(3):
        y = smx.softmax(z[:, c])
        np.testing.assert_allclose(jac[c], np.diag(y) - np.outer(y, y), rtol=1e-14, atol=1e-17)
        np.testing.assert_allclose(jac[c].sum(axis=0), 0, atol=1e-15)
        assert np.all(np.linalg.eigvalsh(jac[c]) > -1e-15)
    v = rng.normal(size=(5, 3))
    jv = smx.softmax_jvp(smx.softmax(z, dim=0), v, dim=0)
    np.testing.assert_allclose(jv, np.einsum("cij,jc->ic", jac, v), rtol=1e-12, atol=1e-15)


def test_entropy_edges_and_keepdim():
    z = np.array([[5.0, 0.0, -5.0], [1.0, np.nan, 2.0], [-np.inf, -np.inf, -np.inf]])
    h = smx.entropy(z)
    assert h.shape == (3,)
    assert abs(h[0] - 0.04067412954243125) < 1e-17
    assert np.isnan(h[1]) and h[2] == 0
    assert smx.entropy(z[:1], keepdim=True).shape == (1, 1)
    assert smx.entropy(np.array([3.0, 3.0, 1.0]), temperature=0) == np.log(2)
    with pytest.raises(ValueError, match="temperature"):
        smx.entropy(z, temperature=-1)


def test_out_and_in_place_and_errors():
    rng = np.random.default_rng(2)
    g = rng.normal(size=(3, 6)).astype(np.float32)
    y = smx.softmax(rng.normal(size=(3, 6)).astype(np.float32))
    want = smx.softmax_backward(g, y)
    assert smx.softmax_backward(g, y, out=g) is g  # in place over grad
    np.testing.assert_array_equal(g, want)
    with pytest.raises(ValueError, match="temperature"):
        smx.softmax_backward(g, y, temperature=0)
    with pytest.raises(ValueError, match="shapes"):
        smx.log_softmax_backward(g, y[:, :5])
    with pytest.raises(TypeError, match="dtypes"):
        smx.softmax_backward(g, y.astype(np.float64))
