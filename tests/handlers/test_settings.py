"""The handler's configuration: what the construct sets, read once, and a wrong value fails the cold start."""

from __future__ import annotations

import pytest
from crud_api.settings import Settings

# What Lambda itself sets in every function's environment, and the handler reads.
LAMBDA_SETS = {"AWS_REGION": "eu-west-1"}
ENVIRONMENT = {
    **LAMBDA_SETS,
    "TABLE_NAME": "items-table",
    "RESOURCE_NAME": "notes",
    "OPERATIONS": "create,get",
    "ID_ATTRIBUTE": "noteId",
    "MAX_BODY_BYTES": "1024",
}


def test_the_construct_sets_everything_the_handler_reads(environments):
    for variables in environments.values():
        settings = Settings.from_environment({**LAMBDA_SETS, **variables})
        assert settings.table_name and settings.resource and settings.operations


@pytest.mark.parametrize("name", ["ID_ATTRIBUTE", "MAX_BODY_BYTES", "OPERATIONS", "TABLE_NAME", "AWS_REGION"])
def test_a_missing_setting_fails_the_cold_start_instead_of_assuming_a_default(name):
    with pytest.raises(KeyError, match=name):
        Settings.from_environment({key: value for key, value in ENVIRONMENT.items() if key != name})


@pytest.mark.parametrize(("name", "value"), [("ID_ATTRIBUTE", "data"), ("ID_ATTRIBUTE", "pk"), ("TIMESTAMP_ATTRIBUTE", "createdAt")])
def test_a_stored_attribute_name_is_refused_as_the_construct_refuses_it(name, value):
    with pytest.raises(ValueError, match="must not be reserved attribute names"):
        Settings.from_environment({**ENVIRONMENT, name: value})


def test_an_unknown_operation_is_refused():
    with pytest.raises(ValueError, match="unknown operations \\['patch'\\]"):
        Settings.from_environment({**ENVIRONMENT, "OPERATIONS": "create,patch"})
