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
from typing import Any, NamedTuple

from crud_api import contract
from crud_api.proxy import bad_request

DEFAULT_PAGE_SIZE = 25
MAX_PAGE_SIZE = 100
# DynamoDB stores at most 32 levels of nesting; the body itself is one of them.
MAX_NESTING = 30

SchemaValidator = Callable[[Any], Any]
_DIGITS = re.compile(r"[0-9]+")
# RFC 9110, 8.8.3: entity-tag = [ "W/" ] DQUOTE *etagc DQUOTE, in a comma-separated list.
_ENTITY_TAG = re.compile(r'\s*(W/)?"([\x21\x23-\x7e\x80-\xff]*)"\s*(?:,|$)')
# 1 to 128 printable ASCII characters, not starting or ending with a space.
_IDEMPOTENCY_KEY = re.compile(rf"[\x21-\x7e](?:[\x20-\x7e]{{0,{contract.IDEMPOTENCY_KEY_MAX_LENGTH - 2}}}[\x21-\x7e])?")


def etag(version: int) -> str:
    """An item's strong entity tag: its version, quoted."""
    return f'"{version}"'


class EntityTags(NamedTuple):
    """An ``If-Match`` or ``If-None-Match`` header: ``*``, or the versions its entity tags name."""

    any: bool
    strong_versions: frozenset[int] = frozenset()
    weak_versions: frozenset[int] = frozenset()

    def matches(self, version: int, *, weak: bool) -> bool:
        """Strong comparison for If-Match (a weak tag never matches), weak for If-None-Match (RFC 9110, 8.8.3.2)."""
        return self.any or version in self.strong_versions or (weak and version in self.weak_versions)


def parse_entity_tags(raw: str | None, header: str) -> EntityTags | None:
    """None when the header is absent; tags that name no version of ours are kept out, so they never match."""
    if raw is None:
        return None
    if raw.strip() == "*":
        return EntityTags(any=True)
    strong: set[int] = set()
    weak: set[int] = set()
    position = 0
    while position < len(raw) or not raw.strip():
        match = _ENTITY_TAG.match(raw, position)
        if match is None or match.end() == position:
            raise bad_request(f'{header} must be * or entity tags such as "3", as in an ETag')
        weak_tag, opaque = match.groups()
        if _DIGITS.fullmatch(opaque) and len(opaque) < 20:
            (weak if weak_tag else strong).add(int(opaque))
        position = match.end()
    return EntityTags(any=False, strong_versions=frozenset(strong), weak_versions=frozenset(weak))


def parse_idempotency_key(raw: str | None) -> str | None:
    if raw is None:
        return None
    if not _IDEMPOTENCY_KEY.fullmatch(raw):
        raise bad_request(
            f"{contract.IDEMPOTENCY_KEY_HEADER} must be 1 to {contract.IDEMPOTENCY_KEY_MAX_LENGTH} printable "
            "ASCII characters, such as a UUID"
        )
    return raw


def parse_groups(claim: Any) -> frozenset[str]:
    """The caller's Cognito groups from the ``cognito:groups`` claim as API Gateway passes it.

    REST APIs pass the list as one string, comma-separated; HTTP APIs as ``[a b]``; tests and other
    front doors may pass a list. Every form reads the same.
    """
    if not claim:
        return frozenset()
    if isinstance(claim, (list, tuple)):
        return frozenset(str(group) for group in claim)
    text = str(claim).strip()
    if text.startswith("[") and text.endswith("]"):
        return frozenset(text[1:-1].replace(",", " ").split())
    return frozenset(group.strip() for group in text.split(",") if group.strip())


def compile_schema(schema: Mapping[str, Any] | None) -> SchemaValidator | None:
    """Compile the resource's JSON Schema once, at cold start; None when there is no schema."""
    if schema is None:
        return None
    import fastjsonschema  # only functions whose resource has a schema pay for this import

    return fastjsonschema.compile(dict(schema))


_CLIENT_ID = re.compile(contract.CLIENT_ID_PATTERN)


def valid_id(text: str, *, client_ids: bool = False) -> bool:
    """An item id is a canonical (lower-case, hyphenated) UUID; with client ids, any id of CLIENT_ID_PATTERN."""
    return bool(_CLIENT_ID.fullmatch(text)) if client_ids else _is_uuid(text)


def parse_item_id(raw: str, resource: str, *, client_ids: bool = False) -> str:
    if not valid_id(raw, client_ids=client_ids):
        expected = (
            f"1 to 128 letters, digits, dots, underscores and hyphens ({contract.CLIENT_ID_PATTERN})"
            if client_ids
            else "a UUID such as 3f2b6c1e-8a9d-4e0f-b1c2-d3e4f5a6b7c8"
        )
        raise bad_request(f"Invalid {resource} id: expected {expected}")
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
        raise bad_request("Request body is required")
    if len(raw.encode("utf-8", "surrogatepass")) > max_bytes:
        raise bad_request(f"Request body exceeds {max_bytes} bytes")
    try:
        body = json.loads(raw, parse_constant=_reject_constant)
    except (ValueError, RecursionError):
        raise bad_request("Request body is not valid JSON") from None
    if not isinstance(body, dict):
        raise bad_request("Request body must be a JSON object")
    forbidden = sorted(server_owned.intersection(body))
    if forbidden:
        raise bad_request(f"Request body sets server-owned attributes: {', '.join(forbidden)}")
    normalized: dict[str, Any] = _normalize(body, depth=1)
    if validator is not None:
        _validate_against_schema(normalized, validator)
    return normalized


ORDERS = ("oldest", "newest")
"""A list's order, by id: ids are time-ordered (UUIDv7), so the first is creation order, the default."""


def parse_order(raw: str | None) -> bool:
    """Whether a list runs oldest first (``order=oldest``, the default) rather than newest first."""
    if raw is None or raw == ORDERS[0]:
        return True
    if raw == ORDERS[1]:
        return False
    raise bad_request(f"order must be {' or '.join(ORDERS)}")


def check_query(query: Mapping[str, str], known: tuple[str, ...], route: str) -> None:
    """A query parameter the route does not know is a 400 naming it: never silently ignored."""
    unknown = sorted(set(query) - set(known))
    if unknown:
        takes = f"takes only {', '.join(known)}" if known else "takes no query parameters"
        raise bad_request(f"Unknown query parameter {', '.join(unknown)}: {route} {takes}")


def parse_limit(raw: str | None) -> int:
    """Page size: DEFAULT_PAGE_SIZE when absent, capped at MAX_PAGE_SIZE."""
    if raw is None:
        return DEFAULT_PAGE_SIZE
    if not _DIGITS.fullmatch(raw) or not raw.strip("0"):
        raise bad_request("limit must be a positive integer")
    return MAX_PAGE_SIZE if len(raw.lstrip("0")) > 3 else min(int(raw), MAX_PAGE_SIZE)


def encode_cursor(item_id: str, owner: str | None = None) -> str:
    """Where the next page starts: after ``item_id`` (of ``owner``, in a list of every owner's items)."""
    text = item_id if owner is None else json.dumps([owner, item_id], separators=(",", ":"))
    return base64.urlsafe_b64encode(text.encode()).decode().rstrip("=")


def decode_cursor(raw: str | None, *, client_ids: bool = False) -> str | None:
    """The id after which the next page starts; None for the first page."""
    if raw is None:
        return None
    text = _cursor_text(raw)
    if text is not None and valid_id(text, client_ids=client_ids):
        return text
    raise _bad_cursor()


def decode_owners_cursor(raw: str | None, *, client_ids: bool = False) -> tuple[str, str] | None:
    """(owner, id) after which the next page of every owner's items starts; None for the first page."""
    if raw is None:
        return None
    text = _cursor_text(raw)
    try:
        position = json.loads(text) if text is not None else None
    except ValueError:
        position = None
    if (
        isinstance(position, list)
        and len(position) == 2
        and all(isinstance(part, str) and 0 < len(part) <= _MAX_CURSOR_PART for part in position)
    ):
        owner, item_id = position
        if valid_id(item_id, client_ids=client_ids):
            return owner, item_id
    raise _bad_cursor()


# A partition (a sub, shared#<resource>, tenant#<value of at most 256>) or an id: longer is no cursor of ours.
_MAX_CURSOR_PART = 512


def _cursor_text(raw: str) -> str | None:
    try:
        return base64.urlsafe_b64decode(raw + "=" * (-len(raw) % 4)).decode()
    except (binascii.Error, UnicodeDecodeError, ValueError):
        return None


def _is_uuid(text: str) -> bool:
    try:
        return str(uuid.UUID(text)) == text
    except ValueError:
        return False


def _bad_cursor() -> Exception:
    return bad_request("Invalid next cursor: pass back the value of a previous response's next")


def parse_scopes(claim: Any) -> frozenset[str]:
    """The OAuth scopes of an access token, from its space-separated ``scope`` claim."""
    return frozenset(str(claim).split()) if claim else frozenset()


def _reject_constant(name: str) -> None:
    raise ValueError(f"{name} is not JSON")


def _normalize(value: Any, depth: int) -> Any:
    """Check what JSON allows but DynamoDB does not, and turn floats into Decimals for it."""
    if isinstance(value, dict):
        _check_depth(depth)
        normalized = {}
        for key, child in value.items():
            if key == "":
                raise bad_request("Request body has an empty attribute name")
            normalized[_text(key)] = _normalize(child, depth + 1)
        return normalized
    if isinstance(value, list):
        _check_depth(depth)
        return [_normalize(child, depth + 1) for child in value]
    if isinstance(value, float):
        if not math.isfinite(value):
            raise bad_request("Request body holds a number beyond the range of a double")
        return Decimal(repr(value))
    if isinstance(value, str):
        return _text(value)
    return value


def _check_depth(depth: int) -> None:
    if depth > MAX_NESTING:
        raise bad_request(f"Request body nests objects or arrays more than {MAX_NESTING} levels deep")


def _text(value: str) -> str:
    try:
        value.encode("utf-8")
    except UnicodeEncodeError:
        raise bad_request("Request body holds text that is not valid Unicode (a lone surrogate)") from None
    return value


def _validate_against_schema(body: dict[str, Any], validator: SchemaValidator) -> None:
    import fastjsonschema

    try:
        validator(body)
    except fastjsonschema.JsonSchemaValueException as error:
        # fastjsonschema names the document "data"; the client knows it as the body.
        message = error.message.replace("data", "body", 1)
        raise bad_request(f"Invalid request body: {message}") from None
