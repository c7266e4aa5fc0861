"""Whatever a client sends, the answer is a 2xx or a 4xx with a JSON message: never a 5xx."""

from __future__ import annotations

import json

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

FUZZ = settings(max_examples=100, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])

json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats() | st.text(),
    lambda children: st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=8), children, max_size=4),
    max_leaves=20,
)


def _assert_client_error_or_success(response, success: int) -> None:
    assert response.status in (success, 400), response.body
    if response.status == 400:
        assert set(response.json) == {"message"}


@FUZZ
@given(body=st.dictionaries(st.text(max_size=12), json_values, max_size=6))
def test_any_json_object_is_created_or_rejected(metadata_api, alice, body):
    response = metadata_api.request("POST", "/metadata", user=alice, body=json.dumps(body))
    _assert_client_error_or_success(response, 201)


@FUZZ
@given(raw=st.text(max_size=200))
def test_any_text_body_is_created_or_rejected(metadata_api, alice, raw):
    _assert_client_error_or_success(metadata_api.request("POST", "/metadata", user=alice, body=raw), 201)


@FUZZ
@given(limit=st.none() | st.text(max_size=12), cursor=st.none() | st.text(max_size=40))
def test_any_list_query_is_served_or_rejected(metadata_api, alice, limit, cursor):
    query = {k: v for k, v in {"limit": limit, "next": cursor}.items() if v is not None}
    _assert_client_error_or_success(metadata_api.get("/metadata", user=alice, query=query or None), 200)


@FUZZ
@given(item_id=st.text(alphabet=st.characters(blacklist_characters="/"), min_size=1, max_size=40))
def test_any_item_id_is_found_missing_or_rejected(metadata_api, alice, item_id):
    response = metadata_api.get(f"/metadata/{item_id}", user=alice)
    assert response.status in (400, 404), response.body
    assert set(response.json) == {"message"}


@FUZZ
@given(body=st.dictionaries(st.text(max_size=12), json_values, max_size=4))
def test_any_feedback_is_created_or_rejected(feedback_api, alice, body):
    _assert_client_error_or_success(feedback_api.request("POST", "/feedback", user=alice, body=json.dumps(body)), 201)


header_text = st.text(alphabet=st.characters(min_codepoint=0x20, max_codepoint=0xFF), max_size=140)


@FUZZ
@given(if_match=header_text, if_none_match=header_text, key=header_text)
def test_any_precondition_or_idempotency_key_is_answered_within_the_contract(metadata_api, alice, if_match, if_none_match, key):
    from crud_api import contract

    created = metadata_api.post("/metadata", {"n": 1}, user=alice, headers={"Idempotency-Key": key})
    assert created.status in contract.RESPONSES["create"] and created.status < 500, created.body
    item_id = created.json.get("id") if created.status == 201 else "3f2b6c1e-8a9d-4e0f-b1c2-d3e4f5a6b7c8"
    path = f"/metadata/{item_id}"
    for operation, response in (
        ("get", metadata_api.get(path, user=alice, headers={"If-None-Match": if_none_match})),
        ("update", metadata_api.put(path, {"n": 2}, user=alice, headers={"If-Match": if_match})),
        ("delete", metadata_api.delete(path, user=alice, headers={"If-Match": if_match})),
    ):
        assert response.status in contract.RESPONSES[operation] and response.status < 500, (operation, response.body)
