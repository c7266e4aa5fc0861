"""Every metric of a service, defined once: its alarms, its dashboard and the app's own alarms use these.

``service.metrics`` is a ``ServiceMetrics``: the API's and the functions' metrics (the table's through
``TableMetrics``, made once per table; the worker's through ``WorkerMetrics``), over one-minute periods
with the statistic each use needs.
"""

from __future__ import annotations

import weakref
from collections.abc import Callable, Mapping, Sequence
from typing import Any

from aws_cdk import Duration, Names
from aws_cdk import aws_apigateway as apigateway
from aws_cdk import aws_cloudwatch as cloudwatch
from aws_cdk import aws_dynamodb as dynamodb
from aws_cdk import aws_lambda as lambda_
from aws_cdk import aws_logs as logs

from serverless_meta.operations import ROUTES, Operation
from serverless_meta.workers import ServiceWorker

PERIOD = Duration.minutes(1)
# "Alarms based on metric math expressions can reference a maximum of 10 metrics. This is a hard limit"
# (CloudWatch's "Limits" for alarms: https://docs.aws.amazon.com/AmazonCloudWatch/latest/monitoring/alarm-limits.html):
# PutMetricAlarm refuses more, so a deploy would fail. Every alarm is checked against it as it is made
# (monitoring.py); an error rate over more methods than that is split.
MAX_ALARM_METRICS = 10
_ROUTES_LABEL = "the service's methods"
_API_METRIC_IDS = {"Count": "requests", "5XXError": "server_errors", "4XXError": "client_errors", "Latency": "latency"}


class ServiceMetrics:
    """Every metric of one service, defined once: the alarms and the dashboard both use these.

    API and function metrics come from the resources' own ``metric_*`` methods, over one-minute
    periods with the statistic each use needs. The API's metrics are the whole API's, or with
    ``routes`` (a service on another's API) those of the service's own methods, so that a quiet
    service's failures are not diluted by a busy neighbour's traffic.
    """

    def __init__(
        self,
        api: apigateway.RestApi,
        functions: Mapping[Operation, lambda_.Function],
        table: dynamodb.ITableV2,
        *,
        routes: Mapping[Operation, apigateway.Method] | None = None,
        provisioned: Mapping[Operation, lambda_.Alias] | None = None,
        restore_errors: cloudwatch.Metric | None = None,
        worker: WorkerMetrics | None = None,
        timeout: Duration,
    ) -> None:
        """``provisioned``: the aliases with provisioned concurrency; ``restore_errors``: failed SnapStart restores;
        ``worker``: the worker's metrics, where the service has one; ``timeout``: the functions' (they share one)."""
        self.api = api
        self.worker = worker
        self.functions = functions
        self.routes = routes
        self.provisioned = dict(provisioned or {})
        self.restore_errors = restore_errors
        self._function_metrics: dict[tuple[Operation, str, str], cloudwatch.Metric] = {}
        self.timeout_ms = timeout.to_milliseconds()
        self.requests = self._api_metric("Count", "Sum")
        self.server_errors = self._api_metric("5XXError", "Sum")
        self.client_errors = self._api_metric("4XXError", "Sum")
        self.table_metrics = TableMetrics.of(table)

    def latency(self, statistic: str, *, label: str | None = None) -> cloudwatch.Metric | cloudwatch.MathExpression:
        """The API's latency at ``statistic``; over a service's own methods, its slowest method's."""
        return self._api_metric("Latency", statistic, label=label)

    def _api_metric(
        self, metric_name: str, statistic: str, *, label: str | None = None, only: Sequence[Operation] | None = None
    ) -> cloudwatch.Metric | cloudwatch.MathExpression:
        """The API's metric; over a service's own methods (or ``only`` some of them), summed or the highest."""
        if self.routes is None:
            return self.api.metric(metric_name, period=PERIOD, statistic=statistic, label=label)
        stage = self.api.deployment_stage
        # Ids unique within an alarm or a graph that uses several of these: requests_create, latency_p99_get.
        prefix = _API_METRIC_IDS[metric_name] + ("" if statistic == "Sum" else f"_{statistic}")
        metrics = {
            f"{prefix}_{operation.value}": method.metric(metric_name, stage, period=PERIOD, statistic=statistic)
            for operation, method in self.routes.items()
            if only is None or operation in only
        }
        if statistic == "Sum":
            return _combined(label or f"{metric_name}, {_ROUTES_LABEL}", "SUM", metrics, [f"FILL({m}, 0)" for m in metrics])
        return _combined(label or f"{metric_name} {statistic}, slowest of {_ROUTES_LABEL}", "MAX", metrics, list(metrics))

    def error_percents(self, metric_name: str, *, minimum_requests: int) -> list[cloudwatch.MathExpression]:
        """``metric_name`` (4XXError, 5XXError) as a percentage of requests, 0 in minutes with fewer than
        ``minimum_requests``: one expression for the whole API, or over a service's own methods one per group
        of methods small enough for an alarm (two metrics a method: its requests and its errors)."""
        label = metric_name.removesuffix("Error")
        if self.routes is None:
            errors = {"5XXError": self.server_errors, "4XXError": self.client_errors}[metric_name]
            return [self._percent(label, self.requests, errors, minimum_requests)]
        per_alarm = MAX_ALARM_METRICS // 2
        operations = list(self.routes)
        groups = [operations[start : start + per_alarm] for start in range(0, len(operations), per_alarm)]
        return [
            self._percent(
                label if len(groups) == 1 else f"{label} of {', '.join(op.value for op in group)}",
                self._api_metric("Count", "Sum", only=group),
                self._api_metric(metric_name, "Sum", only=group),
                minimum_requests,
            )
            for group in groups
        ]

    @staticmethod
    def _percent(label: str, requests: cloudwatch.IMetric, errors: cloudwatch.IMetric, minimum_requests: int) -> cloudwatch.MathExpression:
        return cloudwatch.MathExpression(
            expression=f"IF(requests >= {minimum_requests}, 100 * errors / requests, 0)",
            using_metrics={"requests": requests, "errors": errors},
            label=f"{label} % of requests",
            period=PERIOD,
        )

    def function_invocations(self, operation: Operation) -> cloudwatch.Metric:
        return self._function_metric(operation, "Invocations", "Sum")

    def function_errors(self, operation: Operation) -> cloudwatch.Metric:
        return self._function_metric(operation, "Errors", "Sum")

    def function_throttles(self, operation: Operation) -> cloudwatch.Metric:
        return self._function_metric(operation, "Throttles", "Sum")

    def function_duration_p99(self, operation: Operation) -> cloudwatch.Metric:
        return self._function_metric(operation, "Duration", "p99")

    def _function_metric(self, operation: Operation, metric_name: str, statistic: str) -> cloudwatch.Metric:
        """The function's metric, labelled with its operation; made once, as alarms and graphs share it
        (each is a call into aws-cdk-lib, and synthesis time is mostly such calls)."""
        key = (operation, metric_name, statistic)
        if key not in self._function_metrics:
            self._function_metrics[key] = self.functions[operation].metric(
                metric_name, period=PERIOD, statistic=statistic, label=operation.value
            )
        return self._function_metrics[key]

    def provisioned_spillover(self, operation: Operation) -> cloudwatch.Metric:
        """Invocations of the alias that found every provisioned environment busy, and so started cold."""
        return self.provisioned[operation].metric(
            "ProvisionedConcurrencySpilloverInvocations", period=PERIOD, statistic="Sum"
        )

    def provisioned_utilization(self, operation: Operation) -> cloudwatch.Metric:
        return self.provisioned[operation].metric("ProvisionedConcurrencyUtilization", period=PERIOD, statistic="Maximum")

    def spillover_over_aliases(self) -> cloudwatch.MathExpression:
        metrics = {operation.value: self.provisioned_spillover(operation) for operation in self.provisioned}
        return _combined("Spillover, all provisioned functions", "SUM", metrics, [f"FILL({m}, 0)" for m in metrics])

    def errors_over_functions(self) -> cloudwatch.MathExpression:
        """Failed invocations, summed over the service's functions: any function's failure counts in full."""
        return self._over_functions("Errors, all functions", self.function_errors, "FILL({id}, 0)", "SUM")

    def throttles_over_functions(self) -> cloudwatch.MathExpression:
        """Throttled invocations, summed over the service's functions."""
        return self._over_functions("Throttles, all functions", self.function_throttles, "FILL({id}, 0)", "SUM")

    def slowest_duration_percent_of_timeout(self) -> cloudwatch.MathExpression:
        """The highest of the functions' p99 durations, each as a percentage of the functions' timeout."""
        return self._over_functions(
            "Duration p99 % of timeout, slowest function",
            self.function_duration_p99,
            "100 * FILL({id}, 0) / {timeout_ms}",
            "MAX",
        )

    def _over_functions(
        self, label: str, metric_of: Callable[[Operation], cloudwatch.IMetric], term: str, combine: str
    ) -> cloudwatch.MathExpression:
        """One value over every function's ``metric_of``: ``combine`` of ``term`` per function.

        An alarm's expression may use 10 metrics: five operations' worth, and room for more.
        """
        metrics = {operation.value: metric_of(operation) for operation in self.functions}
        terms = [term.format(id=operation.value, timeout_ms=self.timeout_ms) for operation in self.functions]
        return _combined(label, combine, metrics, terms)


class TableMetrics:
    """The metrics of one table, made once per table: every service on it alarms on or graphs the same ones.

    A dozen services sharing a table would otherwise each make the same thirty-odd metrics, each a
    call into aws-cdk-lib: a tenth of a service's synthesis time.
    """

    # Weakly keyed, so as to add no reference of its own (jsii keeps its objects for the whole process anyway).
    _of_table: weakref.WeakKeyDictionary[dynamodb.ITableV2, TableMetrics] = weakref.WeakKeyDictionary()

    @classmethod
    def of(cls, table: dynamodb.ITableV2) -> TableMetrics:
        if table not in cls._of_table:
            cls._of_table[table] = cls(table)
        return cls._of_table[table]

    def __init__(self, table: dynamodb.ITableV2) -> None:
        table_name = table.table_name
        self.throttles = self._sum_over_operations(table, table_name, "ThrottledRequests")
        self.system_errors = self._sum_over_operations(table, table_name, "SystemErrors")
        self.user_errors = table.metric_user_errors(period=PERIOD, statistic="Sum")
        self.consumed_reads = table.metric_consumed_read_capacity_units(period=PERIOD, label="read")
        self.consumed_writes = table.metric_consumed_write_capacity_units(period=PERIOD, label="write")
        # As the dashboard's graphs label them.
        self.throttles_graphed = self.throttles.with_(label="throttled")
        self.system_errors_graphed = self.system_errors.with_(label="system")
        self.user_errors_graphed = self.user_errors.with_(label="user")

    @staticmethod
    def _sum_over_operations(table: dynamodb.ITableV2, table_name: str, metric_name: str) -> cloudwatch.MathExpression:
        """The table metric summed over every operation the handlers make.

        DynamoDB publishes these per operation, and only in minutes when one happened: each is
        filled with 0, or a minute with a throttled PutItem and no Query would have no sum at all.
        """
        operations = [route.dynamodb_action.removeprefix("dynamodb:") for route in ROUTES.values()]
        # An idempotent create writes its item and its record in one transaction.
        operations.append("TransactWriteItems")
        metrics = {
            operation.lower(): table.metric(
                metric_name,
                dimensions_map={"TableName": table_name, "Operation": operation},
                statistic="Sum",
                period=PERIOD,
            )
            for operation in operations
        }
        return _combined(f"{metric_name}, all operations", "SUM", metrics, [f"FILL({name}, 0)" for name in metrics])


class WorkerMetrics:
    """The metrics of a service's worker: its queues, its function, the changes it failed, its pipe."""

    PIPES_NAMESPACE = "AWS/EventBridge/Pipes"
    # The pipe's executions that did not deliver everything: each is retried, holding back its shard.
    PIPE_FAILURES = ("ExecutionFailed", "ExecutionPartiallyFailed", "ExecutionTimeout")

    def __init__(self, worker: ServiceWorker, *, namespace: str, service: str) -> None:
        """``namespace`` and ``service``: where the worker runtime's Powertools metrics are (ChangesFailed)."""
        self.dead_letters = worker.dead_letter_queue.metric_approximate_number_of_messages_visible(
            period=PERIOD, statistic="Maximum", label="dead letters"
        )
        self.waiting = worker.queue.metric_approximate_number_of_messages_visible(
            period=PERIOD, statistic="Maximum", label="waiting"
        )
        self.oldest_change_age = worker.queue.metric_approximate_age_of_oldest_message(
            period=PERIOD, statistic="Maximum", label="oldest change (s)"
        )
        self.invocation_errors = worker.function.metric_errors(period=PERIOD, statistic="Sum", label="failed invocations")
        self.changes = {
            outcome: cloudwatch.Metric(
                namespace=namespace,
                metric_name=f"Changes{outcome}",
                dimensions_map={"service": service},
                period=PERIOD,
                statistic="Sum",
                label=f"changes {outcome.lower()}",
            )
            for outcome in ("Processed", "Failed")
        }
        self.change_age = cloudwatch.Metric(
            namespace=namespace,
            metric_name="ChangeAge",
            dimensions_map={"service": service},
            period=PERIOD,
            statistic="Maximum",
            label="oldest change on arrival (s)",
        )
        self.pipe_events = self._pipe_metric(worker.pipe, "EventCount", "events")
        self.pipe_throttles = self._pipe_metric(worker.pipe, "ExecutionThrottled", "throttled")
        self.pipe_failures = _combined(
            "Pipe executions failed or timed out",
            "SUM",
            {name.lower(): self._pipe_metric(worker.pipe, name, name) for name in self.PIPE_FAILURES},
            [f"FILL({name.lower()}, 0)" for name in self.PIPE_FAILURES],
        )

    def errors(self) -> cloudwatch.MathExpression:
        """Changes the function failed, and its invocations that failed as a whole (a crash, a timeout, every change)."""
        return _combined(
            "Worker errors",
            "SUM",
            {"invocation_errors": self.invocation_errors, "changes_failed": self.changes["Failed"]},
            ["FILL(invocation_errors, 0)", "FILL(changes_failed, 0)"],
        )

    def _pipe_metric(self, pipe: Any, metric_name: str, label: str) -> cloudwatch.Metric:
        return cloudwatch.Metric(
            namespace=self.PIPES_NAMESPACE,
            metric_name=metric_name,
            dimensions_map={"PipeName": pipe.ref},
            period=PERIOD,
            statistic="Sum",
            label=label,
        )


def restore_errors(log_group: logs.ILogGroup) -> cloudwatch.Metric:
    """Failed SnapStart restores, counted from Lambda's JSON ``platform.restoreReport`` records in ``log_group``.

    Lambda publishes no metric for them. The metric's name is the log group's construct path, unique
    in the account: a metric filter can give a dimension only a value read from the log line.
    """
    metric_filter = log_group.add_metric_filter(
        "SnapStartRestoreErrors",
        filter_pattern=logs.FilterPattern.all(
            logs.FilterPattern.string_value("$.type", "=", "platform.restoreReport"),
            logs.FilterPattern.string_value("$.record.status", "!=", "success"),
        ),
        metric_namespace="ServerlessMeta/SnapStart",
        metric_name=f"RestoreErrors-{Names.unique_resource_name(log_group, separator='-', max_length=200)}",
        metric_value="1",
    )
    return metric_filter.metric(period=PERIOD, statistic="Sum")


def metrics_in(metric: cloudwatch.IMetric) -> int:
    """How many metrics an alarm on ``metric`` retrieves: 1 for a metric, those its expressions use for an expression."""
    if isinstance(metric, cloudwatch.MathExpression):
        return sum(metrics_in(used) for used in metric.using_metrics.values())
    return 1


def _combined(
    label: str, combine: str, metrics: Mapping[str, cloudwatch.IMetric], terms: Sequence[str]
) -> cloudwatch.MathExpression:
    """``combine`` (SUM, MAX) over ``terms``, expressions of ``metrics`` by their ids, as one time series."""
    return cloudwatch.MathExpression(
        expression=f"{combine}([{', '.join(terms)}])", using_metrics=dict(metrics), label=label, period=PERIOD
    )
