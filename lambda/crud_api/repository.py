"""DynamoDB access for the single-table design: the only module that uses boto3.

Every item lives under its owner's partition (``pk``) with a sort key of
``<resource>#<id>`` (``sk``), so several resources can share one table and a
caller's items are one Query away. Each public method is exactly one DynamoDB
request.
"""

from __future__ import annotations

import decimal
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import boto3
from boto3.dynamodb.types import TypeDeserializer, TypeSerializer
from botocore.exceptions import ClientError

from crud_api.contract import PARTITION_KEY as PK
from crud_api.contract import SORT_KEY as SK

_serializer = TypeSerializer()
_deserializer = TypeDeserializer()


class UnstorableValueError(ValueError):
    """An item holds a value DynamoDB cannot store (a number out of its range or precision)."""


@dataclass(frozen=True)
class ItemKey:
    owner: str
    sort_key: str

    def as_attributes(self) -> dict[str, Any]:
        return {PK: {"S": self.owner}, SK: {"S": self.sort_key}}


@dataclass(frozen=True)
class Page:
    items: list[dict[str, Any]]
    last_sort_key: str | None


class ItemRepository:
    def __init__(self, client: Any, table_name: str) -> None:
        self.client = client
        """The boto3 DynamoDB client every request goes through."""
        self._table_name = table_name

    @classmethod
    def for_table(cls, table_name: str) -> ItemRepository:
        return cls(boto3.client("dynamodb"), table_name)

    def insert(self, key: ItemKey, attributes: Mapping[str, Any]) -> None:
        """Store a new item; the condition guards against overwriting an existing one."""
        self.client.put_item(
            TableName=self._table_name,
            Item={**key.as_attributes(), **_serialize(attributes)},
            ConditionExpression=f"attribute_not_exists({PK})",
        )

    def get(self, key: ItemKey) -> dict[str, Any] | None:
        response = self.client.get_item(TableName=self._table_name, Key=key.as_attributes(), ConsistentRead=True)
        item = response.get("Item")
        return _deserialize(item) if item else None

    def update(self, key: ItemKey, attributes: Mapping[str, Any]) -> dict[str, Any] | None:
        """Set ``attributes`` on an existing item and return it whole, or None if there is no such item."""
        names = {f"#a{i}": name for i, name in enumerate(attributes)}
        values = {f":v{i}": value for i, value in enumerate(_serialize(attributes).values())}
        assignments = ", ".join(f"{name} = {value}" for name, value in zip(names, values, strict=True))
        try:
            response = self.client.update_item(
                TableName=self._table_name,
                Key=key.as_attributes(),
                UpdateExpression=f"SET {assignments}",
                ConditionExpression=f"attribute_exists({PK})",
                ExpressionAttributeNames=names,
                ExpressionAttributeValues=values,
                ReturnValues="ALL_NEW",
            )
        except ClientError as error:
            if _is_failed_condition(error):
                return None
            raise
        return _deserialize(response["Attributes"])

    def delete(self, key: ItemKey) -> bool:
        """Delete an item; False when there was none."""
        try:
            self.client.delete_item(
                TableName=self._table_name, Key=key.as_attributes(), ConditionExpression=f"attribute_exists({PK})"
            )
        except ClientError as error:
            if _is_failed_condition(error):
                return False
            raise
        return True

    def query_page(self, owner: str, prefix: str, limit: int, after_sort_key: str | None = None) -> Page:
        """One page of an owner's items whose sort key starts with ``prefix``, in sort-key order."""
        request: dict[str, Any] = {
            "TableName": self._table_name,
            "KeyConditionExpression": f"{PK} = :owner AND begins_with({SK}, :prefix)",
            "ExpressionAttributeValues": {":owner": {"S": owner}, ":prefix": {"S": prefix}},
            "Limit": limit,
            "ConsistentRead": True,
        }
        if after_sort_key is not None:
            request["ExclusiveStartKey"] = ItemKey(owner, after_sort_key).as_attributes()
        response = self.client.query(**request)
        last_key = response.get("LastEvaluatedKey")
        return Page(
            items=[_deserialize(item) for item in response.get("Items", [])],
            last_sort_key=last_key[SK]["S"] if last_key else None,
        )


_NUMBER_LIMITS = "at most 38 significant digits, and a magnitude from 1E-130 to under 1E+126"
_SMALLEST = decimal.Decimal("1E-130")
_TOO_LARGE = decimal.Decimal("1E+126")


def _serialize(attributes: Mapping[str, Any]) -> dict[str, Any]:
    _check_number_range(attributes)
    try:
        return {name: _serializer.serialize(value) for name, value in attributes.items()}
    except decimal.DecimalException as error:
        raise UnstorableValueError(_NUMBER_LIMITS) from error


def _check_number_range(value: Any) -> None:
    """DynamoDB's range, which the serializer's decimal context lets subnormal numbers slip past."""
    if isinstance(value, Mapping):
        for child in value.values():
            _check_number_range(child)
    elif isinstance(value, list):
        for child in value:
            _check_number_range(child)
    elif isinstance(value, (int, decimal.Decimal)) and not isinstance(value, bool):
        if value and not _SMALLEST <= abs(decimal.Decimal(value)) < _TOO_LARGE:
            raise UnstorableValueError(_NUMBER_LIMITS)


def _deserialize(item: Mapping[str, Any]) -> dict[str, Any]:
    return {name: _deserializer.deserialize(value) for name, value in item.items()}


def _is_failed_condition(error: ClientError) -> bool:
    return error.response.get("Error", {}).get("Code") == "ConditionalCheckFailedException"
