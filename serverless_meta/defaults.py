"""Secure defaults, in one place, as typed values only: nothing here builds a resource.

Resource defaults are CDK's own props classes, so a misspelt or mistyped prop fails the
moment this module loads (jsii checks every keyword), not at deploy time. Builders, in the
module of each concern, turn them into resources with ``kwargs``.
"""

from __future__ import annotations

import inspect
from collections.abc import Sequence
from typing import Any

from aws_cdk import Duration, RemovalPolicy
from aws_cdk import aws_apigateway as apigateway
from aws_cdk import aws_cognito as cognito
from aws_cdk import aws_dynamodb as dynamodb
from aws_cdk import aws_logs as logs
from aws_cdk import aws_sqs as sqs

from serverless_meta.handlers.crud_api import contract

# --- What a prop means when it is left out -------------------------------------------------------

ID_ATTRIBUTE = "id"
MAX_BODY_BYTES = 32_768
RECOVERY_PERIOD_DAYS = 35
BACKUP_RETENTION = Duration.days(35)
MEMORY_SIZE = 256
TIMEOUT = Duration.seconds(10)
RESERVED_CONCURRENCY = 20
LOG_RETENTION = logs.RetentionDays.THREE_MONTHS
STAGE_NAME = "prod"
CLOUD_WATCH_ROLE = True
THROTTLING = apigateway.ThrottleSettings(rate_limit=50, burst_limit=100)
WAF_RATE_LIMIT = 1000
METRICS_NAMESPACE = "ServerlessMeta"

# A worker (``Worker``): each setting left out of one means these.
# A public read (public_operations) needs no token, so nothing but its throttle stands between it and
# anyone's script: lower than a signed-in caller's stage default, unless operation_throttling says otherwise.
PUBLIC_THROTTLING = apigateway.ThrottleSettings(rate_limit=10, burst_limit=20)
# How long a request holds its function's environment, on average, as what a method admits assumes
# (api.admitted): the handlers take 10-30 ms warm; a cold start holds one for a few hundred.
REQUEST_SECONDS = 0.1
# The smallest stage cache API Gateway offers, for public_cache_ttl.
PUBLIC_CACHE_SIZE = "0.5"
WORKER_TIMEOUT = Duration.seconds(30)
WORKER_MEMORY_SIZE = 256
WORKER_BATCH_SIZE = 10
WORKER_MAX_RECEIVE_COUNT = 5
WORKER_MAX_CONCURRENCY = 5
# AWS's advice for a queue a Lambda function consumes: a visibility timeout of at least six times the
# function's timeout, which leaves Lambda room to retry a batch whose invocation was throttled.
VISIBILITY_TIMEOUT_FACTOR = 6
# Changes wait out a long weekend's outage (Friday evening to Tuesday morning) and the time to fix it.
WORKER_QUEUE_RETENTION = Duration.days(7)
# SQS's longest: a change that failed every receive is kept for two weeks, to inspect and move back.
WORKER_DEAD_LETTER_RETENTION = Duration.days(14)
# What a worker needs of its table's stream: each item before and after each change.
STREAM_VIEW_TYPE = dynamodb.StreamViewType.NEW_AND_OLD_IMAGES

# --- What each resource is made with -----------------------------------------------------------


def table(*, recovery_period_days: int, replica_regions: Sequence[str], stream: bool = False) -> dynamodb.TablePropsV2:
    """Single-table design (``pk`` the owner, ``sk`` ``<resource>#<id>``); on-demand, recoverable, kept.

    Every replica (a global table, with ``replica_regions``) gets the same recovery and protection.
    ``stream``: a stream of each item's new and old images, which a worker's pipe reads.
    """
    recovery = dynamodb.PointInTimeRecoverySpecification(
        point_in_time_recovery_enabled=True, recovery_period_in_days=recovery_period_days
    )
    return dynamodb.TablePropsV2(
        partition_key=dynamodb.Attribute(name=contract.PARTITION_KEY, type=dynamodb.AttributeType.STRING),
        sort_key=dynamodb.Attribute(name=contract.SORT_KEY, type=dynamodb.AttributeType.STRING),
        billing=dynamodb.Billing.on_demand(),
        point_in_time_recovery_specification=recovery,
        deletion_protection=True,
        removal_policy=RemovalPolicy.RETAIN,
        encryption=dynamodb.TableEncryptionV2.aws_managed_key(),
        # Idempotency records carry their expiry; items never do, so items are never expired.
        time_to_live_attribute=contract.EXPIRES_AT,
        replicas=[
            dynamodb.ReplicaTableProps(
                region=region, point_in_time_recovery_specification=recovery, deletion_protection=True
            )
            for region in replica_regions
        ],
        dynamo_stream=STREAM_VIEW_TYPE if stream else None,
    )


USER_POOL = cognito.UserPoolProps(
    # Users are created by an administrator and sign in with their email and a strong password.
    self_sign_up_enabled=False,
    sign_in_aliases=cognito.SignInAliases(email=True),
    auto_verify=cognito.AutoVerifiedAttrs(email=True),
    password_policy=cognito.PasswordPolicy(
        min_length=12,
        require_lowercase=True,
        require_uppercase=True,
        require_digits=True,
        require_symbols=True,
        temp_password_validity=Duration.days(3),
    ),
    mfa=cognito.Mfa.OPTIONAL,
    mfa_second_factor=cognito.MfaSecondFactor(otp=True, sms=False),
    account_recovery=cognito.AccountRecovery.EMAIL_ONLY,
    deletion_protection=True,
    removal_policy=RemovalPolicy.RETAIN,
)

USER_POOL_CLIENT = cognito.UserPoolClientOptions(
    # A public client (no secret) for browsers and apps, signing in with SRP; short-lived ID tokens.
    # No OAuth flows: CDK's defaults would enable the implicit and code grants with a placeholder
    # callback URL. Add a client of your own with ``user_pool.add_client`` for a hosted sign-in page.
    auth_flows=cognito.AuthFlow(user_srp=True),
    disable_o_auth=True,
    generate_secret=False,
    prevent_user_existence_errors=True,
    id_token_validity=Duration.hours(1),
    access_token_validity=Duration.hours(1),
    refresh_token_validity=Duration.days(30),
)


# A worker's queue and its dead-letter queue: changes in order per item (FIFO), encrypted with the
# service's key (passed where the queue is made), reached over TLS only.
WORKER_QUEUE = sqs.QueueProps(fifo=True, encryption=sqs.QueueEncryption.KMS, enforce_ssl=True)


def kwargs(props: Any) -> dict[str, Any]:
    """A CDK props value (a jsii struct) as the keyword arguments of a construct: the fields it sets, read
    through their public properties, as its constructor names them."""
    names = [name for name in inspect.signature(type(props).__init__).parameters if name != "self"]
    return {name: value for name in names if (value := getattr(props, name)) is not None}
