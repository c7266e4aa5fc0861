"""Provisioned concurrency and SnapStart for chosen operations: published versions, an alias API Gateway
invokes, and the alarms that say when they stop helping."""

from __future__ import annotations

import json
import re

import pytest
from aws_cdk.assertions import Match, Template

from serverless_meta import ServerlessCrudApi
from tests.support import synthesize


@pytest.fixture(scope="module")
def template() -> Template:
    return synthesize(
        lambda stack: ServerlessCrudApi(
            stack, "Metadata", resource_name="metadata", provisioned_concurrency={"get": 3, "list": 1},
            snap_start=["create"],
        )
    )


def _id(template: Template, resource_type: str, prefix: str) -> str:
    (logical_id,) = [n for n in template.find_resources(resource_type) if n.startswith(prefix)]
    return logical_id


def _alarm(template: Template, name: str) -> dict:
    (alarm,) = [a["Properties"] for n, a in template.find_resources("AWS::CloudWatch::Alarm").items()
                if re.fullmatch(rf"MetadataMonitoring{name}[0-9A-F]{{8}}", n)]
    return alarm


@pytest.mark.parametrize(("operation", "environments"), [("Get", 3), ("List", 1), ("Create", None)])
def test_each_chosen_operation_has_a_live_alias_on_a_published_version(template, operation, environments):
    function = _id(template, "AWS::Lambda::Function", f"Metadata{operation}Function")
    version = _id(template, "AWS::Lambda::Version", f"Metadata{operation}FunctionCurrentVersion")
    template.has_resource_properties("AWS::Lambda::Version", {"FunctionName": {"Ref": function}})
    template.has_resource_properties(
        "AWS::Lambda::Alias",
        {
            "Name": "live",
            "FunctionName": {"Ref": function},
            "FunctionVersion": {"Fn::GetAtt": [version, "Version"]},
            "ProvisionedConcurrencyConfig": (
                {"ProvisionedConcurrentExecutions": environments} if environments else Match.absent()
            ),
        },
    )


def test_other_operations_are_invoked_unpublished(template):
    template.resource_count_is("AWS::Lambda::Alias", 3)
    template.resource_count_is("AWS::Lambda::Version", 3)


def test_api_gateway_invokes_the_alias_and_may_invoke_only_it(template):
    alias = _id(template, "AWS::Lambda::Alias", "MetadataGetFunctionAliaslive")
    (method,) = [m["Properties"] for m in template.find_resources("AWS::ApiGateway::Method").values()
                 if m["Properties"]["HttpMethod"] == "GET" and "metadataid" in json.dumps(m["Properties"]["ResourceId"])]
    assert {"Ref": alias} in method["Integration"]["Uri"]["Fn::Join"][1]
    template.has_resource_properties("AWS::Lambda::Permission", {"FunctionName": {"Ref": alias}})
    template.resource_count_is("AWS::Lambda::Permission", 5)


def test_snap_start_is_on_for_published_versions_of_the_chosen_function_only(template):
    snap_started = template.find_resources(
        "AWS::Lambda::Function", {"Properties": {"SnapStart": {"ApplyOn": "PublishedVersions"}}}
    )
    assert [n[: -len("ABCD1234")] for n in snap_started] == ["MetadataCreateFunction"]
    template.has_resource_properties(
        "AWS::Lambda::Function",
        {"SnapStart": Match.any_value(), "LoggingConfig": Match.object_like({"LogFormat": "JSON"})},
    )


def test_spillover_of_every_provisioned_alias_is_alarmed(template):
    alarm = _alarm(template, "ProvisionedConcurrencySpillover")
    watched = {
        m["Id"]: (m["MetricStat"]["Metric"]["MetricName"], m["MetricStat"]["Stat"],
                  {d["Name"]: d["Value"] for d in m["MetricStat"]["Metric"]["Dimensions"]}["Resource"])
        for m in alarm["Metrics"] if "MetricStat" in m
    }
    assert {metric_id: (name, stat) for metric_id, (name, stat, _) in watched.items()} == {
        "list": ("ProvisionedConcurrencySpilloverInvocations", "Sum"),
        "get": ("ProvisionedConcurrencySpilloverInvocations", "Sum"),
    }
    assert all(":live" in json.dumps(resource) for _, _, resource in watched.values())
    assert alarm["Threshold"] == 1


def test_failed_snap_start_restores_are_counted_from_the_logs_and_alarmed(template):
    log_group = _id(template, "AWS::Logs::LogGroup", "MetadataFunctionLogs")
    (metric_filter,) = template.find_resources("AWS::Logs::MetricFilter").values()
    properties = metric_filter["Properties"]
    assert properties["LogGroupName"] == {"Ref": log_group}
    assert properties["FilterPattern"] == '{ ($.type = "platform.restoreReport") && ($.record.status != "success") }'
    (transformation,) = properties["MetricTransformations"]

    alarm = _alarm(template, "SnapStartRestoreErrors")

    assert (alarm["Namespace"], alarm["MetricName"]) == (
        transformation["MetricNamespace"], transformation["MetricName"]
    )
    assert alarm["Statistic"] == "Sum" and alarm["Threshold"] == 1


def test_without_either_no_alias_version_or_metric_filter_is_made():
    template = synthesize(lambda stack: ServerlessCrudApi(stack, "Plain", resource_name="plain"))
    for resource_type in ("AWS::Lambda::Alias", "AWS::Lambda::Version", "AWS::Logs::MetricFilter"):
        template.resource_count_is(resource_type, 0)
