"""SnapStart: what a restored execution environment makes anew, so that none shares it with another."""

from __future__ import annotations

import sys
import types

import pytest

from tests.handlers.support import ApiClient, load_handler


@pytest.fixture
def restored(aws, environments):
    """The Metadata handler loaded where Lambda's snapshot_restore_py exists, and its after-restore hooks."""
    hooks = []
    runtime_module = types.ModuleType("snapshot_restore_py")
    runtime_module.register_after_restore = hooks.append
    aws.setitem(sys.modules, "snapshot_restore_py", runtime_module)
    return load_handler(aws, environments["metadata"]), hooks


def test_after_a_restore_the_handler_has_a_client_of_its_own_and_still_serves(restored, alice):
    handler, hooks = restored
    snapshot_client = handler.repository.client

    for hook in hooks:
        hook()

    assert handler.repository.client is not snapshot_client
    api = ApiClient(handler, "metadata")
    created = api.post("/metadata", {"page": "home"}, user=alice)
    assert created.status == 201 and created.dynamodb_operations == ["PutItem"]


def test_after_a_restore_random_numbers_differ_from_the_snapshots(restored):
    import random

    _, hooks = restored
    state = random.getstate()
    for hook in hooks:
        hook()
    assert random.getstate() != state
