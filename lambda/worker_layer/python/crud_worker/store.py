"""DynamoDB access for the worker: the only module of the runtime that uses boto3.

A worker writes back with one conditional UpdateItem per change; it never reads the table (the
change carries the item as it was written), so its role may UpdateItem and nothing else.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

import boto3
from boto3.dynamodb.types import TypeDeserializer, TypeSerializer
from botocore.config import Config
from botocore.exceptions import ClientError

from crud_worker.contract import (
    DATA_ATTRIBUTE,
    PARTITION_KEY,
    SORT_KEY,
    UPDATED_AT,
    VERSION,
    WRITER_WORKER,
    WRITTEN_BY,
)

_serializer = TypeSerializer()
_deserializer = TypeDeserializer()
# As the API's functions: the SDK retries throttled requests; what still fails, the queue retries.
_CLIENT_CONFIG = Config(retries={"mode": "standard", "total_max_attempts": 3})


def _utc_now() -> str:
    return datetime.now(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


class ItemStore:
    def __init__(self, client: Any, table_name: str, *, clock: Callable[[], str] = _utc_now) -> None:
        self.client = client
        """The boto3 DynamoDB client every write goes through."""
        self._table_name = table_name
        self._clock = clock

    @classmethod
    def for_table(cls, table_name: str) -> ItemStore:
        return cls(boto3.client("dynamodb", config=_CLIENT_CONFIG), table_name)

    @staticmethod
    def decode(image: Mapping[str, Any]) -> dict[str, Any]:
        """A stream record's image as plain values: numbers as the API's clients get them (int or float)."""
        return {name: _plain(_deserializer.deserialize(value)) for name, value in image.items()}

    def write_back(self, owner: str, sort_key: str, attributes: Mapping[str, Any], *, version: int) -> bool:
        """Set ``attributes`` in the item's client data if it is at ``version`` (0: written before versions
        existed); count the write, mark it as the worker's. False if the item has moved on or is gone."""
        names = {f"#a{i}": name for i, name in enumerate(attributes)}
        values = {f":v{i}": _serializer.serialize(_storable(value)) for i, value in enumerate(attributes.values())}
        assignments = [f"#data.{name} = {value}" for name, value in zip(names, values, strict=True)]
        assignments += [
            "#writtenBy = :worker",
            "#updatedAt = :now",
            "#version = if_not_exists(#version, :zero) + :one",
        ]
        at_version = "attribute_not_exists(#version)" if version == 0 else "#version = :expected"
        expected = {} if version == 0 else {":expected": {"N": str(version)}}
        try:
            self.client.update_item(
                TableName=self._table_name,
                Key={PARTITION_KEY: {"S": owner}, SORT_KEY: {"S": sort_key}},
                UpdateExpression=f"SET {', '.join(assignments)}",
                ConditionExpression=f"attribute_exists({PARTITION_KEY}) AND {at_version}",
                ExpressionAttributeNames={
                    **names,
                    "#data": DATA_ATTRIBUTE,
                    "#writtenBy": WRITTEN_BY,
                    "#updatedAt": UPDATED_AT,
                    "#version": VERSION,
                },
                ExpressionAttributeValues={
                    **values,
                    ":worker": {"S": WRITER_WORKER},
                    ":now": {"S": self._clock()},
                    ":zero": {"N": "0"},
                    ":one": {"N": "1"},
                    **expected,
                },
            )
        except ClientError as error:
            if error.response.get("Error", {}).get("Code") == "ConditionalCheckFailedException":
                return False
            raise
        return True


def _plain(value: Any) -> Any:
    if isinstance(value, Decimal):
        exponent = value.as_tuple().exponent  # a letter for NaN and the infinities, which DynamoDB never stores
        return int(value) if isinstance(exponent, int) and exponent >= 0 else float(value)
    if isinstance(value, dict):
        return {name: _plain(item) for name, item in value.items()}
    if isinstance(value, (list, set)):
        return [_plain(item) for item in value]
    return value


def _storable(value: Any) -> Any:
    """A JSON value as DynamoDB stores it: numbers as Decimals (the serializer refuses floats)."""
    return json.loads(json.dumps(value, allow_nan=False), parse_float=Decimal)
