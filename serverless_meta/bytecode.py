"""The handler code's asset: its sources and, where this machine has the runtime's Python, their bytecode.

Lambda's file system is read-only, so Python cannot keep the bytecode it compiles: a function
whose package has none compiles each of its own modules again at every cold start (the handler
code's take about 11 ms, 0.05 of the seed's cold init: bench/README.md). So the asset carries
bytecode for the runtime's Python, compiled with unchecked hashes (Lambda never changes a
source under its bytecode, and the zip's timestamps would invalidate timestamped bytecode) and
naming its sources as Lambda has them, under ``/var/task``, for tracebacks.

Compiling needs an interpreter of the runtime's version: this one, or a ``pythonX.Y`` on PATH that
starts and says it is that version (a pyenv shim may stand for none). Without one the asset holds
the sources alone, which Lambda runs as before, compiling them. The asset's hash covers the
sources and which bytecode it holds, if any. Tools that run the code in place (local mode, SAM:
``aws:cdk:disable-asset-staging``) get the sources where they are.
"""

from __future__ import annotations

import compileall
import contextlib
import functools
import io
import py_compile
import shutil
import subprocess
import sys
import warnings
from collections.abc import Collection
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import jsii
from aws_cdk import BundlingOptions, CopyOptions, FileSystem, IgnoreMode, ILocalBundling
from aws_cdk import aws_lambda as lambda_
from constructs import Construct

LAMBDA_TASK_ROOT = "/var/task"
# Set by tools that run the code where it is (local mode, SAM): they get the sources, not a bundle.
DISABLE_ASSET_STAGING = "aws:cdk:disable-asset-staging"


def code_with_bytecode(
    scope: Construct, source: Path, *, runtime: lambda_.Runtime, exclude: Collection[str]
) -> lambda_.Code:
    """``source`` (less what ``exclude`` names at its top: files or directories) as a function's code.

    ``__pycache__`` directories are never copied: what they hold is this machine's, not Lambda's.
    """
    patterns = ["**/__pycache__", *(f"/{name}" for name in exclude)]
    if scope.node.try_get_context(DISABLE_ASSET_STAGING):
        return lambda_.Code.from_asset(str(source), exclude=patterns, ignore_mode=IgnoreMode.GIT)
    compiler = _compiler(runtime.name.removeprefix("python"))
    return lambda_.Code.from_asset(
        str(source),
        exclude=patterns,
        ignore_mode=IgnoreMode.GIT,
        bundling=BundlingOptions(
            # Never used: the local bundling below always succeeds, so no Docker is needed.
            image=runtime.bundling_image,
            # CDK hashes the sources with these options: naming the bytecode here gives an asset
            # with bytecode a hash of its own, apart from one of the sources alone.
            environment={"BYTECODE": compiler.cache_tag if compiler else "none"},
            local=_SourcesAndBytecode(source, CopyOptions(exclude=patterns, ignore_mode=IgnoreMode.GIT), compiler),
        ),
    )


@dataclass(frozen=True)
class Compiler:
    executable: str
    cache_tag: str
    """Which bytecode it writes, as its file names say: ``cpython-313``."""


@jsii.implements(ILocalBundling)
class _SourcesAndBytecode:
    def __init__(self, source: Path, copy: CopyOptions, compiler: Compiler | None) -> None:
        self._source = source
        self._copy = copy
        """The same exclusions as the asset's hash: CDK copies what it hashed."""
        self._compiler = compiler

    def try_bundle(self, output_dir: str, *_options: Any, **_keywords: Any) -> bool:
        FileSystem.copy_directory(str(self._source), output_dir, self._copy)
        if self._compiler is not None:
            compile_tree(Path(output_dir), self._compiler)
        return True


@functools.cache
def _compiler(version: str) -> Compiler | None:
    """A Python ``version`` (``3.13``) that starts and says so: this one if it is, else ``python3.13`` on PATH."""
    if f"{sys.version_info.major}.{sys.version_info.minor}" == version:
        return Compiler(sys.executable, sys.implementation.cache_tag)
    found = shutil.which(f"python{version}")
    if found is None:
        return None
    try:
        probe = subprocess.run(
            [found, "-I", "-c", "import sys; print('%d.%d' % sys.version_info[:2], sys.implementation.cache_tag)"],
            capture_output=True, text=True, timeout=_PROBE_SECONDS, check=False,
        )
    except (OSError, subprocess.TimeoutExpired):
        return None
    said = probe.stdout.split()
    if probe.returncode != 0 or len(said) != 2 or said[0] != version:
        return None
    return Compiler(found, said[1])


_PROBE_SECONDS = 20


def compile_tree(root: Path, compiler: Compiler) -> None:
    """Bytecode beside every source under ``root``, as ``compiler`` compiles it, for Lambda's task root.

    Where ``compiler`` is this interpreter, it compiles here: starting a second Python was most of the
    time (about 45 of 55 ms for the handler code). Unless this one keeps its bytecode elsewhere
    (PYTHONPYCACHEPREFIX), where Lambda would not find it: then, as for another interpreter, a
    fresh one (-I: none of the environment's PYTHON* settings) does it.
    """
    if compiler.executable == sys.executable and sys.pycache_prefix is None:
        # The app's warning filters are not the compile's business (-W error would fail the build on a
        # SyntaxWarning, which the fresh interpreter below prints into the output nobody reads).
        with contextlib.redirect_stdout(io.StringIO()) as said, warnings.catch_warnings():
            warnings.simplefilter("ignore")
            compiled = compileall.compile_dir(str(root), **_COMPILE_DIR)
        if not compiled:
            raise RuntimeError(f"The handler code does not compile with {compiler.executable}: {said.getvalue()}")
        return
    completed = subprocess.run(
        [compiler.executable, "-I", "-m", "compileall", "-q", "-f", "-o", "0", "-d", LAMBDA_TASK_ROOT,
         "--invalidation-mode", "unchecked-hash", str(root)],
        capture_output=True, text=True, check=False,
    )
    if completed.returncode != 0:
        raise RuntimeError(
            f"The handler code does not compile with {compiler.executable}: {completed.stdout}{completed.stderr}"
        )


# What the command above says, for compileall's function: unoptimized (Lambda never loads .opt-1.pyc)
# and named as Lambda has the sources, under /var/task, for tracebacks.
_COMPILE_DIR: dict[str, Any] = {
    "ddir": LAMBDA_TASK_ROOT,
    "force": True,
    "quiet": 1,
    "optimize": 0,
    "invalidation_mode": py_compile.PycInvalidationMode.UNCHECKED_HASH,
}
