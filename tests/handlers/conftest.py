"""Fixtures for the handler tests: a moto account with the sample app's table, and each service's handler.

Each service's handler is loaded fresh with the environment its functions have in the
synthesized sample app (see tests/handlers/support.py).
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from typing import Any

import boto3
import pytest
from moto import mock_aws

from tests.handlers.support import (
    TABLE_NAME,
    ApiClient,
    create_table_from_template,
    load_handler,
    moto_environment,
    service_environments,
)


@pytest.fixture(scope="module")
def aws(sample_template) -> Iterator[pytest.MonkeyPatch]:
    """A moto account holding the sample app's table; yields the environment patcher for handlers."""
    with pytest.MonkeyPatch.context() as env:
        moto_environment(env)
        with mock_aws():
            create_table_from_template(boto3.client("dynamodb"), sample_template)
            yield env


@pytest.fixture(scope="module")
def environments(sample_template) -> dict[str, dict[str, str]]:
    return service_environments(sample_template)


@pytest.fixture(scope="session")
def owner_scoped_environment() -> dict[str, str]:
    """The Metadata service as it was before item scopes (``ItemScope.OWNER``, the default: each caller's own
    items), synthesized: the tests of what owning an item means run on it. The sample app's Metadata is
    one shared collection now (tests/handlers/test_item_scope.py covers scopes)."""
    from serverless_meta import ServerlessCrudApi
    from tests.local.support import template_of

    def build(stack) -> None:
        ServerlessCrudApi(
            stack, "Metadata", resource_name="metadata",
            operation_groups={operation: ["editors"] for operation in ("create", "update", "delete")},
        )

    return service_environments(template_of(build))["metadata"]


@pytest.fixture(scope="module")
def metadata_api(aws, owner_scoped_environment) -> ApiClient:
    """An owner-scoped Metadata service on the sample app's table (its items in each owner's partition)."""
    return ApiClient(load_handler(aws, owner_scoped_environment), "metadata")


@pytest.fixture(scope="module")
def sample_metadata_api(aws, environments) -> ApiClient:
    """The sample app's Metadata: one shared collection that editors write and every signed-in user reads."""
    return ApiClient(load_handler(aws, environments["metadata"]), "metadata")


@pytest.fixture(scope="module")
def feedback_api(aws, environments) -> ApiClient:
    return ApiClient(load_handler(aws, environments["feedback"]), "feedback")


@pytest.fixture
def table_items(aws):
    """A function returning every item in the table, to prove a request wrote nothing."""

    def scan() -> list[dict[str, Any]]:
        items = boto3.client("dynamodb").scan(TableName=TABLE_NAME)["Items"]
        return sorted(items, key=lambda item: (item["pk"]["S"], item["sk"]["S"]))

    return scan


@pytest.fixture
def alice() -> str:
    """A fresh caller (a Cognito sub) per test, so tests share the table without seeing each other's items."""
    return str(uuid.uuid4())


@pytest.fixture
def bob() -> str:
    return str(uuid.uuid4())
