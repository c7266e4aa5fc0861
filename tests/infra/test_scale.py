"""Many services in one stack: what each costs in resources, and what none of them gives up for it."""

from __future__ import annotations

import enum
import json
import re

import aws_cdk as cdk
import pytest
from aws_cdk import aws_apigateway as apigateway
from aws_cdk import aws_cloudwatch as cloudwatch
from aws_cdk import aws_iam as iam
from aws_cdk import aws_s3_assets as s3_assets
from aws_cdk.assertions import Template

from serverless_meta import AlarmThresholds, ServerlessCrudApi
from serverless_meta.metrics import MAX_ALARM_METRICS, ServiceMetrics
from serverless_meta.monitoring import ServiceMonitoring
from tests.support import DYNAMODB_ACTIONS, role_statements, synthesize


def test_a_grant_made_after_the_construct_lands_in_the_functions_role():
    def build(stack):
        service = ServerlessCrudApi(stack, "Metadata", resource_name="metadata")
        service.functions["get"].add_to_role_policy(
            iam.PolicyStatement(actions=["s3:GetObject"], resources=["arn:aws:s3:::assets/*"])
        )

    template = synthesize(build)

    assert {"Action": "s3:GetObject", "Effect": "Allow", "Resource": "arn:aws:s3:::assets/*"} in (
        role_statements(template, "MetadataGetFunctionRole")
    )
    assert all("s3:" not in str(role_statements(template, f"Metadata{op}FunctionRole")) for op in ("Create", "List"))
    template.resource_count_is("AWS::IAM::Policy", 0)


def _handler_code_assets(stack) -> list:
    return [c for c in stack.node.find_all() if isinstance(c, s3_assets.Asset) and c.node.id == "Code"]


def test_the_services_of_a_stack_share_one_asset_of_handler_code_and_each_stack_has_its_own():
    """Each asset hashes the handler directory at synthesis; one per stack, as CDK allows no more sharing."""
    app = cdk.App()
    stacks = [cdk.Stack(app, name) for name in ("First", "Second")]
    for stack in stacks:
        first = ServerlessCrudApi(stack, "Metadata", resource_name="metadata")
        ServerlessCrudApi(stack, "Feedback", resource_name="feedback", table=first.table, user_pool=first.user_pool)
    assembly = app.synth()

    assert [len(_handler_code_assets(stack)) for stack in stacks] == [1, 1]
    for stack in stacks:
        functions = assembly.get_stack_by_name(stack.stack_name).template["Resources"].values()
        assert len({json.dumps(f["Properties"]["Code"]) for f in functions if f["Type"] == "AWS::Lambda::Function"}) == 1


# --- Twelve services in one stack -----------------------------------------------------------

TWELVE = [f"Service{number:02d}" for number in range(12)]


def _shared_services(stack, names, **extra):
    """Services that share the first one's table, user pool, key and alarm topic (and ``extra``)."""
    first = ServerlessCrudApi(stack, names[0], resource_name=names[0].lower())
    shared = dict(table=first.table, user_pool=first.user_pool, alarm_topic=first.alarm_topic,
                  encryption_key=first.encryption_key)
    shared.update({key: make(first) for key, make in extra.items()})
    return [first] + [ServerlessCrudApi(stack, name, resource_name=name.lower(), **shared) for name in names[1:]]


@pytest.fixture(scope="module")
def twelve() -> Template:
    return synthesize(lambda stack: _shared_services(stack, TWELVE))


def test_twelve_services_fit_in_one_stack(twelve):
    assert len(twelve.to_json()["Resources"]) < 500


def _alarms_of(template: Template, service: str) -> dict[str, dict]:
    return {
        re.sub(rf"^{service}Monitoring|[0-9A-F]{{8}}$", "", name): alarm["Properties"]
        for name, alarm in template.find_resources("AWS::CloudWatch::Alarm").items()
        if name.startswith(f"{service}Monitoring")
    }


@pytest.mark.parametrize("service", TWELVE)
def test_each_of_twelve_services_keeps_its_least_privilege_authorizer_and_alarms(twelve, service):
    table = next(iter(twelve.find_resources("AWS::DynamoDB::GlobalTable")))
    for operation, action in DYNAMODB_ACTIONS.items():
        dynamodb = [s for s in role_statements(twelve, f"{service}{operation}FunctionRole") if "dynamodb" in str(s)]
        assert dynamodb == [{"Action": action, "Effect": "Allow", "Resource": {"Fn::GetAtt": [table, "Arn"]}}]

    (authorizer,) = [n for n in twelve.find_resources("AWS::ApiGateway::Authorizer") if n.startswith(service)]
    methods = [m["Properties"] for n, m in twelve.find_resources("AWS::ApiGateway::Method").items() if n.startswith(service)]
    assert len(methods) == 7
    assert all(m["AuthorizationType"] == "COGNITO_USER_POOLS" and m["AuthorizerId"] == {"Ref": authorizer} for m in methods)

    functions = {n for n in twelve.find_resources("AWS::Lambda::Function") if n.startswith(service)}
    permissions = [p["Properties"] for p in twelve.find_resources("AWS::Lambda::Permission").values()
                   if p["Properties"]["FunctionName"]["Fn::GetAtt"][0] in functions]
    assert len(permissions) == len(functions) == 5

    alarms = _alarms_of(twelve, service)
    assert set(alarms) >= {"ApiServerErrorRate", "ApiClientErrorRate", "ApiLatencyP99",
                           "FunctionErrors", "FunctionThrottles", "FunctionDuration"}
    for name in ("FunctionErrors", "FunctionThrottles", "FunctionDuration"):
        watched = {d["Value"]["Ref"] for m in alarms[name]["Metrics"] if "MetricStat" in m
                   for d in m["MetricStat"]["Metric"]["Dimensions"]}
        assert watched == functions, f"{name} watches every function of {service}"


def test_a_shared_service_costs_the_39_resources_the_readme_lists(twelve):
    shared_service = TWELVE[1]
    assert sum(name.startswith(shared_service) for name in twelve.to_json()["Resources"]) == 39, (
        "the README's table (What a service is made of) says what each resource is for: keep both true"
    )


# --- Six services on one API ----------------------------------------------------------------

SIX = ["Orders", "Invoices", "Customers", "Products", "Reviews", "Carts"]
ORIGIN = "https://shop.example.com"


@pytest.fixture(scope="module")
def six() -> Template:
    def build(stack):
        first = ServerlessCrudApi(stack, SIX[0], resource_name="orders", cors_allow_origins=[ORIGIN], waf=True)
        shared = dict(table=first.table, alarm_topic=first.alarm_topic, encryption_key=first.encryption_key, api=first.api)
        for name in SIX[1:-1]:
            ServerlessCrudApi(stack, name, resource_name=name.lower(), **shared)
        ServerlessCrudApi(
            stack, SIX[-1], resource_name="carts", operations=["create", "get"], **shared,
            operation_throttling={"create": apigateway.ThrottleSettings(rate_limit=3, burst_limit=6)},
        )

    return synthesize(build)


def test_six_services_share_one_api_stage_authorizer_access_log_and_web_acl(six):
    for resource_type in ("RestApi", "Stage", "Deployment", "Authorizer"):
        six.resource_count_is(f"AWS::ApiGateway::{resource_type}", 1)
    six.resource_count_is("AWS::WAFv2::WebACLAssociation", 1)
    six.resource_count_is("AWS::Cognito::UserPool", 1)
    (stage,) = six.find_resources("AWS::ApiGateway::Stage").values()
    assert "AccessLogSetting" in stage["Properties"]
    paths = {r["Properties"]["PathPart"] for r in six.find_resources("AWS::ApiGateway::Resource").values()}
    assert paths == {name.lower() for name in SIX} | {"{id}"}


def test_every_method_of_the_shared_api_has_the_one_authorizer_but_the_cors_preflights(six):
    (authorizer,) = six.find_resources("AWS::ApiGateway::Authorizer")
    for name, method in six.find_resources("AWS::ApiGateway::Method").items():
        properties = method["Properties"]
        if properties["HttpMethod"] == "OPTIONS":
            assert properties["AuthorizationType"] == "NONE" and properties["Integration"]["Type"] == "MOCK", name
        else:
            assert properties["AuthorizationType"] == "COGNITO_USER_POOLS", name
            assert properties["AuthorizerId"] == {"Ref": authorizer}, name


def test_each_services_preflight_offers_its_own_methods(six):
    def allowed(path_part: str) -> str:
        (resource,) = [n for n, r in six.find_resources("AWS::ApiGateway::Resource").items()
                       if r["Properties"]["PathPart"] == path_part]
        (preflight,) = [m["Properties"] for m in six.find_resources("AWS::ApiGateway::Method").values()
                        if m["Properties"]["HttpMethod"] == "OPTIONS" and m["Properties"]["ResourceId"] == {"Ref": resource}]
        return preflight["Integration"]["IntegrationResponses"][0]["ResponseParameters"][
            "method.response.header.Access-Control-Allow-Methods"]

    assert allowed("orders") == "'DELETE,GET,POST,PUT'"
    assert allowed("carts") == "'GET,POST'"


def test_a_services_throttling_lands_in_the_shared_stage_with_logs_and_metrics(six):
    (stage,) = six.find_resources("AWS::ApiGateway::Stage").values()
    settings = {f'{s["ResourcePath"]} {s["HttpMethod"]}': s for s in stage["Properties"]["MethodSettings"]}
    assert settings["/~1carts POST"] == {
        "ResourcePath": "/~1carts", "HttpMethod": "POST", "ThrottlingRateLimit": 3, "ThrottlingBurstLimit": 6,
        "LoggingLevel": "ERROR", "DataTraceEnabled": False, "MetricsEnabled": True,
    }


@pytest.mark.parametrize("service", SIX[1:])
def test_a_service_on_a_shared_api_alarms_on_its_own_methods(six, service):
    alarms = _alarms_of(six, service)
    resources = {
        d["Value"] for m in alarms["ApiServerErrorRate"]["Metrics"] if "MetricStat" in m
        for d in m["MetricStat"]["Metric"]["Dimensions"] if d["Name"] == "Resource"
    }
    assert resources == {f"/{service.lower()}", f"/{service.lower()}/{{id}}"}
    assert {"ApiServerErrorRate", "ApiClientErrorRate", "ApiLatencyP99", "FunctionErrors"} <= set(alarms)
    latency = json.dumps(alarms["ApiLatencyP99"]["Metrics"])
    assert '"Expression": "MAX([' in latency and '"Stat": "p99"' in latency


@pytest.mark.parametrize("service", SIX[1:])
def test_each_service_on_the_shared_api_may_be_invoked_from_that_stage_only(six, service):
    (api,) = six.find_resources("AWS::ApiGateway::RestApi")
    (stage,) = six.find_resources("AWS::ApiGateway::Stage")
    functions = {n for n in six.find_resources("AWS::Lambda::Function") if n.startswith(service)}
    permissions = [p["Properties"] for p in six.find_resources("AWS::Lambda::Permission").values()
                   if p["Properties"]["FunctionName"]["Fn::GetAtt"][0] in functions]
    assert len(permissions) == len(functions)
    for permission in permissions:
        source = json.dumps(permission["SourceArn"])
        assert f'{{"Ref": "{api}"}}, "/", {{"Ref": "{stage}"}}, "/' in source and f"/{service.lower()}" in source


def test_no_alarm_of_any_service_watches_more_metrics_than_cloudwatch_allows(six):
    """PutMetricAlarm refuses an alarm on more than 10 metrics (a hard limit): a guest with five methods uses 10."""
    for name, alarm in six.find_resources("AWS::CloudWatch::Alarm").items():
        retrieved = [m for m in alarm["Properties"].get("Metrics", []) if "MetricStat" in m]
        assert len(retrieved) <= MAX_ALARM_METRICS, name


def _monitoring_over_routes(route_names: list[str]):
    """A service's monitoring over more methods than one error-rate alarm can hold (two metrics a method)."""
    app = cdk.App()
    stack = cdk.Stack(app, "Routes", env=cdk.Environment(account="123456789012", region="eu-west-1"))
    host = ServerlessCrudApi(stack, "Host", resource_name="host")
    routes_enum = enum.Enum("Route", {name.upper(): name for name in route_names})
    resource = host.api.root.add_resource("many")
    integration = apigateway.MockIntegration()
    routes = {route: resource.add_resource(route.value).add_method("GET", integration) for route in routes_enum}
    metrics = ServiceMetrics(host.api, host.functions, host.table, routes=routes, timeout=cdk.Duration.seconds(10))
    monitoring = ServiceMonitoring(
        stack, "Many", service="Many", metrics=metrics, owns_table=False, topic=host.alarm_topic, thresholds=AlarmThresholds()
    )
    return monitoring, Template.from_stack(stack)


def test_an_error_rate_over_more_methods_than_one_alarm_holds_is_split_and_fires_as_one():
    monitoring, template = _monitoring_over_routes([f"r{n}" for n in range(7)])

    parts = {n: a["Properties"] for n, a in template.find_resources("AWS::CloudWatch::Alarm").items()
             if re.match(r"ManyApiServerErrorRate\d[0-9A-F]{8}$", n)}
    assert len(parts) == 2
    for alarm in parts.values():
        assert len([m for m in alarm["Metrics"] if "MetricStat" in m]) <= MAX_ALARM_METRICS
        assert "AlarmActions" not in alarm, "the composite notifies, once"
    ((name, composite),) = [(n, a["Properties"]) for n, a in template.find_resources("AWS::CloudWatch::CompositeAlarm").items()
                            if n.startswith("ManyApiServerErrorRate")]
    assert composite["AlarmActions"] and composite["OKActions"]
    assert all(part in json.dumps(composite["AlarmRule"]) for part in parts)
    assert any(getattr(alarm.node, "id", "") == "ApiServerErrorRate" for alarm in monitoring.alarms)


def test_fails_at_synthesis_if_an_alarm_would_watch_more_metrics_than_cloudwatch_allows():
    app = cdk.App()
    stack = cdk.Stack(app, "TooMany")
    host = ServerlessCrudApi(stack, "Host", resource_name="host")
    metrics = ServiceMetrics(host.api, host.functions, host.table, timeout=cdk.Duration.seconds(10))
    monitoring = ServiceMonitoring(
        stack, "Many", service="Many", metrics=metrics, owns_table=False, topic=host.alarm_topic, thresholds=AlarmThresholds()
    )
    eleven = cloudwatch.MathExpression(
        expression="SUM([" + ", ".join(f"m{n}" for n in range(11)) + "])",
        using_metrics={f"m{n}": host.api.metric_count() for n in range(11)},
    )

    with pytest.raises(ValueError, match=r"TooMany/Many/Eleven would watch 11 metrics; CloudWatch refuses an alarm on more than 10"):
        monitoring._alarm("Eleven", eleven, 1, "too many")
