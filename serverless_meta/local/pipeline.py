"""What happens after a write, locally: the app's pipes and event source mappings, each on a thread of its own.

A write through the local API lands in its table's stream; the table's pipe forwards it to its
queue; the queue's event source mapping invokes its function in one of the function's execution
environments. Each pipe and each mapping runs in order, one poll at a time, so each item's changes
reach the function in the order they were made.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from typing import Any

from serverless_meta.local.aws import local_client
from serverless_meta.local.dynamodb import LocalDynamoDB
from serverless_meta.local.functions import LocalFunctions
from serverless_meta.local.model import LocalApp
from serverless_meta.local.pipes import PipePoller
from serverless_meta.local.queues import DeadLetters, LocalQueue, QueuePoller, create_queues

log = logging.getLogger("serverless_meta.local")

# How often an idle pipe reads its stream; one that just forwarded records reads again at once.
_IDLE_POLL_SECONDS = 0.25
# How long a mapping's receive waits for messages (SQS long polling); also how long a stop may wait for it.
_RECEIVE_WAIT_SECONDS = 1
# After a poll that failed (a server gone, say), wait this long before the next.
_FAILED_POLL_SECONDS = 2.0


class LocalPipeline:
    """The app's queues (created at ``sqs_endpoint``), pipes and event source mappings; ``start`` runs them."""

    def __init__(
        self, app: LocalApp, *, dynamodb: LocalDynamoDB, sqs_endpoint: str, functions: LocalFunctions
    ) -> None:
        self.dead_letters = DeadLetters()
        self.descriptions: list[str] = []
        """One line per pipe and mapping that runs, for the startup log."""
        self._pollers: list[tuple[str, Callable[[], int]]] = []
        self._stop = threading.Event()
        self._threads: list[threading.Thread] = []
        self._sqs_endpoint = sqs_endpoint
        queues = create_queues(app.queues, self._sqs) if app.queues else {}
        self._pipes(app, dynamodb, queues)
        self._mappings(app, queues, functions)

    def _pipes(self, app: LocalApp, dynamodb: LocalDynamoDB, queues: dict[str, LocalQueue]) -> None:
        tables = {table.name: table for table in app.tables}
        for pipe in app.pipes:
            if not pipe.running:
                continue
            table = tables.get(pipe.table)
            stream_arn, missing = dynamodb.stream_of(table) if table else (None, f"table {pipe.table} is no table of the app")
            if stream_arn is None:
                log.warning(
                    "%s will not run: the DynamoDB at %s has no stream for it (%s). DynamoDB Local has streams; "
                    "without them, writes do not reach %s",
                    pipe.path, dynamodb.endpoint, missing, queues[pipe.queue].queue.path,
                )
                continue
            poller = PipePoller(
                pipe,
                stream_arn=stream_arn,
                streams=dynamodb.client("dynamodbstreams", table.region),
                sqs=self._sqs(queues[pipe.queue].queue.region),
                queue_url=queues[pipe.queue].url,
            )
            self._pollers.append((pipe.path, poller.poll_once))
            self.descriptions.append(f"{pipe.path}: changes to {table.name} -> {queues[pipe.queue].queue.path}")

    def _mappings(self, app: LocalApp, queues: dict[str, LocalQueue], functions: LocalFunctions) -> None:
        for mapping in app.event_source_mappings:
            function = app.functions[mapping.function]
            if not mapping.enabled or mapping.function not in functions:
                continue  # a function that cannot run locally was named at startup
            queue = queues[mapping.queue]
            poller = QueuePoller(
                mapping,
                queue,
                sqs=self._sqs(queue.queue.region),
                invoke=lambda event, key=mapping.function: functions.invoke(key, event),
                function_name=function.name,
                dead_letters=self.dead_letters,
                dead_letter_queue=queues.get(queue.queue.dead_letter_queue or ""),
            )
            self._pollers.append((mapping.path, lambda poller=poller: poller.poll_once(_RECEIVE_WAIT_SECONDS)))
            kept = queue.queue.max_receive_count
            retries = f", {kept} receives, then dead letters" if kept else ""
            self.descriptions.append(f"{queue.queue.path} -> {function.name} (batches of {mapping.batch_size}{retries})")

    def _sqs(self, region: str) -> Any:
        return local_client("sqs", self._sqs_endpoint, region)

    def start(self) -> None:
        for name, poll in self._pollers:
            thread = threading.Thread(target=self._run, args=(name, poll), name=f"poll {name}", daemon=True)
            thread.start()
            self._threads.append(thread)

    def stop(self) -> None:
        self._stop.set()
        for thread in self._threads:
            thread.join(timeout=_RECEIVE_WAIT_SECONDS + 5)

    def _run(self, name: str, poll: Callable[[], int]) -> None:
        failing = False
        while not self._stop.is_set():
            try:
                busy = poll() > 0
            except Exception as error:  # a poll that failed says so once, then again only after it recovered
                if not failing:
                    log.warning("%s: %s (retrying every %.0f s)", name, error, _FAILED_POLL_SECONDS)
                failing = True
                self._stop.wait(_FAILED_POLL_SECONDS)
                continue
            failing = False
            if not busy:
                self._stop.wait(_IDLE_POLL_SECONDS)

