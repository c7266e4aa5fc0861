"""The worker's Lambda handler (``crud_worker.runtime.handler``): a batch of changes from its FIFO queue.

Each message is one change (a DynamoDB stream record, forwarded by the service's pipe). The user's
function (``WORKER_HANDLER``, ``module.function`` in the function's own code) runs once per change;
one that raises fails only its message and the later ones of the same item (the same message
group), which the queue delivers again in order, and every other message of the batch succeeds:
Powertools' ``SqsFifoPartialProcessor`` reports the failures as ``batchItemFailures``.
"""

from __future__ import annotations

import importlib
import json
import os
import time
from collections.abc import Callable
from typing import Any

from aws_lambda_powertools import Logger, Metrics, Tracer
from aws_lambda_powertools.metrics import MetricUnit
from aws_lambda_powertools.utilities.batch import SqsFifoPartialProcessor, process_partial_response
from aws_lambda_powertools.utilities.data_classes.sqs_event import SQSRecord

from crud_worker.changes import Change, ItemShape, change_of
from crud_worker.store import ItemStore

logger = Logger()
tracer = Tracer(patch_modules=("botocore",))
metrics = Metrics()


def _user_function(name: str) -> Callable[[Change], Any]:
    """``module.function`` from the function's code; a missing one fails the cold start, loudly."""
    module_name, _, attribute = name.rpartition(".")
    if not module_name:
        raise ValueError(f"WORKER_HANDLER must be module.function, got {name!r}")
    function = getattr(importlib.import_module(module_name), attribute, None)
    if not callable(function):
        raise ValueError(f"WORKER_HANDLER {name!r}: module {module_name!r} has no function {attribute!r}")
    handler: Callable[[Change], Any] = function
    return handler


shape = ItemShape(
    resource=os.environ["RESOURCE_NAME"],
    id_attribute=os.environ["ID_ATTRIBUTE"],
    timestamp_attribute=os.environ.get("TIMESTAMP_ATTRIBUTE") or None,
    indexes=tuple(name for name in os.environ.get("INDEXES", "").split(",") if name),
    shows_owner=os.environ.get("SHOWS_OWNER") == "true",
)
# The one DynamoDB client, made once per execution environment; tests observe its requests here.
store = ItemStore.for_table(os.environ["TABLE_NAME"])
work = _user_function(os.environ["WORKER_HANDLER"])
# A failed change holds back the later changes of its item only: other items' changes go on.
processor = SqsFifoPartialProcessor(skip_group_on_error=True)


def _process(record: SQSRecord) -> None:
    try:
        body = json.loads(record.body)
        _measure_age(body)
        change = change_of(body, shape, store)
        logger.append_keys(item_id=change.item_id, operation=change.operation, version=change.version)
        work(change)
    except Exception:
        # With the change's keys, for whoever reads the dead-letter queue: its traceback, at ERROR.
        logger.exception("The change failed: the queue delivers it again, then keeps it in the dead-letter queue")
        metrics.add_metric(name="ChangesFailed", unit=MetricUnit.Count, value=1)
        raise
    finally:
        logger.remove_keys(["item_id", "operation", "version"])
    metrics.add_metric(name="ChangesProcessed", unit=MetricUnit.Count, value=1)


def _measure_age(stream_record: dict[str, Any]) -> None:
    """How long after its write the change reached the worker: the stream's, the pipe's and the queue's lag."""
    written = stream_record.get("dynamodb", {}).get("ApproximateCreationDateTime")
    if isinstance(written, (int, float)):
        metrics.add_metric(name="ChangeAge", unit=MetricUnit.Seconds, value=max(0.0, time.time() - written))


@logger.inject_lambda_context
@tracer.capture_lambda_handler(capture_response=False)
@metrics.log_metrics
def handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
    # Powertools' PartialItemFailureResponse is the dict Lambda reads ({"batchItemFailures": [...]}).
    return dict(process_partial_response(event=event, record_handler=_process, processor=processor, context=context))
