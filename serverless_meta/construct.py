"""ServerlessCrudApi: a secure, monitored CRUD REST service for one resource.

Read top to bottom: validate the props (``props``), build each part (table, user pool, key,
alarm topic, backup, functions, API, edge protection, worker, monitoring), each in the module of
its concern, wire them, and expose them as attributes. Defaults are typed values in ``defaults``.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any, cast

from aws_cdk import Duration
from aws_cdk import aws_apigateway as apigateway
from aws_cdk import aws_certificatemanager as acm
from aws_cdk import aws_cloudwatch as cloudwatch
from aws_cdk import aws_codedeploy as codedeploy
from aws_cdk import aws_cognito as cognito
from aws_cdk import aws_dynamodb as dynamodb
from aws_cdk import aws_iam as iam
from aws_cdk import aws_kms as kms
from aws_cdk import aws_lambda as lambda_
from aws_cdk import aws_logs as logs
from aws_cdk import aws_route53 as route53
from aws_cdk import aws_sns as sns
from aws_cdk import aws_wafv2 as wafv2
from constructs import Construct

from serverless_meta import defaults
from serverless_meta.api import build_api, build_usage_plan
from serverless_meta.domain import build_domain
from serverless_meta.edge import build_edge
from serverless_meta.encryption import build_service_key
from serverless_meta.functions import build_aliases, build_function_logs, build_functions
from serverless_meta.identity import (
    build_machine_client,
    build_resource_server,
    build_user_pool,
    build_user_pool_client,
    build_user_pool_domain,
)
from serverless_meta.metrics import ServiceMetrics
from serverless_meta.monitoring import build_alarm_subscription, build_alarm_topic, build_monitoring
from serverless_meta.operations import Operation
from serverless_meta.powertools import powertools_layer
from serverless_meta.props import (
    AccessProps,
    AlarmThresholds,
    ApiProps,
    DataProps,
    Deployment,
    EdgeProps,
    FunctionProps,
    MonitoringProps,
    ResourceShape,
    ServiceProps,
    Worker,
    validate,
)
from serverless_meta.recovery import TableBackup, build_backup
from serverless_meta.rollout import build_rollout
from serverless_meta.scope import ItemScope
from serverless_meta.storage import build_collection_index, build_lookup_indexes, build_table
from serverless_meta.workers import ServiceWorker, build_worker


class ServerlessCrudApi(Construct):
    """A REST API over one resource: API Gateway, one Lambda function per operation, DynamoDB, Cognito.

    Every method requires a Cognito token, but the reads ``public_operations`` names. Items belong to
    their creator by default (another caller's item is a 404), or to one shared
    collection, or to a tenant (``item_scope``). Items live in a single-table design (partition key
    ``pk`` = the caller's Cognito ``sub``, ``shared#<resource>`` or ``tenant#<claim>``, sort key
    ``sk`` = ``<resource_name>#<id>``), so services can share one table.

    Attributes: ``props`` (the checked props), ``table``, ``api``, ``functions`` (by Operation), ``aliases``
    (the ``live`` alias of each operation with provisioned concurrency or SnapStart, or of every one with
    ``deployment``, by Operation), ``deployment_groups`` (CodeDeploy's, by Operation; empty without
    ``deployment``), ``domain`` (None without ``domain_name``), ``metrics`` (the metrics factory),
    ``user_pool``, ``user_pool_client`` (None when ``user_pool`` was passed in), ``resource_server``
    and ``machine_client`` (None without ``operation_scopes`` / ``machine_client``), ``user_pool_domain``
    (None without ``cognito_domain_prefix``), ``encryption_key``,
    ``alarm_topic``, ``alarms``, ``dashboard``, ``backup`` (None without one), ``web_acl``
    (None unless ``waf=True``), ``usage_plan`` (None without one), ``worker`` (its ``function``,
    ``queue``, ``dead_letter_queue`` and ``pipe``; None without one).
    """

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        resource_name: str,
        operations: Sequence[Operation | str] = tuple(Operation),
        id_attribute: str = defaults.ID_ATTRIBUTE,
        item_schema: Mapping[str, Any] | None = None,
        timestamp_attribute: str | None = None,
        max_body_bytes: int = defaults.MAX_BODY_BYTES,
        require_if_match: bool = False,
        indexes: Sequence[str] = (),
        client_ids: bool = False,
        table: dynamodb.ITableV2 | None = None,
        table_props: Mapping[str, Any] | None = None,
        recovery_period_days: int | None = None,
        replica_regions: Sequence[str] = (),
        backup: bool | None = None,
        backup_retention: Duration | None = None,
        backup_cold_storage_after: Duration | None = None,
        user_pool: cognito.IUserPool | None = None,
        user_pool_props: cognito.UserPoolProps | None = None,
        operation_groups: Mapping[Operation, Sequence[str]] | Mapping[str, Sequence[str]] | None = None,
        operation_scopes: Mapping[Operation, Sequence[str]] | Mapping[str, Sequence[str]] | None = None,
        machine_client: bool = False,
        cognito_domain_prefix: str | None = None,
        item_scope: ItemScope = ItemScope.OWNER,
        read_all_groups: Sequence[str] = (),
        read_all_scopes: Sequence[str] = (),
        public_operations: Sequence[Operation | str] = (),
        public_cache_ttl: Duration | None = None,
        alarm_topic: sns.ITopic | None = None,
        encryption_key: kms.IKey | None = None,
        memory_size: int = defaults.MEMORY_SIZE,
        reserved_concurrency: int | None = defaults.RESERVED_CONCURRENCY,
        provisioned_concurrency: Mapping[Operation, int] | Mapping[str, int] | None = None,
        snap_start: Sequence[Operation | str] = (),
        deployment: Deployment | None = None,
        timeout: Duration = defaults.TIMEOUT,
        log_retention: logs.RetentionDays = defaults.LOG_RETENTION,
        throttling: apigateway.ThrottleSettings | None = None,
        operation_throttling: (
            Mapping[Operation, apigateway.ThrottleSettings] | Mapping[str, apigateway.ThrottleSettings] | None
        ) = None,
        cors_allow_origins: Sequence[str] | None = None,
        waf: bool = False,
        web_acl_arn: str | None = None,
        waf_rate_limit: int | None = None,
        domain_name: str | None = None,
        certificate: acm.ICertificate | None = None,
        hosted_zone: route53.IHostedZone | None = None,
        disable_execute_api_endpoint: bool = False,
        usage_plan: apigateway.UsagePlanProps | None = None,
        stage_name: str | None = None,
        alarm_thresholds: AlarmThresholds = AlarmThresholds(),
        alarm_email: str | None = None,
        metrics_namespace: str = defaults.METRICS_NAMESPACE,
        powertools_layer_version: lambda_.ILayerVersion | None = None,
        cloud_watch_role: bool | None = None,
        api: apigateway.RestApi | None = None,
        worker: Worker | None = None,
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
        :param indexes: Top-level attributes of the items to look them up by, e.g. ``["page"]``:
            ``GET /<resource>?page=homepage`` answers the matching items within the caller's reach, a page
            at a time, with one Query of the table's index ``lookup<n>`` (added to a table a
            ServerlessCrudApi made; each costs one more index write per item write). Strings and numbers
            are looked up; with ``item_schema``, the attributes must be properties it names so. At most 5.
            :default: - no lookups: a list is every item within reach
        :param client_ids: Let clients choose ids: ``PUT /<resource>/<id>`` with ``If-None-Match: *`` creates
            the item there (201; 412 if one is), an id of 1 to 128 letters, digits, dots, underscores and
            hyphens. ``POST`` still makes server ids.
            :default: False: ids are the server's UUIDs
        :param max_body_bytes: The largest request body accepted; a larger one is a 400.
            :default: 32768
        :param require_if_match: Refuse a replace or delete without ``If-Match`` (428 Precondition Required),
            so that no client can overwrite a change it has not seen. Otherwise ``If-Match`` is optional: with
            it a write happens only at that version (412 if the item has changed), without it always.
            :default: False
        :param table: An existing table to store items in (to share one table between services). It must
            have a string partition key ``pk`` and a string sort key ``sk``. Its recovery settings, backups
            and alarms are its owner's (the construct that made it), unless ``backup=True``.
            :default: - a new on-demand TableV2 with point-in-time recovery, deletion protection,
            RETAIN, and encryption with the AWS-managed key
        :param table_props: TablePropsV2's keyword arguments for the table the service makes, over the
            defaults, e.g. ``{"encryption": TableEncryptionV2.customer_managed_key(key)}``; not its keys,
            and not with ``table``.
            :default: - the defaults above
        :param recovery_period_days: How many days back point-in-time recovery can restore (1 to 35), for a
            table this construct makes.
            :default: 35
        :param replica_regions: Regions to replicate the table to, making it a global table. The stack
            must name its region (``env``), and it must not be one of these.
            :default: - no replicas
        :param backup: Back the table up daily with AWS Backup, into a vault the stack keeps. True backs up
            a table passed as ``table=`` too (e.g. one restored from a backup); False backs up nothing.
            :default: - a table this construct makes is backed up; a table passed in is its owner's to back up
        :param backup_retention: How long each daily backup is kept (only where a backup is made).
            :default: 35 days
        :param backup_cold_storage_after: Move backups to cold storage after this long (needs AWS Backup's
            advanced DynamoDB features turned on in the account; retention must be 90 days longer).
            :default: - backups stay in warm storage
        :param user_pool: An existing Cognito user pool whose ID tokens the API accepts.
            :default: - with ``api``, that API's user pool; otherwise a new user pool: admin-created users,
            email sign-in, 12+ character passwords with all character classes, optional TOTP MFA, deletion
            protection, and one app client
        :param user_pool_props: Settings for the user pool the service makes, over the defaults, e.g.
            ``UserPoolProps(mfa=Mfa.REQUIRED)``; not with ``user_pool`` or ``api``.
            :default: - the defaults above
        :param operation_groups: The Cognito groups allowed to call each operation, e.g.
            ``{"create": ["editors"], "update": ["editors"], "delete": ["editors"]}``; a caller in none of an
            operation's groups gets 403 before anything is read or written. Operations not named are open to
            every signed-in caller.
            :default: - every operation is open to every signed-in caller
        :param operation_scopes: OAuth scopes each operation requires, e.g. ``{"create": ["write"]}``: a resource
            server ``<resource_name>`` with these scopes is added to the user pool, and the operation's method
            accepts access tokens carrying ``<resource_name>/<scope>`` (as API Gateway's Cognito authorizer
            does, such a method no longer accepts ID tokens).
            :default: - no scopes: every method accepts the pool's ID tokens
        :param machine_client: Add an app client with a secret and the client-credentials grant for every scope
            of ``operation_scopes``, for machine-to-machine callers (``machine_client`` attribute).
            :default: False
        :param cognito_domain_prefix: Give the user pool a Cognito domain with this prefix
            (``https://<prefix>.auth.<region>.amazoncognito.com``), where machine clients get access tokens.
            :default: - no domain (a pool passed as ``user_pool`` may have its own)
        :param item_scope: Where items live: ``ItemScope.OWNER`` (each caller's own; another's is a 404),
            ``ItemScope.SHARED`` (one collection every admitted caller works on) or
            ``ItemScope.claim("custom:tenant")`` (one collection per value of that claim; a token without
            it is a 403). Switching a deployed service's scope strands its items: see the README.
            :default: ItemScope.OWNER
        :param read_all_groups: Cognito groups whose members get and list every owner's items (each says its
            ``owner``); writes stay the owner's. Only with ``ItemScope.OWNER``.
            :default: - nobody reads another owner's items
        :param read_all_scopes: OAuth scopes (of ``operation_scopes`` on get and list) whose holders get and
            list every owner's items, as ``read_all_groups``.
            :default: - none
        :param public_operations: Reads (``get``, ``list``) the gateway serves without a token, only with
            ``ItemScope.SHARED``; still throttled (10 requests a second, bursts of 20, unless
            ``operation_throttling`` says otherwise).
            :default: - every method needs a token
        :param public_cache_ttl: Cache public reads at the gateway this long (1 s to 1 hour): a write shows
            in them after at most this long. Adds the stage's cache (0.5 GB, billed by the hour).
            :default: - no cache
        :param alarm_topic: An existing SNS topic for alarm and OK notifications.
            :default: - a new SSL-only topic encrypted with ``encryption_key``
        :param encryption_key: The KMS key for the service's log groups, alarm topic and backups. Its
            policy must let CloudWatch Logs (and CloudWatch, for a topic it encrypts) use it.
            :default: - a new key with key rotation and exactly those grants, for this account
        :param memory_size: Memory of each function, in MiB.
            :default: 256
        :param reserved_concurrency: Concurrent executions reserved for (and capping) each function, so
            that one service cannot starve the account or flood the table; its method admits no more
            requests in flight (half as burst, the rest as rate), so overload is the gateway's 429.
            The account's concurrency quota must leave 100 unreserved: the sample app's 7 functions at 20
            need a quota of 240. None leaves the functions on the account's shared pool.
            :default: 20
        :param provisioned_concurrency: Execution environments to keep initialized for chosen operations,
            e.g. ``{"get": 5}``, for latency-sensitive routes: the function is published as a version with
            an alias ``live`` holding that many environments, and API Gateway invokes the alias. Billed
            for every hour they are kept, used or not; at most ``reserved_concurrency`` each. Invocations
            beyond them start cold (spillover), which an alarm reports.
            :default: - none: every environment starts on demand
        :param snap_start: Operations whose functions start from a snapshot of their initialized
            environment (Lambda SnapStart for Python): published as a version with an alias ``live`` that
            API Gateway invokes; the handler renews its DynamoDB client and random state after a restore.
            Not with ``provisioned_concurrency`` for the same operation. Restores are billed; an alarm
            reports restores that fail.
            :default: - none
        :param deployment: How a new version of the functions goes live: CodeDeploy moves each function's
            ``live`` alias (which API Gateway then invokes) as a canary, in linear steps or at once, and
            rolls it back when the service's API 5XX, latency, function error or duration alarms fire
            meanwhile, e.g. ``Deployment.canary(10, minutes=5)``; optionally after a pre-traffic check.
            :default: - none: CloudFormation updates the functions in place, all at once
        :param timeout: Timeout of each function; must be under API Gateway's 29 s.
            :default: 10 seconds
        :param log_retention: How long function and access logs are kept.
            :default: three months
        :param throttling: The stage's steady-state rate (requests per second) and burst.
            :default: rate 50, burst 100; with ``api``, that API's
        :param operation_throttling: Rate and burst for single operations; burst plus 0.1 s of rate at
            most ``reserved_concurrency``.
            :default: - burst half of ``reserved_concurrency``, rate 5 times it, within ``throttling``
        :param cors_allow_origins: Origins that browsers may call the API from.
            :default: - no CORS: browsers on other origins cannot call the API; with ``api``, that API's origins
        :param waf: Put a new WAF web ACL in front of the stage: AWS's common, known-bad-inputs and IP
            reputation rule groups, then a per-IP rate limit (``waf_rate_limit``).
            :default: False
        :param web_acl_arn: An existing regional WAF web ACL to put in front of the stage instead.
            :default: - none
        :param waf_rate_limit: Requests per IP per 5 minutes above which the new web ACL blocks that IP
            (with ``waf=True`` only).
            :default: 1000
        :param domain_name: A custom domain for the API, e.g. ``api.example.com``: regional, TLS 1.2 at
            least, the whole API mapped at its root (every service on it keeps its paths). Needs
            ``certificate`` or ``hosted_zone``. Not with ``api`` (that API's domain serves).
            :default: - the execute-api URL only
        :param certificate: The certificate for ``domain_name``, in the stack's region.
            :default: - one made and validated through DNS in ``hosted_zone``
        :param hosted_zone: The Route 53 zone ``domain_name`` is in: an alias record points the name at
            the domain (and the certificate is validated there when none is given).
            :default: - no DNS record: point your DNS at the domain's regional name yourself
        :param disable_execute_api_endpoint: Switch off the ``execute-api`` URL, so that clients reach the
            API through ``domain_name`` only.
            :default: False
        :param usage_plan: Require an API key (as well as the Cognito token) on every method, for machine
            clients metered per key: a usage plan with these props is made for the stage, and keys are
            added to it (``service.usage_plan.add_api_key(...)``).
            :default: - no API keys
        :param stage_name: The API stage, the first segment of every URL path.
            :default: ``prod``; with ``api``, that API's stage
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
            execution logs. Set False when your organisation manages that role. Not with ``api``.
            :default: True
        :param api: Another ServerlessCrudApi's REST API (``other.api``, in the same stack) to add this
            service's routes to, so that clients have one base URL: its stage, authorizer, throttling,
            access log, WAF, API keys and gateway responses serve this service too. ``user_pool``,
            ``stage_name``, ``throttling`` and ``cors_allow_origins`` must then be left out or agree with
            that API's; ``waf``, ``web_acl_arn``, ``usage_plan`` and ``cloud_watch_role`` must be left out.
            This service's alarms watch its own routes.
            :default: - a REST API of the service's own
        :param worker: A function of yours that receives every change the API makes to the items (created,
            replaced, deleted), one at a time, in order per item, after the API has answered, and may write
            attributes back onto the item (``Worker.from_directory("workers/feedback", "module.function")``).
            The changes come from the table's stream (turned on for a table a ServerlessCrudApi made; a table
            passed in must have a stream of new and old images) through an EventBridge pipe into an encrypted
            FIFO queue with a dead-letter queue; alarms watch them.
            :default: - no worker, no stream, no queue
        """
        super().__init__(scope, construct_id)
        # No stack traces on this construct's metadata: from Python they are the jsii kernel's temporary
        # program.js, which the cdk CLI would print as the origin of the alarm-topic note.
        self.node.set_context("aws:cdk:disable-stack-trace", True)
        # The props as given: validate() checks them and returns them in the forms the props declare (the
        # casts below), tuples and mappings keyed by Operation; a string for a list must reach it as given.
        self.props = props = validate(
            self,
            ServiceProps(
                resource=ResourceShape(
                    name=resource_name,
                    operations=cast("tuple[Operation, ...]", operations),
                    id_attribute=id_attribute,
                    timestamp_attribute=timestamp_attribute,
                    item_schema=item_schema,
                    max_body_bytes=max_body_bytes,
                    require_if_match=require_if_match,
                    indexes=cast("tuple[str, ...]", indexes),
                    client_ids=client_ids,
                ),
                data=DataProps(
                    table=table,
                    recovery_period_days=recovery_period_days,
                    replica_regions=cast("tuple[str, ...]", replica_regions),
                    backup=backup,
                    backup_retention=backup_retention,
                    backup_cold_storage_after=backup_cold_storage_after,
                    table_props=table_props,
                ),
                functions=FunctionProps(
                    memory_size=memory_size,
                    timeout=timeout,
                    reserved_concurrency=reserved_concurrency,
                    log_retention=log_retention,
                    metrics_namespace=metrics_namespace,
                    powertools_layer=powertools_layer_version,
                    provisioned_concurrency=cast("dict[Operation, int]", dict(provisioned_concurrency or {})),
                    snap_start=cast("tuple[Operation, ...]", snap_start),
                    deployment=deployment,
                ),
                api=ApiProps(
                    user_pool=user_pool,
                    stage_name=stage_name,
                    throttling=throttling,
                    operation_throttling=cast(
                        "dict[Operation, apigateway.ThrottleSettings]", dict(operation_throttling or {})
                    ),
                    cors_allow_origins=cast("tuple[str, ...] | None", cors_allow_origins),
                    usage_plan=usage_plan,
                    cloud_watch_role=cloud_watch_role,
                    operation_groups=cast("dict[Operation, tuple[str, ...]]", dict(operation_groups or {})),
                    operation_scopes=cast("dict[Operation, tuple[str, ...]]", dict(operation_scopes or {})),
                    machine_client=machine_client,
                    cognito_domain_prefix=cognito_domain_prefix,
                    shared_api=api,
                    user_pool_props=user_pool_props,
                ),
                edge=EdgeProps(
                    waf=waf,
                    web_acl_arn=web_acl_arn,
                    waf_rate_limit=waf_rate_limit,
                    domain_name=domain_name,
                    certificate=certificate,
                    hosted_zone=hosted_zone,
                    disable_execute_api_endpoint=disable_execute_api_endpoint,
                ),
                monitoring=MonitoringProps(alarm_topic=alarm_topic, alarm_email=alarm_email, thresholds=alarm_thresholds),
                encryption_key=encryption_key,
                worker=worker,
                access=AccessProps(
                    item_scope=item_scope,
                    read_all_groups=cast("tuple[str, ...]", read_all_groups),
                    read_all_scopes=cast("tuple[str, ...]", read_all_scopes),
                    public_operations=cast("tuple[Operation, ...]", public_operations),
                    public_cache_ttl=public_cache_ttl,
                ),
            ),
        )
        self.resource_name = props.resource.name
        self.operations = props.resource.operations

        self.table: dynamodb.ITableV2 = props.data.table or build_table(self, props)
        build_collection_index(self, props, table=self.table)
        build_lookup_indexes(self, props, table=self.table)
        self.user_pool: cognito.IUserPool = props.api.user_pool or build_user_pool(self, props)
        self.user_pool_client: cognito.UserPoolClient | None = (
            None if props.api.user_pool else build_user_pool_client(self, props, user_pool=self.user_pool)
        )
        self.resource_server = build_resource_server(self, props, user_pool=self.user_pool)
        self.machine_client = build_machine_client(
            self, props, user_pool=self.user_pool, resource_server=self.resource_server
        )
        self.user_pool_domain = build_user_pool_domain(self, props, user_pool=self.user_pool)
        self.encryption_key: kms.IKey = props.encryption_key or build_service_key(self, props)
        self.alarm_topic: sns.ITopic = props.monitoring.alarm_topic or build_alarm_topic(
            self, props, key=self.encryption_key
        )
        self.backup: TableBackup | None = (
            build_backup(self, props, table=self.table, key=self.encryption_key) if props.data.backs_up else None
        )
        layer = props.functions.powertools_layer or powertools_layer(self, "PowertoolsLayer")
        log_group = build_function_logs(self, props, key=self.encryption_key)
        self.functions: dict[Operation, lambda_.Function] = build_functions(
            self, props, table=self.table, layer=layer, log_group=log_group
        )
        self.aliases: dict[Operation, lambda_.Alias] = build_aliases(self, props, functions=self.functions)
        self.api: apigateway.RestApi = build_api(
            self,
            props,
            user_pool=self.user_pool,
            functions={**self.functions, **self.aliases},
            key=self.encryption_key,
        )
        self.usage_plan: apigateway.UsagePlan | None = build_usage_plan(self, props, api=self.api)
        self.web_acl: wafv2.CfnWebACL | None = build_edge(self, props, api=self.api, key=self.encryption_key)
        self.domain: apigateway.DomainName | None = build_domain(self, props, api=self.api)
        self.worker: ServiceWorker | None = build_worker(
            self, props, table=self.table, key=self.encryption_key, layer=layer, log_group=log_group
        )
        build_alarm_subscription(self, props, topic=self.alarm_topic)
        monitoring = build_monitoring(
            self,
            props,
            api=self.api,
            functions=self.functions,
            aliases=self.aliases,
            table=self.table,
            worker=self.worker,
            topic=self.alarm_topic,
        )
        self.alarms: list[cloudwatch.AlarmBase] = monitoring.alarms
        self.deployment_groups: dict[Operation, codedeploy.LambdaDeploymentGroup] = build_rollout(
            self, props, aliases=self.aliases, alarms=self.alarms
        )
        self.dashboard: cloudwatch.Dashboard = monitoring.dashboard
        self.metrics: ServiceMetrics = monitoring.metrics

    # --- The service's metrics and grants, for an app's own alarms, graphs and functions ---------------

    def metric_latency(self, statistic: str = "p99") -> cloudwatch.IMetric:
        """The API's latency at ``statistic`` (on a shared API, the slowest of this service's methods)."""
        return self.metrics.latency(statistic)

    def metric_function_errors(self, operation: Operation | str) -> cloudwatch.Metric:
        """Errors of one operation's function, summed per minute."""
        return self.metrics.function_errors(Operation(operation))

    def metric_function_throttles(self, operation: Operation | str) -> cloudwatch.Metric:
        """Throttled invocations of one operation's function, summed per minute."""
        return self.metrics.function_throttles(Operation(operation))

    def metric_function_duration(self, operation: Operation | str) -> cloudwatch.Metric:
        """One operation's function's p99 duration per minute."""
        return self.metrics.function_duration_p99(Operation(operation))

    def grant_read_data(self, grantee: iam.IGrantable) -> iam.Grant:
        """Lets ``grantee`` read the service's table (every item of every service on it, and its indexes)."""
        return self.table.grant_read_data(grantee)

    def grant_read_write_data(self, grantee: iam.IGrantable) -> iam.Grant:
        """Lets ``grantee`` read and write the service's table: writes that bypass the API's checks and
        versions (a backfill, a migration)."""
        return self.table.grant_read_write_data(grantee)
