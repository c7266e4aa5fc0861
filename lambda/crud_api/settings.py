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
        )

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
        return frozenset(owned)
