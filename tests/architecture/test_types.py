"""The handler code, the worker runtime and the construct modules type-check, strictly (mypy, configured in
pyproject.toml).

A cold mypy reads aws-cdk-lib's typed modules, about a minute and a half of one core: tests/conftest.py
starts it when the session's tests are collected, so that it runs beside the others, and this test,
moved to the session's end, reads its verdict.
"""

from __future__ import annotations

import subprocess
import sys

from tests.support import ROOT

COMMAND = [sys.executable, "-m", "mypy", "--no-incremental", "--cache-dir", "/dev/null"]


def start() -> subprocess.Popen[str]:
    return subprocess.Popen(COMMAND, cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)


def test_mypy_strict_finds_nothing(request):
    checking = getattr(request.config, "_mypy", None) or start()
    output, _ = checking.communicate(timeout=900)
    assert checking.returncode == 0, output
