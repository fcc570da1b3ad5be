"""Attention through the Python API: the golden attention cases (FORMAT.md's relative rule), a
float64 NumPy reference with every option, the backward pass against central differences and
against PyTorch's autograd where torch is installed, frameworks, dtypes and the errors."""

from __future__ import annotations

import math

import numpy as np
import pytest

import smx
from conftest import assert_rel, golden_cases, golden_number, golden_tensor

CASES = golden_cases(("attention",))


def test_golden_file_has_attention_cases():
    assert len(CASES) >= 3


@pytest.mark.parametrize("case", CASES, ids=[c["id"] for c in CASES])
def test_golden(case):
    dtype = np.float32 if case["dtype"] == "f32" else np.float64
    q, k, v = (golden_tensor(case["inputs"][n], dtype) for n in ("Q", "K", "V"))
    p = case["params"]
    scale = golden_number(p["scale"]) if "scale" in p else None
    out, lse = smx.scaled_dot_product_attention(q, k, v, is_causal=p["causal"], scale=scale,
                                                causal_alignment="lower_right", return_lse=True)
    assert out.dtype == dtype
    assert_rel(out, golden_tensor(case["expected"]["O"], np.float64), case["tol"], case["id"] + " O")
    assert_rel(lse, golden_tensor(case["expected"]["lse"], np.float64), case["tol"],
               case["id"] + " lse")


def reference(q, k, v, mask=None, causal=False, lower_right=False, scale=None, gqa=False,
              softcap=None, sinks=None, slopes=None):
    """Every score materialised in float64: (out, lse)."""
    q, k, v = (np.asarray(x, np.float64) for x in (q, k, v))
    lq, lk, d = q.shape[-2], k.shape[-2], q.shape[-1]
    if gqa:
        rep = q.shape[-3] // k.shape[-3]
        k, v = np.repeat(k, rep, axis=-3), np.repeat(v, rep, axis=-3)
    s = (q @ np.swapaxes(k, -1, -2)) * (1 / math.sqrt(d) if scale is None else scale)
    if softcap is not None:
        s = softcap * np.tanh(s / softcap)
    i, j = np.arange(lq)[:, None], np.arange(lk)[None, :]
    if slopes is not None:
        s = s - np.asarray(slopes, np.float64)[:, None, None] * np.abs(i + lk - lq - j)
    on = np.ones(s.shape, bool)
    if mask is not None and mask.dtype == bool:
        on &= mask
    elif mask is not None:
        on &= mask != -np.inf
        s = s + np.where(mask == -np.inf, 0, mask)
    if causal:
        on &= j <= i + (lk - lq if lower_right else 0)
    s = np.where(on, s, -np.inf)
    if sinks is not None:
        sink = np.broadcast_to(np.asarray(sinks, np.float64)[:, None, None], s.shape[:-1] + (1,))
        s = np.concatenate([s, sink], axis=-1)
    m = s.max(axis=-1, keepdims=True)
    m = np.where(np.isfinite(m), m, 0)
    e = np.exp(s - m)
    total = e.sum(axis=-1, keepdims=True)
    with np.errstate(divide="ignore", invalid="ignore"):
        p = np.where(total > 0, e / total, 0)
        lse = np.where(total[..., 0] > 0, (m + np.log(total))[..., 0], -np.inf)
    if sinks is not None:
        p = p[..., :-1]
    return p @ v, lse


OPTIONS = [
    dict(),
    dict(causal=True),
    dict(causal=True, lower_right=True),
    dict(mask="bool"),
    dict(mask="float"),
    dict(gqa=True, causal=True),
    dict(softcap=2.0, scale=0.7),
    dict(sinks=[0.5, -1.0], slopes=[0.25, 0.125]),
]


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("opts", OPTIONS, ids=lambda o: ",".join(o) or "plain")
def test_against_reference(opts, dtype):
    rng = np.random.default_rng(7)
    hk = 1 if opts.get("gqa") else 2
    q = rng.standard_normal((2, 2, 37, 16)).astype(dtype)
    k = rng.standard_normal((2, hk, 150, 16)).astype(dtype)
    v = rng.standard_normal((2, hk, 150, 8)).astype(dtype)
    mask = None
    if opts.get("mask") == "bool":
        mask = rng.random((37, 150)) < 0.8
    elif opts.get("mask") == "float":
        mask = np.where(rng.random((2, 1, 37, 150)) < 0.2, -np.inf, rng.standard_normal((2, 1, 37, 150))).astype(dtype)
    kwargs = dict(attn_mask=mask, is_causal=opts.get("causal", False), scale=opts.get("scale"),
                  enable_gqa=opts.get("gqa", False),
                  causal_alignment="lower_right" if opts.get("lower_right") else "top_left",
                  softcap=opts.get("softcap"), sinks=opts.get("sinks"),
                  alibi_slopes=opts.get("slopes"))
    out, lse = smx.scaled_dot_product_attention(q, k, v, return_lse=True, **kwargs)
    want_out, want_lse = reference(q, k, v, mask, opts.get("causal", False),
                                   opts.get("lower_right", False), opts.get("scale"),
                                   opts.get("gqa", False), opts.get("softcap"), opts.get("sinks"),
                                   opts.get("slopes"))
    tol = dict(value=1e-12, abs=1e-14) if dtype == np.float64 else dict(value=2e-5, abs=2e-6)
    assert_rel(out, want_out, tol, "out")
    assert_rel(lse, want_lse, tol, "lse")
    # The backward pass against central differences of the float64 forward pass.
    if dtype != np.float64:
        return
    g = rng.standard_normal(out.shape)
    dq, dk, dv = smx.scaled_dot_product_attention_backward(g, q, k, v, out, lse, **kwargs)
    assert dq.shape == q.shape and dk.shape == k.shape and dv.shape == v.shape

    def loss(qq, kk, vv):
        return float((smx.scaled_dot_product_attention(qq, kk, vv, **kwargs) * g).sum())

    h = 1e-6
    for grad, which in ((dq, 0), (dk, 1), (dv, 2)):
        for idx in [(0, 0, 3, 1), (1, grad.shape[1] - 1, 5, 2), (1, 0, 30, 0)]:
            args = [q.copy(), k.copy(), v.copy()]
            args[which][idx] += h
            up = loss(*args)
            args[which][idx] -= 2 * h
            down = loss(*args)
            fd = (up - down) / (2 * h)
            assert abs(grad[idx] - fd) <= 1e-6 * (1 + abs(fd)), (which, idx, grad[idx], fd)


def test_rank_two_and_three_and_fully_masked_rows():
    rng = np.random.default_rng(8)
    q = rng.standard_normal((6, 4))
    k = rng.standard_normal((3, 4))
    v = rng.standard_normal((3, 5))
    out, lse = smx.scaled_dot_product_attention(q, k, v, is_causal=True,
                                                causal_alignment="lower_right", return_lse=True)
    assert out.shape == (6, 5) and lse.shape == (6,)
    assert (out[:3] == 0).all() and (lse[:3] == -np.inf).all()
    out3 = smx.scaled_dot_product_attention(q[None], k[None], v[None])
    assert out3.shape == (1, 6, 5)


def test_poisoned_keys_left_out_do_not_leak():
    rng = np.random.default_rng(9)
    q = rng.standard_normal((1, 3, 8)).astype(np.float32)
    k = rng.standard_normal((1, 10, 8)).astype(np.float32)
    v = rng.standard_normal((1, 10, 8)).astype(np.float32)
    k[0, 9, 0] = np.nan
    v[0, 9, 1] = np.inf
    mask = np.ones((3, 10), bool)
    mask[:, 9] = False
    out = smx.scaled_dot_product_attention(q, k, v, attn_mask=mask)
    want, _ = reference(q, k[:, :9], v[:, :9])
    assert np.isfinite(out).all()
    assert_rel(out, want, dict(value=2e-5, abs=2e-6), "out")


def test_errors_name_the_problem():
    q = np.zeros((2, 3, 4), np.float32)
    k = np.zeros((2, 5, 4), np.float32)
    v = np.zeros((2, 5, 6), np.float32)
    with pytest.raises(ValueError, match="causal_alignment must be 'top_left' or 'lower_right'"):
        smx.scaled_dot_product_attention(q, k, v, causal_alignment="bottom")
    with pytest.raises(TypeError, match="key has dtype float64 but query is float32"):
        smx.scaled_dot_product_attention(q, k.astype(np.float64), v)
    with pytest.raises(ValueError, match="softcap must be finite and > 0"):
        smx.scaled_dot_product_attention(q, k, v, softcap=-1)
    with pytest.raises(ValueError, match=r"must be \[B, H, L, E\]"):
        smx.scaled_dot_product_attention(q[0, 0], k, v)
    with pytest.raises(ValueError, match="set enable_gqa"):
        smx.scaled_dot_product_attention(q, k[:1], v[:1])
    with pytest.raises(ValueError, match="is_causal and attn_mask cannot both"):
        smx.scaled_dot_product_attention(q, k, v, attn_mask=np.ones((3, 5), bool), is_causal=True)
    with pytest.raises(ValueError, match="does not broadcast"):
        smx.scaled_dot_product_attention(q, k, v, attn_mask=np.ones((3, 4), bool))


def test_torch_forward_and_backward():
    torch = pytest.importorskip("torch")
    F = torch.nn.functional
    gen = torch.Generator().manual_seed(5)
    for causal, gqa, mask in ((False, False, None), (True, False, None), (False, True, None),
                              (False, False, "bool"), (False, False, "float")):
        hk = 2 if gqa else 4
        q = torch.randn(2, 4, 33, 16, generator=gen, dtype=torch.float64, requires_grad=True)
        k = torch.randn(2, hk, 40, 16, generator=gen, dtype=torch.float64, requires_grad=True)
        v = torch.randn(2, hk, 40, 24, generator=gen, dtype=torch.float64, requires_grad=True)
        m = None
        if mask == "bool":
            m = torch.rand(33, 40, generator=gen) < 0.8
        elif mask == "float":
            m = torch.randn(2, 1, 33, 40, generator=gen, dtype=torch.float64)
        want = F.scaled_dot_product_attention(q, k, v, attn_mask=m, is_causal=causal,
                                              enable_gqa=gqa)
        g = torch.randn(want.shape, generator=gen, dtype=torch.float64)
        want.backward(g)
        out, lse = smx.scaled_dot_product_attention(q, k, v, attn_mask=m, is_causal=causal,
                                                    enable_gqa=gqa, return_lse=True)
        assert isinstance(out, torch.Tensor) and out.dtype == torch.float64
        np.testing.assert_allclose(out.numpy(), want.detach().numpy(), rtol=1e-12, atol=1e-13)
        dq, dk, dv = smx.scaled_dot_product_attention_backward(g, q, k, v, out, lse, attn_mask=m,
                                                               is_causal=causal, enable_gqa=gqa)
        for got, ref in ((dq, q.grad), (dk, k.grad), (dv, v.grad)):
            np.testing.assert_allclose(got.numpy(), ref.numpy(), rtol=1e-10, atol=1e-12)
    # bf16 tensors in and out, within bf16's rounding of the float32 result.
    q, k, v = (torch.randn(1, 2, 20, 8, generator=gen) for _ in range(3))
    got = smx.scaled_dot_product_attention(q.bfloat16(), k.bfloat16(), v.bfloat16())
    assert got.dtype == torch.bfloat16
    want = F.scaled_dot_product_attention(q.bfloat16().float(), k.bfloat16().float(),
                                          v.bfloat16().float())
    np.testing.assert_allclose(got.float().numpy(), want.numpy(), rtol=2e-2, atol=2e-2)
