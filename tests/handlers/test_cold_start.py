"""What a function's cold start loads, as Lambda runs it: only what the function uses (bench/cold_start.py times it)."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from tests.support import ROOT

sys.path.insert(0, str(ROOT / "bench"))
from cold_start import handler_asset as handler_asset_in  # noqa: E402
from cold_start import lambda_environment  # noqa: E402

PROBE = """
import json, sys
from importlib.machinery import SourceFileLoader

compiled, source_to_code = [], SourceFileLoader.source_to_code


def compiling(loader, data, path, *args, **kwargs):
    compiled.append(path)
    return source_to_code(loader, data, path, *args, **kwargs)


SourceFileLoader.source_to_code = compiling
import crud_api.app
from aws_xray_sdk.core.patcher import _PATCHED_MODULES
print(json.dumps({"modules": sorted(sys.modules), "patched": sorted(_PATCHED_MODULES), "compiled": compiled}))
"""


def lambda_init(task_root: Path, environment: dict[str, str]) -> dict:
    """Lambda's init of the handler in ``task_root``: the modules loaded, the libraries X-Ray patched, the sources compiled.

    As in Lambda, no bytecode is written: the task root is read-only there.
    """
    env = {"PATH": "/usr/bin:/bin", "PYTHONDONTWRITEBYTECODE": "1",
           **lambda_environment(task_root, "crud_api.app.lambda_handler"), **environment}
    completed = subprocess.run(
        [sys.executable, "-c", PROBE], cwd=task_root, env=env, capture_output=True, text=True, check=True
    )
    return json.loads(completed.stdout)


@pytest.fixture(scope="module")
def handler_asset(sample_assembly) -> Path:
    """The handler code's asset as the sample app's synthesis staged it: what Lambda gets."""
    return handler_asset_in(Path(sample_assembly.directory))


@pytest.fixture(scope="module")
def cold_start(handler_asset, environments) -> dict:
    return lambda_init(handler_asset, environments["metadata"])


def test_the_asset_carries_the_bytecode_lambdas_python_runs_so_nothing_is_compiled_at_init(cold_start, handler_asset):
    assert [path for path in cold_start["compiled"] if path.startswith(str(handler_asset))] == []


def test_from_its_sources_alone_the_handler_compiles_at_every_init(tmp_path, handler_asset, environments):
    """What the test above guards against: Lambda compiles what the asset does not ship compiled."""
    import shutil

    shutil.copytree(handler_asset, tmp_path / "task", ignore=shutil.ignore_patterns("__pycache__"))

    compiled = lambda_init(tmp_path / "task", environments["metadata"])["compiled"]

    assert str(tmp_path / "task" / "crud_api" / "app.py") in compiled
