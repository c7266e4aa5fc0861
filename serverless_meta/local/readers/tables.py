"""DynamoDB tables: their key schema, indexes and stream."""

from __future__ import annotations

from typing import Any

from serverless_meta.local.model import LocalApp, Table
from serverless_meta.local.readers.stack import StackTemplate


def read(stack: StackTemplate, app: LocalApp) -> None:
    for logical_id, resource in stack.of_type("AWS::DynamoDB::Table", "AWS::DynamoDB::GlobalTable").items():
        props = resource.get("Properties", {})
        stream = props.get("StreamSpecification") or {}
        app.tables.append(
            Table(
                name=stack.intrinsics.ref(logical_id),
                region=stack.region,
                key_schema=props["KeySchema"],
                attribute_definitions=props["AttributeDefinitions"],
                global_secondary_indexes=[_index(i) for i in props.get("GlobalSecondaryIndexes", [])],
                local_secondary_indexes=[_index(i) for i in props.get("LocalSecondaryIndexes", [])],
                stream_view_type=stream.get("StreamViewType"),
            )
        )


def _index(index: dict[str, Any]) -> dict[str, Any]:
    return {key: index[key] for key in ("IndexName", "KeySchema", "Projection") if key in index}
