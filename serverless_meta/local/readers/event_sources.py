"""Lambda event source mappings from an SQS queue to a function (the only kind local mode runs)."""

from __future__ import annotations

from serverless_meta.local.model import EventSourceMapping, LocalApp
from serverless_meta.local.readers import queues
from serverless_meta.local.readers.stack import StackTemplate


def read(stack: StackTemplate, app: LocalApp) -> None:
    queue_keys = queues.keys_by_arn(stack)
    functions = stack.of_type("AWS::Lambda::Function")
    for logical_id, resource in stack.of_type("AWS::Lambda::EventSourceMapping").items():
        props = resource.get("Properties", {})
        path = stack.path_of(logical_id, resource)
        source = stack.intrinsics.resolve_or_warn(props.get("EventSourceArn"), f"{path} EventSourceArn", "it does not run locally")
        function = props.get("FunctionName")
        function_id = function["Ref"] if isinstance(function, dict) and "Ref" in function else None
        if source is None:
            continue
        if source not in queue_keys or function_id not in functions:
            app.warnings.append(
                f"{path}: only event source mappings from an SQS queue of this app to one of its functions run "
                f"locally; this one reads {source}"
            )
            continue
        app.event_source_mappings.append(
            EventSourceMapping(
                key=stack.key(logical_id),
                path=path,
                queue=queue_keys[source],
                function=stack.key(function_id),
                batch_size=int(props.get("BatchSize", 10)),
                report_batch_item_failures="ReportBatchItemFailures" in props.get("FunctionResponseTypes", []),
                enabled=str(props.get("Enabled", "true")).lower() == "true",
            )
        )
