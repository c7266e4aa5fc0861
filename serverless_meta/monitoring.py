"""Alarms and a dashboard for one service, over one set of metric definitions.

Metric definitions come from the resources' own ``metric_*`` methods; every alarm gets the
same evaluation and actions here, in one place: one-minute periods, firing when 3 of the
last 5 breach (one bad minute pages nobody, a service that keeps failing does), minutes
without data counting as healthy (no traffic is no fault), and both the alarm and its
recovery notify the topic.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from aws_cdk import Duration
from aws_cdk import aws_apigateway as apigateway
from aws_cdk import aws_cloudwatch as cloudwatch
from aws_cdk import aws_cloudwatch_actions as cloudwatch_actions
from aws_cdk import aws_dynamodb as dynamodb
from aws_cdk import aws_lambda as lambda_
from aws_cdk import aws_sns as sns
from constructs import Construct

from serverless_meta.operations import ROUTES, Operation

PERIOD = Duration.minutes(1)
EVALUATION_PERIODS = 5
DATAPOINTS_TO_ALARM = 3


@dataclass(frozen=True)
class AlarmThresholds:
    """When each alarm of a service fires; override any of them, e.g. ``AlarmThresholds(latency_p99=...)``."""

    server_error_percent: float = 1.0
    """API 5XX answers, as a percentage of requests."""
    client_error_percent: float = 25.0
    """API 4XX answers, as a percentage of requests: a spike of rejected requests (a broken client, a probe)."""
    client_error_minimum_requests: int = 20
    """Requests a minute must have before its 4XX percentage counts, so that one user's typo pages nobody."""
    latency_p99: Duration = Duration.seconds(2)
    """API p99 latency."""
    function_errors: int = 1
    """Failed invocations of one function in a minute (handled faults are 500s, counted by the API alarm)."""
    function_throttles: int = 1
    """Throttled invocations of one function in a minute: its reserved concurrency is exhausted."""
    function_duration_percent_of_timeout: float = 80.0
    """A function's p99 duration, as a percentage of its timeout."""
    table_throttled_requests: int = 1
    """DynamoDB requests throttled in a minute, over the service's operations."""
    table_system_errors: int = 1
    """DynamoDB 500s in a minute, over the service's operations."""
    table_user_errors: int = 10
    """DynamoDB 400s in a minute; CloudWatch counts these for the whole account and region."""


class ServiceMonitoring(Construct):
    """The alarms (``alarms``, in creation order) and the dashboard (``dashboard``) of one service."""

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        service: str,
        api: apigateway.RestApi,
        functions: Mapping[Operation, lambda_.Function],
        timeout: Duration,
        table: dynamodb.ITableV2,
        owns_table: bool,
        topic: sns.ITopic,
        thresholds: AlarmThresholds,
    ) -> None:
        """``owns_table``: the table's alarms belong to the service that made it, once per table."""
        super().__init__(scope, construct_id)
        self._action = cloudwatch_actions.SnsAction(topic)
        self.alarms: list[cloudwatch.Alarm] = []
        metrics = _ServiceMetrics(api, table)

        api_alarms = [
            self._alarm(
                "ApiServerErrorRate",
                metrics.error_percent("5XX", metrics.server_errors, minimum_requests=1),
                thresholds.server_error_percent,
                f"{service}: {thresholds.server_error_percent}% or more of API requests answered 5XX",
            ),
            self._alarm(
                "ApiClientErrorRate",
                metrics.error_percent(
                    "4XX", metrics.client_errors, minimum_requests=thresholds.client_error_minimum_requests
                ),
                thresholds.client_error_percent,
                f"{service}: {thresholds.client_error_percent}% or more of API requests answered 4XX",
            ),
            self._alarm(
                "ApiLatencyP99",
                metrics.latency("p99"),
                thresholds.latency_p99.to_milliseconds(),
                f"{service}: API p99 latency at or above {thresholds.latency_p99.to_milliseconds()} ms",
            ),
        ]
        function_alarms = []
        slow = timeout.to_milliseconds() * thresholds.function_duration_percent_of_timeout / 100
        for operation, function in functions.items():
            name = operation.name.title()
            function_alarms += [
                self._alarm(
                    f"{name}FunctionErrors",
                    function.metric_errors(period=PERIOD, statistic="Sum"),
                    thresholds.function_errors,
                    f"{service}: the {operation.value} function failed invocations",
                ),
                self._alarm(
                    f"{name}FunctionThrottles",
                    function.metric_throttles(period=PERIOD, statistic="Sum"),
                    thresholds.function_throttles,
                    f"{service}: the {operation.value} function was throttled (reserved concurrency exhausted)",
                ),
                self._alarm(
                    f"{name}FunctionDuration",
                    function.metric_duration(period=PERIOD, statistic="p99"),
                    slow,
                    f"{service}: the {operation.value} function's p99 duration nears its timeout ({slow:.0f} ms)",
                ),
            ]
        table_alarms = (
            [
                self._alarm(
                    "TableThrottledRequests",
                    metrics.table_throttles,
                    thresholds.table_throttled_requests,
                    f"{service}: DynamoDB throttled requests to its table",
                ),
                self._alarm(
                    "TableSystemErrors",
                    metrics.table_system_errors,
                    thresholds.table_system_errors,
                    f"{service}: DynamoDB answered requests to its table with system errors",
                ),
                self._alarm(
                    "TableUserErrors",
                    metrics.table_user_errors,
                    thresholds.table_user_errors,
                    f"{service}: DynamoDB rejected requests as invalid (counted for the whole account and region)",
                ),
            ]
            if owns_table
            else []
        )
        self.dashboard = self._dashboard(service, metrics, functions, timeout, api_alarms + function_alarms + table_alarms)

    def _alarm(self, construct_id: str, metric: cloudwatch.IMetric, threshold: float, description: str) -> cloudwatch.Alarm:
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
        alarm.add_alarm_action(self._action)
        alarm.add_ok_action(self._action)
        self.alarms.append(alarm)
        return alarm

    def _dashboard(
        self,
        service: str,
        metrics: _ServiceMetrics,
        functions: Mapping[Operation, lambda_.Function],
        timeout: Duration,
        alarms: list[cloudwatch.Alarm],
    ) -> cloudwatch.Dashboard:
        def per_function(title: str, metric_of, **graph) -> cloudwatch.GraphWidget:
            return cloudwatch.GraphWidget(
                title=title,
                left=[metric_of(f).with_(label=op.value) for op, f in functions.items()],
                width=6,
                **graph,
            )

        dashboard = cloudwatch.Dashboard(self, "Dashboard", default_interval=Duration.hours(3))
        dashboard.add_widgets(
            cloudwatch.AlarmStatusWidget(title=f"{service}: alarms", alarms=alarms, width=24, height=3)
        )
        dashboard.add_widgets(
            cloudwatch.GraphWidget(
                title="API requests and errors",
                left=[metrics.requests.with_(label="requests")],
                right=[metrics.client_errors.with_(label="4XX"), metrics.server_errors.with_(label="5XX")],
                width=12,
            ),
            cloudwatch.GraphWidget(
                title="API latency (ms)",
                left=[metrics.latency(s).with_(label=s) for s in ("p50", "p90", "p99")],
                width=12,
            ),
        )
        dashboard.add_widgets(
            per_function("Invocations", lambda f: f.metric_invocations(period=PERIOD, statistic="Sum")),
            per_function("Errors", lambda f: f.metric_errors(period=PERIOD, statistic="Sum")),
            per_function("Throttles", lambda f: f.metric_throttles(period=PERIOD, statistic="Sum")),
            per_function(
                "Duration p99 (ms)",
                lambda f: f.metric_duration(period=PERIOD, statistic="p99"),
                left_annotations=[cloudwatch.HorizontalAnnotation(value=timeout.to_milliseconds(), label="timeout")],
            ),
        )
        # The throttle and system-error expressions each sum per-operation metrics with the same ids:
        # CloudWatch wants them in separate graphs.
        dashboard.add_widgets(
            cloudwatch.GraphWidget(
                title="DynamoDB consumed capacity",
                left=[
                    metrics.table.metric_consumed_read_capacity_units(period=PERIOD, label="read"),
                    metrics.table.metric_consumed_write_capacity_units(period=PERIOD, label="write"),
                ],
                width=6,
            ),
            cloudwatch.GraphWidget(
                title="DynamoDB throttled requests", left=[metrics.table_throttles.with_(label="throttled")], width=6
            ),
            cloudwatch.GraphWidget(
                title="DynamoDB system errors", left=[metrics.table_system_errors.with_(label="system")], width=6
            ),
            cloudwatch.GraphWidget(
                title="DynamoDB user errors (account-wide)",
                left=[metrics.table_user_errors.with_(label="user")],
                width=6,
            ),
        )
        return dashboard


class _ServiceMetrics:
    """The metric definitions the alarms and the dashboard share."""

    def __init__(self, api: apigateway.RestApi, table: dynamodb.ITableV2) -> None:
        self.api = api
        self.table = table
        self.requests = api.metric_count(period=PERIOD, statistic="Sum")
        self.server_errors = api.metric_server_error(period=PERIOD, statistic="Sum")
        self.client_errors = api.metric_client_error(period=PERIOD, statistic="Sum")
        self.table_throttles = self._sum_over_operations("ThrottledRequests")
        self.table_system_errors = self._sum_over_operations("SystemErrors")
        self.table_user_errors = table.metric_user_errors(period=PERIOD, statistic="Sum")

    def latency(self, statistic: str) -> cloudwatch.Metric:
        return self.api.metric_latency(period=PERIOD, statistic=statistic)

    def error_percent(self, label: str, errors: cloudwatch.IMetric, *, minimum_requests: int) -> cloudwatch.MathExpression:
        return cloudwatch.MathExpression(
            expression=f"IF(requests >= {minimum_requests}, 100 * errors / requests, 0)",
            using_metrics={"requests": self.requests, "errors": errors},
            label=f"{label} % of requests",
            period=PERIOD,
        )

    def _sum_over_operations(self, metric_name: str) -> cloudwatch.MathExpression:
        """The metric summed over every operation the handlers make.

        DynamoDB publishes these per operation, and only in minutes when one happened: each is
        filled with 0, or a minute with a throttled PutItem and no Query would have no sum at all.
        """
        operations = [route.dynamodb_action.removeprefix("dynamodb:") for route in ROUTES.values()]
        metrics = {
            operation.lower(): self.table.metric(
                metric_name,
                dimensions_map={"TableName": self.table.table_name, "Operation": operation},
                statistic="Sum",
                period=PERIOD,
            )
            for operation in operations
        }
        return cloudwatch.MathExpression(
            expression=f"SUM([{', '.join(f'FILL({name}, 0)' for name in metrics)}])",
            using_metrics=metrics,
            label=f"{metric_name}, all operations",
            period=PERIOD,
        )
