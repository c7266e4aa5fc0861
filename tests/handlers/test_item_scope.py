"""Who reaches which items, through real API Gateway proxy events against moto: a shared collection with
public reads, tenants by a token claim, and readers of every owner's items; each request one DynamoDB call."""

from __future__ import annotations

import uuid
from collections.abc import Iterator

import boto3
import pytest

from serverless_meta import ItemScope, ServerlessCrudApi
from tests.handlers.support import TABLE_NAME, ApiClient, serving
from tests.local.support import template_of

TENANT = "custom:tenant"


def _build(stack) -> None:
    pages = ServerlessCrudApi(
        stack, "Pages", resource_name="pages", item_scope=ItemScope.SHARED, public_operations=["get", "list"],
        operation_groups={"create": ["editors"], "update": ["editors"], "delete": ["editors"]},
    )
    shared = dict(table=pages.table, encryption_key=pages.encryption_key, alarm_topic=pages.alarm_topic, api=pages.api)
    ServerlessCrudApi(stack, "Orders", resource_name="orders", item_scope=ItemScope.claim(TENANT), **shared)
    ServerlessCrudApi(stack, "Notes", resource_name="notes", read_all_groups=["staff"], **shared)


@pytest.fixture(scope="module")
def template() -> dict:
    return template_of(_build)


@pytest.fixture(scope="module")
def apis(template) -> Iterator[dict[str, ApiClient]]:
    with serving(template, ("pages", "orders", "notes")) as apis:
        yield apis


def _someone() -> str:
    return str(uuid.uuid4())


def _stored() -> list[dict]:
    return boto3.client("dynamodb").scan(TableName=TABLE_NAME)["Items"]


# --- A shared collection ------------------------------------------------------------------------------


def test_what_one_editor_writes_every_signed_in_reader_lists_and_gets(apis):
    pages = apis["pages"]
    created = pages.post("/pages", {"page": "homepage", "layout": "grid"}, user=_someone(), groups="editors")
    reader = _someone()

    listed = pages.get("/pages", user=reader, groups=None, query={"limit": "100"})
    got = pages.get(f"/pages/{created.json['id']}", user=reader, groups=None)

    assert created.status == 201
    assert created.json in [{k: v for k, v in item.items() if k != "etag"} for item in listed.json["items"]]
    assert got.status == 200 and got.json == created.json
    assert (listed.dynamodb_operations, got.dynamodb_operations) == (["Query"], ["GetItem"])


def test_another_editor_replaces_and_deletes_what_the_first_wrote_while_a_reader_may_not(apis):
    pages = apis["pages"]
    created = pages.post("/pages", {"page": "about"}, user=_someone(), groups="editors").json

    refused = pages.put(f"/pages/{created['id']}", {"page": "hacked"}, user=_someone(), groups=None)
    replaced = pages.put(f"/pages/{created['id']}", {"page": "about us"}, user=_someone(), groups="editors")
    deleted = pages.delete(f"/pages/{created['id']}", user=_someone(), groups="editors")

    assert refused.status == 403 and refused.dynamodb_calls == []
    assert replaced.status == 200 and replaced.json["page"] == "about us"
    assert deleted.status == 204


def test_a_public_read_needs_no_token_and_sees_the_collection(apis):
    pages = apis["pages"]
    created = pages.post("/pages", {"page": "contact"}, user=_someone(), groups="editors").json

    got = pages.get(f"/pages/{created['id']}", user=None)
    listed = pages.get("/pages", user=None, query={"limit": "100"})

    assert got.status == 200 and got.json == created
    assert created["id"] in [item["id"] for item in listed.json["items"]]
    assert got.dynamodb_operations == ["GetItem"] and listed.dynamodb_operations == ["Query"]


def test_a_write_without_a_token_never_reaches_the_table(apis, ):
    before = _stored()

    answer = apis["pages"].post("/pages", {"page": "spam"}, user=None)

    assert answer.status == 401 and answer.dynamodb_calls == [] and _stored() == before


def test_shared_items_live_in_the_collections_partition_and_owner_scoped_ones_keep_theirs(apis):
    """The key design: ``shared#<resource>`` for a shared collection; the caller's ``sub`` as before for the rest."""
    editor, writer = _someone(), _someone()
    page = apis["pages"].post("/pages", {"page": "key"}, user=editor, groups="editors").json
    note = apis["notes"].post("/notes", {"text": "mine"}, user=writer).json

    keys = {(item["pk"]["S"], item["sk"]["S"]) for item in _stored()}

    assert ("shared#pages", f"pages#{page['id']}") in keys
    assert (writer, f"notes#{note['id']}") in keys


# --- Tenants ---------------------------------------------------------------------------------------------


def test_a_tenants_item_is_404_to_another_tenant_for_every_item_route_and_stays_unchanged(apis):
    orders = apis["orders"]
    created = orders.post("/orders", {"sku": "A-1"}, user=_someone(), claims={TENANT: "acme"}).json
    other = {"user": _someone(), "claims": {TENANT: "globex"}}
    before = _stored()

    answers = [
        orders.get(f"/orders/{created['id']}", **other),
        orders.put(f"/orders/{created['id']}", {"sku": "B-2"}, **other),
        orders.delete(f"/orders/{created['id']}", **other),
    ]
    listed = orders.get("/orders", **other)

    assert [a.status for a in answers] == [404, 404, 404]
    assert created["id"] not in [item["id"] for item in listed.json["items"]]
    assert _stored() == before


def test_everyone_of_a_tenant_works_on_the_tenants_items(apis):
    orders = apis["orders"]
    created = orders.post("/orders", {"sku": "C-3"}, user=_someone(), claims={TENANT: "initech"}).json

    colleague = orders.get(f"/orders/{created['id']}", user=_someone(), claims={TENANT: "initech"})

    assert colleague.status == 200 and colleague.json == created
    assert any(item["pk"]["S"] == "tenant#initech" for item in _stored())


def test_a_token_without_the_tenant_claim_is_403_before_anything_is_read(apis):
    answer = apis["orders"].get("/orders", user=_someone())

    assert answer.status == 403 and answer.dynamodb_calls == []
    assert "custom:tenant" in answer.json["message"]


# --- Readers of every owner's items -------------------------------------------------------------------------


def test_staff_list_every_owners_items_across_pages_each_saying_its_owner(apis):
    notes = apis["notes"]
    writers = [_someone() for _ in range(3)]
    created = {notes.post("/notes", {"text": f"by {w[:4]}"}, user=w, groups=None).json["id"]: w for w in writers}
    staff = _someone()

    seen, cursor, pages_read = {}, None, 0
    while True:
        page = notes.get("/notes", user=staff, groups="staff", query={"limit": "2", **({"next": cursor} if cursor else {})})
        assert page.status == 200 and page.dynamodb_operations == ["Query"], "one Query of the index per page"
        assert page.dynamodb_calls[0][1]["IndexName"] == "collection"
        seen.update({item["id"]: item["owner"] for item in page.json["items"]})
        pages_read += 1
        cursor = page.json["next"]
        if cursor is None:
            break

    assert pages_read >= 2
    assert {item_id: seen[item_id] for item_id in created} == created


def test_staff_get_any_owners_item_and_everybody_else_only_their_own(apis):
    notes = apis["notes"]
    owner, staff, stranger = _someone(), _someone(), _someone()
    created = notes.post("/notes", {"text": "private"}, user=owner, groups=None).json

    by_staff = notes.get(f"/notes/{created['id']}", user=staff, groups="staff")
    by_owner = notes.get(f"/notes/{created['id']}", user=owner, groups=None)
    by_stranger = notes.get(f"/notes/{created['id']}", user=stranger, groups=None)
    strangers_list = notes.get("/notes", user=stranger, groups=None)

    assert by_staff.status == 200 and by_staff.json == {**created, "owner": owner} == by_owner.json
    assert by_staff.dynamodb_operations == ["Query"] and by_owner.dynamodb_operations == ["GetItem"]
    assert by_stranger.status == 404
    assert strangers_list.json["items"] == [] and strangers_list.dynamodb_calls[0][1].get("IndexName") is None


def test_a_reader_of_every_owners_items_cannot_write_them(apis):
    notes = apis["notes"]
    owner, staff = _someone(), _someone()
    created = notes.post("/notes", {"text": "keep"}, user=owner, groups=None).json
    before = _stored()

    replaced = notes.put(f"/notes/{created['id']}", {"text": "changed"}, user=staff, groups="staff")
    deleted = notes.delete(f"/notes/{created['id']}", user=staff, groups="staff")

    assert (replaced.status, deleted.status) == (404, 404) and _stored() == before


def test_the_owner_attribute_is_the_servers_and_refused_in_a_body(apis):
    before = _stored()

    answer = apis["notes"].post("/notes", {"text": "x", "owner": "someone-else"}, user=_someone(), groups=None)

    assert answer.status == 400 and "owner" in answer.json["message"] and _stored() == before


def test_a_tampered_cursor_of_every_owners_list_is_a_400(apis):
    answer = apis["notes"].get("/notes", user=_someone(), groups="staff", query={"next": "bm90LWEtY3Vyc29y"})

    assert answer.status == 400 and answer.dynamodb_calls == []


def test_a_public_read_ignores_unknown_query_parameters_so_the_gateways_cache_never_keeps_a_400(apis):
    """The stage's cache keys a public list by the parameters it takes: a 400 for ?junk=1 would be everybody's."""
    pages = apis["pages"]

    public = pages.get("/pages", user=None, query={"junk": "1", "limit": "1"})
    signed_in = pages.get("/pages", user=_someone(), groups=None, query={"junk": "1"})

    assert public.status == 200 and len(public.json["items"]) <= 1
    assert signed_in.status == 400, "a signed-in read is never cached: it still names what it does not know"


def test_a_tenant_value_with_a_hash_is_refused_so_no_tenant_prefixes_anothers_keys(apis):
    answer = apis["orders"].get("/orders", user=_someone(), claims={TENANT: "acme#eu"})

    assert answer.status == 403 and answer.dynamodb_calls == []


def test_an_item_written_before_readers_of_all_joins_their_index_at_its_next_write(apis):
    notes, owner = apis["notes"], _someone()
    older = str(uuid.uuid4())
    boto3.client("dynamodb").put_item(TableName=TABLE_NAME, Item={
        "pk": {"S": owner}, "sk": {"S": f"notes#{older}"}, "id": {"S": older}, "data": {"M": {"text": {"S": "old"}}},
        "createdAt": {"S": "2026-01-01T00:00:00.000Z"}, "updatedAt": {"S": "2026-01-01T00:00:00.000Z"},
    })
    staff = {"user": _someone(), "groups": "staff"}
    assert notes.get(f"/notes/{older}", **staff).status == 404

    notes.put(f"/notes/{older}", {"text": "rewritten"}, user=owner, groups=None)

    assert notes.get(f"/notes/{older}", **staff).json["text"] == "rewritten"
