"""Facts the construct and the handler must agree on, stated once.

The construct reads this module as ``serverless_meta.handlers.crud_api.contract`` (the
handler code ships inside the library's package); the handler reads it as
``crud_api.contract``. It imports nothing, so that reading it costs the construct nothing
and the handler no cold-start time.
"""

from __future__ import annotations

# operation -> (HTTP method, whether the route is on one item: /{resource}/{id} rather than /{resource})
ROUTES: dict[str, tuple[str, bool]] = {
    "create": ("POST", False),
    "list": ("GET", False),
    "get": ("GET", True),
    "update": ("PUT", True),
    "delete": ("DELETE", True),
}

PARTITION_KEY = "pk"
"""The owner (the caller's Cognito ``sub``)."""
SORT_KEY = "sk"
"""``<resource>#<id>``."""
DATA_ATTRIBUTE = "data"
"""The client's attributes, as one map, so that a replace is one UpdateItem that keeps the rest."""
CREATED_AT = "createdAt"
UPDATED_AT = "updatedAt"

STORED_ATTRIBUTES = frozenset({PARTITION_KEY, SORT_KEY, DATA_ATTRIBUTE, CREATED_AT, UPDATED_AT})
"""The top-level attributes of every stored item: the id and timestamp attributes must be named otherwise."""

# CORS: what browsers may send and read, for the gateway's preflight and the handler's answers alike.
CORS_ALLOW_HEADERS = ("Authorization", "Content-Type")
CORS_EXPOSE_HEADERS = ("Location",)
CORS_MAX_AGE_SECONDS = 3600
