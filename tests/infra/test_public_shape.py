"""The construct is open to an app's own alarms and grants: ``service.metrics``, ``metric_*`` and ``grant_*``."""

from __future__ import annotations

import aws_cdk as cdk
import pytest
from aws_cdk import aws_cloudwatch as cloudwatch
from aws_cdk import aws_lambda as lambda_
from aws_cdk.assertions import Template

from serverless_meta import Operation, ServerlessCrudApi
from tests.support import role_statements, synthesize


@pytest.fixture(scope="module")
def app_with_its_own() -> Template:
    """The README's example: an alarm of the app's own on the service's metrics, and a report function reading its items."""

    def build(stack: cdk.Stack) -> None:
        metadata = ServerlessCrudApi(stack, "Metadata", resource_name="metadata")
        metadata.metric_function_errors(Operation.UPDATE).create_alarm(
            stack, "UpdateErrors", threshold=1, evaluation_periods=1
        )
        cloudwatch.Alarm(stack, "SlowLists", metric=metadata.metrics.function_duration_p99(Operation.LIST),
                         threshold=500, evaluation_periods=3)
        metadata.metric_latency("p90").create_alarm(stack, "SlowApi", threshold=800, evaluation_periods=3)
        report = lambda_.Function(
            stack, "Report", runtime=lambda_.Runtime.PYTHON_3_13, handler="index.handler",
            code=lambda_.Code.from_inline("def handler(event, context):\n    return None\n"),
        )
        metadata.grant_read_data(report)

    return synthesize(build)


def _alarm(template: Template, prefix: str) -> dict:
    """The alarm's metric: namespace, name, statistic and dimensions, however the alarm states it."""
    (alarm,) = [a["Properties"] for n, a in template.find_resources("AWS::CloudWatch::Alarm").items() if n.startswith(prefix)]
    if "Metrics" not in alarm:
        return {k: alarm[k] for k in ("Namespace", "MetricName", "Dimensions")} | {
            "Stat": alarm.get("Statistic") or alarm["ExtendedStatistic"]}
    (stat,) = [m["MetricStat"] for m in alarm["Metrics"]]
    return {**stat["Metric"], "Stat": stat["Stat"]}


def test_an_apps_own_alarm_on_one_operations_errors(app_with_its_own):
    (function,) = [n for n in app_with_its_own.find_resources("AWS::Lambda::Function") if n.startswith("MetadataUpdateFunction")]
    alarm = _alarm(app_with_its_own, "UpdateErrors")
    assert (alarm["Namespace"], alarm["MetricName"], alarm["Stat"]) == ("AWS/Lambda", "Errors", "Sum")
    assert alarm["Dimensions"] == [{"Name": "FunctionName", "Value": {"Ref": function}}]


def test_the_metrics_factory_and_the_apis_latency(app_with_its_own):
    assert _alarm(app_with_its_own, "SlowLists")["Stat"] == "p99"
    latency = _alarm(app_with_its_own, "SlowApi")
    assert (latency["Namespace"], latency["MetricName"], latency["Stat"]) == ("AWS/ApiGateway", "Latency", "p90")


def test_a_grant_of_read_access_to_the_items(app_with_its_own):
    statements = role_statements(app_with_its_own, "ReportServiceRole")
    actions = {a for s in statements for a in ([s["Action"]] if isinstance(s["Action"], str) else s["Action"])}
    assert {"dynamodb:GetItem", "dynamodb:Query"} <= actions
    assert not {a for a in actions if a.startswith("dynamodb:") and ("Put" in a or "Delete" in a or "Update" in a)}


def test_any_alarm_can_be_left_out():
    from serverless_meta import AlarmThresholds

    template = synthesize(lambda stack: ServerlessCrudApi(
        stack, "Metadata", resource_name="metadata",
        alarm_thresholds=AlarmThresholds(latency_p99=None, client_error_percent=None, table_user_errors=None),
    ))
    alarms = {name.removeprefix("MetadataMonitoring") for name in template.find_resources("AWS::CloudWatch::Alarm")}
    assert not {a for a in alarms if a.startswith(("ApiLatencyP99", "ApiClientErrorRate", "TableUserErrors"))}
    assert {a for a in alarms if a.startswith(("ApiServerErrorRate", "FunctionErrors", "TableSystemErrors"))}, "the rest stay"


@pytest.fixture(scope="module")
def overridden() -> Template:
    """A new table with a customer-managed key and the infrequent-access class; a pool that requires MFA."""
    from aws_cdk import aws_cognito as cognito
    from aws_cdk import aws_dynamodb as dynamodb
    from aws_cdk import aws_kms as kms

    from serverless_meta import ItemScope

    def build(stack: cdk.Stack) -> None:
        key = kms.Key(stack, "TableKey", enable_key_rotation=True)
        ServerlessCrudApi(
            stack, "Orders", resource_name="orders", item_scope=ItemScope.claim("custom:tenant"),
            table_props={"encryption": dynamodb.TableEncryptionV2.customer_managed_key(key),
                         "table_class": dynamodb.TableClass.STANDARD_INFREQUENT_ACCESS},
            user_pool_props=cognito.UserPoolProps(
                mfa=cognito.Mfa.REQUIRED,
                custom_attributes={"plan": cognito.StringAttribute(mutable=True)},
            ),
        )

    return synthesize(build)


def test_a_new_tables_settings_merge_over_the_defaults(overridden):
    (table,) = overridden.find_resources("AWS::DynamoDB::GlobalTable").values()
    properties = table["Properties"]
    assert properties["SSESpecification"]["SSEType"] == "KMS"
    (replica,) = properties["Replicas"]
    assert replica["TableClass"] == "STANDARD_INFREQUENT_ACCESS"
    assert replica["SSESpecification"]["KMSMasterKeyId"]["Fn::GetAtt"][0].startswith("TableKey")
    assert replica["PointInTimeRecoverySpecification"]["PointInTimeRecoveryEnabled"] is True, "the defaults stay"
    assert [k["AttributeName"] for k in properties["KeySchema"]] == ["pk", "sk"]


def test_a_new_pools_settings_merge_over_the_defaults_and_keep_the_tenant_attribute(overridden):
    (pool,) = overridden.find_resources("AWS::Cognito::UserPool").values()
    properties = pool["Properties"]
    assert properties["MfaConfiguration"] == "ON"
    assert properties["AdminCreateUserConfig"]["AllowAdminCreateUserOnly"] is True, "the defaults stay"
    assert {a["Name"] for a in properties["Schema"] if a.get("Mutable") is not None} >= {"tenant", "plan"}


@pytest.mark.parametrize(("props", "prop", "expected"), [
    ({"table_props": {"table_class": "x"}, "table": "table"}, "table_props", "left out with table="),
    ({"user_pool_props": {}, "user_pool": "pool"}, "user_pool_props", "left out with user_pool="),
    ({"table_props": {"partition_key": "x"}}, "table_props", "without partition_key or sort_key"),
    ({"table_props": {"tabel_class": "x"}}, "table_props", "TablePropsV2's keyword arguments"),
])
def test_bad_overrides_fail_synthesis(props, prop, expected):
    from aws_cdk import aws_cognito as cognito
    from aws_cdk import aws_dynamodb as dynamodb

    from serverless_meta import InvalidPropError

    def build(stack: cdk.Stack) -> None:
        given = dict(props)
        if given.get("table") == "table":
            given["table"] = dynamodb.TableV2.from_table_name(stack, "Existing", "existing")
        if given.get("user_pool") == "pool":
            given["user_pool"] = cognito.UserPool.from_user_pool_id(stack, "Pool", "eu-west-1_AbCdEfGhI")
        if "user_pool_props" in given:
            given["user_pool_props"] = cognito.UserPoolProps(**given["user_pool_props"])
        ServerlessCrudApi(stack, "Orders", resource_name="orders", **given)

    with pytest.raises(InvalidPropError, match=rf"{prop} must be .*{expected}"):
        synthesize(build)


def test_every_threshold_fires_exactly_one_alarm_of_the_table():
    """The alarms are one table (monitoring.ALARMS): a threshold without its alarm, or two alarms on one, shows here."""
    import dataclasses

    from serverless_meta import AlarmThresholds
    from serverless_meta.monitoring import ALARMS

    fields = {field.name for field in dataclasses.fields(AlarmThresholds)} - {"client_error_minimum_requests"}
    assert sorted(spec.threshold for spec in ALARMS) == sorted(fields)
