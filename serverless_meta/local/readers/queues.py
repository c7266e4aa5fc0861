"""SQS queues, and where their messages move after their last receive (a redrive policy)."""

from __future__ import annotations

from serverless_meta.local.model import LocalApp, Queue
from serverless_meta.local.readers.stack import StackTemplate


def read(stack: StackTemplate, app: LocalApp) -> None:
    queues = keys_by_arn(stack)
    for logical_id, resource in stack.of_type("AWS::SQS::Queue").items():
        props = resource.get("Properties", {})
        redrive = props.get("RedrivePolicy") or {}
        target = stack.intrinsics.resolve_or_warn(
            redrive["deadLetterTargetArn"], f"{stack.key(logical_id)} RedrivePolicy", "its messages are never dead-lettered"
        ) if "deadLetterTargetArn" in redrive else None
        name = stack.intrinsics.attribute(logical_id, "QueueName")
        app.queues[stack.key(logical_id)] = Queue(
            key=stack.key(logical_id),
            path=stack.path_of(logical_id, resource),
            name=name,
            region=stack.region,
            fifo=name.endswith(".fifo"),
            visibility_timeout=int(props.get("VisibilityTimeout", 30)),
            content_based_deduplication=str(props.get("ContentBasedDeduplication", "false")).lower() == "true",
            dead_letter_queue=queues.get(target) if target else None,
            max_receive_count=int(redrive["maxReceiveCount"]) if target in queues else None,
        )


def keys_by_arn(stack: StackTemplate) -> dict[str, str]:
    """The local ARN of each queue of the stack -> its key: what a redrive policy, a pipe or a mapping names."""
    return {
        stack.intrinsics.attribute(logical_id, "Arn"): stack.key(logical_id) for logical_id in stack.of_type("AWS::SQS::Queue")
    }
