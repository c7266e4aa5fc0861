"""Item scopes in the template: public reads (no token, stated, throttled, cached), the collection index and
who may query it, the tenant attribute; and the props that would make no sense, refused at synthesis."""

from __future__ import annotations

import json
import re

import aws_cdk as cdk
import pytest
from aws_cdk.assertions import Match, Template

from serverless_meta import InvalidPropError, ItemScope, ServerlessCrudApi
from tests.support import role_statements, synthesize


def _build(stack: cdk.Stack) -> None:
    pages = ServerlessCrudApi(
        stack, "Pages", resource_name="pages", item_scope=ItemScope.SHARED, public_operations=["get", "list"],
        public_cache_ttl=cdk.Duration.seconds(60), operation_groups={"create": ["editors"]}, indexes=["page"],
    )
    shared = dict(table=pages.table, encryption_key=pages.encryption_key, alarm_topic=pages.alarm_topic, api=pages.api)
    ServerlessCrudApi(stack, "Notes", resource_name="notes", read_all_groups=["staff"], **shared)
    ServerlessCrudApi(stack, "Orders", resource_name="orders", item_scope=ItemScope.claim("custom:tenant"))


@pytest.fixture(scope="module")
def template() -> Template:
    return synthesize(_build)


def _methods(template: Template) -> dict[str, dict]:
    resources = template.to_json()["Resources"]

    def path_of(resource_ref: dict) -> str:
        parts, name = [], resource_ref.get("Ref")
        while name is not None:
            props = resources[name]["Properties"]
            parts.append(props["PathPart"])
            parent = props["ParentId"]
            name = parent.get("Ref") if isinstance(parent, dict) and "Ref" in parent else None
        return "/" + "/".join(reversed(parts))

    return {
        f'{m["Properties"]["HttpMethod"]} {path_of(m["Properties"]["ResourceId"])}': m
        for m in resources.values()
        if m["Type"] == "AWS::ApiGateway::Method" and isinstance(m["Properties"]["ResourceId"], dict)
        and "Ref" in m["Properties"]["ResourceId"]
    }


def test_only_the_named_public_reads_take_no_token_and_the_template_says_why(template):
    methods = _methods(template)
    public = {name for name, m in methods.items() if m["Properties"]["AuthorizationType"] == "NONE"}

    assert public == {"GET /pages", "GET /pages/{id}"}
    for name in public:
        assert "public_operations names" in methods[name]["Metadata"]["serverless-meta:public"]
        assert "AuthorizerId" not in methods[name]["Properties"]
    for name, method in methods.items():
        if name not in public and not name.startswith("ANY"):
            assert method["Properties"]["AuthorizationType"] == "COGNITO_USER_POOLS", name


def test_public_reads_are_throttled_and_cached_by_page_version_and_origin(template):
    (stage,) = [s for n, s in template.find_resources("AWS::ApiGateway::Stage").items() if n.startswith("Pages")]
    settings = {(s["ResourcePath"], s["HttpMethod"]): s for s in stage["Properties"]["MethodSettings"]}

    assert stage["Properties"]["CacheClusterEnabled"] is True and stage["Properties"]["CacheClusterSize"] == "0.5"
    for path in ("/~1pages", "/~1pages~1{id}"):
        setting = settings[(path, "GET")]
        # Public reads' own 10/s, bursts of 20, within what the function takes (bursts of half its 20 environments).
        assert (setting["ThrottlingRateLimit"], setting["ThrottlingBurstLimit"]) == (10, 10)
        assert (setting["CachingEnabled"], setting["CacheTtlInSeconds"], setting["CacheDataEncrypted"]) == (True, 60, True)
    assert settings[("/*", "*")].get("CachingEnabled") is None, "no other method is cached"
    methods = _methods(template)
    keys = methods["GET /pages"]["Properties"]["Integration"]["CacheKeyParameters"]
    assert set(keys) == {"method.request.querystring.limit", "method.request.querystring.next",
                         "method.request.querystring.order", "method.request.querystring.page",
                         "method.request.header.If-None-Match", "method.request.header.Origin"}, "every parameter a list takes"
    assert "method.request.path.id" in methods["GET /pages/{id}"]["Properties"]["Integration"]["CacheKeyParameters"]


def test_readers_of_every_owners_items_query_the_tables_collection_index_and_nothing_more(template):
    template.has_resource_properties(
        "AWS::DynamoDB::GlobalTable",
        {
            "GlobalSecondaryIndexes": Match.array_with([
                {
                    "IndexName": "collection",
                    "KeySchema": [
                        {"AttributeName": "collectionPk", "KeyType": "HASH"},
                        {"AttributeName": "collectionSk", "KeyType": "RANGE"},
                    ],
                    "Projection": {"ProjectionType": "ALL"},
                }
            ])
        },
    )
    for role, expected in (("NotesGetFunctionRole", {"dynamodb:GetItem", "dynamodb:Query"}), ("NotesListFunctionRole", {"dynamodb:Query"}),
                           ("NotesUpdateFunctionRole", {"dynamodb:UpdateItem"})):
        actions = {
            action
            for statement in role_statements(template, role)
            for action in ([statement["Action"]] if isinstance(statement["Action"], str) else statement["Action"])
            if action.startswith("dynamodb:")
        }
        assert actions == expected, role
    (index_grant,) = [
        s for s in role_statements(template, "NotesGetFunctionRole") if s["Action"] == "dynamodb:Query"
    ]
    assert json.dumps(index_grant["Resource"]).endswith('"/index/collection"]]}')


def test_the_handlers_are_told_the_scope_and_who_reads_everything(template):
    variables = {
        re.match(r"(Pages|Notes|Orders)", name).group(1): fn["Properties"]["Environment"]["Variables"]
        for name, fn in template.find_resources("AWS::Lambda::Function").items()
        if name.endswith(tuple("0123456789ABCDEF")) and "GetFunction" in name
    }
    assert (variables["Pages"]["ITEM_SCOPE"], variables["Pages"]["PUBLIC_OPERATIONS"]) == ("shared", "list,get")
    assert variables["Notes"]["READ_ALL_GROUPS"] == "staff" and "ITEM_SCOPE" not in variables["Notes"]
    assert variables["Orders"]["ITEM_SCOPE"] == "claim:custom:tenant"


def test_a_tenant_service_makes_its_pool_with_the_tenant_attribute_nobody_can_change(template):
    template.has_resource_properties(
        "AWS::Cognito::UserPool",
        {"Schema": Match.array_with([Match.object_like({"Name": "tenant", "AttributeDataType": "String", "Mutable": False})])},
    )


def test_an_owner_scoped_service_has_no_index_public_method_or_cache():
    template = synthesize(lambda stack: ServerlessCrudApi(stack, "Items", resource_name="items"))
    template.has_resource_properties("AWS::DynamoDB::GlobalTable", {"GlobalSecondaryIndexes": Match.absent()})
    template.has_resource_properties("AWS::ApiGateway::Stage", {"CacheClusterEnabled": Match.absent()})
    assert all(m["Properties"]["AuthorizationType"] != "NONE" or m["Properties"]["HttpMethod"] == "ANY"
               for m in template.find_resources("AWS::ApiGateway::Method").values())


# --- Props that make no sense ------------------------------------------------------------------------------


def _fails(prop: str, expected: str, **props) -> None:
    stack = cdk.Stack(cdk.App(), "ScopeStack")
    with pytest.raises(InvalidPropError) as raised:
        ServerlessCrudApi(stack, "Service", resource_name="items", **props)
    assert raised.value.prop == prop and re.search(expected, raised.value.expected), raised.value.expected


def test_fails_if_a_write_is_public():
    _fails("public_operations", "reads only .*create would let anyone write",
           item_scope=ItemScope.SHARED, public_operations=["get", "create"])


def test_fails_if_public_reads_are_asked_of_items_that_are_not_one_shared_collection():
    _fails("public_operations", "left out with ItemScope.OWNER", public_operations=["get"])


def test_fails_if_read_all_groups_are_given_with_a_shared_collection():
    _fails("read_all_groups", "left out with ItemScope.SHARED", item_scope=ItemScope.SHARED, read_all_groups=["staff"])


@pytest.mark.parametrize("claim", ["tenant", "custom:", "custom:way_too_long_a_name_here", "email"])
def test_fails_if_the_claim_is_not_a_custom_attribute(claim):
    _fails("item_scope", r"ItemScope.claim\('custom:<attribute>'\)", item_scope=ItemScope.claim(claim))


def test_fails_if_a_read_all_scope_is_not_one_the_read_methods_take():
    _fails("read_all_scopes", "scopes that operation_scopes also puts on get, list", read_all_scopes=["audit"])


def test_fails_if_a_public_read_also_names_groups():
    _fails("public_operations", "without operation_groups or operation_scopes", item_scope=ItemScope.SHARED,
           public_operations=["list"], operation_groups={"list": ["readers"]})


def test_fails_if_a_cache_is_asked_without_public_reads_or_beyond_an_hour():
    _fails("public_cache_ttl", "left out unless public_operations", public_cache_ttl=cdk.Duration.seconds(30))
    _fails("public_cache_ttl", "from 1 to 3600", item_scope=ItemScope.SHARED, public_operations=["get"],
           public_cache_ttl=cdk.Duration.hours(2))


# --- Lookups by declared attributes ---------------------------------------------------------------------------


def test_each_declared_attribute_has_an_index_of_the_table_shared_by_every_service_on_it_and_only_list_queries_it():
    def build(stack):
        first = ServerlessCrudApi(stack, "First", resource_name="first", indexes=["page", "locale"])
        ServerlessCrudApi(stack, "Second", resource_name="second", indexes=["sku"], table=first.table)

    template = synthesize(build)
    (table,) = template.find_resources("AWS::DynamoDB::GlobalTable").values()
    indexes = {i["IndexName"]: i for i in table["Properties"]["GlobalSecondaryIndexes"]}

    assert sorted(indexes) == ["lookup1", "lookup2"], "the second service's sku shares lookup1 with the first's page"
    assert [k["AttributeName"] for k in indexes["lookup1"]["KeySchema"]] == ["lookup1Pk", "lookup1Sk"]
    for role, expected in (("FirstListFunctionRole", {"/index/lookup1", "/index/lookup2"}), ("SecondListFunctionRole", {"/index/lookup1"})):
        resources = [
            json.dumps(resource)
            for statement in role_statements(template, role) if statement["Action"] == "dynamodb:Query"
            for resource in (statement["Resource"] if isinstance(statement["Resource"], list) else [statement["Resource"]])
        ]
        assert {r[r.index("/index/"):].split('"')[0] for r in resources if "/index/" in r} == expected, role
    for role in ("FirstGetFunctionRole", "FirstCreateFunctionRole"):
        assert "/index/" not in json.dumps(role_statements(template, role)), role


@pytest.mark.parametrize(
    ("indexes", "schema", "expected"),
    [
        (["page", "page"], None, "distinct attribute names"),
        (["a", "b", "c", "d", "e", "f"], None, "at most 5 attributes"),
        (["pk"], None, "a plain attribute name"),
        (["id"], None, "client attributes: the id and the timestamp"),
        (["layout"], {"type": "object", "properties": {"page": {"type": "string"}}}, "attributes item_schema names"),
        (["tags"], {"type": "object", "properties": {"tags": {"type": "array"}}}, "as strings or numbers"),
    ],
)
def test_fails_if_indexes_name_attributes_that_cannot_be_looked_up(indexes, schema, expected):
    _fails("indexes", expected, indexes=indexes, **({"item_schema": schema} if schema else {}))


def test_fails_if_clients_would_choose_ids_on_a_service_without_create_and_update():
    _fails("client_ids", "left out unless the service offers create and update", client_ids=True, operations=["create", "get"])
    _fails("client_ids", "left out unless the service offers create and update", client_ids=True, operations=["update", "get"])


def test_fails_if_client_ids_would_let_an_update_scope_create_or_meet_readers_of_all():
    _fails("client_ids", "the same operation_scopes on create and update", client_ids=True,
           operation_scopes={"create": ["write"]})
    _fails("client_ids", "a client's id is unique per owner only", client_ids=True, read_all_groups=["staff"])


@pytest.mark.parametrize("name", ["limit", "next", "order"])
def test_fails_if_an_index_is_named_as_a_parameter_the_list_takes(name):
    _fails("indexes", "attributes other than the list's own parameters", indexes=[name])
