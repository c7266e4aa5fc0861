"""Secure defaults for each resource ServerlessCrudApi makes, in one place."""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import Any

from aws_cdk import Duration, RemovalPolicy, Stack
from aws_cdk import aws_apigateway as apigateway
from aws_cdk import aws_cognito as cognito
from aws_cdk import aws_dynamodb as dynamodb
from aws_cdk import aws_iam as iam
from aws_cdk import aws_kms as kms
from aws_cdk import aws_sns as sns
from constructs import Construct

from serverless_meta.operations import ROUTES, Operation

THROTTLING = apigateway.ThrottleSettings(rate_limit=50, burst_limit=100)

METHOD_NOT_ALLOWED_RESPONSE = apigateway.MethodResponse(
    status_code="405", response_parameters={"method.response.header.Allow": True}
)


def table_props(*, recovery_period_days: int, replica_regions: Sequence[str]) -> dict[str, Any]:
    """Single-table design: ``pk`` the owner, ``sk`` ``<resource>#<id>``; on-demand, recoverable, kept.

    Every replica (a global table, with ``replica_regions``) gets the same recovery and protection.
    """
    recovery = dynamodb.PointInTimeRecoverySpecification(
        point_in_time_recovery_enabled=True, recovery_period_in_days=recovery_period_days
    )
    return {
        "partition_key": dynamodb.Attribute(name="pk", type=dynamodb.AttributeType.STRING),
        "sort_key": dynamodb.Attribute(name="sk", type=dynamodb.AttributeType.STRING),
        "billing": dynamodb.Billing.on_demand(),
        "point_in_time_recovery_specification": recovery,
        "deletion_protection": True,
        "removal_policy": RemovalPolicy.RETAIN,
        "encryption": dynamodb.TableEncryptionV2.aws_managed_key(),
        "replicas": [
            dynamodb.ReplicaTableProps(
                region=region, point_in_time_recovery_specification=recovery, deletion_protection=True
            )
            for region in replica_regions
        ],
    }


def user_pool_props() -> dict[str, Any]:
    """Users are created by an administrator and sign in with their email and a strong password."""
    return {
        "self_sign_up_enabled": False,
        "sign_in_aliases": cognito.SignInAliases(email=True),
        "auto_verify": cognito.AutoVerifiedAttrs(email=True),
        "password_policy": cognito.PasswordPolicy(
            min_length=12,
            require_lowercase=True,
            require_uppercase=True,
            require_digits=True,
            require_symbols=True,
            temp_password_validity=Duration.days(3),
        ),
        "mfa": cognito.Mfa.OPTIONAL,
        "mfa_second_factor": cognito.MfaSecondFactor(otp=True, sms=False),
        "account_recovery": cognito.AccountRecovery.EMAIL_ONLY,
        "deletion_protection": True,
        "removal_policy": RemovalPolicy.RETAIN,
    }


def user_pool_client_props() -> dict[str, Any]:
    """A public client (no secret) for browsers and apps, signing in with SRP; short-lived ID tokens.

    No OAuth flows: CDK's defaults would enable the implicit and code grants with a placeholder
    callback URL. Add a client of your own with ``user_pool.add_client`` for a hosted sign-in page.
    """
    return {
        "auth_flows": cognito.AuthFlow(user_srp=True),
        "disable_o_auth": True,
        "generate_secret": False,
        "prevent_user_existence_errors": True,
        "id_token_validity": Duration.hours(1),
        "access_token_validity": Duration.hours(1),
        "refresh_token_validity": Duration.days(30),
    }


def service_key(scope: Construct) -> kms.Key:
    """A rotating key for the service's log groups, alarm topic and backups.

    Its policy lets this account's CloudWatch Logs use it for this account's log groups, and
    CloudWatch alarms publish to a topic it encrypts (the topic's policy admits only this account's).
    """
    stack = Stack.of(scope)
    key = kms.Key(scope, "Key", description=f"Encrypts {scope.node.path}'s logs, alarm topic and backups", enable_key_rotation=True)
    key.add_to_resource_policy(
        iam.PolicyStatement(
            actions=["kms:Encrypt*", "kms:Decrypt*", "kms:ReEncrypt*", "kms:GenerateDataKey*", "kms:Describe*"],
            principals=[iam.ServicePrincipal(f"logs.{stack.region}.amazonaws.com")],
            resources=["*"],
            conditions={
                "ArnLike": {
                    "kms:EncryptionContext:aws:logs:arn": (
                        f"arn:{stack.partition}:logs:{stack.region}:{stack.account}:log-group:*"
                    )
                }
            },
        )
    )
    # As AWS documents it for alarms publishing to an encrypted topic: a condition on this statement
    # is not documented to hold for CloudWatch's KMS calls, and a failing one drops every alarm.
    key.add_to_resource_policy(
        iam.PolicyStatement(
            actions=["kms:Decrypt", "kms:GenerateDataKey*"],
            principals=[iam.ServicePrincipal("cloudwatch.amazonaws.com")],
            resources=["*"],
        )
    )
    return key


def alarm_topic(scope: Construct, key: kms.IKey) -> sns.Topic:
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


def access_log_format() -> apigateway.AccessLogFormat:
    """One JSON line per request, with the caller's Cognito sub and the request id the handlers log."""
    fields = apigateway.AccessLogField
    return apigateway.AccessLogFormat.custom(
        json.dumps(
            {
                "requestId": fields.context_request_id(),
                "requestTime": fields.context_request_time(),
                "ip": fields.context_identity_source_ip(),
                "user": fields.context_authorizer_claims("sub"),
                "method": fields.context_http_method(),
                "path": fields.context_path(),
                "resource": fields.context_resource_path(),
                "status": fields.context_status(),
                "responseLength": fields.context_response_length(),
                "responseLatency": fields.context_response_latency(),
                "integrationLatency": fields.context_integration_latency(),
                "error": fields.context_error_message(),
            }
        )
    )


def cors_options(origins: Sequence[str], operations: Sequence[Operation]) -> apigateway.CorsOptions:
    return apigateway.CorsOptions(
        allow_origins=list(origins),
        allow_methods=sorted({ROUTES[op].method for op in operations}),
        allow_headers=["Authorization", "Content-Type"],
        expose_headers=["Location"],
        max_age=Duration.hours(1),
    )


def gateway_error_cors_headers(origins: Sequence[str]) -> dict[str, str]:
    """CORS headers for the gateway's own errors (401, 403, 404, 429, 5XX), so browsers can read them.

    A gateway response cannot pick one of several origins per request; with several, its
    error bodies (which carry no data) are readable from any origin.
    """
    if not origins:
        return {}
    return {"Access-Control-Allow-Origin": f"'{origins[0]}'" if len(origins) == 1 else "'*'"}


# Content types the 405 answer is mapped for; API Gateway answers 415 to a body of any other type.
METHOD_NOT_ALLOWED_CONTENT_TYPES = (
    "application/json",
    "application/x-www-form-urlencoded",
    "application/xml",
    "application/octet-stream",
    "multipart/form-data",
    "text/plain",
    "text/xml",
)


def method_not_allowed(allowed_methods: Sequence[str]) -> apigateway.MockIntegration:
    """The gateway's answer to a method a resource does not offer: 405 with ``Allow``."""
    return apigateway.MockIntegration(
        passthrough_behavior=apigateway.PassthroughBehavior.NEVER,
        request_templates={content_type: '{"statusCode": 405}' for content_type in METHOD_NOT_ALLOWED_CONTENT_TYPES},
        integration_responses=[
            apigateway.IntegrationResponse(
                status_code="405",
                response_parameters={"method.response.header.Allow": f"'{', '.join(allowed_methods)}'"},
                response_templates={"application/json": '{"message": "Method Not Allowed"}'},
            )
        ],
    )
