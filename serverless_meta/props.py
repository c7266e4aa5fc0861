"""The props of a ServerlessCrudApi as one frozen, typed value, validated in one place.

``ServerlessCrudApi`` takes its props as keyword arguments (its public API); it gathers them
into a ``ServiceProps``, grouped by the part of the service each group shapes, and
``validate`` checks them all before anything is built. Builders receive the checked value.

Props whose default depends on other props are ``None`` when left out, so that a value
passed explicitly is never mistaken for the default (``recovery_period_days=35`` beside
``table=`` is as wrong as ``recovery_period_days=34``); ``defaults`` holds what they mean.
"""

from __future__ import annotations

import dataclasses
import inspect
import os
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, cast

from aws_cdk import Duration, Stack, Token
from aws_cdk import aws_apigateway as apigateway
from aws_cdk import aws_certificatemanager as acm
from aws_cdk import aws_cognito as cognito
from aws_cdk import aws_dynamodb as dynamodb
from aws_cdk import aws_kms as kms
from aws_cdk import aws_lambda as lambda_
from aws_cdk import aws_logs as logs
from aws_cdk import aws_route53 as route53
from aws_cdk import aws_sns as sns
from constructs import Construct

from serverless_meta import defaults, powertools
from serverless_meta.handlers.crud_api import contract
from serverless_meta.operations import Operation
from serverless_meta.scope import ItemScope

if TYPE_CHECKING:
    from serverless_meta.construct import ServerlessCrudApi


class InvalidPropError(ValueError):
    """A prop of a ServerlessCrudApi is invalid. The message names the construct's path, the prop, what
    was given and what is expected; so do the attributes of the same names."""

    def __init__(self, path: str, prop: str, given: Any, expected: str) -> None:
        self.path = path
        self.prop = prop
        self.given = given
        self.expected = expected
        super().__init__(f"{path}: {prop} must be {expected}; got {_show(given)}")


@dataclass(frozen=True)
class AlarmThresholds:
    """When each alarm of a service fires; override any of them, e.g. ``AlarmThresholds(latency_p99=...)``,
    or leave one out with None (``AlarmThresholds(client_error_percent=None)``)."""

    server_error_percent: float | None = 1.0
    """API 5XX answers, as a percentage of requests."""
    client_error_percent: float | None = 25.0
    """API 4XX answers, as a percentage of requests: a spike of rejected requests (a broken client, a probe)."""
    client_error_minimum_requests: int = 20
    """Requests a minute must have before its 4XX percentage counts, so that one user's typo pages nobody."""
    latency_p99: Duration | None = Duration.seconds(2)
    """API p99 latency."""
    function_errors: int | None = 1
    """Failed invocations of one function in a minute (handled faults are 500s, counted by the API alarm)."""
    function_throttles: int | None = 1
    """Throttled invocations of one function in a minute: its reserved concurrency is exhausted."""
    function_duration_percent_of_timeout: float | None = 80.0
    """A function's p99 duration, as a percentage of its timeout."""
    table_throttled_requests: int | None = 1
    """DynamoDB requests throttled in a minute, over the service's operations."""
    table_system_errors: int | None = 1
    """DynamoDB 500s in a minute, over the service's operations."""
    table_user_errors: int | None = 10
    """DynamoDB 400s in a minute; CloudWatch counts these for the whole account and region."""
    provisioned_concurrency_spillover: int | None = 1
    """Invocations in a minute that found every provisioned environment busy and started cold."""
    snap_start_restore_errors: int | None = 1
    """Execution environments in a minute that failed to restore from their SnapStart snapshot."""
    worker_dead_letters: int | None = 1
    """Changes in the worker's dead-letter queue: each failed every receive the queue allows."""
    worker_oldest_change_age: Duration | None = Duration.minutes(5)
    """How long the oldest change has waited in the worker's queue: the worker is failing or falling behind."""
    worker_errors: int | None = 1
    """Changes the worker's function failed in a minute, and its invocations that failed as a whole."""
    pipe_failures: int | None = 1
    """Executions of the pipe from the table's stream to the worker's queue that failed or timed out in a minute."""
    pipe_throttles: int | None = 1
    """Executions of the pipe throttled in a minute: its stream has too many readers, or the account's pipes are at their quota."""
    worker_change_age: Duration | None = Duration.minutes(5)
    """How long after its write the oldest change of a minute reached the worker: the stream, the pipe or the queue lags."""


@dataclass(frozen=True)
class Worker:
    """A function of yours that receives every change to the service's items, one at a time, after the API answered.

    ``handler`` names a plain Python function (``module.function`` in ``code``) taking a
    ``crud_worker.Change``: the operation, the owner, the item before and after (as clients see it),
    and ``change.update({...})``, which merges attributes into the item. Changes reach it in order
    per item, through a FIFO queue; one that fails is retried up to ``max_receive_count`` times, then
    kept in a dead-letter queue. ``Worker.from_directory("workers/feedback", "feedback_worker.categorize")``
    is the usual way to name one.
    """

    code: lambda_.Code
    """The function's code: your directory, with the module that holds ``handler``."""
    handler: str
    """``module.function``: the function each change is given to."""
    timeout: Duration = defaults.WORKER_TIMEOUT
    """How long one invocation (a batch of changes) may run, up to 15 minutes."""
    memory_size: int = defaults.WORKER_MEMORY_SIZE
    """Memory of the function, MiB."""
    batch_size: int = defaults.WORKER_BATCH_SIZE
    """Changes per invocation, 1 to 10 (a FIFO queue's most)."""
    max_receive_count: int = defaults.WORKER_MAX_RECEIVE_COUNT
    """How many times a change is delivered before it is kept in the dead-letter queue."""
    max_concurrency: int | None = defaults.WORKER_MAX_CONCURRENCY
    """Invocations at once (2 to 1000), capped where the queue is read, so nothing is throttled; None: no cap."""
    visibility_timeout: Duration | None = None
    """How long a delivered change stays hidden from other invocations; at least 6 times ``timeout``.
    Left out: 6 times ``timeout``."""

    @classmethod
    def from_directory(cls, path: str | os.PathLike[str], handler: str, **settings: Any) -> Worker:
        """A worker whose code is the directory ``path`` (deployed as it is, no bundling), e.g.
        ``Worker.from_directory("workers/feedback", "feedback_worker.categorize", timeout=Duration.seconds(60))``."""
        return cls(code=lambda_.Code.from_asset(os.fspath(path)), handler=handler, **settings)

    @property
    def queue_visibility_timeout(self) -> Duration:
        return self.visibility_timeout or Duration.seconds(self.timeout.to_seconds() * defaults.VISIBILITY_TIMEOUT_FACTOR)


@dataclass(frozen=True)
class ResourceShape:
    """What the items are: the URL path, the operations, and the attributes the server owns."""

    name: str
    operations: tuple[Operation, ...]
    id_attribute: str
    timestamp_attribute: str | None
    item_schema: Mapping[str, Any] | None
    max_body_bytes: int
    require_if_match: bool
    indexes: tuple[str, ...] = ()
    """Top-level attributes items can be looked up by, each through an index of the table."""
    client_ids: bool = False
    """Whether PUT with If-None-Match: * creates an item under an id the client chose."""


@dataclass(frozen=True)
class DataProps:
    """Where items are stored, and how they are recovered."""

    table: dynamodb.ITableV2 | None
    recovery_period_days: int | None
    replica_regions: tuple[str, ...]
    backup: bool | None
    backup_retention: Duration | None
    backup_cold_storage_after: Duration | None
    table_props: Mapping[str, Any] | None = None
    """TablePropsV2's keyword arguments for a table the service makes, over the defaults."""

    @property
    def makes_table(self) -> bool:
        return self.table is None

    @property
    def backs_up(self) -> bool:
        """A table this construct makes is backed up unless ``backup=False``; one passed in only with ``backup=True``."""
        return self.backup if self.backup is not None else self.makes_table


@dataclass(frozen=True)
class Deployment:
    """How CodeDeploy moves each function's ``live`` alias to a new version: a canary, linear steps, or all
    at once, rolled back when the service's own alarms fire meanwhile.

    ``Deployment.canary(10, minutes=5)`` sends 10% of requests to the new version for 5 minutes, then
    all; ``Deployment.linear(10, every_minutes=1)`` adds 10% a minute; ``Deployment.all_at_once()``
    moves it at once (a pre-traffic check and the rollback still apply). ``pre_traffic``: a function of
    yours that CodeDeploy runs before any traffic moves; it reports its verdict with
    ``codedeploy:PutLifecycleEventHookExecutionStatus``, and a failure stops the deployment.
    """

    kind: str
    percent: int = 100
    minutes: int = 0
    pre_traffic: lambda_.IFunction | None = None

    @classmethod
    def canary(cls, percent: int, *, minutes: int, pre_traffic: lambda_.IFunction | None = None) -> Deployment:
        return cls("canary", percent, minutes, pre_traffic)

    @classmethod
    def linear(cls, percent: int, *, every_minutes: int, pre_traffic: lambda_.IFunction | None = None) -> Deployment:
        return cls("linear", percent, every_minutes, pre_traffic)

    @classmethod
    def all_at_once(cls, *, pre_traffic: lambda_.IFunction | None = None) -> Deployment:
        return cls("all_at_once", pre_traffic=pre_traffic)


@dataclass(frozen=True)
class FunctionProps:
    """How each operation's function runs."""

    memory_size: int
    timeout: Duration
    reserved_concurrency: int | None
    log_retention: logs.RetentionDays
    metrics_namespace: str
    powertools_layer: lambda_.ILayerVersion | None
    provisioned_concurrency: Mapping[Operation, int] = dataclasses.field(default_factory=dict)
    """Environments kept initialized for these operations' functions, behind the alias API Gateway invokes."""
    snap_start: tuple[Operation, ...] = ()
    """Operations whose functions start from a snapshot of their initialized environment (SnapStart)."""
    deployment: Deployment | None = None
    """How CodeDeploy moves every function's alias to a new version; None: at once, by CloudFormation."""

    @property
    def aliased(self) -> tuple[Operation, ...]:
        """Operations whose function API Gateway invokes through a published version's alias."""
        return tuple(
            op for op in Operation
            if op in self.provisioned_concurrency or op in self.snap_start or self.deployment is not None
        )


@dataclass(frozen=True)
class ApiProps:
    """The REST API in front of the functions, and who may call it.

    With ``shared_api`` (the ``api`` prop), the service adds its routes to another service's API:
    the settings of that API's stage are its owner's, and ``validate`` fills them in from there.
    """

    user_pool: cognito.IUserPool | None
    stage_name: str | None
    throttling: apigateway.ThrottleSettings | None
    operation_throttling: Mapping[Operation, apigateway.ThrottleSettings]
    cors_allow_origins: tuple[str, ...] | None
    usage_plan: apigateway.UsagePlanProps | None
    cloud_watch_role: bool | None
    operation_groups: Mapping[Operation, tuple[str, ...]]
    operation_scopes: Mapping[Operation, tuple[str, ...]]
    machine_client: bool
    cognito_domain_prefix: str | None
    shared_api: apigateway.RestApi | None = None
    user_pool_props: cognito.UserPoolProps | None = None
    """Settings for a user pool the service makes, over the defaults."""


@dataclass(frozen=True)
class AccessProps:
    """Where the items live and who reaches them beyond ``operation_groups`` and ``operation_scopes``."""

    item_scope: ItemScope = ItemScope.OWNER
    read_all_groups: tuple[str, ...] = ()
    """Cognito groups whose members get and list every owner's items (``ItemScope.OWNER`` only)."""
    read_all_scopes: tuple[str, ...] = ()
    """OAuth scopes (bare names, as in ``operation_scopes``) whose holders get and list every owner's items."""
    public_operations: tuple[Operation, ...] = ()
    """Reads the gateway serves without a token (``ItemScope.SHARED`` only)."""
    public_cache_ttl: Duration | None = None
    """How long the gateway caches a public read; None: no cache."""

    @property
    def reads_every_owner(self) -> bool:
        return bool(self.read_all_groups or self.read_all_scopes)


@dataclass(frozen=True)
class EdgeProps:
    """What is in front of the stage: a WAF web ACL (a new one, an existing one, or none), and a custom domain."""

    waf: bool
    web_acl_arn: str | None
    waf_rate_limit: int | None
    domain_name: str | None = None
    certificate: acm.ICertificate | None = None
    hosted_zone: route53.IHostedZone | None = None
    disable_execute_api_endpoint: bool = False


@dataclass(frozen=True)
class MonitoringProps:
    """Who hears about the alarms, and when they fire."""

    alarm_topic: sns.ITopic | None
    alarm_email: str | None
    thresholds: AlarmThresholds


@dataclass(frozen=True)
class ServiceProps:
    """Every prop of one ServerlessCrudApi, grouped by the part of the service it shapes."""

    resource: ResourceShape
    data: DataProps
    functions: FunctionProps
    api: ApiProps
    edge: EdgeProps
    monitoring: MonitoringProps
    encryption_key: kms.IKey | None
    worker: Worker | None = None
    access: AccessProps = AccessProps()


_RESOURCE_NAME = re.compile(r"^[a-z][a-z0-9-]{0,62}$")
_ATTRIBUTE_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_]{0,63}$")
_STAGE_NAME = re.compile(r"^[A-Za-z0-9_-]{1,128}$")
_EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")
# API Gateway passes a caller's groups as one comma-separated claim: a name must hold neither.
_GROUP_NAME = re.compile(r"^[^,\s]{1,128}$")
# Cognito's custom scope names (RFC 6749's scope-token, less the "/" that joins it to the resource server).
_SCOPE_NAME = re.compile(r"^[\x21\x23-\x2e\x30-\x5b\x5d-\x7e]{1,256}$")
_DOMAIN_PREFIX = re.compile(r"^[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?$")
# A DNS host name of two labels or more, lower case (API Gateway keeps custom domain names in lower case).
_HOST_NAME = re.compile(r"^(?=.{1,253}$)(?:[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?\.)+[a-z][a-z0-9-]{0,61}[a-z0-9]$")
_HANDLER = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*(?:\.[A-Za-z_][A-Za-z0-9_]*)+$")
# "The default TTL value for API caching is 300 seconds. The maximum TTL value is 3600 seconds" (API Gateway's
# "Cache settings for REST APIs").
API_GATEWAY_MAX_CACHE_TTL = Duration.hours(1)
# API Gateway ends an integration at 29 s: a function allowed longer would be cut off mid-write.
API_GATEWAY_TIMEOUT = Duration.seconds(29)
# A body stays under DynamoDB's 400 KB item, with the server's attributes, and so does the idempotency
# record that keeps the answer to an idempotent create (the item again, as JSON).
MAX_BODY_BYTES_LIMIT = 350_000
# AWS Backup keeps a recovery point in cold storage for at least 90 days.
COLD_STORAGE_MINIMUM = Duration.days(90)
# Lambda's longest timeout, and SQS's longest visibility timeout.
LAMBDA_TIMEOUT = Duration.minutes(15)
SQS_VISIBILITY_TIMEOUT = Duration.hours(12)


def validate(scope: Construct, props: ServiceProps) -> ServiceProps:
    """``props`` checked, with operations in canonical order; raises InvalidPropError on the first bad prop."""
    check = _Checker(scope.node.path)
    operations = check.operations(check.listed("operations", props.resource.operations))
    api = props.api
    props = dataclasses.replace(
        props,
        resource=dataclasses.replace(
            props.resource, operations=operations, indexes=check.listed("indexes", props.resource.indexes)
        ),
        data=dataclasses.replace(props.data, replica_regions=check.listed("replica_regions", props.data.replica_regions)),
        api=dataclasses.replace(
            api,
            cors_allow_origins=None
            if api.cors_allow_origins is None
            else check.listed("cors_allow_origins", api.cors_allow_origins),
            operation_throttling=check.by_operation("operation_throttling", api.operation_throttling, operations),
            operation_groups=check.by_operation("operation_groups", api.operation_groups, operations, listed=True),
            operation_scopes=check.by_operation("operation_scopes", api.operation_scopes, operations, listed=True),
        ),
        functions=dataclasses.replace(
            props.functions,
            provisioned_concurrency=check.by_operation(
                "provisioned_concurrency", props.functions.provisioned_concurrency, operations
            ),
            snap_start=tuple(
                check.by_operation(
                    "snap_start", dict.fromkeys(check.listed("snap_start", props.functions.snap_start)), operations
                )
            ),
        ),
    )
    check.resource(props.resource)
    check.overrides(props.data, props.api)
    check.data(Stack.of(scope), props.data)
    check.functions(props.functions)
    check.operation_throttling(props.api.operation_throttling, props.functions.reserved_concurrency)
    check.region(Stack.of(scope), props.functions)
    check.api(props.api)
    props = dataclasses.replace(props, api=check.shared_api(scope, props) if props.api.shared_api else _own_api(props.api))
    props = dataclasses.replace(props, access=check.access(props.access, props))
    check.edge(props.edge)
    check.domain(props.edge, shared_api=props.api.shared_api is not None)
    check.monitoring(props.monitoring)
    if props.worker is not None:
        check.worker(props.worker, props.resource.operations, props.data.table)
    return props


_NO_TOKEN_ENDPOINT = (
    "given with cognito_domain_prefix: a machine client gets its tokens from the user pool's domain "
    "(https://<prefix>.auth.<region>.amazoncognito.com/oauth2/token), and without one it can never get a token"
)


@dataclass(frozen=True)
class _Checker:
    path: str

    def fail(self, prop: str, given: Any, expected: str) -> InvalidPropError:
        return InvalidPropError(self.path, prop, given, expected)

    def listed(self, prop: str, given: Sequence[Any]) -> tuple[Any, ...]:
        """A list prop as a tuple; one string, which would be taken letter by letter, is a list forgotten."""
        if isinstance(given, str):
            raise self.fail(prop, given, f"a list, e.g. [{given!r}]")
        return tuple(given)

    def operations(self, given: Sequence[Operation | str]) -> tuple[Operation, ...]:
        expected = f"some of {', '.join(repr(op.value) for op in Operation)}"
        requested = set()
        for operation in given:
            try:
                requested.add(Operation(operation))
            except ValueError:
                raise self.fail("operations", operation, f"{expected} (an unknown operation)") from None
        if not requested:
            raise self.fail("operations", list(given), f"at least one operation: {expected}")
        return tuple(op for op in Operation if op in requested)

    def by_operation(
        self,
        prop: str,
        given: Mapping[Operation, Any] | Mapping[str, Any],
        operations: tuple[Operation, ...],
        *,
        listed: bool = False,
    ) -> dict[Operation, Any]:
        """``given`` by Operation, in canonical order; every key must be an operation the service offers.

        ``listed``: each value is a list of names, kept as a tuple (one string is a list forgotten).
        """
        offered = {op.value for op in operations}
        for name, value in given.items():
            if name not in offered:
                names = ", ".join(repr(op.value) for op in operations)
                raise self.fail(prop, name, f"keyed by operations the service offers ({names})")
            if listed and isinstance(value, str):
                raise self.fail(prop, {name: value}, f"a list of names per operation, e.g. {{{name!r}: [{value!r}]}}")
        return {op: tuple(given[op]) if listed else given[op] for op in operations if op in given}

    def resource(self, shape: ResourceShape) -> None:
        if not _RESOURCE_NAME.match(shape.name):
            raise self.fail(
                "resource_name",
                shape.name,
                "lower-case letters, digits and hyphens, starting with a letter (at most 63 characters)",
            )
        self.attribute_name("id_attribute", shape.id_attribute)
        if shape.timestamp_attribute is not None:
            self.attribute_name("timestamp_attribute", shape.timestamp_attribute)
            if shape.timestamp_attribute == shape.id_attribute:
                raise self.fail("timestamp_attribute", shape.timestamp_attribute, "a name other than id_attribute's")
        self.item_schema(shape.item_schema)
        self.indexes(shape)
        if shape.client_ids and not {Operation.UPDATE, Operation.CREATE} <= set(shape.operations):
            raise self.fail(
                "client_ids", True, "left out unless the service offers create and update (a PUT creates under the client's id)"
            )
        if not 1 <= shape.max_body_bytes <= MAX_BODY_BYTES_LIMIT:
            raise self.fail(
                "max_body_bytes",
                shape.max_body_bytes,
                f"from 1 to {MAX_BODY_BYTES_LIMIT} bytes (DynamoDB keeps items of at most 400 KB, and an idempotent "
                "create keeps its response too)",
            )

    def attribute_name(self, prop: str, name: str) -> None:
        if not _ATTRIBUTE_NAME.match(name) or name in contract.RESERVED_ATTRIBUTES:
            lookups = {key for slot in range(1, contract.MAX_INDEXES + 1) for key in contract.lookup_keys(slot)}
            reserved = ", ".join([*sorted(contract.RESERVED_ATTRIBUTES - lookups), "lookup<n>Pk", "lookup<n>Sk"])
            raise self.fail(prop, name, f"a plain attribute name (letters, digits, underscores) other than {reserved}")

    def indexes(self, shape: ResourceShape) -> None:
        """Attributes to look items up by: plain, distinct, not the server's, at most MAX_INDEXES, and (with a
        schema that names its properties) properties it names as strings or numbers."""
        if len(shape.indexes) > contract.MAX_INDEXES:
            raise self.fail("indexes", list(shape.indexes), f"at most {contract.MAX_INDEXES} attributes (each is an index of the table)")
        if len(set(shape.indexes)) != len(shape.indexes):
            raise self.fail("indexes", list(shape.indexes), "distinct attribute names")
        for name in shape.indexes:
            self.attribute_name("indexes", name)
            if name in contract.QUERY_PARAMETERS["list"]:
                own = ", ".join(contract.QUERY_PARAMETERS["list"])
                raise self.fail("indexes", name, f"attributes other than the list's own parameters ({own})")
            if name in (shape.id_attribute, shape.timestamp_attribute):
                raise self.fail("indexes", name, "client attributes: the id and the timestamp are found otherwise")
            properties = (shape.item_schema or {}).get("properties")
            if isinstance(properties, Mapping):
                declared = properties.get(name)
                kinds = declared.get("type") if isinstance(declared, Mapping) else None
                kinds = {kinds} if isinstance(kinds, str) else set(kinds or ())
                if declared is None or (kinds and not kinds <= {"string", "number", "integer"}):
                    raise self.fail(
                        "indexes", name, "attributes item_schema names as strings or numbers (only those are looked up)"
                    )

    def item_schema(self, schema: Mapping[str, Any] | None) -> None:
        if schema is None:
            return
        if not isinstance(schema, Mapping) or schema.get("type") != "object":
            raise self.fail("item_schema", schema, 'a JSON Schema for an object ({"type": "object", ...})')
        import fastjsonschema  # only services with a schema pay for this import

        try:
            fastjsonschema.compile(dict(schema))
        except fastjsonschema.JsonSchemaDefinitionException as error:
            raise self.fail("item_schema", schema, f"a valid JSON Schema ({error})") from None

    def data(self, stack: Stack, data: DataProps) -> None:
        if not data.makes_table:
            for prop, value in (("recovery_period_days", data.recovery_period_days), ("replica_regions", data.replica_regions)):
                if value:
                    raise self.fail(
                        prop, value, "left out when table= is passed: set it where that table is made"
                    )
        if data.recovery_period_days is not None and not 1 <= data.recovery_period_days <= 35:
            raise self.fail("recovery_period_days", data.recovery_period_days, "from 1 to 35")
        if data.replica_regions:
            if Token.is_unresolved(stack.region):
                raise self.fail(
                    "replica_regions",
                    list(data.replica_regions),
                    "given to a stack with a known region: give the stack env=Environment(region=...)",
                )
            if stack.region in data.replica_regions:
                raise self.fail(
                    "replica_regions", list(data.replica_regions), f"other regions than the stack's own ({stack.region})"
                )
        if not data.backs_up:
            for prop, duration in (
                ("backup_retention", data.backup_retention),
                ("backup_cold_storage_after", data.backup_cold_storage_after),
            ):
                if duration is not None:
                    raise self.fail(prop, duration, "left out when no backup is made (backup=True makes one)")
        retention = data.backup_retention or defaults.BACKUP_RETENTION
        if retention.to_days() < 1:
            raise self.fail("backup_retention", retention, "at least 1 day")
        if data.backup_cold_storage_after is not None:
            minimum = data.backup_cold_storage_after.to_days() + COLD_STORAGE_MINIMUM.to_days()
            if retention.to_days() < minimum:
                raise self.fail(
                    "backup_retention",
                    retention,
                    f"at least 90 days after backup_cold_storage_after ({minimum} days)",
                )

    def functions(self, functions: FunctionProps) -> None:
        if not 128 <= functions.memory_size <= 10_240:
            raise self.fail("memory_size", functions.memory_size, "from 128 to 10240 MiB (Lambda's range)")
        if not _whole_seconds(functions.timeout) or not 1 <= functions.timeout.to_seconds() < API_GATEWAY_TIMEOUT.to_seconds():
            raise self.fail("timeout", functions.timeout, "whole seconds, at least 1 and under API Gateway's 29 s integration limit")
        if functions.reserved_concurrency is not None and functions.reserved_concurrency < 1:
            raise self.fail("reserved_concurrency", functions.reserved_concurrency, "at least 1 (or None)")
        if functions.deployment is not None:
            self.deployment(functions.deployment)
        for operation, environments in functions.provisioned_concurrency.items():
            most = functions.reserved_concurrency
            if environments < 1 or (most is not None and environments > most):
                within = f" and at most reserved_concurrency ({most})" if most is not None else ""
                raise self.fail("provisioned_concurrency", {operation.value: environments}, f"at least 1{within}")
            if operation in functions.snap_start:
                raise self.fail(
                    "snap_start",
                    operation.value,
                    "operations without provisioned_concurrency: Lambda runs a version with one or the other",
                )

    def deployment(self, deployment: Deployment) -> None:
        if not isinstance(deployment, Deployment):
            raise self.fail("deployment", deployment, "a Deployment, e.g. Deployment.canary(10, minutes=5)")
        if deployment.kind != "all_at_once":
            if not isinstance(deployment.percent, int) or not 1 <= deployment.percent <= 99:
                raise self.fail("deployment", deployment, "a percentage from 1 to 99 of the traffic per step")
            if not isinstance(deployment.minutes, int) or deployment.minutes < 1:
                raise self.fail("deployment", deployment, "whole minutes from 1 between steps")

    def overrides(self, data: DataProps, api: ApiProps) -> None:
        """``table_props`` and ``user_pool_props`` change what the service makes, so not with one passed in."""
        if data.table_props is not None:
            if data.table is not None:
                raise self.fail("table_props", data.table_props, "left out with table= (it sets up a table the service makes)")
            given = dict(data.table_props)
            known = set(inspect.signature(dynamodb.TablePropsV2.__init__).parameters) - {"self"}
            if unknown := sorted(set(given) - known):
                raise self.fail("table_props", unknown, f"TablePropsV2's keyword arguments ({', '.join(sorted(known))})")
            if {"partition_key", "sort_key"} & set(given):
                raise self.fail(
                    "table_props",
                    sorted(given),
                    "without partition_key or sort_key: the table's keys are the single-table design's pk and sk",
                )
        if api.user_pool_props is not None and (api.user_pool is not None or api.shared_api is not None):
            raise self.fail(
                "user_pool_props", api.user_pool_props, "left out with user_pool= or api= (it sets up a pool the service makes)"
            )

    def operation_throttling(
        self, throttling: Mapping[Operation, apigateway.ThrottleSettings], environments: int | None
    ) -> None:
        """No method may admit more requests in flight than its function has environments: Lambda would
        reject the rest, and API Gateway answers a rejected invocation with a 500 (see api.admitted)."""
        if environments is None:
            return
        for operation, settings in throttling.items():
            in_flight = (settings.burst_limit or 0) + (settings.rate_limit or 0) * defaults.REQUEST_SECONDS
            if in_flight > environments:
                raise self.fail(
                    "operation_throttling",
                    {operation.value: settings},
                    f"within reserved_concurrency ({environments}) requests in flight: burst_limit plus "
                    f"rate_limit times the {defaults.REQUEST_SECONDS} s a request holds its function; API "
                    "Gateway answers a request beyond the function's environments with a 500 its client "
                    "cannot tell from a bug (raise reserved_concurrency, or pass None to leave the functions "
                    "uncapped)",
                )

    def region(self, stack: Stack, functions: FunctionProps) -> None:
        """What the stack's region cannot deploy, where the stack names its region (otherwise a template rule checks)."""
        region = stack.region
        if Token.is_unresolved(region):
            return
        if functions.powertools_layer is None and region not in powertools.LAYER_REGIONS:
            raise self.fail(
                "powertools_layer_version",
                None,
                f"a layer of your own in {region}: Powertools publishes its layer (and the SSM parameter that names it) "
                f"in {len(powertools.LAYER_REGIONS)} regions, not this one, so the deploy would fail",
            )
        if functions.snap_start and not powertools.snap_start_available(region):
            raise self.fail(
                "snap_start",
                [op.value for op in functions.snap_start],
                f"left out in {region}: Lambda has no SnapStart there (every commercial region but Asia Pacific "
                "(New Zealand) and (Taipei))",
            )

    def api(self, api: ApiProps) -> None:
        if api.stage_name is not None and not _STAGE_NAME.match(api.stage_name):
            raise self.fail("stage_name", api.stage_name, "letters, digits, hyphens and underscores (1 to 128)")
        origins = api.cors_allow_origins or ()
        for origin in origins:
            if not origin or "," in origin or origin != origin.strip():
                raise self.fail("cors_allow_origins", list(origins), "origins such as 'https://app.example.com'")
        for operation, groups in api.operation_groups.items():
            if not groups or not all(isinstance(g, str) and _GROUP_NAME.match(g) for g in groups):
                raise self.fail(
                    "operation_groups",
                    {operation.value: groups},
                    "a list of Cognito group names per operation (no commas or spaces), e.g. {'create': ['editors']}",
                )
        for operation, scopes in api.operation_scopes.items():
            if not scopes or not all(isinstance(s, str) and _SCOPE_NAME.match(s) for s in scopes):
                raise self.fail(
                    "operation_scopes",
                    {operation.value: scopes},
                    "a list of OAuth scope names per operation (without the resource server's prefix), "
                    "e.g. {'create': ['write']}",
                )
        if api.machine_client and not api.operation_scopes:
            raise self.fail("machine_client", True, "left out unless operation_scopes names the scopes it may ask for")
        if api.machine_client and api.cognito_domain_prefix is None and api.user_pool is None and api.shared_api is None:
            raise self.fail("machine_client", True, _NO_TOKEN_ENDPOINT)
        if api.cognito_domain_prefix is not None and (
            not _DOMAIN_PREFIX.match(api.cognito_domain_prefix)
            or any(word in api.cognito_domain_prefix for word in ("aws", "amazon", "cognito"))
        ):
            raise self.fail(
                "cognito_domain_prefix",
                api.cognito_domain_prefix,
                "lower-case letters, digits and hyphens (1 to 63), without 'aws', 'amazon' or 'cognito'",
            )

    def shared_api(self, scope: Construct, props: ServiceProps) -> ApiProps:
        """The API settings of a service adding its routes to another's API: that API's own, where they agree."""
        api = props.api
        host = service_that_made(api.shared_api, "api")
        if host is None:
            raise self.fail("api", api.shared_api, "the api of another ServerlessCrudApi (service.api)")
        if Stack.of(host).node.path != Stack.of(scope).node.path:
            raise self.fail("api", host.node.path, f"the api of a ServerlessCrudApi in the same stack ({Stack.of(scope).node.path})")
        owner = host.props.api
        where = f"as on the API of {host.node.path}"
        for prop, given, owners in (
            ("user_pool", api.user_pool, host.user_pool),
            ("stage_name", api.stage_name, owner.stage_name),
            ("throttling", api.throttling, owner.throttling),
            ("cors_allow_origins", api.cors_allow_origins, owner.cors_allow_origins),
        ):
            if given is not None and given != owners:
                shown = getattr(owners, "node", None)
                raise self.fail(prop, given, f"left out or {shown.path if shown else _show(owners)}, {where} (api=)")
        for prop, stage_setting in (
            ("usage_plan", api.usage_plan),
            ("cloud_watch_role", api.cloud_watch_role),
            ("waf", props.edge.waf or None),
            ("web_acl_arn", props.edge.web_acl_arn),
        ):
            if stage_setting is not None:
                raise self.fail(prop, stage_setting, f"left out with api=: the API's stage is set up by {host.node.path}")
        if host.api.root.get_resource(props.resource.name) is not None:
            raise self.fail(
                "resource_name", props.resource.name, f"a path no other service on the API of {host.node.path} uses"
            )
        if api.machine_client and api.cognito_domain_prefix is None and owner.cognito_domain_prefix is None and owner.user_pool is None:
            raise self.fail("machine_client", True, _NO_TOKEN_ENDPOINT + f" ({host.node.path} made the pool without one)")
        # The owner's usage plan (if any) meters the whole stage; this service makes none of its own.
        return dataclasses.replace(
            owner,
            user_pool=host.user_pool,
            operation_throttling=api.operation_throttling,
            usage_plan=None,
            shared_api=api.shared_api,
            # Who may call this service's operations stays this service's to say.
            operation_groups=api.operation_groups,
            operation_scopes=api.operation_scopes,
            machine_client=api.machine_client,
            cognito_domain_prefix=api.cognito_domain_prefix,
        )

    def access(self, access: AccessProps, props: ServiceProps) -> AccessProps:
        """The access props checked against the rest, their lists as tuples, their operations canonical."""
        scope = access.item_scope
        problem = scope.problem() if isinstance(scope, ItemScope) else ItemScope("?").problem()
        if problem:
            raise self.fail("item_scope", scope, problem)
        operations = props.resource.operations
        read_all_groups = self.listed("read_all_groups", access.read_all_groups)
        read_all_scopes = self.listed("read_all_scopes", access.read_all_scopes)
        public = tuple(
            self.by_operation("public_operations", dict.fromkeys(self.listed("public_operations", access.public_operations)), operations)
        )
        for prop, given in (("read_all_groups", read_all_groups), ("read_all_scopes", read_all_scopes)):
            if given and scope != ItemScope.OWNER:
                raise self.fail(prop, list(given), f"left out with {scope}: every caller the operations admit reads the whole collection")
        if not all(isinstance(g, str) and _GROUP_NAME.match(g) for g in read_all_groups):
            raise self.fail("read_all_groups", list(read_all_groups), "Cognito group names (no commas or spaces)")
        reads = [op for op in (Operation.GET, Operation.LIST) if op in operations]
        for name in read_all_scopes:
            missing = [op.value for op in reads if name not in props.api.operation_scopes.get(op, ())]
            if missing:
                raise self.fail(
                    "read_all_scopes",
                    list(read_all_scopes),
                    f"scopes that operation_scopes also puts on {', '.join(missing)}: a method takes access tokens "
                    f"only for the scopes it names ({name!r} is not on it)",
                )
        if public:
            writes = [op.value for op in public if op not in (Operation.GET, Operation.LIST)]
            if writes:
                raise self.fail(
                    "public_operations", [op.value for op in public], f"reads only (get, list): {', '.join(writes)} would let anyone write"
                )
            if scope != ItemScope.SHARED:
                raise self.fail(
                    "public_operations",
                    [op.value for op in public],
                    f"left out with {scope}: only a shared collection is the same for every caller",
                )
            guarded = [op.value for op in public if op in props.api.operation_groups or op in props.api.operation_scopes]
            if guarded:
                raise self.fail(
                    "public_operations", [op.value for op in public],
                    f"operations without operation_groups or operation_scopes ({', '.join(guarded)} has them): a public "
                    "read has no token to check",
                )
        if props.resource.client_ids:
            if read_all_groups or read_all_scopes:
                raise self.fail(
                    "client_ids", True,
                    "left out with read_all_groups/read_all_scopes: a client's id is unique per owner only, and a "
                    "reader of every owner's items gets an item by its id alone",
                )
            if props.api.operation_scopes.get(Operation.CREATE) != props.api.operation_scopes.get(Operation.UPDATE):
                raise self.fail(
                    "client_ids", True,
                    "given with the same operation_scopes on create and update: a PUT that creates passes update's method",
                )
        ttl = access.public_cache_ttl
        if ttl is not None:
            if not public:
                raise self.fail("public_cache_ttl", ttl, "left out unless public_operations names the reads to cache")
            if not _whole_seconds(ttl) or not 1 <= ttl.to_seconds() <= API_GATEWAY_MAX_CACHE_TTL.to_seconds():
                raise self.fail("public_cache_ttl", ttl, "whole seconds from 1 to 3600 (API Gateway's longest cache TTL)")
        return dataclasses.replace(
            access, read_all_groups=read_all_groups, read_all_scopes=read_all_scopes, public_operations=public
        )

    def edge(self, edge: EdgeProps) -> None:
        if edge.waf and edge.web_acl_arn:
            raise self.fail(
                "web_acl_arn",
                edge.web_acl_arn,
                "left out with waf=True (which makes a new web ACL; web_acl_arn uses an existing one)",
            )
        if edge.waf_rate_limit is not None:
            if not edge.waf:
                raise self.fail("waf_rate_limit", edge.waf_rate_limit, "left out unless waf=True (it limits the new web ACL)")
            if edge.waf_rate_limit < 10:
                raise self.fail("waf_rate_limit", edge.waf_rate_limit, "at least 10 (WAF's minimum)")

    def domain(self, edge: EdgeProps, *, shared_api: bool) -> None:
        if shared_api:
            for prop in ("domain_name", "certificate", "hosted_zone", "disable_execute_api_endpoint"):
                if getattr(edge, prop):
                    raise self.fail(prop, getattr(edge, prop), "left out with api=: that API's domain serves this service's routes too")
            return
        if edge.domain_name is None:
            for prop in ("certificate", "hosted_zone", "disable_execute_api_endpoint"):
                if getattr(edge, prop):
                    raise self.fail(prop, getattr(edge, prop), "left out unless domain_name names the API's custom domain")
            return
        if not isinstance(edge.domain_name, str) or not _HOST_NAME.match(edge.domain_name):
            raise self.fail("domain_name", edge.domain_name, "a lower-case host name, e.g. 'api.example.com' (no wildcard)")
        if edge.certificate is None and edge.hosted_zone is None:
            raise self.fail(
                "domain_name",
                edge.domain_name,
                "given with a certificate or hosted_zone: a certificate for the name in the stack's region, or "
                "the Route 53 zone to make and validate one in",
            )
        zone = edge.hosted_zone.zone_name if edge.hosted_zone is not None else None
        if zone is not None and not Token.is_unresolved(zone) and not f".{edge.domain_name}".endswith(f".{zone}"):
            raise self.fail("domain_name", edge.domain_name, f"a name in hosted_zone's {zone}")

    def monitoring(self, monitoring: MonitoringProps) -> None:
        if monitoring.alarm_email is not None and not _EMAIL.match(monitoring.alarm_email):
            raise self.fail("alarm_email", monitoring.alarm_email, "an email address")

    def worker(self, worker: Worker, operations: tuple[Operation, ...], table: dynamodb.ITableV2 | None) -> None:
        if not isinstance(worker, Worker):
            raise self.fail("worker", worker, "a Worker, e.g. Worker.from_directory('workers/feedback', 'module.function')")
        if not {Operation.CREATE, Operation.UPDATE, Operation.DELETE} & set(operations):
            raise self.fail("worker", worker.handler, "left out unless the service offers create, update or delete: "
                            "a worker receives the changes the API makes")
        if not isinstance(worker.handler, str) or not _HANDLER.match(worker.handler):
            raise self.fail("worker.handler", worker.handler, "module.function, e.g. 'feedback_worker.categorize'")
        if not _whole_seconds(worker.timeout) or not 1 <= worker.timeout.to_seconds() <= LAMBDA_TIMEOUT.to_seconds():
            raise self.fail("worker.timeout", worker.timeout, "from 1 second to 15 minutes (Lambda's range)")
        if not 128 <= worker.memory_size <= 10_240:
            raise self.fail("worker.memory_size", worker.memory_size, "from 128 to 10240 MiB (Lambda's range)")
        if not 1 <= worker.batch_size <= 10:
            raise self.fail("worker.batch_size", worker.batch_size, "from 1 to 10 (the most Lambda reads from a FIFO queue)")
        if not 1 <= worker.max_receive_count <= 1000:
            raise self.fail("worker.max_receive_count", worker.max_receive_count, "from 1 to 1000 (SQS's range)")
        if worker.max_concurrency is not None and not 2 <= worker.max_concurrency <= 1000:
            raise self.fail("worker.max_concurrency", worker.max_concurrency, "from 2 to 1000 (Lambda's range), or None")
        visibility = worker.queue_visibility_timeout.to_seconds()
        least = worker.timeout.to_seconds() * defaults.VISIBILITY_TIMEOUT_FACTOR
        if not least <= visibility <= SQS_VISIBILITY_TIMEOUT.to_seconds():
            raise self.fail(
                "worker.visibility_timeout",
                worker.queue_visibility_timeout,
                f"at least {defaults.VISIBILITY_TIMEOUT_FACTOR} times the worker's timeout ({least} seconds), as AWS "
                "advises for a queue Lambda reads, so that no change is delivered again while it is being worked "
                "on, and at most 12 hours (SQS's longest)",
            )
        self.worker_table(table)

    def worker_table(self, table: dynamodb.ITableV2 | None) -> None:
        """A worker reads its table's stream: one the construct can turn on, or one it is told of."""
        if table is None or service_that_made(table, "table") is not None:
            return  # made by a ServerlessCrudApi: the construct turns its stream on
        if isinstance(table, dynamodb.TableV2):
            view = stream_view_type(table)
            if view != defaults.STREAM_VIEW_TYPE.value:
                raise self.fail(
                    "table",
                    table.node.path,
                    f"a table with a stream of new and old images for the worker (dynamo_stream="
                    f"StreamViewType.NEW_AND_OLD_IMAGES; its stream is {view or 'off'})",
                )
        elif table.table_stream_arn is None:
            raise self.fail(
                "table",
                table.table_name,
                "a table whose stream the worker can read: import it with TableV2.from_table_attributes(..., "
                "table_stream_arn=...) (a stream of new and old images), or pass a table made in this app",
            )


def _own_api(api: ApiProps) -> ApiProps:
    """The settings of an API the service makes itself, with the defaults for those left out."""
    return dataclasses.replace(
        api,
        stage_name=api.stage_name or defaults.STAGE_NAME,
        throttling=api.throttling or defaults.THROTTLING,
        cors_allow_origins=api.cors_allow_origins or (),
        cloud_watch_role=defaults.CLOUD_WATCH_ROLE if api.cloud_watch_role is None else api.cloud_watch_role,
    )


def service_that_made(resource: object, attribute: str) -> ServerlessCrudApi | None:
    """The ServerlessCrudApi that made ``resource`` (its scope, exposing it as ``attribute``: ``table``,
    ``api``), or None: a table or API of the app's own, or an imported one."""
    owner = getattr(getattr(resource, "node", None), "scope", None)
    if getattr(owner, attribute, None) is resource and isinstance(getattr(owner, "props", None), ServiceProps):
        return cast("ServerlessCrudApi", owner)  # the one construct whose props are ServiceProps
    return None


def stream_view_type(table: dynamodb.TableV2) -> str | None:
    """The stream view type of a table made in this app, or None without a stream.

    Read from its CloudFormation properties: the L1's own getter fails (jsii cannot serialize the
    specification TableV2 leaves for a table without a stream), and TableV2 exposes no getter.
    """
    cfn_table = cast(dynamodb.CfnGlobalTable, table.node.default_child)  # a TableV2's L1
    properties = Stack.of(table).resolve(cfn_table._cfn_properties)
    return (properties.get("streamSpecification") or {}).get("streamViewType")


def _whole_seconds(duration: Duration) -> bool:
    """Lambda takes timeouts in whole seconds (and Duration.to_seconds raises on any other)."""
    return duration.to_milliseconds() % 1000 == 0


def _show(value: Any) -> str:
    if isinstance(value, Duration):
        return value.to_human_string()
    if isinstance(value, ItemScope):
        return str(value)
    return repr(value)
