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
