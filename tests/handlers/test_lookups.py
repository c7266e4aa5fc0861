"""Lookups by declared attributes (``indexes``), through proxy events against moto: exactly the matching items
within the caller's reach, across pages, in creation order, each page one Query of the attribute's index."""

from __future__ import annotations

import uuid
from collections.abc import Iterator

import boto3
import pytest

from serverless_meta import ItemScope, ServerlessCrudApi
from tests.handlers.support import TABLE_NAME, ApiClient, serving
from tests.local.support import template_of


def _build(stack) -> None:
    notes = ServerlessCrudApi(stack, "Notes", resource_name="notes", indexes=["topic", "rank"], read_all_groups=["staff"])
    shared = dict(table=notes.table, encryption_key=notes.encryption_key, alarm_topic=notes.alarm_topic, api=notes.api)
    ServerlessCrudApi(stack, "Pages", resource_name="pages", item_scope=ItemScope.SHARED, indexes=["page"], **shared)
    ServerlessCrudApi(stack, "Orders", resource_name="orders", item_scope=ItemScope.claim("custom:tenant"),
                      indexes=["sku"], **shared)


@pytest.fixture(scope="module")
def apis() -> Iterator[dict[str, ApiClient]]:
    template = template_of(_build)
    with serving(template, ("notes", "pages", "orders")) as apis:
        yield apis


def _someone() -> str:
    return str(uuid.uuid4())


def _looked_up(api: ApiClient, path: str, query: dict[str, str], **caller) -> list[dict]:
    """Every page of a lookup; each must be one Query of a lookup index."""
    items, cursor = [], None
    while True:
        page = api.get(path, query={**query, **({"next": cursor} if cursor else {})}, **caller)
        assert page.status == 200, page.body
        assert page.dynamodb_operations == ["Query"] and page.dynamodb_calls[0][1]["IndexName"].startswith("lookup")
        assert "FilterExpression" not in page.dynamodb_calls[0][1], "nothing read only to be dropped"
        items += page.json["items"]
        cursor = page.json["next"]
        if cursor is None:
            return items


def test_a_lookup_answers_exactly_the_callers_matching_items_across_pages_in_creation_order(apis):
    notes, alice, bob = apis["notes"], _someone(), _someone()
    made = [notes.post("/notes", {"topic": "design", "n": n}, user=alice, groups=None).json for n in range(5)]
    notes.post("/notes", {"topic": "billing"}, user=alice, groups=None)
    notes.post("/notes", {"topic": "design"}, user=bob, groups=None)

    found = _looked_up(notes, "/notes", {"topic": "design", "limit": "2"}, user=alice, groups=None)
    newest = _looked_up(notes, "/notes", {"topic": "design", "limit": "2", "order": "newest"}, user=alice, groups=None)

    assert [item["id"] for item in found] == [item["id"] for item in made]
    assert [item["id"] for item in newest] == [item["id"] for item in reversed(made)]


def test_another_owners_matching_items_never_appear_but_staff_find_everybodys(apis):
    notes, alice, bob = apis["notes"], _someone(), _someone()
    topic = f"topic-{uuid.uuid4().hex[:6]}"
    mine = notes.post("/notes", {"topic": topic}, user=alice, groups=None).json
    theirs = notes.post("/notes", {"topic": topic}, user=bob, groups=None).json

    by_alice = _looked_up(notes, "/notes", {"topic": topic}, user=alice, groups=None)
    by_staff = _looked_up(notes, "/notes", {"topic": topic}, user=_someone(), groups="staff")

    assert [item["id"] for item in by_alice] == [mine["id"]]
    assert {item["id"]: item["owner"] for item in by_staff} == {mine["id"]: alice, theirs["id"]: bob}


def test_a_number_is_found_by_its_shortest_form_and_other_values_are_not_indexed(apis):
    notes, alice = apis["notes"], _someone()
    ranked = notes.post("/notes", {"rank": 3.0}, user=alice, groups=None).json
    notes.post("/notes", {"rank": True}, user=alice, groups=None)
    notes.post("/notes", {"rank": ["3"]}, user=alice, groups=None)

    assert [i["id"] for i in _looked_up(notes, "/notes", {"rank": "3"}, user=alice, groups=None)] == [ranked["id"]]
    assert _looked_up(notes, "/notes", {"rank": "3.0"}, user=alice, groups=None) == []


def test_a_replace_moves_the_item_to_its_new_value_and_one_leaving_the_attribute_out_unindexes_it(apis):
    notes, alice = apis["notes"], _someone()
    note = notes.post("/notes", {"topic": "draft"}, user=alice, groups=None).json

    notes.put(f"/notes/{note['id']}", {"topic": "final"}, user=alice, groups=None)
    assert _looked_up(notes, "/notes", {"topic": "draft"}, user=alice, groups=None) == []
    assert [i["id"] for i in _looked_up(notes, "/notes", {"topic": "final"}, user=alice, groups=None)] == [note["id"]]
    notes.put(f"/notes/{note['id']}", {"text": "no topic"}, user=alice, groups=None)
    assert _looked_up(notes, "/notes", {"topic": "final"}, user=alice, groups=None) == []
    notes.delete(f"/notes/{note['id']}", user=alice, groups=None)


def test_a_shared_collection_is_looked_up_by_every_reader(apis):
    pages = apis["pages"]
    home = pages.post("/pages", {"page": "homepage", "layout": "grid"}, user=_someone()).json
    pages.post("/pages", {"page": "about"}, user=_someone())

    found = _looked_up(pages, "/pages", {"page": "homepage"}, user=_someone())

    assert home in [{k: v for k, v in item.items() if k != "etag"} for item in found]
    assert {item["page"] for item in found} == {"homepage"}


def test_another_tenants_matching_items_never_appear(apis):
    orders = apis["orders"]
    acme = orders.post("/orders", {"sku": "A-1"}, user=_someone(), claims={"custom:tenant": "acme"}).json
    orders.post("/orders", {"sku": "A-1"}, user=_someone(), claims={"custom:tenant": "globex"})

    found = _looked_up(orders, "/orders", {"sku": "A-1"}, user=_someone(), claims={"custom:tenant": "acme"})

    assert [item["id"] for item in found] == [acme["id"]]


def test_two_attributes_at_once_is_a_400_and_reads_nothing(apis):
    answer = apis["notes"].get("/notes", query={"topic": "a", "rank": "1"}, user=_someone(), groups=None)

    assert answer.status == 400 and "one attribute at a time" in answer.json["message"] and answer.dynamodb_calls == []


def test_a_value_too_long_for_an_index_key_is_a_400_and_writes_nothing(apis):
    before = boto3.client("dynamodb").scan(TableName=TABLE_NAME)["Count"]

    answer = apis["notes"].post("/notes", {"topic": "x" * 1025}, user=_someone(), groups=None)

    assert answer.status == 400 and "topic is looked up by" in answer.json["message"]
    assert boto3.client("dynamodb").scan(TableName=TABLE_NAME)["Count"] == before


def test_a_cursor_of_another_callers_lookup_is_a_400(apis):
    notes, alice = apis["notes"], _someone()
    for _ in range(2):
        notes.post("/notes", {"topic": "paged"}, user=alice, groups=None)
    cursor = notes.get("/notes", query={"topic": "paged", "limit": "1"}, user=alice, groups=None).json["next"]

    answer = notes.get("/notes", query={"topic": "paged", "next": cursor}, user=_someone(), groups=None)

    assert answer.status == 400 and answer.dynamodb_calls == []


def test_without_client_ids_a_put_that_would_create_is_a_400_pointing_at_post(apis):
    for item_id in (str(uuid.uuid4()), "homepage"):  # a name, as a client trying to choose one would send
        answer = apis["notes"].put(f"/notes/{item_id}", {"x": 1}, user=_someone(), groups=None, headers={"If-None-Match": "*"})

        assert answer.status == 400 and "POST /notes" in answer.json["message"] and answer.dynamodb_calls == []


def test_the_backfill_puts_items_written_before_the_index_into_it_and_leaves_their_version(apis):
    """Items written before a service gained indexes (or readers of all) carry no index keys: the backfill
    gives each the keys a write would, found then by lookups and by readers of all."""
    notes, alice = apis["notes"], _someone()
    older = str(uuid.uuid4())
    boto3.client("dynamodb").put_item(TableName=TABLE_NAME, Item={
        "pk": {"S": alice}, "sk": {"S": f"notes#{older}"}, "id": {"S": older}, "data": {"M": {"topic": {"S": "legacy"}}},
        "createdAt": {"S": "2026-01-01T00:00:00.000Z"}, "updatedAt": {"S": "2026-01-01T00:00:00.000Z"}, "version": {"N": "4"},
    })
    assert _looked_up(notes, "/notes", {"topic": "legacy"}, user=alice, groups=None) == []

    counts = notes.handler.service.backfill()
    again = notes.handler.service.backfill()

    assert counts["indexed"] >= 1 and again["indexed"] == 0 and again["already indexed"] >= counts["indexed"]
    (found,) = _looked_up(notes, "/notes", {"topic": "legacy"}, user=alice, groups=None)
    assert (found["id"], found["etag"]) == (older, '"4"'), "the backfill counts no write"
    by_staff = _looked_up(notes, "/notes", {"topic": "legacy"}, user=_someone(), groups="staff")
    assert [item["owner"] for item in by_staff] == [alice]


def test_a_lookup_value_longer_than_any_item_holds_and_an_oversized_cursor_are_400s(apis):
    notes = apis["notes"]
    import base64
    import json

    too_long = notes.get("/notes", query={"topic": "x" * 3000}, user=_someone(), groups=None)
    cursor = base64.urlsafe_b64encode(json.dumps(["p" * 5000, str(uuid.uuid4())]).encode()).decode().rstrip("=")
    oversized = notes.get("/notes", query={"topic": "t", "next": cursor}, user=_someone(), groups="staff")

    assert too_long.status == 400 and too_long.dynamodb_calls == []
    assert oversized.status == 400 and oversized.dynamodb_calls == []


def test_the_backfill_marks_what_it_writes_so_that_no_worker_takes_it_for_a_change(apis):
    notes, alice = apis["notes"], _someone()
    older = str(uuid.uuid4())
    boto3.client("dynamodb").put_item(TableName=TABLE_NAME, Item={
        "pk": {"S": alice}, "sk": {"S": f"notes#{older}"}, "id": {"S": older}, "data": {"M": {"topic": {"S": "marked"}}},
        "createdAt": {"S": "2026-01-01T00:00:00.000Z"}, "updatedAt": {"S": "2026-01-01T00:00:00.000Z"},
    })

    notes.handler.service.backfill()

    stored = boto3.client("dynamodb").get_item(TableName=TABLE_NAME, Key={"pk": {"S": alice}, "sk": {"S": f"notes#{older}"}})
    assert stored["Item"]["writtenBy"] == {"S": "backfill"}
