"""The function's configuration, read once from the environment the construct sets."""

from __future__ import annotations

import json
import os
from collections.abc import Mapping
from types import MappingProxyType
from typing import Any, NamedTuple

from crud_api import contract


class Settings(NamedTuple):
    table_name: str
    region: str
    """Where the function runs (Lambda's ``AWS_REGION``): every write marks the item with it."""
    resource: str
    operations: frozenset[str]
    id_attribute: str
    max_body_bytes: int
    timestamp_attribute: str | None = None
    item_schema: Mapping[str, Any] | None = None
    cors_allow_origins: tuple[str, ...] = ()
    require_if_match: bool = False
    """Whether a replace or delete without ``If-Match`` is refused (428) rather than unconditional."""
    operation_groups: Mapping[str, frozenset[str]] = MappingProxyType({})
    """operation -> the Cognito groups allowed to call it; operations not named are open to every caller."""
    item_scope: str = contract.SCOPE_OWNER
    """Where items live: ``owner``, ``shared`` or ``claim:<claim name>`` (contract's SCOPE_*)."""
    read_all_groups: frozenset[str] = frozenset()
    """Cognito groups whose members get and list every owner's items (with the ``owner`` scope)."""
    read_all_scopes: frozenset[str] = frozenset()
    """OAuth scopes (``<resource>/<name>``) whose holders get and list every owner's items."""
    public_operations: frozenset[str] = frozenset()
    """Operations the gateway serves without a token (reads of a ``shared`` service)."""
    client_ids: bool = False
    """Whether PUT with ``If-None-Match: *`` creates an item under an id the client chose."""
    indexes: tuple[str, ...] = ()
    """Top-level attributes items can be looked up by (``GET /<resource>?<attribute>=<value>``), in slot order."""

    @classmethod
    def from_environment(cls, environ: Mapping[str, str] = os.environ) -> Settings:
        """Every value the construct sets; a missing or unknown one fails the cold start, loudly."""
        operations = frozenset(op for op in environ["OPERATIONS"].split(",") if op)
        unknown = operations.difference(contract.ROUTES)
        if unknown:
            raise ValueError(f"OPERATIONS has unknown operations {sorted(unknown)}; expected some of {list(contract.ROUTES)}")
        id_attribute = environ["ID_ATTRIBUTE"]
        timestamp_attribute = environ.get("TIMESTAMP_ATTRIBUTE") or None
        reserved = contract.RESERVED_ATTRIBUTES.intersection({id_attribute, timestamp_attribute})
        if reserved:
            raise ValueError(f"ID_ATTRIBUTE and TIMESTAMP_ATTRIBUTE must not be reserved attribute names, got {sorted(reserved)}")
        schema = environ.get("ITEM_SCHEMA")
        return cls(
            table_name=environ["TABLE_NAME"],
            region=environ["AWS_REGION"],
            resource=environ["RESOURCE_NAME"],
            operations=operations,
            id_attribute=id_attribute,
            max_body_bytes=int(environ["MAX_BODY_BYTES"]),
            timestamp_attribute=timestamp_attribute,
            item_schema=json.loads(schema) if schema else None,
            cors_allow_origins=tuple(origin for origin in environ.get("CORS_ALLOW_ORIGINS", "").split(",") if origin),
            require_if_match=environ.get("REQUIRE_IF_MATCH") == "true",
            operation_groups={
                operation: frozenset(groups) for operation, groups in json.loads(environ.get("OPERATION_GROUPS", "{}")).items()
            },
            item_scope=_item_scope(environ.get("ITEM_SCOPE", contract.SCOPE_OWNER)),
            read_all_groups=_names(environ.get("READ_ALL_GROUPS")),
            read_all_scopes=_names(environ.get("READ_ALL_SCOPES")),
            public_operations=_names(environ.get("PUBLIC_OPERATIONS")),
            indexes=tuple(name for name in environ.get("INDEXES", "").split(",") if name),
            client_ids=environ.get("CLIENT_IDS") == "true",
        )

    @property
    def claim_name(self) -> str | None:
        """The token claim whose value names the caller's collection (``claim:<name>`` scopes), or None."""
        return self.item_scope.removeprefix(contract.SCOPE_CLAIM_PREFIX) if self.item_scope.startswith(
            contract.SCOPE_CLAIM_PREFIX
        ) else None

    @property
    def reads_every_owner(self) -> bool:
        """Whether some callers get and list every owner's items: then items say whose they are."""
        return bool(self.read_all_groups or self.read_all_scopes)

    @property
    def server_owned_attributes(self) -> frozenset[str]:
        """Attributes the server sets; a request body may not contain them."""
        owned = {
            contract.PARTITION_KEY,
            contract.SORT_KEY,
            self.id_attribute,
            contract.CREATED_AT,
            contract.UPDATED_AT,
            contract.VERSION,
            contract.ETAG_ATTRIBUTE,
        }
        if self.timestamp_attribute:
            owned.add(self.timestamp_attribute)
        if self.reads_every_owner:
            owned.add(contract.OWNER_ATTRIBUTE)
        return frozenset(owned)


def _names(raw: str | None) -> frozenset[str]:
    return frozenset(name for name in (raw or "").split(",") if name)


def _item_scope(raw: str) -> str:
    if raw in (contract.SCOPE_OWNER, contract.SCOPE_SHARED) or (
        raw.startswith(contract.SCOPE_CLAIM_PREFIX) and len(raw) > len(contract.SCOPE_CLAIM_PREFIX)
    ):
        return raw
    raise ValueError(f"ITEM_SCOPE must be owner, shared or claim:<name>, got {raw!r}")
