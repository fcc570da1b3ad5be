"""Concurrent calls from Python threads (the GIL is released in the kernels) give the results of
sequential calls, bit for bit."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor

import numpy as np

import smx


def _job(i: int):
    rng = np.random.default_rng(i)
    x = rng.normal(0, 4, size=(int(rng.integers(1, 64)), int(rng.integers(1, 3000))))
    x = x.astype(np.float32 if i % 2 else np.float64)
    dim = int(rng.integers(-2, 2))
    t = float(rng.choice([0.0, 0.5, 1.0, 3.0, np.inf]))
    return (smx.softmax(x, dim, temperature=t), smx.log_softmax(x, dim, temperature=t),
            smx.logsumexp(x, dim), smx.softmax(x.T, 0))


def test_concurrent_calls_match_sequential():
    jobs = list(range(48))
    sequential = [_job(i) for i in jobs]
    with ThreadPoolExecutor(max_workers=8) as pool:
        concurrent = list(pool.map(_job, jobs))
    for i, (a, b) in enumerate(zip(sequential, concurrent)):
        for u, v in zip(a, b):
            assert u.tobytes() == v.tobytes(), f"job {i} differs"


def test_large_outputs_from_threads():
    x = np.random.default_rng(9).normal(size=(128, 16384)).astype(np.float32)  # 8 MiB outputs
    want = smx.softmax(x)
    with ThreadPoolExecutor(max_workers=4) as pool:
        outs = list(pool.map(lambda _: smx.softmax(x), range(12)))
    for y in outs:
        assert y.tobytes() == want.tobytes()
