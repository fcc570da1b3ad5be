"""docs/tutorial.md's Python blocks print what the document shows (docs/regenerate.py --check)."""

from __future__ import annotations

import pathlib
import subprocess
import sys


def test_tutorial_python_outputs_are_current():
    root = pathlib.Path(__file__).resolve().parents[2]
    script = root / "docs" / "regenerate.py"
    run = subprocess.run([sys.executable, str(script), "--check", "--only", "python"],
                         capture_output=True, text=True, timeout=120)
    assert run.returncode == 0, run.stdout + run.stderr
