"""API Gateway entry point: the routes of one resource and the HTTP error contract.

Every error is JSON ``{"message": ...}``; a fault the client did not cause is a 500
that carries the API Gateway request id, which the logs carry as ``correlation_id``.
No response ever carries exception text.
"""

from __future__ import annotations

import json
import random
import re
from collections.abc import Callable, Mapping
from decimal import Decimal
from http import HTTPStatus
from typing import Any, NamedTuple

from aws_lambda_powertools.logging import correlation_paths
from aws_lambda_powertools.metrics import MetricUnit
from aws_lambda_powertools.utilities.typing import LambdaContext

from crud_api import contract, requests
from crud_api.items import (
    CreationInFlight,
    IdempotencyKeyReused,
    ItemExists,
    ItemNotFound,
    ItemPage,
    ItemService,
    Versioned,
    VersionMismatch,
)
from crud_api.observability import logger, metrics, tracer
from crud_api.proxy import JSON, Cors, HttpError, Request, Response, proxy_result
from crud_api.repository import ItemRepository, StorageBusyError, UnstorableValueError
from crud_api.settings import Settings


def _json_default(value: Any) -> Any:
    """DynamoDB numbers come back as Decimals: integers stay exact, the rest are the doubles stored."""
    if isinstance(value, Decimal):
        exponent = value.as_tuple().exponent  # a letter for NaN and the infinities, which DynamoDB never stores
        return int(value) if isinstance(exponent, int) and exponent >= 0 else float(value)
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
cors = Cors(settings.cors_allow_origins, contract.CORS_EXPOSE_HEADERS) if settings.cors_allow_origins else None

COLLECTION = f"/{settings.resource}"


def _json(status: HTTPStatus, body: Any, headers: dict[str, str] | None = None) -> Response:
    return Response(status, to_json(body), {"Content-Type": JSON, **(headers or {})})


def _item(status: HTTPStatus, versioned: Versioned, headers: dict[str, str] | None = None) -> Response:
    """An item, with its version as a strong ETag."""
    return _json(status, versioned.item, {**(headers or {}), "ETag": requests.etag(versioned.version)})


class Caller(NamedTuple):
    """Who is calling, as far as the items are concerned."""

    partition: str
    """Where the items the caller reaches live: their own ``sub``, the shared collection or their tenant's."""
    subject: str | None
    """The caller's Cognito ``sub`` (None for a public read): idempotency keys are each caller's own."""
    reads_every_owner: bool = False
    """Whether this get or list reaches every owner's items (``read_all_groups``/``read_all_scopes``)."""


SHARED_PARTITION = f"{contract.SHARED_PARTITION_PREFIX}{settings.resource}"
_READS = frozenset({"get", "list"})


def _caller(request: Request, operation: str) -> Caller:
    """The caller and the items they reach, if they may ``operation``.

    The authorizer has checked the token; an operation limited to Cognito groups also needs the
    caller in one of them (403, before anything is read or written). A public read has no token:
    the gateway lets it through only where the service names the operation public.
    """
    claims = request.claims
    subject = claims.get("sub")
    if not subject:
        if operation in _READS and operation in settings.public_operations and settings.item_scope == contract.SCOPE_SHARED:
            return Caller(SHARED_PARTITION, None)
        logger.warning("Request reached the handler without Cognito claims; is the authorizer attached?")
        raise HttpError(HTTPStatus.UNAUTHORIZED, "Unauthorized")
    groups = requests.parse_groups(claims.get("cognito:groups"))
    allowed = settings.operation_groups.get(operation)
    if allowed and not allowed & groups:
        raise HttpError(
            HTTPStatus.FORBIDDEN, f"Only members of {', '.join(sorted(allowed))} may {operation} {settings.resource}"
        )
    reads_every_owner = operation in _READS and bool(
        settings.read_all_groups & groups or settings.read_all_scopes & requests.parse_scopes(claims.get("scope"))
    )
    return Caller(_partition(claims, subject), subject, reads_every_owner)


def _partition(claims: Mapping[str, Any], subject: str) -> str:
    if settings.item_scope == contract.SCOPE_OWNER:
        return subject
    if settings.item_scope == contract.SCOPE_SHARED:
        return SHARED_PARTITION
    claim = settings.claim_name or ""
    value = claims.get(claim)
    if not isinstance(value, str) or not value:
        raise HttpError(
            HTTPStatus.FORBIDDEN,
            f"{settings.resource} items belong to a {claim}, and your token carries none: ask for {claim} on your user",
        )
    if "#" in value:
        # Keys join a partition and an id with "#": tenant "acme" must never be a prefix of "acme#eu"'s keys.
        raise HttpError(HTTPStatus.FORBIDDEN, f"A {claim} must not contain '#': ask for another value on your user")
    return f"{contract.TENANT_PARTITION_PREFIX}{value}"


def _body(request: Request) -> dict[str, Any]:
    return requests.parse_body(
        request.body,
        max_bytes=settings.max_body_bytes,
        server_owned=settings.server_owned_attributes,
        validator=validator,
    )


def _item_not_found(item_id: str) -> HttpError:
    return HttpError(HTTPStatus.NOT_FOUND, f"{settings.resource} {item_id} not found")


def _expected_versions(request: Request) -> frozenset[int] | None:
    """The versions ``If-Match`` allows a write at (None: any); 428 where the service requires it."""
    tags = requests.parse_entity_tags(request.header("If-Match"), "If-Match")
    if tags is None and settings.require_if_match:
        raise HttpError(
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


def _created(request: Request, versioned: Versioned) -> Response:
    location = f"{request.public_path.rstrip('/')}/{versioned.item[settings.id_attribute]}"
    return _item(HTTPStatus.CREATED, versioned, {"Location": location})


def create_item(request: Request, context: LambdaContext) -> Response:
    caller = _caller(request, "create")
    data = _body(request)
    idempotency_key = requests.parse_idempotency_key(request.header(contract.IDEMPOTENCY_KEY_HEADER))
    if idempotency_key is None:
        response = _created(request, service.create(caller.partition, data))
    else:
        # Only a public read has no subject (_caller), and a create is never public.
        subject = caller.subject or ""
        creation = service.create_once(
            caller.partition,
            data,
            caller=subject,
            idempotency_key=idempotency_key,
            # API Gateway always gives one; an event without it is told apart by Lambda's own.
            request_id=request.request_id or context.aws_request_id,
            claim_millis=context.get_remaining_time_in_millis(),
            respond=lambda versioned: _stored(_created(request, versioned)),
        )
        if creation.replayed:
            return _answer(creation.response, replayed=True)
        response = _answer(creation.response, replayed=False)
    metrics.add_metric(name="ItemsCreated", unit=MetricUnit.Count, value=1)
    return response


def _stored(response: Response) -> dict[str, Any]:
    """A response as an idempotency record keeps it, to answer a retry exactly as the first request."""
    return {"statusCode": int(response.status), "headers": dict(response.headers), "body": response.body}


def _answer(stored: dict[str, Any], *, replayed: bool) -> Response:
    """The response an idempotency record keeps, as the first request got it; a retry's says it is replayed."""
    headers = {name: str(value) for name, value in stored["headers"].items()}
    if replayed:
        headers["Idempotent-Replayed"] = "true"
    return Response(HTTPStatus(int(stored["statusCode"])), stored["body"], headers)


def list_items(request: Request, _context: LambdaContext) -> Response:
    caller = _caller(request, "list")
    params = request.query
    limit = requests.parse_limit(params.get("limit"))
    oldest_first = requests.parse_order(params.get("order"))
    looked_up = [name for name in settings.indexes if name in params]
    if looked_up:
        page = _lookup(caller, looked_up, params, limit, oldest_first)
        next_cursor = requests.encode_cursor(page.last_id, page.last_owner) if page.last_id else None
    elif caller.reads_every_owner:
        after = requests.decode_owners_cursor(params.get("next"), client_ids=settings.client_ids)
        page = service.list_every_owners(limit, after=after, oldest_first=oldest_first)
        next_cursor = requests.encode_cursor(page.last_id, page.last_owner) if page.last_id else None
    else:
        after_id = requests.decode_cursor(params.get("next"), client_ids=settings.client_ids)
        page = service.list(caller.partition, limit, after_id=after_id, oldest_first=oldest_first)
        next_cursor = requests.encode_cursor(page.last_id) if page.last_id else None
    items = [{**v.item, contract.ETAG_ATTRIBUTE: requests.etag(v.version)} for v in page.items]
    return _json(HTTPStatus.OK, {"items": items, "next": next_cursor})


def _lookup(caller: Caller, looked_up: list[str], params: Mapping[str, str], limit: int, oldest_first: bool) -> ItemPage:
    """The items within the caller's reach whose declared attribute has the value asked for: one index Query."""
    if len(looked_up) > 1:
        raise HttpError(HTTPStatus.BAD_REQUEST, f"Look items up by one attribute at a time; got {', '.join(looked_up)}")
    partition = None if caller.reads_every_owner else caller.partition
    after = requests.decode_owners_cursor(params.get("next"), client_ids=settings.client_ids)
    if after is not None and partition is not None and after[0] != partition:
        raise HttpError(HTTPStatus.BAD_REQUEST, "Invalid next cursor: pass back the value of a previous response's next")
    attribute = looked_up[0]
    return service.lookup(partition, attribute, params[attribute], limit, after, oldest_first=oldest_first)


def get_item(request: Request, _context: LambdaContext, item_id: str) -> Response:
    caller, item_id = _caller(request, "get"), requests.parse_item_id(item_id, settings.resource, client_ids=settings.client_ids)
    found = service.get_any_owners(item_id) if caller.reads_every_owner else service.get(caller.partition, item_id)
    if found is None:
        raise _item_not_found(item_id)
    unchanged = requests.parse_entity_tags(request.header("If-None-Match"), "If-None-Match")
    if unchanged is not None and unchanged.matches(found.version, weak=True):
        return Response(HTTPStatus.NOT_MODIFIED, "", {"ETag": requests.etag(found.version)})
    return _item(HTTPStatus.OK, found)


def replace_item(request: Request, _context: LambdaContext, item_id: str) -> Response:
    caller = _caller(request, "update")
    creates = _creates(request)  # before the id: a PUT that would create on a server-id service says POST
    item_id = requests.parse_item_id(item_id, settings.resource, client_ids=settings.client_ids)
    if creates:
        _caller(request, "create")  # creating under an id of one's choosing is a create: its groups apply
        data = _body(request)
        try:
            created = service.create_at(caller.partition, item_id, data)
        except ItemExists as exists:
            return _json(
                HTTPStatus.PRECONDITION_FAILED,
                {"message": f"{settings.resource} {item_id} exists already: PUT without If-None-Match to replace it"},
                {"ETag": requests.etag(exists.current_version)},
            )
        metrics.add_metric(name="ItemsCreated", unit=MetricUnit.Count, value=1)
        return _item(HTTPStatus.CREATED, created, {"Location": request.public_path})
    versions = _expected_versions(request)
    data = _body(request)
    try:
        return _item(HTTPStatus.OK, service.replace(caller.partition, item_id, data, versions=versions))
    except ItemNotFound:
        raise _item_not_found(item_id) from None
    except VersionMismatch as stale:
        return _stale(item_id, stale)


def _creates(request: Request) -> bool:
    """Whether a PUT creates (``If-None-Match: *``, with client ids); any other If-None-Match on a PUT is a 400."""
    tags = requests.parse_entity_tags(request.header("If-None-Match"), "If-None-Match")
    if tags is None:
        return False
    if not tags.any:
        raise HttpError(HTTPStatus.BAD_REQUEST, "A PUT takes If-None-Match: * only (create the item if there is none)")
    if not settings.client_ids:
        raise HttpError(
            HTTPStatus.BAD_REQUEST,
            f"{settings.resource} ids are the server's: create with POST /{settings.resource}",
        )
    return True


def delete_item(request: Request, _context: LambdaContext, item_id: str) -> Response:
    caller, item_id = _caller(request, "delete"), requests.parse_item_id(item_id, settings.resource, client_ids=settings.client_ids)
    try:
        service.delete(caller.partition, item_id, versions=_expected_versions(request))
    except ItemNotFound:
        raise _item_not_found(item_id) from None
    except VersionMismatch as stale:
        return _stale(item_id, stale)
    metrics.add_metric(name="ItemsDeleted", unit=MetricUnit.Count, value=1)
    return Response(HTTPStatus.NO_CONTENT)


ROUTE_FUNCTIONS: dict[str, Callable[..., Response]] = {
    "create": create_item,
    "list": list_items,
    "get": get_item,
    "update": replace_item,
    "delete": delete_item,
}
# (method, whether on one item) -> the service's operation; the others answer 405 (or 404 where a path has none).
_SERVED = {
    method_on_item: operation for operation, method_on_item in contract.ROUTES.items() if operation in settings.operations
}
# Whether on one item -> the path's pattern, and the methods the service serves on it.
_PATHS = {
    on_item: (pattern, sorted(method for method, item in _SERVED if item == on_item))
    for on_item, pattern in (
        (False, re.compile(rf"{re.escape(COLLECTION)}/?")),
        (True, re.compile(rf"{re.escape(COLLECTION)}/([^/]+)/?")),
    )
}


def dispatch(request: Request, context: LambdaContext) -> Response:
    """The service's answer to ``request``; 405 with ``Allow`` for a known path and another method, else 404.

    API Gateway invokes the function only for its own routes: the 404 and 405 are for anything
    else that invokes it directly.
    """
    for on_item, (pattern, allowed) in _PATHS.items():
        matched = pattern.fullmatch(request.path)
        if not matched:
            continue
        if not allowed:
            break
        if request.method not in allowed:
            return _json(HTTPStatus.METHOD_NOT_ALLOWED, {"message": "Method Not Allowed"}, {"Allow": ", ".join(allowed)})
        operation = _SERVED[request.method, on_item]
        known = contract.QUERY_PARAMETERS.get(operation, ()) + (settings.indexes if operation == "list" else ())
        if request.claims or operation not in settings.public_operations:
            # A public read ignores the others instead: the gateway's cache keys it by the known ones only, and
            # would serve a 400 for ?junk=1 to everybody asking without it.
            requests.check_query(request.query, known, f"{request.method} {request.path}")
        return ROUTE_FUNCTIONS[operation](request, context, *matched.groups())
    return _json(HTTPStatus.NOT_FOUND, {"message": "Not Found"})


def respond(request: Request, context: LambdaContext) -> Response:
    """``dispatch``'s answer, or the error it comes to: never exception text; a fault of ours has the request id."""
    try:
        return dispatch(request, context)
    except HttpError as error:
        return _json(error.status, {"message": error.message})
    except StorageBusyError as error:
        # DynamoDB throttled us beyond the SDK's retries: not the caller's fault, and not a fault of ours.
        logger.warning("DynamoDB is throttling requests (%s): answering 503", error)
        return _json(
            HTTPStatus.SERVICE_UNAVAILABLE,
            {
                "message": f"The service is busy: retry after {contract.RETRY_AFTER_SECONDS} s",
                "requestId": request.request_id,
            },
            {"Retry-After": str(contract.RETRY_AFTER_SECONDS)},
        )
    except CreationInFlight:
        return _json(
            HTTPStatus.CONFLICT,
            {"message": f"A request with this {contract.IDEMPOTENCY_KEY_HEADER} is still being processed: retry later"},
        )
    except IdempotencyKeyReused:
        return _json(
            HTTPStatus.UNPROCESSABLE_ENTITY,
            {"message": f"This {contract.IDEMPOTENCY_KEY_HEADER} was used with another request body: use a new key"},
        )
    except UnstorableValueError as error:
        return _json(HTTPStatus.BAD_REQUEST, {"message": error.reason})
    except Exception:
        logger.exception("Unhandled error while serving the request")
        return _json(
            HTTPStatus.INTERNAL_SERVER_ERROR, {"message": "Internal server error", "requestId": request.request_id}
        )


@logger.inject_lambda_context(correlation_id_path=correlation_paths.API_GATEWAY_REST)
@tracer.capture_lambda_handler
@metrics.log_metrics(capture_cold_start_metric=True)
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    request = Request(event)
    return proxy_result(respond(request, context), cors.headers(request.header("Origin")) if cors else {})
