"""What one change is: an item created, replaced or deleted through the API, read from its stream record.

The message a worker's queue delivers is the DynamoDB stream record itself (the pipe forwards it
as it is): the keys name the owner and the item, the images hold the item before and after.
Callers see items as the API's clients do: the id, the client's attributes, the timestamps.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from crud_worker.contract import (
    CREATED_AT,
    DATA_ATTRIBUTE,
    ETAG_ATTRIBUTE,
    OWNER_ATTRIBUTE,
    PARTITION_KEY,
    SORT_KEY,
    UPDATED_AT,
    VERSION,
)

if TYPE_CHECKING:
    from crud_worker.store import ItemStore

# The stream's event names, and what they mean to the API's clients.
OPERATIONS = {"INSERT": "create", "MODIFY": "update", "REMOVE": "delete"}


@dataclass(frozen=True)
class ItemShape:
    """The resource's items, as the construct describes them to its functions."""

    resource: str
    id_attribute: str
    timestamp_attribute: str | None = None
    indexes: tuple[str, ...] = ()
    """Attributes the API looks items up by: a worker may not write them (its write-back keeps no index keys)."""
    shows_owner: bool = False
    """Items say their owner (``owner``), as the API shows them where some callers read every owner's items."""

    @property
    def server_owned(self) -> frozenset[str]:
        """Attributes the server sets: a worker may not write them, as a request body may not."""
        owned = {PARTITION_KEY, SORT_KEY, self.id_attribute, CREATED_AT, UPDATED_AT, VERSION, ETAG_ATTRIBUTE}
        if self.timestamp_attribute:
            owned.add(self.timestamp_attribute)
        if self.shows_owner:
            owned.add(OWNER_ATTRIBUTE)
        return frozenset(owned)

    def public(self, stored: Mapping[str, Any]) -> dict[str, Any]:
        """The item as a client reads it from the API."""
        item = {self.id_attribute: stored[self.id_attribute], **stored.get(DATA_ATTRIBUTE, {})}
        item[CREATED_AT] = stored[CREATED_AT]
        item[UPDATED_AT] = stored[UPDATED_AT]
        if self.timestamp_attribute and self.timestamp_attribute in stored:
            item[self.timestamp_attribute] = stored[self.timestamp_attribute]
        if self.shows_owner:
            item[OWNER_ATTRIBUTE] = stored[PARTITION_KEY]
        return item


@dataclass(frozen=True)
class Change:
    """One item created, replaced or deleted, as a worker function receives it.

    ``operation`` is ``"create"``, ``"update"`` or ``"delete"``; ``before`` and ``after`` are the item
    as clients see it (None where there is none: before a create, after a delete); ``version`` is
    the item's version after the change (before it, for a delete), the number its ETag shows.
    """

    operation: str
    owner: str
    """The Cognito ``sub`` of the item's owner (its partition key)."""
    item_id: str
    before: dict[str, Any] | None
    after: dict[str, Any] | None
    version: int
    change_id: str
    """The stream record's id: the same change delivered twice has the same id."""
    _store: ItemStore = field(repr=False, compare=False)
    _sort_key: str = field(repr=False, compare=False)
    _shape: ItemShape = field(repr=False, compare=False)

    def update(self, attributes: Mapping[str, Any]) -> bool:
        """Merge ``attributes`` into the item's client attributes, if the item is still as this change left it.

        One conditional DynamoDB UpdateItem: it writes only while the item is at ``version``, so a
        change delivered twice, or overtaken by a newer write, writes nothing. The write counts in the
        item's version (its ETag changes) and moves ``updatedAt``; it is marked as the worker's, so it
        never comes back to the worker as a change. Call it once per change, with every attribute.

        Returns whether the item was written. Raises ValueError for a deleted item, or for attributes
        the server owns (the id, the timestamps, ``version``, ``etag``).
        """
        if self.after is None:
            raise ValueError(f"{self._shape.resource} {self.item_id} was deleted: there is nothing to update")
        owned = sorted(self._shape.server_owned.intersection(attributes))
        if owned:
            raise ValueError(f"a worker may not write server-owned attributes: {', '.join(owned)}")
        indexed = sorted(set(self._shape.indexes).intersection(attributes))
        if indexed:
            raise ValueError(f"a worker may not write attributes items are looked up by: {', '.join(indexed)}")
        if not all(isinstance(name, str) and name for name in attributes):
            raise ValueError("attribute names must be non-empty strings")
        if not attributes:
            return False
        return self._store.write_back(self.owner, self._sort_key, attributes, version=self.version)


def change_of(record: Mapping[str, Any], shape: ItemShape, store: ItemStore) -> Change:
    """The change a DynamoDB stream record (NEW_AND_OLD_IMAGES) describes."""
    stream = record["dynamodb"]
    keys = store.decode(stream["Keys"])
    sort_key = keys[SORT_KEY]
    prefix = f"{shape.resource}#"
    if not sort_key.startswith(prefix):
        raise ValueError(f"the record is of item {sort_key!r}, not of a {shape.resource} item")
    before = store.decode(stream["OldImage"]) if "OldImage" in stream else None
    after = store.decode(stream["NewImage"]) if "NewImage" in stream else None
    return Change(
        operation=OPERATIONS[record["eventName"]],
        owner=keys[PARTITION_KEY],
        item_id=sort_key.removeprefix(prefix),
        before=shape.public(before) if before is not None else None,
        after=shape.public(after) if after is not None else None,
        version=int((after if after is not None else before or {}).get(VERSION, 0)),
        change_id=record["eventID"],
        _store=store,
        _sort_key=sort_key,
        _shape=shape,
    )
