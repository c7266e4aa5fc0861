"""What one line, ``ServerlessCrudApi(self, "Metadata", resource_name="metadata")``, synthesizes."""

from __future__ import annotations

import json
import re

import pytest
from aws_cdk.assertions import Match, Template

from serverless_meta import ServerlessCrudApi
from serverless_meta.api import METHOD_NOT_ALLOWED_CONTENT_TYPES
from serverless_meta.powertools import POWERTOOLS_VERSION
from tests.support import DYNAMODB_ACTIONS, role_statements, synthesize

OPERATIONS = ("create", "list", "get", "update", "delete")


@pytest.fixture(scope="module")
def template() -> Template:
    return synthesize(lambda stack: ServerlessCrudApi(stack, "Metadata", resource_name="metadata"))


def _logical_id(template: Template, resource_type: str, construct_path: str) -> str:
    """The logical id CDK gives the resource at ``construct_path`` (ids joined, plus an 8-hex-digit hash)."""
    pattern = re.compile(rf"^{construct_path}[0-9A-F]{{8}}$")
    (logical_id,) = [name for name in template.find_resources(resource_type) if pattern.match(name)]
    return logical_id


# --- DynamoDB ---------------------------------------------------------------------------------


def test_table_is_single_table_design_on_demand(template):
    template.resource_count_is("AWS::DynamoDB::GlobalTable", 1)
    template.has_resource_properties(
        "AWS::DynamoDB::GlobalTable",
        {
            "KeySchema": [{"AttributeName": "pk", "KeyType": "HASH"}, {"AttributeName": "sk", "KeyType": "RANGE"}],
            "AttributeDefinitions": [
                {"AttributeName": "pk", "AttributeType": "S"},
                {"AttributeName": "sk", "AttributeType": "S"},
            ],
            "BillingMode": "PAY_PER_REQUEST",
        },
    )


def test_table_has_point_in_time_recovery_35_days_back_and_deletion_protection(template):
    # cdk-nag does not check a TableV2's PITR, so this test does.
    template.has_resource_properties(
        "AWS::DynamoDB::GlobalTable",
        {
            "Replicas": [
                Match.object_like(
                    {
                        "PointInTimeRecoverySpecification": {
                            "PointInTimeRecoveryEnabled": True,
                            "RecoveryPeriodInDays": 35,
                        },
                        "DeletionProtectionEnabled": True,
                    }
                )
            ]
        },
    )


def test_table_is_retained_and_encrypted_at_rest(template):
    template.has_resource(
        "AWS::DynamoDB::GlobalTable",
        {
            "DeletionPolicy": "Retain",
            "UpdateReplacePolicy": "Retain",
            "Properties": Match.object_like({"SSESpecification": {"SSEEnabled": True, "SSEType": "KMS"}}),
        },
    )


def test_the_table_is_backed_up_daily_into_an_encrypted_vault_the_stack_keeps(template):
    key = _logical_id(template, "AWS::KMS::Key", "MetadataKey")
    table = _logical_id(template, "AWS::DynamoDB::GlobalTable", "MetadataTable")
    template.has_resource(
        "AWS::Backup::BackupVault",
        {
            "DeletionPolicy": "Retain",
            "Properties": Match.object_like({"EncryptionKeyArn": {"Fn::GetAtt": [key, "Arn"]}}),
        },
    )
    template.has_resource_properties(
        "AWS::Backup::BackupPlan",
        {
            "BackupPlan": {
                "BackupPlanName": Match.any_value(),
                "BackupPlanRule": [
                    Match.object_like(
                        {
                            "RuleName": "Daily",
                            "ScheduleExpression": "cron(0 3 * * ? *)",
                            "Lifecycle": {"DeleteAfterDays": 35},
                        }
                    )
                ],
            }
        },
    )
    template.has_resource_properties(
        "AWS::Backup::BackupSelection",
        {"BackupSelection": Match.object_like({"Resources": [{"Fn::GetAtt": [table, "Arn"]}]})},
    )


# --- Lambda -----------------------------------------------------------------------------------


def test_one_function_per_operation_on_python_313_arm64_with_tracing(template):
    template.resource_count_is("AWS::Lambda::Function", 5)
    functions = template.find_resources(
        "AWS::Lambda::Function",
        {
            "Properties": Match.object_like(
                {
                    "Runtime": "python3.13",
                    "Architectures": ["arm64"],
                    "Handler": "crud_api.app.lambda_handler",
                    "TracingConfig": {"Mode": "Active"},
                    "MemorySize": 256,
                    "Timeout": 10,
                }
            )
        },
    )
    assert len(functions) == 5


def test_each_function_has_reserved_concurrency(template):
    template.all_resources_properties("AWS::Lambda::Function", {"ReservedConcurrentExecutions": 20})


def test_cloudwatch_logs_may_use_the_key_for_this_accounts_log_groups_only(template):
    (key,) = template.find_resources("AWS::KMS::Key").values()
    (statement,) = [
        s for s in key["Properties"]["KeyPolicy"]["Statement"]
        if s.get("Principal") == {"Service": "logs.eu-west-1.amazonaws.com"}
    ]
    condition = json.dumps(statement["Condition"]["ArnLike"]["kms:EncryptionContext:aws:logs:arn"])
    assert ":logs:eu-west-1:123456789012:log-group:*" in condition
    assert "kms:Decrypt*" in statement["Action"] and "kms:GenerateDataKey*" in statement["Action"]


def test_functions_get_powertools_from_the_published_layer_pinned_to_the_tested_version(template):
    import aws_lambda_powertools.shared.version as installed

    parameter = f"/aws/service/powertools/python/arm64/python3.13/{POWERTOOLS_VERSION}"
    assert POWERTOOLS_VERSION == installed.VERSION, "the layer must be the Powertools the handlers are tested with"
    (name,) = [n for n, p in template.to_json()["Parameters"].items() if p.get("Default") == parameter]
    assert template.to_json()["Parameters"][name]["Type"] == "AWS::SSM::Parameter::Value<String>"
    template.all_resources_properties("AWS::Lambda::Function", {"Layers": [{"Ref": name}]})


def test_functions_are_configured_through_their_environment(template):
    template.all_resources_properties(
        "AWS::Lambda::Function",
        {
            "Environment": {
                "Variables": {
                    "TABLE_NAME": {"Ref": Match.string_like_regexp("^MetadataTable")},
                    "RESOURCE_NAME": "metadata",
                    "OPERATIONS": "create,list,get,update,delete",
                    "ID_ATTRIBUTE": "id",
                    "MAX_BODY_BYTES": "32768",
                    "POWERTOOLS_SERVICE_NAME": "metadata",
                    "POWERTOOLS_METRICS_NAMESPACE": "ServerlessMeta",
                    "POWERTOOLS_LOG_LEVEL": "INFO",
                }
            }
        },
    )


def test_the_functions_log_to_the_services_log_group_with_retention(template):
    key = _logical_id(template, "AWS::KMS::Key", "MetadataKey")
    log_group = _logical_id(template, "AWS::Logs::LogGroup", "MetadataFunctionLogs")
    template.resource_properties_count_is(
        "AWS::Logs::LogGroup", {"RetentionInDays": 90, "KmsKeyId": {"Fn::GetAtt": [key, "Arn"]}}, 2
    )
    template.all_resources_properties("AWS::Lambda::Function", {"LoggingConfig": {"LogGroup": {"Ref": log_group}}})


def _function_roles(template: Template) -> list[str]:
    return list(template.find_resources("AWS::IAM::Role", {"Properties": {"AssumeRolePolicyDocument": Match.object_like(
        {"Statement": [Match.object_like({"Principal": {"Service": "lambda.amazonaws.com"}})]}
    )}}))


@pytest.mark.parametrize(("operation", "action"), DYNAMODB_ACTIONS.items())
def test_each_function_may_run_only_its_own_dynamodb_action_on_this_table(template, operation, action):
    role = _logical_id(template, "AWS::IAM::Role", f"Metadata{operation}FunctionRole")
    table = _logical_id(template, "AWS::DynamoDB::GlobalTable", "MetadataTable")
    dynamodb = [s for s in role_statements(template, role) if "dynamodb" in json.dumps(s["Action"])]

    assert dynamodb == [
        {"Action": action, "Effect": "Allow", "Resource": {"Fn::GetAtt": [table, "Arn"]}}
    ], f"{operation} may call {action} on this table and nothing else"


def test_function_roles_hold_their_permissions_inline_without_managed_policies(template):
    roles = _function_roles(template)
    assert len(roles) == 5
    template.resource_count_is("AWS::IAM::Policy", 0)
    log_group = _logical_id(template, "AWS::Logs::LogGroup", "MetadataFunctionLogs")
    for role_id in roles:
        role = template.to_json()["Resources"][role_id]["Properties"]
        assert "ManagedPolicyArns" not in role
        assert [p["PolicyName"] for p in role["Policies"]] == ["Permissions"]
        assert {
            "Action": ["logs:CreateLogStream", "logs:PutLogEvents"],
            "Effect": "Allow",
            "Resource": {"Fn::GetAtt": [log_group, "Arn"]},
        } in role_statements(template, role_id), "it writes to the service's log group and no other"


def test_the_only_wildcard_resource_in_a_function_role_is_x_rays(template):
    # The AwsSolutions-IAM5[Resource::*] acknowledgment on each role says so; this keeps it true.
    for role_id in _function_roles(template):
        wildcards = [s["Action"] for s in role_statements(template, role_id) if s["Resource"] == "*"]
        assert wildcards == [["xray:PutTraceSegments", "xray:PutTelemetryRecords"]], role_id


def test_no_policy_grants_a_dynamodb_wildcard(template):
    assert "dynamodb:*" not in json.dumps(template.to_json()["Resources"])


def test_api_gateway_may_invoke_each_function_from_its_own_method_of_the_stage_only(template):
    api = _logical_id(template, "AWS::ApiGateway::RestApi", "MetadataApi")
    permissions = template.find_resources("AWS::Lambda::Permission")
    by_function = {p["Properties"]["FunctionName"]["Fn::GetAtt"][0]: p["Properties"] for p in permissions.values()}

    assert len(permissions) == len(by_function) == 5, "one permission per function: no console test-invoke"
    for operation, (method, path) in {
        "Create": ("POST", "metadata"), "List": ("GET", "metadata"), "Get": ("GET", "metadata/*"),
        "Update": ("PUT", "metadata/*"), "Delete": ("DELETE", "metadata/*"),
    }.items():
        permission = by_function[_logical_id(template, "AWS::Lambda::Function", f"Metadata{operation}Function")]
        assert permission["Principal"] == "apigateway.amazonaws.com"
        source = json.dumps(permission["SourceArn"])
        assert f'{{"Ref": "{api}"}}, "/", {{"Ref": "' in source and f'/{method}/{path}"' in source, source


# --- API Gateway ------------------------------------------------------------------------------


def test_routes_are_the_five_crud_methods_plus_405_catch_alls(template):
    resources = template.find_resources("AWS::ApiGateway::Resource")
    paths = {r["Properties"]["PathPart"]: name for name, r in resources.items()}
    assert set(paths) == {"metadata", "{id}"}
    methods = {
        (m["Properties"]["HttpMethod"], m["Properties"]["ResourceId"]["Ref"])
        for m in template.find_resources("AWS::ApiGateway::Method").values()
    }
    assert methods == {
        ("POST", paths["metadata"]),
        ("GET", paths["metadata"]),
        ("ANY", paths["metadata"]),
        ("GET", paths["{id}"]),
        ("PUT", paths["{id}"]),
        ("DELETE", paths["{id}"]),
        ("ANY", paths["{id}"]),
    }


def test_every_method_requires_the_cognito_authorizer(template):
    authorizer = _logical_id(template, "AWS::ApiGateway::Authorizer", "MetadataAuthorizer")
    pool = _logical_id(template, "AWS::Cognito::UserPool", "MetadataUserPool")
    template.has_resource_properties(
        "AWS::ApiGateway::Authorizer",
        {"Type": "COGNITO_USER_POOLS", "ProviderARNs": [{"Fn::GetAtt": [pool, "Arn"]}]},
    )
    template.all_resources_properties(
        "AWS::ApiGateway::Method", {"AuthorizationType": "COGNITO_USER_POOLS", "AuthorizerId": {"Ref": authorizer}}
    )


@pytest.mark.parametrize("allow", ["GET, POST", "DELETE, GET, PUT"])
def test_catch_all_methods_answer_405_with_allow_without_a_lambda(template, allow):
    request_templates = {content_type: '{"statusCode": 405}' for content_type in METHOD_NOT_ALLOWED_CONTENT_TYPES}
    template.has_resource_properties(
        "AWS::ApiGateway::Method",
        {
            "HttpMethod": "ANY",
            "Integration": Match.object_like(
                {
                    "Type": "MOCK",
                    "RequestTemplates": request_templates,
                    "IntegrationResponses": [
                        Match.object_like(
                            {
                                "StatusCode": "405",
                                "ResponseParameters": {"method.response.header.Allow": f"'{allow}'"},
                                "ResponseTemplates": {"application/json": '{"message": "Method Not Allowed"}'},
                            }
                        )
                    ],
                }
            ),
        },
    )


def test_unknown_routes_are_a_json_404_not_a_403(template):
    template.has_resource_properties(
        "AWS::ApiGateway::GatewayResponse",
        {
            "ResponseType": "MISSING_AUTHENTICATION_TOKEN",
            "StatusCode": "404",
            "ResponseTemplates": {"application/json": '{"message": "Not Found"}'},
        },
    )


def test_stage_is_throttled_traced_and_logs_errors_without_data(template):
    (stage,) = template.find_resources("AWS::ApiGateway::Stage").values()
    assert stage["Properties"]["StageName"] == "prod" and stage["Properties"]["TracingEnabled"] is True
    logged = {"LoggingLevel": "ERROR", "DataTraceEnabled": False, "MetricsEnabled": True}
    settings = {(s.pop("ResourcePath"), s.pop("HttpMethod")): s for s in stage["Properties"]["MethodSettings"]}
    assert settings.pop(("/*", "*")) == {"ThrottlingRateLimit": 50, "ThrottlingBurstLimit": 100, **logged}
    # Each operation's method admits what its function's 20 environments take (test_overload.py).
    assert set(settings) == {("/~1metadata", "POST"), ("/~1metadata", "GET"), ("/~1metadata~1{id}", "GET"),
                             ("/~1metadata~1{id}", "PUT"), ("/~1metadata~1{id}", "DELETE")}
    assert all(s == {"ThrottlingRateLimit": 50, "ThrottlingBurstLimit": 10, **logged} for s in settings.values())


def test_access_logs_are_one_json_object_per_request(template):
    (stage,) = template.find_resources("AWS::ApiGateway::Stage").values()
    log_format = json.loads(stage["Properties"]["AccessLogSetting"]["Format"])
    assert log_format["requestId"] == "$context.requestId"
    assert log_format["user"] == "$context.authorizer.claims.sub"
    assert {"status", "path", "method", "responseLatency", "error"} <= set(log_format)


def test_cors_is_off(template):
    template.resource_properties_count_is("AWS::ApiGateway::Method", {"HttpMethod": "OPTIONS"}, 0)


def test_api_gateway_can_write_execution_logs_and_the_setting_outlives_the_stack(template):
    template.resource_count_is("AWS::ApiGateway::Account", 1)
    account = _logical_id(template, "AWS::ApiGateway::Account", "ApiGatewayCloudWatchRoleAccount")
    template.has_resource("AWS::ApiGateway::Stage", {"DependsOn": Match.array_with([account])})
    template.has_resource("AWS::ApiGateway::Account", {"DeletionPolicy": "Retain"})
    template.has_resource(
        "AWS::IAM::Role",
        {
            "DeletionPolicy": "Retain",
            "Properties": Match.object_like(
                {"AssumeRolePolicyDocument": Match.object_like(
                    {"Statement": [Match.object_like({"Principal": {"Service": "apigateway.amazonaws.com"}})]}
                )}
            ),
        },
    )


def test_api_name_is_unique_and_the_api_alarms_watch_that_name(template):
    (api,) = template.find_resources("AWS::ApiGateway::RestApi").values()
    name = api["Properties"]["Name"]
    assert name.startswith("TestStack-Metadata-"), "not CDK's default 'Api', which every service would share"
    alarms = _alarms(template)
    assert alarms["ApiLatencyP99"]["Dimensions"] == [{"Name": "ApiName", "Value": name}]
    for metric in alarms["ApiServerErrorRate"]["Metrics"]:
        if "MetricStat" in metric:
            assert metric["MetricStat"]["Metric"]["Dimensions"] == [{"Name": "ApiName", "Value": name}]


# --- Cognito ----------------------------------------------------------------------------------


def test_user_pool_has_a_strong_password_policy_and_no_self_sign_up(template):
    template.has_resource(
        "AWS::Cognito::UserPool",
        {
            "DeletionPolicy": "Retain",
            "Properties": Match.object_like(
                {
                    "Policies": {
                        "PasswordPolicy": {
                            "MinimumLength": 12,
                            "RequireLowercase": True,
                            "RequireUppercase": True,
                            "RequireNumbers": True,
                            "RequireSymbols": True,
                            "TemporaryPasswordValidityDays": 3,
                        }
                    },
                    "AdminCreateUserConfig": {"AllowAdminCreateUserOnly": True},
                    "DeletionProtection": "ACTIVE",
                    "MfaConfiguration": "OPTIONAL",
                }
            ),
        },
    )


def test_user_pool_client_is_public_with_srp_sign_in_and_no_oauth_flows(template):
    template.has_resource_properties(
        "AWS::Cognito::UserPoolClient",
        {
            "AllowedOAuthFlowsUserPoolClient": False,
            "AllowedOAuthFlows": Match.absent(),
            "CallbackURLs": Match.absent(),
            "GenerateSecret": False,
            "ExplicitAuthFlows": ["ALLOW_USER_SRP_AUTH", "ALLOW_REFRESH_TOKEN_AUTH"],
            "PreventUserExistenceErrors": "ENABLED",
        },
    )


# --- Alarms -----------------------------------------------------------------------------------


def _alarms(template: Template) -> dict[str, dict]:
    """Alarms by construct id (``MetadataMonitoringApiLatencyP99ABCD1234`` -> ``ApiLatencyP99``)."""
    return {
        re.sub(r"^MetadataMonitoring|[0-9A-F]{8}$", "", name): alarm["Properties"]
        for name, alarm in template.find_resources("AWS::CloudWatch::Alarm").items()
    }


def _watched(alarm: dict) -> object:
    """What an alarm watches: (namespace, metric, statistic), or (expression, {id: metric name})."""
    if "MetricName" in alarm:
        return alarm["Namespace"], alarm["MetricName"], alarm.get("Statistic") or alarm.get("ExtendedStatistic")
    (expression,) = [m["Expression"] for m in alarm["Metrics"] if "Expression" in m]
    return expression, {m["Id"]: m["MetricStat"]["Metric"]["MetricName"] for m in alarm["Metrics"] if "MetricStat" in m}


EXPECTED_ALARMS = {
    "ApiServerErrorRate": (
        ("IF(requests >= 1, 100 * errors / requests, 0)", {"requests": "Count", "errors": "5XXError"}), 1
    ),
    "ApiClientErrorRate": (
        ("IF(requests >= 20, 100 * errors / requests, 0)", {"requests": "Count", "errors": "4XXError"}), 25
    ),
    "ApiLatencyP99": (("AWS/ApiGateway", "Latency", "p99"), 2000),
    "FunctionErrors": (
        ("SUM([FILL(create, 0), FILL(list, 0), FILL(get, 0), FILL(update, 0), FILL(delete, 0)])",
         {op: "Errors" for op in OPERATIONS}), 1
    ),
    "FunctionThrottles": (
        ("SUM([FILL(create, 0), FILL(list, 0), FILL(get, 0), FILL(update, 0), FILL(delete, 0)])",
         {op: "Throttles" for op in OPERATIONS}), 1
    ),
    "FunctionDuration": (
        (f"MAX([{', '.join(f'100 * FILL({op}, 0) / 10000' for op in OPERATIONS)}])", {op: "Duration" for op in OPERATIONS}),
        80,
    ),
    "TableUserErrors": (("AWS/DynamoDB", "UserErrors", "Sum"), 10),
}


def test_alarms_watch_each_metric_with_its_statistic_and_threshold(template):
    alarms = _alarms(template)

    assert set(alarms) == {*EXPECTED_ALARMS, "TableThrottledRequests", "TableSystemErrors"}
    for name, (watched, threshold) in EXPECTED_ALARMS.items():
        assert (_watched(alarms[name]), alarms[name]["Threshold"]) == (watched, threshold), name


@pytest.mark.parametrize(("name", "metric"), [("TableThrottledRequests", "ThrottledRequests"), ("TableSystemErrors", "SystemErrors")])
def test_table_alarms_sum_the_metric_over_every_operation_filling_quiet_ones_with_zero(template, name, metric):
    alarm = _alarms(template)[name]
    expression, metrics = _watched(alarm)
    operations = sorted(
        d["Value"] for m in alarm["Metrics"] if "MetricStat" in m for d in m["MetricStat"]["Metric"]["Dimensions"]
        if d["Name"] == "Operation"
    )

    assert set(metrics.values()) == {metric}
    # A plain a + b has no value in a minute where one operation published nothing: FILL each with 0.
    assert expression == f"SUM([{', '.join(f'FILL({m}, 0)' for m in metrics)}])"
    assert operations == ["DeleteItem", "GetItem", "PutItem", "Query", "TransactWriteItems", "UpdateItem"], (
        "every request the handlers make, the idempotent create's transaction too"
    )
    assert alarm["Threshold"] == 1


def test_every_alarm_notifies_the_topic_and_ignores_one_bad_minute(template):
    topic = _logical_id(template, "AWS::SNS::Topic", "MetadataAlarmTopic")
    for name, alarm in _alarms(template).items():
        assert alarm["AlarmActions"] == [{"Ref": topic}] and alarm["OKActions"] == [{"Ref": topic}], name
        periods = [alarm.get("Period")] if "MetricName" in alarm else [
            m["MetricStat"]["Period"] for m in alarm["Metrics"] if "MetricStat" in m
        ]
        assert periods and set(periods) == {60}, name
        assert alarm["DatapointsToAlarm"] == 3 and alarm["EvaluationPeriods"] == 5, name
        assert alarm["TreatMissingData"] == "notBreaching", "no traffic is no fault"
        assert alarm["ComparisonOperator"] == "GreaterThanOrEqualToThreshold"


def test_a_dashboard_shows_the_same_metrics_and_the_alarms(template):
    (dashboard,) = template.find_resources("AWS::CloudWatch::Dashboard").values()
    body = json.dumps(dashboard["Properties"]["DashboardBody"])
    for metric in ("5XXError", "4XXError", "Latency", "Invocations", "Errors", "Throttles", "Duration",
                   "ConsumedReadCapacityUnits", "ThrottledRequests", "SystemErrors", "UserErrors"):
        assert f'\\"{metric}\\"' in body, metric
    for alarm in template.find_resources("AWS::CloudWatch::Alarm"):
        assert f'"{alarm}"' in body, f"the dashboard's alarm widget shows {alarm}"


def test_each_graph_draws_where_its_alarm_fires(template):
    """Thresholds on the graphs of what they watch: p99 latency at 2 s, the functions' errors and throttles at
    1, their duration at 80% of the 10 s timeout, the table's throttles, system and user errors."""
    (dashboard,) = template.find_resources("AWS::CloudWatch::Dashboard").values()
    body = "".join(part if isinstance(part, str) else "" for part in dashboard["Properties"]["DashboardBody"]["Fn::Join"][1])
    widgets = json.loads(body)["widgets"]
    marks = {
        w["properties"]["title"]: {(a["label"], a["value"]) for a in w["properties"].get("annotations", {}).get("horizontal", [])}
        for w in widgets if "title" in w["properties"]
    }
    assert ("alarm (p99)", 2000) in marks["API latency (ms)"]
    assert ("alarm (all functions)", 1) in marks["Errors"] and ("alarm (all functions)", 1) in marks["Throttles"]
    assert {("timeout", 10000), ("alarm", 8000)} <= marks["Duration p99 (ms)"]
    assert ("alarm", 1) in marks["DynamoDB throttled requests"] and ("alarm", 10) in marks["DynamoDB user errors (account-wide)"]


def test_no_email_subscription_unless_asked(template):
    template.resource_count_is("AWS::SNS::Subscription", 0)


def test_alarm_topic_is_encrypted_with_a_rotating_key_and_ssl_only(template):
    key = _logical_id(template, "AWS::KMS::Key", "MetadataKey")
    template.has_resource_properties("AWS::KMS::Key", {"EnableKeyRotation": True})
    template.has_resource_properties("AWS::SNS::Topic", {"KmsMasterKeyId": {"Fn::GetAtt": [key, "Arn"]}})
    template.has_resource_properties(
        "AWS::SNS::TopicPolicy",
        {
            "PolicyDocument": {
                "Statement": Match.array_with(
                    [
                        Match.object_like(
                            {"Effect": "Deny", "Condition": {"Bool": {"aws:SecureTransport": "false"}}}
                        )
                    ]
                )
            }
        },
    )


def test_this_accounts_cloudwatch_may_publish_to_the_encrypted_topic(template):
    from_this_account = {"StringEquals": {"aws:SourceAccount": "123456789012"}}
    template.has_resource_properties(
        "AWS::KMS::Key",
        {
            "KeyPolicy": {
                "Statement": Match.array_with(
                    [
                        Match.object_like(
                            {
                                "Action": ["kms:Decrypt", "kms:GenerateDataKey*"],
                                "Principal": {"Service": "cloudwatch.amazonaws.com"},
                                "Condition": Match.absent(),
                            }
                        )
                    ]
                )
            }
        },
    )
    # The topic policy replaces SNS's default one, so it must allow CloudWatch itself.
    template.has_resource_properties(
        "AWS::SNS::TopicPolicy",
        {
            "PolicyDocument": {
                "Statement": Match.array_with(
                    [
                        Match.object_like(
                            {
                                "Action": "sns:Publish",
                                "Effect": "Allow",
                                "Principal": {"Service": "cloudwatch.amazonaws.com"},
                                "Condition": from_this_account,
                            }
                        )
                    ]
                )
            }
        },
    )


def test_attributes_expose_every_resource_it_made(template):
    # Re-build to reach the construct object; cheap, no synthesis.
    import aws_cdk as cdk

    service = ServerlessCrudApi(cdk.Stack(cdk.App(), "AttributesStack"), "Metadata", resource_name="metadata")
    assert set(service.functions) == {"create", "list", "get", "update", "delete"}
    assert service.table and service.api and service.user_pool and service.user_pool_client
    assert service.alarm_topic and service.encryption_key and service.dashboard and len(service.alarms) == 9


@pytest.mark.parametrize(("name", "statistic"), [("FunctionErrors", "Sum"), ("FunctionThrottles", "Sum"), ("FunctionDuration", "p99")])
def test_function_alarms_watch_each_function_of_the_service_by_name(template, name, statistic):
    functions = {
        f"Metadata{operation}Function": operation.lower()
        for operation in DYNAMODB_ACTIONS
    }
    watched = {
        m["Id"]: (m["MetricStat"]["Metric"]["Dimensions"], m["MetricStat"]["Stat"])
        for m in _alarms(template)[name]["Metrics"] if "MetricStat" in m
    }
    assert watched == {
        metric_id: ([{"Name": "FunctionName", "Value": {"Ref": _logical_id(template, "AWS::Lambda::Function", path)}}], statistic)
        for path, metric_id in functions.items()
    }


def test_the_dashboard_graphs_each_function_on_its_own(template):
    (dashboard,) = template.find_resources("AWS::CloudWatch::Dashboard").values()
    body = json.dumps(dashboard["Properties"]["DashboardBody"])
    for operation in DYNAMODB_ACTIONS:
        function = _logical_id(template, "AWS::Lambda::Function", f"Metadata{operation}Function")
        # Invocations, errors, throttles and duration: one line each, per function.
        assert body.count(f'{{"Ref": "{function}"}}') == 4, operation
