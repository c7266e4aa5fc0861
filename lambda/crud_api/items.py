"""The service logic: what create, read, replace, delete and list mean for one resource.

An item is stored as its server-owned attributes plus the client's attributes in a
``data`` map, so that a replace is one UpdateItem that keeps ``createdAt``. Every write
counts in the item's ``version``, which the HTTP layer shows as its ETag. Callers see the
item flattened: the id, the client's attributes, then the timestamps.
"""

from __future__ import annotations

import hashlib
import json
import os
import time
import uuid
from collections.abc import Callable, Collection, Mapping
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any, NamedTuple

from crud_api.contract import (
    COLLECTION_INDEX,
    COLLECTION_PARTITION_KEY,
    COLLECTION_SORT_KEY,
    CREATED_AT,
    DATA_ATTRIBUTE,
    EXPIRES_AT,
    IDEMPOTENCY_PARTITION_PREFIX,
    IDEMPOTENCY_WINDOW_SECONDS,
    OWNER_ATTRIBUTE,
    PARTITION_KEY,
    SORT_KEY,
    UPDATED_AT,
    VERSION,
    WRITER_API,
    WRITER_BACKFILL,
    WRITTEN_BY,
    WRITTEN_IN,
    lookup_index,
    lookup_keys,
)
from crud_api.repository import (
    COMPLETED,
    IN_PROGRESS,
    ClaimLost,
    ConditionFailed,
    ItemKey,
    ItemRepository,
    UnstorableValueError,
)
from crud_api.settings import Settings


def _utc_now() -> datetime:
    return datetime.now(UTC)


def _new_id() -> str:
    """A UUIDv7 (RFC 9562, 5.7): the Unix time in milliseconds first, then the fraction of the millisecond
    (method 3 of 6.2) and random bits, so that ids sort in the order they were made. Python 3.14's
    ``uuid.uuid7`` does the same; the runtime's Python (3.13) has none, and the handler's code takes no
    package of its own (no bundling)."""
    nanoseconds = time.time_ns()
    milliseconds, fraction = divmod(nanoseconds, 1_000_000)
    sub_millisecond = fraction * 4096 // 1_000_000  # 12 bits
    value = (milliseconds & (2**48 - 1)) << 80 | 0x7 << 76 | sub_millisecond << 64 | 0b10 << 62
    value |= int.from_bytes(os.urandom(8), "big") & (2**62 - 1)
    return str(uuid.UUID(int=value))


def _iso(moment: datetime) -> str:
    return moment.isoformat(timespec="milliseconds").replace("+00:00", "Z")


class Versioned(NamedTuple):
    """An item as callers see it, and the version of it they saw."""

    item: dict[str, Any]
    version: int


class ItemPage(NamedTuple):
    items: list[Versioned]
    last_id: str | None
    last_owner: str | None = None
    """With every owner's items (``list_every_owners``): the owner of the last item, where the next page starts."""


class ItemNotFound(Exception):
    """No such item (or another caller's: the same answer, so that it is not revealed)."""


class VersionMismatch(Exception):
    """The item is at another version than the caller expected; nothing was written."""

    def __init__(self, current_version: int) -> None:
        super().__init__(f"the item is at version {current_version}")
        self.current_version = current_version


class ItemExists(Exception):
    """An item is at the id the client chose for a new one; nothing was written."""

    def __init__(self, current_version: int) -> None:
        super().__init__(f"an item is there, at version {current_version}")
        self.current_version = current_version


class CreationInFlight(Exception):
    """Another request with the same idempotency key is still creating its item."""


class IdempotencyKeyReused(Exception):
    """The idempotency key was first used with another request body."""


class Creation(NamedTuple):
    """The answer to a create with an idempotency key: the first request's, stored and replayed."""

    response: dict[str, Any]
    replayed: bool


class ItemService:
    def __init__(
        self,
        repository: ItemRepository,
        settings: Settings,
        *,
        clock: Callable[[], datetime] = _utc_now,
        new_id: Callable[[], str] = _new_id,
    ) -> None:
        self._repository = repository
        self._settings = settings
        self._prefix = f"{settings.resource}#"
        self._clock = clock
        self._new_id = new_id

    def create(self, partition: str, data: Mapping[str, Any]) -> Versioned:
        """A new item in ``partition``: the owner's ``sub``, or the collection of a shared or tenant scope."""
        item_id, stored = self._new_item(data, partition)
        self._repository.insert(self._key(partition, item_id), stored)
        return self._public({**stored, PARTITION_KEY: partition})

    def create_at(self, partition: str, item_id: str, data: Mapping[str, Any]) -> Versioned:
        """A new item under an id the client chose, only if none is there (else ItemExists): one UpdateItem."""
        _, stored = self._new_item(data, partition, item_id)
        try:
            self._repository.insert_by_update(self._key(partition, item_id), stored)
        except ConditionFailed as failed:
            raise ItemExists(_version(failed.current or {})) from None
        return self._public({**stored, PARTITION_KEY: partition})

    def create_once(
        self,
        partition: str,
        data: Mapping[str, Any],
        *,
        caller: str,
        idempotency_key: str,
        request_id: str,
        claim_millis: int,
        respond: Callable[[Versioned], dict[str, Any]],
    ) -> Creation:
        """Create at most one item per caller (``sub``) and key in a day: a retry gets the first response again.

        Two DynamoDB requests for a first create (claim the key; store the item and the response
        in one transaction), one for a replay (the claim fails and returns the stored response).
        A claim lapses after ``claim_millis`` (the function's remaining time), so a function that
        dies mid-create blocks the key no longer than it could have run.

        Powertools' idempotency utility does the same with three requests (its in-progress record,
        our PutItem, its completion): it cannot put the item and the completion in one transaction,
        and its persistence layer makes its own boto3 client outside this repository. So this is ours.
        """
        now = self._clock()
        now_seconds, now_millis = int(now.timestamp()), int(now.timestamp() * 1000)
        record_key = ItemKey(f"{IDEMPOTENCY_PARTITION_PREFIX}{caller}", f"{self._prefix}{idempotency_key}")
        fingerprint = _fingerprint(data)
        claim = {
            "status": IN_PROGRESS,
            "fingerprint": fingerprint,
            "requestId": request_id,
            "inProgressUntil": now_millis + claim_millis,
            EXPIRES_AT: now_seconds + IDEMPOTENCY_WINDOW_SECONDS,
        }
        holder = self._repository.claim(record_key, claim, now_seconds=now_seconds, now_millis=now_millis)
        if holder is not None:
            if holder.get("fingerprint") != fingerprint:
                raise IdempotencyKeyReused()
            if holder.get("status") == COMPLETED:
                return Creation(response=holder["response"], replayed=True)
            raise CreationInFlight()
        item_id, stored = self._new_item(data, partition)
        response = respond(self._public({**stored, PARTITION_KEY: partition}))
        try:
            self._repository.insert_completing(
                self._key(partition, item_id), stored, record_key, {**claim, "status": COMPLETED, "response": response}, request_id
            )
        except ClaimLost:
            raise CreationInFlight() from None  # another request with the key is creating: it answers
        except Exception:
            self._repository.release(record_key, {**claim, EXPIRES_AT: now_seconds}, request_id)
            raise
        return Creation(response=response, replayed=False)

    def get(self, partition: str, item_id: str) -> Versioned | None:
        stored = self._repository.get(self._key(partition, item_id))
        return self._public(stored) if stored else None

    def get_any_owners(self, item_id: str) -> Versioned | None:
        """The item with this id, whoever owns it: one Query of the collection index (eventually consistent)."""
        stored = self._repository.query_index_item(
            COLLECTION_INDEX, (COLLECTION_PARTITION_KEY, self._settings.resource), (COLLECTION_SORT_KEY, item_id)
        )
        return self._public(stored) if stored else None

    def replace(
        self, partition: str, item_id: str, data: Mapping[str, Any], *, versions: Collection[int] | None = None
    ) -> Versioned:
        """Replace the client's attributes (only at one of ``versions``, if given); raises ItemNotFound or VersionMismatch."""
        # An item written before the service had its indexes or readers of all joins them at this write.
        index_keys = self._index_keys(data, partition, item_id)
        try:
            stored = self._repository.update(
                self._key(partition, item_id),
                {
                    DATA_ATTRIBUTE: dict(data),
                    UPDATED_AT: _iso(self._clock()),
                    WRITTEN_BY: WRITER_API,
                    WRITTEN_IN: self._settings.region,
                    **index_keys,
                },
                versions=versions,
                # An attribute the replace leaves out is no longer found by it.
                remove=[key for slot in range(1, len(self._settings.indexes) + 1) for key in lookup_keys(slot) if key not in index_keys],
            )
        except ConditionFailed as failed:
            raise _why(failed) from None
        return self._public(stored)

    def delete(self, partition: str, item_id: str, *, versions: Collection[int] | None = None) -> None:
        """Delete the item (only at one of ``versions``, if given); raises ItemNotFound or VersionMismatch."""
        try:
            self._repository.delete(self._key(partition, item_id), versions=versions)
        except ConditionFailed as failed:
            raise _why(failed) from None

    def list(self, partition: str, limit: int, after_id: str | None = None, *, oldest_first: bool = True) -> ItemPage:
        """One page of the partition's items, in creation order (ids are time-ordered), or newest first."""
        page = self._repository.query_page(
            partition,
            self._prefix,
            limit,
            after_sort_key=None if after_id is None else self._prefix + after_id,
            forward=oldest_first,
        )
        return ItemPage(
            items=[self._public(stored) for stored in page.items],
            last_id=page.last_sort_key.removeprefix(self._prefix) if page.last_sort_key else None,
        )

    def list_every_owners(
        self, limit: int, after: tuple[str, str] | None = None, *, oldest_first: bool = True
    ) -> ItemPage:
        """One page of every owner's items, by id: one Query of the collection index. ``after``: (owner, id)."""
        start = None
        if after is not None:
            owner, item_id = after
            start = {
                **self._key(owner, item_id).as_attributes(),
                COLLECTION_PARTITION_KEY: {"S": self._settings.resource},
                COLLECTION_SORT_KEY: {"S": item_id},
            }
        page = self._repository.query_index_page(
            COLLECTION_INDEX,
            (COLLECTION_PARTITION_KEY, self._settings.resource),
            limit,
            exclusive_start=start,
            forward=oldest_first,
        )
        last = page.last_key
        return ItemPage(
            items=[self._public(stored) for stored in page.items],
            last_id=last[COLLECTION_SORT_KEY]["S"] if last else None,
            last_owner=last[PARTITION_KEY]["S"] if last else None,
        )

    def lookup(
        self,
        partition: str | None,
        attribute: str,
        value: str,
        limit: int,
        after: tuple[str, str] | None = None,
        *,
        oldest_first: bool = True,
    ) -> ItemPage:
        """One page of the items whose ``attribute`` is ``value``: in ``partition`` (the caller's reach), or
        everybody's (None, for readers of every owner's items). One Query of the attribute's index.

        ``after``: (partition, id) of the last item of the previous page.
        """
        slot = self._settings.indexes.index(attribute) + 1
        index_partition, index_sort = lookup_keys(slot)
        if len(value.encode()) > MAX_LOOKUP_BYTES:  # no item holds such a value: DynamoDB would refuse the key
            raise UnstorableValueError(f"{attribute} is at most {MAX_LOOKUP_BYTES} bytes in an item: no item matches")
        key_value = self._lookup_value(attribute, value)
        start = None
        if after is not None:
            owner, item_id = after
            start = {
                **self._key(owner, item_id).as_attributes(),
                index_partition: {"S": key_value},
                index_sort: {"S": f"{owner}#{item_id}"},
            }
        page = self._repository.query_index_page(
            lookup_index(slot),
            (index_partition, key_value),
            limit,
            # Within the caller's reach: the sort keys of its partition's items; everybody's for readers of all.
            sort_prefix=None if partition is None else (index_sort, f"{partition}#"),
            exclusive_start=start,
            forward=oldest_first,
        )
        last = page.last_key
        return ItemPage(
            items=[self._public(stored) for stored in page.items],
            last_id=last[SORT_KEY]["S"].removeprefix(self._prefix) if last else None,
            last_owner=last[PARTITION_KEY]["S"] if last else None,
        )

    def missing_index_keys(self, stored: Mapping[str, Any]) -> dict[str, str]:
        """The index keys a write would give this stored item now that it lacks (an item written before the
        service gained its indexes or its readers of all): the backfill sets them."""
        partition, item_id = stored[PARTITION_KEY], stored[SORT_KEY].removeprefix(self._prefix)
        keys = self._index_keys(stored.get(DATA_ATTRIBUTE, {}), partition, item_id)
        return {name: value for name, value in keys.items() if stored.get(name) != value}

    def backfill(self) -> dict[str, int]:
        """Every item of the resource into the indexes it belongs in; how many items were indexed now, were
        indexed already, were written meanwhile (that write indexed them), or hold a value too long to index.

        One Scan of the table (filtered to the resource's items) and one conditional UpdateItem per item
        that lacks keys, which counts no write: the item's version and ETag stay.
        """
        counts = dict.fromkeys(("indexed", "already indexed", "written meanwhile", "too long to index"), 0)
        for stored in self._repository.scan_sort_key_prefix(self._prefix):
            if stored[PARTITION_KEY].startswith(IDEMPOTENCY_PARTITION_PREFIX):
                continue
            try:
                missing = self.missing_index_keys(stored)
            except UnstorableValueError:
                counts["too long to index"] += 1
                continue
            if not missing:
                counts["already indexed"] += 1
                continue
            key = ItemKey(stored[PARTITION_KEY], stored[SORT_KEY])
            # Marked as the backfill's, so that a worker does not take it for a change to work on.
            written = self._repository.set_unless_written(key, {**missing, WRITTEN_BY: WRITER_BACKFILL}, version=_version(stored))
            counts["indexed" if written else "written meanwhile"] += 1
        return counts

    def _index_keys(self, data: Mapping[str, Any], partition: str, item_id: str) -> dict[str, str]:
        """The keys of every index the item belongs in: the collection index (with readers of every owner's
        items), and the lookup index of each declared attribute that holds a string or a number."""
        keys: dict[str, str] = {}
        if self._settings.reads_every_owner:
            keys |= {COLLECTION_PARTITION_KEY: self._settings.resource, COLLECTION_SORT_KEY: item_id}
        for slot, attribute in enumerate(self._settings.indexes, start=1):
            text = _lookup_text(data.get(attribute))
            if text is None:
                continue
            if len(text.encode()) > MAX_LOOKUP_BYTES:
                raise UnstorableValueError(
                    f"{attribute} is looked up by, so it may hold at most {MAX_LOOKUP_BYTES} bytes (an index key's room)"
                )
            index_partition, index_sort = lookup_keys(slot)
            keys[index_partition] = self._lookup_value(attribute, text)
            keys[index_sort] = f"{partition}#{item_id}"
        return keys

    def _lookup_value(self, attribute: str, text: str) -> str:
        return f"{self._settings.resource}#{attribute}#{text}"

    def _new_item(self, data: Mapping[str, Any], partition: str, item_id: str | None = None) -> tuple[str, dict[str, Any]]:
        item_id = item_id or self._new_id()
        now = self._clock()
        stored: dict[str, Any] = {
            self._settings.id_attribute: item_id,
            CREATED_AT: _iso(now),
            UPDATED_AT: _iso(now),
            DATA_ATTRIBUTE: dict(data),
            VERSION: 1,
            WRITTEN_BY: WRITER_API,
            WRITTEN_IN: self._settings.region,
            **self._index_keys(data, partition, item_id),
        }
        if self._settings.timestamp_attribute:
            stored[self._settings.timestamp_attribute] = int(now.timestamp())
        return item_id, stored

    def _key(self, partition: str, item_id: str) -> ItemKey:
        return ItemKey(partition, self._prefix + item_id)

    def _public(self, stored: Mapping[str, Any]) -> Versioned:
        public = {self._settings.id_attribute: stored[self._settings.id_attribute], **stored[DATA_ATTRIBUTE]}
        public[CREATED_AT] = stored[CREATED_AT]
        public[UPDATED_AT] = stored[UPDATED_AT]
        if self._settings.timestamp_attribute:
            public[self._settings.timestamp_attribute] = stored[self._settings.timestamp_attribute]
        if self._settings.reads_every_owner:
            public[OWNER_ATTRIBUTE] = stored[PARTITION_KEY]
        return Versioned(public, _version(stored))


# An index's partition key holds at most 2048 bytes (DynamoDB's limit for a partition key value), with the
# resource and the attribute's name before the value: a value may take half.
MAX_LOOKUP_BYTES = 1024


def _lookup_text(value: Any) -> str | None:
    """How a declared attribute's value is looked up: a string as it is, a number in its shortest form
    (``3``, ``2.5``); other values (booleans, lists, maps, null) are not indexed."""
    if isinstance(value, str):
        return value
    if isinstance(value, bool) or not isinstance(value, (int, Decimal)):
        return None
    number = Decimal(value).normalize()
    return str(int(number)) if number == number.to_integral_value() else format(number, "f")


def _version(stored: Mapping[str, Any]) -> int:
    """Items written before versions existed have none: version 0, until their first write."""
    return int(stored.get(VERSION, 0))


def _why(failed: ConditionFailed) -> Exception:
    return ItemNotFound() if failed.current is None else VersionMismatch(_version(failed.current))


def _fingerprint(data: Mapping[str, Any]) -> str:
    """The same body, however it was spaced or ordered, has the same fingerprint."""
    canonical = json.dumps(data, sort_keys=True, separators=(",", ":"), default=str, ensure_ascii=False)
    return hashlib.sha256(canonical.encode("utf-8", "surrogatepass")).hexdigest()
