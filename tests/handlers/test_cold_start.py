"""What a function's cold start loads, as Lambda runs it: only what the function uses (bench/cold_start.py times it)."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

from tests.support import ROOT

sys.path.insert(0, str(ROOT / "bench"))
from cold_start import lambda_environment  # noqa: E402

PROBE = """
import json, sys
import crud_api.app
from aws_xray_sdk.core.patcher import _PATCHED_MODULES
print(json.dumps({"modules": sorted(sys.modules), "patched": sorted(_PATCHED_MODULES)}))
"""


@pytest.fixture(scope="module")
def cold_start(environments) -> dict:
    """The modules loaded and the libraries X-Ray patched after Lambda's init of the Metadata handler."""
    env = {"PATH": "/usr/bin:/bin", **lambda_environment(ROOT / "lambda", "crud_api.app.lambda_handler"),
           **environments["metadata"]}
    completed = subprocess.run(
        [sys.executable, "-c", PROBE], cwd=ROOT / "lambda", env=env, capture_output=True, text=True, check=True
    )
    return json.loads(completed.stdout)


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
