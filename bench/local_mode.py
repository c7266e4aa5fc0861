"""Local mode beside `chalice local`: startup, first request, and requests per second with p50/p99.

Startup is timed from the command to the first served request, for `serverless-meta local`
on the sample app (synthesis included) and with `--cdk-out` (synthesis reused); then the first
request to a function (its cold start). Throughput compares local mode with Chalice 1.34's
`chalice local` in the same run, on the same shape: GET and POST of one item of a DynamoDB
table that moto emulates (local mode: moto's server, shared by the functions' environments;
Chalice: moto in its process), one client and ten, each client either opening a new
connection per request or keeping one alive. Local mode verifies every request's Cognito
token; Chalice verifies none. Local mode's bench app is throttled at 10,000/s, since the
sample app's 50/s would cap it. Chalice runs from its own environment, bench/.venv-chalice,
which this script creates on first use.

Run: .venv/bin/python bench/local_mode.py [seconds per cell] [runs]
"""

from __future__ import annotations

import http.client
import json
import os
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
CHALICE_VENV = ROOT / "bench" / ".venv-chalice"
CHALICE_REQUIREMENTS = ["chalice==1.34.0", "moto[dynamodb]==5.2.5", "boto3==1.44.8"]
os.environ["PATH"] = f"{ROOT / 'node_modules' / '.bin'}{os.pathsep}{os.environ['PATH']}"

BENCH_APP = """
import aws_cdk as cdk
from aws_cdk import aws_apigateway as apigateway
from serverless_meta import ServerlessCrudApi

app = cdk.App()
stack = cdk.Stack(app, "Bench")
# No reserved concurrency: each method would admit what 20 environments serve at 0.1 s a request
# (100/s), and local mode answers 429 beyond it; the stage's 10,000/s is then every method's.
ServerlessCrudApi(stack, "Metadata", resource_name="metadata", reserved_concurrency=None,
                  throttling=apigateway.ThrottleSettings(rate_limit=10_000, burst_limit=5_000))
app.synth()
"""

# The same shape for Chalice: create and get one item of a single-table design, moto in-process.
CHALICE_APP = '''
import datetime
import uuid

import boto3
from chalice import Chalice, Response
from moto import mock_aws

mock_aws().start()
table = boto3.resource("dynamodb", region_name="us-east-1").create_table(
    TableName="items",
    KeySchema=[{"AttributeName": "pk", "KeyType": "HASH"}, {"AttributeName": "sk", "KeyType": "RANGE"}],
    AttributeDefinitions=[{"AttributeName": "pk", "AttributeType": "S"}, {"AttributeName": "sk", "AttributeType": "S"}],
    BillingMode="PAY_PER_REQUEST",
)
app = Chalice(app_name="bench")


def public(item):
    return {k: v for k, v in item.items() if k not in ("pk", "sk")}


@app.route("/metadata", methods=["POST"])
def create():
    now = datetime.datetime.now(datetime.UTC).isoformat()
    item_id = str(uuid.uuid4())
    item = {**app.current_request.json_body, "id": item_id, "createdAt": now, "updatedAt": now}
    table.put_item(Item={**item, "pk": "bench", "sk": f"metadata#{item_id}"}, ConditionExpression="attribute_not_exists(pk)")
    return Response(body=item, status_code=201, headers={"Location": f"/metadata/{item_id}"})


@app.route("/metadata/{item_id}")
def get(item_id):
    item = table.get_item(Key={"pk": "bench", "sk": f"metadata#{item_id}"}).get("Item")
    if item is None:
        return Response(body={"message": "not found"}, status_code=404)
    return public(item)
'''


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def wait_until_answering(process: subprocess.Popen, port: int, path: str = "/") -> float:
    started = time.perf_counter()
    while True:
        try:
            connection = http.client.HTTPConnection("127.0.0.1", port, timeout=1)
            connection.request("GET", path)
            connection.getresponse().read()
            return time.perf_counter() - started
        except OSError:
            if process.poll() is not None:
                raise RuntimeError(f"{process.args[:3]} exited") from None
            time.sleep(0.02)


def start_local(app_dir: Path, state_dir: Path, *extra: str) -> tuple[subprocess.Popen, int, float]:
    """Start local mode; return it, its port, and seconds until it answered a first request (a 403 for /)."""
    port = free_port()
    started = time.perf_counter()
    process = subprocess.Popen(
        [sys.executable, "-m", "serverless_meta", "local", "--port", str(port), "--app-dir", str(app_dir),
         "--state-dir", str(state_dir), *extra],
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )
    wait_until_answering(process, port)
    return process, port, time.perf_counter() - started


def start_chalice(project: Path) -> tuple[subprocess.Popen, int]:
    port = free_port()
    environment = {**os.environ, "AWS_DEFAULT_REGION": "us-east-1", "AWS_ACCESS_KEY_ID": "local",
                   "AWS_SECRET_ACCESS_KEY": "local"}
    process = subprocess.Popen(
        [str(CHALICE_VENV / "bin" / "chalice"), "local", "--host", "127.0.0.1", "--port", str(port), "--no-autoreload"],
        cwd=project, env=environment, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )
    wait_until_answering(process, port, "/metadata/none")
    return process, port


def stop(process: subprocess.Popen) -> None:
    process.send_signal(signal.SIGTERM)
    try:
        process.wait(timeout=30)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait()


def token(app_dir: Path, state_dir: Path) -> str:
    command = [sys.executable, "-m", "serverless_meta", "token", "--user", "bench", "--app-dir", str(app_dir),
               "--state-dir", str(state_dir)]
    return subprocess.run(command, capture_output=True, text=True, check=True).stdout.strip()


def chalice_project(scratch: Path) -> Path:
    if not (CHALICE_VENV / "bin" / "chalice").exists():
        subprocess.run([sys.executable, "-m", "venv", str(CHALICE_VENV)], check=True)
        subprocess.run([str(CHALICE_VENV / "bin" / "python"), "-m", "pip", "install", "--quiet", *CHALICE_REQUIREMENTS],
                       check=True)
    project = scratch / "chalice-bench"
    (project / ".chalice").mkdir(parents=True)
    (project / "app.py").write_text(CHALICE_APP)
    (project / "requirements.txt").write_text("")
    (project / ".chalice" / "config.json").write_text(
        json.dumps({"version": "2.0", "app_name": "bench", "stages": {"dev": {"api_gateway_stage": "api"}}})
    )
    return project


@dataclass
class Target:
    """One server's routes: where to send a GET and a POST, and with which headers."""

    port: int
    get_path: str
    post_path: str
    headers: dict[str, str]

    def get(self, connection: http.client.HTTPConnection) -> int:
        connection.request("GET", self.get_path, headers=self.headers)
        return _status(connection)

    def post(self, connection: http.client.HTTPConnection) -> int:
        connection.request("POST", self.post_path, body='{"page": "home", "theme": "dark"}', headers=self.headers)
        return _status(connection)


def _status(connection: http.client.HTTPConnection) -> int:
    response = connection.getresponse()
    response.read()
    return response.status


def load(port: int, clients: int, seconds: float, request: Callable, keep_alive: bool) -> tuple[float, float, float]:
    """Requests per second, p50 and p99 latency in ms: ``clients`` closed loops for ``seconds``.

    Every answer must be a success: a 429 or a 5xx would be a figure of something else, so it stops the bench.
    """
    latencies: list[float] = []
    failures: list[int] = []
    lock = threading.Lock()
    deadline = time.perf_counter() + seconds

    def client() -> None:
        mine = []
        connection = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
        while time.perf_counter() < deadline:
            started = time.perf_counter()
            if not keep_alive:
                connection = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
            status = request(connection)
            if not keep_alive:
                connection.close()
            if status >= 300:
                with lock:
                    failures.append(status)
                return
            mine.append(time.perf_counter() - started)
        with lock:
            latencies.extend(mine)

    threads = [threading.Thread(target=client) for _ in range(clients)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    if failures:
        raise SystemExit(f"port {port}: {len(failures)} of {clients} clients were answered {sorted(set(failures))}")
    cuts = statistics.quantiles(latencies, n=100)
    return len(latencies) / seconds, cuts[49] * 1000, cuts[98] * 1000


def warm(target: Target, clients: int) -> None:
    """Every environment a run may use started (cold starts are reported apart, not timed here)."""
    load(target.port, clients, 2.0, target.get, True)
    load(target.port, clients, 2.0, target.post, True)


def startup(scratch: Path) -> None:
    sample, _, cold = start_local(ROOT, scratch / "sample")
    stop(sample)
    sample, port, reused = start_local(ROOT, scratch / "sample", "--cdk-out", str(scratch / "sample" / "cdk.out"))
    authorization = {"Authorization": token(ROOT, scratch / "sample")}
    started = time.perf_counter()
    connection = http.client.HTTPConnection("127.0.0.1", port)
    connection.request("GET", "/prod/metadata", headers=authorization)
    connection.getresponse().read()
    first_invocation = time.perf_counter() - started
    stop(sample)
    print("Startup, command to first answer (sample app, both services):")
    print(f"  serverless-meta local (synthesis included)   {cold:6.2f} s")
    print(f"  serverless-meta local --cdk-out (reused)     {reused:6.2f} s")
    print(f"  then the first request to a function (INIT)  {first_invocation * 1000:6.0f} ms")


def main() -> None:
    seconds = float(sys.argv[1]) if len(sys.argv) > 1 else 5.0
    runs = int(sys.argv[2]) if len(sys.argv) > 2 else 3
    with tempfile.TemporaryDirectory() as scratch:
        scratch = Path(scratch)
        startup(scratch)

        app_dir = scratch / "bench-app"
        app_dir.mkdir()
        (app_dir / "app.py").write_text(BENCH_APP)
        (app_dir / "cdk.json").write_text(json.dumps({"app": f"{sys.executable} app.py"}))
        local, local_port, _ = start_local(app_dir, scratch / "bench")
        chalice, chalice_port = start_chalice(chalice_project(scratch))
        try:
            headers = {"Authorization": token(app_dir, scratch / "bench"), "Content-Type": "application/json"}
            targets = {}
            for name, port, prefix, extra in (("local", local_port, "/prod", headers),
                                              ("chalice", chalice_port, "", {"Content-Type": "application/json"})):
                connection = http.client.HTTPConnection("127.0.0.1", port)
                connection.request("POST", f"{prefix}/metadata", body='{"page": "home"}', headers=extra)
                item = json.loads(connection.getresponse().read())["id"]
                targets[name] = Target(port, f"{prefix}/metadata/{item}", f"{prefix}/metadata", extra)
            for target in targets.values():
                warm(target, 10)
            print(f"Throughput, {runs} runs of {seconds:.0f} s per cell; median [min-max] of the runs:")
            print("  request  clients  connection   local req/s            chalice req/s          ratio              "
                  "local p50/p99 ms   chalice p50/p99 ms")
            for method in ("get", "post"):
                for clients in (1, 10):
                    for keep_alive in (False, True):
                        figures: dict[str, list[tuple[float, float, float]]] = {"local": [], "chalice": []}
                        for _ in range(runs):
                            for name, target in targets.items():
                                figures[name].append(load(target.port, clients, seconds, getattr(target, method), keep_alive))
                        _report(method.upper(), clients, keep_alive, figures)
        finally:
            stop(local)
            stop(chalice)


def _report(method: str, clients: int, keep_alive: bool, figures: dict[str, list[tuple[float, float, float]]]) -> None:
    def spread(values: list[float], form: str) -> str:
        return f"{statistics.median(values):{form}} [{min(values):{form}}-{max(values):{form}}]"

    ratios = [ours[0] / theirs[0] for ours, theirs in zip(figures["local"], figures["chalice"], strict=True)]
    latency = {name: f"{statistics.median(r[1] for r in runs):.1f}/{statistics.median(r[2] for r in runs):.1f}"
               for name, runs in figures.items()}
    print(f"  {method:7s}  {clients:7d}  {'keep-alive' if keep_alive else 'new':10s}   "
          f"{spread([r[0] for r in figures['local']], '.0f'):21s}  {spread([r[0] for r in figures['chalice']], '.0f'):21s}  "
          f"{spread(ratios, '.2f'):17s}  {latency['local']:17s}  {latency['chalice']}", flush=True)


if __name__ == "__main__":
    main()
