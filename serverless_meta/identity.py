"""Who may call the service: a Cognito user pool and its app client, when none is passed in."""

from __future__ import annotations

from aws_cdk import aws_cognito as cognito
from constructs import Construct

from serverless_meta import defaults
from serverless_meta.compliance import acknowledge
from serverless_meta.props import ServiceProps


def build_user_pool(scope: Construct, props: ServiceProps) -> cognito.UserPool:
    """Admin-created users signing in with email and a strong password; MFA offered, not forced."""
    pool = cognito.UserPool(scope, "UserPool", **defaults.kwargs(defaults.USER_POOL))
    acknowledge(
        pool,
        "AwsSolutions-COG2",
        "MFA is offered (TOTP) but not forced: requiring it is a product decision about sign-up friction. "
        "Pass a user pool with mfa=Mfa.REQUIRED to force it.",
    )
    acknowledge(
        pool,
        "AwsSolutions-COG8",
        "Threat protection needs the Plus feature plan, billed per monthly active user with no free tier; "
        "opting every adopter into that bill is not ours to do. Pass a user pool with "
        "feature_plan=FeaturePlan.PLUS and threat protection to enable it.",
    )
    return pool


def build_user_pool_client(scope: Construct, props: ServiceProps, *, user_pool: cognito.IUserPool) -> cognito.UserPoolClient:
    """The pool's public app client (SRP sign-in, no secret, no OAuth flows)."""
    return user_pool.add_client("UserPoolClient", **defaults.kwargs(defaults.USER_POOL_CLIENT))
