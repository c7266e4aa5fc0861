"""Fixtures for the worker tests: an app whose Notes service has a worker and shares its table with Tags,
moto holding its table, stream and queues, both services' handlers and the worker runtime loaded."""

from __future__ import annotations

import sys
import uuid
from collections.abc import Iterator
from pathlib import Path

import boto3
import pytest
from aws_cdk import Duration
from moto import mock_aws

from serverless_meta import ServerlessCrudApi, Worker
from serverless_meta.local import queues
from serverless_meta.local.template import read_app
from tests.handlers.support import REGION, ApiClient, load_handler, moto_environment, service_environments
from tests.local.support import template_of
from tests.workers.support import CODE, Pipeline, load_worker, worker_environment

MAX_RECEIVE_COUNT = 3


def _build(stack) -> None:
    notes = ServerlessCrudApi(
        stack,
        "Notes",
        resource_name="notes",
        worker=Worker.from_directory(CODE, "recording_worker.record", timeout=Duration.seconds(5), max_receive_count=MAX_RECEIVE_COUNT),
    )
    ServerlessCrudApi(
        stack, "Tags", resource_name="tags", table=notes.table, encryption_key=notes.encryption_key,
        alarm_topic=notes.alarm_topic, api=notes.api,
    )


@pytest.fixture(scope="module")
def template() -> dict:
    return template_of(_build)


@pytest.fixture(scope="module")
def aws() -> Iterator[pytest.MonkeyPatch]:
    with pytest.MonkeyPatch.context() as env:
        moto_environment(env)
        # A failed change is received again at once, not after a second.
        env.setattr(queues, "RETRY_SECONDS", 0)
        with mock_aws():
            yield env


@pytest.fixture(scope="module")
def apis(aws, template) -> dict[str, ApiClient]:
    environments = service_environments(template)
    return {resource: ApiClient(load_handler(aws, environments[resource]), resource) for resource in ("notes", "tags")}


@pytest.fixture(scope="module")
def runtime(aws, template):
    return load_worker(aws, worker_environment(template))


@pytest.fixture(scope="module")
def pipeline(aws, template, runtime, tmp_path_factory) -> Pipeline:
    app = read_app({"TestStack": (template, REGION)}, Path(tmp_path_factory.mktemp("assembly")))
    return Pipeline(app, runtime, boto3.client("sqs", region_name=REGION))


@pytest.fixture
def worker(runtime):
    """The tests' worker module (recording_worker), as the runtime imported it; emptied for each test."""
    recorded = sys.modules[runtime.work.__module__]
    recorded.CHANGES.clear()
    recorded.WRITES.clear()
    return recorded


@pytest.fixture
def alice() -> str:
    return str(uuid.uuid4())
