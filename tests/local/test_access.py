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
    assert read.status == 200 and read.json["items"] == []
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
        (["--client", "UserPoolClient", "--groups", "editors"], "--groups goes with --user"),
        (["--client", "UserPoolClient"], "has no client-credentials grant"),
    ],
)
def test_the_token_command_refuses_what_cognito_would(sample, arguments, message):
    completed = _token(sample, *arguments)
    assert completed.returncode == 2 and message in completed.stderr


@pytest.fixture(scope="module")
def scoped(tmp_path_factory):
    app_dir = write_cdk_app(tmp_path_factory.mktemp("scoped-app"), SCOPED_APP, {})
    server = LocalServerProcess(app_dir=app_dir, state_dir=tmp_path_factory.mktemp("scoped-state"))
    server.assembly_dir = server.state_dir / "cdk.out"
    yield server
    assert server.stop() == 0, server.log()


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
