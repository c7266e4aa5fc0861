"""The service's KMS key, for its log groups, alarm topic and backups, when none is passed in."""

from __future__ import annotations

from aws_cdk import Stack
from aws_cdk import aws_iam as iam
from aws_cdk import aws_kms as kms
from constructs import Construct

from serverless_meta.props import ServiceProps


def build_service_key(scope: Construct, props: ServiceProps) -> kms.Key:
    """A rotating key that this account's CloudWatch Logs and CloudWatch alarms may use, and nothing else.

    Logs may use it for this account's log groups; CloudWatch alarms may publish to a topic it
    encrypts (the topic's policy admits only this account's alarms).
    """
    stack = Stack.of(scope)
    key = kms.Key(
        scope, "Key", description=f"Encrypts {scope.node.path}'s logs, alarm topic and backups", enable_key_rotation=True
    )
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
