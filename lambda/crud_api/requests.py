"""Turning request parts into validated values, or a 400 that says what is wrong.

Nothing here touches storage: a request that fails these checks writes nothing.
"""

from __future__ import annotations

import base64
import binascii
import json
import math
import re
import uuid
from collections.abc import Callable, Mapping
from decimal import Decimal
from typing import Any

from aws_lambda_powertools.event_handler.exceptions import BadRequestError

DEFAULT_PAGE_SIZE = 25
MAX_PAGE_SIZE = 100
# DynamoDB stores at most 32 levels of nesting; the body itself is one of them.
MAX_NESTING = 30

SchemaValidator = Callable[[Any], Any]
_DIGITS = re.compile(r"[0-9]+")


def compile_schema(schema: Mapping[str, Any] | None) -> SchemaValidator | None:
    """Compile the resource's JSON Schema once, at cold start; None when there is no schema."""
    if schema is None:
        return None
    import fastjsonschema  # only functions whose resource has a schema pay for this import

    return fastjsonschema.compile(dict(schema))


def parse_item_id(raw: str, resource: str) -> str:
    """An item id is a canonical (lower-case, hyphenated) UUID."""
    try:
        canonical = str(uuid.UUID(raw))
    except ValueError:
        canonical = None
    if canonical != raw:
        raise BadRequestError(f"Invalid {resource} id: expected a UUID such as 3f2b6c1e-8a9d-4e0f-b1c2-d3e4f5a6b7c8")
    return raw


def parse_body(
    raw: str | None,
    *,
    max_bytes: int,
    server_owned: frozenset[str],
    validator: SchemaValidator | None,
) -> dict[str, Any]:
    """The request body as a JSON object the client may write, its numbers ready for DynamoDB.

    Numbers follow JSON's usual interoperable meaning (RFC 8259): integers are exact (up to
    DynamoDB's 38 digits), other numbers are IEEE doubles, stored as their shortest decimal
    form, so what is stored is exactly what every later response returns.
    """
    if not raw:
        raise BadRequestError("Request body is required")
    if len(raw.encode("utf-8", "surrogatepass")) > max_bytes:
        raise BadRequestError(f"Request body exceeds {max_bytes} bytes")
    try:
        body = json.loads(raw, parse_constant=_reject_constant)
    except (ValueError, RecursionError):
        raise BadRequestError("Request body is not valid JSON") from None
    if not isinstance(body, dict):
        raise BadRequestError("Request body must be a JSON object")
    forbidden = sorted(server_owned.intersection(body))
    if forbidden:
        raise BadRequestError(f"Request body sets server-owned attributes: {', '.join(forbidden)}")
    body = _normalize(body, depth=1)
    if validator is not None:
        _validate_against_schema(body, validator)
    return body


def parse_limit(raw: str | None) -> int:
    """Page size: DEFAULT_PAGE_SIZE when absent, capped at MAX_PAGE_SIZE."""
    if raw is None:
        return DEFAULT_PAGE_SIZE
    if not _DIGITS.fullmatch(raw) or not raw.strip("0"):
        raise BadRequestError("limit must be a positive integer")
    return MAX_PAGE_SIZE if len(raw.lstrip("0")) > 3 else min(int(raw), MAX_PAGE_SIZE)


def encode_cursor(item_id: str) -> str:
    return base64.urlsafe_b64encode(item_id.encode()).decode().rstrip("=")


def decode_cursor(raw: str | None) -> str | None:
    """The id after which the next page starts; None for the first page."""
    if raw is None:
        return None
    try:
        item_id = base64.urlsafe_b64decode(raw + "=" * (-len(raw) % 4)).decode()
        if str(uuid.UUID(item_id)) == item_id:
            return item_id
    except (binascii.Error, UnicodeDecodeError, ValueError):
        pass
    raise BadRequestError("Invalid next cursor: pass back the value of a previous response's next")


def _reject_constant(name: str) -> None:
    raise ValueError(f"{name} is not JSON")


def _normalize(value: Any, depth: int) -> Any:
    """Check what JSON allows but DynamoDB does not, and turn floats into Decimals for it."""
    if isinstance(value, dict):
        _check_depth(depth)
        normalized = {}
        for key, child in value.items():
            if key == "":
                raise BadRequestError("Request body has an empty attribute name")
            normalized[_text(key)] = _normalize(child, depth + 1)
        return normalized
    if isinstance(value, list):
        _check_depth(depth)
        return [_normalize(child, depth + 1) for child in value]
    if isinstance(value, float):
        if not math.isfinite(value):
            raise BadRequestError("Request body holds a number beyond the range of a double")
        return Decimal(repr(value))
    if isinstance(value, str):
        return _text(value)
    return value


def _check_depth(depth: int) -> None:
    if depth > MAX_NESTING:
        raise BadRequestError(f"Request body nests objects or arrays more than {MAX_NESTING} levels deep")


def _text(value: str) -> str:
    try:
        value.encode("utf-8")
    except UnicodeEncodeError:
        raise BadRequestError("Request body holds text that is not valid Unicode (a lone surrogate)") from None
    return value


def _validate_against_schema(body: dict[str, Any], validator: SchemaValidator) -> None:
    import fastjsonschema

    try:
        validator(body)
    except fastjsonschema.JsonSchemaValueException as error:
        # fastjsonschema names the document "data"; the client knows it as the body.
        message = error.message.replace("data", "body", 1)
        raise BadRequestError(f"Invalid request body: {message}") from None
