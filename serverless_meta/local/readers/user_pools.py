"""Cognito user pools and their app clients (their OAuth flows and scopes)."""

from __future__ import annotations

from serverless_meta.local.model import AppClient, LocalApp, UserPool
from serverless_meta.local.readers.stack import StackTemplate


def read(stack: StackTemplate, app: LocalApp) -> None:
    clients: dict[str, list[AppClient]] = {}
    for logical_id, resource in stack.of_type("AWS::Cognito::UserPoolClient").items():
        props = resource.get("Properties", {})
        pool = props.get("UserPoolId", {})
        if isinstance(pool, dict) and "Ref" in pool:
            clients.setdefault(pool["Ref"], []).append(
                AppClient(
                    client_id=stack.intrinsics.ref(logical_id),
                    path=stack.path_of(logical_id, resource),
                    client_credentials="client_credentials" in props.get("AllowedOAuthFlows", []),
                    scopes=stack.intrinsics.strings(
                        props.get("AllowedOAuthScopes", []), f"{stack.key(logical_id)} AllowedOAuthScopes",
                        "the client cannot ask for that scope",
                    ),
                )
            )
    for logical_id, resource in stack.of_type("AWS::Cognito::UserPool").items():
        pool_clients = tuple(clients.get(logical_id, ()))
        app.user_pools[stack.key(logical_id)] = UserPool(
            key=stack.key(logical_id),
            path=stack.path_of(logical_id, resource),
            pool_id=stack.intrinsics.ref(logical_id),
            region=stack.region,
            client_ids=tuple(client.client_id for client in pool_clients),
            clients=pool_clients,
        )


def imported_pool(stack: StackTemplate, app: LocalApp, arn: str) -> str:
    """A pool the template only names by ARN: emulated under that ARN, with any client accepted; its key."""
    pool_id = arn.rsplit("/", 1)[-1]
    region = pool_id.split("_", 1)[0] if "_" in pool_id else stack.region
    app.user_pools.setdefault(arn, UserPool(key=arn, path=arn, pool_id=pool_id, region=region, client_ids=()))
    return arn
