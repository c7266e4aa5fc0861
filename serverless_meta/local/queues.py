"""SQS queues, and the Lambda event source mappings that read them, run locally as Lambda runs them.

The queues live in the embedded moto, which keeps SQS's semantics: FIFO order within a message
group (a group waits while one of its messages is in flight), deduplication, receive counts, and
the move to the dead-letter queue once a message has been received ``maxReceiveCount`` times. A
mapping receives batches of its ``BatchSize``, invokes its function with Lambda's SQS event,
deletes the messages that succeeded, and makes the failed ones (those the function reported in
``batchItemFailures``, or the whole batch when the invocation failed) visible again after a second,
where Lambda would wait out the visibility timeout. A message that fails its last receive is
logged and kept in ``DeadLetters``, which the local server serves at ``/.serverless-meta/dead-letters``.
"""

from __future__ import annotations

import json
import logging
import threading
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from botocore.exceptions import ClientError

from serverless_meta.local.events import sqs_event
from serverless_meta.local.model import EventSourceMapping, Queue

log = logging.getLogger("serverless_meta.local")

# Locally a failed message is received again after this long, not after its visibility timeout.
RETRY_SECONDS = 1


@dataclass(frozen=True)
class LocalQueue:
    """A queue of the template, as created where local mode runs it."""

    queue: Queue
    url: str
    arn: str


def create_queues(queues: Mapping[str, Queue], sqs_in: Callable[[str], Any]) -> dict[str, LocalQueue]:
    """Create ``queues`` (by key) with the clients ``sqs_in(region)`` gives; redrive policies once all exist."""
    created = {}
    for key, queue in queues.items():
        client = sqs_in(queue.region)
        attributes = {"VisibilityTimeout": str(queue.visibility_timeout)}
        if queue.fifo:
            attributes["FifoQueue"] = "true"
            attributes["ContentBasedDeduplication"] = str(queue.content_based_deduplication).lower()
        url = client.create_queue(QueueName=queue.name, Attributes=attributes)["QueueUrl"]
        arn = client.get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
        created[key] = LocalQueue(queue, url, arn)
    for local in created.values():
        dead_letters = created.get(local.queue.dead_letter_queue or "")
        if dead_letters is not None:
            policy = {"deadLetterTargetArn": dead_letters.arn, "maxReceiveCount": local.queue.max_receive_count}
            sqs_in(local.queue.region).set_queue_attributes(QueueUrl=local.url, Attributes={"RedrivePolicy": json.dumps(policy)})
    return created


class DeadLetters:
    """Messages that failed their last receive, newest last: what the local dead-letter queues hold."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._entries: list[dict[str, Any]] = []

    def add(self, entry: dict[str, Any]) -> None:
        with self._lock:
            self._entries.append(entry)

    def all(self) -> list[dict[str, Any]]:
        with self._lock:
            return list(self._entries)


class QueuePoller:
    """One event source mapping: ``poll_once`` receives a batch, invokes the function, settles each message."""

    def __init__(
        self,
        mapping: EventSourceMapping,
        queue: LocalQueue,
        *,
        sqs: Any,
        invoke: Callable[[dict[str, Any]], Any],
        function_name: str,
        dead_letters: DeadLetters,
        dead_letter_queue: LocalQueue | None = None,
    ) -> None:
        """``invoke``: runs the function with an event and returns its result; raising is a failed invocation."""
        self.mapping = mapping
        self._queue = queue
        self._sqs = sqs
        self._invoke = invoke
        self._function_name = function_name
        self._dead_letters = dead_letters
        self._dead_letter_queue = dead_letter_queue

    def poll_once(self, wait_seconds: int = 0) -> int:
        """Receive one batch (waiting up to ``wait_seconds`` for it) and settle it; the number of messages."""
        messages = self._sqs.receive_message(
            QueueUrl=self._queue.url,
            MaxNumberOfMessages=min(self.mapping.batch_size, 10),
            WaitTimeSeconds=wait_seconds,
            MessageSystemAttributeNames=["All"],
            MessageAttributeNames=["All"],
        ).get("Messages", [])
        if not messages:
            return 0
        started = time.perf_counter()
        failed, error = self._run(messages)
        for message in messages:
            if message["MessageId"] in failed:
                self._retry_or_keep(message, error)
            else:
                self._sqs.delete_message(QueueUrl=self._queue.url, ReceiptHandle=message["ReceiptHandle"])
        outcome = f"{len(failed)} failed" if failed else "ok"
        log.info(
            "SQS %s %d message(s) -> %s %s %.1fms",
            self._queue.queue.path, len(messages), self._function_name, outcome, (time.perf_counter() - started) * 1000,
        )
        return len(messages)

    def _run(self, messages: list[dict[str, Any]]) -> tuple[set[str], str]:
        """The ids of the messages that failed, and why."""
        every = {message["MessageId"] for message in messages}
        try:
            result = self._invoke(sqs_event(messages, queue_arn=self._queue.arn, region=self._queue.queue.region))
        except Exception as error:  # the invocation failed as a whole: an error, a timeout, a throttle
            return every, f"the invocation failed: {error}"
        failures = result.get("batchItemFailures") if isinstance(result, dict) else None
        if not self.mapping.report_batch_item_failures or not failures:
            return set(), ""
        reported = {failure.get("itemIdentifier") if isinstance(failure, dict) else None for failure in failures}
        if not reported <= every:
            # As Lambda does: a response naming no message of the batch fails the whole batch.
            return every, f"the function reported failures of no message of the batch: {failures!r}"
        return reported, "the function reported it in batchItemFailures (its log says why)"

    def _retry_or_keep(self, message: dict[str, Any], error: str) -> None:
        receives = int(message.get("Attributes", {}).get("ApproximateReceiveCount", 1))
        limit = self._queue.queue.max_receive_count
        last = self._dead_letter_queue is not None and limit is not None and receives >= limit
        if last:
            # The queue moves it to its dead-letter queue on the next receive, as SQS does.
            self._keep(message, receives, error)
        try:
            self._sqs.change_message_visibility(
                QueueUrl=self._queue.url, ReceiptHandle=message["ReceiptHandle"], VisibilityTimeout=0 if last else RETRY_SECONDS
            )
        except ClientError:
            pass  # visible again already: its visibility timeout ran out during the invocation

    def _keep(self, message: dict[str, Any], receives: int, error: str) -> None:
        try:
            body = json.loads(message["Body"])
        except ValueError:
            body = message["Body"]
        attributes = message.get("Attributes", {})
        self._dead_letters.add(
            {
                "queue": self._queue.queue.path,
                "deadLetterQueue": self._dead_letter_queue.queue.path,
                "function": self._function_name,
                "messageId": message["MessageId"],
                "messageGroupId": attributes.get("MessageGroupId"),
                "receiveCount": receives,
                "keptAt": datetime.now(UTC).isoformat(timespec="seconds").replace("+00:00", "Z"),
                "error": error,
                "body": body,
            }
        )
        log.warning(
            "DEAD LETTER %s: message %s%s failed %d receives (%s); kept in %s, listed at /.serverless-meta/dead-letters",
            self._queue.queue.path,
            message["MessageId"],
            f" (group {attributes['MessageGroupId']})" if "MessageGroupId" in attributes else "",
            receives,
            error,
            self._dead_letter_queue.queue.path,
        )
