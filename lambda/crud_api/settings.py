"""The function's configuration, read once from the environment the construct sets."""

from __future__ import annotations

import json
import os
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

OPERATIONS = ("create", "get", "list", "update", "delete")


@dataclass(frozen=True)
class Settings:
    table_name: str
    resource: str
    operations: frozenset[str]
    id_attribute: str
    max_body_bytes: int
    timestamp_attribute: str | None = None
    item_schema: Mapping[str, Any] | None = None
    cors_allow_origins: tuple[str, ...] = ()

    @classmethod
    def from_environment(cls, environ: Mapping[str, str] = os.environ) -> Settings:
        operations = frozenset(op for op in environ["OPERATIONS"].split(",") if op)
        unknown = operations.difference(OPERATIONS)
        if unknown:
            raise ValueError(f"OPERATIONS has unknown operations {sorted(unknown)}; expected some of {OPERATIONS}")
        schema = environ.get("ITEM_SCHEMA")
        return cls(
            table_name=environ["TABLE_NAME"],
            resource=environ["RESOURCE_NAME"],
            operations=operations,
            id_attribute=environ.get("ID_ATTRIBUTE", "id"),
            max_body_bytes=int(environ.get("MAX_BODY_BYTES", "32768")),
            timestamp_attribute=environ.get("TIMESTAMP_ATTRIBUTE") or None,
            item_schema=json.loads(schema) if schema else None,
            cors_allow_origins=tuple(origin for origin in environ.get("CORS_ALLOW_ORIGINS", "").split(",") if origin),
        )

    @property
    def server_owned_attributes(self) -> frozenset[str]:
        """Attributes the server sets; a request body may not contain them."""
        owned = {"pk", "sk", self.id_attribute, "createdAt", "updatedAt"}
        if self.timestamp_attribute:
            owned.add(self.timestamp_attribute)
        return frozenset(owned)
