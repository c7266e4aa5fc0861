"""The service logic: what create, read, replace, delete and list mean for one resource.

An item is stored as its server-owned attributes plus the client's attributes in a
``data`` map, so that a replace is one UpdateItem that keeps ``createdAt``. Callers
see it flattened: the id, the client's attributes, then the timestamps.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from crud_api.contract import CREATED_AT, DATA_ATTRIBUTE, UPDATED_AT
from crud_api.repository import ItemKey, ItemRepository
from crud_api.settings import Settings


def _utc_now() -> datetime:
    return datetime.now(UTC)


def _new_id() -> str:
    return str(uuid.uuid4())


def _iso(moment: datetime) -> str:
    return moment.isoformat(timespec="milliseconds").replace("+00:00", "Z")


@dataclass(frozen=True)
class ItemPage:
    items: list[dict[str, Any]]
    last_id: str | None


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

    def create(self, owner: str, data: Mapping[str, Any]) -> dict[str, Any]:
        item_id = self._new_id()
        now = self._clock()
        stored: dict[str, Any] = {
            self._settings.id_attribute: item_id,
            CREATED_AT: _iso(now),
            UPDATED_AT: _iso(now),
            DATA_ATTRIBUTE: dict(data),
        }
        if self._settings.timestamp_attribute:
            stored[self._settings.timestamp_attribute] = int(now.timestamp())
        self._repository.insert(self._key(owner, item_id), stored)
        return self._public(stored)

    def get(self, owner: str, item_id: str) -> dict[str, Any] | None:
        stored = self._repository.get(self._key(owner, item_id))
        return self._public(stored) if stored else None

    def replace(self, owner: str, item_id: str, data: Mapping[str, Any]) -> dict[str, Any] | None:
        stored = self._repository.update(
            self._key(owner, item_id), {DATA_ATTRIBUTE: dict(data), UPDATED_AT: _iso(self._clock())}
        )
        return self._public(stored) if stored else None

    def delete(self, owner: str, item_id: str) -> bool:
        return self._repository.delete(self._key(owner, item_id))

    def list(self, owner: str, limit: int, after_id: str | None = None) -> ItemPage:
        page = self._repository.query_page(
            owner, self._prefix, limit, after_sort_key=None if after_id is None else self._prefix + after_id
        )
        return ItemPage(
            items=[self._public(stored) for stored in page.items],
            last_id=page.last_sort_key.removeprefix(self._prefix) if page.last_sort_key else None,
        )

    def _key(self, owner: str, item_id: str) -> ItemKey:
        return ItemKey(owner, self._prefix + item_id)

    def _public(self, stored: Mapping[str, Any]) -> dict[str, Any]:
        public = {self._settings.id_attribute: stored[self._settings.id_attribute], **stored[DATA_ATTRIBUTE]}
        public[CREATED_AT] = stored[CREATED_AT]
        public[UPDATED_AT] = stored[UPDATED_AT]
        if self._settings.timestamp_attribute:
            public[self._settings.timestamp_attribute] = stored[self._settings.timestamp_attribute]
        return public
