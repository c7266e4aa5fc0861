"""Where a service's items live, and so who reaches them: ``ItemScope``."""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import ClassVar

# Cognito's custom attributes reach a token as ``custom:<name>``, a name of 1 to 20 letters, digits and
# underscores (CreateUserPool's SchemaAttributeType); a tenant is such an attribute.
_CUSTOM_CLAIM = re.compile(r"^custom:[A-Za-z0-9_]{1,20}$")


@dataclass(frozen=True)
class ItemScope:
    """Where a service's items live: ``ItemScope.OWNER`` (each caller's own), ``ItemScope.SHARED`` (one
    collection for every caller an operation admits) or ``ItemScope.claim("custom:tenant")`` (one
    collection per value of that token claim: a tenant's items, out of every other tenant's reach)."""

    kind: str
    claim_name: str | None = None

    OWNER: ClassVar[ItemScope]
    SHARED: ClassVar[ItemScope]

    @classmethod
    def claim(cls, name: str) -> ItemScope:
        """One collection per value of the token claim ``name``, a Cognito custom attribute (``custom:tenant``)."""
        return cls("claim", name)

    @property
    def setting(self) -> str:
        """How the handler reads it from its environment: ``owner``, ``shared`` or ``claim:<name>``."""
        return f"claim:{self.claim_name}" if self.kind == "claim" else self.kind

    @property
    def custom_attribute(self) -> str | None:
        """The user pool's custom attribute the claim comes from (``tenant`` for ``custom:tenant``)."""
        return self.claim_name.removeprefix("custom:") if self.claim_name else None

    def problem(self) -> str | None:
        """Why this scope is not one a service can have, or None."""
        if self.kind in ("owner", "shared") and self.claim_name is None:
            return None
        if self.kind == "claim" and isinstance(self.claim_name, str) and _CUSTOM_CLAIM.match(self.claim_name):
            return None
        return (
            "ItemScope.OWNER, ItemScope.SHARED or ItemScope.claim('custom:<attribute>') (a Cognito custom "
            "attribute of 1 to 20 letters, digits and underscores)"
        )

    def __str__(self) -> str:
        if self.kind == "claim":
            return f"ItemScope.claim({self.claim_name!r})"
        return f"ItemScope.{self.kind.upper()}" if self.kind in ("owner", "shared") else repr(self)


ItemScope.OWNER = ItemScope("owner")
ItemScope.SHARED = ItemScope("shared")
