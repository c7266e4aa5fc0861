"""Who hears about a service's trouble: its alarm topic, its alarms and its dashboard.

Every metric comes from one factory, ``ServiceMetrics``; the alarms and the dashboard only
consume it. Every alarm gets the same evaluation and actions, set here in one place:
one-minute periods, firing when 3 of the last 5 breach (one bad minute pages nobody, a
service that keeps failing does), minutes without data counting as healthy (no traffic is no
fault), and both the alarm and its recovery notify the topic.
"""

from __future__ import annotations

from collections.abc import Mapping

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

from serverless_meta.compliance import acknowledge
from serverless_meta.operations import ROUTES, Operation
from serverless_meta.props import AlarmThresholds, ServiceProps

PERIOD = Duration.minutes(1)
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
    table: dynamodb.ITableV2,
    topic: sns.ITopic,
) -> ServiceMonitoring:
    """The service's alarms, to ``topic``, and its dashboard; the table's alarms only where it made the table."""
    return ServiceMonitoring(
        scope,
        "Monitoring",
        service=scope.node.id,
        metrics=ServiceMetrics(api, functions, table),
        timeout=props.functions.timeout,
        owns_table=props.data.makes_table,
        topic=topic,
        thresholds=props.monitoring.thresholds,
    )


class ServiceMetrics:
    """Every metric of one service, defined once: the alarms and the dashboard both use these.

    API and function metrics come from the resources' own ``metric_*`` methods, over one-minute
    periods with the statistic each use needs.
    """

    def __init__(
        self, api: apigateway.RestApi, functions: Mapping[Operation, lambda_.Function], table: dynamodb.ITableV2
    ) -> None:
        self.api = api
        self.functions = functions
        self.table = table
        self.requests = api.metric_count(period=PERIOD, statistic="Sum")
        self.server_errors = api.metric_server_error(period=PERIOD, statistic="Sum")
        self.client_errors = api.metric_client_error(period=PERIOD, statistic="Sum")
        self.table_throttles = self._sum_over_operations("ThrottledRequests")
        self.table_system_errors = self._sum_over_operations("SystemErrors")
        self.table_user_errors = table.metric_user_errors(period=PERIOD, statistic="Sum")
        self.table_consumed_reads = table.metric_consumed_read_capacity_units(period=PERIOD, label="read")
        self.table_consumed_writes = table.metric_consumed_write_capacity_units(period=PERIOD, label="write")

    def latency(self, statistic: str) -> cloudwatch.Metric:
        return self.api.metric_latency(period=PERIOD, statistic=statistic)

    def error_percent(self, label: str, errors: cloudwatch.IMetric, *, minimum_requests: int) -> cloudwatch.MathExpression:
        """``errors`` as a percentage of requests, 0 in minutes with fewer than ``minimum_requests``."""
        return cloudwatch.MathExpression(
            expression=f"IF(requests >= {minimum_requests}, 100 * errors / requests, 0)",
            using_metrics={"requests": self.requests, "errors": errors},
            label=f"{label} % of requests",
            period=PERIOD,
        )

    def function_invocations(self, operation: Operation) -> cloudwatch.Metric:
        return self.functions[operation].metric_invocations(period=PERIOD, statistic="Sum")

    def function_errors(self, operation: Operation) -> cloudwatch.Metric:
        return self.functions[operation].metric_errors(period=PERIOD, statistic="Sum")

    def function_throttles(self, operation: Operation) -> cloudwatch.Metric:
        return self.functions[operation].metric_throttles(period=PERIOD, statistic="Sum")

    def function_duration_p99(self, operation: Operation) -> cloudwatch.Metric:
        return self.functions[operation].metric_duration(period=PERIOD, statistic="p99")

    def _sum_over_operations(self, metric_name: str) -> cloudwatch.MathExpression:
        """The table metric summed over every operation the handlers make.

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


class ServiceMonitoring(Construct):
    """The alarms (``alarms``, in creation order) and the dashboard (``dashboard``) of one service."""

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        service: str,
        metrics: ServiceMetrics,
        timeout: Duration,
        owns_table: bool,
        topic: sns.ITopic,
        thresholds: AlarmThresholds,
    ) -> None:
        """``owns_table``: the table's alarms belong to the service that made it, once per table."""
        super().__init__(scope, construct_id)
        self._action = cloudwatch_actions.SnsAction(topic)
        self.alarms: list[cloudwatch.Alarm] = []
        self._api_alarms(service, metrics, thresholds)
        self._function_alarms(service, metrics, thresholds, timeout)
        if owns_table:
            self._table_alarms(service, metrics, thresholds)
        self.dashboard = self._dashboard(service, metrics, timeout)

    def _api_alarms(self, service: str, metrics: ServiceMetrics, thresholds: AlarmThresholds) -> None:
        self._alarm(
            "ApiServerErrorRate",
            metrics.error_percent("5XX", metrics.server_errors, minimum_requests=1),
            thresholds.server_error_percent,
            f"{service}: {thresholds.server_error_percent}% or more of API requests answered 5XX",
        )
        self._alarm(
            "ApiClientErrorRate",
            metrics.error_percent("4XX", metrics.client_errors, minimum_requests=thresholds.client_error_minimum_requests),
            thresholds.client_error_percent,
            f"{service}: {thresholds.client_error_percent}% or more of API requests answered 4XX",
        )
        self._alarm(
            "ApiLatencyP99",
            metrics.latency("p99"),
            thresholds.latency_p99.to_milliseconds(),
            f"{service}: API p99 latency at or above {thresholds.latency_p99.to_milliseconds()} ms",
        )

    def _function_alarms(
        self, service: str, metrics: ServiceMetrics, thresholds: AlarmThresholds, timeout: Duration
    ) -> None:
        slow = timeout.to_milliseconds() * thresholds.function_duration_percent_of_timeout / 100
        for operation in metrics.functions:
            name = operation.name.title()
            self._alarm(
                f"{name}FunctionErrors",
                metrics.function_errors(operation),
                thresholds.function_errors,
                f"{service}: the {operation.value} function failed invocations",
            )
            self._alarm(
                f"{name}FunctionThrottles",
                metrics.function_throttles(operation),
                thresholds.function_throttles,
                f"{service}: the {operation.value} function was throttled (reserved concurrency exhausted)",
            )
            self._alarm(
                f"{name}FunctionDuration",
                metrics.function_duration_p99(operation),
                slow,
                f"{service}: the {operation.value} function's p99 duration nears its timeout ({slow:.0f} ms)",
            )

    def _table_alarms(self, service: str, metrics: ServiceMetrics, thresholds: AlarmThresholds) -> None:
        self._alarm(
            "TableThrottledRequests",
            metrics.table_throttles,
            thresholds.table_throttled_requests,
            f"{service}: DynamoDB throttled requests to its table",
        )
        self._alarm(
            "TableSystemErrors",
            metrics.table_system_errors,
            thresholds.table_system_errors,
            f"{service}: DynamoDB answered requests to its table with system errors",
        )
        self._alarm(
            "TableUserErrors",
            metrics.table_user_errors,
            thresholds.table_user_errors,
            f"{service}: DynamoDB rejected requests as invalid (counted for the whole account and region)",
        )

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

    def _dashboard(self, service: str, metrics: ServiceMetrics, timeout: Duration) -> cloudwatch.Dashboard:
        def per_function(title: str, metric_of, **graph) -> cloudwatch.GraphWidget:
            return cloudwatch.GraphWidget(
                title=title,
                left=[metric_of(operation).with_(label=operation.value) for operation in metrics.functions],
                width=6,
                **graph,
            )

        dashboard = cloudwatch.Dashboard(self, "Dashboard", default_interval=Duration.hours(3))
        dashboard.add_widgets(
            cloudwatch.AlarmStatusWidget(title=f"{service}: alarms", alarms=self.alarms, width=24, height=3)
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
            per_function("Invocations", metrics.function_invocations),
            per_function("Errors", metrics.function_errors),
            per_function("Throttles", metrics.function_throttles),
            per_function(
                "Duration p99 (ms)",
                metrics.function_duration_p99,
                left_annotations=[cloudwatch.HorizontalAnnotation(value=timeout.to_milliseconds(), label="timeout")],
            ),
        )
        # The throttle and system-error expressions each sum per-operation metrics with the same ids:
        # CloudWatch wants them in separate graphs.
        dashboard.add_widgets(
            cloudwatch.GraphWidget(
                title="DynamoDB consumed capacity",
                left=[metrics.table_consumed_reads, metrics.table_consumed_writes],
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
