"""What the local-mode tests share: the real server in a child process, its replies, free ports, tiny apps."""

from __future__ import annotations

import contextlib
import json
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from tests.support import ROOT

# A method's bucket refills within a second or two: a client that waits as told gets through.
THROTTLE_RETRIES = 5

STARTUP_SECONDS = 120


@dataclass
class Reply:
    status: int
    headers: dict[str, str]
    body: bytes

    @property
    def json(self) -> Any:
        return json.loads(self.body)


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


class LocalServerProcess:
    """``python -m serverless_meta local ...`` in a child process, its log in a file.

    ``running`` holds every server not stopped yet, so that the tests' fixtures stop what a failing
    test leaves behind (tests/local/conftest.py).
    """

    running: set[LocalServerProcess] = set()

    def __init__(
        self,
        *arguments: str,
        state_dir: Path,
        app_dir: Path = ROOT,
        wait: bool = True,
        env: dict[str, str] | None = None,
        stdin: int | None = subprocess.DEVNULL,
    ) -> None:
        self.port = free_port()
        self.state_dir = state_dir
        self.log_file = state_dir / f"local-{self.port}.log"
        state_dir.mkdir(parents=True, exist_ok=True)
        command = [
            sys.executable, "-m", "serverless_meta", "local", "--port", str(self.port),
            "--app-dir", str(app_dir), "--state-dir", str(state_dir), *arguments,
        ]
        self._log = self.log_file.open("w")
        # Its own process group, so a test can tell whether anything it started outlives it.
        self.process = subprocess.Popen(
            command, stdout=self._log, stderr=subprocess.STDOUT, stdin=stdin, cwd=app_dir, env=env,
            start_new_session=True,
        )
        LocalServerProcess.running.add(self)
        if wait:
            self._wait_until_serving()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def _wait_until_serving(self) -> None:
        deadline = time.monotonic() + STARTUP_SECONDS
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"local server exited with {self.process.returncode}:\n{self.log()}")
            if "Serving on" in self.log():
                return
            time.sleep(0.1)
        self.stop()
        raise RuntimeError(f"local server did not start within {STARTUP_SECONDS} s:\n{self.log()}")

    def log(self) -> str:
        return self.log_file.read_text()

    def request(
        self,
        method: str,
        path: str,
        *,
        token: str | None = None,
        json_body: Any = None,
        body: bytes | str | None = None,
        headers: dict[str, str] | None = None,
        retry_throttled: bool = True,
    ) -> Reply:
        """The server's reply; a 429 is sent again after its Retry-After (a few times), as a client
        should, unless ``retry_throttled`` is False: tests that follow each other hit one method faster
        than its throttle lets a client do for long."""
        for _ in range(THROTTLE_RETRIES if retry_throttled else 0):
            reply = self._send(method, path, token=token, json_body=json_body, body=body, headers=headers)
            if reply.status != 429:
                return reply
            time.sleep(float(reply.headers.get("Retry-After", 1)))
        return self._send(method, path, token=token, json_body=json_body, body=body, headers=headers)

    def _send(
        self, method: str, path: str, *, token: str | None, json_body: Any, body: bytes | str | None,
        headers: dict[str, str] | None,
    ) -> Reply:
        data = json.dumps(json_body).encode() if json_body is not None else body
        if isinstance(data, str):
            data = data.encode()
        request = urllib.request.Request(self.url + path, data=data, method=method, headers=dict(headers or {}))
        if token is not None:
            request.add_header("Authorization", token)
        if data is not None and "Content-Type" not in (headers or {}):
            request.add_header("Content-Type", "application/json")
        try:
            with urllib.request.urlopen(request, timeout=30) as response:
                return Reply(response.status, dict(response.headers), response.read())
        except urllib.error.HTTPError as error:
            return Reply(error.code, dict(error.headers), error.read())

    def stop(self, signal_number: int = signal.SIGTERM) -> int:
        """SIGTERM as a process manager stops it (or SIGINT, Ctrl-C); returns its exit code."""
        if self.process.poll() is None:
            self.process.send_signal(signal_number)
            try:
                self.process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        self._log.close()
        LocalServerProcess.running.discard(self)
        return self.process.returncode

    def stop_everything(self) -> None:
        """Stop the server, then end whatever of its process group is left (a test failed midway)."""
        self.stop()
        for pid in self.group_members():
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGKILL)

    def group_members(self) -> list[int]:
        """The processes left in the server's process group (its synthesis, its environments, its DynamoDB)."""
        members = []
        for stat in Path("/proc").glob("[0-9]*/stat"):
            try:
                fields = stat.read_text().rsplit(")", 1)[1].split()
            except OSError:
                continue
            if int(fields[2]) == self.process.pid and fields[0] != "Z":  # the process group id, after state and ppid
                members.append(int(stat.parent.name))
        return members

    def group_is_gone(self, within: float = 5.0) -> bool:
        """No process is left in the server's process group, within a few seconds of its end."""
        deadline = time.monotonic() + within
        while self.group_members() and time.monotonic() < deadline:
            time.sleep(0.05)
        return not self.group_members()




def template_of(build: Callable[[Any], object]) -> dict:
    """The template of a stack that ``build(stack)`` fills, in an app of its own, as CloudFormation gets it."""
    import aws_cdk as cdk

    app = cdk.App()
    build(cdk.Stack(app, "TestStack", env=cdk.Environment(account="123456789012", region="eu-west-1")))
    return app.synth().get_stack_by_name("TestStack").template


def write_cdk_app(app_dir: Path, app_source: str, sources: dict[str, str]) -> Path:
    """A CDK app in ``app_dir``: ``app.py``, its ``cdk.json``, and handler files under ``src/``."""
    app_dir.mkdir(parents=True, exist_ok=True)
    (app_dir / "app.py").write_text(app_source)
    (app_dir / "cdk.json").write_text(json.dumps({"app": f"{sys.executable} app.py"}))
    (app_dir / "src").mkdir(exist_ok=True)
    for name, source in sources.items():
        (app_dir / "src" / name).write_text(source)
    return app_dir


# A plain CDK app of tiny functions, one code directory, each function on its own route of one API.
TINY_APP = """
import aws_cdk as cdk
from aws_cdk import aws_apigateway as apigateway
from aws_cdk import aws_lambda as lambda_

app = cdk.App()
stack = cdk.Stack(app, "Tiny")
code = lambda_.Code.from_asset("src")
api = apigateway.RestApi(stack, "Api", deploy_options=apigateway.StageOptions(stage_name="dev"))
settings = {
    "Slow": dict(timeout=1),
    "Parallel": dict(timeout=10, reserved_concurrent_executions=3),
    "Crash": dict(timeout=5),
    "Red": dict(timeout=5, environment={"COLOR": "red", "RED_ONLY": "yes"}),
    "Blue": dict(timeout=5, environment={"COLOR": "blue"}),
}
for name, extra in settings.items():
    function = lambda_.Function(stack, name, runtime=lambda_.Runtime.PYTHON_3_12, handler="tiny.handler",
                                code=code, **{"timeout": cdk.Duration.seconds(extra.pop("timeout")), **extra})
    api.root.add_resource(name.lower()).add_method("GET", apigateway.LambdaIntegration(function))
app.synth()
"""

# Sleeps, exits, stops at a breakpoint or answers, as the query asks; says who answered and what it saw.
TINY_HANDLER = """
import json
import os
import sys
import time

VERSION = {version}
SEEN = []
COLD = [True]


def handler(event, context):
    query = event.get("queryStringParameters") or {{}}
    time.sleep(float(query.get("sleep", 0)))
    if "exit" in query:
        os._exit(int(query["exit"]))
    if "breakpoint" in query:
        breakpoint()
    cold, COLD[0] = COLD[0], False
    SEEN.append(os.environ.get("COLOR"))
    print(f"handled by {{os.getpid()}}")
    body = {{"pid": os.getpid(), "version": VERSION, "cold": cold, "color": os.environ.get("COLOR"),
             "red_only": os.environ.get("RED_ONLY"), "seen": SEEN, "python": list(sys.version_info[:2]),
             "function": os.environ["AWS_LAMBDA_FUNCTION_NAME"], "remaining_ms": context.get_remaining_time_in_millis()}}
    return {{"statusCode": 200, "body": json.dumps(body)}}
"""


def write_tiny_app(app_dir: Path, version: int = 1) -> Path:
    return write_cdk_app(app_dir, TINY_APP, {"tiny.py": TINY_HANDLER.format(version=version)})
