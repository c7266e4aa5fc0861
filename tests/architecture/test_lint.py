"""The code holds the project's style: ruff, as configured in pyproject.toml, finds nothing."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from tests.support import ROOT

RUFF = Path(sys.executable).with_name("ruff")


def test_ruff_finds_nothing():
    completed = subprocess.run([str(RUFF), "check", "--no-cache", "."], cwd=ROOT, capture_output=True, text=True)
    assert completed.returncode == 0, completed.stdout + completed.stderr
