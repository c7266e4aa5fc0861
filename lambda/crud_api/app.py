"""API Gateway entry point: the routes of one resource and the HTTP error contract.

Every error is JSON ``{"message": ...}``; a fault the client did not cause is a 500
that carries the API Gateway request id, which the logs carry as ``correlation_id``.
No response ever carries exception text.
"""

from __future__ import annotations

import json
import random
import re
from decimal import Decimal
from http import HTTPStatus
from typing import Any

from aws_lambda_powertools.event_handler import APIGatewayRestResolver, CORSConfig, Response, content_types
from aws_lambda_powertools.event_handler.exceptions import (
    BadRequestError,
    ForbiddenError,
    ServiceError,
    UnauthorizedError,
)
from aws_lambda_powertools.logging import correlation_paths
from aws_lambda_powertools.metrics import MetricUnit
from aws_lambda_powertools.utilities.typing import LambdaContext

from crud_api import contract, requests
from crud_api.items import (
    CreationInFlight,
    IdempotencyKeyReused,
    ItemNotFound,
    ItemService,
    Versioned,
    VersionMismatch,
)
from crud_api.observability import logger, metrics, tracer
from crud_api.repository import ItemRepository, StorageBusyError, UnstorableValueError
from crud_api.settings import Settings


def _json_default(value: Any) -> Any:
    """DynamoDB numbers come back as Decimals: integers stay exact, the rest are the doubles stored."""
    if isinstance(value, Decimal):
        return int(value) if value.as_tuple().exponent >= 0 else float(value)
    raise TypeError(f"{type(value).__name__} is not JSON serializable")


def to_json(body: Any) -> str:
    return json.dumps(body, separators=(",", ":"), default=_json_default)


settings = Settings.from_environment()
# The one DynamoDB client, made once per execution environment; tests observe its requests here.
repository = ItemRepository.for_table(settings.table_name)


def _renew_after_restore() -> None:
    """SnapStart: environments restored from one snapshot must not share the client or random state."""
    random.seed()
    repository.client = ItemRepository.for_table(settings.table_name).client


try:  # Lambda's Python runtime provides it; it runs the hooks when it restores a SnapStart snapshot.
    from snapshot_restore_py import register_after_restore
except ImportError:
    pass
else:
    register_after_restore(_renew_after_restore)
service = ItemService(repository, settings)
validator = requests.compile_schema(settings.item_schema)
cors = (
    CORSConfig(
        allow_origin=settings.cors_allow_origins[0],
        extra_origins=list(settings.cors_allow_origins[1:]),
        allow_headers=list(contract.CORS_ALLOW_HEADERS),
        expose_headers=list(contract.CORS_EXPOSE_HEADERS),
        max_age=contract.CORS_MAX_AGE_SECONDS,
    )
    if settings.cors_allow_origins
    else None
)
# debug=False: POWERTOOLS_DEV must never put a traceback in a response.
app = APIGatewayRestResolver(serializer=to_json, debug=False, cors=cors)

COLLECTION = f"/{settings.resource}"
MEMBER = f"{COLLECTION}/<item_id>"


def _json(status: HTTPStatus, body: Any, headers: dict[str, str] | None = None) -> Response:
    return Response(status_code=status, content_type=content_types.APPLICATION_JSON, body=body, headers=headers)


def _item(status: HTTPStatus, versioned: Versioned, headers: dict[str, str] | None = None) -> Response:
    """An item, with its version as a strong ETag."""
    return _json(status, versioned.item, {**(headers or {}), "ETag": requests.etag(versioned.version)})


def _header(name: str) -> str | None:
    return app.current_event.headers.get(name)


def _caller(operation: str) -> str:
    """The caller's Cognito ``sub`` (every item belongs to the user who created it), if they may ``operation``.

    The authorizer has checked the token; an operation limited to Cognito groups also needs the
    caller in one of them (403, before anything is read or written).
    """
    claims = app.current_event.request_context.authorizer.claims or {}
    owner = claims.get("sub")
    if not owner:
        logger.warning("Request reached the handler without Cognito claims; is the authorizer attached?")
        raise UnauthorizedError("Unauthorized")
    allowed = settings.operation_groups.get(operation)
    if allowed and not allowed & requests.parse_groups(claims.get("cognito:groups")):
        raise ForbiddenError(f"Only members of {', '.join(sorted(allowed))} may {operation} {settings.resource}")
    return owner


def _body() -> dict[str, Any]:
    return requests.parse_body(
        app.current_event.decoded_body,
        max_bytes=settings.max_body_bytes,
        server_owned=settings.server_owned_attributes,
        validator=validator,
    )


def _item_not_found(item_id: str) -> ServiceError:
    return ServiceError(HTTPStatus.NOT_FOUND, f"{settings.resource} {item_id} not found")


def _expected_versions() -> frozenset[int] | None:
    """The versions ``If-Match`` allows a write at (None: any); 428 where the service requires it."""
    tags = requests.parse_entity_tags(_header("If-Match"), "If-Match")
    if tags is None and settings.require_if_match:
        raise ServiceError(
            HTTPStatus.PRECONDITION_REQUIRED,
            f"If-Match is required: send the ETag of the {settings.resource} item you read",
        )
    return None if tags is None or tags.any else tags.strong_versions


def _stale(item_id: str, error: VersionMismatch) -> Response:
    return _json(
        HTTPStatus.PRECONDITION_FAILED,
        {"message": f"{settings.resource} {item_id} has changed since it was read: read it again, then retry"},
        {"ETag": requests.etag(error.current_version)},
    )


def _created(versioned: Versioned) -> Response:
    location = f"{app.current_event.request_context.path.rstrip('/')}/{versioned.item[settings.id_attribute]}"
    return _item(HTTPStatus.CREATED, versioned, {"Location": location})


def create_item() -> Response:
    owner = _caller("create")
    data = _body()
    idempotency_key = requests.parse_idempotency_key(_header(contract.IDEMPOTENCY_KEY_HEADER))
    if idempotency_key is None:
        response = _created(service.create(owner, data))
    else:
        creation = service.create_once(
            owner,
            data,
            idempotency_key=idempotency_key,
            request_id=app.current_event.request_context.request_id,
            claim_millis=app.lambda_context.get_remaining_time_in_millis(),
            respond=lambda versioned: _stored(_created(versioned)),
        )
        if creation.replayed:
            return _answer(creation.response, replayed=True)
        response = _answer(creation.response, replayed=False)
    metrics.add_metric(name="ItemsCreated", unit=MetricUnit.Count, value=1)
    return response


def _stored(response: Response) -> dict[str, Any]:
    """A response as an idempotency record keeps it, to answer a retry exactly as the first request."""
    return {"statusCode": int(response.status_code), "headers": dict(response.headers), "body": to_json(response.body)}


def _answer(stored: dict[str, Any], *, replayed: bool) -> Response:
    """The response an idempotency record keeps, as the first request got it; a retry's says it is replayed."""
    headers = {name: str(value) for name, value in stored["headers"].items()}
    if replayed:
        headers["Idempotent-Replayed"] = "true"
    return Response(status_code=int(stored["statusCode"]), body=stored["body"], headers=headers)


def list_items() -> Response:
    owner = _caller("list")
    params = app.current_event.query_string_parameters or {}
    page = service.list(owner, requests.parse_limit(params.get("limit")), after_id=requests.decode_cursor(params.get("next")))
    next_cursor = requests.encode_cursor(page.last_id) if page.last_id else None
    items = [{**v.item, contract.ETAG_ATTRIBUTE: requests.etag(v.version)} for v in page.items]
    return _json(HTTPStatus.OK, {"items": items, "next": next_cursor})


def get_item(item_id: str) -> Response:
    owner, item_id = _caller("get"), requests.parse_item_id(item_id, settings.resource)
    found = service.get(owner, item_id)
    if found is None:
        raise _item_not_found(item_id)
    unchanged = requests.parse_entity_tags(_header("If-None-Match"), "If-None-Match")
    if unchanged is not None and unchanged.matches(found.version, weak=True):
        return Response(status_code=HTTPStatus.NOT_MODIFIED, body="", headers={"ETag": requests.etag(found.version)})
    return _item(HTTPStatus.OK, found)


def replace_item(item_id: str) -> Response:
    owner, item_id = _caller("update"), requests.parse_item_id(item_id, settings.resource)
    versions = _expected_versions()
    data = _body()
    try:
        return _item(HTTPStatus.OK, service.replace(owner, item_id, data, versions=versions))
    except ItemNotFound:
        raise _item_not_found(item_id) from None
    except VersionMismatch as stale:
        return _stale(item_id, stale)


def delete_item(item_id: str) -> Response:
    owner, item_id = _caller("delete"), requests.parse_item_id(item_id, settings.resource)
    try:
        service.delete(owner, item_id, versions=_expected_versions())
    except ItemNotFound:
        raise _item_not_found(item_id) from None
    except VersionMismatch as stale:
        return _stale(item_id, stale)
    metrics.add_metric(name="ItemsDeleted", unit=MetricUnit.Count, value=1)
    return Response(status_code=HTTPStatus.NO_CONTENT, body="")


ROUTE_FUNCTIONS = {
    "create": create_item,
    "list": list_items,
    "get": get_item,
    "update": replace_item,
    "delete": delete_item,
}


def _register_routes() -> None:
    """Route the service's operations; the others answer 405 (or 404 when a path has none)."""
    for operation, (method, on_item) in contract.ROUTES.items():
        if operation in settings.operations:
            app.route(MEMBER if on_item else COLLECTION, method=method)(ROUTE_FUNCTIONS[operation])


def _allowed_methods(*, on_item: bool) -> list[str]:
    return sorted(
        method for op, (method, item) in contract.ROUTES.items() if item == on_item and op in settings.operations
    )


_register_routes()
_PATH_METHODS = (
    (re.compile(rf"^{re.escape(COLLECTION)}/?$"), _allowed_methods(on_item=False)),
    (re.compile(rf"^{re.escape(COLLECTION)}/[^/]+/?$"), _allowed_methods(on_item=True)),
)


@app.not_found
def route_not_found(_error: Exception) -> Response:
    """405 with ``Allow`` for a known path and another method; 404 for any other path.

    A known path and method that still matched no route has an id with characters the route
    patterns refuse (control characters, say): no item has such an id.
    """
    for pattern, methods in _PATH_METHODS:
        if methods and pattern.match(app.current_event.path):
            if app.current_event.http_method in methods:
                raise BadRequestError(f"Invalid {settings.resource} id: expected a UUID")
            allow = ", ".join(methods)
            return _json(HTTPStatus.METHOD_NOT_ALLOWED, {"message": "Method Not Allowed"}, {"Allow": allow})
    return _json(HTTPStatus.NOT_FOUND, {"message": "Not Found"})


@app.exception_handler(ServiceError)
def client_error(error: ServiceError) -> Response:
    return _json(HTTPStatus(error.status_code), {"message": error.msg})


@app.exception_handler(StorageBusyError)
def storage_busy(error: StorageBusyError) -> Response:
    """DynamoDB throttled us beyond the SDK's retries: not the caller's fault, and not a fault of ours."""
    logger.warning("DynamoDB is throttling requests (%s): answering 503", error)
    return _json(
        HTTPStatus.SERVICE_UNAVAILABLE,
        {
            "message": f"The service is busy: retry after {contract.RETRY_AFTER_SECONDS} s",
            "requestId": app.current_event.request_context.request_id,
        },
        {"Retry-After": str(contract.RETRY_AFTER_SECONDS)},
    )


@app.exception_handler(CreationInFlight)
def creation_in_flight(_error: CreationInFlight) -> Response:
    return _json(
        HTTPStatus.CONFLICT,
        {"message": f"A request with this {contract.IDEMPOTENCY_KEY_HEADER} is still being processed: retry later"},
    )


@app.exception_handler(IdempotencyKeyReused)
def idempotency_key_reused(_error: IdempotencyKeyReused) -> Response:
    return _json(
        HTTPStatus.UNPROCESSABLE_ENTITY,
        {"message": f"This {contract.IDEMPOTENCY_KEY_HEADER} was used with another request body: use a new key"},
    )


@app.exception_handler(UnstorableValueError)
def unstorable_value(error: UnstorableValueError) -> Response:
    return _json(HTTPStatus.BAD_REQUEST, {"message": error.reason})


@app.exception_handler(Exception)
def server_fault(_error: Exception) -> Response:
    logger.exception("Unhandled error while serving the request")
    request_id = app.current_event.request_context.request_id
    return _json(HTTPStatus.INTERNAL_SERVER_ERROR, {"message": "Internal server error", "requestId": request_id})


@logger.inject_lambda_context(correlation_id_path=correlation_paths.API_GATEWAY_REST)
@tracer.capture_lambda_handler
@metrics.log_metrics(capture_cold_start_metric=True)
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    return app.resolve({**event, "path": _resource_path(event)}, context)


def _resource_path(event: dict[str, Any]) -> str:
    """The request path as the API's own resources see it, without a custom domain's base path.

    API Gateway has already matched the route: its ``resource`` with the path parameters filled
    in is the path the routes above are written for, whatever base path mapping is in front.
    Control characters in a parameter stay percent-encoded: a route pattern's ``$`` would match
    before a trailing newline, taking ``/metadata/%0A`` for ``/metadata``.
    """
    resource, parameters = event.get("resource"), event.get("pathParameters") or {}
    if not resource:
        return event["path"]

    def parameter(match: re.Match) -> str:
        value = parameters.get(match.group(1), match.group(0))
        return _CONTROL_CHARACTER.sub(lambda c: f"%{ord(c.group()):02X}", value)

    return re.sub(r"\{(\w+)\}", parameter, resource)


_CONTROL_CHARACTER = re.compile(r"[\x00-\x1f\x7f]")
