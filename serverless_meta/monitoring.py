"""Who hears about a service's trouble: its alarm topic, its alarms and its dashboard.

Every metric comes from one factory, ``ServiceMetrics`` (with its table's, made once per table
in ``TableMetrics``); the alarms and the dashboard only consume it. Every alarm gets the same
evaluation and actions, set here in one place: one-minute periods, firing when 3 of the last 5
breach (one bad minute pages nobody, a service that keeps failing does), minutes without data
counting as healthy (no traffic is no fault), and both the alarm and its recovery notify the topic.
"""

from __future__ import annotations

import weakref
from collections.abc import Mapping, Sequence
from typing import Any

from aws_cdk import Annotations, Duration, Names, Stack
from aws_cdk import aws_apigateway as apigateway
from aws_cdk import aws_cloudwatch as cloudwatch
from aws_cdk import aws_cloudwatch_actions as cloudwatch_actions
from aws_cdk import aws_dynamodb as dynamodb
from aws_cdk import aws_iam as iam
from aws_cdk import aws_kms as kms
from aws_cdk import aws_lambda as lambda_
from aws_cdk import aws_logs as logs
from aws_cdk import aws_sns as sns
from aws_cdk import aws_sns_subscriptions as sns_subscriptions
from constructs import Construct

from serverless_meta.api import operation_methods
from serverless_meta.compliance import acknowledge
from serverless_meta.operations import ROUTES, Operation
from serverless_meta.props import AlarmThresholds, ServiceProps
from serverless_meta.workers import ServiceWorker

PERIOD = Duration.minutes(1)
_ROUTES_LABEL = "the service's methods"
_API_METRIC_IDS = {"Count": "requests", "5XXError": "server_errors", "4XXError": "client_errors", "Latency": "latency"}
# "Alarms based on metric math expressions can reference a maximum of 10 metrics. This is a hard limit"
# (CloudWatch's "Limits" for alarms: https://docs.aws.amazon.com/AmazonCloudWatch/latest/monitoring/alarm-limits.html):
# PutMetricAlarm refuses more, so a deploy would fail. Every alarm here is checked against it as it is made.
MAX_ALARM_METRICS = 10
EVALUATION_PERIODS = 5
DATAPOINTS_TO_ALARM = 3
# The id of the note that nobody is subscribed to the alarm topic: an app that has its own way of
# being paged acknowledges it with Annotations.of(service).acknowledge_info(NO_SUBSCRIBER_NOTE).
NO_SUBSCRIBER_NOTE = "serverless-meta:alarmTopicWithoutSubscriber"


def build_alarm_topic(scope: Construct, props: ServiceProps, *, key: kms.IKey) -> sns.Topic:
    """An SSL-only topic, encrypted with ``key``, that this account's CloudWatch alarms may publish to.

    A topic policy replaces SNS's default one, so it allows CloudWatch explicitly.
    """
    topic = sns.Topic(scope, "AlarmTopic", master_key=key, enforce_ssl=True)
    topic.add_to_resource_policy(
        iam.PolicyStatement(
            actions=["sns:Publish"],
            principals=[iam.ServicePrincipal("cloudwatch.amazonaws.com")],
            resources=[topic.topic_arn],
            conditions={"StringEquals": {"aws:SourceAccount": Stack.of(scope).account}},
        )
    )
    return topic


def build_alarm_subscription(scope: Construct, props: ServiceProps, *, topic: sns.ITopic) -> sns.Subscription | None:
    """``alarm_email`` subscribed to the topic; without one, synthesis notes that nobody will be paged."""
    email = props.monitoring.alarm_email
    if email is None:
        if props.monitoring.alarm_topic is None:
            Annotations.of(scope).add_info_v2(
                NO_SUBSCRIBER_NOTE,
                "The alarm topic has no subscriber: pass alarm_email, or subscribe someone to alarm_topic"
            )
        return None
    subscription = topic.add_subscription(sns_subscriptions.EmailSubscription(email))
    acknowledge(
        subscription,
        "Serverless-SNSRedrivePolicy",
        "An email that cannot be delivered needs its address fixed, not a queue: SNS retries delivery, and "
        "the alarm's state stays in CloudWatch and on the service's dashboard meanwhile.",
    )
    return subscription


def build_monitoring(
    scope: Construct,
    props: ServiceProps,
    *,
    api: apigateway.RestApi,
    functions: Mapping[Operation, lambda_.Function],
    aliases: Mapping[Operation, lambda_.Alias],
    table: dynamodb.ITableV2,
    worker: ServiceWorker | None,
    topic: sns.ITopic,
) -> ServiceMonitoring:
    """The service's alarms, to ``topic``, and its dashboard; the table's alarms only where it made the table,
    the worker's where it has one."""
    snap_start = props.functions.snap_start
    return ServiceMonitoring(
        scope,
        "Monitoring",
        service=scope.node.id,
        metrics=ServiceMetrics(
            api,
            functions,
            table,
            routes=operation_methods(api, props) if props.api.shared_api else None,
            provisioned={op: aliases[op] for op in props.functions.provisioned_concurrency},
            restore_errors=_restore_errors(functions[snap_start[0]].log_group) if snap_start else None,
            worker=WorkerMetrics(worker, namespace=props.functions.metrics_namespace, service=props.resource.name)
            if worker
            else None,
            timeout=props.functions.timeout,
        ),
        owns_table=props.data.makes_table,
        topic=topic,
        thresholds=props.monitoring.thresholds,
    )


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
        restore_errors: cloudwatch.IMetric | None = None,
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

    def latency(self, statistic: str, *, label: str | None = None) -> cloudwatch.IMetric:
        """The API's latency at ``statistic``; over a service's own methods, its slowest method's."""
        return self._api_metric("Latency", statistic, label=label)

    def _api_metric(
        self, metric_name: str, statistic: str, *, label: str | None = None, only: Sequence[Operation] | None = None
    ) -> cloudwatch.IMetric:
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

    def _over_functions(self, label: str, metric_of, term: str, combine: str) -> cloudwatch.MathExpression:
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


def _restore_errors(log_group: logs.ILogGroup) -> cloudwatch.Metric:
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


def _metrics_in(metric: cloudwatch.IMetric) -> int:
    """How many metrics an alarm on ``metric`` retrieves: 1 for a metric, those its expressions use for an expression."""
    if isinstance(metric, cloudwatch.MathExpression):
        return sum(_metrics_in(used) for used in metric.using_metrics.values())
    return 1


def _combined(
    label: str, combine: str, metrics: Mapping[str, cloudwatch.IMetric], terms: Sequence[str]
) -> cloudwatch.MathExpression:
    """``combine`` (SUM, MAX) over ``terms``, expressions of ``metrics`` by their ids, as one time series."""
    return cloudwatch.MathExpression(
        expression=f"{combine}([{', '.join(terms)}])", using_metrics=dict(metrics), label=label, period=PERIOD
    )


class ServiceMonitoring(Construct):
    """The alarms (``alarms``, in creation order) and the dashboard (``dashboard``) of one service."""

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        service: str,
        metrics: ServiceMetrics,
        owns_table: bool,
        topic: sns.ITopic,
        thresholds: AlarmThresholds,
    ) -> None:
        """``owns_table``: the table's alarms belong to the service that made it, once per table."""
        super().__init__(scope, construct_id)
        self._action = cloudwatch_actions.SnsAction(topic)
        self.alarms: list[cloudwatch.AlarmBase] = []
        self._api_alarms(service, metrics, thresholds)
        self._function_alarms(service, metrics, thresholds)
        self._start_alarms(service, metrics, thresholds)
        if owns_table:
            self._table_alarms(service, metrics, thresholds)
        if metrics.worker is not None:
            self._worker_alarms(service, metrics.worker, thresholds)
        self.dashboard = self._dashboard(service, metrics)

    def _api_alarms(self, service: str, metrics: ServiceMetrics, thresholds: AlarmThresholds) -> None:
        self._any_alarm(
            "ApiServerErrorRate",
            metrics.error_percents("5XXError", minimum_requests=1),
            thresholds.server_error_percent,
            f"{service}: {thresholds.server_error_percent}% or more of API requests answered 5XX",
        )
        self._any_alarm(
            "ApiClientErrorRate",
            metrics.error_percents("4XXError", minimum_requests=thresholds.client_error_minimum_requests),
            thresholds.client_error_percent,
            f"{service}: {thresholds.client_error_percent}% or more of API requests answered 4XX",
        )
        self._alarm(
            "ApiLatencyP99",
            metrics.latency("p99"),
            thresholds.latency_p99.to_milliseconds(),
            f"{service}: API p99 latency at or above {thresholds.latency_p99.to_milliseconds()} ms",
        )

    def _function_alarms(self, service: str, metrics: ServiceMetrics, thresholds: AlarmThresholds) -> None:
        """One alarm per kind of function failure, over all the service's functions through metric math.

        Whatever one alarm per function would catch, these catch: a sum over the functions reaches a
        count threshold whenever one function's count does, and the slowest function's duration is the
        one compared with the threshold. The dashboard shows which function it was.
        """
        self._alarm(
            "FunctionErrors",
            metrics.errors_over_functions(),
            thresholds.function_errors,
            f"{service}: its functions failed invocations (the dashboard's Errors graph shows which)",
        )
        self._alarm(
            "FunctionThrottles",
            metrics.throttles_over_functions(),
            thresholds.function_throttles,
            f"{service}: its functions were throttled, reserved concurrency exhausted (the Throttles graph shows which)",
        )
        self._alarm(
            "FunctionDuration",
            metrics.slowest_duration_percent_of_timeout(),
            thresholds.function_duration_percent_of_timeout,
            f"{service}: a function's p99 duration is at {thresholds.function_duration_percent_of_timeout:g}% of its "
            "timeout or more (the Duration graph shows which)",
        )

    def _start_alarms(self, service: str, metrics: ServiceMetrics, thresholds: AlarmThresholds) -> None:
        """Where operations start warm (provisioned concurrency) or from a snapshot (SnapStart), what undoes it."""
        if metrics.provisioned:
            self._alarm(
                "ProvisionedConcurrencySpillover",
                metrics.spillover_over_aliases(),
                thresholds.provisioned_concurrency_spillover,
                f"{service}: requests found every provisioned environment busy and started cold: raise "
                "provisioned_concurrency, or expect cold starts",
            )
        if metrics.restore_errors is not None:
            self._alarm(
                "SnapStartRestoreErrors",
                metrics.restore_errors,
                thresholds.snap_start_restore_errors,
                f"{service}: execution environments failed to restore from their SnapStart snapshot (see the "
                "platform.restoreReport records in the functions' log group)",
            )

    def _table_alarms(self, service: str, metrics: ServiceMetrics, thresholds: AlarmThresholds) -> None:
        self._alarm(
            "TableThrottledRequests",
            metrics.table_metrics.throttles,
            thresholds.table_throttled_requests,
            f"{service}: DynamoDB throttled requests to its table",
        )
        self._alarm(
            "TableSystemErrors",
            metrics.table_metrics.system_errors,
            thresholds.table_system_errors,
            f"{service}: DynamoDB answered requests to its table with system errors",
        )
        self._alarm(
            "TableUserErrors",
            metrics.table_metrics.user_errors,
            thresholds.table_user_errors,
            f"{service}: DynamoDB rejected requests as invalid (counted for the whole account and region)",
        )

    def _worker_alarms(self, service: str, worker: WorkerMetrics, thresholds: AlarmThresholds) -> None:
        self._alarm(
            "WorkerDeadLetters",
            worker.dead_letters,
            thresholds.worker_dead_letters,
            f"{service}: changes failed every receive and wait in the worker's dead-letter queue (README: "
            "inspect them, fix the worker, move them back with aws sqs start-message-move-task)",
        )
        self._alarm(
            "WorkerOldestChangeAge",
            worker.oldest_change_age,
            thresholds.worker_oldest_change_age.to_seconds(),
            f"{service}: a change has waited in the worker's queue {thresholds.worker_oldest_change_age.to_human_string()} "
            "or more: the worker is failing it, or falling behind",
        )
        self._alarm(
            "WorkerErrors",
            worker.errors(),
            thresholds.worker_errors,
            f"{service}: the worker failed changes (they are retried, then dead-lettered); its log group says why",
        )
        self._alarm(
            "WorkerChangeAge",
            worker.change_age,
            thresholds.worker_change_age.to_seconds(),
            f"{service}: changes reached the worker {thresholds.worker_change_age.to_human_string()} or more after "
            "their write: the table's stream, the pipe or the queue is falling behind",
        )
        self._alarm(
            "WorkerPipeThrottled",
            worker.pipe_throttles,
            thresholds.pipe_throttles,
            f"{service}: the pipe from the table's stream was throttled: more than two readers of the stream, or the "
            "account's pipe quota; changes reach the worker late",
        )
        self._alarm(
            "WorkerPipeFailures",
            worker.pipe_failures,
            thresholds.pipe_failures,
            f"{service}: the pipe from the table's stream to the worker's queue failed; it retries until the "
            "stream drops the record (24 hours): its errors are in the service's log group",
        )

    def _any_alarm(
        self, construct_id: str, metrics: Sequence[cloudwatch.IMetric], threshold: float, description: str
    ) -> cloudwatch.IAlarm:
        """One alarm on ``metrics`` where there is one; where an alarm could not hold them all, an alarm on each
        (notifying nobody) and a composite alarm under ``construct_id`` that fires when any of them does."""
        if len(metrics) == 1:
            return self._alarm(construct_id, metrics[0], threshold, description)
        parts = [
            self._alarm(f"{construct_id}{number}", metric, threshold, f"{description} (part {number} of {len(metrics)})", notify=False)
            for number, metric in enumerate(metrics, start=1)
        ]
        composite = cloudwatch.CompositeAlarm(
            self, construct_id, alarm_rule=cloudwatch.AlarmRule.any_of(*parts), alarm_description=description
        )
        composite.add_alarm_action(self._action)
        composite.add_ok_action(self._action)
        self.alarms.append(composite)
        return composite

    def _alarm(
        self, construct_id: str, metric: cloudwatch.IMetric, threshold: float, description: str, *, notify: bool = True
    ) -> cloudwatch.Alarm:
        count = _metrics_in(metric)
        if count > MAX_ALARM_METRICS:
            raise ValueError(
                f"{self.node.path}/{construct_id} would watch {count} metrics; CloudWatch refuses an alarm on more than "
                f"{MAX_ALARM_METRICS}: split it"
            )
        alarm = cloudwatch.Alarm(
            self,
            construct_id,
            metric=metric,
            threshold=threshold,
            comparison_operator=cloudwatch.ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
            evaluation_periods=EVALUATION_PERIODS,
            datapoints_to_alarm=DATAPOINTS_TO_ALARM,
            treat_missing_data=cloudwatch.TreatMissingData.NOT_BREACHING,
            alarm_description=description,
        )
        if notify:
            alarm.add_alarm_action(self._action)
            alarm.add_ok_action(self._action)
            self.alarms.append(alarm)
        return alarm

    def _dashboard(self, service: str, metrics: ServiceMetrics) -> cloudwatch.Dashboard:
        def per_function(title: str, metric_of, **graph) -> cloudwatch.GraphWidget:
            return cloudwatch.GraphWidget(
                title=title,
                left=[metric_of(operation) for operation in metrics.functions],
                width=6,
                **graph,
            )

        # Each row of widgets; the dashboard is made with them all, in one call into aws-cdk-lib.
        api_graphs = [
            cloudwatch.GraphWidget(
                title="API requests and errors",
                left=[metrics.requests.with_(label="requests")],
                right=[metrics.client_errors.with_(label="4XX"), metrics.server_errors.with_(label="5XX")],
                width=12,
            ),
            cloudwatch.GraphWidget(
                title="API latency (ms)",
                left=[metrics.latency(s, label=s) for s in ("p50", "p90", "p99")],
                width=12,
            ),
        ]
        function_graphs = [
            per_function("Invocations", metrics.function_invocations),
            per_function("Errors", metrics.function_errors),
            per_function("Throttles", metrics.function_throttles),
            per_function(
                "Duration p99 (ms)",
                metrics.function_duration_p99,
                left_annotations=[cloudwatch.HorizontalAnnotation(value=metrics.timeout_ms, label="timeout")],
            ),
        ]
        rows: list[list[cloudwatch.IWidget]] = [
            [cloudwatch.AlarmStatusWidget(title=f"{service}: alarms", alarms=self.alarms, width=24, height=3)],
            api_graphs,
            function_graphs,
        ]
        starts = [
            cloudwatch.GraphWidget(
                title=f"Provisioned concurrency: {caption}",
                left=[metric_of(op).with_(label=op.value) for op in metrics.provisioned],
                width=8,
            )
            for caption, metric_of in (
                ("spillover", metrics.provisioned_spillover),
                ("utilization", metrics.provisioned_utilization),
            )
            if metrics.provisioned
        ]
        if metrics.restore_errors is not None:
            starts.append(cloudwatch.GraphWidget(title="SnapStart: failed restores", left=[metrics.restore_errors.with_(label="failed")], width=8))
        if starts:
            rows.append(starts)
        if metrics.worker is not None:
            rows.append(self._worker_widgets(metrics.worker))
        # The throttle and system-error expressions each sum per-operation metrics with the same ids:
        # CloudWatch wants them in separate graphs.
        rows.append(
            [
                cloudwatch.GraphWidget(
                    title="DynamoDB consumed capacity",
                    left=[metrics.table_metrics.consumed_reads, metrics.table_metrics.consumed_writes],
                    width=6,
                ),
                cloudwatch.GraphWidget(
                    title="DynamoDB throttled requests", left=[metrics.table_metrics.throttles_graphed], width=6
                ),
                cloudwatch.GraphWidget(
                    title="DynamoDB system errors", left=[metrics.table_metrics.system_errors_graphed], width=6
                ),
                cloudwatch.GraphWidget(
                    title="DynamoDB user errors (account-wide)",
                    left=[metrics.table_metrics.user_errors_graphed],
                    width=6,
                ),
            ]
        )
        return cloudwatch.Dashboard(self, "Dashboard", default_interval=Duration.hours(3), widgets=rows)

    @staticmethod
    def _worker_widgets(worker: WorkerMetrics) -> list[cloudwatch.IWidget]:
        return [
            cloudwatch.GraphWidget(
                title="Worker: changes",
                left=[worker.changes["Processed"], worker.changes["Failed"], worker.invocation_errors],
                width=6,
            ),
            cloudwatch.GraphWidget(
                title="Worker: queue", left=[worker.waiting], right=[worker.oldest_change_age], width=6
            ),
            cloudwatch.GraphWidget(title="Worker: dead letters", left=[worker.dead_letters], width=6),
            cloudwatch.GraphWidget(
                title="Worker: pipe",
                left=[worker.pipe_events],
                right=[worker.pipe_failures.with_(label="failed"), worker.pipe_throttles, worker.change_age],
                width=6,
            ),
        ]
