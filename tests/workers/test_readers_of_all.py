"""A worker on a service whose staff read every owner's items sees each item as the API shows it: with its owner."""

from __future__ import annotations

import pytest
from aws_cdk import Duration

from serverless_meta import ServerlessCrudApi, Worker
from tests.local.support import template_of
from tests.workers.support import CODE


def _build(stack) -> None:
    notes = ServerlessCrudApi(
        stack, "Notes", resource_name="notes", read_all_groups=["staff"],
        worker=Worker.from_directory(CODE, "recording_worker.record", timeout=Duration.seconds(5)),
    )
    ServerlessCrudApi(stack, "Tags", resource_name="tags", table=notes.table, encryption_key=notes.encryption_key,
                      alarm_topic=notes.alarm_topic, api=notes.api)


@pytest.fixture(scope="module")
def template() -> dict:
    return template_of(_build)


def test_a_change_shows_the_owner_as_the_api_does_to_readers_of_all(pipeline, apis, worker, alice):
    created = apis["notes"].post("/notes", {"text": "hello"}, user=alice)
    read = apis["notes"].request("GET", f"/notes/{created.json['id']}", user=alice, groups="staff")

    pipeline.deliver()

    (change,) = worker.CHANGES
    assert read.json["owner"] == alice
    assert change.after == created.json == read.json
