"""A worker for the tests: it keeps every change it is given, fails the ones asked to, and writes a summary back."""

from __future__ import annotations

from crud_worker import Change

CHANGES: list[Change] = []
WRITES: list[bool] = []


def record(change: Change) -> None:
    CHANGES.append(change)
    if change.after is None:
        return
    if change.after.get("fail"):
        raise RuntimeError(f"asked to fail {change.item_id}")
    WRITES.append(change.update({"summary": f"{len(change.after.get('text', ''))} characters"}))
