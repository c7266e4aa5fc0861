"""Driving a worker as AWS does, against moto: the API's writes, the table's stream, the pipe, the FIFO queue.

The app is synthesized, and local mode's reading of its template gives the table (with its stream),
the queues (FIFO, visibility, redrive), the pipe (filters, group and deduplication ids) and the
event source mapping (batch size, partial failures): the same pipeline local mode runs, here with
moto in this process and the handlers imported, so the construct, the pipeline and the runtime
cannot drift apart silently.
"""

from __future__ import annotations

import dataclasses
import importlib
import sys
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest

from serverless_meta.local.dynamodb import LocalDynamoDB
from serverless_meta.local.model import LocalApp
from serverless_meta.local.pipes import PipePoller
from serverless_meta.local.queues import DeadLetters, LocalQueue, QueuePoller, create_queues
from serverless_meta.workers import WORKER_HANDLER
from tests.handlers.support import TABLE_NAME, LambdaContext
from tests.support import resources_of_type

CODE = Path(__file__).parent / "code"


def worker_environment(template: dict) -> dict[str, str]:
    """The worker function's environment from the template, its table the tests' own."""
    (variables,) = [
        dict(function["Properties"]["Environment"]["Variables"])
        for function in resources_of_type(template, "AWS::Lambda::Function").values()
        if function["Properties"]["Handler"] == WORKER_HANDLER
    ]
    return {**variables, "TABLE_NAME": TABLE_NAME}


def load_worker(env: pytest.MonkeyPatch, variables: dict[str, str]) -> ModuleType:
    """Import the worker runtime afresh, as a cold start with ``variables`` and the tests' worker code on the path."""
    for name in [name for name in sys.modules if name.split(".")[0] in ("crud_worker", "recording_worker")]:
        del sys.modules[name]
    env.delenv("TIMESTAMP_ATTRIBUTE", raising=False)
    for name, value in variables.items():
        env.setenv(name, value)
    env.syspath_prepend(str(CODE))
    return importlib.import_module("crud_worker.runtime")


class Pipeline:
    """The app's pipe and event source mapping over moto, with the worker runtime invoked in this process."""

    def __init__(self, app: LocalApp, runtime: ModuleType, sqs: Any) -> None:
        (table,) = app.tables
        (pipe,) = app.pipes
        (mapping,) = app.event_source_mappings
        dynamodb = LocalDynamoDB(None)  # AWS's endpoint: moto's mock
        self.table = dataclasses.replace(table, name=TABLE_NAME)
        dynamodb.create_tables([self.table])
        stream_arn, missing = dynamodb.stream_of(self.table)
        assert missing is None, missing
        self.queues: dict[str, LocalQueue] = create_queues(app.queues, lambda region: sqs)
        self.queue = self.queues[mapping.queue]
        self.dead_letter_queue = self.queues[self.queue.queue.dead_letter_queue]
        self.sqs = sqs
        self.runtime = runtime
        self.invocations: list[dict[str, Any]] = []
        self.dead_letters = DeadLetters()
        self.pipe = PipePoller(
            pipe, stream_arn=stream_arn, streams=dynamodb.client("dynamodbstreams", table.region), sqs=sqs,
            queue_url=self.queues[pipe.queue].url,
        )
        self.consumer = QueuePoller(
            mapping, self.queue, sqs=sqs, invoke=self.invoke, function_name="Worker", dead_letters=self.dead_letters,
            dead_letter_queue=self.dead_letter_queue,
        )

    def invoke(self, event: dict[str, Any]) -> Any:
        self.invocations.append(event)
        return self.runtime.handler(event, LambdaContext())

    def deliver(self) -> int:
        """Forward the stream's new records, then consume the queue until it is empty; the records forwarded."""
        forwarded = self.pipe.poll_once()
        for _ in range(100):
            if not self.consumer.poll_once():
                break
        return forwarded

    def dead_lettered(self) -> list[dict[str, Any]]:
        """What the dead-letter queue holds, left in it."""
        return self.sqs.receive_message(
            QueueUrl=self.dead_letter_queue.url, MaxNumberOfMessages=10, VisibilityTimeout=0
        ).get("Messages", [])
