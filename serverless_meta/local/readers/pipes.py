"""EventBridge pipes from a DynamoDB stream to an SQS queue (the only kind local mode runs), with their
filters, batch size and message group and deduplication ids."""

from __future__ import annotations

import re

from serverless_meta.local import pipe_filters
from serverless_meta.local.model import LocalApp, Pipe
from serverless_meta.local.readers import queues
from serverless_meta.local.readers.stack import StackTemplate

_STREAM_ARN = re.compile(r"^arn:[^:]+:dynamodb:[^:]*:[^:]*:table/([^/]+)/stream/.+$")


def read(stack: StackTemplate, app: LocalApp) -> None:
    queue_keys = queues.keys_by_arn(stack)
    for logical_id, resource in stack.of_type("AWS::Pipes::Pipe").items():
        props = resource.get("Properties", {})
        path = stack.path_of(logical_id, resource)
        source, target = (
            stack.intrinsics.resolve_or_warn(props.get(end), f"{path} {end}", "the pipe does not run locally")
            for end in ("Source", "Target")
        )
        table = _stream_table(source) if source else None
        if source is None or target is None:
            continue
        if table is None or target not in queue_keys:
            app.warnings.append(
                f"{path}: only pipes from a DynamoDB stream of this app to one of its SQS queues run locally; "
                f"this one reads {source} and sends to {target}"
            )
            continue
        source_parameters = props.get("SourceParameters", {})
        target_parameters = props.get("TargetParameters", {}).get("SqsQueueParameters", {})
        stream_parameters = source_parameters.get("DynamoDBStreamParameters", {})
        filters = stack.intrinsics.strings(
            [f["Pattern"] for f in source_parameters.get("FilterCriteria", {}).get("Filters", []) if "Pattern" in f],
            f"{path} FilterCriteria",
            "the filter is left out",
        )
        refused = pipe_filters.unsupported(filters)
        batch_size = stream_parameters.get("BatchSize")
        if batch_size is not None and int(batch_size) > pipe_filters.MAX_SQS_BATCH_SIZE:
            refused.append(f"a batch size of {batch_size}, where an SQS target takes at most {pipe_filters.MAX_SQS_BATCH_SIZE}")
        if refused:
            app.warnings.append(
                f"{path} does not run: EventBridge Pipes would refuse it (CreatePipe fails, so the deploy would): "
                + "; ".join(refused)
            )
            continue
        app.pipes.append(
            Pipe(
                key=stack.key(logical_id),
                path=path,
                region=stack.region,
                table=table,
                queue=queue_keys[target],
                starting_position=stream_parameters.get("StartingPosition", "LATEST"),
                filters=filters,
                message_group_id=target_parameters.get("MessageGroupId"),
                message_deduplication_id=target_parameters.get("MessageDeduplicationId"),
                running=props.get("DesiredState", "RUNNING") == "RUNNING",
            )
        )


def _stream_table(arn: str) -> str | None:
    """The name of the table a DynamoDB stream ARN belongs to, or None for any other ARN."""
    match = _STREAM_ARN.match(arn)
    return match.group(1) if match else None
