"""Local mode beyond the sample app: any REST API, live handler edits, an external DynamoDB, clean stops."""

from __future__ import annotations

import base64
import re
import signal
import socket
import time
import uuid

import pytest

from tests.local.support import LocalServerProcess, write_cdk_app

HELLO_APP = """
import aws_cdk as cdk
from aws_cdk import aws_apigateway as apigateway
from aws_cdk import aws_dynamodb as dynamodb
from aws_cdk import aws_lambda as lambda_

app = cdk.App()
stack = cdk.Stack(app, "Hello")
code = lambda_.Code.from_asset("src")
public = lambda_.Function(stack, "Public", runtime=lambda_.Runtime.PYTHON_3_12, handler="hello.handler", code=code,
                          environment={"GREETING": "hello", "NAME": "public"})
admin = lambda_.Function(stack, "Admin", runtime=lambda_.Runtime.PYTHON_3_12, handler="hello.handler", code=code,
                         environment={"NAME": "admin"})
stage = apigateway.StageOptions(stage_name="dev")
public_api = apigateway.LambdaRestApi(stack, "PublicApi", handler=public, deploy_options=stage,
                                     binary_media_types=["image/*"])
apigateway.LambdaRestApi(stack, "AdminApi", handler=admin, deploy_options=stage)
# Resources the function names, defined after it: what they resolve to must not depend on that order.
public.add_environment("API_ID", public_api.rest_api_id)
greetings = dynamodb.Table(stack, "Greetings", partition_key=dynamodb.Attribute(name="pk", type=dynamodb.AttributeType.STRING))
public.add_environment("TABLE_NAME", greetings.table_name)
app.synth()
"""

# Echoes what it was given; sets no Content-Type, so API Gateway's default applies.
HELLO_HANDLER = """
import base64
import json
import os


def handler(event, context):
    if event["path"].endswith("/png"):
        return {{"statusCode": 200, "headers": {{"Content-Type": "image/png"}}, "isBase64Encoded": True,
                "body": base64.b64encode(b"\\x89PNG-bytes").decode()}}
    body = {{"version": {version}, "name": os.environ["NAME"], "greeting": os.environ.get("GREETING"),
             "path": event["path"], "proxy": event["pathParameters"]["proxy"],
             "query": event["queryStringParameters"], "multi_query": event["multiValueQueryStringParameters"],
             "header": event["headers"].get("X-Test"), "body": event["body"], "base64": event["isBase64Encoded"],
             "api_id": os.environ.get("API_ID"), "table": os.environ.get("TABLE_NAME")}}
    return {{"statusCode": 200, "body": json.dumps(body)}}
"""


@pytest.fixture(scope="module")
def hello_app(tmp_path_factory):
    """A plain CDK app: two proxy-integrated RestApis on one stage, no Cognito, no ServerlessCrudApi."""
    return write_cdk_app(tmp_path_factory.mktemp("hello-app"), HELLO_APP, {"hello.py": HELLO_HANDLER.format(version=1)})


@pytest.fixture(scope="module")
def hello_server(hello_app, tmp_path_factory):
    server = LocalServerProcess(app_dir=hello_app, state_dir=tmp_path_factory.mktemp("hello-state"))
    yield server
    assert server.stop() == 0
    assert server.group_is_gone(), "the server leaves no process behind"


def test_any_rest_api_is_served_with_its_functions_environment(hello_server):
    response = hello_server.request("GET", "/dev/greetings/en", headers={"X-Test": "yes"})

    assert response.status == 200
    assert response.headers["Content-Type"] == "application/json", "API Gateway's default"
    assert response.json["name"] == "public" and response.json["greeting"] == "hello"
    assert response.json["path"] == "/greetings/en" and response.json["proxy"] == "greetings/en"
    assert response.json["header"] == "yes"


def test_an_api_shadowed_by_another_is_reached_by_its_id(hello_server):
    warning = next(line for line in hello_server.log().splitlines() if "is shadowed by" in line)
    prefix = re.search(r"reach it at (/restapis/\w+/dev/_user_request_)", warning).group(1)

    response = hello_server.request("GET", f"{prefix}/anything")

    assert response.json["name"] == "admin"
    assert response.json["greeting"] is None, "one function's environment never leaks into another's"


def test_a_function_is_given_the_id_of_its_api_and_the_name_of_its_table_as_local_mode_serves_them(hello_server):
    """``fn.add_environment("API_ID", api.rest_api_id)``: the API is read after the function, which once lost the
    variable (with a warning at startup)."""
    import boto3

    log = hello_server.log()
    (api_id,) = re.findall(r"OpenAPI document of Hello/PublicApi: \S+/restapis/(\w+)/openapi\.json", log)
    (endpoint,) = re.findall(r"DynamoDB: embedded \(moto, in memory, at (\S+)\)", log)
    tables = boto3.client("dynamodb", endpoint_url=endpoint, region_name="us-east-1", aws_access_key_id="local",
                          aws_secret_access_key="local").list_tables()["TableNames"]

    by_id = hello_server.request("GET", f"/restapis/{api_id}/dev/_user_request_/whoami")

    assert (by_id.status, by_id.json["name"]) == (200, "public"), "the id reaches the API it names"
    assert by_id.json["api_id"] == api_id
    assert by_id.json["table"] in tables
    assert "cannot be resolved" not in log


def test_repeated_query_keys_and_encoded_slashes_arrive_as_api_gateway_sends_them(hello_server):
    response = hello_server.request("GET", "/dev/files/a%2Fb?k=1&k=2&empty=")

    assert response.json["proxy"] == "files/a/b"
    assert response.json["query"] == {"k": "2", "empty": ""}
    assert response.json["multi_query"] == {"k": ["1", "2"], "empty": [""]}


def test_binary_media_types_travel_base64_encoded(hello_server):
    sent = hello_server.request("POST", "/dev/upload", body=b"\x89PNG\x00\xff", headers={"Content-Type": "image/png"})
    text = hello_server.request("POST", "/dev/upload", body=b"plain", headers={"Content-Type": "text/plain"})
    accepted = hello_server.request("GET", "/dev/png", headers={"Accept": "image/png"})
    not_accepted = hello_server.request("GET", "/dev/png")

    assert sent.json["base64"] is True and base64.b64decode(sent.json["body"]) == b"\x89PNG\x00\xff"
    assert text.json["base64"] is False and text.json["body"] == "plain"
    assert accepted.body == b"\x89PNG-bytes"
    assert base64.b64decode(not_accepted.body) == b"\x89PNG-bytes", "without a binary Accept, the base64 text"


def test_chunked_bodies_are_read_and_bad_lengths_are_400(hello_server):
    chunked = _raw(hello_server, b"POST /dev/x HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: chunked\r\n\r\n"
                                 b"5\r\nhello\r\n6\r\n world\r\n0\r\n\r\n")
    bad_length = _raw(hello_server, b"POST /dev/x HTTP/1.1\r\nHost: h\r\nContent-Length: abc\r\n\r\n")
    huge = _raw(hello_server, b"POST /dev/x HTTP/1.1\r\nHost: h\r\nContent-Length: 100000000000\r\n\r\n")

    assert chunked.startswith(b"HTTP/1.1 200") and b'"body": "hello world"' in chunked
    # Malformed HTTP is the HTTP server's (waitress's) to answer, in plain text, as API Gateway's front does.
    assert bad_length.startswith(b"HTTP/1.1 400") and b"Content-Length is invalid" in bad_length
    assert huge.startswith(b"HTTP/1.1 413"), "over API Gateway's 10 MB payload"


def _raw(server, request: bytes) -> bytes:
    with socket.create_connection(("127.0.0.1", server.port), timeout=10) as connection:
        connection.sendall(request)
        connection.shutdown(socket.SHUT_WR)
        received = b""
        while chunk := connection.recv(65536):
            received += chunk
    return received


def test_handler_edits_need_no_restart(hello_app, hello_server):
    before = hello_server.request("GET", "/dev/reload")
    time.sleep(1.1)  # a newer mtime than the first version's, whatever the filesystem's resolution
    (hello_app / "src" / "hello.py").write_text(HELLO_HANDLER.format(version=2))
    time.sleep(0.6)
    after = hello_server.request("GET", "/dev/reload")

    assert (before.json["version"], after.json["version"]) == (1, 2)


@pytest.mark.parametrize("signal_number", [signal.SIGINT, signal.SIGTERM])
def test_ctrl_c_and_sigterm_stop_the_server_cleanly(hello_app, hello_server, tmp_path, signal_number):
    assembly_dir = hello_server.state_dir / "cdk.out"
    server = LocalServerProcess("--cdk-out", str(assembly_dir), app_dir=hello_app, state_dir=tmp_path)

    assert server.stop(signal_number) == 0, server.log()
    assert server.group_is_gone()


def test_data_outlives_a_restart_with_an_external_dynamodb(local_server, tmp_path):
    from moto.server import ThreadedMotoServer

    from serverless_meta.local import assembly
    from serverless_meta.local.cognito import LocalUserPools

    external = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    external.start()
    host, port = external.get_host_and_port()
    arguments = ("--cdk-out", str(local_server.state_dir / "cdk.out"), "--dynamodb-endpoint", f"http://{host}:{port}")
    state_dir = tmp_path / "state"
    try:
        first = LocalServerProcess(*arguments, state_dir=state_dir)
        pools = LocalUserPools(assembly.load(local_server.state_dir / "cdk.out").user_pools, state_dir)
        (pool,) = pools.pools
        token = pools.issue_id_token(pool, f"dana-{uuid.uuid4().hex[:6]}", groups=["editors"])
        created = first.request("POST", "/prod/metadata", token=token, json_body={"page": "kept"}).json
        assert first.stop() == 0

        second = LocalServerProcess(*arguments, state_dir=state_dir)
        fetched = second.request("GET", f"/prod/metadata/{created['id']}", token=token)
        assert second.stop() == 0
    finally:
        external.stop()

    assert (fetched.status, fetched.json) == (200, created)


def test_a_busy_port_is_a_clear_error(local_server, tmp_path):
    with pytest.raises(RuntimeError, match=r"(?s)exited with 1.*Address already in use"):
        LocalServerProcess(
            "--cdk-out", str(local_server.state_dir / "cdk.out"), "--port", str(local_server.port), state_dir=tmp_path
        )


def test_stopping_during_synthesis_leaves_no_process_behind(hello_app, tmp_path):
    server = LocalServerProcess(app_dir=hello_app, state_dir=tmp_path, wait=False)
    deadline = time.monotonic() + 30
    while "Synthesizing" not in server.log() and time.monotonic() < deadline:
        time.sleep(0.05)
    time.sleep(0.5)  # the app is running now

    assert server.stop() == 130, server.log()
    assert server.group_is_gone(), "the app being synthesized is stopped too"
    assert "Traceback" not in server.log()


@pytest.mark.parametrize("app", ["a plain CDK app", "the sample app"])
def test_a_relative_cdk_out_serves_as_an_absolute_one(app, hello_app, tmp_path, token_for):
    """`cdk synth`, then `serverless-meta local --cdk-out cdk.out` as anyone types it: every function failed
    INIT (its code in cdk.out/asset.<hash>, a path relative to a directory its process had left), all 502."""
    import os
    import subprocess
    import sys

    from tests.support import ROOT

    app_dir = hello_app if app == "a plain CDK app" else ROOT
    out = tmp_path / "cdk.out"  # staged assets, as `cdk synth` makes them
    env = {**os.environ, "CDK_OUTDIR": str(out), "PATH": f"{ROOT / 'node_modules' / '.bin'}{os.pathsep}{os.environ['PATH']}"}
    subprocess.run([sys.executable, "app.py"], cwd=app_dir, env=env, check=True, capture_output=True, timeout=300)
    assert any(path.name.startswith("asset.") for path in out.iterdir()), "the code is staged into the assembly"

    relative = LocalServerProcess("--cdk-out", "cdk.out", app_dir=tmp_path, state_dir=tmp_path / "state")
    try:
        if app == "a plain CDK app":
            reply = relative.request("GET", "/dev/relative?x=1")
            assert (reply.status, reply.json["name"]) == (200, "public"), relative.log()
        else:
            from serverless_meta.local import assembly
            from serverless_meta.local.cognito import LocalUserPools

            pools = LocalUserPools(assembly.load(out).user_pools, tmp_path / "state")
            (pool,) = pools.pools
            token = pools.issue_id_token(pool, "relative-user")
            reply = relative.request("GET", "/prod/feedback", token=token)
            assert reply.status == 200, relative.log()
    finally:
        assert relative.stop() == 0
