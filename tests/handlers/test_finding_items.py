"""How clients find items: creation order both ways across pages, time-ordered ids, and a query parameter the
route does not know refused rather than ignored."""

from __future__ import annotations

import uuid

import boto3
import pytest

from tests.handlers.support import TABLE_NAME

CONFIG = {"page": "homepage", "layout": "grid"}


def _all_pages(api, user: str, **query: str) -> list[dict]:
    items, cursor = [], None
    while True:
        page = api.get("/metadata", user=user, query={**query, **({"next": cursor} if cursor else {})})
        assert page.status == 200 and page.dynamodb_operations == ["Query"], page.body
        items += page.json["items"]
        cursor = page.json["next"]
        if cursor is None:
            return items


def test_new_ids_are_rfc_9562_uuids_of_version_7_in_the_order_they_were_made(metadata_api, alice):
    ids = [metadata_api.post("/metadata", {**CONFIG, "n": n}, user=alice).json["id"] for n in range(5)]

    parsed = [uuid.UUID(item_id) for item_id in ids]
    assert all(u.version == 7 and u.variant == uuid.RFC_4122 and str(u) == i for u, i in zip(parsed, ids, strict=True))
    assert ids == sorted(ids), "time-ordered: the table's own order is creation order"


def test_a_list_comes_in_creation_order_oldest_first_or_newest_first_across_pages(metadata_api, alice):
    made = [metadata_api.post("/metadata", {**CONFIG, "n": n}, user=alice).json["n"] for n in range(5)]

    oldest = [item["n"] for item in _all_pages(metadata_api, alice, limit="2")]
    newest = [item["n"] for item in _all_pages(metadata_api, alice, limit="2", order="newest")]
    explicit = [item["n"] for item in _all_pages(metadata_api, alice, limit="2", order="oldest")]

    assert oldest == made == explicit
    assert newest == list(reversed(made))


def test_items_with_older_random_ids_keep_working_and_sort_by_their_id(metadata_api, alice):
    """Items made before ids were time-ordered (UUIDv4) are read, replaced and deleted as before."""
    old_id = "f3b2c1d0-9e8f-4a7b-8c6d-5e4f3a2b1c0d"
    boto3.client("dynamodb").put_item(
        TableName=TABLE_NAME,
        Item={
            "pk": {"S": alice}, "sk": {"S": f"metadata#{old_id}"}, "id": {"S": old_id},
            "data": {"M": {"page": {"S": "legacy"}}}, "createdAt": {"S": "2026-01-01T00:00:00.000Z"},
            "updatedAt": {"S": "2026-01-01T00:00:00.000Z"}, "version": {"N": "1"},
        },
    )
    new_id = metadata_api.post("/metadata", CONFIG, user=alice).json["id"]

    listed = [item["id"] for item in _all_pages(metadata_api, alice)]

    assert listed == sorted([old_id, new_id]), "an older random id sorts among the new ones by its id, not its age"
    assert metadata_api.get(f"/metadata/{old_id}", user=alice).json["page"] == "legacy"
    assert metadata_api.put(f"/metadata/{old_id}", {"page": "kept"}, user=alice).status == 200
    assert metadata_api.delete(f"/metadata/{old_id}", user=alice).status == 204


@pytest.mark.parametrize(
    ("method", "path", "query", "named"),
    [
        ("GET", "/metadata", {"page": "homepage"}, "page"),
        ("GET", "/metadata", {"limit": "2", "sort": "x", "filter": "y"}, "filter, sort"),
        ("GET", "/metadata/{id}", {"fields": "page"}, "fields"),
        ("PUT", "/metadata/{id}", {"force": "true"}, "force"),
        ("DELETE", "/metadata/{id}", {"cascade": "true"}, "cascade"),
        ("POST", "/metadata", {"dryRun": "true"}, "dryRun"),
    ],
)
def test_a_query_parameter_the_route_does_not_know_is_a_400_naming_it_and_changes_nothing(
    metadata_api, alice, table_items, method, path, query, named
):
    item = metadata_api.post("/metadata", CONFIG, user=alice).json
    before = table_items()

    answer = metadata_api.request(
        method, path.replace("{id}", item["id"]), user=alice, query=query,
        json_body=CONFIG if method in ("PUT", "POST") else None,
    )

    assert answer.status == 400 and f"Unknown query parameter {named}" in answer.json["message"]
    assert answer.dynamodb_calls == [] and table_items() == before


def test_an_unknown_order_is_a_400(metadata_api, alice):
    answer = metadata_api.get("/metadata", user=alice, query={"order": "random"})

    assert (answer.status, answer.json) == (400, {"message": "order must be oldest or newest"})
