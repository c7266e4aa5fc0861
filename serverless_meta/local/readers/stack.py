"""One stack's template, as every reader sees it: its resources by kind, their keys and construct paths,
and its intrinsic functions, resolved against the symbol table of the whole template."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from serverless_meta.local.intrinsics import Intrinsics
from serverless_meta.local.model import Asset


@dataclass(frozen=True)
class StackTemplate:
    name: str
    template: Mapping[str, Any]
    region: str
    intrinsics: Intrinsics
    assembly_dir: Path
    """The cloud assembly's directory, which relative asset paths are relative to."""
    assets: Mapping[str, Asset] = field(default_factory=dict)
    """An asset's S3 object key -> its source, for a template without asset metadata."""

    @property
    def resources(self) -> Mapping[str, dict]:
        return self.template.get("Resources", {})

    def key(self, logical_id: str) -> str:
        """A resource's key in the app: ``<stack>/<logical id>``."""
        return f"{self.name}/{logical_id}"

    def of_type(self, *types: str) -> dict[str, dict]:
        return {name: r for name, r in self.resources.items() if r.get("Type") in types}

    def of_api(self, resource_type: str, api_id: str) -> dict[str, dict]:
        """The properties of each resource of ``resource_type`` that belongs to the REST API ``api_id``."""
        return {
            name: resource["Properties"]
            for name, resource in self.of_type(resource_type).items()
            if resource.get("Properties", {}).get("RestApiId") == {"Ref": api_id}
        }

    def path_of(self, logical_id: str, resource: Mapping[str, Any]) -> str:
        """A resource's construct path (CDK records it in the metadata), or its key."""
        return resource.get("Metadata", {}).get("aws:cdk:path", self.key(logical_id)).removesuffix("/Resource")
