"""CloudWatch alarms for one service, wired to its alarm topic.

Metric definitions come from the resources' own ``metric_*`` methods; every alarm
gets the same evaluation defaults and actions here, in one place, so that one bad
minute does not page anyone and a service that keeps failing does.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

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



class ServiceAlarms(Construct):
    """The alarms of one ServerlessCrudApi; ``alarms`` lists them in creation order."""

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        api: apigateway.RestApi,
        functions: Mapping[Operation, lambda_.IFunction],
        table: dynamodb.ITableV2,
        topic: sns.ITopic,
        latency_threshold: Duration,
    ) -> None:
        super().__init__(scope, construct_id)
        self._action = cloudwatch_actions.SnsAction(topic)
        self.alarms: list[cloudwatch.Alarm] = []
        service = scope.node.id

        self._alarm(
            "ApiServerErrors",
            api.metric_server_error(period=PERIOD, statistic="Sum"),
            threshold=1,
            description=f"{service}: the API answered with 5XX errors",
        )
        self._alarm(
            "ApiLatencyP99",
            api.metric_latency(period=PERIOD, statistic="p99"),
            threshold=latency_threshold.to_milliseconds(),
            description=f"{service}: p99 latency is at or above {latency_threshold.to_milliseconds()} ms",
        )
        for operation, function in functions.items():
            name = operation.name.title()
            self._alarm(
                f"{name}FunctionErrors",
                function.metric_errors(period=PERIOD, statistic="Sum"),
                threshold=1,
                description=f"{service}: the {operation.value} function failed invocations",
            )
            self._alarm(
                f"{name}FunctionThrottles",
                function.metric_throttles(period=PERIOD, statistic="Sum"),
                threshold=1,
                description=f"{service}: the {operation.value} function was throttled",
            )
        table_operations = _table_operations(functions)
        self._alarm(
            "TableThrottledRequests",
            table.metric_throttled_requests_for_operations(operations=table_operations, period=PERIOD),
            threshold=1,
            description=f"{service}: DynamoDB throttled requests",
        )
        self._alarm(
            "TableSystemErrors",
            table.metric_system_errors_for_operations(operations=table_operations, period=PERIOD),
            threshold=1,
            description=f"{service}: DynamoDB answered with system errors",
        )

    def _alarm(self, construct_id: str, metric: cloudwatch.IMetric, *, threshold: float, description: str) -> None:
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


def _table_operations(functions: Mapping[Operation, lambda_.IFunction]) -> Sequence[dynamodb.Operation]:
    return [ROUTES[operation].dynamodb_operation for operation in functions]
