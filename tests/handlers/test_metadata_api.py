"""The Metadata service's routes, end to end through proxy events: CRUD on render configurations."""

from __future__ import annotations

import uuid
from datetime import datetime
from decimal import Decimal

import pytest

from tests.handlers.support import LambdaContext

CONFIG = {"page": "homepage", "layout": "grid", "theme": "dark", "columns": 3, "ratio": 1.5, "beta": True}


def _is_uuid(value: str) -> bool:
    return str(uuid.UUID(value)) == value


def _is_utc_iso(value: str) -> bool:
    return value.endswith("Z") and datetime.fromisoformat(value).utcoffset().total_seconds() == 0


def test_create_returns_201_with_location_and_the_stored_item(metadata_api, alice):
    response = metadata_api.post("/metadata", CONFIG, user=alice)

    assert response.status == 201
    item = response.json
    assert _is_uuid(item["id"])
    assert response.headers["Location"] == f"/prod/metadata/{item['id']}"
    assert response.headers["Content-Type"] == "application/json"
    assert {k: item[k] for k in CONFIG} == CONFIG
    assert _is_utc_iso(item["createdAt"]) and item["updatedAt"] == item["createdAt"]
    assert set(item) == {"id", "createdAt", "updatedAt", *CONFIG}, "no storage keys leak into the response"
    assert response.dynamodb_operations == ["PutItem"]


def test_get_returns_the_item_as_created(metadata_api, alice):
    created = metadata_api.post("/metadata", CONFIG, user=alice).json

    response = metadata_api.get(f"/metadata/{created['id']}", user=alice)

    assert response.status == 200
    assert response.json == created
    assert response.dynamodb_operations == ["GetItem"]


def test_values_round_trip_with_their_json_types(metadata_api, alice):
    body = {
        "int": 42,
        "negative": -7,
        "float": 0.1,
        "precise": 0.12345678901234568,
        "tiny": 1.5e-129,
        "big_integer": 12345678901234567890123456789012345678,
        "big": 12345678901234567890,
        "nested": {"list": [1, "two", {"three": None}], "empty": {}},
        "flag": False,
        "nothing": None,
        "text": "Grüße, 世界 🎉",
        "blank": "",
    }
    created = metadata_api.post("/metadata", body, user=alice).json

    fetched = metadata_api.get(f"/metadata/{created['id']}", user=alice).json

    assert {k: fetched[k] for k in body} == body


def test_get_of_an_unknown_id_is_404(metadata_api, alice):
    missing = str(uuid.uuid4())

    response = metadata_api.get(f"/metadata/{missing}", user=alice)

    assert response.status == 404
    assert response.json == {"message": f"metadata {missing} not found"}


def test_update_replaces_the_attributes_and_keeps_created_at(metadata_api, alice):
    created = metadata_api.post("/metadata", CONFIG, user=alice).json

    response = metadata_api.put(f"/metadata/{created['id']}", {"page": "about", "theme": "light"}, user=alice)

    assert response.status == 200
    updated = response.json
    assert updated["page"] == "about" and updated["theme"] == "light"
    assert "layout" not in updated, "PUT replaces: attributes left out are gone"
    assert updated["id"] == created["id"] and updated["createdAt"] == created["createdAt"]
    assert updated["updatedAt"] >= created["updatedAt"]
    assert metadata_api.get(f"/metadata/{created['id']}", user=alice).json == updated
    assert response.dynamodb_operations == ["UpdateItem"]


def test_update_of_an_unknown_id_is_404_and_creates_nothing(metadata_api, alice, table_items):
    before = table_items()

    response = metadata_api.put(f"/metadata/{uuid.uuid4()}", CONFIG, user=alice)

    assert response.status == 404
    assert table_items() == before


def test_delete_returns_204_and_the_item_is_gone(metadata_api, alice):
    created = metadata_api.post("/metadata", CONFIG, user=alice).json

    response = metadata_api.delete(f"/metadata/{created['id']}", user=alice)

    assert response.status == 204
    assert response.body == ""
    assert response.dynamodb_operations == ["DeleteItem"]
    assert metadata_api.get(f"/metadata/{created['id']}", user=alice).status == 404


def test_delete_of_an_unknown_id_is_404(metadata_api, alice):
    assert metadata_api.delete(f"/metadata/{uuid.uuid4()}", user=alice).status == 404


def test_another_users_item_is_404_for_every_item_route_and_stays_unchanged(metadata_api, alice, bob):
    created = metadata_api.post("/metadata", CONFIG, user=alice).json
    path = f"/metadata/{created['id']}"

    responses = [
        metadata_api.get(path, user=bob),
        metadata_api.put(path, {"theme": "hijacked"}, user=bob),
        metadata_api.delete(path, user=bob),
    ]

    assert [r.status for r in responses] == [404, 404, 404], "never 403: that would confirm the item exists"
    assert all(r.json == {"message": f"metadata {created['id']} not found"} for r in responses)
    assert metadata_api.get(path, user=alice).json == created


def test_list_returns_only_the_callers_items_with_one_query(metadata_api, alice, bob):
    mine = {metadata_api.post("/metadata", {"n": n}, user=alice).json["id"] for n in range(3)}
    metadata_api.post("/metadata", {"n": 99}, user=bob)

    response = metadata_api.get("/metadata", user=alice)

    assert response.status == 200
    assert {item["id"] for item in response.json["items"]} == mine
    assert response.json["next"] is None
    assert response.dynamodb_operations == ["Query"], "a list is one Query, never a Scan"


def test_list_of_a_caller_with_no_items_is_empty(metadata_api, alice):
    assert metadata_api.get("/metadata", user=alice).json == {"items": [], "next": None}


def test_list_pages_with_an_opaque_next_cursor_one_query_per_page(metadata_api, alice):
    created = {metadata_api.post("/metadata", {"n": n}, user=alice).json["id"] for n in range(5)}

    seen, cursor, pages = [], None, 0
    while True:
        query = {"limit": "2", **({"next": cursor} if cursor else {})}
        response = metadata_api.get("/metadata", user=alice, query=query)
        assert response.status == 200
        assert response.dynamodb_operations == ["Query"]
        assert len(response.json["items"]) <= 2
        seen += [item["id"] for item in response.json["items"]]
        pages += 1
        cursor = response.json["next"]
        if cursor is None:
            break
        assert cursor not in created, "the cursor is opaque, not a raw id"

    assert sorted(seen) == sorted(created), "every item exactly once"
    assert pages == 3


@pytest.mark.parametrize("limit", ["101", "1000", "0000200", "9" * 5000])
def test_list_caps_the_page_size_at_100(metadata_api, alice, limit):
    response = metadata_api.get("/metadata", user=alice, query={"limit": limit})

    assert response.status == 200
    ((operation, params),) = response.dynamodb_calls
    assert operation == "Query" and params["Limit"] == 100


def test_list_uses_a_default_page_size_of_25(metadata_api, alice):
    response = metadata_api.get("/metadata", user=alice)

    ((_, params),) = response.dynamodb_calls
    assert params["Limit"] == 25


def test_a_base64_encoded_body_is_decoded(metadata_api, alice):
    response = metadata_api.request("POST", "/metadata", user=alice, body='{"page": "b64"}', base64_body=True)

    assert response.status == 201
    assert response.json["page"] == "b64"


def test_a_base64_encoded_body_that_is_not_utf8_text_is_a_400(metadata_api, alice):
    response = metadata_api.request("POST", "/metadata", user=alice, body=b'{"page": "\xff"}')

    assert response.status == 400
    assert response.json == {"message": "Request body is not valid UTF-8 text"}
    assert response.dynamodb_calls == []


def test_header_names_are_read_in_any_case(metadata_api, alice):
    created = metadata_api.post("/metadata", CONFIG, user=alice)

    unchanged = metadata_api.get(created.headers["Location"].removeprefix("/prod"), user=alice,
                                 headers={"if-none-match": created.headers["ETag"]})

    assert unchanged.status == 304


def test_a_number_in_exponent_notation_comes_back_as_the_same_decimal_value(metadata_api, alice):
    created = metadata_api.request("POST", "/metadata", user=alice, body='{"huge": 9.5e125, "small": 2.5e-7}').json

    fetched = metadata_api.get(f"/metadata/{created['id']}", user=alice).json

    assert Decimal(str(fetched["huge"])) == Decimal("9.5e125")
    assert fetched["small"] == 2.5e-7


def test_numbers_beyond_double_precision_are_stored_as_the_double_every_response_returns(metadata_api, alice):
    created = metadata_api.request("POST", "/metadata", user=alice, body='{"x": 0.12345678901234567890123}')

    assert created.json["x"] == 0.12345678901234568
    assert metadata_api.get(f"/metadata/{created.json['id']}", user=alice).json["x"] == created.json["x"]


def test_a_custom_domain_base_path_does_not_change_routing(metadata_api, alice):
    created = metadata_api.post("/metadata", CONFIG, user=alice).json
    event = metadata_api.event("GET", f"/metadata/{created['id']}", user=alice)
    event["path"] = f"/v1/metadata/{created['id']}"  # what API Gateway sends behind a base path mapping "v1"
    event["requestContext"]["path"] = event["path"]

    result = metadata_api.handler.lambda_handler(event, LambdaContext())

    assert result["statusCode"] == 200


def test_list_returns_only_this_resources_items_from_a_shared_table(metadata_api, feedback_api, alice):
    config = metadata_api.post("/metadata", CONFIG, user=alice).json
    feedback_api.post("/feedback", {"feedback": "same owner, other resource"}, user=alice)

    assert metadata_api.get("/metadata", user=alice).json["items"] == [{**config, "etag": '"1"'}]


def test_with_cors_the_handler_answers_allowed_origins_only(aws, environments, alice):
    from tests.handlers.support import ApiClient, load_handler

    origins = "https://app.example.com,https://admin.example.com"
    cors_api = ApiClient(load_handler(aws, {**environments["metadata"], "CORS_ALLOW_ORIGINS": origins}), "metadata")

    allowed = cors_api.get("/metadata", user=alice, headers={"Origin": "https://admin.example.com"})
    other = cors_api.get("/metadata", user=alice, headers={"Origin": "https://evil.example.com"})
    error = cors_api.get("/metadata/not-an-id", user=alice, headers={"Origin": "https://app.example.com"})

    assert allowed.headers["Access-Control-Allow-Origin"] == "https://admin.example.com"
    assert "Location" in allowed.headers["Access-Control-Expose-Headers"]
    assert "Access-Control-Allow-Origin" not in other.headers
    assert error.status == 400 and error.headers["Access-Control-Allow-Origin"] == "https://app.example.com"
    # The answer depends on the Origin: a shared cache must not hand one origin's answer to another.
    assert allowed.headers["Vary"] == other.headers["Vary"] == error.headers["Vary"] == "Origin"


def test_with_every_origin_allowed_the_handler_says_so_to_every_caller(aws, environments, alice):
    from tests.handlers.support import ApiClient, load_handler

    cors_api = ApiClient(load_handler(aws, {**environments["metadata"], "CORS_ALLOW_ORIGINS": "*"}), "metadata")

    answer = cors_api.get("/metadata", user=alice, headers={"Origin": "https://any.example.com"})

    assert answer.headers["Access-Control-Allow-Origin"] == "*"
    assert "Vary" not in answer.headers
