"""DynamoDB access for the single-table design: the only module that uses the AWS SDK (botocore).

Every item lives under its owner's partition (``pk``) with a sort key of
``<resource>#<id>`` (``sk``), so several resources can share one table and a
caller's items are one Query away. Each public method is exactly one DynamoDB
request; a conditional write that fails says why in the same request (the item as it
is, through ``ReturnValuesOnConditionCheckFailure``), never through a second read.
"""

from __future__ import annotations

import decimal
import functools
import os
from collections.abc import Collection, Iterator, Mapping, Sequence
from typing import Any, NamedTuple

import botocore.session
from botocore.config import Config
from botocore.exceptions import ClientError
from botocore.loaders import Loader

from crud_api.attribute_values import from_attribute_value, to_attribute_value
from crud_api.contract import EXPIRES_AT, VERSION
from crud_api.contract import PARTITION_KEY as PK
from crud_api.contract import SORT_KEY as SK

# The SDK retries throttled requests (standard mode: 3 attempts with jittered backoff); what is
# still throttled after them is the caller's to retry later, not a fault of ours.
_THROTTLED = frozenset({"ProvisionedThroughputExceededException", "ThrottlingException", "RequestLimitExceeded"})
# A transaction names each cancelled item's reason; these mean DynamoDB was too busy for it.
_THROTTLED_IN_TRANSACTIONS = frozenset({"ThrottlingError", "ProvisionedThroughputExceeded", "RequestLimitExceeded"})
_CLIENT_CONFIG = Config(retries={"mode": "standard", "total_max_attempts": 3})

_VERSION_NAME = {"#version": VERSION}
IN_PROGRESS = "INPROGRESS"
COMPLETED = "COMPLETED"


class ServiceLookupLoader(Loader):
    """botocore's data loader, which finds out whether it has a service's models by looking for them.

    Before it makes a client, botocore checks that the service is among those it has models of,
    once for the model and once for the endpoint rules; botocore's loader answers by listing the
    directory of every service (over 400), 16 ms of a cold start, more than the rest of this
    package's code takes. Here the check looks in that one service's directory, and the full list
    is made only if something reads it (botocore's error message for an unknown service, or
    ``Session.get_available_services``). Every service stays available: a session's credential
    providers make clients of their own (STS for an assumed role or a web identity, SSO).
    """

    def list_available_services(self, type_name: str) -> Sequence[str]:
        return _ServicesWithModels(self, type_name)

    def has_models(self, service: str, type_name: str) -> bool:
        for path in self.search_paths:
            directory = os.path.join(path, service)
            if os.path.isdir(directory) and any(
                self.file_loader.exists(os.path.join(directory, version, type_name)) for version in os.listdir(directory)
            ):
                return True
        return False


class _ServicesWithModels(Sequence[str]):
    """The services a loader has models of one type for: ``in`` looks in one directory, the list is botocore's."""

    def __init__(self, loader: ServiceLookupLoader, type_name: str) -> None:
        self._loader = loader
        self._type_name = type_name

    def __contains__(self, service: object) -> bool:
        # A service's name is a directory's name, never a path (botocore's list holds no other).
        if not isinstance(service, str) or service in ("", ".", "..") or os.sep in service:
            return False
        return self._loader.has_models(service, self._type_name)

    @functools.cached_property
    def _listed(self) -> list[str]:
        return list(Loader.list_available_services(self._loader, self._type_name))

    def __getitem__(self, index: Any) -> Any:
        return self._listed[index]

    def __len__(self) -> int:
        return len(self._listed)


class UnstorableValueError(ValueError):
    """An item DynamoDB cannot store: ``reason`` (ours, never DynamoDB's text) says why, for the client."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


class StorageBusyError(Exception):
    """DynamoDB is throttling requests, even after the SDK's retries: the caller should retry later."""


class ClaimLost(Exception):
    """The idempotency record is no longer this request's claim (it lapsed and another request took it)."""


class ConditionFailed(Exception):
    """A conditional write found the item not as expected: ``current`` is the item as it is, or None."""

    def __init__(self, current: dict[str, Any] | None) -> None:
        super().__init__("the conditional request failed")
        self.current = current


class ItemKey(NamedTuple):
    owner: str
    sort_key: str

    def as_attributes(self) -> dict[str, Any]:
        return {PK: {"S": self.owner}, SK: {"S": self.sort_key}}


class Page(NamedTuple):
    items: list[dict[str, Any]]
    last_sort_key: str | None


class IndexPage(NamedTuple):
    items: list[dict[str, Any]]
    last_key: dict[str, Any] | None
    """The index's LastEvaluatedKey (table and index keys, as DynamoDB's JSON), where the next page starts."""


class ItemRepository:
    def __init__(self, client: Any, table_name: str) -> None:
        self.client = client
        """The DynamoDB client every request goes through."""
        self._table_name = table_name

    @classmethod
    def for_table(cls, table_name: str) -> ItemRepository:
        # botocore's client, not boto3's: boto3 would import s3transfer and more at every cold start.
        session = botocore.session.get_session()
        # The paths botocore's own loader would search (AWS_DATA_PATH first); making it reads nothing.
        search_paths = session.get_component("data_loader").search_paths
        session.register_component(
            "data_loader", ServiceLookupLoader(extra_search_paths=search_paths, include_default_search_paths=False)
        )
        return cls(session.create_client("dynamodb", config=_CLIENT_CONFIG), table_name)

    def insert(self, key: ItemKey, attributes: Mapping[str, Any]) -> None:
        """Store a new item; the condition guards against overwriting an existing one."""
        self._call(
            "put_item",
            TableName=self._table_name,
            Item={**key.as_attributes(), **_serialize(attributes)},
            ConditionExpression=f"attribute_not_exists({PK})",
        )

    def insert_by_update(self, key: ItemKey, attributes: Mapping[str, Any]) -> None:
        """Store a new item with an UpdateItem (the replace's action), only where none is: an id the client
        chose. Raises ConditionFailed with the item that is there."""
        assignments, names, values = _assignments(attributes)
        self._conditional(
            "update_item",
            TableName=self._table_name,
            Key=key.as_attributes(),
            UpdateExpression=f"SET {', '.join(assignments)}",
            ConditionExpression=f"attribute_not_exists({PK})",
            ExpressionAttributeNames=names,
            ExpressionAttributeValues=values,
        )

    def get(self, key: ItemKey) -> dict[str, Any] | None:
        response = self._call("get_item", TableName=self._table_name, Key=key.as_attributes(), ConsistentRead=True)
        item = response.get("Item")
        return _deserialize(item) if item else None

    def update(
        self,
        key: ItemKey,
        attributes: Mapping[str, Any],
        *,
        versions: Collection[int] | None = None,
        remove: Collection[str] = (),
    ) -> dict[str, Any]:
        """Set ``attributes`` on an existing item (and remove ``remove``), count the write in its version, and
        return it whole.

        ``versions``: the write happens only if the item's version is one of these (0: an item written
        before versions existed). Raises ConditionFailed with the item as it is (None if there is none).
        """
        assignments, names, values = _assignments(attributes)
        assignments.append("#version = if_not_exists(#version, :zero) + :one")
        removed = {f"#r{i}": name for i, name in enumerate(remove)}
        expression = f"SET {', '.join(assignments)}" + (f" REMOVE {', '.join(removed)}" if removed else "")
        condition, condition_values = _version_condition(versions)
        response = self._conditional(
            "update_item",
            TableName=self._table_name,
            Key=key.as_attributes(),
            UpdateExpression=expression,
            ConditionExpression=condition,
            ExpressionAttributeNames={**names, **removed, **_VERSION_NAME},
            ExpressionAttributeValues={**values, ":zero": {"N": "0"}, ":one": {"N": "1"}, **condition_values},
            ReturnValues="ALL_NEW",
        )
        return _deserialize(response["Attributes"])

    def delete(self, key: ItemKey, *, versions: Collection[int] | None = None) -> None:
        """Delete an item (if its version is one of ``versions``); raises ConditionFailed as ``update`` does."""
        condition, condition_values = _version_condition(versions)
        request: dict[str, Any] = {"TableName": self._table_name, "Key": key.as_attributes(), "ConditionExpression": condition}
        if "#version" in condition:
            request["ExpressionAttributeNames"] = _VERSION_NAME
        if condition_values:
            request["ExpressionAttributeValues"] = condition_values
        self._conditional("delete_item", **request)

    def query_page(
        self, owner: str, prefix: str, limit: int, after_sort_key: str | None = None, *, forward: bool = True
    ) -> Page:
        """One page of a partition's items whose sort key starts with ``prefix``, in sort-key order (or reversed)."""
        request: dict[str, Any] = {
            "TableName": self._table_name,
            "KeyConditionExpression": f"{PK} = :owner AND begins_with({SK}, :prefix)",
            "ExpressionAttributeValues": {":owner": {"S": owner}, ":prefix": {"S": prefix}},
            "Limit": limit,
            "ConsistentRead": True,
            "ScanIndexForward": forward,
        }
        if after_sort_key is not None:
            request["ExclusiveStartKey"] = ItemKey(owner, after_sort_key).as_attributes()
        response = self._call("query", **request)
        last_key = response.get("LastEvaluatedKey")
        return Page(
            items=[_deserialize(item) for item in response.get("Items", [])],
            last_sort_key=last_key[SK]["S"] if last_key else None,
        )

    def query_index_page(
        self,
        index: str,
        partition: tuple[str, str],
        limit: int,
        *,
        sort_prefix: tuple[str, str] | None = None,
        exclusive_start: Mapping[str, Any] | None = None,
        forward: bool = True,
    ) -> IndexPage:
        """One page of a global secondary index's partition (``(attribute, value)``), in its sort-key order (or
        reversed); with ``sort_prefix`` (``(attribute, prefix)``), only the items whose sort key starts with it."""
        (partition_name, partition_value) = partition
        condition = "#partition = :partition"
        names = {"#partition": partition_name}
        values = {":partition": {"S": partition_value}}
        if sort_prefix is not None:
            condition += " AND begins_with(#sort, :prefix)"
            names["#sort"], values[":prefix"] = sort_prefix[0], {"S": sort_prefix[1]}
        request: dict[str, Any] = {
            "TableName": self._table_name,
            "IndexName": index,
            "KeyConditionExpression": condition,
            "ExpressionAttributeNames": names,
            "ExpressionAttributeValues": values,
            "Limit": limit,
            "ScanIndexForward": forward,
        }
        if exclusive_start is not None:
            request["ExclusiveStartKey"] = dict(exclusive_start)
        response = self._call("query", **request)
        return IndexPage(
            items=[_deserialize(item) for item in response.get("Items", [])], last_key=response.get("LastEvaluatedKey")
        )

    def query_index_item(self, index: str, partition: tuple[str, str], sort: tuple[str, str]) -> dict[str, Any] | None:
        """The one item of a global secondary index with this partition and sort key, or None: one Query."""
        (partition_name, partition_value), (sort_name, sort_value) = partition, sort
        response = self._call(
            "query",
            TableName=self._table_name,
            IndexName=index,
            KeyConditionExpression="#partition = :partition AND #sort = :sort",
            ExpressionAttributeNames={"#partition": partition_name, "#sort": sort_name},
            ExpressionAttributeValues={":partition": {"S": partition_value}, ":sort": {"S": sort_value}},
        )
        items = response.get("Items", [])
        return _deserialize(items[0]) if items else None

    # --- Maintenance: older items into indexes a service gained (crud_api.backfill) ---

    def scan_sort_key_prefix(self, prefix: str) -> Iterator[dict[str, Any]]:
        """Every item whose sort key starts with ``prefix``, whichever partition it is in: a Scan of the
        whole table, page by page, for a one-off job (the API never scans)."""
        request: dict[str, Any] = {
            "TableName": self._table_name,
            "FilterExpression": f"begins_with({SK}, :prefix)",
            "ExpressionAttributeValues": {":prefix": {"S": prefix}},
        }
        while True:
            response = self._call("scan", **request)
            yield from (_deserialize(item) for item in response.get("Items", []))
            if "LastEvaluatedKey" not in response:
                return
            request["ExclusiveStartKey"] = response["LastEvaluatedKey"]

    def set_unless_written(self, key: ItemKey, attributes: Mapping[str, Any], *, version: int) -> bool:
        """Set ``attributes`` on the item if it is still at ``version`` (nobody wrote it since it was read),
        without counting a write; whether it was set."""
        assignments, names, values = _assignments(attributes)
        condition, condition_values = _version_condition([version])
        try:
            self._conditional(
                "update_item",
                TableName=self._table_name,
                Key=key.as_attributes(),
                UpdateExpression=f"SET {', '.join(assignments)}",
                ConditionExpression=condition,
                ExpressionAttributeNames={**names, **_VERSION_NAME},
                ExpressionAttributeValues={**values, **condition_values},
            )
        except ConditionFailed:
            return False
        return True

    # --- Idempotency records: a claim, then the item and the record's completion in one transaction ---

    def claim(self, key: ItemKey, record: Mapping[str, Any], *, now_seconds: int, now_millis: int) -> dict[str, Any] | None:
        """Write an in-progress record unless a live one holds ``key``; return the live one instead (or None).

        A record is live until it expires (``expiresAt``); an in-progress one also stops holding the key
        once its claim lapses (``inProgressUntil``: the function that made it has timed out).
        """
        try:
            self._conditional(
                "put_item",
                TableName=self._table_name,
                Item={**key.as_attributes(), **_serialize(record)},
                ConditionExpression=(
                    f"attribute_not_exists({PK}) OR #expires <= :now "
                    "OR (#status = :in_progress AND #until <= :now_millis)"
                ),
                ExpressionAttributeNames={"#expires": EXPIRES_AT, "#status": "status", "#until": "inProgressUntil"},
                ExpressionAttributeValues={
                    ":now": {"N": str(now_seconds)},
                    ":now_millis": {"N": str(now_millis)},
                    ":in_progress": {"S": IN_PROGRESS},
                },
            )
        except ConditionFailed as failed:
            return failed.current
        return None

    def insert_completing(
        self, key: ItemKey, attributes: Mapping[str, Any], record_key: ItemKey, record: Mapping[str, Any], request_id: str
    ) -> None:
        """Store a new item and the completed record that claimed its creation, both or neither."""
        try:
            self._call(
                "transact_write_items",
                TransactItems=[
                    {
                        "Put": {
                            "TableName": self._table_name,
                            "Item": {**key.as_attributes(), **_serialize(attributes)},
                            "ConditionExpression": f"attribute_not_exists({PK})",
                        }
                    },
                    {
                        "Put": {
                            "TableName": self._table_name,
                            "Item": {**record_key.as_attributes(), **_serialize(record)},
                            "ConditionExpression": "#request = :request AND #status = :in_progress",
                            "ExpressionAttributeNames": {"#request": "requestId", "#status": "status"},
                            "ExpressionAttributeValues": {
                                ":request": {"S": request_id},
                                ":in_progress": {"S": IN_PROGRESS},
                            },
                        }
                    },
                ],
            )
        except ClientError as error:
            if error.response.get("Error", {}).get("Code") != "TransactionCanceledException":
                raise
            reasons = [reason.get("Code") for reason in error.response.get("CancellationReasons", [])]
            if _THROTTLED_IN_TRANSACTIONS.intersection(reasons):
                raise StorageBusyError("TransactionCanceledException: " + ", ".join(map(str, reasons))) from error
            if reasons[1:2] == ["ConditionalCheckFailed"]:
                # The claim is no longer ours: it lapsed, and another request holds the key now.
                raise ClaimLost() from error
            raise

    def release(self, key: ItemKey, record: Mapping[str, Any], request_id: str) -> None:
        """Let the key be claimed again at once: our claim failed to complete. A record someone else holds stays."""
        try:
            self._conditional(
                "put_item",
                TableName=self._table_name,
                Item={**key.as_attributes(), **_serialize(record)},
                ConditionExpression="#request = :request",
                ExpressionAttributeNames={"#request": "requestId"},
                ExpressionAttributeValues={":request": {"S": request_id}},
            )
        except ConditionFailed:
            pass

    def _conditional(self, operation: str, **request: Any) -> dict[str, Any]:
        try:
            return self._call(operation, ReturnValuesOnConditionCheckFailure="ALL_OLD", **request)
        except ClientError as error:
            if error.response.get("Error", {}).get("Code") == "ConditionalCheckFailedException":
                current = error.response.get("Item")
                raise ConditionFailed(_deserialize(current) if current else None) from None
            raise

    def _call(self, operation: str, **request: Any) -> dict[str, Any]:
        try:
            response: dict[str, Any] = getattr(self.client, operation)(**request)
            return response
        except ClientError as error:
            code = error.response.get("Error", {}).get("Code")
            if code in _THROTTLED:
                raise StorageBusyError(code) from error
            if code == "ValidationException" and "Item size has exceeded" in error.response["Error"].get("Message", ""):
                raise UnstorableValueError(_TOO_LARGE_ITEM) from error
            raise


def _assignments(attributes: Mapping[str, Any]) -> tuple[list[str], dict[str, str], dict[str, Any]]:
    """``attributes`` as an UpdateExpression's SET assignments, with their names and serialized values."""
    names = {f"#a{i}": name for i, name in enumerate(attributes)}
    values = {f":v{i}": value for i, value in enumerate(_serialize(attributes).values())}
    return [f"{name} = {value}" for name, value in zip(names, values, strict=True)], names, values


def _version_condition(versions: Collection[int] | None) -> tuple[str, dict[str, Any]]:
    """The item exists (and, given ``versions``, has one of them): a condition and its values."""
    exists = f"attribute_exists({PK})"
    if versions is None:
        return exists, {}
    alternatives = ["attribute_not_exists(#version)"] if 0 in versions else []
    counted = sorted(v for v in versions if v > 0)
    values = {f":expected{i}": {"N": str(v)} for i, v in enumerate(counted)}
    if values:
        alternatives.append(f"#version IN ({', '.join(values)})")
    if not alternatives:
        # No tag names a version of this item: the write cannot happen; the failure tells 404 from 412.
        alternatives.append(f"attribute_not_exists({PK})")
    return f"{exists} AND ({' OR '.join(alternatives)})", values


_NUMBER_LIMITS = (
    "Request body holds a number DynamoDB cannot store: at most 38 significant digits, and a magnitude "
    "from 1E-130 to under 1E+126"
)
_TOO_LARGE_ITEM = "Request body is too large to store: DynamoDB keeps items of at most 400 KB"
_SMALLEST = decimal.Decimal("1E-130")
_TOO_LARGE = decimal.Decimal("1E+126")


def _serialize(attributes: Mapping[str, Any]) -> dict[str, Any]:
    _check_number_range(attributes)
    try:
        return {name: to_attribute_value(value) for name, value in attributes.items()}
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
    return {name: from_attribute_value(value) for name, value in item.items()}
