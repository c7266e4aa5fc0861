"""The walls between the parts hold, and the import contracts that state them catch a breach.

The contracts live in pyproject.toml ([tool.importlinter]); import-linter checks them here,
on this checkout, and on a copy with one forbidden import added across each wall.
"""

from __future__ import annotations

import shutil
import subprocess
import sys
import tomllib
from pathlib import Path

import pytest

from tests.support import ROOT

LINT_IMPORTS = Path(sys.executable).with_name("lint-imports")
WORKER_RUNTIME = "lambda/worker_layer/python/crud_worker"
# Every wall, with imports that breach it: contract id -> (file, line to add) for each side it guards.
BREACHES = {
    "handlers-without-cdk": [("lambda/crud_api/items.py", "import serverless_meta.props")],
    "construct-without-local-mode": [("serverless_meta/props.py", "import serverless_meta.local.template")],
    # In a module the testing kit does not import: a breach there would break the kit's wall too.
    "local-mode-without-cdk": [("serverless_meta/local/cli.py", "import aws_cdk")],
    "testing-kit-without-cdk": [("serverless_meta/testing/snapshots.py", "import serverless_meta.construct")],
    "worker-runtime-self-contained": [(f"{WORKER_RUNTIME}/changes.py", "import crud_api.contract")],
    "boto3-only-in-data-access": [
        ("lambda/crud_api/app.py", "import boto3"),
        (f"{WORKER_RUNTIME}/runtime.py", "import botocore"),
    ],
}


def lint_imports(tree: Path) -> subprocess.CompletedProcess:
    return subprocess.run(
        [str(LINT_IMPORTS), "--no-cache", str(tree / "pyproject.toml")],
        cwd=tree,
        env={"PYTHONPATH": f"{tree / 'lambda'}:{tree / 'lambda' / 'worker_layer' / 'python'}:{tree}", "PATH": "/usr/bin:/bin"},
        capture_output=True,
        text=True,
        timeout=120,
    )


def contracts() -> dict[str, str]:
    config = tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["importlinter"]
    return {contract["id"]: contract["name"] for contract in config["contracts"]}


def test_every_wall_holds():
    completed = lint_imports(ROOT)
    assert completed.returncode == 0, completed.stdout + completed.stderr
    assert f"Contracts: {len(BREACHES)} kept, 0 broken." in completed.stdout


def test_the_walls_hold_when_lint_imports_runs_as_a_developer_runs_it():
    """From the checkout's root, with nothing but the venv (make setup puts the handler code's roots on its path)."""
    completed = subprocess.run(
        [str(LINT_IMPORTS), "--no-cache"], cwd=ROOT, env={"PATH": "/usr/bin:/bin"}, capture_output=True, text=True,
        timeout=120,
    )
    assert completed.returncode == 0, completed.stdout + completed.stderr


def test_each_wall_has_a_contract_and_a_breach_that_shows_it_works():
    assert set(contracts()) == set(BREACHES)


def _tree_with(tmp_path: Path, breaches: list[tuple[str, str]]) -> Path:
    """A copy of the code and its contracts, with ``breaches`` added."""
    tree = tmp_path / "tree"
    for part in ("serverless_meta", "lambda"):
        shutil.copytree(ROOT / part, tree / part, ignore=shutil.ignore_patterns("__pycache__"))
    shutil.copy(ROOT / "pyproject.toml", tree / "pyproject.toml")
    for relative, line in breaches:
        with (tree / relative).open("a") as module:
            module.write(f"\n{line}  # a breach\n")
    return tree


def test_a_forbidden_import_across_any_wall_breaks_its_contract(tmp_path):
    completed = lint_imports(_tree_with(tmp_path, [breach for breaches in BREACHES.values() for breach in breaches]))

    assert completed.returncode != 0
    for contract_id, name in contracts().items():
        assert f"{' '.join(name.split())} BROKEN" in " ".join(completed.stdout.split()), contract_id
    assert f"Contracts: 0 kept, {len(BREACHES)} broken." in completed.stdout


@pytest.mark.parametrize(
    ("contract_id", "breach"), [(contract_id, breach) for contract_id, breaches in BREACHES.items() for breach in breaches]
)
def test_each_side_a_wall_guards_is_guarded(tmp_path, contract_id, breach):
    completed = lint_imports(_tree_with(tmp_path, [breach]))

    assert f"{' '.join(contracts()[contract_id].split())} BROKEN" in " ".join(completed.stdout.split())
    assert f"Contracts: {len(BREACHES) - 1} kept, 1 broken." in completed.stdout


@pytest.mark.parametrize(
    "module",
    sorted(
        f"serverless_meta.{path.stem}"
        for path in (ROOT / "serverless_meta").glob("*.py")
        if path.stem not in ("__init__", "__main__")
    ),
)
def test_local_mode_is_walled_off_from_every_construct_module(module):
    config = tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["importlinter"]
    (local_contract,) = [c for c in config["contracts"] if c["id"] == "local-mode-without-cdk"]
    assert module in local_contract["forbidden_modules"], f"a new construct module: add {module} to the contract"
