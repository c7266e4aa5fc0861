"""API Gateway's Lambda proxy integration for REST APIs: the request a function gets, the result it returns.

By the time the function runs, API Gateway has matched the route (the event's ``resource`` and
``httpMethod``) and its authorizer has checked the caller (the ``claims``). What remains is
reading the event and writing the result, which is all this module does. Powertools' REST
resolver would do it too, but importing it imports every resolver Powertools has and the event
classes of some forty event sources: a sixth of the function's cold start (bench/README.md),
for routing that API Gateway has already done.
"""

from __future__ import annotations

import base64
import binascii
import re
from collections.abc import Mapping, Sequence
from http import HTTPStatus
from types import MappingProxyType
from typing import Any, NamedTuple

JSON = "application/json"


class HttpError(Exception):
    """A request the service refuses: the status, and the message the JSON error body states to the client."""

    def __init__(self, status: HTTPStatus, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.message = message


def bad_request(message: str) -> HttpError:
    return HttpError(HTTPStatus.BAD_REQUEST, message)


class Response(NamedTuple):
    status: HTTPStatus
    body: str = ""
    """As the client gets it: JSON text for every response that has a body."""
    headers: Mapping[str, str] = MappingProxyType({})


class Request:
    """One proxy event (payload format 1.0), read as the handler needs it."""

    def __init__(self, event: Mapping[str, Any]) -> None:
        self.event = event
        self.method: str = event.get("httpMethod") or ""
        # Clients send header names in any case; API Gateway passes them on as they came.
        self.headers = {name.lower(): value for name, value in (event.get("headers") or {}).items()}
        self.query: Mapping[str, str] = event.get("queryStringParameters") or {}
        context = event.get("requestContext") or {}
        self.request_id: str | None = context.get("requestId")
        self.claims: Mapping[str, Any] = (context.get("authorizer") or {}).get("claims") or {}
        self.public_path: str = context.get("path") or event.get("path") or ""
        """The path as the client sent it (with a custom domain's base path, if any): for ``Location``."""
        self.path = resource_path(event)

    def header(self, name: str) -> str | None:
        return self.headers.get(name.lower())

    @property
    def body(self) -> str | None:
        """The body as text; API Gateway base64-encodes bodies of binary media types."""
        raw = self.event.get("body")
        if raw is None or not self.event.get("isBase64Encoded"):
            return raw
        try:
            return base64.b64decode(raw, validate=True).decode("utf-8")
        except (binascii.Error, UnicodeDecodeError):
            raise bad_request("Request body is not valid UTF-8 text") from None


def resource_path(event: Mapping[str, Any]) -> str:
    """The request path as the API's own resources see it, without a custom domain's base path.

    API Gateway has already matched the route: its ``resource`` with the path parameters filled
    in is the path, whatever base path mapping is in front. Control characters in a parameter
    stay percent-encoded, so that a path never holds one.
    """
    resource, parameters = event.get("resource"), event.get("pathParameters") or {}
    if not resource:
        return event.get("path") or ""

    def parameter(match: re.Match[str]) -> str:
        value = parameters.get(match.group(1), match.group(0))
        return _CONTROL_CHARACTER.sub(lambda c: f"%{ord(c.group()):02X}", value)

    return _PATH_PARAMETER.sub(parameter, resource)


_PATH_PARAMETER = re.compile(r"\{(\w+)\}")
_CONTROL_CHARACTER = re.compile(r"[\x00-\x1f\x7f]")


class Cors(NamedTuple):
    """The CORS headers of the handler's answers; API Gateway answers the preflight requests itself."""

    allow_origins: Sequence[str]
    expose_headers: Sequence[str]

    def headers(self, origin: str | None) -> dict[str, str]:
        """For a request from ``origin``: the origin allowed (``*`` where every one is), else none.

        Where only some origins are allowed, the answer depends on the request's ``Origin``: ``Vary``
        says so on every answer, so that a shared cache never hands one origin's answer to another.
        """
        if "*" in self.allow_origins:
            return {"Access-Control-Allow-Origin": "*", **self._exposed()}
        if origin and origin in self.allow_origins:
            return {"Access-Control-Allow-Origin": origin, **self._exposed(), "Vary": "Origin"}
        return {"Vary": "Origin"}

    def _exposed(self) -> dict[str, str]:
        return {"Access-Control-Expose-Headers": ",".join(self.expose_headers)}


def proxy_result(response: Response, cors_headers: Mapping[str, str]) -> dict[str, Any]:
    """The result API Gateway turns into the HTTP response."""
    return {
        "statusCode": int(response.status),
        "headers": {**response.headers, **cors_headers},
        "body": response.body,
        "isBase64Encoded": False,
    }
