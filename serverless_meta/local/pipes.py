"""EventBridge pipes from a DynamoDB stream to an SQS queue, run locally as Pipes runs them.

A pipe reads its table's stream shard by shard (a child shard after its parent, so that each item's
records stay in order), keeps the records one of its filters matches (EventBridge's event patterns,
evaluated by moto's matcher), and sends each to its queue as it is, with the message group and
deduplication ids the pipe's target parameters name (JSON paths into the record, or fixed values).
"""

from __future__ import annotations

import base64
import json
from collections.abc import Mapping
from datetime import datetime
from typing import Any

from moto.events.models import EventPattern

from serverless_meta.local.model import Pipe


class PipePoller:
    """One pipe: ``poll_once`` forwards the records its stream has gained since the last poll."""

    def __init__(self, pipe: Pipe, *, stream_arn: str, streams: Any, sqs: Any, queue_url: str) -> None:
        """``streams`` and ``sqs``: boto3 clients of DynamoDB Streams and SQS where the stream and the queue are."""
        self.pipe = pipe
        self._stream_arn = stream_arn
        self._streams = streams
        self._sqs = sqs
        self._queue_url = queue_url
        self._patterns = [EventPattern.load(pattern) for pattern in pipe.filters]
        self._iterators: dict[str, str] = {}
        """Open shard id -> the iterator to read it from next."""
        self._finished: set[str] = set()

    def poll_once(self) -> int:
        """Forward what the stream holds that this pipe has not read yet; the number of records sent."""
        self._discover_shards()
        sent = 0
        for shard_id in list(self._iterators):
            response = self._streams.get_records(ShardIterator=self._iterators[shard_id], Limit=1000)
            for record in response["Records"]:
                event = _event(record, self._stream_arn)
                if self.matches(event):
                    self._sqs.send_message(QueueUrl=self._queue_url, **message_of(self.pipe, event))
                    sent += 1
            following = response.get("NextShardIterator")
            if following:
                self._iterators[shard_id] = following
            else:  # the shard is closed and read to its end: its children may start
                del self._iterators[shard_id]
                self._finished.add(shard_id)
        return sent

    def matches(self, event: Mapping[str, Any]) -> bool:
        """Whether one of the pipe's filters admits the record (with none, every record goes on)."""
        return not self._patterns or any(pattern.matches_event(event) for pattern in self._patterns)

    def _discover_shards(self) -> None:
        """Start reading every shard not read yet whose parent, if the stream still has it, is finished."""
        shards = self._streams.describe_stream(StreamArn=self._stream_arn)["StreamDescription"]["Shards"]
        known = {shard["ShardId"] for shard in shards}
        for shard in shards:
            shard_id, parent = shard["ShardId"], shard.get("ParentShardId")
            if shard_id in self._iterators or shard_id in self._finished:
                continue
            if parent in known and parent not in self._finished:
                continue
            self._iterators[shard_id] = self._streams.get_shard_iterator(
                StreamArn=self._stream_arn, ShardId=shard_id, ShardIteratorType=self.pipe.starting_position
            )["ShardIterator"]


def message_of(pipe: Pipe, event: Mapping[str, Any]) -> dict[str, str]:
    """The SendMessage parameters for one record: its JSON as the body, and the pipe's FIFO ids."""
    message = {"MessageBody": json.dumps(event, separators=(",", ":"), default=_json)}
    if pipe.message_group_id is not None:
        message["MessageGroupId"] = _dynamic(pipe.message_group_id, event)
    if pipe.message_deduplication_id is not None:
        message["MessageDeduplicationId"] = _dynamic(pipe.message_deduplication_id, event)
    return message


def _dynamic(parameter: str, event: Mapping[str, Any]) -> str:
    """A target parameter: a JSON path into the event (Pipes' dynamic path parameters), or a fixed value."""
    if not parameter.startswith("$."):
        return parameter
    value: Any = event
    for name in parameter.removeprefix("$.").split("."):
        value = value[name]
    return str(value)


def _json(value: Any) -> Any:
    """Binary attribute values as DynamoDB's JSON carries them: base64."""
    if isinstance(value, (bytes, bytearray)):
        return base64.b64encode(value).decode()
    raise TypeError(f"{type(value).__name__} is not JSON serializable")


def _event(record: Mapping[str, Any], stream_arn: str) -> dict[str, Any]:
    """A stream record as a pipe passes it on: with its stream's ARN, its creation time in epoch seconds."""
    stream = dict(record["dynamodb"])
    created = stream.get("ApproximateCreationDateTime")
    if isinstance(created, datetime):
        stream["ApproximateCreationDateTime"] = created.timestamp()
    return {**record, "dynamodb": stream, "eventSourceARN": stream_arn}
