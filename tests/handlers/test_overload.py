"""DynamoDB throttling beyond the SDK's retries is a 503 with Retry-After: the caller may retry, nothing broke."""

from __future__ import annotations

import pytest
from botocore.stub import Stubber

from tests.handlers.support import ApiClient, load_handler

ITEM = "/metadata/3f2b6c1e-8a9d-4e0f-b1c2-d3e4f5a6b7c8"


@pytest.fixture
def api(aws, environments) -> ApiClient:
    return ApiClient(load_handler(aws, environments["metadata"]), "metadata")


@pytest.mark.parametrize(
    ("method", "path", "operation", "code"),
    [
        ("GET", ITEM, "get_item", "ProvisionedThroughputExceededException"),
        ("POST", "/metadata", "put_item", "ThrottlingException"),
        ("GET", "/metadata", "query", "RequestLimitExceeded"),
        ("PUT", ITEM, "update_item", "ProvisionedThroughputExceededException"),
        ("DELETE", ITEM, "delete_item", "ThrottlingException"),
    ],
)
def test_a_throttled_request_is_503_with_retry_after(api, alice, method, path, operation, code):
    with Stubber(api.handler.repository.client) as stubber:
        stubber.add_client_error(operation, service_error_code=code, service_message="Rate exceeded", http_status_code=400)
        response = api.request(method, path, user=alice, json_body={"page": "x"} if method in ("POST", "PUT") else None)

    assert response.status == 503
    assert response.headers["Retry-After"] == "1"
    assert response.json["message"] == "The service is busy: retry after 1 s"
    assert response.json["requestId"], "a request id to find the log line"
    assert "Rate exceeded" not in response.body and code not in response.body


def test_other_dynamodb_errors_stay_500_without_their_text(api, alice):
    with Stubber(api.handler.repository.client) as stubber:
        stubber.add_client_error("get_item", service_error_code="InternalServerError", service_message="boom")
        response = api.get(ITEM, user=alice)

    assert response.status == 500 and "boom" not in response.body


def test_the_sdk_retries_throttling_before_the_handler_gives_up(api):
    retries = api.handler.repository.client.meta.config.retries
    assert retries == {"mode": "standard", "total_max_attempts": 3}


def test_an_item_too_large_for_dynamodb_is_a_400_that_says_so(api, alice):
    from botocore.exceptions import ClientError

    def too_large(**_kwargs):
        message = "Item size has exceeded the maximum allowed size"
        raise ClientError({"Error": {"Code": "ValidationException", "Message": message}}, "PutItem")

    api.handler.repository.client.meta.events.register("before-call.dynamodb.PutItem", too_large)
    response = api.post("/metadata", {"page": "x"}, user=alice)

    assert (response.status, response.json) == (
        400, {"message": "Request body is too large to store: DynamoDB keeps items of at most 400 KB"}
    )
