"""Who hears about a service's trouble: its alarm topic, its alarms and its dashboard.

Every metric comes from one factory, ``ServiceMetrics`` (with its table's, made once per table
in ``TableMetrics``); the alarms and the dashboard only consume it. Every alarm gets the same
evaluation and actions, set here in one place: one-minute periods, firing when 3 of the last 5
breach (one bad minute pages nobody, a service that keeps failing does), minutes without data
counting as healthy (no traffic is no fault), and both the alarm and its recovery notify the topic.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, cast

from aws_cdk import Annotations, Duration, Stack
from aws_cdk import aws_apigateway as apigateway
from aws_cdk import aws_cloudwatch as cloudwatch
from aws_cdk import aws_cloudwatch_actions as cloudwatch_actions
from aws_cdk import aws_dynamodb as dynamodb
from aws_cdk import aws_iam as iam
from aws_cdk import aws_kms as kms
from aws_cdk import aws_lambda as lambda_
from aws_cdk import aws_sns as sns
from aws_cdk import aws_sns_subscriptions as sns_subscriptions
from constructs import Construct

from serverless_meta.api import operation_methods
from serverless_meta.compliance import acknowledge
from serverless_meta.metrics import MAX_ALARM_METRICS, ServiceMetrics, WorkerMetrics, metrics_in, restore_errors
from serverless_meta.operations import Operation
from serverless_meta.props import AlarmThresholds, ServiceProps
from serverless_meta.workers import ServiceWorker

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
            restore_errors=restore_errors(functions[snap_start[0]].log_group) if snap_start else None,
            worker=WorkerMetrics(worker, namespace=props.functions.metrics_namespace, service=props.resource.name)
            if worker
            else None,
            timeout=props.functions.timeout,
        ),
        owns_table=props.data.makes_table,
        topic=topic,
        thresholds=props.monitoring.thresholds,
    )


@dataclass(frozen=True)
class AlarmSpec:
    """One alarm of a service: what it watches, which AlarmThresholds field fires it (None there: no
    alarm), and what it says (``{service}`` and ``{threshold}`` filled in)."""

    construct_id: str
    threshold: str
    metric: Callable[[ServiceMetrics, AlarmThresholds], Any]
    description: str
    applies: Callable[[ServiceMetrics, bool], bool] = lambda metrics, owns_table: True
    unit: str | None = None
    """For a Duration threshold: ``ms`` or ``s``."""
    split: bool = False
    """The metric is a list: one alarm, or (beyond CloudWatch's metrics per alarm) parts and a composite."""


def _owns_table(metrics: ServiceMetrics, owns_table: bool) -> bool:
    return owns_table


def _has_worker(metrics: ServiceMetrics, owns_table: bool) -> bool:
    return metrics.worker is not None


def _worker(metrics: ServiceMetrics) -> WorkerMetrics:
    """The worker's metrics, for an alarm that applies only to a service with a worker (``_has_worker``)."""
    return cast(WorkerMetrics, metrics.worker)


# Every alarm of a service, in the order they are made (and shown). Over the functions, one alarm per
# kind of failure through metric math: a sum reaches a count threshold whenever one function's count
# does, and the slowest function's duration is the one compared; the dashboard shows which it was.
ALARMS = (
    AlarmSpec(
        "ApiServerErrorRate", "server_error_percent",
        lambda m, t: m.error_percents("5XXError", minimum_requests=1),
        "{service}: {threshold}% or more of API requests answered 5XX", split=True,
    ),
    AlarmSpec(
        "ApiClientErrorRate", "client_error_percent",
        lambda m, t: m.error_percents("4XXError", minimum_requests=t.client_error_minimum_requests),
        "{service}: {threshold}% or more of API requests answered 4XX", split=True,
    ),
    AlarmSpec(
        "ApiLatencyP99", "latency_p99", lambda m, t: m.latency("p99"),
        "{service}: API p99 latency at or above {threshold}", unit="ms",
    ),
    AlarmSpec(
        "FunctionErrors", "function_errors", lambda m, t: m.errors_over_functions(),
        "{service}: its functions failed invocations (the dashboard's Errors graph shows which)",
    ),
    AlarmSpec(
        "FunctionThrottles", "function_throttles", lambda m, t: m.throttles_over_functions(),
        "{service}: its functions were throttled, reserved concurrency exhausted (the Throttles graph shows which)",
    ),
    AlarmSpec(
        "FunctionDuration", "function_duration_percent_of_timeout", lambda m, t: m.slowest_duration_percent_of_timeout(),
        "{service}: a function's p99 duration is at {threshold}% of its timeout or more (the Duration graph shows which)",
    ),
    # Where operations start warm (provisioned concurrency) or from a snapshot (SnapStart), what undoes it.
    AlarmSpec(
        "ProvisionedConcurrencySpillover", "provisioned_concurrency_spillover", lambda m, t: m.spillover_over_aliases(),
        "{service}: requests found every provisioned environment busy and started cold: raise "
        "provisioned_concurrency, or expect cold starts",
        applies=lambda m, owns_table: bool(m.provisioned),
    ),
    AlarmSpec(
        "SnapStartRestoreErrors", "snap_start_restore_errors", lambda m, t: m.restore_errors,
        "{service}: execution environments failed to restore from their SnapStart snapshot (see the "
        "platform.restoreReport records in the functions' log group)",
        applies=lambda m, owns_table: m.restore_errors is not None,
    ),
    # The table's, once per table: the service that made it has them.
    AlarmSpec(
        "TableThrottledRequests", "table_throttled_requests", lambda m, t: m.table_metrics.throttles,
        "{service}: DynamoDB throttled requests to its table", applies=_owns_table,
    ),
    AlarmSpec(
        "TableSystemErrors", "table_system_errors", lambda m, t: m.table_metrics.system_errors,
        "{service}: DynamoDB answered requests to its table with system errors", applies=_owns_table,
    ),
    AlarmSpec(
        "TableUserErrors", "table_user_errors", lambda m, t: m.table_metrics.user_errors,
        "{service}: DynamoDB rejected requests as invalid (counted for the whole account and region)", applies=_owns_table,
    ),
    AlarmSpec(
        "WorkerDeadLetters", "worker_dead_letters", lambda m, t: _worker(m).dead_letters,
        "{service}: changes failed every receive and wait in the worker's dead-letter queue (README: "
        "inspect them, fix the worker, move them back with aws sqs start-message-move-task)",
        applies=_has_worker,
    ),
    AlarmSpec(
        "WorkerOldestChangeAge", "worker_oldest_change_age", lambda m, t: _worker(m).oldest_change_age,
        "{service}: a change has waited in the worker's queue {threshold} or more: the worker is failing it, or "
        "falling behind",
        applies=_has_worker, unit="s",
    ),
    AlarmSpec(
        "WorkerErrors", "worker_errors", lambda m, t: _worker(m).errors(),
        "{service}: the worker failed changes (they are retried, then dead-lettered); its log group says why",
        applies=_has_worker,
    ),
    AlarmSpec(
        "WorkerChangeAge", "worker_change_age", lambda m, t: _worker(m).change_age,
        "{service}: changes reached the worker {threshold} or more after their write: the table's stream, the "
        "pipe or the queue is falling behind",
        applies=_has_worker, unit="s",
    ),
    AlarmSpec(
        "WorkerPipeThrottled", "pipe_throttles", lambda m, t: _worker(m).pipe_throttles,
        "{service}: the pipe from the table's stream was throttled: more than two readers of the stream, or the "
        "account's pipe quota; changes reach the worker late",
        applies=_has_worker,
    ),
    AlarmSpec(
        "WorkerPipeFailures", "pipe_failures", lambda m, t: _worker(m).pipe_failures,
        "{service}: the pipe from the table's stream to the worker's queue failed; it retries until the "
        "stream drops the record (24 hours): its errors are in the service's log group",
        applies=_has_worker,
    ),
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
        self.metrics = metrics
        self.alarms: list[cloudwatch.AlarmBase] = []
        for spec in ALARMS:
            threshold = getattr(thresholds, spec.threshold)
            # A threshold left out of AlarmThresholds (None) makes no alarm.
            if threshold is not None and spec.applies(metrics, owns_table):
                make = self._any_alarm if spec.split else self._alarm
                make(
                    spec.construct_id,
                    spec.metric(metrics, thresholds),
                    threshold,
                    spec.description.replace("{service}", service),
                    unit=spec.unit,
                )
        # The table's graphs show its alarms' thresholds where this service has them (it made the table).
        self.dashboard = self._dashboard(service, metrics, thresholds if owns_table else dataclasses.replace(
            thresholds, table_throttled_requests=None, table_system_errors=None, table_user_errors=None
        ))

    def _any_alarm(
        self,
        construct_id: str,
        metrics: Sequence[cloudwatch.IMetric],
        threshold: float,
        description: str,
        *,
        unit: str | None = None,
    ) -> cloudwatch.IAlarm:
        """One alarm on ``metrics`` where there is one; where an alarm could not hold them all, an alarm on each
        (notifying nobody) and a composite alarm under ``construct_id`` that fires when any of them does."""
        description = description.format(threshold=f"{threshold:g}")
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
        self,
        construct_id: str,
        metric: cloudwatch.IMetric,
        threshold: float | Duration,
        description: str,
        *,
        notify: bool = True,
        unit: str | None = None,
    ) -> cloudwatch.Alarm:
        """An alarm on ``metric`` at ``threshold`` (a Duration, in ``unit`` "ms" or "s"). ``{threshold}`` in
        ``description`` is the threshold as set."""
        if isinstance(threshold, Duration):
            description = description.format(threshold=threshold.to_human_string())
            threshold = threshold.to_milliseconds() if unit == "ms" else threshold.to_seconds()
        else:
            description = description.format(threshold=f"{threshold:g}")
        count = metrics_in(metric)
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

    def _dashboard(self, service: str, metrics: ServiceMetrics, thresholds: AlarmThresholds) -> cloudwatch.Dashboard:
        def per_function(
            title: str, metric_of: Callable[[Operation], cloudwatch.IMetric], *marks: cloudwatch.HorizontalAnnotation
        ) -> cloudwatch.GraphWidget:
            return cloudwatch.GraphWidget(
                title=title,
                left=[metric_of(operation) for operation in metrics.functions],
                width=6,
                left_annotations=list(marks) or None,
            )

        def alarm_at(value: float | None, what: str = "alarm") -> list[cloudwatch.HorizontalAnnotation]:
            """Where an alarm of the service fires, drawn on the graph of what it watches (none if left out)."""
            return [] if value is None else [cloudwatch.HorizontalAnnotation(value=value, label=what)]

        latency = thresholds.latency_p99.to_milliseconds() if thresholds.latency_p99 is not None else None
        duration = thresholds.function_duration_percent_of_timeout

        # Each row of widgets; the dashboard is made with them all, in one call into aws-cdk-lib.
        api_graphs: list[cloudwatch.IWidget] = [
            cloudwatch.GraphWidget(
                title="API requests and errors",
                left=[metrics.requests.with_(label="requests")],
                right=[metrics.client_errors.with_(label="4XX"), metrics.server_errors.with_(label="5XX")],
                width=12,
            ),
            cloudwatch.GraphWidget(
                title="API latency (ms)",
                left=[metrics.latency(s, label=s) for s in ("p50", "p90", "p99")],
                left_annotations=alarm_at(latency, "alarm (p99)") or None,
                width=12,
            ),
        ]
        function_graphs: list[cloudwatch.IWidget] = [
            per_function("Invocations", metrics.function_invocations),
            # The alarms watch the functions' sum (errors, throttles) or the slowest (duration).
            per_function("Errors", metrics.function_errors, *alarm_at(thresholds.function_errors, "alarm (all functions)")),
            per_function(
                "Throttles", metrics.function_throttles, *alarm_at(thresholds.function_throttles, "alarm (all functions)")
            ),
            per_function(
                "Duration p99 (ms)",
                metrics.function_duration_p99,
                cloudwatch.HorizontalAnnotation(value=metrics.timeout_ms, label="timeout"),
                *alarm_at(None if duration is None else metrics.timeout_ms * duration / 100),
            ),
        ]
        rows: list[list[cloudwatch.IWidget]] = [
            [cloudwatch.AlarmStatusWidget(title=f"{service}: alarms", alarms=self.alarms, width=24, height=3)],
            api_graphs,
            function_graphs,
        ]
        starts: list[cloudwatch.IWidget] = [
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
            failed = metrics.restore_errors.with_(label="failed")
            starts.append(cloudwatch.GraphWidget(title="SnapStart: failed restores", left=[failed], width=8))
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
                    title="DynamoDB throttled requests",
                    left=[metrics.table_metrics.throttles_graphed],
                    left_annotations=alarm_at(thresholds.table_throttled_requests) or None,
                    width=6,
                ),
                cloudwatch.GraphWidget(
                    title="DynamoDB system errors",
                    left=[metrics.table_metrics.system_errors_graphed],
                    left_annotations=alarm_at(thresholds.table_system_errors) or None,
                    width=6,
                ),
                cloudwatch.GraphWidget(
                    title="DynamoDB user errors (account-wide)",
                    left=[metrics.table_metrics.user_errors_graphed],
                    left_annotations=alarm_at(thresholds.table_user_errors) or None,
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
