"""The service logic with its clock and ids injected: what each operation stores, exactly."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import boto3
import pytest

from tests.handlers.support import TABLE_NAME


@pytest.fixture
def service_factory(aws):
    from crud_api.items import ItemService
    from crud_api.repository import ItemRepository
    from crud_api.settings import Settings

    def build(clock, **settings):
        config = Settings(
            table_name=TABLE_NAME,
            region="eu-west-1",
            resource="notes",
            operations=frozenset({"create", "get", "list", "update", "delete"}),
            id_attribute="noteId",
            max_body_bytes=1024,
            **settings,
        )
        ids = iter(f"00000000-0000-4000-8000-{n:012d}" for n in range(1, 1000))
        return ItemService(ItemRepository(boto3.client("dynamodb"), TABLE_NAME), config, clock=clock, new_id=lambda: next(ids))

    return build


class SteppingClock:
    def __init__(self) -> None:
        self.now = datetime(2026, 1, 2, 3, 4, 5, 678000, tzinfo=UTC)

    def __call__(self) -> datetime:
        moment, self.now = self.now, self.now + timedelta(seconds=1)
        return moment


def test_create_stamps_created_and_updated_at_and_the_epoch_timestamp(service_factory, alice):
    service = service_factory(SteppingClock(), timestamp_attribute="ts")

    created = service.create(alice, {"text": "hello"})

    assert created.item == {
        "noteId": "00000000-0000-4000-8000-000000000001",
        "text": "hello",
        "createdAt": "2026-01-02T03:04:05.678Z",
        "updatedAt": "2026-01-02T03:04:05.678Z",
        "ts": 1767323045,
    }
    assert created.version == 1


def test_replace_moves_updated_at_and_keeps_created_at(service_factory, alice):
    service = service_factory(SteppingClock())
    created = service.create(alice, {"text": "v1"}).item

    replaced = service.replace(alice, created["noteId"], {"text": "v2"})

    assert replaced.item["createdAt"] == "2026-01-02T03:04:05.678Z"
    assert replaced.item["updatedAt"] == "2026-01-02T03:04:06.678Z"
    assert replaced.version == 2, "every write counts in the version"
    assert service.get(alice, created["noteId"]) == replaced


def test_items_are_stored_under_the_owner_with_a_resource_sort_key(service_factory, alice):
    service = service_factory(SteppingClock())

    item = service.create(alice, {"text": "hello"}).item

    stored = boto3.client("dynamodb").get_item(
        TableName=TABLE_NAME, Key={"pk": {"S": alice}, "sk": {"S": f"notes#{item['noteId']}"}}
    )["Item"]
    assert stored["noteId"] == {"S": item["noteId"]}
    assert stored["data"] == {"M": {"text": {"S": "hello"}}}
    assert stored["version"] == {"N": "1"}


def test_creates_and_replaces_mark_the_item_as_written_by_the_api(service_factory, alice):
    service = service_factory(SteppingClock())
    item_id = service.create(alice, {"text": "v1"}).item["noteId"]
    key = {"pk": {"S": alice}, "sk": {"S": f"notes#{item_id}"}}
    created = boto3.client("dynamodb").get_item(TableName=TABLE_NAME, Key=key)["Item"]
    boto3.client("dynamodb").update_item(
        TableName=TABLE_NAME, Key=key, UpdateExpression="SET writtenBy = :worker",
        ExpressionAttributeValues={":worker": {"S": "worker"}},
    )

    service.replace(alice, item_id, {"text": "v2"})

    replaced = boto3.client("dynamodb").get_item(TableName=TABLE_NAME, Key=key)["Item"]
    assert created["writtenBy"] == replaced["writtenBy"] == {"S": "api"}, "a worker's writes are told apart by this"
    assert "writtenBy" not in service.get(alice, item_id).item, "clients never see it"
