"""Sampling through the Python API: draws against the exact filtered distribution (chi-square at
a fixed significance over seeded draws), the filter and the log-probabilities against a NumPy
reference, per-row parameters, reproducibility, dtypes, PyTorch's sort-based filter where torch
is installed, and the errors."""

from __future__ import annotations

import math

import numpy as np
import pytest

import smx


def reference(z, temperature=1.0, top_k=0, top_p=1.0, min_p=0.0):
    """The filtered distribution of one row, from the definition (float64, exact order)."""
    z = np.asarray(z, dtype=np.float64)
    order = sorted(range(len(z)), key=lambda i: (-z[i], i))
    out = np.zeros(len(z))
    if temperature == 0:
        out[order[0]] = 1
        return out
    m = z[order[0]]
    w = np.where(np.isfinite(z), 1.0, 0.0) if math.isinf(temperature) else np.exp((z - m) / temperature)
    kept = [i for i in order if z[i] > -np.inf]
    if top_k:
        kept = kept[:top_k]
    if top_p < 1:
        total = sum(w[i] for i in kept)
        run = 0.0
        for r, i in enumerate(kept):
            run += w[i]
            if run >= top_p * total:
                kept = kept[: r + 1]
                break
    kept = [i for i in kept if w[i] >= min_p]
    total = sum(w[i] for i in kept)
    for i in kept:
        out[i] = w[i] / total
    return out


def model_logits(n, seed):
    rng = np.random.default_rng(seed)
    z = rng.normal(0, 1.5, n)
    strong = min(6, n)
    z[rng.choice(n, strong, replace=False)] += np.arange(4, 4 + strong)
    return z.astype(np.float32)


def chi_square(counts, probs):
    """Pearson's statistic (bins under 5 expected pooled) and its 1e-6 critical value."""
    draws = counts.sum()
    stat, bins, pe, po = 0.0, 0, 0.0, 0.0
    for c, p in zip(counts, probs):
        e = p * draws
        if e == 0:
            continue
        if e < 5:
            pe, po = pe + e, po + c
            if pe >= 5:
                stat, bins, pe, po = stat + (po - pe) ** 2 / pe, bins + 1, 0.0, 0.0
        else:
            stat, bins = stat + (c - e) ** 2 / e, bins + 1
    if pe > 0:
        stat, bins = stat + (po - pe) ** 2 / pe, bins + 1
    k = max(1, bins - 1)
    a = 2 / (9 * k)
    return stat, k * (1 - a + 4.753 * math.sqrt(a)) ** 3


@pytest.mark.parametrize("params", [
    dict(),
    dict(temperature=0.7, top_k=20),
    dict(top_p=0.8),
    dict(top_p=0.3, temperature=1.5),
    dict(top_k=50, top_p=0.9, min_p=0.01),
    dict(min_p=0.05),
])
def test_draws_follow_the_filtered_distribution(params):
    z = model_logits(800, 7)
    rows = 500
    batch = np.tile(z, (rows, 1))
    counts = np.zeros(len(z), dtype=np.int64)
    for step in range(60):
        tokens = smx.sample(batch, seed=5, step=step, **params)
        counts += np.bincount(tokens, minlength=len(z))
    want = reference(z, **params)
    assert counts[want == 0].sum() == 0, "a filtered-out token was drawn"
    stat, critical = chi_square(counts, want)
    assert stat < critical, (stat, critical)


@pytest.mark.parametrize("n", [1, 5, 16, 17, 513, 3000])
@pytest.mark.parametrize("params", [
    dict(), dict(top_k=3), dict(top_p=0.5), dict(min_p=0.2), dict(temperature=0.0),
    dict(temperature=2.0, top_k=10, top_p=0.9, min_p=0.001),
])
def test_filter_matches_the_definition(n, params):
    z = model_logits(n, n)
    probs = smx.top_k_top_p_filter(z, **params)
    assert probs.dtype == np.float32 and probs.shape == z.shape
    np.testing.assert_allclose(probs, reference(z, **params), rtol=2e-6, atol=1e-38)
    logits = smx.top_k_top_p_filter(z, output="logits", **params)
    kept = probs > 0
    assert np.all(np.isneginf(logits[~kept]))
    t = params.get("temperature", 1.0)
    if t > 0:
        np.testing.assert_allclose(logits[kept], z[kept] / np.float32(t), rtol=1e-6)


def test_filter_in_place_and_batches():
    z = np.stack([model_logits(300, s) for s in range(4)])
    want = np.stack([reference(r, top_p=0.7) for r in z])
    zz = z.copy()
    out = smx.top_k_top_p_filter(zz, top_p=0.7, out=zz)
    assert out is zz
    np.testing.assert_allclose(zz, want, rtol=2e-6, atol=1e-38)
    # Per-row parameters.
    ks = np.array([1, 2, 0, 10])
    probs = smx.top_k_top_p_filter(z, top_k=ks)
    assert list((probs > 0).sum(axis=1)) == [1, 2, 300, 10]


def test_logprobs():
    z = np.stack([model_logits(1000, s) for s in range(8)])
    for params in (dict(), dict(top_k=5), dict(top_p=0.6), dict(min_p=0.1, temperature=0.8)):
        tokens, lp, raw = smx.sample(z, seed=3, return_logprobs=True, **params)
        assert tokens.dtype == np.int64 and lp.dtype == np.float64 and tokens.shape == (8,)
        t = params.get("temperature", 1.0)
        for r in range(8):
            want = reference(z[r], **params)
            assert want[tokens[r]] > 0
            assert lp[r] == pytest.approx(math.log(want[tokens[r]]), abs=1e-6)
            full = np.exp((z[r].astype(np.float64) - z[r].max()) / t)
            assert raw[r] == pytest.approx(math.log(full[tokens[r]] / full.sum()), abs=1e-6)


def test_greedy_ties_and_per_row_temperature():
    z = np.array([[1, 5, 5, 2], [0, 0, 0, 0], [3, 2, 1, 0]], dtype=np.float32)
    t = smx.sample(z, seed=0, temperature=[0.0, 0.0, 0.0])
    assert list(t) == [1, 0, 0]
    tokens, lp, raw = smx.sample(z[0], seed=9, temperature=0, return_logprobs=True)
    assert tokens.shape == () and int(tokens) == 1 and lp == 0 and raw == pytest.approx(-math.log(2))


def test_reproducible_by_row_id_and_step():
    z = np.stack([model_logits(2000, s) for s in range(16)])
    a = smx.sample(z, seed=11, step=4, top_p=0.9)
    assert np.array_equal(a, smx.sample(z, seed=11, step=4, top_p=0.9))
    order = np.arange(16)[::-1]
    b = smx.sample(z[order], seed=11, step=4, top_p=0.9, row_ids=order)
    assert np.array_equal(b, a[order])
    assert int(smx.sample(z[5], seed=11, step=4, top_p=0.9, row_ids=[5])) == a[5]
    assert not np.array_equal(a, smx.sample(z, seed=11, step=5, top_p=0.9))
    smx.set_num_threads(1)
    try:
        assert np.array_equal(a, smx.sample(z, seed=11, step=4, top_p=0.9))
    finally:
        smx.set_num_threads(0)


def test_dtypes():
    z = model_logits(500, 2)
    z16 = z.astype(np.float16)
    z32 = z16.astype(np.float32)
    assert np.array_equal(smx.sample(np.tile(z16, (4, 1)), seed=1, top_k=40),
                          smx.sample(np.tile(z32, (4, 1)), seed=1, top_k=40))
    p64 = smx.top_k_top_p_filter(z.astype(np.float64), top_p=0.8)
    assert p64.dtype == np.float64
    np.testing.assert_allclose(p64, reference(z, top_p=0.8), rtol=1e-12, atol=1e-300)
    ml = pytest.importorskip("ml_dtypes")
    zb = z.astype(ml.bfloat16)
    assert np.array_equal(smx.sample(np.tile(zb, (3, 1)), seed=2, top_p=0.7),
                          smx.sample(np.tile(zb.astype(np.float32), (3, 1)), seed=2, top_p=0.7))


def test_matches_torch_sort_based_filter():
    torch = pytest.importorskip("torch")
    z = torch.from_numpy(np.stack([model_logits(4000, s) for s in range(4)]))
    k, p = 100, 0.8
    # The way language-model libraries write it: sort, softmax, cumsum, mask.
    values, idx = torch.sort(z, descending=True, stable=True)
    values = values[:, :k]
    idx = idx[:, :k]
    probs = torch.softmax(values, dim=-1)
    remove = torch.cumsum(probs, dim=-1) - probs >= p
    probs = probs.masked_fill(remove, 0)
    probs = probs / probs.sum(-1, keepdim=True)
    want = torch.zeros_like(z).scatter(1, idx, probs)
    got = smx.top_k_top_p_filter(z, top_k=k, top_p=p)
    assert isinstance(got, torch.Tensor)
    torch.testing.assert_close(got, want, rtol=1e-5, atol=1e-7)


def test_errors():
    z = np.zeros((2, 4), dtype=np.float32)
    with pytest.raises(TypeError):
        smx.sample(z)  # seed is required
    with pytest.raises(ValueError, match="temperature"):
        smx.sample(z, seed=0, temperature=-1)
    with pytest.raises(ValueError, match="top_k = -1"):
        smx.sample(z, seed=0, top_k=-1)
    with pytest.raises(ValueError, match=r"top_p\[1\]"):
        smx.sample(z, seed=0, top_p=[0.5, 1.5])
    with pytest.raises(ValueError, match="min_p"):
        smx.sample(z, seed=0, min_p=2)
    with pytest.raises(ValueError, match="one per row"):
        smx.sample(z, seed=0, top_k=[1, 2, 3])
    with pytest.raises(TypeError, match="top_k"):
        smx.sample(z, seed=0, top_k=1.5)
    with pytest.raises(ValueError, match="seed"):
        smx.sample(z, seed=-1)
    with pytest.raises(ValueError, match="step"):
        smx.sample(z, seed=0, step=2**32)
    with pytest.raises(ValueError, match=r"\[batch, V\]"):
        smx.sample(np.zeros((2, 2, 2), np.float32), seed=0)
    bad = z.copy()
    bad[1, 2] = np.nan
    with pytest.raises(ValueError, match="row 1 of the logits holds NaN"):
        smx.sample(bad, seed=0)
    with pytest.raises(ValueError, match="row 0 of the logits has no finite logit"):
        smx.sample(np.full((1, 3), -np.inf, np.float32), seed=0, top_k=2)
    with pytest.raises(ValueError, match="output"):
        smx.top_k_top_p_filter(z, output="ids")


def test_gumbel_max_follows_softmax():
    z = model_logits(60, 4)
    batch = np.tile(z, (500, 1))
    counts = np.zeros(60, dtype=np.int64)
    for step in range(40):
        counts += np.bincount(smx.gumbel_max(batch, temperature=1.3, seed=8, step=step),
                              minlength=60)
    stat, critical = chi_square(counts, reference(z, temperature=1.3))
    assert stat < critical, (stat, critical)
    assert int(smx.gumbel_max(z, temperature=0, seed=1)) == int(np.argmax(z))


def test_gumbel_softmax():
    z = np.stack([model_logits(50, s) for s in range(6)]).astype(np.float64)
    z[0, 3] = -np.inf
    y = smx.gumbel_softmax(z, tau=0.5, seed=3, step=2)
    assert y.shape == z.shape and y.dtype == np.float64
    np.testing.assert_allclose(y.sum(axis=1), 1, rtol=1e-12)
    assert y[0, 3] == 0
    hard = smx.gumbel_softmax(z, tau=0.5, hard=True, seed=3, step=2)
    assert np.array_equal(hard, np.eye(50)[np.argmax(y, axis=1)])
    assert np.array_equal(np.argmax(y, axis=1), smx.gumbel_max(z, temperature=0.5, seed=3, step=2))
    # Row ids, not positions, key the noise.
    order = np.arange(6)[::-1]
    np.testing.assert_array_equal(smx.gumbel_softmax(z[order], tau=0.5, seed=3, step=2,
                                                     row_ids=order), y[order])
    zz = z.copy()
    assert smx.gumbel_softmax(zz, tau=0.5, seed=3, step=2, out=zz) is zz
    np.testing.assert_array_equal(zz, y)
    with pytest.raises(ValueError, match="finite and > 0"):
        smx.gumbel_softmax(z, tau=0, seed=0)
    with pytest.raises(TypeError):
        smx.gumbel_softmax(z)
