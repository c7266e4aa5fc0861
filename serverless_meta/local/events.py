"""Events as AWS builds them for Lambda: API Gateway REST proxy events (payload format 1.0), and the
batches Lambda's event source mapping reads from an SQS queue."""

from __future__ import annotations

import base64
import time
import uuid
from collections.abc import Mapping, Sequence
from datetime import UTC, datetime
from typing import Any

ACCOUNT_ID = "000000000000"


def _single_and_multi(pairs: Sequence[tuple[str, str]]) -> tuple[dict[str, str] | None, dict[str, list[str]] | None]:
    """API Gateway's two views of repeated names: the last value, and every value."""
    if not pairs:
        return None, None
    single: dict[str, str] = {}
    multi: dict[str, list[str]] = {}
    for name, value in pairs:
        single[name] = value
        multi.setdefault(name, []).append(value)
    return single, multi


def rest_proxy_event(
    *,
    method: str,
    path: str,
    resource: str,
    stage: str,
    path_parameters: Mapping[str, str] | None = None,
    headers: Sequence[tuple[str, str]] = (),
    query: Sequence[tuple[str, str]] = (),
    body: bytes | None = None,
    binary: bool = False,
    claims: Mapping[str, str] | None = None,
    api_id: str = "local",
    request_id: str | None = None,
    source_ip: str = "127.0.0.1",
    domain_name: str = "localhost",
) -> dict[str, Any]:
    """The event a Lambda proxy integration receives for one request.

    ``path`` is the request path after the stage (``/metadata/42``); ``resource`` is the API
    resource it matched (``/metadata/{id}``). ``claims`` are a Cognito authorizer's, as strings.
    ``binary``: the body's type is one of the API's binary media types, so it travels base64-encoded;
    any other body is text.
    """
    single_headers, multi_headers = _single_and_multi(headers)
    single_query, multi_query = _single_and_multi(query)
    encoded_body, is_base64 = _body(body, binary)
    now = time.time()
    user_agent = (single_headers or {}).get("User-Agent") or (single_headers or {}).get("user-agent")
    request_context: dict[str, Any] = {
        "resourceId": "local",
        "resourcePath": resource,
        "httpMethod": method,
        "extendedRequestId": request_id or str(uuid.uuid4()),
        "requestTime": datetime.fromtimestamp(now, UTC).strftime("%d/%b/%Y:%H:%M:%S +0000"),
        "path": f"/{stage}{path}",
        "accountId": ACCOUNT_ID,
        "protocol": "HTTP/1.1",
        "stage": stage,
        "domainPrefix": domain_name.split(".")[0],
        "requestTimeEpoch": int(now * 1000),
        "requestId": request_id or str(uuid.uuid4()),
        "identity": {
            "cognitoIdentityPoolId": None,
            "accountId": None,
            "cognitoIdentityId": None,
            "caller": None,
            "sourceIp": source_ip,
            "principalOrgId": None,
            "accessKey": None,
            "cognitoAuthenticationType": None,
            "cognitoAuthenticationProvider": None,
            "userArn": None,
            "userAgent": user_agent,
            "user": None,
        },
        "domainName": domain_name,
        "apiId": api_id,
    }
    if claims is not None:
        request_context["authorizer"] = {"claims": dict(claims)}
    return {
        "resource": resource,
        "path": path,
        "httpMethod": method,
        "headers": single_headers,
        "multiValueHeaders": multi_headers,
        "queryStringParameters": single_query,
        "multiValueQueryStringParameters": multi_query,
        "pathParameters": dict(path_parameters) if path_parameters else None,
        "stageVariables": None,
        "requestContext": request_context,
        "body": encoded_body,
        "isBase64Encoded": is_base64,
    }


def _body(body: bytes | None, binary: bool) -> tuple[str | None, bool]:
    if body is None or body == b"":
        return None, False
    if binary:
        return base64.b64encode(body).decode("ascii"), True
    return body.decode("utf-8", errors="replace"), False


def sqs_event(messages: Sequence[Mapping[str, Any]], *, queue_arn: str, region: str) -> dict[str, Any]:
    """The event Lambda invokes a function with for ``messages`` (as ReceiveMessage returns them, with all
    their attributes) from the queue ``queue_arn``."""
    return {
        "Records": [
            {
                "messageId": message["MessageId"],
                "receiptHandle": message["ReceiptHandle"],
                "body": message["Body"],
                "attributes": dict(message.get("Attributes", {})),
                "messageAttributes": {
                    name: _message_attribute(value) for name, value in message.get("MessageAttributes", {}).items()
                },
                "md5OfBody": message["MD5OfBody"],
                "eventSource": "aws:sqs",
                "eventSourceARN": queue_arn,
                "awsRegion": region,
            }
            for message in messages
        ]
    }


def _message_attribute(value: Mapping[str, Any]) -> dict[str, Any]:
    attribute: dict[str, Any] = {"stringListValues": [], "binaryListValues": [], "dataType": value["DataType"]}
    if "StringValue" in value:
        attribute["stringValue"] = value["StringValue"]
    if "BinaryValue" in value:
        attribute["binaryValue"] = base64.b64encode(value["BinaryValue"]).decode()
    return attribute
