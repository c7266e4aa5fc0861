"""Driving the handler code the way the deployed API does: API Gateway REST proxy events against moto.

Events come from the same builder local mode uses, whose shape is checked against a captured
API Gateway event (tests/events/api_gateway_rest_proxy.json).

Each service's handler is loaded fresh with the environment its functions have in
the synthesized sample app, and its table is created from the template's key schema,
so these tests exercise the real wiring, not a hand-made copy of it.
"""

from __future__ import annotations

import contextlib
import importlib
import json
import sys
import uuid
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest

from serverless_meta.functions import HANDLER
from serverless_meta.local.events import rest_proxy_event
from tests.support import resources_of_type

REGION = "eu-west-1"
TABLE_NAME = "serverless-meta-test"
STAGE = "prod"
# Request bodies the handler must refuse with a 400, and what its message says, for every test that sends them.
BAD_BODIES = {
    "empty body": ("", "Request body is required"),
    "malformed JSON": ('{"page": "home",', "Request body is not valid JSON"),
    "JSON array": ('["page"]', "Request body must be a JSON object"),
    "JSON string": ('"page"', "Request body must be a JSON object"),
    "JSON null": ("null", "Request body must be a JSON object"),
    "NaN": ('{"ratio": NaN}', "Request body is not valid JSON"),
    "Infinity": ('{"ratio": Infinity}', "Request body is not valid JSON"),
    "oversize body": (json.dumps({"blob": "x" * 40_000}), "Request body exceeds 32768 bytes"),
    "deep nesting": ('{"a":' * 31 + "1" + "}" * 31, "Request body nests objects or arrays more than 30 levels deep"),
    # Deeper than the JSON parsers of Python 3.11 to 3.13 go (3.13's parses 5,000 levels), within 32768 bytes.
    "very deep nesting": ("[" * 16_000 + "]" * 16_000, "Request body is not valid JSON"),
    "empty attribute name": ('{"": 1}', "Request body has an empty attribute name"),
    "number beyond a double": ('{"n": 1e400}', "Request body holds a number beyond the range of a double"),
    "double beyond DynamoDB": ('{"n": 1e300}', "Request body holds a number DynamoDB cannot store"),
    "double below DynamoDB": ('{"n": [6.5e-149]}', "Request body holds a number DynamoDB cannot store"),
    "integer beyond DynamoDB": ('{"n": 123456789012345678901234567890123456789}', "number DynamoDB cannot store"),
    "lone surrogate": ('{"s": "\\ud800"}', "Request body holds text that is not valid Unicode"),
    "lone surrogate in a key": ('{"\\udfff": 1}', "Request body holds text that is not valid Unicode"),
    "oversize in bytes, not characters": (json.dumps({"t": "é" * 17_000}, ensure_ascii=False), "exceeds 32768 bytes"),
    "id in body": ('{"id": "mine"}', "Request body sets server-owned attributes: id"),
    "keys in body": ('{"pk": "x", "sk": "y"}', "Request body sets server-owned attributes: pk, sk"),
    "timestamps in body": (
        '{"createdAt": "2020-01-01T00:00:00Z", "updatedAt": "2020-01-01T00:00:00Z"}',
        "Request body sets server-owned attributes: createdAt, updatedAt",
    ),
}

CAPTURED_EVENT = json.loads((Path(__file__).parents[1] / "events" / "api_gateway_rest_proxy.json").read_text())


@dataclass
class LambdaContext:
    function_name: str = "serverless-meta-test"
    memory_limit_in_mb: int = 256
    invoked_function_arn: str = f"arn:aws:lambda:{REGION}:123456789012:function:serverless-meta-test"
    aws_request_id: str = field(default_factory=lambda: str(uuid.uuid4()))

    def get_remaining_time_in_millis(self) -> int:
        return 10_000


@dataclass
class HttpResponse:
    status: int
    headers: dict[str, str]
    body: str
    dynamodb_calls: list[tuple[str, dict[str, Any]]]
    """The DynamoDB requests the handler made while serving this request: (operation, parameters)."""

    @property
    def json(self) -> Any:
        return json.loads(self.body)

    @property
    def dynamodb_operations(self) -> list[str]:
        return [operation for operation, _ in self.dynamodb_calls]


EVERY_GROUP = object()
"""The caller is in every group the service names, so that only authorization tests meet a 403."""


class ApiClient:
    """Sends API Gateway REST proxy events (payload format 1.0) with Cognito claims to one service's handler."""

    def __init__(self, handler: ModuleType, resource: str) -> None:
        self.handler = handler
        self.resource = resource
        self._every_group = ",".join(sorted({g for gs in handler.settings.operation_groups.values() for g in gs}))
        self._calls: list[tuple[str, dict[str, Any]]] = []
        handler.repository.client.meta.events.register("before-parameter-build.dynamodb.*", self._record_call)

    def _record_call(self, model, params, **_kwargs) -> None:
        self._calls.append((model.name, params))

    def request(
        self,
        method: str,
        path: str,
        *,
        user: str | None,
        json_body: Any = None,
        body: str | bytes | None = None,
        query: dict[str, str] | None = None,
        base64_body: bool = False,
        headers: dict[str, str] | None = None,
        groups: str | None | object = EVERY_GROUP,
        claims: dict[str, str] | None = None,
    ) -> HttpResponse:
        """``body`` as bytes: sent base64-encoded, as API Gateway sends a body of a binary media type."""
        if json_body is not None:
            body = json.dumps(json_body)
        if groups is EVERY_GROUP:
            groups = self._every_group or None
        event = self.event(
            method, path, user=user, body=body, query=query, base64_body=base64_body, headers=headers, groups=groups,
            claims=claims,
        )
        self._calls = []
        result = self.handler.lambda_handler(event, LambdaContext())
        assert isinstance(result["body"], str), "API Gateway requires a string body"
        headers = {name: values[-1] for name, values in (result.get("multiValueHeaders") or {}).items()}
        headers.update(result.get("headers") or {})
        return HttpResponse(result["statusCode"], headers, result["body"], self._calls)

    def event(
        self,
        method: str,
        path: str,
        *,
        user: str | None,
        body: str | bytes | None = None,
        query: dict[str, str] | None = None,
        base64_body: bool = False,
        headers: dict[str, str] | None = None,
        groups: str | None = None,
        claims: dict[str, str] | None = None,
    ) -> dict[str, Any]:
        """The event API Gateway sends for this request; ``user`` is the caller's Cognito sub (None: no token,
        as a public method passes it).

        ``groups``: the ``cognito:groups`` claim as API Gateway passes it (one string, comma-separated);
        ``claims``: other claims of the token (``custom:tenant``, an access token's ``scope``).
        """
        extra_claims = claims
        segments = path.strip("/").split("/")
        if len(segments) == 2 and segments[0] == self.resource:
            resource, path_parameters = f"/{self.resource}/{{id}}", {"id": segments[1]}
        else:
            resource, path_parameters = path, None
        header_pairs = [("Accept", "application/json"), ("Host", CAPTURED_EVENT["headers"]["Host"])]
        if body is not None:
            header_pairs.append(("Content-Type", "application/json"))
        header_pairs += list((headers or {}).items())
        claims = None
        if user is not None:
            claims = {**CAPTURED_EVENT["requestContext"]["authorizer"]["claims"], "sub": user, **(extra_claims or {})}
            claims["cognito:username"] = f"user-{user[:8]}"
            if groups is not None:
                claims["cognito:groups"] = groups
        event = rest_proxy_event(
            method=method,
            path=path,
            resource=resource,
            stage=STAGE,
            path_parameters=path_parameters,
            headers=header_pairs,
            query=list((query or {}).items()),
            body=body.encode() if isinstance(body, str) else body,
            binary=base64_body or isinstance(body, bytes),
            claims=claims,
        )
        return event

    def post(self, path: str, json_body: Any = None, **kwargs: Any) -> HttpResponse:
        return self.request("POST", path, json_body=json_body, **kwargs)

    def get(self, path: str, **kwargs: Any) -> HttpResponse:
        return self.request("GET", path, **kwargs)

    def put(self, path: str, json_body: Any = None, **kwargs: Any) -> HttpResponse:
        return self.request("PUT", path, json_body=json_body, **kwargs)

    def delete(self, path: str, **kwargs: Any) -> HttpResponse:
        return self.request("DELETE", path, **kwargs)


def moto_environment(env: pytest.MonkeyPatch) -> None:
    """What handlers need to run against moto in this process: the region as Lambda names it, fake credentials, no profile, no tracing."""
    env.setenv("AWS_REGION", REGION)  # as Lambda sets both
    env.setenv("AWS_DEFAULT_REGION", REGION)
    env.setenv("AWS_ACCESS_KEY_ID", "testing")
    env.setenv("AWS_SECRET_ACCESS_KEY", "testing")
    env.delenv("AWS_PROFILE", raising=False)
    env.setenv("POWERTOOLS_TRACE_DISABLED", "true")


def service_environments(template: dict) -> dict[str, dict[str, str]]:
    """Each service's function environment from the template (all of a service's API functions share it)."""
    environments: dict[str, dict[str, str]] = {}
    for function in resources_of_type(template, "AWS::Lambda::Function").values():
        if function["Properties"]["Handler"] != HANDLER:
            continue  # a worker: tests/workers
        variables = dict(function["Properties"]["Environment"]["Variables"])
        variables["TABLE_NAME"] = TABLE_NAME
        previous = environments.setdefault(variables["RESOURCE_NAME"], variables)
        assert previous == variables, "functions of one service must share one environment"
    return environments


def create_table_from_template(client, template: dict) -> None:
    (table,) = resources_of_type(template, "AWS::DynamoDB::GlobalTable").values()
    properties = table["Properties"]
    indexes = [
        {"IndexName": index["IndexName"], "KeySchema": index["KeySchema"], "Projection": index["Projection"]}
        for index in properties.get("GlobalSecondaryIndexes", [])
    ]
    client.create_table(
        TableName=TABLE_NAME,
        KeySchema=properties["KeySchema"],
        AttributeDefinitions=properties["AttributeDefinitions"],
        BillingMode="PAY_PER_REQUEST",
        **({"GlobalSecondaryIndexes": indexes} if indexes else {}),
    )


def load_handler(env: pytest.MonkeyPatch, variables: dict[str, str]) -> ModuleType:
    """Import crud_api.app afresh, as a cold start with ``variables`` as the function's environment."""
    for name in [name for name in sys.modules if name == "crud_api" or name.startswith("crud_api.")]:
        del sys.modules[name]
    optional = ("TIMESTAMP_ATTRIBUTE", "ITEM_SCHEMA", "CORS_ALLOW_ORIGINS", "REQUIRE_IF_MATCH", "OPERATION_GROUPS",
                "ITEM_SCOPE", "READ_ALL_GROUPS", "READ_ALL_SCOPES", "PUBLIC_OPERATIONS", "INDEXES", "CLIENT_IDS")
    for name in optional:
        env.delenv(name, raising=False)
    for name, value in variables.items():
        env.setenv(name, value)
    return importlib.import_module("crud_api.app")


@contextlib.contextmanager
def serving(template: dict, resources: Sequence[str]) -> Iterator[dict[str, ApiClient]]:
    """Each named service of ``template`` (by resource), its handler loaded with the template's environment,
    against a moto account that holds the template's table: a test module's own app."""
    import boto3
    from moto import mock_aws

    with pytest.MonkeyPatch.context() as env:
        moto_environment(env)
        with mock_aws():
            create_table_from_template(boto3.client("dynamodb"), template)
            environments = service_environments(template)
            yield {name: ApiClient(load_handler(env, environments[name]), name) for name in resources}
