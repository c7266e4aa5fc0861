"""Authorization per operation: operations limited to Cognito groups answer 403 to anyone outside them."""

from __future__ import annotations

import json

import pytest

from tests.handlers.support import ApiClient, load_handler

CONFIG = {"page": "homepage"}
EDITORS_WRITE = {"create": ["editors"], "update": ["editors", "admins"], "delete": ["admins"]}


@pytest.fixture(scope="module")
def guarded_api(aws, environments) -> ApiClient:
    variables = {**environments["metadata"], "OPERATION_GROUPS": json.dumps(EDITORS_WRITE)}
    return ApiClient(load_handler(aws, variables), "metadata")


@pytest.mark.parametrize("groups", [None, "", "readers", "Editors", "editor"])
def test_a_caller_outside_the_groups_is_403_and_nothing_is_read_or_written(guarded_api, alice, table_items, groups):
    before = table_items()

    response = guarded_api.post("/metadata", CONFIG, user=alice, groups=groups)

    assert response.status == 403
    assert response.json == {"message": "Only members of editors may create metadata"}
    assert response.dynamodb_operations == []
    assert table_items() == before


@pytest.mark.parametrize("groups", ["editors", "readers,editors", "[readers editors]", "readers, editors"])
def test_a_member_of_an_allowed_group_may_call_it_however_the_claim_lists_groups(guarded_api, alice, groups):
    assert guarded_api.post("/metadata", CONFIG, user=alice, groups=groups).status == 201


def test_operations_not_named_are_open_to_every_signed_in_caller(guarded_api, alice):
    item_id = guarded_api.post("/metadata", CONFIG, user=alice, groups="editors").json["id"]

    assert guarded_api.get(f"/metadata/{item_id}", user=alice, groups=None).status == 200
    assert guarded_api.get("/metadata", user=alice, groups=None).status == 200


def test_each_operation_has_its_own_groups(guarded_api, alice):
    item_id = guarded_api.post("/metadata", CONFIG, user=alice, groups="editors").json["id"]

    assert guarded_api.put(f"/metadata/{item_id}", CONFIG, user=alice, groups="admins").status == 200
    denied = guarded_api.delete(f"/metadata/{item_id}", user=alice, groups="editors")
    assert denied.status == 403 and denied.json["message"] == "Only members of admins may delete metadata"
    assert guarded_api.delete(f"/metadata/{item_id}", user=alice, groups="admins").status == 204


def test_group_checks_come_before_input_checks(guarded_api, alice):
    """A caller who may not call an operation learns nothing about its input rules."""
    assert guarded_api.request("POST", "/metadata", user=alice, body="not json", groups="readers").status == 403
