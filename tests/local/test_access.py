"""Who may call what, in local mode as in API Gateway: groups in ID tokens, scopes in machine clients' access tokens."""

from __future__ import annotations

import subprocess
import sys
import uuid

import pytest

from tests.local.support import LocalServerProcess, write_cdk_app

SCOPED_APP = """
import aws_cdk as cdk
from serverless_meta import ServerlessCrudApi

app = cdk.App()
stack = cdk.Stack(app, "Scoped")
ServerlessCrudApi(stack, "Orders", resource_name="orders", operation_scopes={"create": ["write"], "get": ["read"]},
                  machine_client=True, cognito_domain_prefix="scoped-orders")
app.synth()
"""


def _token(server: LocalServerProcess, *arguments: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "serverless_meta", "token", "--cdk-out", str(server.assembly_dir),
         "--state-dir", str(server.state_dir), *arguments],
        capture_output=True, text=True, timeout=120,
    )


def _issued(server: LocalServerProcess, *arguments: str) -> str:
    completed = _token(server, *arguments)
    assert completed.returncode == 0, completed.stderr
    return completed.stdout.strip()


@pytest.fixture(scope="module")
def sample(local_server) -> LocalServerProcess:
    local_server.assembly_dir = local_server.state_dir / "cdk.out"
    return local_server


def test_the_token_command_puts_a_user_in_groups_and_the_sample_lets_only_editors_write(sample):
    editor, reader = f"carol-{uuid.uuid4().hex[:6]}", f"dave-{uuid.uuid4().hex[:6]}"
    editor_token = _issued(sample, "--user", editor, "--groups", "editors")
    reader_token = _issued(sample, "--user", reader)

    written = sample.request("POST", "/prod/metadata", token=editor_token, json_body={"page": "home"})
    refused = sample.request("POST", "/prod/metadata", token=reader_token, json_body={"page": "home"})
    read = sample.request("GET", "/prod/metadata", token=reader_token)

    assert written.status == 201
    assert (refused.status, refused.json) == (403, {"message": "Only members of editors may create metadata"})
    assert read.status == 200 and written.json in [
        {k: v for k, v in item.items() if k != "etag"} for item in read.json["items"]
    ], "a reader reads what an editor wrote: Metadata is one shared collection"
    again = _issued(sample, "--user", editor)
    assert sample.request("POST", "/prod/metadata", token=again, json_body={"page": "x"}).status == 201, (
        "a user keeps their groups, as in Cognito"
    )
    removed = _issued(sample, "--user", editor, "--groups", "")
    assert sample.request("POST", "/prod/metadata", token=removed, json_body={"page": "x"}).status == 403


@pytest.mark.parametrize(
    ("arguments", "message"),
    [
        (["--user", "x", "--scopes", "metadata/write"], "--scopes goes with --client"),
        (["--client", "MachineClient"], "0 app clients of the pool match 'MachineClient'"),
        (["--client", "UserPoolClient", "--groups", "editors"], "--groups and --claim go with --user"),
        (["--client", "UserPoolClient", "--claim", "custom:tenant=acme"], "--groups and --claim go with --user"),
        (["--user", "x", "--claim", "custom:tenant"], "--claim takes NAME=VALUE"),
        (["--user", "x", "--claim", "sub=someone-else"], "sub: Cognito sets these claims itself"),
        (["--client", "UserPoolClient"], "has no client-credentials grant"),
    ],
)
def test_the_token_command_refuses_what_cognito_would(sample, arguments, message):
    completed = _token(sample, *arguments)
    assert completed.returncode == 2 and message in completed.stderr


def _serve(tmp_path_factory, name: str, source: str):
    """Local mode serving the app ``source``, for a module's tests; it must stop cleanly after them."""
    app_dir = write_cdk_app(tmp_path_factory.mktemp(f"{name}-app"), source, {})
    server = LocalServerProcess(app_dir=app_dir, state_dir=tmp_path_factory.mktemp(f"{name}-state"))
    server.assembly_dir = server.state_dir / "cdk.out"
    yield server
    assert server.stop() == 0, server.log()


@pytest.fixture(scope="module")
def scoped(tmp_path_factory):
    yield from _serve(tmp_path_factory, "scoped", SCOPED_APP)


def test_a_machine_client_with_the_scope_may_call_the_method(scoped):
    token = _issued(scoped, "--client", "MachineClient", "--scopes", "orders/write")

    created = scoped.request("POST", "/prod/orders", token=f"Bearer {token}", json_body={"sku": "A-1"})

    assert created.status == 201 and created.json["sku"] == "A-1"


def test_by_default_a_machine_client_gets_every_scope_it_may_ask_for(scoped):
    token = _issued(scoped, "--client", "MachineClient")
    created = scoped.request("POST", "/prod/orders", token=token, json_body={"sku": "B"}).json

    assert scoped.request("GET", f"/prod/orders/{created['id']}", token=token).status == 200


@pytest.mark.parametrize("kind", ["an ID token", "an access token without the scope"])
def test_a_token_without_the_methods_scope_is_401_as_api_gateway_answers(scoped, kind):
    token = (
        _issued(scoped, "--user", "erin") if kind == "an ID token"
        else _issued(scoped, "--client", "MachineClient", "--scopes", "orders/read")
    )

    response = scoped.request("POST", "/prod/orders", token=token, json_body={"sku": "C"})

    assert (response.status, response.json) == (401, {"message": "Unauthorized"})


def test_methods_without_scopes_still_take_id_tokens_and_refuse_access_tokens(scoped):
    id_token = _issued(scoped, "--user", "frank")
    access_token = _issued(scoped, "--client", "MachineClient")

    assert scoped.request("GET", "/prod/orders", token=id_token).status == 200
    assert scoped.request("GET", "/prod/orders", token=access_token).status == 401


def test_a_scope_the_client_may_not_ask_for_is_refused_as_cognito_refuses_it(scoped):
    completed = _token(scoped, "--client", "MachineClient", "--scopes", "orders/delete")

    assert completed.returncode == 2 and "invalid_scope" in completed.stderr and "orders/read orders/write" in completed.stderr


SCOPES_APP = """
import aws_cdk as cdk
from serverless_meta import ItemScope, ServerlessCrudApi

app = cdk.App()
stack = cdk.Stack(app, "Scopes")
pages = ServerlessCrudApi(stack, "Pages", resource_name="pages", item_scope=ItemScope.SHARED,
                          public_operations=["get", "list"], operation_groups={"create": ["editors"]})
ServerlessCrudApi(stack, "Orders", resource_name="orders", item_scope=ItemScope.claim("custom:tenant"), client_ids=True,
                  table=pages.table, api=pages.api, encryption_key=pages.encryption_key, alarm_topic=pages.alarm_topic)
app.synth()
"""


@pytest.fixture(scope="module")
def scopes(tmp_path_factory):
    yield from _serve(tmp_path_factory, "scopes", SCOPES_APP)


def test_a_public_read_needs_no_token_over_http_and_a_write_does(scopes):
    editor = _issued(scopes, "--user", "gina", "--groups", "editors")
    created = scopes.request("POST", "/prod/pages", token=editor, json_body={"page": "homepage"}).json

    got = scopes.request("GET", f"/prod/pages/{created['id']}")
    listed = scopes.request("GET", "/prod/pages")
    written = scopes.request("POST", "/prod/pages", json_body={"page": "spam"})

    assert (got.status, got.json) == (200, created)
    assert created["id"] in [item["id"] for item in listed.json["items"]]
    assert (written.status, written.json) == (401, {"message": "Unauthorized"})


def test_the_token_command_puts_a_tenant_claim_in_a_token_and_tenants_see_only_theirs(scopes):
    acme = _issued(scopes, "--user", "hank", "--claim", "custom:tenant=acme")
    acme_colleague = _issued(scopes, "--user", "ivy", "--claim", "custom:tenant=acme")
    globex = _issued(scopes, "--user", "jack", "--claim", "custom:tenant=globex")
    nobody = _issued(scopes, "--user", "kim")

    created = scopes.request("POST", "/prod/orders", token=acme, json_body={"sku": "A-1"}).json

    assert scopes.request("GET", f"/prod/orders/{created['id']}", token=acme_colleague).json == created
    assert scopes.request("GET", f"/prod/orders/{created['id']}", token=globex).status == 404
    assert scopes.request("GET", "/prod/orders", token=globex).json["items"] == []
    refused = scopes.request("GET", "/prod/orders", token=nobody)
    assert refused.status == 403 and "custom:tenant" in refused.json["message"]


def test_the_openapi_document_marks_public_reads_as_needing_no_security(scopes):
    import json

    completed = subprocess.run(
        [sys.executable, "-m", "serverless_meta", "openapi", "--cdk-out", str(scopes.assembly_dir), "--state-dir",
         str(scopes.state_dir)],
        capture_output=True, text=True, timeout=120,
    )
    paths = json.loads(completed.stdout)["paths"]

    assert paths["/pages"]["get"]["security"] == [] and paths["/pages/{id}"]["get"]["security"] == []
    assert paths["/pages"]["post"]["security"] == [{"cognitoIdToken": []}]
    assert paths["/orders"]["get"]["security"] == [{"cognitoIdToken": []}]
    put = paths["/orders/{id}"]["put"]
    assert "201" in put["responses"] and "If-None-Match" in [p["name"] for p in put["parameters"]], "client ids"
    assert paths["/orders/{id}"]["parameters"][0]["schema"] == {"type": "string", "pattern": "^[A-Za-z0-9._-]{1,128}$"}
    assert "201" not in paths["/pages/{id}"]["put"]["responses"]


def test_a_tenant_creates_an_order_under_its_own_id_over_http(scopes):
    acme = _issued(scopes, "--user", "lena", "--claim", "custom:tenant=acme")

    created = scopes.request("PUT", "/prod/orders/order-2026-0001", token=acme, json_body={"sku": "Z"},
                             headers={"If-None-Match": "*"})
    again = scopes.request("PUT", "/prod/orders/order-2026-0001", token=acme, json_body={"sku": "Y"},
                           headers={"If-None-Match": "*"})

    assert created.status == 201 and created.json["id"] == "order-2026-0001"
    assert again.status == 412
