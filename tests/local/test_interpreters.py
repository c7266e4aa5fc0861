"""The interpreter a runtime's functions run on: the runtime's own where it can import what the code imports."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

from serverless_meta.local import interpreters

PYTHON_312 = sorted(Path.home().glob(".pyenv/versions/3.12.*/bin/python3.12"))


def _code(tmp_path: Path, source: str) -> Path:
    code_dir = tmp_path / "src"
    code_dir.mkdir()
    (code_dir / "app.py").write_text(source)
    (code_dir / "helpers.py").write_text("import json\n")
    return code_dir


def test_the_packages_a_function_needs_are_its_unguarded_non_standard_imports(tmp_path):
    code_dir = _code(tmp_path, (
        "import json, boto3.session\nfrom aws_lambda_powertools import Logger\nimport helpers\n"
        "try:\n    import ujson\nexcept ImportError:\n    ujson = None\n"
        "def handler(event, context):\n    from fastjsonschema import compile\n"
    ))

    assert interpreters.imported_packages(code_dir) == {"boto3", "aws_lambda_powertools", "fastjsonschema"}


def test_the_servers_own_version_runs_on_the_servers_interpreter(tmp_path):
    runtime = f"python{sys.version_info.major}.{sys.version_info.minor}"

    choice = interpreters.choose(runtime, [_code(tmp_path, "import boto3\n")])

    assert (choice.executable, choice.fallback_reason) == (sys.executable, None)


def test_a_runtime_not_on_path_falls_back_to_the_servers_interpreter_and_says_why(tmp_path, monkeypatch):
    monkeypatch.setenv("PATH", str(tmp_path))

    choice = interpreters.choose("python3.99", [_code(tmp_path, "")])

    assert choice.executable == sys.executable
    assert choice.fallback_reason == "python3.99 is not on PATH"


@pytest.mark.skipif(not PYTHON_312, reason="no Python 3.12 on this machine")
def test_a_runtime_that_cannot_import_the_codes_packages_falls_back(tmp_path, monkeypatch):
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    (bin_dir / "python3.12").symlink_to(PYTHON_312[-1])
    monkeypatch.setenv("PATH", str(bin_dir))
    needs_boto3 = _code(tmp_path, "import boto3\nimport json\n")

    with_boto3 = interpreters.choose("python3.12", [needs_boto3])
    stdlib_only = interpreters.choose("python3.12", [tmp_path / "bin"])

    assert with_boto3.executable == sys.executable
    assert with_boto3.fallback_reason.endswith("cannot import boto3")
    assert (stdlib_only.executable, stdlib_only.fallback_reason) == (str(bin_dir / "python3.12"), None)
