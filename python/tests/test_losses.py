"""The losses through the Python API: the golden cross_entropy, cross_entropy_probs and
kl_div_distill cases (FORMAT.md's relative rule), as given and in place; PyTorch's
F.cross_entropy and kl_div where torch is installed; the exact confident loss; return forms,
dtypes, shapes and the errors."""

from __future__ import annotations

import math

import numpy as np
import pytest

import smx
from conftest import assert_rel, golden_cases, golden_number, golden_tensor

OPS = ("cross_entropy", "cross_entropy_probs", "kl_div_distill")
CASES = golden_cases(OPS)


def test_golden_file_has_loss_cases():
    assert {c["op"] for c in CASES} == set(OPS)


def _run_case(case, in_place: bool):
    dtype = np.float32 if case["dtype"] == "f32" else np.float64
    p = case["params"]
    if case["op"] == "kl_div_distill":
        s = golden_tensor(case["inputs"]["student"], dtype)
        t = golden_tensor(case["inputs"]["teacher"], dtype)
        loss, grad = smx.kl_div_distill(s, t, golden_number(p["T"]), return_grad=True,
                                        grad_out=s if in_place else None)
        return loss, grad, case["expected"]["grad_student"]
    z = golden_tensor(case["inputs"]["logits"], dtype)
    weight = np.array(p["weight"], dtype=dtype) if "weight" in p else None
    if case["op"] == "cross_entropy":
        target = np.array(case["inputs"]["target"]["data"], dtype=np.int64)
        kwargs = dict(ignore_index=p["ignore_index"], label_smoothing=p["label_smoothing"])
    else:
        target = golden_tensor(case["inputs"]["target"], dtype)
        kwargs = {}
    loss, grad = smx.cross_entropy(z, target, weight, reduction=p["reduction"], return_grad=True,
                                   grad_out=z if in_place else None, **kwargs)
    if in_place:
        assert grad is z
    return loss, grad, case["expected"]["grad_logits"]


@pytest.mark.parametrize("in_place", [False, True], ids=["out_of_place", "in_place"])
@pytest.mark.parametrize("case", CASES, ids=[c["id"] for c in CASES])
def test_golden(case, in_place):
    loss, grad, want_grad = _run_case(case, in_place)
    dtype = np.float32 if case["dtype"] == "f32" else np.float64
    assert loss.dtype == dtype and grad.dtype == dtype
    assert list(loss.shape) == case["expected"]["loss"]["shape"]
    assert_rel(loss, golden_tensor(case["expected"]["loss"], np.float64), case["tol"], case["id"] + " loss")
    assert_rel(grad, golden_tensor(want_grad, np.float64), case["tol"], case["id"] + " grad")


def test_loss_only_equals_the_fused_loss():
    rng = np.random.default_rng(1)
    z = rng.normal(0, 3, (64, 100)).astype(np.float32)
    t = rng.integers(0, 100, 64)
    alone = smx.cross_entropy(z, t, label_smoothing=0.1)
    fused, _ = smx.cross_entropy(z, t, label_smoothing=0.1, return_grad=True)
    assert alone.shape == () and alone == fused


def test_confident_prediction_is_exact():
    # -log p_t = log1p(e^-16.118 + ...) ~ 1e-7: LSE - z_t would cancel to 0 in f32.
    z = np.array([[3.0, 3.0 - 16.118, -20.0]], dtype=np.float32)
    z64 = z.astype(np.float64)
    rest = math.exp(z64[0, 1] - z64[0, 0]) + math.exp(z64[0, 2] - z64[0, 0])
    want = math.log1p(rest)
    loss, grad = smx.cross_entropy(z, np.array([0]), return_grad=True)
    assert abs(float(loss) - want) <= 1e-6 * want
    assert abs(float(grad[0, 0]) + rest / (1 + rest)) <= 1e-6 * rest


@pytest.mark.parametrize("contiguous", [True, False], ids=["contiguous", "strided"])
def test_targets_inside_the_gradient_buffer_are_read_before_it_is_written(contiguous):
    # The indices live in grad_out's own bytes: the kernel must read a private copy of them.
    rng = np.random.default_rng(5)
    z = rng.normal(0, 2, (16, 8))
    t = rng.integers(0, 8, 16)
    want_loss, want_grad = smx.cross_entropy(z, t, reduction="none", return_grad=True)
    grad = np.zeros((16, 8))
    bits = grad.reshape(-1).view(np.int64)
    shared = bits[:16] if contiguous else bits[::8]
    shared[:] = t
    loss, out = smx.cross_entropy(z, shared, reduction="none", grad_out=grad)
    assert out is grad
    np.testing.assert_array_equal(loss, want_loss)
    np.testing.assert_array_equal(grad, want_grad)


def test_reductions_and_ignore_index():
    z = np.array([[2.0, 1.0, 0.0], [0.0, 0.0, 0.0], [5.0, 0.0, 0.0]])
    t = np.array([0, 2, -100])
    none = smx.cross_entropy(z, t, reduction="none")
    assert none.shape == (3,) and none[2] == 0
    assert math.isclose(float(smx.cross_entropy(z, t, reduction="sum")), none.sum(), rel_tol=1e-15)
    assert math.isclose(float(smx.cross_entropy(z, t)), none.sum() / 2, rel_tol=1e-15)
    # every target ignored under mean: NaN, as PyTorch; the gradient is 0
    loss, grad = smx.cross_entropy(z, np.full(3, -100), return_grad=True)
    assert math.isnan(float(loss)) and not grad.any()


def test_k_dimensional_targets_and_probabilities():
    rng = np.random.default_rng(2)
    z = rng.normal(0, 2, (4, 6, 5))  # classes in dim 1, as PyTorch
    t = rng.integers(0, 6, (4, 5))
    rows = np.moveaxis(z, 1, -1).reshape(-1, 6)
    flat = smx.cross_entropy(rows, t.reshape(-1), reduction="none")
    np.testing.assert_array_equal(smx.cross_entropy(z, t, reduction="none"), flat.reshape(4, 5))
    one_hot = np.eye(6)[t.reshape(-1)]
    # the class-index kernel takes log S on vectors, to 1e-13 relative
    np.testing.assert_allclose(smx.cross_entropy(rows, one_hot, reduction="none"), flat,
                               rtol=1e-13)


def test_torch_cross_entropy_and_kl_div():
    torch = pytest.importorskip("torch")
    F = torch.nn.functional
    gen = torch.Generator().manual_seed(3)
    z = torch.randn(16, 11, dtype=torch.float64, generator=gen) * 3
    t = torch.randint(0, 11, (16,), generator=gen)
    t[3] = -100
    w = torch.rand(11, dtype=torch.float64, generator=gen) + 0.5
    for reduction in ("none", "sum", "mean"):
        for eps in (0.0, 0.2):
            zz = z.clone().requires_grad_(True)
            ref = F.cross_entropy(zz, t, weight=w, reduction=reduction, label_smoothing=eps)
            ref.backward(torch.ones_like(ref))
            loss, grad = smx.cross_entropy(z, t, w, reduction=reduction, label_smoothing=eps,
                                           return_grad=True)
            assert isinstance(loss, torch.Tensor) and isinstance(grad, torch.Tensor)
            torch.testing.assert_close(loss, ref.detach(), rtol=1e-12, atol=1e-14)
            torch.testing.assert_close(grad, zz.grad, rtol=1e-12, atol=1e-14)
    p = torch.softmax(torch.randn(16, 11, dtype=torch.float64, generator=gen), -1)
    zz = z.clone().requires_grad_(True)
    ref = F.cross_entropy(zz, p, reduction="mean", label_smoothing=0.1)
    ref.backward()
    loss, grad = smx.cross_entropy(z, p, label_smoothing=0.1, return_grad=True)
    torch.testing.assert_close(loss, ref.detach(), rtol=1e-12, atol=1e-14)
    torch.testing.assert_close(grad, zz.grad, rtol=1e-12, atol=1e-14)
    s = z.clone().requires_grad_(True)
    teacher = torch.randn(16, 11, dtype=torch.float64, generator=gen)
    T = 2.5
    ref = T * T * F.kl_div(F.log_softmax(s / T, -1), F.softmax(teacher / T, -1),
                           reduction="batchmean")
    ref.backward()
    loss, grad = smx.kl_div_distill(z, teacher, T, return_grad=True)
    torch.testing.assert_close(loss, ref.detach(), rtol=1e-12, atol=1e-14)
    torch.testing.assert_close(grad, s.grad, rtol=1e-12, atol=1e-14)


def test_distill_edges():
    t = np.array([[1.0, -np.inf, 0.5], [0.0, 0.0, 0.0]], dtype=np.float32)
    s = np.array([[0.2, 0.1, 0.3], [1.0, 2.0, 3.0]], dtype=np.float32)
    loss = smx.kl_div_distill(s, t, 2.0)
    assert np.isfinite(loss)  # the masked teacher class gives a 0 term, not NaN
    loss, grad = smx.kl_div_distill(t, t, 2.0, return_grad=True)
    assert loss == 0 and not grad.any()


def test_list_weights_take_the_logits_dtype():
    z = np.array([[2.0, 1.0, 0.0], [0.0, 0.0, 0.0]], dtype=np.float32)
    t = np.array([0, 2])
    want = smx.cross_entropy(z, t, np.array([1.0, 2.0, 3.0], dtype=np.float32))
    got = smx.cross_entropy(z, t, [1.0, 2.0, 3.0])
    assert got.dtype == np.float32 and got == want


def test_errors_name_the_problem():
    z = np.zeros((3, 4), dtype=np.float32)
    with pytest.raises(ValueError, match=r"target\[1\] = 4 is outside \[0, 4\)"):
        smx.cross_entropy(z, np.array([0, 4, 1]))
    with pytest.raises(ValueError, match="target has shape"):
        smx.cross_entropy(z, np.array([0, 1]))
    with pytest.raises(TypeError, match="integer class indices"):
        smx.cross_entropy(z, np.array([True, False, True]))
    with pytest.raises(ValueError, match="reduction must be 'none', 'sum' or 'mean', got 'avg'"):
        smx.cross_entropy(z, np.array([0, 1, 2]), reduction="avg")
    with pytest.raises(ValueError, match=r"label_smoothing must be in \[0, 1\], got 2"):
        smx.cross_entropy(z, np.array([0, 1, 2]), label_smoothing=2)
    with pytest.raises(ValueError, match=r"weight has shape \(3,\), expected \(4,\)"):
        smx.cross_entropy(z, np.array([0, 1, 2]), np.ones(3, dtype=np.float32))
    with pytest.raises(TypeError, match="weight has dtype float64"):
        smx.cross_entropy(z, np.array([0, 1, 2]), np.ones(4))
    with pytest.raises(ValueError, match="temperature must be finite and > 0"):
        smx.kl_div_distill(z, z, 0.0)
    with pytest.raises(ValueError, match="teacher has shape"):
        smx.kl_div_distill(z, z[:2])
    with pytest.raises(ValueError, match="at least one dimension"):
        smx.cross_entropy(np.float32(1.0), 0)
