"""The Python example of examples/python/ runs and checks its own results."""

from __future__ import annotations

import pathlib
import subprocess
import sys


def test_python_example_runs():
    root = pathlib.Path(__file__).resolve().parents[2]
    example = root / "examples" / "python" / "softmax_example.py"
    run = subprocess.run([sys.executable, str(example)], capture_output=True, text=True, timeout=60)
    assert run.returncode == 0, run.stdout + run.stderr
    assert run.stdout.rstrip().endswith("ok")
