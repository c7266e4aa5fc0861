"""ServerlessCrudApi: a secure, monitored CRUD REST service for one resource.

Read top to bottom: validate the props, build each part (table, user pool, key, alarm
topic, backup, functions, API, edge protection, monitoring), wire them, expose them as
attributes. Defaults, monitoring, recovery and edge protection live in modules beside it.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import fastjsonschema
import jsii
from aws_cdk import Annotations, Duration, Names, RemovalPolicy, Stack, Token
from aws_cdk import aws_apigateway as apigateway
from aws_cdk import aws_cloudwatch as cloudwatch
from aws_cdk import aws_cognito as cognito
from aws_cdk import aws_dynamodb as dynamodb
from aws_cdk import aws_iam as iam
from aws_cdk import aws_kms as kms
from aws_cdk import aws_lambda as lambda_
from aws_cdk import aws_logs as logs
from aws_cdk import aws_sns as sns
from aws_cdk import aws_sns_subscriptions as sns_subscriptions
from aws_cdk import aws_wafv2 as wafv2
from constructs import Construct, IValidation

from serverless_meta import defaults
from serverless_meta.compliance import acknowledge, skip_checkov
from serverless_meta.edge import log_web_acl, web_acl
from serverless_meta.monitoring import AlarmThresholds, ServiceMonitoring
from serverless_meta.operations import ROUTES, Operation, parse_operations
from serverless_meta.powertools import ARCHITECTURE, RUNTIME, powertools_layer
from serverless_meta.recovery import TableBackup, check_backup_retention

HANDLER_CODE = Path(__file__).resolve().parent / "lambda"
HANDLER = "crud_api.app.lambda_handler"

_RESOURCE_NAME = re.compile(r"^[a-z][a-z0-9-]{0,62}$")
_ATTRIBUTE_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_]{0,63}$")
_API_GATEWAY_TIMEOUT = Duration.seconds(29)
_EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")


class ServerlessCrudApi(Construct):
    """A REST API over one resource: API Gateway, one Lambda function per operation, DynamoDB, Cognito.

    Every method requires a Cognito ID token; every item belongs to the caller who
    created it (another caller's item is a 404). Items live in a single-table design
    (partition key ``pk`` = the caller's Cognito ``sub``, sort key ``sk`` =
    ``<resource_name>#<id>``), so services can share one table.

    Attributes: ``table``, ``api``, ``functions`` (by Operation), ``user_pool``,
    ``user_pool_client`` (None when ``user_pool`` was passed in), ``encryption_key``,
    ``alarm_topic``, ``alarms``, ``dashboard``, ``backup`` (None without one), ``web_acl``
    (None unless ``waf=True``), ``usage_plan`` (None without one).
    """

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        resource_name: str,
        operations: Sequence[Operation | str] = tuple(Operation),
        id_attribute: str = "id",
        item_schema: Mapping[str, Any] | None = None,
        timestamp_attribute: str | None = None,
        max_body_bytes: int = 32_768,
        table: dynamodb.ITableV2 | None = None,
        recovery_period_days: int = 35,
        replica_regions: Sequence[str] = (),
        backup: bool | None = None,
        backup_retention: Duration = Duration.days(35),
        backup_cold_storage_after: Duration | None = None,
        user_pool: cognito.IUserPool | None = None,
        alarm_topic: sns.ITopic | None = None,
        encryption_key: kms.IKey | None = None,
        memory_size: int = 256,
        reserved_concurrency: int | None = 10,
        timeout: Duration = Duration.seconds(10),
        log_retention: logs.RetentionDays = logs.RetentionDays.THREE_MONTHS,
        throttling: apigateway.ThrottleSettings = defaults.THROTTLING,
        operation_throttling: Mapping[Operation | str, apigateway.ThrottleSettings] | None = None,
        cors_allow_origins: Sequence[str] | None = None,
        waf: bool = False,
        web_acl_arn: str | None = None,
        waf_rate_limit: int = 1000,
        usage_plan: apigateway.UsagePlanProps | None = None,
        stage_name: str = "prod",
        alarm_thresholds: AlarmThresholds = AlarmThresholds(),
        alarm_email: str | None = None,
        metrics_namespace: str = "ServerlessMeta",
        powertools_layer_version: lambda_.ILayerVersion | None = None,
        cloud_watch_role: bool = True,
    ) -> None:
        """
        :param resource_name: The path segment and sort-key prefix of the resource, e.g. ``metadata``:
            lower-case letters, digits and hyphens, starting with a letter.
        :param operations: Which of create, list, get, update, delete to offer.
            :default: - all five
        :param id_attribute: The name of the server-generated id in items, e.g. ``feedbackId``.
            :default: ``id``
        :param item_schema: A JSON Schema (draft 4 to 7) the request body of create and update must
            satisfy, checked by the handler; a failing body is a 400.
            :default: - any JSON object
        :param timestamp_attribute: The name of a server-owned attribute holding the creation time as
            Unix epoch seconds (a number), for clients that sort or expire by number.
            :default: - none; every item carries ``createdAt`` and ``updatedAt`` (ISO 8601, UTC)
        :param max_body_bytes: The largest request body accepted; a larger one is a 400.
            :default: 32768
        :param table: An existing table to store items in (to share one table between services). It must
            have a string partition key ``pk`` and a string sort key ``sk``. Its recovery settings, backups
            and alarms are its owner's (the construct that made it), unless ``backup=True``.
            :default: - a new on-demand TableV2 with point-in-time recovery, deletion protection,
            RETAIN, and encryption with the AWS-managed key
        :param recovery_period_days: How many days back point-in-time recovery can restore (1 to 35).
            :default: 35
        :param replica_regions: Regions to replicate the table to, making it a global table. The stack
            must name its region (``env``), and it must not be one of these.
            :default: - no replicas
        :param backup: Back the table up daily with AWS Backup, into a vault the stack keeps. True backs up
            a table passed as ``table=`` too (e.g. one restored from a backup); False backs up nothing.
            :default: - a table this construct makes is backed up; a table passed in is its owner's to back up
        :param backup_retention: How long each daily backup is kept.
            :default: 35 days
        :param backup_cold_storage_after: Move backups to cold storage after this long (needs AWS Backup's
            advanced DynamoDB features turned on in the account; retention must be 90 days longer).
            :default: - backups stay in warm storage
        :param user_pool: An existing Cognito user pool whose ID tokens the API accepts.
            :default: - a new user pool: admin-created users, email sign-in, 12+ character passwords
            with all character classes, optional TOTP MFA, deletion protection, and one app client
        :param alarm_topic: An existing SNS topic for alarm and OK notifications.
            :default: - a new SSL-only topic encrypted with ``encryption_key``
        :param encryption_key: The KMS key for the service's log groups, alarm topic and backups. Its
            policy must let CloudWatch Logs (and CloudWatch, for a topic it encrypts) use it.
            :default: - a new key with key rotation and exactly those grants, for this account
        :param memory_size: Memory of each function, in MiB.
            :default: 256
        :param reserved_concurrency: Concurrent executions reserved for (and capping) each function, so
            that one service cannot starve the account or flood the table. The account's concurrency
            quota must leave 100 unreserved: the sample app's 7 functions at 10 need a quota of 170 (the
            usual 1,000 fits 90 such functions; a new account's may be lower). None leaves the functions
            on the account's shared pool.
            :default: 10
        :param timeout: Timeout of each function; must be under API Gateway's 29 s.
            :default: 10 seconds
        :param log_retention: How long function and access logs are kept.
            :default: three months
        :param throttling: The stage's steady-state rate (requests per second) and burst.
            :default: rate 50, burst 100
        :param operation_throttling: Rate and burst for single operations, overriding ``throttling``.
            :default: - every operation uses ``throttling``
        :param cors_allow_origins: Origins that browsers may call the API from.
            :default: - no CORS: browsers on other origins cannot call the API
        :param waf: Put a new WAF web ACL in front of the stage: AWS's common, known-bad-inputs and IP
            reputation rule groups, then a per-IP rate limit (``waf_rate_limit``).
            :default: False
        :param web_acl_arn: An existing regional WAF web ACL to put in front of the stage instead.
            :default: - none
        :param waf_rate_limit: Requests per IP per 5 minutes above which the new web ACL blocks that IP.
            :default: 1000
        :param usage_plan: Require an API key (as well as the Cognito token) on every method, for machine
            clients metered per key: a usage plan with these props is made for the stage, and keys are
            added to it (``service.usage_plan.add_api_key(...)``).
            :default: - no API keys
        :param stage_name: The API stage, the first segment of every URL path.
            :default: ``prod``
        :param alarm_thresholds: When each alarm fires (see AlarmThresholds for every one).
            :default: - 1% 5XX, 25% 4XX (at 20+ requests a minute), p99 latency 2 s, any function error or
            throttle, p99 duration at 80% of the timeout, any DynamoDB throttle or system error, 10 user errors
        :param alarm_email: An address subscribed to the alarm topic (it must confirm the subscription).
            :default: - no subscription: subscribe whoever should be paged
        :param metrics_namespace: CloudWatch namespace for the handlers' Powertools metrics.
            :default: ``ServerlessMeta``
        :param powertools_layer_version: The Powertools layer to run the handlers with.
            :default: - the AWS-published layer for the runtime and architecture, at the Powertools
            version the handlers are tested with, resolved at deploy time from its public SSM parameter
        :param cloud_watch_role: Create (once per stack) the account-level role API Gateway needs to write
            execution logs. Set False when your organisation manages that role.
            :default: True
        """
        super().__init__(scope, construct_id)
        self.resource_name = _check_resource_name(resource_name)
        self.operations = parse_operations(operations)
        _check_attribute_name("id_attribute", id_attribute)
        if timestamp_attribute is not None:
            _check_attribute_name("timestamp_attribute", timestamp_attribute)
            if timestamp_attribute == id_attribute:
                raise ValueError(f"timestamp_attribute must differ from id_attribute, both are {id_attribute!r}")
        _check_item_schema(item_schema)
        if max_body_bytes < 1:
            raise ValueError(f"max_body_bytes must be positive, got {max_body_bytes}")
        if timeout.to_seconds() >= _API_GATEWAY_TIMEOUT.to_seconds():
            raise ValueError(f"timeout must be under API Gateway's 29 s integration limit, got {timeout.to_human_string()}")
        overrides = _check_operation_throttling(operation_throttling or {}, self.operations)
        if table is not None and (recovery_period_days != 35 or replica_regions):
            raise ValueError(
                "recovery_period_days and replica_regions apply to a table this construct makes; set them where "
                "the table passed as table= is made"
            )
        if not 1 <= recovery_period_days <= 35:
            raise ValueError(f"recovery_period_days must be from 1 to 35, got {recovery_period_days}")
        _check_replica_regions(Stack.of(self), replica_regions)
        check_backup_retention(backup_retention, backup_cold_storage_after)
        if alarm_email is not None and not _EMAIL.match(alarm_email):
            raise ValueError(f"alarm_email must be an email address, got {alarm_email!r}")
        if waf and web_acl_arn:
            raise ValueError("waf=True makes a new web ACL; web_acl_arn uses an existing one: pass one or the other")
        if waf_rate_limit < 10:
            raise ValueError(f"waf_rate_limit must be at least 10 (WAF's minimum), got {waf_rate_limit}")
        if reserved_concurrency is not None and reserved_concurrency < 1:
            raise ValueError(f"reserved_concurrency must be at least 1 (or None), got {reserved_concurrency}")

        self.table: dynamodb.ITableV2 = table or dynamodb.TableV2(
            self,
            "Table",
            **defaults.table_props(recovery_period_days=recovery_period_days, replica_regions=replica_regions),
        )
        self.user_pool: cognito.IUserPool = user_pool or _user_pool(self)
        self.user_pool_client: cognito.UserPoolClient | None = (
            None if user_pool else self.user_pool.add_client("UserPoolClient", **defaults.user_pool_client_props())
        )
        self.encryption_key: kms.IKey = encryption_key or defaults.service_key(self)
        self.alarm_topic: sns.ITopic = alarm_topic or defaults.alarm_topic(self, self.encryption_key)
        self.backup: TableBackup | None = (
            TableBackup(
                self,
                "Backup",
                table=self.table,
                key=self.encryption_key,
                retention=backup_retention,
                cold_storage_after=backup_cold_storage_after,
            )
            if backup or (backup is None and table is None)
            else None
        )

        environment = _handler_environment(
            table=self.table,
            resource_name=self.resource_name,
            operations=self.operations,
            id_attribute=id_attribute,
            timestamp_attribute=timestamp_attribute,
            item_schema=item_schema,
            max_body_bytes=max_body_bytes,
            cors_allow_origins=cors_allow_origins,
            metrics_namespace=metrics_namespace,
        )
        layer = powertools_layer_version or powertools_layer(self, "PowertoolsLayer")
        self.functions: dict[Operation, lambda_.Function] = {
            operation: self._function(
                operation, environment, layer, memory_size, timeout, log_retention, reserved_concurrency
            )
            for operation in self.operations
        }

        self.api = self._api(
            stage_name, throttling, overrides, cors_allow_origins, log_retention, cloud_watch_role, usage_plan is not None
        )
        self.node.add_validation(_EveryMethodAuthorized(self.api, cors=bool(cors_allow_origins)))
        self.usage_plan = self._usage_plan(usage_plan) if usage_plan is not None else None
        self.web_acl = self._protect_edge(waf, web_acl_arn, waf_rate_limit, log_retention)
        if alarm_email:
            self._subscribe(alarm_email)
        elif alarm_topic is None:
            Annotations.of(self).add_info(
                "The alarm topic has no subscriber: pass alarm_email, or subscribe someone to alarm_topic"
            )
        monitoring = ServiceMonitoring(
            self,
            "Monitoring",
            service=self.node.id,
            api=self.api,
            functions=self.functions,
            timeout=timeout,
            table=self.table,
            owns_table=table is None,
            topic=self.alarm_topic,
            thresholds=alarm_thresholds,
        )
        self.alarms: list[cloudwatch.Alarm] = monitoring.alarms
        self.dashboard: cloudwatch.Dashboard = monitoring.dashboard

    def _usage_plan(self, props: apigateway.UsagePlanProps) -> apigateway.UsagePlan:
        plan = self.api.add_usage_plan(
            "UsagePlan", name=props.name, description=props.description, throttle=props.throttle, quota=props.quota
        )
        plan.add_api_stage(stage=self.api.deployment_stage)
        return plan

    def _protect_edge(
        self, waf: bool, web_acl_arn: str | None, rate_limit: int, log_retention: logs.RetentionDays
    ) -> wafv2.CfnWebACL | None:
        """A new, logged web ACL (``waf``) or an existing one before the stage; returns the new one, if any."""
        acl = web_acl(self, "WebAcl", rate_limit=rate_limit) if waf else None
        if acl is not None:
            log_web_acl(self, acl, key=self.encryption_key, retention=log_retention)
        acl_arn = acl.attr_arn if acl is not None else web_acl_arn
        if acl_arn is not None:
            wafv2.CfnWebACLAssociation(
                self, "WebAclAssociation", resource_arn=self.api.deployment_stage.stage_arn, web_acl_arn=acl_arn
            )
        else:
            acknowledge(
                self.api,
                "AwsSolutions-APIG3",
                "WAF is opt-in (waf=True, or web_acl_arn for an organisation's own ACL): a web ACL is billed per "
                "ACL, rule and request. Stage throttling and the Cognito authorizer on every method bound abuse.",
            )
        return acl

    def _subscribe(self, alarm_email: str) -> None:
        subscription = self.alarm_topic.add_subscription(sns_subscriptions.EmailSubscription(alarm_email))
        acknowledge(
            subscription,
            "Serverless-SNSRedrivePolicy",
            "An email that cannot be delivered needs its address fixed, not a queue: SNS retries delivery, and "
            "the alarm's state stays in CloudWatch and on the service's dashboard meanwhile.",
        )

    def _function(
        self,
        operation: Operation,
        environment: Mapping[str, str],
        layer: lambda_.ILayerVersion,
        memory_size: int,
        timeout: Duration,
        log_retention: logs.RetentionDays,
        reserved_concurrency: int | None,
    ) -> lambda_.Function:
        name = f"{operation.name.title()}Function"
        log_group = logs.LogGroup(self, f"{name}Logs", retention=log_retention, encryption_key=self.encryption_key)
        role = iam.Role(
            self,
            f"{name}Role",
            assumed_by=iam.ServicePrincipal("lambda.amazonaws.com"),
            description=f"{self.resource_name} {operation.value}: its log group, one DynamoDB action, X-Ray",
        )
        log_group.grant_write(role)
        function = lambda_.Function(
            self,
            name,
            description=f"{self.resource_name}: {ROUTES[operation].method} {operation.value}",
            runtime=RUNTIME,
            architecture=ARCHITECTURE,
            code=lambda_.Code.from_asset(str(HANDLER_CODE), exclude=["**/__pycache__"]),
            handler=HANDLER,
            memory_size=memory_size,
            timeout=timeout,
            tracing=lambda_.Tracing.ACTIVE,
            layers=[layer],
            environment=dict(environment),
            log_group=log_group,
            role=role,
            reserved_concurrent_executions=reserved_concurrency,
        )
        self.table.grant(function, ROUTES[operation].dynamodb_action)
        if self.table.encryption_key is not None:
            # TableV2.grant() grants no KMS actions; a customer-managed key needs them for the data.
            if ROUTES[operation].writes:
                self.table.encryption_key.grant_encrypt_decrypt(function)
            else:
                self.table.encryption_key.grant_decrypt(function)
        acknowledge(
            role,
            "AwsSolutions-IAM5[Resource::*]",
            "Active tracing needs xray:PutTraceSegments and xray:PutTelemetryRecords, which support no "
            "resource-level permissions: AWS documents Resource '*' for them. The statement holds nothing else.",
        )
        _acknowledge_synchronous_function(function)
        return function

    def _api(
        self,
        stage_name: str,
        throttling: apigateway.ThrottleSettings,
        overrides: Mapping[Operation, apigateway.ThrottleSettings],
        cors_allow_origins: Sequence[str] | None,
        log_retention: logs.RetentionDays,
        cloud_watch_role: bool,
        api_key_required: bool,
    ) -> apigateway.RestApi:
        access_logs = logs.LogGroup(self, "AccessLogs", retention=log_retention, encryption_key=self.encryption_key)
        authorizer = apigateway.CognitoUserPoolsAuthorizer(self, "Authorizer", cognito_user_pools=[self.user_pool])
        collection_path = f"/{self.resource_name}"
        method_options = {
            f"{collection_path}{'/{id}' if ROUTES[op].on_item else ''}/{ROUTES[op].method}": (
                apigateway.MethodDeploymentOptions(
                    throttling_rate_limit=settings.rate_limit, throttling_burst_limit=settings.burst_limit
                )
            )
            for op, settings in overrides.items()
        }
        api = apigateway.RestApi(
            self,
            "Api",
            rest_api_name=Names.unique_resource_name(self, separator="-", max_length=255),
            description=f"{self.resource_name}: CRUD over the caller's items",
            endpoint_types=[apigateway.EndpointType.REGIONAL],
            cloud_watch_role=False,
            default_method_options=apigateway.MethodOptions(
                authorizer=authorizer,
                authorization_type=apigateway.AuthorizationType.COGNITO,
                api_key_required=api_key_required or None,
            ),
            default_cors_preflight_options=defaults.cors_options(cors_allow_origins, self.operations)
            if cors_allow_origins
            else None,
            deploy_options=apigateway.StageOptions(
                stage_name=stage_name,
                throttling_rate_limit=throttling.rate_limit,
                throttling_burst_limit=throttling.burst_limit,
                method_options=method_options,
                access_log_destination=apigateway.LogGroupLogDestination(access_logs),
                access_log_format=defaults.access_log_format(),
                tracing_enabled=True,
                logging_level=apigateway.MethodLoggingLevel.ERROR,
                data_trace_enabled=False,
                metrics_enabled=True,
            ),
        )
        if cloud_watch_role:
            api.deployment_stage.node.add_dependency(_api_gateway_account(Stack.of(self)))
        skip_checkov(
            api.deployment_stage.node.default_child,
            "CKV_AWS_120",
            "No response caching: every response is one caller's items and changes with each write; a cache "
            "keyed without the Authorization header would serve one user's data to another.",
        )

        collection = api.root.add_resource(self.resource_name)
        self._add_methods(collection, on_item=False)
        if any(ROUTES[op].on_item for op in self.operations):
            self._add_methods(collection.add_resource("{id}"), on_item=True)
        error_headers = defaults.gateway_error_cors_headers(cors_allow_origins or ())
        api.add_gateway_response(
            "NotFound",
            type=apigateway.ResponseType.MISSING_AUTHENTICATION_TOKEN,
            status_code="404",
            templates={"application/json": '{"message": "Not Found"}'},
            response_headers=error_headers or None,
        )
        if error_headers:
            api.add_gateway_response("Default4xx", type=apigateway.ResponseType.DEFAULT_4_XX, response_headers=error_headers)
            api.add_gateway_response("Default5xx", type=apigateway.ResponseType.DEFAULT_5_XX, response_headers=error_headers)
        acknowledge(
            api,
            "AwsSolutions-APIG2",
            "The handlers validate every request (id, query, JSON body against the resource's schema) and "
            "answer 400 with a JSON message; a model at the gateway would duplicate that schema with "
            "different error messages.",
        )
        return api


    def _add_methods(self, resource: apigateway.Resource, *, on_item: bool) -> None:
        """The resource's operations, each to its function, and ANY for the other methods (405)."""
        operations = [op for op in self.operations if ROUTES[op].on_item == on_item]
        for op in operations:
            resource.add_method(ROUTES[op].method, apigateway.LambdaIntegration(self.functions[op]))
        if operations:
            allowed = sorted(ROUTES[op].method for op in operations)
            resource.add_method(
                "ANY",
                defaults.method_not_allowed(allowed),
                method_responses=[defaults.METHOD_NOT_ALLOWED_RESPONSE],
            )


@jsii.implements(IValidation)
class _EveryMethodAuthorized:
    """Fails synthesis if any method of the API, including ones added later, lacks the Cognito authorizer."""

    def __init__(self, api: apigateway.RestApi, *, cors: bool) -> None:
        self._api = api
        self._cors = cors

    def validate(self) -> list[str]:
        errors = []
        for method in self._api.methods:
            cfn_method: apigateway.CfnMethod = method.node.default_child
            if self._cors and method.http_method == "OPTIONS" and cfn_method.integration.type == "MOCK":
                continue  # the CORS preflight: browsers send it without credentials, by design
            if cfn_method.authorization_type != "COGNITO_USER_POOLS" or cfn_method.authorizer_id is None:
                errors.append(
                    f"{method.http_method} {method.resource.path} has authorization type "
                    f"{cfn_method.authorization_type!r}; every method must use the Cognito authorizer"
                )
        return errors


def _handler_environment(
    *,
    table: dynamodb.ITableV2,
    resource_name: str,
    operations: Sequence[Operation],
    id_attribute: str,
    timestamp_attribute: str | None,
    item_schema: Mapping[str, Any] | None,
    max_body_bytes: int,
    cors_allow_origins: Sequence[str] | None,
    metrics_namespace: str,
) -> dict[str, str]:
    """What the handler code reads at cold start (lambda/crud_api/settings.py), and Powertools' settings."""
    environment = {
        "TABLE_NAME": table.table_name,
        "RESOURCE_NAME": resource_name,
        "OPERATIONS": ",".join(operations),
        "ID_ATTRIBUTE": id_attribute,
        "MAX_BODY_BYTES": str(max_body_bytes),
        "POWERTOOLS_SERVICE_NAME": resource_name,
        "POWERTOOLS_METRICS_NAMESPACE": metrics_namespace,
        "POWERTOOLS_LOG_LEVEL": "INFO",
    }
    if timestamp_attribute:
        environment["TIMESTAMP_ATTRIBUTE"] = timestamp_attribute
    if item_schema is not None:
        environment["ITEM_SCHEMA"] = json.dumps(item_schema, separators=(",", ":"))
    if cors_allow_origins:
        environment["CORS_ALLOW_ORIGINS"] = ",".join(cors_allow_origins)
    return environment


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


def _user_pool(scope: Construct) -> cognito.UserPool:
    pool = cognito.UserPool(scope, "UserPool", **defaults.user_pool_props())
    acknowledge(
        pool,
        "AwsSolutions-COG2",
        "MFA is offered (TOTP) but not forced: requiring it is a product decision about sign-up friction. "
        "Pass a user pool with mfa=Mfa.REQUIRED to force it.",
    )
    acknowledge(
        pool,
        "AwsSolutions-COG8",
        "Threat protection needs the Plus feature plan, billed per monthly active user with no free tier; "
        "opting every adopter into that bill is not ours to do. Pass a user pool with "
        "feature_plan=FeaturePlan.PLUS and threat protection to enable it.",
    )
    return pool


def _api_gateway_account(stack: Stack) -> Construct:
    """The stack's one API Gateway account setting with a role for execution logs, made on first use."""
    existing = stack.node.try_find_child("ApiGatewayCloudWatchRole")
    if existing is not None:
        return existing
    holder = Construct(stack, "ApiGatewayCloudWatchRole")
    role = iam.Role(
        holder,
        "Role",
        assumed_by=iam.ServicePrincipal("apigateway.amazonaws.com"),
        managed_policies=[
            iam.ManagedPolicy.from_aws_managed_policy_name("service-role/AmazonAPIGatewayPushToCloudWatchLogs")
        ],
    )
    account = apigateway.CfnAccount(holder, "Account", cloud_watch_role_arn=role.role_arn)
    # The setting is the account's, not the stack's: deleting this stack must not break execution
    # logging for every other API in the region.
    role.apply_removal_policy(RemovalPolicy.RETAIN)
    account.apply_removal_policy(RemovalPolicy.RETAIN)
    acknowledge(
        role,
        "AwsSolutions-IAM4[Policy::arn:<AWS::Partition>:iam::aws:policy/service-role/AmazonAPIGatewayPushToCloudWatchLogs]",
        "AWS's own policy for API Gateway log delivery, the one its documentation prescribes; AWS keeps it "
        "current as the service changes.",
    )
    return holder


def _check_replica_regions(stack: Stack, regions: Sequence[str]) -> None:
    if not regions:
        return
    if Token.is_unresolved(stack.region):
        raise ValueError(
            "replica_regions needs a stack with a known region: give the stack env=Environment(region=...)"
        )
    if stack.region in regions:
        raise ValueError(f"replica_regions must not include the stack's own region {stack.region!r}, got {list(regions)}")


def _check_resource_name(name: str) -> str:
    if not _RESOURCE_NAME.match(name):
        raise ValueError(
            f"resource_name must be lower-case letters, digits and hyphens, starting with a letter "
            f"(at most 63 characters), got {name!r}"
        )
    return name


def _check_attribute_name(prop: str, name: str) -> None:
    if not _ATTRIBUTE_NAME.match(name) or name in {"pk", "sk", "data", "createdAt", "updatedAt"}:
        raise ValueError(
            f"{prop} must be a plain attribute name (letters, digits, underscores) other than "
            f"pk, sk, data, createdAt and updatedAt, got {name!r}"
        )


def _check_item_schema(schema: Mapping[str, Any] | None) -> None:
    if schema is None:
        return
    if not isinstance(schema, Mapping) or schema.get("type") != "object":
        raise ValueError(f'item_schema must be a JSON Schema for an object ({{"type": "object", ...}}), got {schema!r}')
    try:
        fastjsonschema.compile(dict(schema))
    except fastjsonschema.JsonSchemaDefinitionException as error:
        raise ValueError(f"item_schema is not a valid JSON Schema: {error}") from None


def _check_operation_throttling(
    overrides: Mapping[Operation | str, apigateway.ThrottleSettings], operations: Sequence[Operation]
) -> dict[Operation, apigateway.ThrottleSettings]:
    checked = {}
    for name, settings in overrides.items():
        (operation,) = parse_operations([name])
        if operation not in operations:
            raise ValueError(f"operation_throttling names {operation.value!r}, which is not among the operations")
        checked[operation] = settings
    return checked
