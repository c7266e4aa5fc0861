"""Optimistic concurrency: every item has a version, shown as its ETag; If-Match guards writes, If-None-Match reads.

A stale write is refused by the same single DynamoDB request that would have made it (a
condition expression), never by a read followed by a write.
"""

from __future__ import annotations

import threading
from concurrent.futures import ThreadPoolExecutor

import boto3
import pytest

from tests.handlers.support import TABLE_NAME, ApiClient, load_handler

CONFIG = {"page": "homepage", "layout": "grid"}


def _created(api: ApiClient, user: str) -> tuple[str, str]:
    response = api.post("/metadata", CONFIG, user=user)
    return response.json["id"], response.headers["ETag"]


def test_every_response_with_an_item_carries_its_version_as_a_strong_etag(metadata_api, alice):
    created = metadata_api.post("/metadata", CONFIG, user=alice)
    item_id = created.json["id"]
    read = metadata_api.get(f"/metadata/{item_id}", user=alice)
    replaced = metadata_api.put(f"/metadata/{item_id}", {"page": "about"}, user=alice)

    assert created.headers["ETag"] == '"1"' and read.headers["ETag"] == '"1"'
    assert replaced.headers["ETag"] == '"2"'
    assert "version" not in replaced.json and "etag" not in replaced.json, "an item's body is as before: the ETag is a header"


def test_list_items_carry_their_etag_as_an_attribute(metadata_api, alice):
    item_id, _ = _created(metadata_api, alice)
    metadata_api.put(f"/metadata/{item_id}", {"page": "about"}, user=alice)

    (item,) = metadata_api.get("/metadata", user=alice).json["items"]

    assert item["etag"] == '"2"'


def test_a_replace_with_the_current_etag_succeeds_in_one_conditional_update(metadata_api, alice):
    item_id, etag = _created(metadata_api, alice)

    response = metadata_api.put(f"/metadata/{item_id}", {"page": "about"}, user=alice, headers={"If-Match": etag})

    assert response.status == 200 and response.headers["ETag"] == '"2"'
    (operation, request), = response.dynamodb_calls
    assert operation == "UpdateItem" and "#version IN (:expected0)" in request["ConditionExpression"]


@pytest.mark.parametrize("method", ["PUT", "DELETE"])
def test_a_stale_etag_is_412_with_the_current_etag_and_changes_nothing(metadata_api, alice, table_items, method):
    item_id, stale = _created(metadata_api, alice)
    metadata_api.put(f"/metadata/{item_id}", {"page": "about"}, user=alice)
    before = table_items()

    response = metadata_api.request(
        method, f"/metadata/{item_id}", user=alice, json_body={"page": "lost"} if method == "PUT" else None,
        headers={"If-Match": stale},
    )

    assert response.status == 412
    assert "has changed since it was read" in response.json["message"]
    assert response.headers["ETag"] == '"2"'
    assert response.dynamodb_operations == ["UpdateItem" if method == "PUT" else "DeleteItem"], "one request, no read"
    assert table_items() == before


def test_a_delete_with_the_current_etag_deletes(metadata_api, alice):
    item_id, etag = _created(metadata_api, alice)

    response = metadata_api.delete(f"/metadata/{item_id}", user=alice, headers={"If-Match": etag})

    assert response.status == 204
    assert metadata_api.get(f"/metadata/{item_id}", user=alice).status == 404


@pytest.mark.parametrize("if_match", ['*', '"7", "1"', '"1",'])
def test_if_match_takes_a_star_or_a_list_of_tags(metadata_api, alice, if_match):
    item_id, _ = _created(metadata_api, alice)

    assert metadata_api.put(f"/metadata/{item_id}", CONFIG, user=alice, headers={"If-Match": if_match}).status == 200


@pytest.mark.parametrize("if_match", ['W/"1"', '"abc"'])
def test_a_weak_or_foreign_tag_never_matches_a_write(metadata_api, alice, if_match):
    item_id, _ = _created(metadata_api, alice)

    response = metadata_api.put(f"/metadata/{item_id}", CONFIG, user=alice, headers={"If-Match": if_match})

    assert response.status == 412 and response.headers["ETag"] == '"1"'


@pytest.mark.parametrize("if_match", ["1", '"1', "", 'W/ "1"'])
def test_a_malformed_if_match_is_400_and_changes_nothing(metadata_api, alice, table_items, if_match):
    item_id, _ = _created(metadata_api, alice)
    before = table_items()

    response = metadata_api.put(f"/metadata/{item_id}", {"page": "x"}, user=alice, headers={"If-Match": if_match})

    assert response.status == 400 and "If-Match must be * or entity tags" in response.json["message"]
    assert table_items() == before


@pytest.mark.parametrize("method", ["PUT", "DELETE"])
def test_if_match_on_a_missing_item_is_still_404(metadata_api, alice, method):
    path = "/metadata/3f2b6c1e-8a9d-4e0f-b1c2-d3e4f5a6b7c8"
    response = metadata_api.request(
        method, path, user=alice, json_body=CONFIG if method == "PUT" else None, headers={"If-Match": '"1"'}
    )

    assert response.status == 404


def test_a_get_with_the_current_etag_in_if_none_match_is_304_without_a_body(metadata_api, alice):
    item_id, etag = _created(metadata_api, alice)

    unchanged = metadata_api.get(f"/metadata/{item_id}", user=alice, headers={"If-None-Match": etag})
    weak = metadata_api.get(f"/metadata/{item_id}", user=alice, headers={"If-None-Match": f"W/{etag}"})
    changed = metadata_api.get(f"/metadata/{item_id}", user=alice, headers={"If-None-Match": '"0"'})

    assert unchanged.status == 304 and unchanged.body == "" and unchanged.headers["ETag"] == etag
    assert weak.status == 304, "If-None-Match compares weakly"
    assert changed.status == 200 and changed.json["id"] == item_id


@pytest.fixture(scope="module")
def strict_api(aws, environments) -> ApiClient:
    """A Metadata service that requires If-Match on replace and delete."""
    return ApiClient(load_handler(aws, {**environments["metadata"], "REQUIRE_IF_MATCH": "true"}), "metadata")


@pytest.mark.parametrize("method", ["PUT", "DELETE"])
def test_where_if_match_is_required_a_write_without_it_is_428_and_changes_nothing(strict_api, alice, table_items, method):
    item_id, etag = _created(strict_api, alice)
    before = table_items()

    missing = strict_api.request(method, f"/metadata/{item_id}", user=alice, json_body=CONFIG if method == "PUT" else None)

    assert missing.status == 428 and "If-Match is required" in missing.json["message"]
    assert missing.dynamodb_operations == []
    assert table_items() == before
    body = CONFIG if method == "PUT" else None
    assert strict_api.request(method, f"/metadata/{item_id}", user=alice, json_body=body, headers={"If-Match": etag}).status in (200, 204)


def test_where_if_match_is_optional_a_write_without_it_is_unconditional(metadata_api, alice):
    item_id, _ = _created(metadata_api, alice)

    assert metadata_api.put(f"/metadata/{item_id}", {"page": "a"}, user=alice).status == 200
    assert metadata_api.put(f"/metadata/{item_id}", {"page": "b"}, user=alice).headers["ETag"] == '"3"'


def _write_as_an_older_version_did(owner: str, item_id: str) -> None:
    """An item stored before versions existed: no version attribute."""
    boto3.client("dynamodb").put_item(
        TableName=TABLE_NAME,
        Item={
            "pk": {"S": owner},
            "sk": {"S": f"metadata#{item_id}"},
            "id": {"S": item_id},
            "createdAt": {"S": "2026-01-01T00:00:00.000Z"},
            "updatedAt": {"S": "2026-01-01T00:00:00.000Z"},
            "data": {"M": {"page": {"S": "legacy"}}},
        },
    )


def test_items_written_before_versions_read_update_and_delete_as_version_0(metadata_api, alice):
    item_id = "0b0b0b0b-0b0b-4b0b-8b0b-0b0b0b0b0b0b"
    _write_as_an_older_version_did(alice, item_id)

    read = metadata_api.get(f"/metadata/{item_id}", user=alice)
    (listed,) = metadata_api.get("/metadata", user=alice).json["items"]
    stale = metadata_api.put(f"/metadata/{item_id}", {"page": "x"}, user=alice, headers={"If-Match": '"1"'})
    replaced = metadata_api.put(f"/metadata/{item_id}", {"page": "new"}, user=alice, headers={"If-Match": read.headers["ETag"]})
    deleted = metadata_api.delete(f"/metadata/{item_id}", user=alice, headers={"If-Match": replaced.headers["ETag"]})

    assert read.status == 200 and read.json["page"] == "legacy" and read.headers["ETag"] == '"0"'
    assert listed["etag"] == '"0"'
    assert stale.status == 412 and stale.headers["ETag"] == '"0"'
    assert replaced.status == 200 and replaced.json["createdAt"] == "2026-01-01T00:00:00.000Z"
    assert replaced.headers["ETag"] == '"1"'
    assert deleted.status == 204


def test_an_item_written_before_versions_updates_without_if_match(metadata_api, alice):
    item_id = "1c1c1c1c-1c1c-4c1c-8c1c-1c1c1c1c1c1c"
    _write_as_an_older_version_did(alice, item_id)

    assert metadata_api.put(f"/metadata/{item_id}", {"page": "new"}, user=alice).headers["ETag"] == '"1"'
    assert metadata_api.delete(f"/metadata/{item_id}", user=alice).status == 204


CLIENTS = 8


@pytest.fixture(scope="module")
def clients(aws, environments) -> list[ApiClient]:
    """Independent handler instances (as Lambda's concurrent environments are) whose DynamoDB requests are
    each atomic, as DynamoDB's are, but interleave freely between requests."""
    lock = threading.Lock()
    instances = []
    for _ in range(CLIENTS):
        handler = load_handler(aws, environments["metadata"])
        call = handler.repository.client._make_api_call

        def atomic(operation, params, _call=call):
            with lock:
                return _call(operation, params)

        handler.repository.client._make_api_call = atomic
        instances.append(ApiClient(handler, "metadata"))
    return instances


def test_concurrent_replacements_with_the_etag_they_read_have_exactly_one_winner(clients, alice):
    item_id, _ = _created(clients[0], alice)
    etags = [client.get(f"/metadata/{item_id}", user=alice).headers["ETag"] for client in clients]
    start = threading.Barrier(CLIENTS)

    def replace(index: int):
        start.wait()
        body = {"page": f"writer {index}"}
        return index, clients[index].put(f"/metadata/{item_id}", body, user=alice, headers={"If-Match": etags[index]})

    with ThreadPoolExecutor(CLIENTS) as pool:
        results = dict(pool.map(replace, range(CLIENTS)))

    statuses = sorted(response.status for response in results.values())
    assert statuses == [200] + [412] * (CLIENTS - 1)
    (winner,) = [index for index, response in results.items() if response.status == 200]
    stored = clients[0].get(f"/metadata/{item_id}", user=alice)
    assert stored.json["page"] == f"writer {winner}", "the stored item is the winner's"
    assert stored.headers["ETag"] == '"2"'
    assert all(r.headers["ETag"] == '"2"' for r in results.values() if r.status == 412)
