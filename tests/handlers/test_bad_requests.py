"""Bad input is a 400 with a JSON message and writes nothing; unknown routes 404, wrong methods 405."""

from __future__ import annotations

import json
import uuid

import pytest

from tests.handlers.support import (
    BAD_BODIES,
    TABLE_NAME,
    ApiClient,
    LambdaContext,
    load_handler,
)


def _assert_clean_400(response, expected_message: str) -> None:
    assert response.status == 400
    assert response.headers["Content-Type"] == "application/json"
    assert set(response.json) == {"message"}
    assert expected_message in response.json["message"]
    assert "Traceback" not in response.body and "Exception" not in response.body


@pytest.mark.parametrize(("raw", "message"), BAD_BODIES.values(), ids=BAD_BODIES.keys())
def test_create_with_a_bad_body_is_400_and_writes_nothing(metadata_api, alice, table_items, raw, message):
    before = table_items()

    response = metadata_api.request("POST", "/metadata", user=alice, body=raw)

    _assert_clean_400(response, message)
    assert response.dynamodb_calls == []
    assert table_items() == before


@pytest.mark.parametrize(("raw", "message"), BAD_BODIES.values(), ids=BAD_BODIES.keys())
def test_update_with_a_bad_body_is_400_and_changes_nothing(metadata_api, alice, table_items, raw, message):
    created = metadata_api.post("/metadata", {"page": "home"}, user=alice).json
    before = table_items()

    response = metadata_api.request("PUT", f"/metadata/{created['id']}", user=alice, body=raw)

    _assert_clean_400(response, message)
    assert table_items() == before


BAD_IDS = ["not-a-uuid", "123", "\x1f", "%00", "3F2B6C1E-8A9D-4E0F-B1C2-D3E4F5A6B7C8", "{3f2b6c1e-8a9d-4e0f-b1c2-d3e4f5a6b7c8}"]


@pytest.mark.parametrize("bad_id", BAD_IDS)
@pytest.mark.parametrize("method", ["GET", "PUT", "DELETE"])
def test_a_bad_id_is_400_and_touches_nothing(metadata_api, alice, table_items, method, bad_id):
    before = table_items()

    body = json.dumps({"page": "home"}) if method == "PUT" else None
    response = metadata_api.request(method, f"/metadata/{bad_id}", user=alice, body=body)

    _assert_clean_400(response, "Invalid metadata id")
    assert response.dynamodb_calls == []
    assert table_items() == before


@pytest.mark.parametrize("limit", ["0", "000", "-1", "ten", "1.5", "", "²", "٣", " 5"])
def test_a_bad_limit_is_400(metadata_api, alice, limit):
    response = metadata_api.get("/metadata", user=alice, query={"limit": limit})

    _assert_clean_400(response, "limit must be a positive integer")


@pytest.mark.parametrize("cursor", ["!!!", "bm90LWEtdXVpZA", "%%", "AAAA"])
def test_a_bad_next_cursor_is_400(metadata_api, alice, cursor):
    response = metadata_api.get("/metadata", user=alice, query={"next": cursor})

    _assert_clean_400(response, "Invalid next cursor")


@pytest.mark.parametrize("path", ["/", "/unknown", "/metadata/a/b", "/metadatas"])
def test_an_unknown_route_is_404(metadata_api, alice, path):
    response = metadata_api.get(path, user=alice)

    assert response.status == 404
    assert response.json == {"message": "Not Found"}


@pytest.mark.parametrize(
    ("method", "path", "allow"),
    [
        ("PATCH", "/metadata", "GET, POST"),
        ("DELETE", "/metadata", "GET, POST"),
        ("POST", f"/metadata/{uuid.uuid4()}", "DELETE, GET, PUT"),
        ("PATCH", f"/metadata/{uuid.uuid4()}", "DELETE, GET, PUT"),
    ],
)
def test_a_method_the_path_does_not_offer_is_405_with_allow(metadata_api, alice, method, path, allow):
    response = metadata_api.request(method, path, user=alice)

    assert response.status == 405
    assert response.json == {"message": "Method Not Allowed"}
    assert response.headers["Allow"] == allow


def test_a_request_without_cognito_claims_is_401_and_touches_nothing(metadata_api, table_items):
    before = table_items()

    response = metadata_api.post("/metadata", {"page": "home"}, user=None)

    assert response.status == 401
    assert response.json == {"message": "Unauthorized"}
    assert table_items() == before


def _broken_metadata_api(aws, environments) -> ApiClient:
    """The Metadata handler pointed at a table that does not exist: every request is a server fault.

    Its own service name gives it a fresh Powertools logger, writing to this test's captured stdout.
    """
    variables = {
        **environments["metadata"],
        "TABLE_NAME": f"{TABLE_NAME}-missing",
        "POWERTOOLS_SERVICE_NAME": f"metadata-fault-{uuid.uuid4()}",
    }
    return ApiClient(load_handler(aws, variables), "metadata")


@pytest.mark.filterwarnings("ignore:POWERTOOLS_DEV environment variable is enabled")
@pytest.mark.parametrize("powertools_dev", ["false", "true"])
def test_a_server_fault_is_500_with_the_request_id_and_no_exception_text(
    aws, environments, alice, monkeypatch, powertools_dev
):
    monkeypatch.setenv("POWERTOOLS_DEV", powertools_dev)
    broken = _broken_metadata_api(aws, environments)
    event = broken.event("GET", "/metadata", user=alice)

    result = broken.handler.lambda_handler(event, LambdaContext())

    assert result["statusCode"] == 500
    assert json.loads(result["body"]) == {
        "message": "Internal server error",
        "requestId": event["requestContext"]["requestId"],
    }
    assert "ResourceNotFound" not in result["body"] and "Traceback" not in result["body"]


def test_a_server_faults_request_id_finds_its_log_entry(aws, environments, alice, capsys):
    broken = _broken_metadata_api(aws, environments)
    event = broken.event("GET", "/metadata", user=alice)
    capsys.readouterr()

    broken.handler.lambda_handler(event, LambdaContext())

    logged = [json.loads(line) for line in capsys.readouterr().out.splitlines() if line.startswith("{")]
    (error,) = [entry for entry in logged if entry.get("level") == "ERROR"]
    assert error["correlation_id"] == event["requestContext"]["requestId"]
    assert "ResourceNotFoundException" in error["exception"], "the log, not the response, has the detail"


@pytest.mark.parametrize("item_id", ["\n", "abc\n", "\r\n"])
def test_an_id_ending_in_a_line_break_is_400_not_the_list(metadata_api, alice, item_id):
    """Found by the fuzz test: a route pattern's $ matches before a trailing newline."""
    response = metadata_api.get(f"/metadata/{item_id}", user=alice)

    assert response.status == 400 and response.json["message"].startswith("Invalid metadata id")
