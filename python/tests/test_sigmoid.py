"""sigmoid, log_sigmoid and softplus through the Python API: the golden cases (FORMAT.md's ULP
rules), a long-double reference over a wide range, the edges, out= and in place, the 16-bit
types, torch tensors, and the identities with softmax, log_softmax and logsumexp of [x, 0]."""

from __future__ import annotations

import numpy as np
import pytest

import smx
from conftest import assert_ulp, golden_cases, golden_number

OPS = ("sigmoid", "log_sigmoid")


CASES = golden_cases(OPS)


def test_golden_file_has_sigmoid_cases():
    assert {c["op"] for c in CASES} == set(OPS), "no sigmoid cases in the golden file (set SMX_GOLDEN_DIR)"


@pytest.mark.parametrize("case", CASES, ids=[c["id"] for c in CASES])
@pytest.mark.parametrize("in_place", [False, True], ids=["out", "in_place"])
def test_golden(case, in_place):
    dtype = np.float32 if case["dtype"] == "f32" else np.float64
    x_in = case["inputs"]["x"]
    x = np.array([golden_number(v) for v in x_in["data"]], dtype=np.float64).astype(dtype)
    x = x.reshape(x_in["shape"])
    want = np.array([golden_number(v) for v in case["expected"]["out"]["data"]], dtype=np.float64)
    fn = getattr(smx, case["op"])
    got = fn(x, out=x) if in_place else fn(x)
    if in_place:
        assert got is x
    assert got.dtype == dtype and got.shape == x.shape
    assert_ulp(got, want.reshape(x.shape), case["tol"]["value"], case["id"])


def _reference(op: str, x: np.ndarray) -> np.ndarray:
    ld = np.longdouble
    z = x.astype(ld)
    e = np.exp(-np.abs(z))
    with np.errstate(invalid="ignore"):
        if op == "sigmoid":
            r = np.where(z >= 0, 1 / (1 + e), e / (1 + e))
        elif op == "log_sigmoid":
            r = np.minimum(z, 0) - np.log1p(e)
        else:
            r = np.maximum(z, 0) + np.log1p(e)
    return np.where(np.isnan(z), z, r)


@pytest.mark.parametrize("op", ["sigmoid", "log_sigmoid", "softplus"])
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_wide_range(op, dtype):
    rng = np.random.default_rng(3)
    lim = 120 if dtype == np.float32 else 800
    x = np.concatenate([
        rng.uniform(-lim, lim, 5000),
        rng.standard_normal(1000) * 1e-30,
        [0.0, -0.0, np.inf, -np.inf, np.nan, 1e30, -1e30, 40.0, -100.0],
    ]).astype(dtype)
    got = getattr(smx, op)(x)
    assert_ulp(got, _reference(op, x), 4 if dtype == np.float32 else 8, op)


def test_edges():
    x = np.array([-np.inf, -100.0, 0.0, 40.0, np.inf, np.nan])
    s, ls, sp = smx.sigmoid(x), smx.log_sigmoid(x), smx.softplus(x)
    assert s[0] == 0 and s[2] == 0.5 and s[4] == 1 and np.isnan(s[5])
    assert ls[0] == -np.inf and ls[1] == -100.0 and ls[4] == 0 and np.isnan(ls[5])
    assert -1e-17 < ls[3] < 0  # -exp(-40), not 0
    assert sp[0] == 0 and sp[4] == np.inf and np.isnan(sp[5])
    assert smx.log_sigmoid(np.float32(40.0)) < 0  # a 0-d input gives a 0-d result
    assert np.asarray(smx.sigmoid(np.float64(0.0))).shape == ()


def test_two_class_identities():
    rng = np.random.default_rng(5)
    x = np.round(rng.normal(0, 30, 500) * 2**20) / 2**20
    pairs = np.stack([x + 8, np.full_like(x, 8)], axis=1)
    zero_pairs = np.stack([x, np.zeros_like(x)], axis=1)
    assert_ulp(smx.softmax(pairs)[:, 0], smx.sigmoid(x).astype(np.longdouble), 4, "softmax")
    assert_ulp(smx.log_softmax(zero_pairs)[:, 0], smx.log_sigmoid(x).astype(np.longdouble), 4,
               "log_softmax")
    assert_ulp(smx.logsumexp(zero_pairs), smx.softplus(x).astype(np.longdouble), 4, "logsumexp")


def test_layouts_and_16_bit_types():
    rng = np.random.default_rng(7)
    x = rng.normal(0, 10, (6, 5)).astype(np.float32)
    t = x.T  # a non-contiguous view
    assert_ulp(smx.softplus(t), _reference("softplus", t), 4, "transposed")
    h = x.astype(np.float16)
    got = smx.sigmoid(h)
    assert got.dtype == np.float16
    assert_ulp(got, _reference("sigmoid", h), 1, "f16")
    out = np.empty_like(x)
    assert smx.log_sigmoid(x, out=out) is out
    with pytest.raises(ValueError, match="shape"):
        smx.sigmoid(x, out=np.empty((5, 6), np.float32))


def test_torch_tensors():
    torch = pytest.importorskip("torch")
    x = torch.linspace(-50, 50, 101, dtype=torch.float64)
    got = smx.log_sigmoid(x)
    assert isinstance(got, torch.Tensor)
    want = torch.nn.functional.logsigmoid(x)
    assert torch.allclose(got, want, rtol=1e-14, atol=0)
