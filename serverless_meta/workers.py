"""A service's worker: every change the API makes to its items reaches a function of the user's, none lost.

The changes come from the table itself: its stream (new and old images) feeds an EventBridge pipe,
which keeps the service's own changes (its sort-key prefix, no idempotency records, none written by
the worker) and sends each to a FIFO queue, grouped by item, deduplicated by the stream record's id.
The worker function reads the queue in batches and reports the changes it failed, which the queue
delivers again, in order, up to ``max_receive_count`` times before keeping them in a dead-letter
queue. A crash of the API's function after its write still yields the change: it is in the stream.

The function runs the user's code (their directory) on the library's worker runtime, a layer
(``crud_worker``, from the handler code's ``worker_layer``) beside the Powertools layer.
"""

from __future__ import annotations

import json
import weakref
from dataclasses import dataclass
from typing import Any, cast

from aws_cdk import Stack
from aws_cdk import aws_dynamodb as dynamodb
from aws_cdk import aws_iam as iam
from aws_cdk import aws_kms as kms
from aws_cdk import aws_lambda as lambda_
from aws_cdk import aws_lambda_event_sources as event_sources
from aws_cdk import aws_logs as logs
from aws_cdk import aws_pipes as pipes
from aws_cdk import aws_sqs as sqs
from constructs import Construct

from serverless_meta import defaults
from serverless_meta.compliance import acknowledge, skip_checkov
from serverless_meta.functions import (
    WORKER_LAYER_DIR,
    InlinePolicyRole,
    grant_table_action,
    handler_code_dir,
    service_function,
)
from serverless_meta.handlers.crud_api import contract
from serverless_meta.powertools import ARCHITECTURE, RUNTIME
from serverless_meta.props import InvalidPropError, ServiceProps, Worker, service_that_made

WORKER_HANDLER = "crud_worker.runtime.handler"
# The stream record's JSON paths the pipe groups and deduplicates the queue's messages by.
MESSAGE_GROUP_ID = f"$.dynamodb.Keys.{contract.SORT_KEY}.S"
MESSAGE_DEDUPLICATION_ID = "$.eventID"
_LAYER_ID = "ServerlessMetaWorkerRuntime"
# SQS takes at most 10 messages per batch, so a pipe to a queue may read at most 10 records at a time
# ("Amazon EventBridge Pipes batching and concurrency": https://docs.aws.amazon.com/eventbridge/latest/userguide/eb-pipes-batching-concurrency.html).
PIPE_BATCH_SIZE = 10
# "No more than two processes at most should be reading from the same streams shard at the same time"
# (DynamoDB's "Change data capture for DynamoDB Streams"): a third pipe on one table is throttled.
MAX_STREAM_READERS = 2
# The pipes made on each table's stream, by construct path (jsii keeps its objects for the process anyway).
_stream_readers: weakref.WeakKeyDictionary[dynamodb.ITableV2, list[str]] = weakref.WeakKeyDictionary()


@dataclass(frozen=True)
class ServiceWorker:
    """What a service's worker is made of."""

    function: lambda_.Function
    queue: sqs.Queue
    dead_letter_queue: sqs.Queue
    pipe: pipes.CfnPipe
    """Ref: the pipe's name, the ``PipeName`` of its metrics."""


def change_filters(resource: str, region: str) -> list[dict[str, Any]]:
    """The pipe's filters (any one admits a record): the resource's items, created or replaced by anyone but
    the worker, or deleted, written in ``region`` (so that a global table's change is worked on once, in the
    region where it was made, though every replica's stream carries it).

    Only operators EventBridge Pipes supports (its column of EventBridge's "Comparison operators for use
    in event patterns" table: https://docs.aws.amazon.com/eventbridge/latest/userguide/eb-create-pattern-operators.html):
    prefix, anything-but a list of values, exists and $or; not anything-but with a prefix, which only an
    event bus takes. Idempotency records share the resource's sort-key prefix (under the partition
    ``idempotency#<owner>``) and are the only records with an ``expiresAt``: they are left out by it. Items
    written before writers were marked have no marker, and those written before regions were, no region:
    both go on (a global table's such item, in each region).
    """
    keys = {contract.SORT_KEY: {"S": [{"prefix": f"{resource}#"}]}}
    no_expiry = {contract.EXPIRES_AT: {"N": [{"exists": False}]}}
    in_this_region = {
        "$or": [{contract.WRITTEN_IN: {"S": [region]}}, {contract.WRITTEN_IN: {"S": [{"exists": False}]}}]
    }

    def written(writer: dict[str, Any], image: dict[str, Any]) -> dict[str, Any]:
        return {
            "eventName": ["INSERT", "MODIFY"],
            "dynamodb": {"Keys": keys, "NewImage": {**no_expiry, contract.WRITTEN_BY: {"S": [writer]}, **image}},
        }

    return [
        written({"anything-but": [contract.WRITER_WORKER, contract.WRITER_BACKFILL]}, in_this_region),
        written({"exists": False}, {}),
        {"eventName": ["REMOVE"], "dynamodb": {"Keys": keys, "OldImage": {**no_expiry, **in_this_region}}},
    ]


def enable_stream(table: dynamodb.ITableV2) -> str:
    """The ARN of the stream of new and old images the worker reads, turned on where a ServerlessCrudApi made the table.

    Turning a stream on is an in-place update of the table: its items and settings stay. Other tables
    have theirs already (``validate`` checks it).
    """
    if service_that_made(table, "table") is not None:
        cfn_table = cast(dynamodb.CfnGlobalTable, table.node.default_child)  # a TableV2's L1
        cfn_table.add_property_override("StreamSpecification.StreamViewType", defaults.STREAM_VIEW_TYPE.value)
    # A TableV2 made in this app has its stream's ARN whether or not the stream was on; validate() checked
    # that any other table has one.
    return cast(str, table.table_stream_arn)


def build_worker(
    scope: Construct,
    props: ServiceProps,
    *,
    table: dynamodb.ITableV2,
    key: kms.IKey,
    layer: lambda_.ILayerVersion,
    log_group: logs.ILogGroup,
) -> ServiceWorker | None:
    """The queue, its dead-letter queue, the worker function and the pipe that feeds it; None without a worker."""
    worker = props.worker
    if worker is None:
        return None
    _count_stream_reader(scope, table)
    stream_arn = enable_stream(table)
    queue_props = {**defaults.kwargs(defaults.WORKER_QUEUE), "encryption_master_key": key}
    dead_letters = sqs.Queue(
        scope, "WorkerDeadLetterQueue", **queue_props, retention_period=defaults.WORKER_DEAD_LETTER_RETENTION
    )
    acknowledge(
        dead_letters,
        "Serverless-SQSRedrivePolicy",
        "This is the dead-letter queue of the worker's queue: a change that lands here is kept 14 days to be "
        "inspected and moved back (aws sqs start-message-move-task) once the fault is fixed. A dead-letter "
        "queue of its own would only move it further out of sight.",
    )
    queue = sqs.Queue(
        scope,
        "WorkerQueue",
        **queue_props,
        retention_period=defaults.WORKER_QUEUE_RETENTION,
        visibility_timeout=worker.queue_visibility_timeout,
        dead_letter_queue=sqs.DeadLetterQueue(max_receive_count=worker.max_receive_count, queue=dead_letters),
    )
    function = _worker_function(scope, props, worker, table=table, layer=layer, log_group=log_group)
    function.add_event_source(
        event_sources.SqsEventSource(
            queue,
            batch_size=worker.batch_size,
            report_batch_item_failures=True,
            max_concurrency=worker.max_concurrency,
        )
    )
    acknowledge(
        function,
        "Serverless-LambdaEventSourceMappingDestination",
        "An SQS event source mapping takes no on-failure destination (only stream and Kafka sources do): a "
        "change the worker fails goes back to the queue, and after max_receive_count receives to the queue's "
        "dead-letter queue, which an alarm watches.",
    )
    pipe = _pipe(scope, props, stream_arn=stream_arn, table=table, queue=queue, log_group=log_group)
    return ServiceWorker(function=function, queue=queue, dead_letter_queue=dead_letters, pipe=pipe)


def _count_stream_reader(scope: Construct, table: dynamodb.ITableV2) -> None:
    """Refuse a third pipe on one table's stream: DynamoDB Streams throttles more than two readers of a shard."""
    readers = _stream_readers.setdefault(table, [])
    if len(readers) >= MAX_STREAM_READERS:
        raise InvalidPropError(
            scope.node.path,
            "worker",
            "a worker",
            f"left out: the table's stream already has {len(readers)} readers ({', '.join(readers)}), and DynamoDB "
            f"Streams throttles more than {MAX_STREAM_READERS} readers of one shard, so every worker on it would lag. "
            "Give this service a table of its own, or do its work in one of those workers",
        )
    readers.append(scope.node.path)


def _worker_function(
    scope: Construct,
    props: ServiceProps,
    worker: Worker,
    *,
    table: dynamodb.ITableV2,
    layer: lambda_.ILayerVersion,
    log_group: logs.ILogGroup,
) -> lambda_.Function:
    resource = props.resource
    environment = {
        "TABLE_NAME": table.table_name,
        "RESOURCE_NAME": resource.name,
        "ID_ATTRIBUTE": resource.id_attribute,
        "WORKER_HANDLER": worker.handler,
        "POWERTOOLS_SERVICE_NAME": resource.name,
        "POWERTOOLS_METRICS_NAMESPACE": props.functions.metrics_namespace,
        "POWERTOOLS_LOG_LEVEL": "INFO",
    }
    if resource.timestamp_attribute:
        environment["TIMESTAMP_ATTRIBUTE"] = resource.timestamp_attribute
    if resource.indexes:
        environment["INDEXES"] = ",".join(resource.indexes)
    if props.access.reads_every_owner:
        environment["SHOWS_OWNER"] = "true"  # the API shows each item's owner (readers of every owner's items)
    failed_messages = (
        "Lambda reads the queue and invokes the function synchronously: a message it fails goes back to "
        "the queue and, after max_receive_count receives, to the queue's own dead-letter queue. An "
        "asynchronous dead-letter queue on the function would never receive anything."
    )
    function = service_function(
        scope,
        "WorkerFunction",
        description=f"{resource.name}: the worker, {worker.handler}, for every change to the items",
        role_description=f"{resource.name} worker: its queue, UpdateItem on the table, its service's log group, X-Ray",
        code=worker.code,
        handler=WORKER_HANDLER,
        layers=[layer, _runtime_layer(scope)],
        environment=environment,
        log_group=log_group,
        acknowledged={"Serverless-LambdaDLQ": failed_messages},
        memory_size=worker.memory_size,
        timeout=worker.timeout,
    )
    # The change carries the item; the worker only writes back, one conditional UpdateItem. IAM cannot
    # narrow it to the resource's sort-key prefix (only the partition key has a condition key), so the
    # runtime writes the changed item only.
    grant_table_action(function, table, "dynamodb:UpdateItem", writes=True)
    skip_checkov(
        cast(lambda_.CfnFunction, function.node.default_child),  # a Function's L1
        {
            "CKV_AWS_116": failed_messages,
            "CKV_AWS_115": "Its concurrency is capped where the queue is read (the event source mapping's "
            "MaximumConcurrency), as AWS advises for SQS sources: a reserved concurrency would throttle "
            "invocations, and each throttled batch would count as a receive toward the dead-letter queue.",
            "CKV_AWS_117": "The function reaches only DynamoDB, SQS (through Lambda's poller), CloudWatch and "
            "X-Ray, through their public endpoints over TLS with IAM auth; a VPC would add NAT cost and nothing else.",
            "CKV_AWS_173": "The environment holds configuration only (table name, resource shape, the handler's "
            "name), no secrets; Lambda encrypts it at rest with its service key.",
        },
    )
    return function


def _runtime_layer(scope: Construct) -> lambda_.ILayerVersion:
    """The worker runtime (``crud_worker``), once per stack: a layer whose ``python/`` reaches ``/opt/python``."""
    stack = Stack.of(scope)
    existing = stack.node.try_find_child(_LAYER_ID)
    if existing is not None:
        return cast(lambda_.ILayerVersion, existing)  # the layer this function made
    return lambda_.LayerVersion(
        stack,
        _LAYER_ID,
        code=lambda_.Code.from_asset(str(handler_code_dir() / WORKER_LAYER_DIR), exclude=["**/__pycache__"]),
        compatible_runtimes=[RUNTIME],
        compatible_architectures=[ARCHITECTURE],
        description="serverless-meta's worker runtime (crud_worker): changes from a FIFO queue to a function of yours",
    )


def _pipe(
    scope: Construct,
    props: ServiceProps,
    *,
    stream_arn: str,
    table: dynamodb.ITableV2,
    queue: sqs.Queue,
    log_group: logs.ILogGroup,
) -> pipes.CfnPipe:
    """The table's stream to the queue: the service's own changes, grouped by item, deduplicated by record."""
    stack = Stack.of(scope)
    role = InlinePolicyRole(
        scope,
        "WorkerPipeRole",
        # Only pipes of this account may act as the role.
        assumed_by=iam.ServicePrincipal(
            "pipes.amazonaws.com", conditions={"StringEquals": {"aws:SourceAccount": stack.account}}
        ),
        description=f"{props.resource.name} worker pipe: reads the table's stream, sends to the worker's queue",
    )
    table.grant_stream(role, "dynamodb:DescribeStream", "dynamodb:GetRecords", "dynamodb:GetShardIterator")
    # ListStreams names no resource (the Service Authorization Reference's "Actions defined by Amazon
    # DynamoDB" gives it no resource type): granted on a stream's ARN it allows nothing, so it is on "*".
    role.add_to_principal_policy(iam.PolicyStatement(actions=["dynamodb:ListStreams"], resources=["*"]))
    queue.grant_send_messages(role)
    log_group.grant_write(role)
    acknowledge(
        role,
        ("AwsSolutions-IAM5[Action::kms:ReEncrypt*]", "AwsSolutions-IAM5[Action::kms:GenerateDataKey*]"),
        "SQS's grant for sending to a queue encrypted with a customer-managed key: the pipe must make data keys "
        "of that one key (the statement's only resource) to encrypt what it sends; nothing else.",
    )
    acknowledge(
        role,
        "AwsSolutions-IAM5[Resource::*]",
        "dynamodb:ListStreams takes no resource (IAM's Service Authorization Reference for DynamoDB gives it none): "
        "it lists stream ARNs and reads nothing; reading a stream is granted on this table's stream only.",
    )
    return pipes.CfnPipe(
        scope,
        "WorkerPipe",
        description=f"{props.resource.name}: each change to its items, from the table's stream to the worker's queue",
        role_arn=role.role_arn,
        source=stream_arn,
        source_parameters=pipes.CfnPipe.PipeSourceParametersProperty(
            dynamo_db_stream_parameters=pipes.CfnPipe.PipeSourceDynamoDBStreamParametersProperty(
                # From the oldest record the stream holds: the changes written between the stream's start
                # and the pipe's are not lost. A failing record is retried until the stream drops it
                # (24 hours), holding back the later records of its shard so that order is kept.
                starting_position="TRIM_HORIZON",
                batch_size=PIPE_BATCH_SIZE,
            ),
            filter_criteria=pipes.CfnPipe.FilterCriteriaProperty(
                filters=[
                    pipes.CfnPipe.FilterProperty(pattern=json.dumps(pattern, separators=(",", ":")))
                    for pattern in change_filters(props.resource.name, stack.region)
                ]
            ),
        ),
        target=queue.queue_arn,
        target_parameters=pipes.CfnPipe.PipeTargetParametersProperty(
            sqs_queue_parameters=pipes.CfnPipe.PipeTargetSqsQueueParametersProperty(
                message_group_id=MESSAGE_GROUP_ID, message_deduplication_id=MESSAGE_DEDUPLICATION_ID
            )
        ),
        # Why an execution failed, without the items (no execution data): to the service's log group.
        log_configuration=pipes.CfnPipe.PipeLogConfigurationProperty(
            cloudwatch_logs_log_destination=pipes.CfnPipe.CloudwatchLogsLogDestinationProperty(
                log_group_arn=log_group.log_group_arn
            ),
            level="ERROR",
        ),
    )
