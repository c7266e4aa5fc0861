"""The Feedback service: users submit feedback (feedbackId, feedback, timestamp) and list their own."""

from __future__ import annotations

import time
import uuid

import pytest


def test_submitting_feedback_stores_id_text_and_timestamp(feedback_api, alice):
    before = int(time.time())

    response = feedback_api.post("/feedback", {"feedback": "The grid layout is great"}, user=alice)

    assert response.status == 201
    item = response.json
    assert str(uuid.UUID(item["feedbackId"])) == item["feedbackId"]
    assert item["feedback"] == "The grid layout is great"
    assert isinstance(item["timestamp"], int) and before <= item["timestamp"] <= int(time.time())
    # Staff read every user's feedback (read_all_groups), so each piece says whose it is.
    assert set(item) == {"feedbackId", "feedback", "timestamp", "createdAt", "updatedAt", "owner"} and item["owner"] == alice
    assert response.headers["Location"] == f"/prod/feedback/{item['feedbackId']}"
    assert response.dynamodb_operations == ["PutItem"]


def test_listing_feedback_returns_the_callers_own(feedback_api, alice, bob):
    mine = feedback_api.post("/feedback", {"feedback": "mine"}, user=alice).json
    feedback_api.post("/feedback", {"feedback": "theirs"}, user=bob)

    response = feedback_api.get("/feedback", user=alice)

    assert response.status == 200
    assert response.json == {"items": [{**mine, "etag": '"1"'}], "next": None}


BAD_FEEDBACK = {
    "missing feedback": ({}, "body must contain ['feedback'] properties"),
    "empty feedback": ({"feedback": ""}, "body.feedback must be longer than or equal to 1 characters"),
    "blank feedback": ({"feedback": "   \n\t"}, "body.feedback must match pattern"),
    "feedback too long": ({"feedback": "x" * 2001}, "body.feedback must be shorter than or equal to 2000 characters"),
    "feedback not text": ({"feedback": 5}, "body.feedback must be string"),
    "unexpected attribute": ({"feedback": "ok", "rating": 5}, "body must not contain {'rating'} properties"),
    "timestamp in body": ({"feedback": "ok", "timestamp": 1}, "server-owned attributes: timestamp"),
    "feedbackId in body": ({"feedback": "ok", "feedbackId": "x"}, "server-owned attributes: feedbackId"),
}


@pytest.mark.parametrize(("body", "message"), BAD_FEEDBACK.values(), ids=BAD_FEEDBACK.keys())
def test_bad_feedback_is_400_and_writes_nothing(feedback_api, alice, table_items, body, message):
    before = table_items()

    response = feedback_api.post("/feedback", body, user=alice)

    assert response.status == 400
    assert set(response.json) == {"message"}
    assert message in response.json["message"]
    assert table_items() == before


def test_feedback_at_the_length_limit_is_accepted(feedback_api, alice):
    assert feedback_api.post("/feedback", {"feedback": "x" * 2000}, user=alice).status == 201


def test_feedback_offers_only_create_and_list(feedback_api, alice):
    item_path = f"/feedback/{uuid.uuid4()}"

    wrong_method = feedback_api.request("PUT", "/feedback", user=alice)
    no_item_routes = [feedback_api.request(method, item_path, user=alice) for method in ("GET", "PUT", "DELETE")]

    assert wrong_method.status == 405 and wrong_method.headers["Allow"] == "GET, POST"
    assert [r.status for r in no_item_routes] == [404, 404, 404]
