"""What a function's cold start loads, as Lambda runs it: only what the function uses (bench/cold_start.py times it)."""

from __future__ import annotations

import json
import os
import shutil
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
import dataclasses
from aws_xray_sdk.core.patcher import _PATCHED_MODULES
classes = [value for name, module in list(sys.modules.items()) if name.startswith("crud_api")
           for value in vars(module).values() if isinstance(value, type) and value.__module__ == name]
print(json.dumps({
    "modules": sorted(sys.modules),
    "patched": sorted(_PATCHED_MODULES),
    "compiled": compiled,
    "classes": sorted(cls.__qualname__ for cls in classes),
    "dataclasses": sorted(cls.__qualname__ for cls in classes if dataclasses.is_dataclass(cls)),
}))
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
    shutil.copytree(handler_asset, tmp_path / "task", ignore=shutil.ignore_patterns("__pycache__"))

    compiled = lambda_init(tmp_path / "task", environments["metadata"])["compiled"]

    assert str(tmp_path / "task" / "crud_api" / "app.py") in compiled


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


def test_the_handlers_value_types_are_not_dataclasses(cold_start):
    """A dataclass compiles the source of its methods at import, at every cold start (crud_api's docstring)."""
    assert {"Settings", "Response", "Versioned"} <= set(cold_start["classes"])
    assert cold_start["dataclasses"] == []


# The DynamoDB client: botocore's, with a data loader that does not list every service botocore has models for.


def test_the_client_is_made_without_listing_every_service_botocore_has_models_for(monkeypatch):
    from crud_api.repository import ItemRepository

    monkeypatch.setenv("AWS_DEFAULT_REGION", "eu-west-1")
    listed, listdir = [], os.listdir
    monkeypatch.setattr(os, "listdir", lambda path=".": listed.append(str(path)) or listdir(path))

    client = ItemRepository.for_table("items").client

    assert client.meta.service_model.service_name == "dynamodb"
    assert listed and all(Path(path).name == "dynamodb" for path in listed)


def test_the_client_still_takes_its_model_from_where_botocore_would(monkeypatch, tmp_path):
    """A DynamoDB model under AWS_DATA_PATH comes before botocore's own, as botocore's loader has it."""
    from botocore.loaders import Loader
    from crud_api.repository import ItemRepository

    model = Loader().load_service_model("dynamodb", "service-2")
    model["metadata"]["serviceId"] = "DynamoDB from AWS_DATA_PATH"
    version = model["metadata"]["apiVersion"]
    (tmp_path / "dynamodb" / version).mkdir(parents=True)
    (tmp_path / "dynamodb" / version / "service-2.json").write_text(json.dumps(model))
    monkeypatch.setenv("AWS_DEFAULT_REGION", "eu-west-1")
    monkeypatch.setenv("AWS_DATA_PATH", str(tmp_path))

    client = ItemRepository.for_table("items").client

    assert client.meta.service_model.service_id == "DynamoDB from AWS_DATA_PATH"


def test_every_service_botocore_has_models_for_is_still_available():
    """The session's credential providers make clients of their own: STS for an assumed role or a web identity, SSO."""
    from botocore.loaders import Loader
    from crud_api.repository import ServiceLookupLoader

    services = ServiceLookupLoader().list_available_services("service-2")

    assert "dynamodb" in services and "sts" in services and "sso" in services
    assert "no-such-service" not in services and "" not in services
    assert "../data/dynamodb" not in services  # botocore's data directory, from the service directories' parent
    assert list(services) == Loader().list_available_services("service-2")


def test_the_client_takes_credentials_from_a_web_identity_through_sts(monkeypatch, tmp_path):
    """As on a Kubernetes pod with a service account (IRSA): the session's credential provider calls STS."""
    import boto3
    from crud_api.repository import ItemKey, ItemRepository
    from moto import mock_aws

    (tmp_path / "token").write_text("a-web-identity-token")
    monkeypatch.setenv("HOME", str(tmp_path))
    monkeypatch.setenv("AWS_DEFAULT_REGION", "eu-west-1")
    monkeypatch.setenv("AWS_ROLE_ARN", "arn:aws:iam::123456789012:role/handler")
    monkeypatch.setenv("AWS_WEB_IDENTITY_TOKEN_FILE", str(tmp_path / "token"))
    with mock_aws():
        boto3.client("dynamodb", region_name="eu-west-1", aws_access_key_id="setup", aws_secret_access_key="setup").create_table(
            TableName="items",
            KeySchema=[{"AttributeName": "pk", "KeyType": "HASH"}, {"AttributeName": "sk", "KeyType": "RANGE"}],
            AttributeDefinitions=[{"AttributeName": "pk", "AttributeType": "S"}, {"AttributeName": "sk", "AttributeType": "S"}],
            BillingMode="PAY_PER_REQUEST",
        )
        # moto's fake keys, which mock_aws takes back as it ends: empty, botocore's environment provider has none.
        os.environ.update(AWS_ACCESS_KEY_ID="", AWS_SECRET_ACCESS_KEY="")
        repository = ItemRepository.for_table("items")

        assert repository.get(ItemKey("alice", "metadata#1")) is None
        assert repository.client._request_signer._credentials.method == "assume-role-with-web-identity"
