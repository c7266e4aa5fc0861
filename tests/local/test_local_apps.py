"""Local mode beyond the sample app: any REST API, live handler edits, an external DynamoDB, clean stops."""

from __future__ import annotations

import sys
import textwrap
import time
import uuid

import pytest

from tests.local.conftest import LocalServerProcess, process_exists

HELLO_APP = """
import aws_cdk as cdk
from aws_cdk import aws_apigateway as apigateway
from aws_cdk import aws_lambda as lambda_

app = cdk.App()
stack = cdk.Stack(app, "Hello")
function = lambda_.Function(
    stack, "Hello", runtime=lambda_.Runtime.PYTHON_3_12, handler="hello.handler", code=lambda_.Code.from_asset("src"),
    environment={"GREETING": "hello"},
)
apigateway.LambdaRestApi(stack, "Api", handler=function, deploy_options=apigateway.StageOptions(stage_name="dev"))
app.synth()
"""

HELLO_HANDLER = """
import json
import os


def handler(event, context):
    body = {{"version": {version}, "greeting": os.environ["GREETING"], "path": event["path"],
             "proxy": event["pathParameters"]["proxy"]}}
    return {{"statusCode": 200, "headers": {{"Content-Type": "application/json"}}, "body": json.dumps(body)}}
"""


@pytest.fixture(scope="module")
def hello_app(tmp_path_factory):
    """A plain CDK app of its own: a proxy-integrated RestApi, no Cognito, no ServerlessCrudApi."""
    app_dir = tmp_path_factory.mktemp("hello-app")
    (app_dir / "app.py").write_text(HELLO_APP)
    (app_dir / "cdk.json").write_text(f'{{"app": "{sys.executable} app.py"}}')
    (app_dir / "src").mkdir()
    (app_dir / "src" / "hello.py").write_text(HELLO_HANDLER.format(version=1))
    return app_dir


def test_any_rest_api_is_served_and_handler_edits_need_no_restart(hello_app, tmp_path):
    server = LocalServerProcess(app_dir=hello_app, state_dir=tmp_path / "state")
    try:
        before = server.request("GET", "/dev/greetings/en/formal")
        time.sleep(1.1)  # a newer mtime than the first version's, whatever the filesystem's resolution
        (hello_app / "src" / "hello.py").write_text(HELLO_HANDLER.format(version=2))
        time.sleep(0.6)
        after = server.request("GET", "/dev/greetings/en/formal")
    finally:
        assert server.stop() == 0

    assert before.json == {"version": 1, "greeting": "hello", "path": "/greetings/en/formal", "proxy": "greetings/en/formal"}
    assert after.json["version"] == 2
    assert not process_exists(server.process.pid), "the server leaves no process behind"


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
        token = pools.issue_id_token(pool, f"dana-{uuid.uuid4().hex[:6]}")
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
