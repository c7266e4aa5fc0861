"""Idempotent creation: a POST with an Idempotency-Key creates at most one item, however often it is retried."""

from __future__ import annotations

import threading
import time
from concurrent.futures import ThreadPoolExecutor

import boto3
import pytest

from tests.handlers.support import TABLE_NAME, ApiClient, load_handler

CONFIG = {"page": "homepage", "layout": "grid"}


def _records(owner: str) -> list[dict]:
    return boto3.client("dynamodb").query(
        TableName=TABLE_NAME,
        KeyConditionExpression="pk = :pk",
        ExpressionAttributeValues={":pk": {"S": f"idempotency#{owner}"}},
    )["Items"]


def _items(api: ApiClient, owner: str) -> list[dict]:
    return api.get("/metadata", user=owner).json["items"]


def test_a_retry_gets_the_first_response_and_creates_nothing_more(metadata_api, alice):
    key = {"Idempotency-Key": "order-42"}
    first = metadata_api.post("/metadata", CONFIG, user=alice, headers=key)
    retry = metadata_api.post("/metadata", CONFIG, user=alice, headers=key)

    assert first.status == retry.status == 201
    assert retry.body == first.body
    assert retry.headers["Location"] == first.headers["Location"] and retry.headers["ETag"] == first.headers["ETag"]
    assert retry.headers["Idempotent-Replayed"] == "true" and "Idempotent-Replayed" not in first.headers
    assert len(_items(metadata_api, alice)) == 1


def test_a_first_create_costs_two_requests_and_a_replay_one(metadata_api, alice):
    key = {"Idempotency-Key": "cost"}
    first = metadata_api.post("/metadata", CONFIG, user=alice, headers=key)
    replay = metadata_api.post("/metadata", CONFIG, user=alice, headers=key)
    plain = metadata_api.post("/metadata", CONFIG, user=alice)

    assert first.dynamodb_operations == ["PutItem", "TransactWriteItems"]
    assert replay.dynamodb_operations == ["PutItem"]
    assert plain.dynamodb_operations == ["PutItem"], "without the header, a create is as before"


def test_the_same_body_differently_spaced_is_the_same_request(metadata_api, alice):
    key = {"Idempotency-Key": "spacing"}
    first = metadata_api.request("POST", "/metadata", user=alice, body='{"a": 1, "b": 2}', headers=key)
    retry = metadata_api.request("POST", "/metadata", user=alice, body='{"b":2,"a":1}', headers=key)

    assert retry.status == 201 and retry.body == first.body


def test_the_same_key_with_another_body_is_422_and_writes_nothing(metadata_api, alice, table_items):
    key = {"Idempotency-Key": "reused"}
    metadata_api.post("/metadata", CONFIG, user=alice, headers=key)
    before = table_items()

    response = metadata_api.post("/metadata", {"page": "other"}, user=alice, headers=key)

    assert response.status == 422 and "used with another request body" in response.json["message"]
    assert table_items() == before


def test_the_key_is_the_callers_own(metadata_api, alice, bob):
    key = {"Idempotency-Key": "shared-key"}
    mine = metadata_api.post("/metadata", CONFIG, user=alice, headers=key)
    theirs = metadata_api.post("/metadata", CONFIG, user=bob, headers=key)

    assert theirs.status == 201 and "Idempotent-Replayed" not in theirs.headers
    assert theirs.json["id"] != mine.json["id"]
    assert [item["id"] for item in _items(metadata_api, bob)] == [theirs.json["id"]]


@pytest.mark.parametrize("key", ["", " leading-space", "x" * 129, "naïve", "tab\there"])
def test_a_bad_idempotency_key_is_400_and_writes_nothing(metadata_api, alice, table_items, key):
    before = table_items()

    response = metadata_api.post("/metadata", CONFIG, user=alice, headers={"Idempotency-Key": key})

    assert response.status == 400 and "Idempotency-Key must be 1 to 128 printable ASCII" in response.json["message"]
    assert table_items() == before


def test_keys_of_1_and_128_characters_are_accepted(metadata_api, alice):
    for key in ("k", "k" * 128):
        assert metadata_api.post("/metadata", CONFIG, user=alice, headers={"Idempotency-Key": key}).status == 201


def test_records_live_apart_from_items_and_expire_after_a_day(metadata_api, alice):
    before = int(time.time())
    metadata_api.post("/metadata", CONFIG, user=alice, headers={"Idempotency-Key": "ttl"})

    (record,) = _records(alice)
    assert record["sk"]["S"] == "metadata#ttl"
    assert before + 86_400 <= int(record["expiresAt"]["N"]) <= int(time.time()) + 86_400
    assert len(_items(metadata_api, alice)) == 1, "records never show in the caller's list"


def test_after_the_record_expires_the_key_creates_again(metadata_api, alice):
    key = {"Idempotency-Key": "yesterday"}
    first = metadata_api.post("/metadata", CONFIG, user=alice, headers=key)
    boto3.client("dynamodb").update_item(
        TableName=TABLE_NAME,
        Key={"pk": {"S": f"idempotency#{alice}"}, "sk": {"S": "metadata#yesterday"}},
        UpdateExpression="SET expiresAt = :past",
        ExpressionAttributeValues={":past": {"N": str(int(time.time()) - 1)}},
    )

    again = metadata_api.post("/metadata", CONFIG, user=alice, headers=key)

    assert again.status == 201 and again.json["id"] != first.json["id"]


@pytest.fixture
def paused_client(aws, owner_scoped_environment):
    """A second handler instance whose transactions wait until the test lets them go on."""
    handler = load_handler(aws, owner_scoped_environment)
    entered, proceed = threading.Event(), threading.Event()

    def pause(**_kwargs):
        entered.set()
        assert proceed.wait(10)

    handler.repository.client.meta.events.register("before-call.dynamodb.TransactWriteItems", pause)
    return ApiClient(handler, "metadata"), entered, proceed


def test_a_retry_while_the_first_is_in_flight_is_409_and_writes_nothing(metadata_api, paused_client, alice, table_items):
    slow_api, entered, proceed = paused_client
    key = {"Idempotency-Key": "in-flight"}
    with ThreadPoolExecutor(1) as pool:
        first = pool.submit(slow_api.post, "/metadata", CONFIG, user=alice, headers=key)
        assert entered.wait(10)
        before = table_items()
        retry = metadata_api.post("/metadata", CONFIG, user=alice, headers=key)
        after = table_items()
        proceed.set()
        first = first.result(10)

    assert retry.status == 409 and "still being processed" in retry.json["message"]
    assert after == before
    assert first.status == 201
    assert metadata_api.post("/metadata", CONFIG, user=alice, headers=key).body == first.body


def test_a_claim_whose_function_died_lapses_at_its_timeout(metadata_api, alice):
    key = {"Idempotency-Key": "orphan"}
    boto3.client("dynamodb").put_item(
        TableName=TABLE_NAME,
        Item={
            "pk": {"S": f"idempotency#{alice}"},
            "sk": {"S": "metadata#orphan"},
            "status": {"S": "INPROGRESS"},
            "fingerprint": {"S": "whatever"},
            "requestId": {"S": "a-request-that-died"},
            "inProgressUntil": {"N": str(int(time.time() * 1000) - 1)},
            "expiresAt": {"N": str(int(time.time()) + 86_000)},
        },
    )

    assert metadata_api.post("/metadata", CONFIG, user=alice, headers=key).status == 201


def test_a_create_that_fails_releases_its_key_for_the_retry(aws, owner_scoped_environment, alice):
    handler = load_handler(aws, owner_scoped_environment)
    failures = iter([True])

    def throttle_once(**_kwargs):
        if next(failures, False):
            from botocore.exceptions import ClientError

            raise ClientError({"Error": {"Code": "ThrottlingException", "Message": "slow down"}}, "TransactWriteItems")

    handler.repository.client.meta.events.register("before-call.dynamodb.TransactWriteItems", throttle_once)
    api = ApiClient(handler, "metadata")
    key = {"Idempotency-Key": "retry-me"}

    failed = api.post("/metadata", CONFIG, user=alice, headers=key)
    retried = api.post("/metadata", CONFIG, user=alice, headers=key)

    assert failed.status == 503
    assert retried.status == 201 and "Idempotent-Replayed" not in retried.headers
    assert len(_items(api, alice)) == 1


def _cancelled(reasons: list[str]):
    from botocore.exceptions import ClientError

    def raise_cancellation(**_kwargs):
        raise ClientError(
            {
                "Error": {"Code": "TransactionCanceledException", "Message": "Transaction cancelled"},
                "CancellationReasons": [{"Code": reason} for reason in reasons],
            },
            "TransactWriteItems",
        )

    return raise_cancellation


@pytest.mark.parametrize("reason", ["ThrottlingError", "ProvisionedThroughputExceeded", "RequestLimitExceeded"])
def test_a_transaction_cancelled_by_throttling_is_503_and_releases_the_key(aws, owner_scoped_environment, alice, reason):
    handler = load_handler(aws, owner_scoped_environment)
    handler.repository.client.meta.events.register("before-call.dynamodb.TransactWriteItems", _cancelled(["None", reason]))
    api = ApiClient(handler, "metadata")
    key = {"Idempotency-Key": f"busy-{reason}"}

    busy = api.post("/metadata", CONFIG, user=alice, headers=key)

    assert busy.status == 503 and busy.headers["Retry-After"] == "1"
    retried = ApiClient(load_handler(aws, owner_scoped_environment), "metadata").post("/metadata", CONFIG, user=alice, headers=key)
    assert retried.status == 201, "the key was released for the retry"


def test_a_claim_taken_over_while_this_request_was_slow_is_409(aws, owner_scoped_environment, alice, table_items):
    """This request's claim lapsed and another request holds the key: the record's condition cancels the transaction."""
    handler = load_handler(aws, owner_scoped_environment)
    handler.repository.client.meta.events.register(
        "before-call.dynamodb.TransactWriteItems", _cancelled(["None", "ConditionalCheckFailed"])
    )
    api = ApiClient(handler, "metadata")

    response = api.post("/metadata", CONFIG, user=alice, headers={"Idempotency-Key": "taken-over"})

    assert response.status == 409 and "still being processed" in response.json["message"]
    assert _items(api, alice) == []
