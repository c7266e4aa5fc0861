"""The operations a ServerlessCrudApi can offer, and what each one needs."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from enum import StrEnum



class Operation(StrEnum):
    """One CRUD operation on a resource; the string values are what users may pass instead."""

    CREATE = "create"
    """``POST /{resource}``: store a new item."""
    LIST = "list"
    """``GET /{resource}``: the caller's items, a page at a time."""
    GET = "get"
    """``GET /{resource}/{id}``: one item."""
    UPDATE = "update"
    """``PUT /{resource}/{id}``: replace an item's attributes."""
    DELETE = "delete"
    """``DELETE /{resource}/{id}``: remove an item."""


@dataclass(frozen=True)
class Route:
    method: str
    on_item: bool
    """True for ``/{resource}/{id}``, False for ``/{resource}``."""
    dynamodb_action: str
    """The IAM action for that request: the only one the operation's function may call."""
    writes: bool
    """Whether the request writes items (and so needs to encrypt with a customer-managed table key)."""


ROUTES: dict[Operation, Route] = {
    Operation.CREATE: Route("POST", False, "dynamodb:PutItem", writes=True),
    Operation.LIST: Route("GET", False, "dynamodb:Query", writes=False),
    Operation.GET: Route("GET", True, "dynamodb:GetItem", writes=False),
    Operation.UPDATE: Route("PUT", True, "dynamodb:UpdateItem", writes=True),
    Operation.DELETE: Route("DELETE", True, "dynamodb:DeleteItem", writes=True),
}


def parse_operations(operations: Iterable[Operation | str]) -> tuple[Operation, ...]:
    """Operations in their canonical order, each once; raises ValueError on an unknown name."""
    requested = set()
    for operation in operations:
        try:
            requested.add(Operation(operation))
        except ValueError:
            expected = ", ".join(repr(op.value) for op in Operation)
            raise ValueError(f"operations: unknown operation {operation!r}; expected some of {expected}") from None
    if not requested:
        raise ValueError("operations: at least one operation is required")
    return tuple(op for op in Operation if op in requested)
