"""One Lambda function per operation, each allowed exactly what its operation needs.

The handler code ships inside this package (``serverless_meta.handlers``, Lambda's code root);
the functions run it on the Powertools layer.
"""

from __future__ import annotations

import importlib.resources
import json
from pathlib import Path

from aws_cdk import IgnoreMode
from aws_cdk import aws_dynamodb as dynamodb
from aws_cdk import aws_iam as iam
from aws_cdk import aws_kms as kms
from aws_cdk import aws_lambda as lambda_
from aws_cdk import aws_logs as logs
from constructs import Construct

from serverless_meta.compliance import acknowledge, skip_checkov
from serverless_meta.operations import ROUTES, Operation
from serverless_meta.powertools import ARCHITECTURE, NOT_THE_LATEST_RUNTIME, RUNTIME, powertools_layer
from serverless_meta.props import ServiceProps

HANDLER = "crud_api.app.lambda_handler"


def handler_code_dir() -> Path:
    """The directory Lambda runs the handlers from, ``serverless_meta/handlers/`` wherever the package is."""
    return Path(str(importlib.resources.files("serverless_meta.handlers")))


def build_functions(
    scope: Construct, props: ServiceProps, *, table: dynamodb.ITableV2, key: kms.IKey
) -> dict[Operation, lambda_.Function]:
    """Each operation's function, with its own role, log group and single DynamoDB action."""
    layer = props.functions.powertools_layer or powertools_layer(scope, "PowertoolsLayer")
    # The root's __init__.py only makes the directory a package of ours; Lambda has no use for it.
    code = lambda_.Code.from_asset(
        str(handler_code_dir()), exclude=["**/__pycache__", "/__init__.py"], ignore_mode=IgnoreMode.GIT
    )
    environment = handler_environment(props, table=table)
    return {
        operation: _function(scope, props, operation, code=code, layer=layer, environment=environment, table=table, key=key)
        for operation in props.resource.operations
    }


def handler_environment(props: ServiceProps, *, table: dynamodb.ITableV2) -> dict[str, str]:
    """What the handler reads at cold start (handlers/crud_api/settings.py), and Powertools' settings."""
    resource = props.resource
    environment = {
        "TABLE_NAME": table.table_name,
        "RESOURCE_NAME": resource.name,
        "OPERATIONS": ",".join(resource.operations),
        "ID_ATTRIBUTE": resource.id_attribute,
        "MAX_BODY_BYTES": str(resource.max_body_bytes),
        "POWERTOOLS_SERVICE_NAME": resource.name,
        "POWERTOOLS_METRICS_NAMESPACE": props.functions.metrics_namespace,
        "POWERTOOLS_LOG_LEVEL": "INFO",
    }
    if resource.timestamp_attribute:
        environment["TIMESTAMP_ATTRIBUTE"] = resource.timestamp_attribute
    if resource.item_schema is not None:
        environment["ITEM_SCHEMA"] = json.dumps(resource.item_schema, separators=(",", ":"))
    if props.api.cors_allow_origins:
        environment["CORS_ALLOW_ORIGINS"] = ",".join(props.api.cors_allow_origins)
    if resource.require_if_match:
        environment["REQUIRE_IF_MATCH"] = "true"
    if props.api.operation_groups:
        groups = {operation.value: list(names) for operation, names in props.api.operation_groups.items()}
        environment["OPERATION_GROUPS"] = json.dumps(groups, separators=(",", ":"))
    return environment


def _function(
    scope: Construct,
    props: ServiceProps,
    operation: Operation,
    *,
    code: lambda_.Code,
    layer: lambda_.ILayerVersion,
    environment: dict[str, str],
    table: dynamodb.ITableV2,
    key: kms.IKey,
) -> lambda_.Function:
    name = f"{operation.name.title()}Function"
    settings = props.functions
    log_group = logs.LogGroup(scope, f"{name}Logs", retention=settings.log_retention, encryption_key=key)
    role = iam.Role(
        scope,
        f"{name}Role",
        assumed_by=iam.ServicePrincipal("lambda.amazonaws.com"),
        description=f"{props.resource.name} {operation.value}: its log group, one DynamoDB action, X-Ray",
    )
    log_group.grant_write(role)
    function = lambda_.Function(
        scope,
        name,
        description=f"{props.resource.name}: {ROUTES[operation].method} {operation.value}",
        runtime=RUNTIME,
        architecture=ARCHITECTURE,
        code=code,
        handler=HANDLER,
        memory_size=settings.memory_size,
        timeout=settings.timeout,
        tracing=lambda_.Tracing.ACTIVE,
        layers=[layer],
        environment=environment,
        log_group=log_group,
        role=role,
        reserved_concurrent_executions=settings.reserved_concurrency,
    )
    _grant_table_access(function, operation, table)
    acknowledge(
        role,
        "AwsSolutions-IAM5[Resource::*]",
        "Active tracing needs xray:PutTraceSegments and xray:PutTelemetryRecords, which support no "
        "resource-level permissions: AWS documents Resource '*' for them. The statement holds nothing else.",
    )
    for rule in ("AwsSolutions-L1", "Serverless-LambdaLatestVersion"):
        acknowledge(function, rule, NOT_THE_LATEST_RUNTIME)
    _acknowledge_synchronous_function(function)
    return function


def _grant_table_access(function: lambda_.Function, operation: Operation, table: dynamodb.ITableV2) -> None:
    """The operation's one DynamoDB action, and the use of a customer-managed table key it needs."""
    table.grant(function, ROUTES[operation].dynamodb_action)
    if table.encryption_key is not None:
        # TableV2.grant() grants no KMS actions; a customer-managed key needs them for the data.
        if ROUTES[operation].writes:
            table.encryption_key.grant_encrypt_decrypt(function)
        else:
            table.encryption_key.grant_decrypt(function)


def _acknowledge_synchronous_function(function: lambda_.Function) -> None:
    """Scanner findings that do not apply to a function API Gateway invokes synchronously."""
    no_dead_letters = (
        "API Gateway invokes the function synchronously and returns its error to the caller; a dead-letter "
        "queue only receives failed asynchronous invocations, so it would stay empty."
    )
    acknowledge(function, "Serverless-LambdaDLQ", no_dead_letters)
    cfn_function = function.node.default_child
    skip_checkov(cfn_function, "CKV_AWS_116", no_dead_letters)
    skip_checkov(
        cfn_function,
        "CKV_AWS_117",
        "The function reaches only DynamoDB, CloudWatch and X-Ray, through their public endpoints over TLS with "
        "IAM auth; it has no VPC resource to reach, and a VPC would add NAT cost and cold-start time.",
    )
    skip_checkov(
        cfn_function,
        "CKV_AWS_173",
        "The environment holds configuration only (table name, resource shape), no secrets; Lambda encrypts "
        "it at rest with its service key, and a customer-managed key would protect nothing more.",
    )
