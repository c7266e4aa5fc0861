"""Who may call what: Cognito groups per operation, OAuth scopes for machine clients, and what reaches the handler."""

from __future__ import annotations

import json

import pytest
from aws_cdk import aws_dynamodb as dynamodb
from aws_cdk.assertions import Match, Template

from serverless_meta import ServerlessCrudApi
from tests.support import synthesize

EDITORS = {"create": ["editors"], "update": ["editors", "admins"], "delete": ["admins"]}


def _build(stack):
    ServerlessCrudApi(
        stack,
        "Metadata",
        resource_name="metadata",
        operation_groups=EDITORS,
        operation_scopes={"create": ["write"], "update": ["write"], "get": ["read"]},
        machine_client=True,
        cognito_domain_prefix="acme-metadata",
        require_if_match=True,
    )


@pytest.fixture(scope="module")
def template() -> Template:
    return synthesize(_build)


def _methods(template: Template) -> dict[str, dict]:
    return {
        f"{m['Properties']['HttpMethod']} {m['Properties']['ResourceId']['Ref']}": m["Properties"]
        for m in template.find_resources("AWS::ApiGateway::Method").values()
    }


def test_the_handlers_learn_the_groups_and_the_if_match_rule_from_their_environment(template):
    for function in template.find_resources("AWS::Lambda::Function").values():
        variables = function["Properties"]["Environment"]["Variables"]
        assert json.loads(variables["OPERATION_GROUPS"]) == EDITORS
        assert variables["REQUIRE_IF_MATCH"] == "true"


def test_a_resource_server_holds_the_scopes_under_the_resource_name(template):
    template.has_resource_properties(
        "AWS::Cognito::UserPoolResourceServer",
        {
            "Identifier": "metadata",
            "Scopes": [
                {"ScopeName": "read", "ScopeDescription": Match.any_value()},
                {"ScopeName": "write", "ScopeDescription": Match.any_value()},
            ],
        },
    )


def test_methods_with_scopes_ask_for_them_and_keep_the_authorizer(template):
    routes = [m["Properties"] for m in template.find_resources("AWS::ApiGateway::Method").values()
              if m["Properties"]["HttpMethod"] != "ANY"]

    assert all(route["AuthorizationType"] == "COGNITO_USER_POOLS" for route in routes)
    assert sorted((route["HttpMethod"], tuple(route.get("AuthorizationScopes", ()))) for route in routes) == [
        ("DELETE", ()),
        ("GET", ()),
        ("GET", ("metadata/read",)),
        ("POST", ("metadata/write",)),
        ("PUT", ("metadata/write",)),
    ], "create and update ask for write, get for read; list and delete for none"


def test_list_asks_for_no_scope_so_it_still_takes_id_tokens(template):
    get_methods = [
        m["Properties"] for m in template.find_resources("AWS::ApiGateway::Method").values()
        if m["Properties"]["HttpMethod"] == "GET"
    ]
    assert sorted(str(m.get("AuthorizationScopes")) for m in get_methods) == ["None", "['metadata/read']"]


def test_the_machine_client_has_a_secret_and_only_the_client_credentials_grant(template):
    template.has_resource_properties(
        "AWS::Cognito::UserPoolClient",
        {
            "GenerateSecret": True,
            "AllowedOAuthFlows": ["client_credentials"],
            "AllowedOAuthFlowsUserPoolClient": True,
            "AllowedOAuthScopes": Match.array_with([
                {"Fn::Join": ["", [{"Ref": Match.string_like_regexp("ResourceServer")}, "/read"]]},
            ]),
        },
    )
    template.resource_count_is("AWS::Cognito::UserPoolClient", 2)


def test_the_domain_is_where_machine_clients_get_tokens(template):
    template.has_resource_properties("AWS::Cognito::UserPoolDomain", {"Domain": "acme-metadata"})


def test_without_scopes_there_is_no_resource_server_machine_client_or_domain():
    template = synthesize(lambda stack: ServerlessCrudApi(stack, "Plain", resource_name="plain"))
    template.resource_count_is("AWS::Cognito::UserPoolResourceServer", 0)
    template.resource_count_is("AWS::Cognito::UserPoolDomain", 0)
    template.resource_count_is("AWS::Cognito::UserPoolClient", 1)
    for method in template.find_resources("AWS::ApiGateway::Method").values():
        assert "AuthorizationScopes" not in method["Properties"]
    for function in template.find_resources("AWS::Lambda::Function").values():
        assert {"OPERATION_GROUPS", "REQUIRE_IF_MATCH"}.isdisjoint(function["Properties"]["Environment"]["Variables"])


def test_the_table_expires_idempotency_records_through_its_time_to_live():
    template = synthesize(lambda stack: ServerlessCrudApi(stack, "Plain", resource_name="plain"))
    template.has_resource_properties(
        "AWS::DynamoDB::GlobalTable", {"TimeToLiveSpecification": {"AttributeName": "expiresAt", "Enabled": True}}
    )


def test_a_shared_pool_gets_each_services_own_resource_server():
    def build(stack):
        first = ServerlessCrudApi(stack, "Metadata", resource_name="metadata", operation_scopes={"create": ["write"]})
        ServerlessCrudApi(
            stack, "Feedback", resource_name="feedback", table=first.table, user_pool=first.user_pool,
            operation_scopes={"create": ["submit"]},
        )

    template = synthesize(build)
    servers = template.find_resources("AWS::Cognito::UserPoolResourceServer")
    assert sorted(s["Properties"]["Identifier"] for s in servers.values()) == ["feedback", "metadata"]


def test_the_cors_preflight_lets_browsers_send_preconditions_and_read_etags():
    template = synthesize(
        lambda stack: ServerlessCrudApi(stack, "Web", resource_name="web", cors_allow_origins=["https://app.example.com"])
    )
    (preflight, *_) = [
        m["Properties"] for m in template.find_resources("AWS::ApiGateway::Method").values()
        if m["Properties"]["HttpMethod"] == "OPTIONS"
    ]
    headers = preflight["Integration"]["IntegrationResponses"][0]["ResponseParameters"]
    allowed = headers["method.response.header.Access-Control-Allow-Headers"]
    assert all(h in allowed for h in ("If-Match", "If-None-Match", "Idempotency-Key"))


def test_an_imported_table_is_left_as_it_is():
    def build(stack):
        ServerlessCrudApi(stack, "Guest", resource_name="guest", table=dynamodb.TableV2.from_table_name(stack, "T", "t"))

    synthesize(build).resource_count_is("AWS::DynamoDB::GlobalTable", 0)
