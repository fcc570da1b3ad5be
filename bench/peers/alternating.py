"""Timing for the in-process peer benchmarks (attention.py, sampling.py): several runs measured
in alternating rounds, so that every run sees the same state of the machine."""

from __future__ import annotations

import math
import time

import numpy as np


def timed(runs, rounds: int, min_seconds: float) -> list:
    """Median seconds per call of each run. Each run is warmed up, then repeated enough times to
    last about ``min_seconds`` per round; the order of the runs is reversed every other round."""
    calls = []
    for run in runs:
        run()
        once = time.perf_counter()
        run()
        once = time.perf_counter() - once
        calls.append(max(1, math.ceil(min_seconds / max(once, 1e-9))))
    times = [[] for _ in runs]
    for r in range(rounds):
        order = range(len(runs)) if r % 2 == 0 else reversed(range(len(runs)))
        for k in order:
            start = time.perf_counter()
            for _ in range(calls[k]):
                runs[k]()
            times[k].append((time.perf_counter() - start) / calls[k])
    return [float(np.median(t)) for t in times]
