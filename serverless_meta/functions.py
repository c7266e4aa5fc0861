"""One Lambda function per operation, each allowed exactly what its operation needs.

The handler code ships inside this package (``serverless_meta.handlers``, Lambda's code root);
the functions run it on the Powertools layer.
"""

from __future__ import annotations

import functools
import json
import weakref
from collections.abc import Mapping
from pathlib import Path
from typing import Any, cast

from aws_cdk import Annotations, Stack
from aws_cdk import aws_dynamodb as dynamodb
from aws_cdk import aws_iam as iam
from aws_cdk import aws_kms as kms
from aws_cdk import aws_lambda as lambda_
from aws_cdk import aws_logs as logs
from constructs import Construct

from serverless_meta.bytecode import code_with_bytecode
from serverless_meta.compliance import acknowledge, acknowledge_each, skip_checkov
from serverless_meta.handlers.crud_api import contract
from serverless_meta.operations import ROUTES, Operation
from serverless_meta.powertools import ARCHITECTURE, NOT_THE_LATEST_RUNTIME, RUNTIME
from serverless_meta.props import ServiceProps

HANDLER = "crud_api.app.lambda_handler"
# The workers' runtime (crud_worker), a directory of the handler code shaped as a Lambda layer.
WORKER_LAYER_DIR = "worker_layer"


def handler_code_dir() -> Path:
    """The directory Lambda runs the handlers from: the checkout's ``lambda/``, or the wheel's copy of it."""
    import serverless_meta.handlers as handlers

    return next(Path(path) for path in reversed(handlers.__path__) if (Path(path) / "crud_api").is_dir())


def build_function_logs(scope: Construct, props: ServiceProps, *, key: kms.IKey) -> logs.LogGroup:
    """One log group for the service's functions.

    They run the same code for the same resource, every Powertools line names its function
    (function_name, function_arn) and request, and each log stream is one execution environment of
    one function, so no line is ever of an unknown function.
    """
    return logs.LogGroup(scope, "FunctionLogs", retention=props.functions.log_retention, encryption_key=key)


def build_functions(
    scope: Construct,
    props: ServiceProps,
    *,
    table: dynamodb.ITableV2,
    layer: lambda_.ILayerVersion,
    log_group: logs.ILogGroup,
) -> dict[Operation, lambda_.Function]:
    """Each operation's function, with its own role and single DynamoDB action, logging to the service's log group."""
    code = _handler_code(Stack.of(scope))
    environment = handler_environment(props, table=table)
    return {
        operation: _function(
            scope, props, operation, code=code, layer=layer, environment=environment, table=table, log_group=log_group
        )
        for operation in props.resource.operations
    }


_handler_code_of_stack: weakref.WeakKeyDictionary[Stack, lambda_.Code] = weakref.WeakKeyDictionary()


def _handler_code(stack: Stack) -> lambda_.Code:
    """The handlers' code, one asset for every service in ``stack``: each asset hashes the directory again."""
    if stack not in _handler_code_of_stack:
        # The root's __init__.py only makes the directory a package of ours; Lambda has no use for it,
        # nor for the workers' runtime, which reaches workers as a layer of its own.
        _handler_code_of_stack[stack] = code_with_bytecode(
            stack, handler_code_dir(), runtime=RUNTIME, exclude=["__init__.py", WORKER_LAYER_DIR]
        )
    return _handler_code_of_stack[stack]


ALIAS = "live"
# SnapStart on published versions; Lambda's own records as JSON, so that a failed restore
# (platform.restoreReport) can be counted from the log group (monitoring.py).
_SNAP_START = {
    "snap_start": lambda_.SnapStartConf.ON_PUBLISHED_VERSIONS,
    "logging_format": lambda_.LoggingFormat.JSON,
}


def build_aliases(
    scope: Construct, props: ServiceProps, *, functions: dict[Operation, lambda_.Function]
) -> dict[Operation, lambda_.Alias]:
    """The ``live`` alias of each operation with provisioned concurrency or SnapStart (of every operation,
    with ``deployment``), on its current version.

    The version is published whenever the function's code or configuration changes, and the alias
    moves to it: API Gateway invokes the alias, so requests always reach the deployed code.
    """
    return {
        operation: functions[operation].add_alias(
            ALIAS, provisioned_concurrent_executions=props.functions.provisioned_concurrency.get(operation)
        )
        for operation in props.functions.aliased
        if operation in functions
    }


def handler_environment(props: ServiceProps, *, table: dynamodb.ITableV2) -> dict[str, str]:
    """What the handler reads at cold start (lambda/crud_api/settings.py), and Powertools' settings."""
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
    access = props.access
    if access.item_scope.kind != contract.SCOPE_OWNER:
        environment["ITEM_SCOPE"] = access.item_scope.setting
    if access.read_all_groups:
        environment["READ_ALL_GROUPS"] = ",".join(access.read_all_groups)
    if access.read_all_scopes:
        environment["READ_ALL_SCOPES"] = ",".join(f"{resource.name}/{name}" for name in access.read_all_scopes)
    if access.public_operations:
        environment["PUBLIC_OPERATIONS"] = ",".join(op.value for op in access.public_operations)
    if resource.indexes:
        environment["INDEXES"] = ",".join(resource.indexes)
    if resource.client_ids:
        environment["CLIENT_IDS"] = "true"
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
    log_group: logs.ILogGroup,
) -> lambda_.Function:
    settings = props.functions
    function = service_function(
        scope,
        f"{operation.name.title()}Function",
        description=f"{props.resource.name}: {ROUTES[operation].method} {operation.value}",
        role_description=f"{props.resource.name} {operation.value}: its service's log group, one DynamoDB action, X-Ray",
        code=code,
        handler=HANDLER,
        layers=[layer],
        environment=environment,
        log_group=log_group,
        acknowledged={"Serverless-LambdaDLQ": _NO_DEAD_LETTERS},
        memory_size=settings.memory_size,
        timeout=settings.timeout,
        reserved_concurrent_executions=settings.reserved_concurrency,
        **(_SNAP_START if operation in settings.snap_start else {}),
    )
    grant_table_action(function, table, ROUTES[operation].dynamodb_action, writes=ROUTES[operation].writes)
    indexes = []
    if props.access.reads_every_owner and operation in (Operation.GET, Operation.LIST):
        indexes.append(contract.COLLECTION_INDEX)  # readers of every owner's items
    if operation is Operation.LIST:
        indexes += [contract.lookup_index(slot) for slot in range(1, len(props.resource.indexes) + 1)]
    if indexes:
        # One Query of the indexes it reads, and nothing else of them.
        iam.Grant.add_to_principal(
            grantee=function,
            actions=["dynamodb:Query"],
            resource_arns=[f"{table.table_arn}/index/{index}" for index in indexes],
        )
    if operation in settings.snap_start:
        Annotations.of(function).acknowledge_warning(
            "@aws-cdk/aws-lambda:snapStartRequirePublish", "build_aliases publishes it: the live alias's version"
        )
    _skip_checks_for_synchronous_function(function)
    return function


@functools.cache
def _lambda_principal() -> iam.ServicePrincipal:
    """Lambda's service principal, a value every role shares: made once, not once per role."""
    return iam.ServicePrincipal("lambda.amazonaws.com")


def service_function(
    scope: Construct,
    construct_id: str,
    *,
    description: str,
    role_description: str,
    log_group: logs.ILogGroup,
    acknowledged: Mapping[str | tuple[str, ...], str],
    **function_props: Any,
) -> lambda_.Function:
    """A function of the service on its runtime, traced, logging to ``log_group``, with a role of its own.

    The role starts with the log group and X-Ray only; every other permission is granted to it after.
    ``acknowledged``: the function's own scanner findings (rule -> reason), besides its runtime's.
    """
    role = InlinePolicyRole(
        scope, f"{construct_id}Role", assumed_by=_lambda_principal(), description=role_description
    )
    log_group.grant_write(role)
    function = lambda_.Function(
        scope,
        construct_id,
        description=description,
        runtime=RUNTIME,
        architecture=ARCHITECTURE,
        tracing=lambda_.Tracing.ACTIVE,
        log_group=log_group,
        role=role,
        **function_props,
    )
    x_ray_needs_a_wildcard = (
        "Active tracing needs xray:PutTraceSegments and xray:PutTelemetryRecords, which support no "
        "resource-level permissions: AWS documents Resource '*' for them. The statement holds nothing else."
    )
    # The Serverless pack reads a role's inline policy (where the statements now are) and finds the same one.
    acknowledge(role, ("AwsSolutions-IAM5[Resource::*]", "Serverless-LambdaStarPermissions"), x_ray_needs_a_wildcard)
    acknowledge_each(function, {("AwsSolutions-L1", "Serverless-LambdaLatestVersion"): NOT_THE_LATEST_RUNTIME, **acknowledged})
    return function


class InlinePolicyRole(iam.Role):
    """A role whose grants land in one policy inside the role, not in an ``AWS::IAM::Policy`` of their own.

    Every permission still comes through ``grant_*`` (and ``add_to_principal_policy``), including
    grants made after the construct, e.g. ``service.functions[op].add_to_role_policy(...)``: the
    policy is rendered at synthesis, so nothing added later is dropped. One resource per role
    instead of two, with the same statements.
    """

    POLICY_NAME = "Permissions"

    def __init__(self, scope: Construct, construct_id: str, **role_props: Any) -> None:
        self._permissions = iam.PolicyDocument()
        super().__init__(scope, construct_id, inline_policies={self.POLICY_NAME: self._permissions}, **role_props)

    def add_to_principal_policy(self, statement: iam.PolicyStatement) -> iam.AddToPrincipalPolicyResult:
        self._permissions.add_statements(statement)
        return iam.AddToPrincipalPolicyResult(statement_added=True, policy_dependable=self)


def grant_table_action(function: lambda_.IFunction, table: dynamodb.ITableV2, action: str, *, writes: bool) -> None:
    """One DynamoDB action on the table (not its indexes), and the use of a customer-managed table key it needs.

    ``TableV2.grant`` would add the table's indexes (``<table>/index/*``) once it has any: a reader of
    every owner's items queries one index, granted where it is needed, and no other function any.
    """
    iam.Grant.add_to_principal(grantee=function, actions=[action], resource_arns=[table.table_arn])
    key = table.encryption_key
    if key is not None:
        # TableV2.grant() grants no KMS actions; a customer-managed key needs them for the data.
        if writes:
            key.grant_encrypt_decrypt(function)
        else:
            key.grant_decrypt(function)


# Why a function API Gateway invokes has no dead-letter queue (cdk-nag and checkov both ask for one).
_NO_DEAD_LETTERS = (
    "API Gateway invokes the function synchronously and returns its error to the caller; a dead-letter "
    "queue only receives failed asynchronous invocations, so it would stay empty."
)


def _skip_checks_for_synchronous_function(function: lambda_.Function) -> None:
    """Checkov checks that do not apply to a function API Gateway invokes synchronously."""
    skip_checkov(
        cast(lambda_.CfnFunction, function.node.default_child),  # a Function's L1
        {
            "CKV_AWS_116": _NO_DEAD_LETTERS,
            "CKV_AWS_117": "The function reaches only DynamoDB, CloudWatch and X-Ray, through their public endpoints "
            "over TLS with IAM auth; it has no VPC resource to reach, and a VPC would add NAT cost and cold-start time.",
            "CKV_AWS_173": "The environment holds configuration only (table name, resource shape), no secrets; Lambda "
            "encrypts it at rest with its service key, and a customer-managed key would protect nothing more.",
        },
    )
