"""Bad props fail at construction, saying what was given and what was expected."""

from __future__ import annotations

import aws_cdk as cdk
import pytest
from aws_cdk import aws_apigateway as apigateway

from serverless_meta import ServerlessCrudApi


@pytest.fixture
def stack() -> cdk.Stack:
    return cdk.Stack(cdk.App(), "ValidationStack")


@pytest.mark.parametrize("name", ["", "Metadata", "meta data", "meta#data", "1st", "x" * 64, "meta/data"])
def test_fails_if_resource_name_is_not_a_lower_case_path_segment(stack, name):
    with pytest.raises(ValueError, match=f"resource_name must be lower-case .*got {name!r}"):
        ServerlessCrudApi(stack, "Service", resource_name=name)


def test_fails_if_an_operation_is_unknown(stack):
    with pytest.raises(ValueError, match="unknown operation 'patch'; expected some of 'create', 'list'"):
        ServerlessCrudApi(stack, "Service", resource_name="items", operations=["create", "patch"])


def test_fails_if_there_are_no_operations(stack):
    with pytest.raises(ValueError, match="at least one operation is required"):
        ServerlessCrudApi(stack, "Service", resource_name="items", operations=[])


@pytest.mark.parametrize("name", ["pk", "sk", "data", "createdAt", "updatedAt", "has space", "", "a-b"])
def test_fails_if_id_attribute_is_reserved_or_not_a_plain_name(stack, name):
    with pytest.raises(ValueError, match=f"id_attribute must be a plain attribute name .*got {name!r}"):
        ServerlessCrudApi(stack, "Service", resource_name="items", id_attribute=name)


def test_fails_if_timestamp_attribute_is_reserved(stack):
    with pytest.raises(ValueError, match="timestamp_attribute must be a plain attribute name .*got 'createdAt'"):
        ServerlessCrudApi(stack, "Service", resource_name="items", timestamp_attribute="createdAt")


def test_fails_if_timestamp_attribute_is_the_id_attribute(stack):
    with pytest.raises(ValueError, match="timestamp_attribute must differ from id_attribute, both are 'id'"):
        ServerlessCrudApi(stack, "Service", resource_name="items", timestamp_attribute="id")


@pytest.mark.parametrize(
    ("schema", "message"),
    [
        ({"type": "array"}, "item_schema must be a JSON Schema for an object"),
        ({"properties": {}}, "item_schema must be a JSON Schema for an object"),
        ({"type": "object", "properties": {"n": {"type": "nonsense"}}}, "item_schema is not a valid JSON Schema"),
    ],
)
def test_fails_if_item_schema_is_not_a_valid_object_schema(stack, schema, message):
    with pytest.raises(ValueError, match=message):
        ServerlessCrudApi(stack, "Service", resource_name="items", item_schema=schema)


def test_fails_if_timeout_reaches_api_gateways_limit(stack):
    with pytest.raises(ValueError, match="timeout must be under API Gateway's 29 s integration limit, got 29 seconds"):
        ServerlessCrudApi(stack, "Service", resource_name="items", timeout=cdk.Duration.seconds(29))


def test_fails_if_max_body_bytes_is_not_positive(stack):
    with pytest.raises(ValueError, match="max_body_bytes must be positive, got 0"):
        ServerlessCrudApi(stack, "Service", resource_name="items", max_body_bytes=0)


def test_fails_if_operation_throttling_names_an_operation_not_offered(stack):
    with pytest.raises(ValueError, match="operation_throttling names 'delete', which is not among the operations"):
        ServerlessCrudApi(
            stack,
            "Service",
            resource_name="items",
            operations=["create"],
            operation_throttling={"delete": apigateway.ThrottleSettings(rate_limit=1, burst_limit=1)},
        )


def test_synthesis_fails_if_a_method_added_later_skips_the_authorizer():
    app = cdk.App()
    stack = cdk.Stack(app, "LeakyStack")
    service = ServerlessCrudApi(stack, "Service", resource_name="items")
    service.api.root.add_resource("health").add_method(
        "GET", apigateway.MockIntegration(), authorization_type=apigateway.AuthorizationType.NONE
    )

    with pytest.raises(RuntimeError, match="GET /health has authorization type 'NONE'; every method must use the Cognito"):
        app.synth()


@pytest.mark.parametrize("address", ["", "oncall", "on call@example.com", "a@b"])
def test_fails_if_alarm_email_is_not_an_address(stack, address):
    with pytest.raises(ValueError, match=f"alarm_email must be an email address, got {address!r}"):
        ServerlessCrudApi(stack, "Service", resource_name="items", alarm_email=address)


def test_fails_if_reserved_concurrency_is_below_one(stack):
    with pytest.raises(ValueError, match="reserved_concurrency must be at least 1"):
        ServerlessCrudApi(stack, "Service", resource_name="items", reserved_concurrency=0)


@pytest.mark.parametrize("days", [0, 36])
def test_fails_if_recovery_period_is_outside_1_to_35_days(stack, days):
    with pytest.raises(ValueError, match=f"recovery_period_days must be from 1 to 35, got {days}"):
        ServerlessCrudApi(stack, "Service", resource_name="items", recovery_period_days=days)


def test_fails_if_replicas_are_asked_of_a_stack_without_a_region(stack):
    with pytest.raises(ValueError, match="replica_regions needs a stack with a known region"):
        ServerlessCrudApi(stack, "Service", resource_name="items", replica_regions=["us-east-1"])


def test_fails_if_a_replica_is_in_the_stacks_own_region():
    stack = cdk.Stack(cdk.App(), "Regional", env=cdk.Environment(region="eu-west-1"))
    with pytest.raises(ValueError, match="must not include the stack's own region 'eu-west-1'"):
        ServerlessCrudApi(stack, "Service", resource_name="items", replica_regions=["eu-west-1"])


def test_fails_if_backups_leave_cold_storage_before_its_90_day_minimum(stack):
    with pytest.raises(ValueError, match=r"at least 90 days after backup_cold_storage_after \(120 days\), got 35"):
        ServerlessCrudApi(stack, "Service", resource_name="items", backup_cold_storage_after=cdk.Duration.days(30))


def test_fails_if_recovery_settings_are_given_for_a_table_made_elsewhere(stack):
    owner = ServerlessCrudApi(stack, "Owner", resource_name="items")
    with pytest.raises(ValueError, match="apply to a table this construct makes"):
        ServerlessCrudApi(stack, "Guest", resource_name="notes", table=owner.table, recovery_period_days=7)


def test_fails_if_both_a_new_and_an_existing_web_acl_are_asked_for(stack):
    with pytest.raises(ValueError, match="pass one or the other"):
        ServerlessCrudApi(stack, "Service", resource_name="items", waf=True, web_acl_arn="arn:aws:wafv2:...")


def test_fails_if_the_waf_rate_limit_is_below_wafs_minimum(stack):
    with pytest.raises(ValueError, match="waf_rate_limit must be at least 10"):
        ServerlessCrudApi(stack, "Service", resource_name="items", waf=True, waf_rate_limit=5)
