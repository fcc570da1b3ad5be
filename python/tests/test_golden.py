"""Every softmax, log_softmax and logsumexp case of the golden file through the Python API,
judged as FORMAT.md says (4 ULP f32 / 8 ULP f64, 1e-37 below the f32 normal range), in three
layouts: as given, transposed (dim=0 of a non-contiguous view) and in place (out=x)."""

from __future__ import annotations

import json

import numpy as np
import pytest

import smx
from conftest import assert_ulp, golden_path

OPS = ("softmax", "log_softmax", "logsumexp")


def _number(v):
    return float(v) if isinstance(v, str) else v  # "inf", "-inf", "nan"


def _load():
    path = golden_path()
    if not path.exists():
        return path, []
    cases = []
    with open(path, encoding="utf-8") as f:
        for line in f:
            if line.strip():
                c = json.loads(line)
                if c["op"] in OPS:
                    cases.append(c)
    return path, cases


PATH, CASES = _load()


def test_golden_file_present():
    assert CASES, f"no golden cases at {PATH} (set SMX_GOLDEN_DIR)"


PARAMS = [
    pytest.param(c, layout, id=f"{c['id']}-{layout}")
    for c in CASES
    for layout in ("direct", "transposed", "in_place")
    if not (layout == "in_place" and c["op"] == "logsumexp")  # no in-place form
]


@pytest.mark.parametrize(("case", "layout"), PARAMS)
def test_golden(case, layout):
    op = case["op"]
    dtype = np.float32 if case["dtype"] == "f32" else np.float64
    z = case["inputs"]["z"]
    x = np.array([_number(v) for v in z["data"]], dtype=np.float64).astype(dtype)
    x = x.reshape(z["shape"])
    want = np.array([_number(v) for v in case["expected"]["out"]["data"]], dtype=np.float64)
    want = want.reshape(case["expected"]["out"]["shape"])
    kwargs = {}
    if op != "logsumexp":
        kwargs["temperature"] = _number(case["params"]["T"])
    fn = getattr(smx, op)
    before = x.copy()
    if layout == "direct":
        got = fn(x, **kwargs)
    elif layout == "transposed":
        xt = np.ascontiguousarray(x.T).T  # same values, column-major: dim 1 has stride `rows`
        got = fn(xt, dim=1, **kwargs)
    else:
        got = fn(x, out=x, **kwargs)
        before = None
    assert got.dtype == dtype and got.shape == want.shape
    if before is not None:
        assert np.array_equal(x, before, equal_nan=True), "the input was modified"
    assert_ulp(got, want, case["tol"]["value"], f"{case['id']} ({layout})")
