"""The operations a ServerlessCrudApi can offer, and what each one needs."""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

from serverless_meta.handlers.crud_api import contract


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


# The method and path come from the handler's contract; the permissions are the construct's to grant.
_PERMISSIONS = {
    Operation.CREATE: ("dynamodb:PutItem", True),
    Operation.LIST: ("dynamodb:Query", False),
    Operation.GET: ("dynamodb:GetItem", False),
    Operation.UPDATE: ("dynamodb:UpdateItem", True),
    Operation.DELETE: ("dynamodb:DeleteItem", True),
}

def _route(operation: Operation) -> Route:
    method, on_item = contract.ROUTES[operation.value]
    dynamodb_action, writes = _PERMISSIONS[operation]
    return Route(method, on_item, dynamodb_action, writes)


ROUTES: dict[Operation, Route] = {operation: _route(operation) for operation in Operation}
