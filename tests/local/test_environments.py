"""Execution environments: each function in worker processes of its own, as Lambda runs it.

Over real HTTP against the CLI, on a plain CDK app of tiny functions (``support.TINY_APP``).
"""

from __future__ import annotations

import json
import os
import re
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest

from serverless_meta.local import assembly
from serverless_meta.local.server import LocalServer
from tests.local.support import LocalServerProcess, free_port, write_tiny_app


@pytest.fixture(scope="module")
def tiny_app(tmp_path_factory) -> Path:
    return write_tiny_app(tmp_path_factory.mktemp("tiny-app"))


@pytest.fixture(scope="module")
def tiny_assembly(tiny_app, tmp_path_factory) -> Path:
    """The tiny app synthesized once by local mode; each test's server serves it with --cdk-out."""
    state = tmp_path_factory.mktemp("tiny-synth")
    server = LocalServerProcess(app_dir=tiny_app, state_dir=state)
    assert server.stop() == 0, server.log()
    return state / "cdk.out"


@pytest.fixture
def tiny(tiny_app, tiny_assembly, tmp_path):
    server = LocalServerProcess("--cdk-out", str(tiny_assembly), app_dir=tiny_app, state_dir=tmp_path)
    yield server
    assert server.stop() == 0, server.log()
    assert server.group_is_gone(), "no environment outlives the server"


def _log_lines(server, pattern: str) -> list[str]:
    return [line for line in server.log().splitlines() if re.search(pattern, line)]


def test_a_handler_that_overruns_its_timeout_is_a_502_at_the_timeout(tiny):
    started = time.monotonic()
    overrun = tiny.request("GET", "/dev/slow?sleep=3")
    elapsed = time.monotonic() - started
    after = tiny.request("GET", "/dev/slow")

    assert (overrun.status, overrun.json) == (502, {"message": "Internal server error"})
    assert 1.0 <= elapsed < 2.0, f"answered after {elapsed:.2f} s, for a 1 s timeout"
    assert _log_lines(tiny, r"Tiny/Slow: Task timed out after 1\.00 seconds")
    assert after.status == 200 and after.json["cold"] is True, "the next request gets a fresh environment"
    assert 0 < after.json["remaining_ms"] <= 1000, "the context knows the timeout"


def test_a_worker_that_dies_is_a_502_and_the_server_keeps_serving(tiny):
    first = tiny.request("GET", "/dev/crash")
    died = tiny.request("GET", "/dev/crash?exit=3")
    after = tiny.request("GET", "/dev/crash")

    assert died.status == 502 and died.json == {"message": "Internal server error"}
    assert b"Traceback" not in died.body
    assert _log_lines(tiny, r"Tiny/Crash: Runtime exited with error: exit status 3")
    assert after.status == 200 and after.json["pid"] != first.json["pid"] and after.json["cold"] is True


def test_a_worker_killed_while_idle_is_replaced_by_a_fresh_one(tiny):
    first = tiny.request("GET", "/dev/crash")
    os.kill(first.json["pid"], signal.SIGKILL)
    time.sleep(0.2)
    after = tiny.request("GET", "/dev/crash")

    assert after.status == 200 and after.json["pid"] != first.json["pid"] and after.json["cold"] is True


def test_parallel_slow_requests_finish_together_in_environments_of_their_own(tiny):
    tiny.request("GET", "/dev/parallel")  # one environment warm; the others start cold, in parallel

    def call(_):
        return tiny.request("GET", "/dev/parallel?sleep=1")

    started = time.monotonic()
    with ThreadPoolExecutor(max_workers=3) as pool:
        replies = list(pool.map(call, range(3)))
    elapsed = time.monotonic() - started

    assert [reply.status for reply in replies] == [200, 200, 200]
    assert len({reply.json["pid"] for reply in replies}) == 3
    assert elapsed < 1.8, f"three 1 s requests took {elapsed:.2f} s: they took turns"


def test_beyond_its_reserved_concurrency_a_function_is_throttled_as_api_gateway_answers(tiny):
    def call(_):
        return tiny.request("GET", "/dev/parallel?sleep=1.5")

    with ThreadPoolExecutor(max_workers=4) as pool:
        replies = list(pool.map(call, range(4)))

    statuses = sorted(reply.status for reply in replies)
    assert statuses == [200, 200, 200, 500], "reserved concurrency 3: the fourth is throttled"
    throttled = next(reply for reply in replies if reply.status == 500)
    assert throttled.json == {"message": "Internal server error"}


def test_two_functions_from_the_same_code_never_see_each_others_environment_or_modules(tiny):
    for _ in range(2):
        red = tiny.request("GET", "/dev/red").json
        blue = tiny.request("GET", "/dev/blue").json

    assert (red["color"], red["red_only"], red["seen"]) == ("red", "yes", ["red", "red"])
    assert (blue["color"], blue["red_only"], blue["seen"]) == ("blue", None, ["blue", "blue"])
    assert red["pid"] != blue["pid"]


def test_every_function_has_its_own_cold_start_logged_as_lambda_logs_init(tiny):
    red = tiny.request("GET", "/dev/red").json
    blue = tiny.request("GET", "/dev/blue").json
    red_again = tiny.request("GET", "/dev/red").json

    assert (red["cold"], blue["cold"], red_again["cold"]) == (True, True, False)
    assert len(_log_lines(tiny, r"^INIT_START Tiny/Red environment 1")) == 1
    assert len(_log_lines(tiny, r"^INIT_START Tiny/Blue environment 1")) == 1
    assert len(_log_lines(tiny, r"^INIT_REPORT Tiny/Red Init Duration: \d+\.\d\d ms")) == 1


def test_the_handlers_output_comes_before_its_requests_line(tiny):
    pid = tiny.request("GET", "/dev/red").json["pid"]

    lines = tiny.log().splitlines()
    printed = lines.index(f"handled by {pid}")
    assert re.fullmatch(r"GET /dev/red 200 \d+\.\dms Tiny/Red", lines[printed + 1])


def test_a_code_edit_retires_the_warm_environments_and_is_picked_up_on_the_next_request(tmp_path, tiny_assembly):
    # An app of its own: the edit must not reach the other tests' code.
    app_dir = write_tiny_app(tmp_path / "app", version=1)
    server = LocalServerProcess(app_dir=app_dir, state_dir=tmp_path / "state")
    try:
        before = server.request("GET", "/dev/red").json
        time.sleep(1.1)  # a newer mtime than the first version's, whatever the filesystem's resolution
        write_tiny_app(app_dir, version=2)
        time.sleep(0.6)
        after = server.request("GET", "/dev/red").json
    finally:
        assert server.stop() == 0, server.log()

    assert (before["version"], after["version"]) == (1, 2)
    assert after["pid"] != before["pid"] and after["cold"] is True, "a new environment, not a module reload"


def test_no_environment_outlives_a_server_that_is_killed(tiny_app, tiny_assembly, tmp_path):
    server = LocalServerProcess("--cdk-out", str(tiny_assembly), app_dir=tiny_app, state_dir=tmp_path)
    for path in ("/dev/red", "/dev/blue", "/dev/crash"):
        assert server.request("GET", path).status == 200
    assert len(server.group_members()) >= 5, "the server, its DynamoDB and three environments"

    server.stop(signal.SIGKILL)

    assert server.group_is_gone(), f"left behind: {server.group_members()}"


def test_every_method_is_answered_in_json(tiny):
    for method in ("PATCH", "OPTIONS", "HEAD", "PROPFIND"):
        reply = tiny.request(method, "/dev/red")
        assert reply.status == 403, method
        assert reply.headers["Content-Type"] == "application/json"
        if method != "HEAD":
            assert reply.json == {"message": "Missing Authentication Token"}


def test_with_debug_a_breakpoint_stops_in_the_terminal_that_runs_local_mode(tiny_app, tiny_assembly, tmp_path):
    server = LocalServerProcess(
        "--cdk-out", str(tiny_assembly), "--debug", "Red", app_dir=tiny_app, state_dir=tmp_path, stdin=subprocess.PIPE
    )
    try:
        with ThreadPoolExecutor(max_workers=1) as pool:
            pending = pool.submit(server.request, "GET", "/dev/red?breakpoint=1")
            deadline = time.monotonic() + 20
            while "(Pdb)" not in server.log() and time.monotonic() < deadline:
                time.sleep(0.05)
            assert "(Pdb)" in server.log(), server.log()
            server.process.stdin.write(b"p 6 * 7\nc\n")
            server.process.stdin.flush()
            reply = pending.result(timeout=20)
        undebugged = server.request("GET", "/dev/blue?breakpoint=1")
    finally:
        server.process.stdin.close()
        assert server.stop() == 0, server.log()

    assert reply.status == 200, "the debugger continued the handler"
    assert "42" in server.log(), "the debugger took commands from the terminal"
    assert undebugged.status == 502, "a function not named by --debug has no terminal: pdb reads end-of-file"


def _python_312() -> Path | None:
    found = sorted(Path.home().glob(".pyenv/versions/3.12.*/bin/python3.12"))
    return found[-1] if found else None


@pytest.mark.skipif(_python_312() is None, reason="no Python 3.12 on this machine")
def test_functions_run_on_their_runtimes_interpreter_where_the_machine_has_it(tiny_app, tiny_assembly, tmp_path):
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    (bin_dir / "python3.12").symlink_to(_python_312())
    environment = {**os.environ, "PATH": f"{bin_dir}{os.pathsep}{os.environ['PATH']}"}
    server = LocalServerProcess(
        "--cdk-out", str(tiny_assembly), app_dir=tiny_app, state_dir=tmp_path / "state", env=environment
    )
    try:
        reply = server.request("GET", "/dev/red")
    finally:
        assert server.stop() == 0

    assert reply.json["python"] == [3, 12], "the template's PYTHON_3_12"
    assert _log_lines(server, r"^INIT_START Tiny/Red environment 1, python3\.12$")


def test_a_runtime_missing_from_the_machine_falls_back_to_the_servers_python_with_one_line(tiny_app, tiny_assembly, tmp_path):
    environment = {**os.environ, "PATH": "/usr/bin:/bin"}  # no python3.12 there
    server = LocalServerProcess(
        "--cdk-out", str(tiny_assembly), app_dir=tiny_app, state_dir=tmp_path, env=environment
    )
    try:
        reply = server.request("GET", "/dev/red")
    finally:
        assert server.stop() == 0

    assert reply.status == 200
    assert len(_log_lines(server, r"^python3\.12 functions run on python3\.\d+ \(this server's\): .*not on PATH")) == 1


def test_an_assembly_synthesized_without_asset_metadata_still_serves(tiny_app, tmp_path):
    outdir = tmp_path / "cdk.out"
    subprocess.run([sys.executable, "app.py"], cwd=tiny_app, env={**os.environ, "CDK_OUTDIR": str(outdir)}, check=True)
    assert "aws:asset:path" not in (outdir / "Tiny.template.json").read_text(), "as app.synth() writes it"
    server = LocalServerProcess("--cdk-out", str(outdir), app_dir=tiny_app, state_dir=tmp_path / "state")
    try:
        reply = server.request("GET", "/dev/red")
    finally:
        assert server.stop() == 0

    assert reply.status == 200 and reply.json["color"] == "red"
    assert "will not run locally" not in server.log()


def test_local_server_runs_in_process_on_a_free_port_with_a_deep_listen_backlog_and_invokes_any_event(tiny_assembly, tmp_path):
    app = assembly.load(tiny_assembly)
    blue = next(key for key, function in app.functions.items() if function.name == "Tiny/Blue")
    server = LocalServer(app, port=0, state_dir=tmp_path)
    server.start()
    try:
        with urllib.request.urlopen(f"{server.url}/dev/blue", timeout=30) as response:
            body = json.loads(response.read())
        # Any event, not only API Gateway's: what an SQS poller, say, would hand the same environments.
        direct = server.functions.invoke(blue, {"Records": [{"body": "hello"}]})
        port = int(server.url.rsplit(":", 1)[1])
        listening = subprocess.run(["ss", "-ltnH", f"sport = :{port}"], capture_output=True, text=True).stdout
    finally:
        server.stop()

    assert body["color"] == "blue"
    assert direct["statusCode"] == 200 and json.loads(direct["body"])["pid"] == body["pid"], "the same warm environment"
    assert int(listening.split()[2]) >= 128, f"the listen backlog (ss's Send-Q): {listening!r}"
    assert not _alive(body["pid"]), "stop() stops the environments"


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0] != "Z"


def test_with_debugpy_a_debugger_can_attach_to_the_functions_environment(tiny_app, tiny_assembly, tmp_path):
    pytest.importorskip("debugpy")
    debugger_port = free_port()
    server = LocalServerProcess(
        "--cdk-out", str(tiny_assembly), "--debug", "Tiny/Red", "--debugpy", str(debugger_port),
        app_dir=tiny_app, state_dir=tmp_path,
    )
    try:
        reply = server.request("GET", "/dev/red")  # the environment starts, and listens
        with socket.create_connection(("127.0.0.1", debugger_port), timeout=10) as connection:
            answer = _debug_adapter_request(connection, {"seq": 1, "type": "request", "command": "initialize",
                                                         "arguments": {"adapterID": "test"}})
    finally:
        assert server.stop() == 0, server.log()

    assert reply.status == 200
    assert answer["type"] == "response" and answer["command"] == "initialize" and answer["success"] is True
    assert f"debugpy is listening on 127.0.0.1:{debugger_port}" in server.log()


def _debug_adapter_request(connection: socket.socket, message: dict) -> dict:
    """One request of the Debug Adapter Protocol (what VS Code speaks to debugpy), and its response."""
    body = json.dumps(message).encode()
    connection.sendall(b"Content-Length: %d\r\n\r\n" % len(body) + body)
    received = b""
    while True:
        header, separator, rest = received.partition(b"\r\n\r\n")
        if separator:
            length = int(header.split(b":")[1])
            if len(rest) >= length:
                answer = json.loads(rest[:length])
                if answer.get("type") == "response":
                    return answer
                received = rest[length:]
                continue
        chunk = connection.recv(65536)
        if not chunk:
            raise ConnectionError("the debug adapter closed the connection")
        received += chunk
