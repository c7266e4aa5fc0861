"""Safe deploys: CodeDeploy moves each function's ``live`` alias to its new version, and rolls it back
when the service's own alarms fire meanwhile (``deployment=``)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from aws_cdk import Duration
from aws_cdk import aws_cloudwatch as cloudwatch
from aws_cdk import aws_codedeploy as codedeploy
from aws_cdk import aws_iam as iam
from aws_cdk import aws_lambda as lambda_
from constructs import Construct

from serverless_meta.compliance import acknowledge
from serverless_meta.operations import Operation
from serverless_meta.props import Deployment, ServiceProps

# The service's alarms that say the new code is at fault, by construct id (parts of a split alarm
# included): CodeDeploy stops and rolls back while any of them is in alarm.
ROLLBACK_ALARMS = ("ApiServerErrorRate", "ApiLatencyP99", "FunctionErrors", "FunctionDuration")
# "A maximum of 10 alarms can be added" (AWS::CodeDeploy::DeploymentGroup AlarmConfiguration).
MAX_ALARMS = 10


def build_rollout(
    scope: Construct,
    props: ServiceProps,
    *,
    aliases: Mapping[Operation, lambda_.Alias],
    alarms: Sequence[cloudwatch.AlarmBase],
) -> dict[Operation, codedeploy.LambdaDeploymentGroup]:
    """A deployment group per function's alias, in one CodeDeploy application; none without ``deployment``."""
    deployment = props.functions.deployment
    if deployment is None:
        return {}
    # In the order they were made (a split alarm's parts among them), as many as CodeDeploy takes.
    watched = [a for a in alarms if isinstance(a, cloudwatch.Alarm) and a.node.id.startswith(ROLLBACK_ALARMS)][:MAX_ALARMS]
    application = codedeploy.LambdaApplication(scope, "Deployments")
    config = _config(scope, deployment)
    role = iam.Role(
        scope,
        "DeploymentRole",
        assumed_by=iam.ServicePrincipal("codedeploy.amazonaws.com"),
        description=f"{props.resource.name}: CodeDeploy moves the functions' live aliases",
        managed_policies=[iam.ManagedPolicy.from_aws_managed_policy_name("service-role/AWSCodeDeployRoleForLambdaLimited")],
    )
    acknowledge(
        role,
        "AwsSolutions-IAM4[Policy::arn:<AWS::Partition>:iam::aws:policy/service-role/AWSCodeDeployRoleForLambdaLimited]",
        "AWS's managed policy for CodeDeploy on Lambda, the limited one: it reads and updates the "
        "aliases and invokes only hook functions named CodeDeployHook_*, which the deployment groups "
        "name; a policy of our own would restate it and miss AWS's updates.",
    )
    groups = {}
    for operation, alias in aliases.items():
        groups[operation] = codedeploy.LambdaDeploymentGroup(
            scope,
            f"{operation.name.title()}Deployment",
            application=application,
            alias=alias,
            deployment_config=config,
            alarms=watched,
            auto_rollback=codedeploy.AutoRollbackConfig(
                failed_deployment=True, stopped_deployment=True, deployment_in_alarm=True
            ),
            pre_hook=deployment.pre_traffic,
            role=role,
        )
    return groups


def _config(scope: Construct, deployment: Deployment) -> codedeploy.ILambdaDeploymentConfig:
    if deployment.kind == "all_at_once":
        return codedeploy.LambdaDeploymentConfig.ALL_AT_ONCE
    interval = Duration.minutes(deployment.minutes)
    routing = (
        codedeploy.TimeBasedCanaryTrafficRouting(interval=interval, percentage=deployment.percent)
        if deployment.kind == "canary"
        else codedeploy.TimeBasedLinearTrafficRouting(interval=interval, percentage=deployment.percent)
    )
    return codedeploy.LambdaDeploymentConfig(scope, "DeploymentConfig", traffic_routing=routing)
