"""Who may call the service: a Cognito user pool and its app client, when none is passed in."""

from __future__ import annotations

from aws_cdk import aws_cognito as cognito
from constructs import Construct

from serverless_meta import defaults
from serverless_meta.compliance import acknowledge
from serverless_meta.operations import Operation
from serverless_meta.props import ServiceProps


def build_user_pool(scope: Construct, props: ServiceProps) -> cognito.UserPool:
    """Admin-created users signing in with email and a strong password; MFA offered, not forced."""
    attribute = props.access.item_scope.custom_attribute
    # A tenant's claim comes from a custom attribute nobody can change after the user is made: users cannot
    # move themselves to another tenant (UpdateUserAttributes refuses immutable attributes).
    custom = {attribute: cognito.StringAttribute(min_len=1, max_len=256, mutable=False)} if attribute else None
    settings = {**defaults.kwargs(defaults.USER_POOL), **defaults.kwargs(props.api.user_pool_props or cognito.UserPoolProps())}
    settings["custom_attributes"] = {**settings.get("custom_attributes", {}), **(custom or {})} or None
    pool = cognito.UserPool(scope, "UserPool", **settings)
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


def build_resource_server(
    scope: Construct, props: ServiceProps, *, user_pool: cognito.IUserPool
) -> cognito.UserPoolResourceServer | None:
    """The OAuth scopes of ``operation_scopes`` under the resource server ``<resource_name>``; None without any."""
    names = _scope_names(props)
    if not names:
        return None
    # In the service's scope, not the pool's: services sharing a pool each add their own.
    return cognito.UserPoolResourceServer(
        scope,
        "ResourceServer",
        user_pool=user_pool,
        identifier=props.resource.name,
        user_pool_resource_server_name=f"{props.resource.name} API",
        scopes=[
            cognito.ResourceServerScope(scope_name=name, scope_description=f"{name} on {props.resource.name}")
            for name in names
        ],
    )


def operation_scope_names(props: ServiceProps, operation: Operation) -> list[str]:
    """An operation's scopes as access tokens carry them: ``<resource server>/<scope>``."""
    return [f"{props.resource.name}/{name}" for name in props.api.operation_scopes.get(operation, ())]


def build_machine_client(
    scope: Construct,
    props: ServiceProps,
    *,
    user_pool: cognito.IUserPool,
    resource_server: cognito.UserPoolResourceServer | None,
) -> cognito.UserPoolClient | None:
    """A confidential app client with the client-credentials grant for every scope of the service; None unless asked for."""
    if not props.api.machine_client or resource_server is None:
        return None
    names = _scope_names(props)
    return cognito.UserPoolClient(
        scope,
        "MachineClient",
        user_pool=user_pool,
        generate_secret=True,
        auth_flows=cognito.AuthFlow(),
        prevent_user_existence_errors=True,
        access_token_validity=defaults.USER_POOL_CLIENT.access_token_validity,
        o_auth=cognito.OAuthSettings(
            flows=cognito.OAuthFlows(client_credentials=True),
            scopes=[
                cognito.OAuthScope.resource_server(
                    resource_server, cognito.ResourceServerScope(scope_name=name, scope_description=name)
                )
                for name in names
            ],
        ),
    )


def build_user_pool_domain(
    scope: Construct, props: ServiceProps, *, user_pool: cognito.IUserPool
) -> cognito.UserPoolDomain | None:
    """The pool's Cognito domain, where machine clients get their access tokens; None unless a prefix is given."""
    prefix = props.api.cognito_domain_prefix
    if prefix is None:
        return None
    return cognito.UserPoolDomain(
        scope, "UserPoolDomain", user_pool=user_pool, cognito_domain=cognito.CognitoDomainOptions(domain_prefix=prefix)
    )


def _scope_names(props: ServiceProps) -> list[str]:
    """Every scope the service's operations ask for, each once."""
    return sorted({name for scopes in props.api.operation_scopes.values() for name in scopes})
