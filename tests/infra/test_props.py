"""Every prop changes what it says, and existing resources are used instead of new ones."""

from __future__ import annotations

import json

import aws_cdk as cdk
import pytest
from aws_cdk import aws_apigateway as apigateway
from aws_cdk import aws_cognito as cognito
from aws_cdk import aws_dynamodb as dynamodb
from aws_cdk import aws_kms as kms
from aws_cdk import aws_lambda as lambda_
from aws_cdk import aws_logs as logs
from aws_cdk import aws_sns as sns
from aws_cdk.assertions import Match, Template

from serverless_meta import AlarmThresholds, Operation, ServerlessCrudApi
from tests.support import role_statements, synthesize

SCHEMA = {"type": "object", "properties": {"feedback": {"type": "string"}}, "required": ["feedback"]}
ORIGIN = "https://app.example.com"
ORG_WEB_ACL_ARN = "arn:aws:wafv2:eu-west-1:123456789012:regional/webacl/org-edge/a1b2c3d4"
LEDGER_TABLE_ARN = "arn:aws:dynamodb:eu-west-1:123456789012:table/ledger"
LEDGER_KEY_ARN = "arn:aws:kms:eu-west-1:123456789012:key/1234abcd-12ab-34cd-56ef-1234567890ab"
IMPORTED_TABLE_ARN = "arn:aws:dynamodb:eu-west-1:123456789012:table/existing-table"

services: dict[str, ServerlessCrudApi] = {}


def _build(stack: cdk.Stack) -> None:
    metadata = ServerlessCrudApi(stack, "Metadata", resource_name="metadata")
    services["metadata"] = metadata
    services["feedback"] = ServerlessCrudApi(
        stack,
        "Feedback",
        resource_name="feedback",
        operations=["create", Operation.LIST],
        id_attribute="feedbackId",
        timestamp_attribute="timestamp",
        item_schema=SCHEMA,
        max_body_bytes=4096,
        table=metadata.table,
        user_pool=metadata.user_pool,
        alarm_topic=metadata.alarm_topic,
        memory_size=512,
        timeout=cdk.Duration.seconds(5),
        log_retention=logs.RetentionDays.ONE_WEEK,
        throttling=apigateway.ThrottleSettings(rate_limit=10, burst_limit=20),
        operation_throttling={"create": apigateway.ThrottleSettings(rate_limit=2, burst_limit=5)},
        cors_allow_origins=[ORIGIN],
        stage_name="v1",
        alarm_thresholds=AlarmThresholds(latency_p99=cdk.Duration.millis(800), server_error_percent=5),
        waf=True,
        waf_rate_limit=500,
        usage_plan=apigateway.UsagePlanProps(
            throttle=apigateway.ThrottleSettings(rate_limit=5, burst_limit=10),
            quota=apigateway.QuotaSettings(limit=10_000, period=apigateway.Period.DAY),
        ),
        alarm_email="oncall@example.com",
        metrics_namespace="Acme",
    )
    services["orders"] = ServerlessCrudApi(
        stack,
        "Orders",
        resource_name="orders",
        operations=["get"],
        table=dynamodb.TableV2.from_table_arn(stack, "ExistingTable", IMPORTED_TABLE_ARN),
        user_pool=cognito.UserPool.from_user_pool_id(stack, "ExistingPool", "eu-west-1_AbCdEfGhI"),
        alarm_topic=sns.Topic.from_topic_arn(stack, "ExistingTopic", "arn:aws:sns:eu-west-1:123456789012:alarms"),
        web_acl_arn=ORG_WEB_ACL_ARN,
        powertools_layer_version=lambda_.LayerVersion.from_layer_version_arn(
            stack, "OwnLayer", "arn:aws:lambda:eu-west-1:123456789012:layer:powertools:7"
        ),
    )
    services["ledger"] = ServerlessCrudApi(
        stack,
        "Ledger",
        resource_name="ledger",
        operations=["create", "get"],
        table=dynamodb.TableV2.from_table_attributes(
            stack,
            "EncryptedTable",
            table_arn=LEDGER_TABLE_ARN,
            encryption_key=kms.Key.from_key_arn(stack, "LedgerKey", LEDGER_KEY_ARN),
        ),
        user_pool=metadata.user_pool,
        alarm_topic=metadata.alarm_topic,
        encryption_key=metadata.encryption_key,
    )


@pytest.fixture(scope="module")
def template() -> Template:
    return synthesize(_build)


def _service_functions(template: Template, service: str) -> dict[str, dict]:
    return {
        name: f["Properties"]
        for name, f in template.find_resources("AWS::Lambda::Function").items()
        if name.startswith(service)
    }


def _service_resource(template: Template, resource_type: str, service: str) -> tuple[str, dict]:
    (found,) = [(n, r) for n, r in template.find_resources(resource_type).items() if n.startswith(service)]
    return found


def test_existing_table_user_pool_and_topic_are_used_not_created(template):
    template.resource_count_is("AWS::DynamoDB::GlobalTable", 1)
    template.resource_count_is("AWS::Cognito::UserPool", 1)
    template.resource_count_is("AWS::Cognito::UserPoolClient", 1)
    template.resource_count_is("AWS::SNS::Topic", 1)
    assert services["feedback"].user_pool_client is None and services["orders"].user_pool_client is None


def test_a_shared_table_serves_both_services(template):
    table, _ = _service_resource(template, "AWS::DynamoDB::GlobalTable", "MetadataTable")
    for function in _service_functions(template, "Feedback").values():
        assert function["Environment"]["Variables"]["TABLE_NAME"] == {"Ref": table}
    assert {"Action": "dynamodb:PutItem", "Effect": "Allow", "Resource": {"Fn::GetAtt": [table, "Arn"]}} in (
        role_statements(template, "FeedbackCreateFunctionRole")
    )


def test_an_imported_table_is_granted_by_its_arn(template):
    assert {"Action": "dynamodb:GetItem", "Effect": "Allow", "Resource": IMPORTED_TABLE_ARN} in (
        role_statements(template, "OrdersGetFunctionRole")
    )


def test_the_shared_user_pool_authorizes_the_second_api(template):
    pool, _ = _service_resource(template, "AWS::Cognito::UserPool", "MetadataUserPool")
    _, authorizer = _service_resource(template, "AWS::ApiGateway::Authorizer", "FeedbackAuthorizer")
    assert authorizer["Properties"]["ProviderARNs"] == [{"Fn::GetAtt": [pool, "Arn"]}]


def test_an_imported_user_pool_authorizes_by_its_arn(template):
    _, authorizer = _service_resource(template, "AWS::ApiGateway::Authorizer", "OrdersAuthorizer")
    assert "eu-west-1_AbCdEfGhI" in json.dumps(authorizer["Properties"]["ProviderARNs"])


def test_operations_choose_the_routes(template):
    resources = [
        r["Properties"]["PathPart"]
        for n, r in template.find_resources("AWS::ApiGateway::Resource").items()
        if n.startswith("FeedbackApi")
    ]
    methods = sorted(
        m["Properties"]["HttpMethod"]
        for n, m in template.find_resources("AWS::ApiGateway::Method").items()
        if n.startswith("FeedbackApifeedback")
    )
    assert resources == ["feedback"], "no /feedback/{id} without an item operation"
    assert methods == ["ANY", "GET", "OPTIONS", "POST"]
    assert len(_service_functions(template, "Feedback")) == 2
    assert set(services["feedback"].functions) == {Operation.CREATE, Operation.LIST}


def test_resource_shape_reaches_the_handlers(template):
    for function in _service_functions(template, "Feedback").values():
        variables = function["Environment"]["Variables"]
        assert variables["ID_ATTRIBUTE"] == "feedbackId"
        assert variables["TIMESTAMP_ATTRIBUTE"] == "timestamp"
        assert json.loads(variables["ITEM_SCHEMA"]) == SCHEMA
        assert variables["MAX_BODY_BYTES"] == "4096"
        assert variables["OPERATIONS"] == "create,list"
        assert variables["POWERTOOLS_METRICS_NAMESPACE"] == "Acme"
        assert variables["CORS_ALLOW_ORIGINS"] == ORIGIN


def test_memory_timeout_and_log_retention(template):
    for function in _service_functions(template, "Feedback").values():
        assert function["MemorySize"] == 512 and function["Timeout"] == 5
    template.resource_properties_count_is("AWS::Logs::LogGroup", {"RetentionInDays": 7}, 3)  # functions, access, WAF


def test_stage_name_throttling_and_per_operation_throttling(template):
    _, stage = _service_resource(template, "AWS::ApiGateway::Stage", "FeedbackApiDeploymentStage")
    settings = {s["ResourcePath"] + " " + s["HttpMethod"]: s for s in stage["Properties"]["MethodSettings"]}
    assert stage["Properties"]["StageName"] == "v1"
    assert settings["/* *"]["ThrottlingRateLimit"] == 10 and settings["/* *"]["ThrottlingBurstLimit"] == 20
    assert settings["/~1feedback POST"]["ThrottlingRateLimit"] == 2
    assert settings["/~1feedback POST"]["ThrottlingBurstLimit"] == 5


def test_cors_adds_unauthenticated_preflight_only(template):
    preflights = {
        n: m["Properties"]
        for n, m in template.find_resources("AWS::ApiGateway::Method", {"Properties": {"HttpMethod": "OPTIONS"}}).items()
    }
    assert preflights and all(n.startswith("FeedbackApi") for n in preflights)
    for preflight in preflights.values():
        assert preflight["AuthorizationType"] == "NONE"
        assert preflight["Integration"]["Type"] == "MOCK"
        headers = preflight["Integration"]["IntegrationResponses"][0]["ResponseParameters"]
        assert headers["method.response.header.Access-Control-Allow-Origin"] == f"'{ORIGIN}'"
        assert headers["method.response.header.Access-Control-Allow-Methods"] == "'GET,POST'"


def test_cors_lets_browsers_read_the_gateways_own_errors(template):
    for response_type in ("DEFAULT_4XX", "DEFAULT_5XX", "MISSING_AUTHENTICATION_TOKEN"):
        template.has_resource_properties(
            "AWS::ApiGateway::GatewayResponse",
            {
                "ResponseType": response_type,
                "RestApiId": {"Ref": Match.string_like_regexp("^FeedbackApi")},
                "ResponseParameters": {"gatewayresponse.header.Access-Control-Allow-Origin": f"'{ORIGIN}'"},
            },
        )


def test_alarm_thresholds_override_the_defaults_one_by_one(template):
    _, latency = _service_resource(template, "AWS::CloudWatch::Alarm", "FeedbackMonitoringApiLatencyP99")
    _, server_errors = _service_resource(template, "AWS::CloudWatch::Alarm", "FeedbackMonitoringApiServerErrorRate")
    _, client_errors = _service_resource(template, "AWS::CloudWatch::Alarm", "FeedbackMonitoringApiClientErrorRate")
    _, duration = _service_resource(template, "AWS::CloudWatch::Alarm", "FeedbackMonitoringFunctionDuration")
    assert latency["Properties"]["Threshold"] == 800
    assert server_errors["Properties"]["Threshold"] == 5
    assert client_errors["Properties"]["Threshold"] == 25, "the others keep their defaults"
    assert duration["Properties"]["Threshold"] == 80, "80% of each function's timeout"
    assert "100 * FILL(create, 0) / 5000" in json.dumps(duration["Properties"]["Metrics"]), "the 5 s timeout"


def test_alarm_email_subscribes_to_the_topic(template):
    topic, _ = _service_resource(template, "AWS::SNS::Topic", "MetadataAlarmTopic")
    template.has_resource_properties(
        "AWS::SNS::Subscription", {"Protocol": "email", "Endpoint": "oncall@example.com", "TopicArn": {"Ref": topic}}
    )


def test_alarms_of_a_service_notify_the_topic_it_was_given(template):
    topic, _ = _service_resource(template, "AWS::SNS::Topic", "MetadataAlarmTopic")
    feedback_alarms = [a for n, a in template.find_resources("AWS::CloudWatch::Alarm").items() if n.startswith("Feedback")]
    orders_alarms = [a for n, a in template.find_resources("AWS::CloudWatch::Alarm").items() if n.startswith("Orders")]
    assert feedback_alarms and all(a["Properties"]["AlarmActions"] == [{"Ref": topic}] for a in feedback_alarms)
    assert orders_alarms and all(
        a["Properties"]["AlarmActions"] == ["arn:aws:sns:eu-west-1:123456789012:alarms"] for a in orders_alarms
    )


def test_a_given_powertools_layer_replaces_the_published_one(template):
    (function,) = _service_functions(template, "Orders").values()
    assert function["Layers"] == ["arn:aws:lambda:eu-west-1:123456789012:layer:powertools:7"]


def test_several_services_in_a_stack_share_one_api_gateway_account_role(template):
    template.resource_count_is("AWS::ApiGateway::Account", 1)


def test_only_the_table_owner_backs_it_up_and_alarms_on_it(template):
    plans = template.find_resources("AWS::Backup::BackupPlan")
    table_alarms = [n for n in template.find_resources("AWS::CloudWatch::Alarm") if "MonitoringTable" in n]
    assert [name for name in plans if not name.startswith("Metadata")] == [], "a shared table is backed up once"
    assert table_alarms and all(name.startswith("Metadata") for name in table_alarms), "and paged about once"


def test_backup_true_backs_up_a_table_passed_in_such_as_a_restored_one():
    def build(stack):
        restored = dynamodb.TableV2.from_table_name(stack, "Restored", "metadata-restored")
        ServerlessCrudApi(stack, "Metadata", resource_name="metadata", table=restored, backup=True)

    template = synthesize(build)
    template.resource_count_is("AWS::Backup::BackupPlan", 1)
    (selection,) = template.find_resources("AWS::Backup::BackupSelection").values()
    assert "table/metadata-restored" in json.dumps(selection["Properties"]["BackupSelection"]["Resources"])


def test_backup_plans_and_vaults_are_named_after_their_service(template):
    (plan,) = template.find_resources("AWS::Backup::BackupPlan").values()
    (vault,) = template.find_resources("AWS::Backup::BackupVault").values()
    assert plan["Properties"]["BackupPlan"]["BackupPlanName"].startswith("TestStack-Metadata-Backup-")
    assert vault["Properties"]["BackupVaultName"].startswith("TestStack-Metadata-Backup-")


def test_recovery_period_replicas_and_backup_lifecycle(tmp_path):
    def build(stack):
        ServerlessCrudApi(
            stack,
            "Global",
            resource_name="items",
            recovery_period_days=7,
            replica_regions=["us-east-1", "ap-southeast-2"],
            backup_retention=cdk.Duration.days(365),
            backup_cold_storage_after=cdk.Duration.days(30),
        )

    template = synthesize(build)
    (table,) = template.find_resources("AWS::DynamoDB::GlobalTable").values()
    replicas = {r["Region"]: r for r in table["Properties"]["Replicas"]}
    assert set(replicas) == {"eu-west-1", "us-east-1", "ap-southeast-2"}
    for replica in replicas.values():
        assert replica["PointInTimeRecoverySpecification"] == {
            "PointInTimeRecoveryEnabled": True,
            "RecoveryPeriodInDays": 7,
        }
        assert replica["DeletionProtectionEnabled"] is True
    (plan,) = template.find_resources("AWS::Backup::BackupPlan").values()
    (rule,) = plan["Properties"]["BackupPlan"]["BackupPlanRule"]
    assert rule["Lifecycle"] == {"DeleteAfterDays": 365, "MoveToColdStorageAfterDays": 30}


def test_backup_false_makes_no_backup_plan():
    template = synthesize(lambda stack: ServerlessCrudApi(stack, "NoBackup", resource_name="items", backup=False))
    template.resource_count_is("AWS::Backup::BackupPlan", 0)
    template.resource_count_is("AWS::Backup::BackupVault", 0)


def test_cloud_watch_role_false_leaves_the_account_setting_alone():
    template = synthesize(lambda stack: ServerlessCrudApi(stack, "Quiet", resource_name="quiet", cloud_watch_role=False))
    template.resource_count_is("AWS::ApiGateway::Account", 0)


def _policy_actions(template: Template, role_prefix: str) -> dict[str, object]:
    return {json.dumps(s["Action"]): s["Resource"] for s in role_statements(template, role_prefix)}


def test_a_table_with_a_customer_managed_key_grants_its_use_reading_or_writing(template):
    reader = _policy_actions(template, "LedgerGetFunctionRole")
    writer = _policy_actions(template, "LedgerCreateFunctionRole")

    assert reader[json.dumps("kms:Decrypt")] == LEDGER_KEY_ARN
    assert writer[json.dumps(["kms:Decrypt", "kms:Encrypt", "kms:ReEncrypt*", "kms:GenerateDataKey*"])] == LEDGER_KEY_ARN
    assert reader[json.dumps("dynamodb:GetItem")] == LEDGER_TABLE_ARN


def test_every_api_has_its_own_name(template):
    names = [api["Properties"]["Name"] for api in template.find_resources("AWS::ApiGateway::RestApi").values()]
    assert len(names) == 4 and len(set(names)) == 4


def test_waf_puts_managed_rule_groups_and_a_per_ip_rate_limit_before_the_stage(template):
    (acl_id, acl), = template.find_resources("AWS::WAFv2::WebACL").items()
    rules = {rule["Name"]: rule for rule in acl["Properties"]["Rules"]}
    stage, _ = _service_resource(template, "AWS::ApiGateway::Stage", "FeedbackApiDeploymentStage")
    api, _ = _service_resource(template, "AWS::ApiGateway::RestApi", "FeedbackApi")

    assert acl["Properties"]["Scope"] == "REGIONAL" and acl["Properties"]["DefaultAction"] == {"Allow": {}}
    assert [r["Name"] for r in sorted(rules.values(), key=lambda r: r["Priority"])] == [
        "AWSManagedRulesCommonRuleSet",
        "AWSManagedRulesKnownBadInputsRuleSet",
        "AWSManagedRulesAmazonIpReputationList",
        "RateLimitPerIp",
    ]
    common = rules["AWSManagedRulesCommonRuleSet"]["Statement"]["ManagedRuleGroupStatement"]
    assert common["RuleActionOverrides"] == [{"Name": "SizeRestrictions_BODY", "ActionToUse": {"Count": {}}}], (
        "the handler, not WAF's 8 KB rule, limits bodies"
    )
    rate = rules["RateLimitPerIp"]
    assert rate["Action"] == {"Block": {}}
    assert rate["Statement"]["RateBasedStatement"] == {"AggregateKeyType": "IP", "Limit": 500, "EvaluationWindowSec": 300}
    association = next(
        a for a in template.find_resources("AWS::WAFv2::WebACLAssociation").values()
        if a["Properties"]["WebACLArn"] == {"Fn::GetAtt": [acl_id, "Arn"]}
    )
    assert stage in json.dumps(association["Properties"]["ResourceArn"]) and api in json.dumps(
        association["Properties"]["ResourceArn"]
    )


def test_an_existing_web_acl_is_associated_without_making_one(template):
    template.resource_count_is("AWS::WAFv2::WebACL", 1)
    association = next(
        a for n, a in template.find_resources("AWS::WAFv2::WebACLAssociation").items() if n.startswith("Orders")
    )
    assert association["Properties"]["WebACLArn"] == ORG_WEB_ACL_ARN


def test_a_usage_plan_requires_an_api_key_on_every_method_but_the_preflight(template):
    methods = {
        n: m["Properties"] for n, m in template.find_resources("AWS::ApiGateway::Method").items() if n.startswith("FeedbackApi")
    }
    for name, method in methods.items():
        assert method.get("ApiKeyRequired", False) is (method["HttpMethod"] != "OPTIONS"), name
    stage, _ = _service_resource(template, "AWS::ApiGateway::Stage", "FeedbackApiDeploymentStage")
    api, _ = _service_resource(template, "AWS::ApiGateway::RestApi", "FeedbackApi")
    template.has_resource_properties(
        "AWS::ApiGateway::UsagePlan",
        {
            "ApiStages": [{"ApiId": {"Ref": api}, "Stage": {"Ref": stage}}],
            "Throttle": {"RateLimit": 5, "BurstLimit": 10},
            "Quota": {"Limit": 10000, "Period": "DAY"},
        },
    )
    assert services["feedback"].usage_plan is not None and services["metadata"].usage_plan is None


def test_without_a_usage_plan_no_method_asks_for_an_api_key(template):
    methods = [m for n, m in template.find_resources("AWS::ApiGateway::Method").items() if n.startswith("MetadataApi")]
    assert methods and not any(m["Properties"].get("ApiKeyRequired") for m in methods)


def test_the_web_acl_logs_what_it_blocks_without_the_callers_credentials(template):
    (acl_id, _), = template.find_resources("AWS::WAFv2::WebACL").items()
    (logging,) = template.find_resources("AWS::WAFv2::LoggingConfiguration").values()
    log_group_id, log_group = next(
        (n, g) for n, g in template.find_resources("AWS::Logs::LogGroup").items() if n.startswith("FeedbackWebAclLogs")
    )

    assert logging["Properties"]["ResourceArn"] == {"Fn::GetAtt": [acl_id, "Arn"]}
    assert log_group["Properties"]["LogGroupName"].startswith("aws-waf-logs-")
    assert log_group["Properties"]["LogGroupName"] in json.dumps(logging["Properties"]["LogDestinationConfigs"])
    assert logging["Properties"]["RedactedFields"] == [
        {"SingleHeader": {"Name": "authorization"}},
        {"SingleHeader": {"Name": "x-api-key"}},
    ]
    assert log_group_id in logging["DependsOn"]
    assert "KmsKeyId" in log_group["Properties"] and log_group["Properties"]["RetentionInDays"] == 7
