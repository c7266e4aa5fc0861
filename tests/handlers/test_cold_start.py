"""What a function's cold start loads, as Lambda runs it: only what the function uses (bench/cold_start.py times it)."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from tests.support import ROOT

sys.path.insert(0, str(ROOT / "bench"))
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
    (asset,) = [path for path in Path(sample_assembly.directory).glob("asset.*") if (path / "crud_api").is_dir()]
    return asset


@pytest.fixture(scope="module")
def cold_start(handler_asset, environments) -> dict:
    return lambda_init(handler_asset, environments["metadata"])


def test_the_asset_carries_the_bytecode_lambdas_python_runs_so_nothing_is_compiled_at_init(cold_start, handler_asset):
    assert [path for path in cold_start["compiled"] if path.startswith(str(handler_asset))] == []


def test_without_the_runtimes_python_the_asset_holds_the_sources_which_compile_at_init(tmp_path, environments):
    from serverless_meta import bytecode
    from serverless_meta.functions import WORKER_LAYER_DIR, handler_code_dir

    bundler = bytecode._SourcesAndBytecode(
        handler_code_dir(), exclude=frozenset({"__init__.py", WORKER_LAYER_DIR}), version="3.99"
    )

    assert bundler.try_bundle(str(tmp_path)) is True
    assert sorted(path.name for path in tmp_path.iterdir()) == ["crud_api"]
    assert not list(tmp_path.rglob("__pycache__"))
    compiled = lambda_init(tmp_path, environments["metadata"])["compiled"]
    assert str(tmp_path / "crud_api" / "app.py") in compiled


def test_tracing_patches_botocore_only(cold_start):
    assert cold_start["patched"] == ["botocore"]


@pytest.mark.parametrize(
    "module",
    [
        # Powertools' resolvers: the package imports all of them and the event classes of every source.
        "aws_lambda_powertools.event_handler",
        "aws_lambda_powertools.utilities.data_classes",
        # boto3 imports s3transfer, concurrent.futures and multiprocessing: the handler's botocore client needs none.
        "boto3",
        "s3transfer",
        "multiprocessing",
    ],
)
def test_the_cold_start_imports_only_what_the_function_uses(cold_start, module):
    assert module not in cold_start["modules"]


@pytest.mark.parametrize("module", ["requests", "sqlite3"])
def test_the_cold_start_imports_no_library_the_function_does_not_call(cold_start, module):
    """Libraries the X-Ray SDK would patch, and that this environment has: the handler must not import them."""
    import importlib.util

    assert importlib.util.find_spec(module) is not None, f"{module} is installed, so the test can fail"
    assert module not in cold_start["modules"]


@pytest.mark.parametrize(
    "script",
    ["#!/bin/sh\necho 'pyenv: python3.99: command not found' >&2\nexit 127\n", "#!/bin/sh\necho 3.12\n"],
    ids=["a shim for no interpreter", "another version"],
)
def test_only_a_python_that_starts_as_the_runtimes_version_compiles_the_asset(tmp_path, monkeypatch, script):
    from serverless_meta import bytecode

    fake = tmp_path / "python3.99"
    fake.write_text(script)
    fake.chmod(0o755)
    monkeypatch.setenv("PATH", f"{tmp_path}:/usr/bin:/bin")

    assert bytecode._interpreter("3.99") is None
    fake.write_text("#!/bin/sh\necho 3.99\n")
    assert bytecode._interpreter("3.99") == str(fake)
