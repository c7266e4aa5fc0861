"""Which Python runs a function's environments: the runtime's own where the machine has it.

A function on ``python3.12`` runs on ``python3.12`` from PATH, if that interpreter can import
what the function's code imports: Lambda gives the code boto3 from the runtime and the rest
from layers, and locally they must come from that interpreter's own packages. Where it cannot
(or is missing, or does not start) the function runs on this server's interpreter, whose
environment has the handlers' packages, and one line at startup says which and why. The
check runs once per runtime and code directory, at startup.
"""

from __future__ import annotations

import ast
import shutil
import subprocess
import sys
from collections.abc import Iterable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

# Prints the names, of those given, that the interpreter cannot find.
_PROBE = (
    "import importlib.util, sys\n"
    "print(' '.join(n for n in sys.argv[1:] if importlib.util.find_spec(n) is None))"
)
_PROBE_SECONDS = 20


@dataclass(frozen=True)
class Choice:
    executable: str
    label: str
    fallback_reason: str | None = None
    """Why the runtime's own interpreter is not used, or None when it is."""


def choose(runtime: str, code_dirs: Iterable[Path]) -> Choice:
    """The interpreter for the functions of ``runtime`` (``python3.12``) whose code (and their layers') is in ``code_dirs``."""
    own = f"python{sys.version_info.major}.{sys.version_info.minor}"
    server = Choice(sys.executable, f"{own} (this server's)")
    if runtime == own:
        return Choice(sys.executable, own)
    found = shutil.which(runtime)
    if found is None:
        return _fallback(server, f"{runtime} is not on PATH")
    code_dirs = list(code_dirs)
    # A function's code may import its layers' modules (and a layer its function's): all are the code's own.
    own = set().union(*(own_modules(code_dir) for code_dir in code_dirs))
    needed = sorted(set().union(*(imported_packages(code_dir) for code_dir in code_dirs)) - own)
    try:
        probe = subprocess.run(
            [found, "-c", _PROBE, *needed], capture_output=True, text=True, timeout=_PROBE_SECONDS, check=False
        )
    except (OSError, subprocess.TimeoutExpired) as error:
        return _fallback(server, f"{found} does not start ({error})")
    if probe.returncode != 0:
        return _fallback(server, f"{found} does not start (exit status {probe.returncode})")
    missing = probe.stdout.split()
    if missing:
        return _fallback(server, f"{found} cannot import {', '.join(missing)}")
    return Choice(found, runtime)


def choose_all(wanted: dict[str, list[Path]]) -> dict[str, Choice]:
    """``choose`` for each runtime at once: ``{runtime: code directories}``."""
    with ThreadPoolExecutor(max_workers=max(1, len(wanted))) as pool:
        choices = pool.map(lambda item: choose(*item), wanted.items())
        return dict(zip(wanted, choices, strict=True))


def _fallback(server: Choice, reason: str) -> Choice:
    return Choice(server.executable, server.label, reason)


def imported_packages(code_dir: Path) -> set[str]:
    """Top-level packages the code imports unconditionally, besides its own modules.

    Imports inside ``try`` are left out: code that guards an import has a way without it.
    """
    own = own_modules(code_dir)
    found: set[str] = set()
    for source in code_dir.rglob("*.py"):
        if "__pycache__" in source.parts:
            continue
        try:
            tree = ast.parse(source.read_bytes(), filename=str(source))
        except (SyntaxError, ValueError):
            continue  # the function's own INIT reports it
        found |= _unguarded_imports(tree)
    return {name for name in found if name not in own and name not in sys.stdlib_module_names}


def own_modules(code_dir: Path) -> set[str]:
    """The top-level modules and packages of a code directory."""
    return {path.stem for path in code_dir.glob("*.py")} | {
        path.name for path in code_dir.iterdir() if path.is_dir() and not path.name.startswith((".", "__"))
    }


def _unguarded_imports(tree: ast.AST) -> set[str]:
    names: set[str] = set()

    def visit(node: ast.AST) -> None:
        if isinstance(node, ast.Try):
            return
        if isinstance(node, ast.Import):
            names.update(alias.name.split(".")[0] for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            names.add(node.module.split(".")[0])
        for child in ast.iter_child_nodes(node):
            visit(child)

    visit(tree)
    return names
