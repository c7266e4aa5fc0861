"""Safe deploys: every function behind its ``live`` alias, shifted by CodeDeploy (canary, linear or all at
once), rolled back when the service's own alarms fire; and an upgrade that replaces nothing."""

from __future__ import annotations

import aws_cdk as cdk
import pytest
from aws_cdk import aws_lambda as lambda_

from serverless_meta import Deployment, InvalidPropError, ServerlessCrudApi
from tests.support import synthesize

# What the service's alarms are, that stop and roll back a deployment: a fault the new code brings.
ROLLBACK_ALARMS = ("ApiServerErrorRate", "ApiLatencyP99", "FunctionErrors", "FunctionDuration")


def _hook(stack: cdk.Stack) -> lambda_.Function:
    return lambda_.Function(
        stack, "Smoke", runtime=lambda_.Runtime.PYTHON_3_13, handler="index.handler",
        code=lambda_.Code.from_inline("def handler(event, context):\n    return None\n"),
    )


@pytest.fixture(scope="module")
def canary() -> dict:
    def build(stack):
        ServerlessCrudApi(stack, "Metadata", resource_name="metadata",
                          deployment=Deployment.canary(10, minutes=5, pre_traffic=_hook(stack)))

    return synthesize(build).to_json()


def _of_type(template: dict, resource_type: str) -> dict[str, dict]:
    return {name: r for name, r in template["Resources"].items() if r["Type"] == resource_type}


def test_every_function_is_invoked_through_its_live_alias_on_a_published_version(canary):
    functions = {n for n, f in _of_type(canary, "AWS::Lambda::Function").items() if n.startswith("MetadataCreate")
                 or n.startswith(("MetadataList", "MetadataGet", "MetadataUpdate", "MetadataDelete"))}
    aliases = _of_type(canary, "AWS::Lambda::Alias")
    assert {a["Properties"]["FunctionName"]["Ref"] for a in aliases.values()} == functions
    assert {a["Properties"]["Name"] for a in aliases.values()} == {"live"}
    for method in _of_type(canary, "AWS::ApiGateway::Method").values():
        uri = str(method["Properties"].get("Integration", {}).get("Uri", ""))
        if "lambda" in uri:
            assert any(alias in uri for alias in aliases), uri


def test_each_alias_is_shifted_by_codedeploy_as_a_canary_and_rolled_back_on_the_services_alarms(canary):
    (application,) = _of_type(canary, "AWS::CodeDeploy::Application").values()
    assert application["Properties"]["ComputePlatform"] == "Lambda"
    (config_id, config), = _of_type(canary, "AWS::CodeDeploy::DeploymentConfig").items()
    assert config["Properties"]["TrafficRoutingConfig"] == {
        "Type": "TimeBasedCanary", "TimeBasedCanary": {"CanaryPercentage": 10, "CanaryInterval": 5},
    }
    groups = _of_type(canary, "AWS::CodeDeploy::DeploymentGroup")
    assert len(groups) == 5
    alarm_names = {
        name: alarm for name, alarm in _of_type(canary, "AWS::CloudWatch::Alarm").items()
        if name.startswith(tuple(f"MetadataMonitoring{a}" for a in ROLLBACK_ALARMS))
    }
    assert len(alarm_names) == len(ROLLBACK_ALARMS)
    for group in groups.values():
        props = group["Properties"]
        assert props["DeploymentConfigName"] == {"Ref": config_id}
        assert set(props["AutoRollbackConfiguration"]["Events"]) >= {"DEPLOYMENT_FAILURE", "DEPLOYMENT_STOP_ON_ALARM"}
        assert props["AutoRollbackConfiguration"]["Enabled"] is True
        watched = {a["Name"]["Ref"] for a in props["AlarmConfiguration"]["Alarms"]}
        # CodeDeploy takes at most 10 alarms per deployment group (AWS::CodeDeploy::DeploymentGroup
        # AlarmConfiguration: "A maximum of 10 alarms can be added").
        assert watched == set(alarm_names) and len(watched) <= 10
    for alias in _of_type(canary, "AWS::Lambda::Alias").values():
        hook = alias["UpdatePolicy"]["CodeDeployLambdaAliasUpdate"]
        assert hook["BeforeAllowTrafficHook"] == {"Ref": next(n for n in _of_type(canary, "AWS::Lambda::Function")
                                                              if n.startswith("Smoke"))}


@pytest.mark.parametrize(("deployment", "routing"), [
    (Deployment.linear(10, every_minutes=1), {"Type": "TimeBasedLinear", "TimeBasedLinear": {"LinearPercentage": 10, "LinearInterval": 1}}),
    (Deployment.all_at_once(), None),
])
def test_linear_and_all_at_once(deployment, routing):
    template = synthesize(lambda stack: ServerlessCrudApi(stack, "Metadata", resource_name="metadata",
                                                          operations=["get"], deployment=deployment)).to_json()
    configs = _of_type(template, "AWS::CodeDeploy::DeploymentConfig")
    (group,) = _of_type(template, "AWS::CodeDeploy::DeploymentGroup").values()
    if routing is None:
        assert not configs and group["Properties"]["DeploymentConfigName"] == "CodeDeployDefault.LambdaAllAtOnce"
    else:
        (config,) = configs.values()
        assert config["Properties"]["TrafficRoutingConfig"] == routing


def test_an_upgraded_service_keeps_its_functions_api_and_url():
    """Adding deployment= replaces nothing: the functions, API, stage and routes keep their logical ids
    and properties, so the URL and the data stay; the aliases, versions and CodeDeploy are new."""
    def service(**props):
        return synthesize(lambda stack: ServerlessCrudApi(stack, "Metadata", resource_name="metadata", **props)).to_json()

    before, after = service(), service(deployment=Deployment.canary(10, minutes=5))
    kept = ("AWS::Lambda::Function", "AWS::ApiGateway::RestApi", "AWS::ApiGateway::Stage", "AWS::ApiGateway::Resource",
            "AWS::DynamoDB::GlobalTable", "AWS::Cognito::UserPool", "AWS::IAM::Role")
    for resource_type in kept:
        was, is_now = _of_type(before, resource_type), _of_type(after, resource_type)
        assert was.keys() <= is_now.keys(), resource_type
        for name, resource in was.items():
            # The stage moves to a new API deployment, whose methods invoke the aliases: same stage, same URL.
            changed = {"DeploymentId"} if resource_type == "AWS::ApiGateway::Stage" else set()
            assert ({k: v for k, v in resource["Properties"].items() if k not in changed}
                    == {k: v for k, v in is_now[name]["Properties"].items() if k not in changed}), name


def test_local_mode_serves_each_method_from_its_function_behind_the_alias(canary, tmp_path):
    from serverless_meta.local.template import read_app

    app = read_app({"TestStack": (canary, "eu-west-1")}, tmp_path)
    (api,) = app.apis
    methods = [m for methods in api.resources.values() for m in methods.values() if m.integration_type == "AWS_PROXY"]
    assert len(methods) == 5 and all(m.function in app.functions for m in methods)


@pytest.mark.parametrize(("deployment", "expected"), [
    (lambda: Deployment.canary(0, minutes=5), "a percentage from 1 to 99"),
    (lambda: Deployment.canary(10, minutes=0), "whole minutes from 1"),
    (lambda: Deployment.linear(100, every_minutes=1), "a percentage from 1 to 99"),
])
def test_bad_deployments_fail_synthesis(deployment, expected):
    with pytest.raises(InvalidPropError, match=rf"deployment must be .*{expected}"):
        synthesize(lambda stack: ServerlessCrudApi(stack, "Metadata", resource_name="metadata", deployment=deployment()))
