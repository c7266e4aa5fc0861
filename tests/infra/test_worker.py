"""A service with a worker: the table's stream, the pipe and its filters, the FIFO queues, the function and its
event source, who may do what, and the alarms that say when changes stop reaching the worker."""

from __future__ import annotations

import json
import re
from pathlib import Path

import aws_cdk as cdk
import pytest
from aws_cdk import Duration
from aws_cdk.assertions import Match, Template

from serverless_meta import AlarmThresholds, InvalidPropError, ServerlessCrudApi, Worker
from serverless_meta.local import pipe_filters
from serverless_meta.powertools import RUNTIME
from tests.support import ROOT, role_statements, synthesize

WORKER_CODE = ROOT / "workers" / "feedback"


def _build(stack: cdk.Stack) -> None:
    ServerlessCrudApi(
        stack,
        "Notes",
        resource_name="notes",
        worker=Worker.from_directory(WORKER_CODE, "feedback_worker.categorize", timeout=Duration.seconds(20), max_receive_count=3),
        alarm_thresholds=AlarmThresholds(worker_oldest_change_age=Duration.minutes(15)),
    )


@pytest.fixture(scope="module")
def template() -> Template:
    return synthesize(_build)


def _id(template: Template, resource_type: str, prefix: str) -> str:
    (logical_id,) = [n for n in template.find_resources(resource_type) if re.fullmatch(rf"{prefix}[0-9A-F]{{8}}", n)]
    return logical_id


def _alarm(template: Template, name: str) -> dict:
    return template.find_resources("AWS::CloudWatch::Alarm")[_id(template, "AWS::CloudWatch::Alarm", f"NotesMonitoring{name}")][
        "Properties"
    ]


def _watched(alarm: dict) -> dict:
    """The one metric an alarm watches, and its statistic."""
    (query,) = alarm["Metrics"]
    return {**query["MetricStat"]["Metric"], "Statistic": query["MetricStat"]["Stat"]}


# --- The table's stream and the pipe ------------------------------------------------------------


def test_the_table_streams_each_item_before_and_after_every_change(template):
    template.has_resource_properties(
        "AWS::DynamoDB::GlobalTable", {"StreamSpecification": {"StreamViewType": "NEW_AND_OLD_IMAGES"}}
    )


def test_the_pipe_reads_the_tables_stream_from_its_oldest_record_into_the_queue(template):
    table = _id(template, "AWS::DynamoDB::GlobalTable", "NotesTable")
    queue = _id(template, "AWS::SQS::Queue", "NotesWorkerQueue")
    template.has_resource_properties(
        "AWS::Pipes::Pipe",
        {
            "Source": {"Fn::GetAtt": [table, "StreamArn"]},
            "SourceParameters": Match.object_like(
                {"DynamoDBStreamParameters": {"StartingPosition": "TRIM_HORIZON"}}
            ),
            "Target": {"Fn::GetAtt": [queue, "Arn"]},
            "DesiredState": Match.absent(),
        },
    )


def test_the_pipe_groups_changes_by_item_and_deduplicates_them_by_stream_record(template):
    template.has_resource_properties(
        "AWS::Pipes::Pipe",
        {
            "TargetParameters": {
                "SqsQueueParameters": {"MessageGroupId": "$.dynamodb.Keys.sk.S", "MessageDeduplicationId": "$.eventID"}
            }
        },
    )


def _patterns(template: Template) -> list[dict]:
    (pipe,) = template.find_resources("AWS::Pipes::Pipe").values()
    return [json.loads(f["Pattern"]) for f in pipe["Properties"]["SourceParameters"]["FilterCriteria"]["Filters"]]


def test_the_pipe_keeps_the_resources_changes_written_in_its_region_not_by_the_worker_and_no_idempotency_records(template):
    keys = {"sk": {"S": [{"prefix": "notes#"}]}}
    no_expiry = {"expiresAt": {"N": [{"exists": False}]}}
    here = {"$or": [{"writtenIn": {"S": ["eu-west-1"]}}, {"writtenIn": {"S": [{"exists": False}]}}]}
    assert _patterns(template) == [
        {
            "eventName": ["INSERT", "MODIFY"],
            "dynamodb": {
                "Keys": keys,
                "NewImage": {**no_expiry, "writtenBy": {"S": [{"anything-but": ["worker", "backfill"]}]}, **here},
            },
        },
        {"eventName": ["INSERT", "MODIFY"], "dynamodb": {"Keys": keys, "NewImage": {**no_expiry, "writtenBy": {"S": [{"exists": False}]}}}},
        {"eventName": ["REMOVE"], "dynamodb": {"Keys": keys, "OldImage": {**no_expiry, **here}}},
    ]


def test_the_pipes_filters_use_only_operators_eventbridge_pipes_supports(template):
    """A first deploy failed here: anything-but with a prefix works on an event bus, and CreatePipe refuses it."""
    (pipe,) = template.find_resources("AWS::Pipes::Pipe").values()
    filters = [f["Pattern"] for f in pipe["Properties"]["SourceParameters"]["FilterCriteria"]["Filters"]]
    assert pipe_filters.unsupported(filters) == []


def test_the_pipe_reads_the_stream_in_batches_an_sqs_target_takes(template):
    template.has_resource_properties(
        "AWS::Pipes::Pipe",
        {"SourceParameters": Match.object_like({"DynamoDBStreamParameters": Match.object_like({"BatchSize": 10})})},
    )


def test_the_pipe_logs_its_errors_without_the_items_to_the_services_log_group(template):
    logs = _id(template, "AWS::Logs::LogGroup", "NotesFunctionLogs")
    template.has_resource_properties(
        "AWS::Pipes::Pipe",
        {
            "LogConfiguration": {
                "CloudwatchLogsLogDestination": {"LogGroupArn": {"Fn::GetAtt": [logs, "Arn"]}},
                "Level": "ERROR",
                "IncludeExecutionData": Match.absent(),
            }
        },
    )


def test_the_pipe_may_read_the_stream_send_to_the_queue_and_log_nothing_more(template):
    table = _id(template, "AWS::DynamoDB::GlobalTable", "NotesTable")
    queue = _id(template, "AWS::SQS::Queue", "NotesWorkerQueue")
    key = _id(template, "AWS::KMS::Key", "NotesKey")
    logs = _id(template, "AWS::Logs::LogGroup", "NotesFunctionLogs")
    allowed = {
        (action, json.dumps(statement["Resource"]))
        for statement in role_statements(template, "NotesWorkerPipeRole")
        for action in ([statement["Action"]] if isinstance(statement["Action"], str) else statement["Action"])
    }

    stream = json.dumps({"Fn::GetAtt": [table, "StreamArn"]})
    assert allowed == {
        ("dynamodb:ListStreams", json.dumps("*")),  # an action without a resource type: on a stream ARN it allows nothing
        ("dynamodb:DescribeStream", stream),
        ("dynamodb:GetRecords", stream),
        ("dynamodb:GetShardIterator", stream),
        ("sqs:SendMessage", json.dumps({"Fn::GetAtt": [queue, "Arn"]})),
        ("sqs:GetQueueAttributes", json.dumps({"Fn::GetAtt": [queue, "Arn"]})),
        ("sqs:GetQueueUrl", json.dumps({"Fn::GetAtt": [queue, "Arn"]})),
        *(
            (action, json.dumps({"Fn::GetAtt": [key, "Arn"]}))
            for action in ("kms:Decrypt", "kms:Encrypt", "kms:ReEncrypt*", "kms:GenerateDataKey*")
        ),
        ("logs:CreateLogStream", json.dumps({"Fn::GetAtt": [logs, "Arn"]})),
        ("logs:PutLogEvents", json.dumps({"Fn::GetAtt": [logs, "Arn"]})),
    }
    template.has_resource_properties(
        "AWS::IAM::Role",
        {
            "AssumeRolePolicyDocument": Match.object_like(
                {
                    "Statement": [
                        Match.object_like(
                            {
                                "Principal": {"Service": "pipes.amazonaws.com"},
                                "Condition": {"StringEquals": {"aws:SourceAccount": "123456789012"}},
                            }
                        )
                    ]
                }
            )
        },
    )


# --- The queues -----------------------------------------------------------------------------------


def test_the_queue_is_fifo_encrypted_with_the_services_key_and_keeps_changes_a_week(template):
    key = _id(template, "AWS::KMS::Key", "NotesKey")
    template.has_resource_properties(
        "AWS::SQS::Queue",
        {
            "FifoQueue": True,
            "KmsMasterKeyId": {"Fn::GetAtt": [key, "Arn"]},
            "MessageRetentionPeriod": 7 * 24 * 3600,
            "RedrivePolicy": Match.any_value(),
        },
    )


def test_a_change_received_max_receive_count_times_goes_to_the_encrypted_fifo_dead_letter_queue(template):
    key = _id(template, "AWS::KMS::Key", "NotesKey")
    dead_letters = _id(template, "AWS::SQS::Queue", "NotesWorkerDeadLetterQueue")
    template.has_resource_properties(
        "AWS::SQS::Queue",
        {"RedrivePolicy": {"deadLetterTargetArn": {"Fn::GetAtt": [dead_letters, "Arn"]}, "maxReceiveCount": 3}},
    )
    assert template.find_resources("AWS::SQS::Queue")[dead_letters]["Properties"] == {
        "FifoQueue": True,
        "KmsMasterKeyId": {"Fn::GetAtt": [key, "Arn"]},
        "MessageRetentionPeriod": 14 * 24 * 3600,
    }


def test_a_delivered_change_stays_hidden_six_times_the_workers_timeout(template):
    template.has_resource_properties("AWS::SQS::Queue", {"RedrivePolicy": Match.any_value(), "VisibilityTimeout": 120})


@pytest.mark.parametrize("queue", ["NotesWorkerQueue", "NotesWorkerDeadLetterQueue"])
def test_both_queues_refuse_requests_without_tls(template, queue):
    logical_id = _id(template, "AWS::SQS::Queue", queue)
    template.has_resource_properties(
        "AWS::SQS::QueuePolicy",
        {
            "Queues": [{"Ref": logical_id}],
            "PolicyDocument": Match.object_like(
                {
                    "Statement": [
                        Match.object_like(
                            {"Effect": "Deny", "Condition": {"Bool": {"aws:SecureTransport": "false"}}}
                        )
                    ]
                }
            ),
        },
    )


# --- The worker function ---------------------------------------------------------------------------


def test_the_worker_runs_the_users_function_on_the_worker_runtime_layer(template):
    function = template.find_resources("AWS::Lambda::Function")[_id(template, "AWS::Lambda::Function", "NotesWorkerFunction")]
    properties = function["Properties"]
    layer = _id(template, "AWS::Lambda::LayerVersion", "ServerlessMetaWorkerRuntime")

    assert properties["Handler"] == "crud_worker.runtime.handler"
    assert properties["Timeout"] == 20 and properties["Runtime"] == RUNTIME.name
    assert {"Ref": layer} in properties["Layers"] and len(properties["Layers"]) == 2, "Powertools, then the runtime"
    assert properties["Environment"]["Variables"] == {
        "TABLE_NAME": {"Ref": _id(template, "AWS::DynamoDB::GlobalTable", "NotesTable")},
        "RESOURCE_NAME": "notes",
        "ID_ATTRIBUTE": "id",
        "WORKER_HANDLER": "feedback_worker.categorize",
        "POWERTOOLS_SERVICE_NAME": "notes",
        "POWERTOOLS_METRICS_NAMESPACE": "ServerlessMeta",
        "POWERTOOLS_LOG_LEVEL": "INFO",
    }
    assert "ReservedConcurrentExecutions" not in properties, "capped by the event source, so nothing is throttled"


def test_the_queue_invokes_the_worker_in_batches_and_takes_back_only_the_failed_changes(template):
    template.has_resource_properties(
        "AWS::Lambda::EventSourceMapping",
        {
            "EventSourceArn": {"Fn::GetAtt": [_id(template, "AWS::SQS::Queue", "NotesWorkerQueue"), "Arn"]},
            "FunctionName": {"Ref": _id(template, "AWS::Lambda::Function", "NotesWorkerFunction")},
            "BatchSize": 10,
            "FunctionResponseTypes": ["ReportBatchItemFailures"],
            "ScalingConfig": {"MaximumConcurrency": 5},
        },
    )


def test_the_worker_may_update_items_consume_its_queue_and_log_nothing_more(template):
    table = _id(template, "AWS::DynamoDB::GlobalTable", "NotesTable")
    queue = _id(template, "AWS::SQS::Queue", "NotesWorkerQueue")
    statements = role_statements(template, "NotesWorkerFunctionRole")
    actions = {
        action: statement["Resource"]
        for statement in statements
        for action in ([statement["Action"]] if isinstance(statement["Action"], str) else statement["Action"])
    }

    assert {a for a in actions if a.startswith("dynamodb:")} == {"dynamodb:UpdateItem"}
    assert actions["dynamodb:UpdateItem"] == {"Fn::GetAtt": [table, "Arn"]}, "the table, not its indexes or others"
    assert {a for a in actions if a.startswith("sqs:")} == {
        "sqs:ReceiveMessage", "sqs:ChangeMessageVisibility", "sqs:GetQueueUrl", "sqs:DeleteMessage", "sqs:GetQueueAttributes"
    }
    assert all(actions[a] == {"Fn::GetAtt": [queue, "Arn"]} for a in actions if a.startswith("sqs:"))
    assert {a.split(":")[0] for a in actions} == {"dynamodb", "sqs", "kms", "logs", "xray"}
    assert [a for a in actions if a.startswith("kms:")] == ["kms:Decrypt"], "reads the queue's messages, nothing more"


def test_the_api_functions_code_leaves_the_worker_runtime_out_and_its_layer_holds_it(tmp_path):
    app = cdk.App(outdir=str(tmp_path), context={"aws:cdk:enable-asset-metadata": True})
    _build(cdk.Stack(app, "Assets"))
    assembly = Path(app.synth().directory)
    template = json.loads((assembly / "Assets.template.json").read_text())
    assets = {
        name: assembly / resource["Metadata"]["aws:asset:path"]
        for name, resource in template["Resources"].items()
        if "aws:asset:path" in resource.get("Metadata", {})
    }
    (api_code,) = {path for name, path in assets.items() if name.startswith("NotesCreateFunction")}
    (layer,) = {path for name, path in assets.items() if name.startswith("ServerlessMetaWorkerRuntime")}

    assert (api_code / "crud_api" / "app.py").is_file() and not (api_code / "worker_layer").exists()
    assert sorted(p.name for p in (layer / "python" / "crud_worker").glob("*.py")) == [
        "__init__.py", "changes.py", "contract.py", "runtime.py", "store.py"
    ]


def test_services_with_workers_in_one_stack_share_one_runtime_layer():
    def build(stack):
        for name in ("notes", "tasks"):
            worker = Worker.from_directory(WORKER_CODE, "feedback_worker.categorize")
            ServerlessCrudApi(stack, name.title(), resource_name=name, worker=worker)

    synthesize(build).resource_count_is("AWS::Lambda::LayerVersion", 1)


# --- Alarms and the dashboard ---------------------------------------------------------------------


def test_a_change_in_the_dead_letter_queue_raises_an_alarm(template):
    alarm = _alarm(template, "WorkerDeadLetters")
    metric = _watched(alarm)
    dead_letters = _id(template, "AWS::SQS::Queue", "NotesWorkerDeadLetterQueue")
    assert (metric["MetricName"], metric["Namespace"], metric["Statistic"]) == ("ApproximateNumberOfMessagesVisible", "AWS/SQS", "Maximum")
    assert metric["Dimensions"] == [{"Name": "QueueName", "Value": {"Fn::GetAtt": [dead_letters, "QueueName"]}}]
    assert alarm["Threshold"] == 1 and alarm["ComparisonOperator"] == "GreaterThanOrEqualToThreshold"


def test_a_change_waiting_too_long_raises_an_alarm_at_the_threshold_given(template):
    alarm = _alarm(template, "WorkerOldestChangeAge")
    metric = _watched(alarm)
    queue = _id(template, "AWS::SQS::Queue", "NotesWorkerQueue")
    assert (metric["MetricName"], metric["Statistic"]) == ("ApproximateAgeOfOldestMessage", "Maximum")
    assert metric["Dimensions"] == [{"Name": "QueueName", "Value": {"Fn::GetAtt": [queue, "QueueName"]}}]
    assert alarm["Threshold"] == 15 * 60


def test_failed_changes_and_failed_invocations_of_the_worker_raise_one_alarm(template):
    metrics = {m["Id"]: m for m in _alarm(template, "WorkerErrors")["Metrics"]}
    expression = next(m["Expression"] for m in metrics.values() if "Expression" in m)

    assert expression == "SUM([FILL(invocation_errors, 0), FILL(changes_failed, 0)])"
    failed = metrics["changes_failed"]["MetricStat"]["Metric"]
    assert (failed["Namespace"], failed["MetricName"]) == ("ServerlessMeta", "ChangesFailed")
    assert failed["Dimensions"] == [{"Name": "service", "Value": "notes"}]
    invocations = metrics["invocation_errors"]["MetricStat"]["Metric"]
    assert invocations["MetricName"] == "Errors"
    assert invocations["Dimensions"][0]["Value"] == {"Ref": _id(template, "AWS::Lambda::Function", "NotesWorkerFunction")}


def test_failed_or_timed_out_pipe_executions_raise_an_alarm(template):
    metrics = _alarm(template, "WorkerPipeFailures")["Metrics"]
    pipe = _id(template, "AWS::Pipes::Pipe", "NotesWorkerPipe")
    watched = {
        m["MetricStat"]["Metric"]["MetricName"]: m["MetricStat"]["Metric"] for m in metrics if "MetricStat" in m
    }

    assert sorted(watched) == ["ExecutionFailed", "ExecutionPartiallyFailed", "ExecutionTimeout"]
    for metric in watched.values():
        assert metric["Namespace"] == "AWS/EventBridge/Pipes"
        assert metric["Dimensions"] == [{"Name": "PipeName", "Value": {"Ref": pipe}}]


def test_a_throttled_pipe_raises_an_alarm(template):
    metric = _watched(_alarm(template, "WorkerPipeThrottled"))
    pipe = _id(template, "AWS::Pipes::Pipe", "NotesWorkerPipe")
    assert (metric["Namespace"], metric["MetricName"], metric["Statistic"]) == ("AWS/EventBridge/Pipes", "ExecutionThrottled", "Sum")
    assert metric["Dimensions"] == [{"Name": "PipeName", "Value": {"Ref": pipe}}]


def test_changes_reaching_the_worker_late_raise_an_alarm_whichever_part_lags(template):
    """The queue's age misses a pipe that lags behind its stream: the worker measures each change from its write."""
    alarm = _alarm(template, "WorkerChangeAge")
    metric = _watched(alarm)
    assert (metric["Namespace"], metric["MetricName"], metric["Statistic"]) == ("ServerlessMeta", "ChangeAge", "Maximum")
    assert metric["Dimensions"] == [{"Name": "service", "Value": "notes"}]
    assert alarm["Threshold"] == 5 * 60


WORKER_ALARMS = [
    "WorkerDeadLetters", "WorkerOldestChangeAge", "WorkerErrors", "WorkerChangeAge", "WorkerPipeThrottled", "WorkerPipeFailures",
]


@pytest.mark.parametrize("name", WORKER_ALARMS)
def test_worker_alarms_notify_the_topic_like_every_other_alarm(template, name):
    alarm = _alarm(template, name)
    topic = {"Ref": _id(template, "AWS::SNS::Topic", "NotesAlarmTopic")}
    assert alarm["AlarmActions"] == [topic] and alarm["OKActions"] == [topic]
    assert (alarm["EvaluationPeriods"], alarm["DatapointsToAlarm"], alarm["TreatMissingData"]) == (5, 3, "notBreaching")


def test_the_dashboard_graphs_the_worker(template):
    (dashboard,) = template.find_resources("AWS::CloudWatch::Dashboard").values()
    body = json.dumps(dashboard["Properties"]["DashboardBody"])
    for title in ("Worker: changes", "Worker: queue", "Worker: dead letters", "Worker: pipe"):
        assert title in body
    for name in WORKER_ALARMS:
        assert _id(template, "AWS::CloudWatch::Alarm", f"NotesMonitoring{name}") in body, "on the alarm status widget"


def test_without_a_worker_there_is_no_stream_queue_pipe_or_worker_alarm():
    template = synthesize(lambda stack: ServerlessCrudApi(stack, "Notes", resource_name="notes"))
    template.has_resource_properties("AWS::DynamoDB::GlobalTable", {"StreamSpecification": Match.absent()})
    for resource_type in ("AWS::SQS::Queue", "AWS::Pipes::Pipe", "AWS::Lambda::EventSourceMapping", "AWS::Lambda::LayerVersion"):
        template.resource_count_is(resource_type, 0)
    assert not [n for n in template.find_resources("AWS::CloudWatch::Alarm") if "Worker" in n]


# --- A table shared with another service ------------------------------------------------------------


def test_fails_if_a_third_worker_would_read_one_tables_stream():
    """DynamoDB Streams serves two readers of a shard at once: a third pipe deploys, then every worker lags."""

    def build(stack):
        def worker():
            return Worker.from_directory(WORKER_CODE, "feedback_worker.categorize")

        first = ServerlessCrudApi(stack, "First", resource_name="first", worker=worker())
        ServerlessCrudApi(stack, "Second", resource_name="second", table=first.table, worker=worker())
        ServerlessCrudApi(stack, "Third", resource_name="third", table=first.table, worker=worker())

    with pytest.raises(InvalidPropError, match=r"TestStack/Third: worker must be left out: the table's stream already has 2 readers "
                       r"\(TestStack/First, TestStack/Second\)"):
        synthesize(build)



def test_a_worker_turns_the_stream_on_for_a_table_another_service_made(sample_template):
    template = Template.from_json(sample_template)
    template.resource_count_is("AWS::DynamoDB::GlobalTable", 1)
    template.has_resource_properties(
        "AWS::DynamoDB::GlobalTable", {"StreamSpecification": {"StreamViewType": "NEW_AND_OLD_IMAGES"}}
    )
    (pipe,) = template.find_resources("AWS::Pipes::Pipe").values()
    # The sample stack names no region: the pattern takes the stack's from AWS::Region.
    (start, region, end) = pipe["Properties"]["SourceParameters"]["FilterCriteria"]["Filters"][0]["Pattern"]["Fn::Join"][1]
    assert '"prefix":"feedback#"' in start and region == {"Ref": "AWS::Region"}
