"""Accuracy of the peers on the golden cases (shared/golden/public.jsonl, FORMAT.md).

Only the f32 softmax and log_softmax cases are used. Every element is compared with
float32(expected) by ULP distance (FORMAT.md section 2: an element whose truth is below 2^-126
also passes within 1e-37, and counts as 0 ULP then). A peer without a temperature gets z/T
computed in float64 and rounded to float32 as its input; T = 0 (hardmax) is smx's alone, and
empty rows (K = 0) are left out for everyone.
"""

from __future__ import annotations

import json
import math
import os
import warnings
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parents[2]
ULP_LIMIT = 4  # the f32 tolerance of the golden cases
TINY = 2.0**-126
ABS_FLOOR = 1e-37


def golden_path() -> Path:
    """<repo>/../shared/golden/public.jsonl, or $SMX_GOLDEN_DIR/public.jsonl."""
    directory = os.environ.get("SMX_GOLDEN_DIR")
    base = Path(directory) if directory else REPO.parent / "shared" / "golden"
    return base / "public.jsonl"


def _number(value) -> float:
    return float(value) if isinstance(value, str) else value  # "inf", "-inf", "nan"


@dataclass
class Case:
    id: str
    op: str  # "softmax" or "log_softmax"
    temperature: float
    z: np.ndarray  # float32 [rows, K]
    expected: np.ndarray  # float64 [rows, K]

    @property
    def edge(self) -> bool:
        return self.id.startswith("edge-")

    def scaled_input(self) -> np.ndarray:
        """z/T in float64, rounded once to float32: the input of a peer without a temperature."""
        with np.errstate(divide="ignore", invalid="ignore"):
            return (self.z.astype(np.float64) / self.temperature).astype(np.float32)


def load_cases(path: Path | None = None) -> list[Case]:
    """The f32 softmax/log_softmax cases with at least one element."""
    cases = []
    with open(path or golden_path(), encoding="utf-8") as lines:
        for line in lines:
            record = json.loads(line)
            if record["dtype"] != "f32" or record["op"] not in ("softmax", "log_softmax"):
                continue
            z = record["inputs"]["z"]
            out = record["expected"]["out"]
            if not z["data"]:
                continue
            cases.append(
                Case(
                    id=record["id"],
                    op=record["op"],
                    temperature=_number(record["params"]["T"]),
                    z=np.array([_number(v) for v in z["data"]], np.float32).reshape(z["shape"]),
                    expected=np.array([_number(v) for v in out["data"]], np.float64).reshape(
                        out["shape"]
                    ),
                )
            )
    return cases


def ulp_errors(got: np.ndarray, expected: np.ndarray) -> np.ndarray:
    """Per-element ULP distance of float32 `got` from float32(expected); inf where a special
    value (NaN, +-inf) is wrong or a finite value is expected and a non-finite one came."""
    got = np.asarray(got, np.float32).ravel()
    want = expected.astype(np.float32).ravel()

    def ordered(values: np.ndarray) -> np.ndarray:
        bits = values.view(np.int32).astype(np.int64)
        return np.where(bits < 0, -(bits & 0x7FFFFFFF), bits)

    errors = np.abs(ordered(got) - ordered(want)).astype(np.float64)
    with np.errstate(invalid="ignore"):
        tiny = (np.abs(want) < TINY) & (np.abs(got.astype(np.float64) - want) <= ABS_FLOOR)
    errors[tiny] = 0.0
    finite = np.isfinite(want)
    nan = np.isnan(want)
    errors[finite & ~np.isfinite(got)] = math.inf
    errors[nan] = np.where(np.isnan(got[nan]), 0.0, math.inf)
    infinite = ~finite & ~nan
    errors[infinite] = np.where(got[infinite] == want[infinite], 0.0, math.inf)
    return errors


@dataclass
class Summary:
    """One implementation's accuracy on one op."""

    max_ulp: float = 0.0  # over the ordinary cases (not edge-*, T > 0)
    cases: int = 0
    within: int = 0  # ordinary cases with every element within ULP_LIMIT
    edge_cases: int = 0
    edge_ok: int = 0  # edge-* cases with every special value right and the rest within ULP_LIMIT
    errors: list[str] = field(default_factory=list)

    def add(self, case: Case, got) -> None:
        if got is None:
            self.errors.append(case.id)
            worst = math.inf
        else:
            errors = ulp_errors(got, case.expected)
            worst = float(errors.max()) if errors.size else 0.0
        if case.edge:
            self.edge_cases += 1
            self.edge_ok += worst <= ULP_LIMIT
        else:
            self.cases += 1
            self.within += worst <= ULP_LIMIT
            self.max_ulp = max(self.max_ulp, worst)

    def as_dict(self) -> dict:
        return {
            "max_ulp": self.max_ulp if math.isfinite(self.max_ulp) else "inf",
            "cases": self.cases,
            "cases_within_4ulp": self.within,
            "edge_cases": self.edge_cases,
            "edge_ok": self.edge_ok,
            "failed_calls": self.errors[:5],
        }


def applicable(case: Case, takes_temperature: bool) -> bool:
    """Whether an implementation is asked for this case: T = 0 needs a temperature."""
    return takes_temperature or case.temperature != 0


def evaluate(function, op: str, cases: list[Case], takes_temperature: bool = False) -> Summary:
    """Runs function(z_f32, T) (or function(z/T) for a peer without a temperature) per case."""
    summary = Summary()
    for case in cases:
        if case.op != op or not applicable(case, takes_temperature):
            continue
        try:
            with np.errstate(all="ignore"), warnings.catch_warnings():
                warnings.simplefilter("ignore")  # inf - inf and the like: the cases want them
                if takes_temperature:
                    got = function(case.z, case.temperature)
                else:
                    got = function(case.scaled_input())
                got = np.asarray(got, np.float32).reshape(case.expected.shape)
        except Exception:  # noqa: BLE001 - a peer that refuses an input fails that case
            got = None
        summary.add(case, got)
    return summary


def write_cpp_cases(cases: list[Case], path: Path) -> None:
    """The input of `smx_peers_bench --accuracy`: `ID OP T ROWS COLS`, then the values."""
    with open(path, "w", encoding="utf-8") as out:
        for case in cases:
            rows, cols = case.z.shape
            out.write(f"{case.id} {case.op} {case.temperature!r} {rows} {cols}\n")
            out.write(" ".join(repr(float(v)) for v in case.z.ravel()) + "\n")


def summarize_cpp(records: list[dict], cases: list[Case]) -> dict[tuple[str, str], Summary]:
    """Summaries per (impl, op) from the "accuracy" lines of smx_peers_bench."""
    by_id = {case.id: case for case in cases}
    summaries: dict[tuple[str, str], Summary] = {}
    for record in records:
        case = by_id[record["id"]]
        got = np.array([float.fromhex(v) for v in record["out"]], np.float32)
        summaries.setdefault((record["impl"], record["op"]), Summary()).add(case, got)
    return summaries
