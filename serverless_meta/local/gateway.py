"""API Gateway for REST APIs, locally: route, throttle, authorize, integrate, answer.

The order and the answers follow API Gateway's: an unknown stage is a 403, an unknown route
the API's MISSING_AUTHENTICATION_TOKEN response, an exhausted bucket a 429 before any
authorizer runs, a missing or bad token a 401 without the function running, a request its
method's validator refuses a 400 without the function running either, and a function that
fails or answers malformed a 502. Gateway responses defined in the template (with their
status, headers and body) replace the defaults.
"""

from __future__ import annotations

import base64
import fnmatch
import json
import logging
import re
import uuid
from collections.abc import Mapping
from dataclasses import dataclass, field
from urllib.parse import parse_qsl, unquote, urlsplit

from serverless_meta.local import validation
from serverless_meta.local.cognito import InvalidToken, LocalUserPools
from serverless_meta.local.events import rest_proxy_event
from serverless_meta.local.functions import FunctionError, LocalFunctions, Throttled
from serverless_meta.local.model import Function, Method, RestApi
from serverless_meta.local.throttle import TokenBucket

log = logging.getLogger("serverless_meta.local")

_DEFAULT_ERRORS = {
    "MISSING_AUTHENTICATION_TOKEN": (403, "Missing Authentication Token"),
    "UNAUTHORIZED": (401, "Unauthorized"),
    "THROTTLED": (429, "Too Many Requests"),
    "UNSUPPORTED_MEDIA_TYPE": (415, "Unsupported Media Type"),
    "INVALID_API_KEY": (403, "Forbidden"),
    "BAD_REQUEST_PARAMETERS": (400, "Missing required request parameters"),
    "BAD_REQUEST_BODY": (400, "Invalid request body"),
    "INTEGRATION_FAILURE": (502, "Internal server error"),
    "API_CONFIGURATION_ERROR": (500, "Internal server error"),
    # Not a response type of its own: a Lambda function throttled behind a proxy integration is
    # answered with API Gateway's 500 "Internal server error" (AWS re:Post knowledge center,
    # "How do I troubleshoot 5XX errors...": "If the backend service is throttled due to a high
    # request rate, the API Gateway API might return an Internal server error";
    # https://repost.aws/knowledge-center/api-gateway-internal-server-error). DEFAULT_5XX applies.
    "LAMBDA_THROTTLED": (500, "Internal server error"),
}


@dataclass
class HttpRequest:
    method: str
    target: str
    """The request target as sent: path and query string."""
    headers: list[tuple[str, str]]
    body: bytes
    source_ip: str = "127.0.0.1"

    def header(self, name: str) -> str | None:
        return next((value for key, value in reversed(self.headers) if key.lower() == name.lower()), None)


@dataclass
class HttpResponse:
    status: int
    headers: list[tuple[str, str]] = field(default_factory=list)
    body: bytes = b""
    function: str | None = None
    """The function that served the request, if one ran."""


@dataclass(frozen=True)
class _Match:
    api: RestApi
    stage: str
    resource: str
    path: str
    parameters: dict[str, str]


class LocalGateway:
    def __init__(
        self,
        apis: list[RestApi],
        definitions: Mapping[str, Function],
        functions: LocalFunctions,
        user_pools: LocalUserPools,
    ) -> None:
        self._apis = apis
        self._definitions = definitions
        self._functions = functions
        self._user_pools = user_pools
        self._buckets: dict[tuple[str, str, str, str], TokenBucket] = {}
        self._warn_about_shadowed_routes()

    def _warn_about_shadowed_routes(self) -> None:
        """Two APIs with the same stage and route: the first answers /<stage>/...; say how to reach the other."""
        owners: dict[tuple[str, str, str], RestApi] = {}
        for api in self._apis:
            for stage in api.stages:
                for resource, methods in api.resources.items():
                    for http_method in methods:
                        first = owners.setdefault((stage, resource, http_method), api)
                        if first is not api:
                            log.warning(
                                "%s /%s%s of %s is shadowed by %s: reach it at /restapis/%s/%s/_user_request_%s",
                                http_method, stage, resource, api.name, first.name, api.api_id, stage, resource,
                            )

    def routes(self) -> list[tuple[str, str, str]]:
        """(method, path, function or integration) for every method of every API.

        Each API is also at ``/restapis/<api id>/<stage>/_user_request_/...`` (LocalStack's form),
        which reaches it even where another API with the same stage and route answers first.
        """
        return [
            (method.http_method, f"/{stage}{resource}", self._target(method))
            for api in self._apis
            for stage in api.stages
            for resource, methods in sorted(api.resources.items())
            for method in methods.values()
        ]

    def _target(self, method: Method) -> str:
        if method.function in self._definitions:
            return self._definitions[method.function].name
        return f"{method.integration_type} integration"

    def handle(self, request: HttpRequest) -> HttpResponse:
        request_id = str(uuid.uuid4())
        response = self._handle(request, request_id)
        response.headers.append(("x-amzn-RequestId", request_id))
        return response

    def _handle(self, request: HttpRequest, request_id: str) -> HttpResponse:
        url = urlsplit(request.target)
        match = self._match(url.path)
        if match is None:
            return _json(403, {"message": "Forbidden"})
        api = match.api
        methods = api.resources.get(match.resource, {})
        method = methods.get(request.method) or methods.get("ANY")
        if method is None:
            return self._error(api, "MISSING_AUTHENTICATION_TOKEN")
        if not self._bucket(match, request.method).take():
            return self._error(api, "THROTTLED")
        claims = None
        if method.authorization_type == "COGNITO_USER_POOLS" and method.authorizer is not None:
            claims = self._authorize(request, method)
            if claims is None:
                return self._error(api, "UNAUTHORIZED")
        elif method.authorization_type != "NONE":
            log.error("%s %s: authorization type %s is not emulated", request.method, url.path, method.authorization_type)
            return self._error(api, "API_CONFIGURATION_ERROR")
        if method.api_key_required and not request.header("x-api-key"):
            return self._error(api, "INVALID_API_KEY")
        query = parse_qsl(url.query, keep_blank_values=True)
        refused = self._validate(api, method, request, dict(query), match.parameters)
        if refused is not None:
            return refused
        if method.integration_type == "MOCK" and method.mock is not None:
            return self._mock(api, method, request)
        if method.integration_type == "AWS_PROXY" and method.function in self._definitions:
            event = rest_proxy_event(
                method=request.method,
                path=match.path,
                resource=match.resource,
                stage=match.stage,
                path_parameters=match.parameters,
                headers=request.headers,
                query=query,
                body=request.body or None,
                binary=_is_binary(request.header("Content-Type"), api.binary_media_types),
                claims=claims,
                api_id=api.api_id,
                request_id=request_id,
                source_ip=request.source_ip,
                domain_name=request.header("Host") or "localhost",
            )
            accepts_binary = _is_binary(request.header("Accept"), api.binary_media_types)
            return self._invoke(api, method.function, event, request_id, accepts_binary)
        log.error("%s %s: %s integration is not emulated", request.method, url.path, method.integration_type)
        return self._error(api, "API_CONFIGURATION_ERROR")

    def _match(self, raw_path: str) -> _Match | None:
        """The API, stage and resource for a path, matched as API Gateway does: split, then decoded."""
        segments = [unquote(segment) for segment in raw_path.split("/") if segment]
        apis = self._apis
        if len(segments) >= 3 and segments[0] == "restapis" and "_user_request_" in segments:
            marker = segments.index("_user_request_")
            apis = [api for api in self._apis if api.api_id == segments[1]]
            segments = segments[2:marker] + segments[marker + 1 :]
        if not segments:
            return None
        stage, segments = segments[0], segments[1:]
        path = "/" + "/".join(segments)
        best: tuple[tuple[int, ...], _Match] | None = None
        for api in apis:
            if stage not in api.stages:
                continue
            for resource in api.resources:
                matched = _match_resource(resource, segments)
                if matched is None:
                    continue
                score, parameters = matched
                if best is None or score > best[0]:
                    best = (score, _Match(api, stage, resource, path, parameters))
        if best is not None:
            return best[1]
        api = next((api for api in apis if stage in api.stages), None)
        return _Match(api, stage, "", path, {}) if api else None

    def _bucket(self, match: _Match, http_method: str) -> TokenBucket:
        key = (match.api.key, match.stage, match.resource, http_method)
        if key not in self._buckets:
            limits = match.api.stages[match.stage]
            rate, burst = (
                limits.get((match.resource, http_method))
                or limits.get((match.resource, "*"))
                or limits[("*", "*")]
            )
            self._buckets[key] = TokenBucket(rate, burst)
        return self._buckets[key]

    def _authorize(self, request: HttpRequest, method: Method) -> dict[str, str] | None:
        token = request.header(method.authorizer.header)
        if not token:
            log.info("%s %s: 401 (no %s header)", request.method, request.target, method.authorizer.header)
            return None
        token = token.removeprefix("Bearer ").strip()
        try:
            return self._user_pools.verify(token, method.authorizer.pools, method.authorization_scopes)
        except InvalidToken as error:
            log.info("%s %s: 401 (%s)", request.method, request.target, error)
            return None

    def _validate(
        self, api: RestApi, method: Method, request: HttpRequest, query: Mapping[str, str], path: Mapping[str, str]
    ) -> HttpResponse | None:
        """API Gateway's basic request validation, as far as the method's validator asks for it: the parameters,
        then the body. The page says it comes "before proceeding with the integration request"; here it comes
        after the authorizer too, so that a caller without a token learns nothing of what a request must hold."""
        missing = validation.missing_parameters(method.required_parameters, request.header, query, path)
        if missing:
            # API Gateway's documentation gives neither this message nor the validationErrorString of a missing
            # parameter: the message is LocalStack's (its API Gateway tests are checked against AWS), and is both.
            message = f"Missing required request parameters: [{', '.join(missing)}]"
            log.info("%s %s: refused by the method's request validator (%s)", request.method, request.target, message)
            return self._error(api, "BAD_REQUEST_PARAMETERS", message=message, validation_error=message)
        content_type = _content_type(request)
        schema = validation.model_for(method.body_models, content_type)
        error = validation.body_error(schema, request.body) if schema is not None else None
        if error is not None:
            log.info("%s %s: refused by the method's request validator (a body of %s its model refuses: %s)",
                     request.method, request.target, content_type, error)
            return self._error(api, "BAD_REQUEST_BODY", validation_error=error)
        return None

    def _mock(self, api: RestApi, method: Method, request: HttpRequest) -> HttpResponse:
        mock = method.mock
        content_type = _content_type(request)
        unmapped = content_type not in mock.request_content_types
        if unmapped and (mock.passthrough == "NEVER" or (mock.passthrough == "WHEN_NO_TEMPLATES" and mock.request_content_types)):
            return self._error(api, "UNSUPPORTED_MEDIA_TYPE")
        headers = {"Content-Type": "application/json", **mock.headers}
        origin = request.header("Origin")
        if origin in mock.echo_origins:
            headers["Access-Control-Allow-Origin"] = origin
        return HttpResponse(mock.status, list(headers.items()), mock.body.encode())

    def _invoke(self, api: RestApi, key: str, event: dict, request_id: str, accepts_binary: bool) -> HttpResponse:
        function = self._definitions[key]
        if key not in self._functions:
            log.error("%s cannot run locally (said at startup): %s", function.name, function.unavailable)
            response = self._error(api, "INTEGRATION_FAILURE")
        else:
            try:
                result = self._functions.invoke(key, event, request_id=request_id)
                response = _proxy_response(result, decode_base64=accepts_binary)
            except Throttled as error:
                log.warning("%s", error)
                response = self._error(api, "LAMBDA_THROTTLED")
            except FunctionError as error:
                log.error("%s", error)
                response = self._error(api, "INTEGRATION_FAILURE")
            except (KeyError, TypeError, ValueError) as error:
                log.error("%s returned a malformed proxy response: %s", function.name, error)
                response = self._error(api, "INTEGRATION_FAILURE")
        response.function = function.name
        return response

    def _error(
        self, api: RestApi, response_type: str, *, message: str | None = None, validation_error: str = ""
    ) -> HttpResponse:
        """The API's gateway response of ``response_type``: its default, or the template's, whose body template may
        hold ``$context.error.message``, ``messageString`` (the message, quoted) and ``validationErrorString``
        (why a request validator refused the request), substituted as API Gateway does ("Variables for data
        transformations", https://docs.aws.amazon.com/apigateway/latest/developerguide/api-gateway-mapping-template-reference.html)."""
        status, default_message = _DEFAULT_ERRORS[response_type]
        message = message or default_message
        custom = api.gateway_responses.get(response_type)
        status = custom.status if custom and custom.status else status
        family = api.gateway_responses.get("DEFAULT_4XX" if status < 500 else "DEFAULT_5XX")
        headers: dict[str, str] = {"Content-Type": "application/json"}
        body = None
        for response in (family, custom):
            if response is not None:
                headers.update(response.headers)
                body = response.body or body
        if body is None:
            return _json(status, {"message": message}, headers)
        variables = {"messageString": json.dumps(message), "message": message, "validationErrorString": validation_error}
        body = _ERROR_VARIABLE.sub(lambda variable: variables[variable.group(1)], body)
        return HttpResponse(status, list(headers.items()), body.encode())


# Longest names first: messageString before message.
_ERROR_VARIABLE = re.compile(r"\$context\.error\.(validationErrorString|messageString|message)")


def _content_type(request: HttpRequest) -> str:
    """The media type of the request's body; without a Content-Type, application/json, as API Gateway assumes."""
    return (request.header("Content-Type") or "application/json").split(";")[0].strip().lower()


def _match_resource(resource: str, segments: list[str]) -> tuple[tuple[int, ...], dict[str, str]] | None:
    """How well ``resource`` (``/a/{b}/{c+}``) matches the segments: literal segments score higher."""
    parts = [p for p in resource.split("/") if p]
    parameters: dict[str, str] = {}
    score = []
    for index, part in enumerate(parts):
        if part.startswith("{") and part.endswith("+}"):
            if index >= len(segments):
                return None
            parameters[part[1:-2]] = "/".join(segments[index:])
            return (*score, 0), parameters
        if index >= len(segments):
            return None
        if part.startswith("{") and part.endswith("}"):
            parameters[part[1:-1]] = segments[index]
            score.append(1)
        elif part == segments[index]:
            score.append(2)
        else:
            return None
    if len(parts) != len(segments):
        return None
    return tuple(score), parameters


def _proxy_response(result: object, *, decode_base64: bool) -> HttpResponse:
    """A Lambda proxy integration's result as HTTP; anything malformed raises (API Gateway: 502).

    A base64-encoded body is decoded only when the request accepts one of the API's binary media
    types, as API Gateway does; otherwise the client gets the base64 text.
    """
    if not isinstance(result, dict):
        raise TypeError(f"expected a dict, got {type(result).__name__}")
    status = int(result["statusCode"])
    headers: list[tuple[str, str]] = []
    for name, values in (result.get("multiValueHeaders") or {}).items():
        headers.extend((name, str(value)) for value in values)
    seen = {name.lower() for name, _ in headers}
    headers.extend((name, str(value)) for name, value in (result.get("headers") or {}).items() if name.lower() not in seen)
    if not any(name.lower() == "content-type" for name, _ in headers):
        headers.append(("Content-Type", "application/json"))
    body = result.get("body") or ""
    if not isinstance(body, str):
        raise TypeError(f"body must be a string, got {type(body).__name__}")
    raw = base64.b64decode(body) if result.get("isBase64Encoded") and decode_base64 else body.encode()
    return HttpResponse(status, headers, raw)


def _json(status: int, body: object, headers: Mapping[str, str] | None = None) -> HttpResponse:
    merged = {"Content-Type": "application/json", **(headers or {})}
    return HttpResponse(status, list(merged.items()), json.dumps(body).encode())


def _is_binary(media_type: str | None, binary_media_types: tuple[str, ...]) -> bool:
    """Whether a Content-Type or Accept header names one of the API's binary media types (wildcards too)."""
    if not media_type or not binary_media_types:
        return False
    patterns = [binary.lower().replace("~1", "/") for binary in binary_media_types]
    for offered in media_type.split(","):
        kind = offered.split(";")[0].strip().lower()
        if any(fnmatch.fnmatch(kind, pattern) for pattern in patterns):
            return True
    return False
