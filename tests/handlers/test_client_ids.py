"""Ids of the client's choosing (``client_ids``), through proxy events against moto: a PUT with
``If-None-Match: *`` creates once under the client's id; POST still makes server ids."""

from __future__ import annotations

import uuid
from collections.abc import Iterator

import boto3
import pytest

from serverless_meta import ServerlessCrudApi
from tests.handlers.support import TABLE_NAME, ApiClient, serving
from tests.local.support import template_of


def _someone() -> str:
    return str(uuid.uuid4())


@pytest.fixture(scope="module")
def named() -> Iterator[ApiClient]:
    template = template_of(lambda stack: ServerlessCrudApi(stack, "Pages", resource_name="pages", client_ids=True,
                                                           item_schema={"type": "object"},
                                                           operation_groups={"create": ["writers"], "update": ["writers", "editors"]}))
    with serving(template, ("pages",)) as apis:
        yield apis["pages"]


def test_a_put_with_if_none_match_star_creates_the_item_once_under_the_clients_id(named):
    alice = _someone()

    created = named.put("/pages/homepage", {"layout": "grid"}, user=alice, headers={"If-None-Match": "*"}, groups="writers")
    again = named.put("/pages/homepage", {"layout": "list"}, user=alice, headers={"If-None-Match": "*"}, groups="writers")
    got = named.get("/pages/homepage", user=alice)

    assert created.status == 201 and created.json["id"] == "homepage" and created.headers["ETag"] == '"1"'
    assert created.headers["Location"].endswith("/pages/homepage")
    assert created.dynamodb_operations == ["UpdateItem"], "the replace's own action: no PutItem for it"
    assert (again.status, again.headers["ETag"]) == (412, '"1"') and got.json["layout"] == "grid"


def test_another_owner_creates_their_own_item_under_the_same_id(named):
    alice, bob = _someone(), _someone()
    named.put("/pages/about", {"by": "alice"}, user=alice, headers={"If-None-Match": "*"}, groups="writers")

    bobs = named.put("/pages/about", {"by": "bob"}, user=bob, headers={"If-None-Match": "*"}, groups="writers")

    assert bobs.status == 201 and named.get("/pages/about", user=alice).json["by"] == "alice"


@pytest.mark.parametrize("item_id", ["has space", "a/b", "x" * 129, "ünïcode"])
def test_an_id_outside_the_pattern_is_a_400_and_writes_nothing(named, item_id):
    from urllib.parse import quote

    before = boto3.client("dynamodb").scan(TableName=TABLE_NAME)["Count"]

    answer = named.put(f"/pages/{quote(item_id, safe='')}", {"x": 1}, user=_someone(), headers={"If-None-Match": "*"})

    assert answer.status == 400 and "[A-Za-z0-9._-]{1,128}" in answer.json["message"]
    assert boto3.client("dynamodb").scan(TableName=TABLE_NAME)["Count"] == before


def test_post_still_makes_server_ids_and_they_page_with_client_ids(named):
    alice = _someone()
    server = named.post("/pages", {"n": 1}, user=alice).json["id"]
    named.put("/pages/zzz-last", {"n": 2}, user=alice, headers={"If-None-Match": "*"}, groups="writers")

    first = named.get("/pages", user=alice, query={"limit": "1"}).json
    second = named.get("/pages", user=alice, query={"limit": "1", "next": first["next"]}).json

    assert uuid.UUID(server).version == 7
    assert [first["items"][0]["id"], second["items"][0]["id"]] == [server, "zzz-last"]


def test_creating_under_ones_own_id_needs_the_create_operations_groups_not_only_updates(named):
    before = boto3.client("dynamodb").scan(TableName=TABLE_NAME)["Count"]

    answer = named.put("/pages/sneaky", {"x": 1}, user=_someone(), headers={"If-None-Match": "*"}, groups="editors")

    assert answer.status == 403 and "writers may create" in answer.json["message"]
    assert boto3.client("dynamodb").scan(TableName=TABLE_NAME)["Count"] == before
