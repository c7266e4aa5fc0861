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

# Ids a client chooses (``client_ids``): PUT /<resource>/<id> with If-None-Match: * creates the item there.
CLIENT_ID_PATTERN = r"[A-Za-z0-9._-]{1,128}"

# The query parameters each operation takes; any other is a 400 (never silently ignored).
QUERY_PARAMETERS: dict[str, tuple[str, ...]] = {"list": ("limit", "next", "order")}

PARTITION_KEY = "pk"
"""The owner (the caller's Cognito ``sub``)."""
SORT_KEY = "sk"
"""``<resource>#<id>``."""
DATA_ATTRIBUTE = "data"
"""The client's attributes, as one map, so that a replace is one UpdateItem that keeps the rest."""
CREATED_AT = "createdAt"
UPDATED_AT = "updatedAt"
VERSION = "version"
"""Counts the item's writes, from 1; items written before versions existed have none (version 0)."""
EXPIRES_AT = "expiresAt"
"""Epoch seconds after which the table's time to live removes a record (idempotency records only)."""
WRITTEN_BY = "writtenBy"
"""Who wrote the item last: WRITER_API (the handler's create and replace) or WRITER_WORKER (a worker's
write-back), so that a worker's own writes never come back to it as new work. Items written before
the marker existed have none until their next write."""
WRITER_API = "api"
WRITER_WORKER = "worker"
WRITER_BACKFILL = "backfill"
"""``serverless-meta backfill`` gave the item its index keys: no change of the item's, none for a worker."""
WRITTEN_IN = "writtenIn"
"""The region whose API wrote the item last (Lambda's ``AWS_REGION``). A global table's replicas carry it
with the item, so that each region's worker takes only the changes written in its own region and a
change is worked on once, not once per region. Items written before the marker existed have none."""

# Where items live (the service's ``item_scope``): their partition key, by scope.
SCOPE_OWNER = "owner"
"""Each caller's own items: the partition is the caller's Cognito ``sub`` (as before scopes existed)."""
SCOPE_SHARED = "shared"
"""One collection for the service: the partition is ``shared#<resource>``."""
SCOPE_CLAIM_PREFIX = "claim:"
"""``claim:<name>``: one collection per value of that token claim, the partition ``tenant#<value>``."""
SHARED_PARTITION_PREFIX = "shared#"
TENANT_PARTITION_PREFIX = "tenant#"

# Readers of every owner's items (``read_all_groups``/``read_all_scopes``) find them through a global
# secondary index of the table: every item of the resource under one partition value, by id.
COLLECTION_INDEX = "collection"
COLLECTION_PARTITION_KEY = "collectionPk"
"""``<resource>``: every item of the resource, whoever owns it."""
COLLECTION_SORT_KEY = "collectionSk"
"""The item's id."""
OWNER_ATTRIBUTE = "owner"
"""In responses of a service with readers of every owner's items: whose item it is (the owner's ``sub``)."""

# Lookups by declared attributes (``indexes``): the n-th declared attribute of every service on a table
# shares the table's index ``lookup<n>``, whose keys say the resource and the attribute, so services
# never collide (single-table design). Partition ``<resource>#<attribute>#<value>``, sort key
# ``<partition of the item>#<id>``: the caller's own, the collection's or the tenant's matching items are
# one Query with begins_with on the sort key, everybody's (readers of all) one Query on the partition.
MAX_INDEXES = 5
"""Declared attributes a service may look items up by (each is a global secondary index of the table)."""


def lookup_index(slot: int) -> str:
    """The name of the table's index for the ``slot``-th declared attribute (from 1)."""
    return f"lookup{slot}"


def lookup_keys(slot: int) -> tuple[str, str]:
    """The partition and sort key attributes of ``lookup_index(slot)``."""
    return f"lookup{slot}Pk", f"lookup{slot}Sk"


STORED_ATTRIBUTES = frozenset(
    {
        PARTITION_KEY,
        SORT_KEY,
        DATA_ATTRIBUTE,
        CREATED_AT,
        UPDATED_AT,
        VERSION,
        EXPIRES_AT,
        WRITTEN_BY,
        WRITTEN_IN,
        COLLECTION_PARTITION_KEY,
        COLLECTION_SORT_KEY,
        *(key for slot in range(1, MAX_INDEXES + 1) for key in lookup_keys(slot)),
    }
)
"""The top-level attributes of every stored item: the id and timestamp attributes must be named otherwise."""

ETAG_ATTRIBUTE = "etag"
"""The ``ETag`` of each item in a list page, so that a client can update an item from a list without a get."""

RESERVED_ATTRIBUTES = STORED_ATTRIBUTES | {ETAG_ATTRIBUTE}
"""Names the id and timestamp attributes must not take: stored attributes, and what responses add."""

# Idempotent creation: a POST with this header creates at most one item per caller and key.
IDEMPOTENCY_KEY_HEADER = "Idempotency-Key"
IDEMPOTENCY_KEY_MAX_LENGTH = 128
IDEMPOTENCY_WINDOW_SECONDS = 24 * 60 * 60
IDEMPOTENCY_PARTITION_PREFIX = "idempotency#"
"""Idempotency records live in the table under ``idempotency#<owner>``, apart from the owner's items."""

# What a rejected caller is told to wait before retrying when DynamoDB is throttling (503).
RETRY_AFTER_SECONDS = 1

# CORS: what browsers may send and read, for the gateway's preflight and the handler's answers alike.
CORS_ALLOW_HEADERS = ("Authorization", "Content-Type", "If-Match", "If-None-Match", IDEMPOTENCY_KEY_HEADER)
CORS_EXPOSE_HEADERS = ("Location", "ETag", "Retry-After")
CORS_MAX_AGE_SECONDS = 3600

# Every status each operation's handler answers with (the gateway adds its own: 401, 429, 502, 504...).
# An update answers 201 only where clients choose ids (a PUT with If-None-Match: * creates).
# The OpenAPI document states these, and a contract test holds the handler to them.
RESPONSES: dict[str, tuple[int, ...]] = {
    "create": (201, 400, 403, 409, 422, 500, 503),
    "list": (200, 400, 403, 500, 503),
    "get": (200, 304, 400, 403, 404, 500, 503),
    "update": (200, 201, 400, 403, 404, 412, 428, 500, 503),
    "delete": (204, 400, 403, 404, 412, 428, 500, 503),
}
