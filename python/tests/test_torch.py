"""PyTorch interop: torch in, torch out; bf16, f16, non-contiguous, out=, errors. Skipped when
torch is not installed (it is not part of the CI venv: see docs/python.md)."""

from __future__ import annotations

import numpy as np
import pytest

torch = pytest.importorskip("torch", reason="torch is not installed: torch interop not tested")

import smx  # noqa: E402
from conftest import ULP_TOL, assert_ulp, reference  # noqa: E402

TORCH_DTYPES = [torch.float32, torch.float64, torch.float16, torch.bfloat16]


@pytest.mark.parametrize("dtype", TORCH_DTYPES)
@pytest.mark.parametrize("op", ["softmax", "log_softmax", "logsumexp"])
def test_matches_torch(op, dtype):
    g = torch.Generator().manual_seed(0)
    x = (torch.randn(5, 37, 3, generator=g, dtype=torch.float64) * 3).to(dtype)
    for dim in (-1, 1, 0):
        y = getattr(smx, op)(x, dim)
        assert isinstance(y, torch.Tensor) and y.dtype == dtype
        want = reference(op, x.double().numpy(), dim)
        if dtype in (torch.float32, torch.float64):
            assert_ulp(y.numpy(), want, ULP_TOL[np.dtype(y.numpy().dtype)], f"{op} {dtype} {dim}")
        else:  # computed in f32, rounded once: within one rounding of the 16-bit type
            tol = 2**-8 if dtype == torch.bfloat16 else 2**-11
            ref = torch.from_numpy(want.astype(np.float64))
            torch.testing.assert_close(y.double(), ref, rtol=tol, atol=tol * 2)
        ref_torch = getattr(torch, op)(x.double(), dim).to(dtype)
        torch.testing.assert_close(y, ref_torch, rtol=1e-2, atol=1e-2)


def test_temperature_and_non_contiguous():
    x = torch.randn(40, 30, dtype=torch.float64)
    xt = x.t()  # non-contiguous
    assert not xt.is_contiguous()
    y = smx.softmax(xt, dim=0, temperature=0.25)
    torch.testing.assert_close(y, torch.softmax(xt / 0.25, dim=0), rtol=1e-12, atol=1e-15)
    sliced = torch.randn(8, 64)[:, ::4]
    torch.testing.assert_close(smx.log_softmax(sliced), torch.log_softmax(sliced, -1))


def test_out_and_in_place():
    x = torch.randn(6, 10)
    out = torch.empty(6, 10)
    assert smx.softmax(x, out=out) is out
    torch.testing.assert_close(out, torch.softmax(x, -1))
    y = x.clone()
    smx.log_softmax(y, out=y)
    torch.testing.assert_close(y, torch.log_softmax(x, -1))
    lse = torch.empty(6, 1)
    assert smx.logsumexp(x, 1, keepdim=True, out=lse) is lse
    torch.testing.assert_close(lse, torch.logsumexp(x, 1, keepdim=True))


def test_requires_grad_input_is_read():
    x = torch.randn(3, 4, requires_grad=True)
    y = smx.softmax(x)
    assert not y.requires_grad
    torch.testing.assert_close(y, torch.softmax(x.detach(), -1))


def test_errors():
    with pytest.raises(TypeError, match="int64"):
        smx.softmax(torch.zeros(3, 4, dtype=torch.int64))
    with pytest.raises(TypeError, match="float64"):
        smx.softmax(torch.zeros(3, 4), out=torch.zeros(3, 4, dtype=torch.float64))
    with pytest.raises(TypeError, match="torch.Tensor"):
        smx.softmax(torch.zeros(3, 4), out=np.zeros((3, 4), dtype=np.float32))
    with pytest.raises(ValueError, match=r"\(3, 5\)"):
        smx.softmax(torch.zeros(3, 4), out=torch.zeros(3, 5))
    with pytest.raises(ValueError, match="dim 2"):
        smx.logsumexp(torch.zeros(3, 4), 2)
    with pytest.raises(ValueError, match="overlap"):
        smx.softmax(torch.zeros(3, 4), out=torch.zeros(4).expand(3, 4))


def test_scalar_tensor():
    y = smx.softmax(torch.tensor(2.0))
    assert isinstance(y, torch.Tensor) and y.shape == () and y.item() == 1.0
