"""The handler code's asset: its sources and, where this machine has the runtime's Python, their bytecode.

Lambda's file system is read-only, so Python cannot keep the bytecode it compiles: a function
whose package has none compiles each of its own modules again at every cold start (the handler
code's take about 11 ms, 0.05 of the seed's cold init: bench/README.md). So the asset carries
bytecode for the runtime's Python, compiled with unchecked hashes (Lambda never changes a
source under its bytecode, and the zip's timestamps would invalidate timestamped bytecode) and
naming its sources as Lambda has them, under ``/var/task``, for tracebacks.

Compiling needs an interpreter of the runtime's version: this one, or a ``pythonX.Y`` on PATH that
starts and says it is that version (a pyenv shim may stand for none). Without one the asset holds
the sources alone, which Lambda runs as before, compiling them. The asset's hash is its sources'
either way, so every machine names the same code alike.
"""

from __future__ import annotations

import compileall
import py_compile
import shutil
import subprocess
import sys
from collections.abc import Collection
from pathlib import Path
from typing import Any

import jsii
from aws_cdk import BundlingOptions, ILocalBundling, IgnoreMode
from aws_cdk import aws_lambda as lambda_

LAMBDA_TASK_ROOT = "/var/task"


def code_with_bytecode(source: Path, *, runtime: lambda_.Runtime, exclude: Collection[str]) -> lambda_.Code:
    """``source`` (less what ``exclude`` names at its top: files or directories) as a function's code.

    ``__pycache__`` directories are never copied: what they hold is this machine's, not Lambda's.
    """
    version = runtime.name.removeprefix("python")
    return lambda_.Code.from_asset(
        str(source),
        exclude=["**/__pycache__", *(f"/{name}" for name in exclude)],
        ignore_mode=IgnoreMode.GIT,
        bundling=BundlingOptions(
            # Never used: the local bundling below always succeeds, so no Docker is needed.
            image=runtime.bundling_image,
            local=_SourcesAndBytecode(source, exclude=frozenset(exclude), version=version),
        ),
    )


@jsii.implements(ILocalBundling)
class _SourcesAndBytecode:
    def __init__(self, source: Path, *, exclude: frozenset[str], version: str) -> None:
        self._source = source
        self._exclude = exclude
        self._version = version

    def try_bundle(self, output_dir: str, *_options: Any, **_keywords: Any) -> bool:
        shutil.copytree(self._source, output_dir, ignore=self._ignored, dirs_exist_ok=True)
        compiler = _interpreter(self._version)
        if compiler is not None:
            compile_tree(Path(output_dir), compiler)
        return True

    def _ignored(self, directory: str, names: list[str]) -> set[str]:
        top = Path(directory) == self._source
        return {name for name in names if name == "__pycache__" or name.endswith(".pyc") or (top and name in self._exclude)}


def _interpreter(version: str) -> str | None:
    """An interpreter of Python ``version`` (``3.13``): this one if it is, else a working ``python3.13`` on PATH."""
    if f"{sys.version_info.major}.{sys.version_info.minor}" == version:
        return sys.executable
    found = shutil.which(f"python{version}")
    if found is None:
        return None
    try:
        probe = subprocess.run(
            [found, "-c", "import sys; print('%d.%d' % sys.version_info[:2])"],
            capture_output=True, text=True, timeout=_PROBE_SECONDS, check=False,
        )
    except (OSError, subprocess.TimeoutExpired):
        return None
    return found if probe.returncode == 0 and probe.stdout.strip() == version else None


_PROBE_SECONDS = 20


def compile_tree(root: Path, interpreter: str) -> None:
    """Bytecode beside every source under ``root``, as ``interpreter`` compiles it, for Lambda's task root."""
    if interpreter == sys.executable:
        unchecked = py_compile.PycInvalidationMode.UNCHECKED_HASH
        failed, output = not compileall.compile_dir(root, ddir=LAMBDA_TASK_ROOT, quiet=1, invalidation_mode=unchecked), ""
    else:
        completed = subprocess.run(
            [interpreter, "-m", "compileall", "-q", "-d", LAMBDA_TASK_ROOT, "--invalidation-mode", "unchecked-hash", str(root)],
            capture_output=True,
            text=True,
            check=False,
        )
        failed, output = completed.returncode != 0, completed.stdout + completed.stderr
    if failed:
        raise RuntimeError(f"The handler code does not compile with {interpreter}: {output or 'see above'}")
