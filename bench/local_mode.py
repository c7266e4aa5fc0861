"""Local mode: startup time, and requests per second with p50/p99 latency for GET and POST.

Startup is timed from the command to the first served request, for `serverless-meta local`
as users run it on the sample app (synthesis included) and with `--cdk-out` (synthesis
reused). Throughput uses a bench app whose stage throttling (10,000/s) does not cap it;
the sample app's own 50/s would. Clients keep their connection open, as a browser does.
Run: .venv/bin/python bench/local_mode.py [seconds per run]
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
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
os.environ["PATH"] = f"{ROOT / 'node_modules' / '.bin'}{os.pathsep}{os.environ['PATH']}"

BENCH_APP = """
import aws_cdk as cdk
from aws_cdk import aws_apigateway as apigateway
from serverless_meta import ServerlessCrudApi

app = cdk.App()
stack = cdk.Stack(app, "Bench")
ServerlessCrudApi(stack, "Metadata", resource_name="metadata",
                  throttling=apigateway.ThrottleSettings(rate_limit=10_000, burst_limit=5_000))
app.synth()
"""


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def start(app_dir: Path, state_dir: Path, *extra: str) -> tuple[subprocess.Popen, int, float]:
    """Start local mode; return it, its port, and seconds until it answered a first request (a 403 for /)."""
    port = free_port()
    started = time.perf_counter()
    process = subprocess.Popen(
        [sys.executable, "-m", "serverless_meta", "local", "--port", str(port), "--app-dir", str(app_dir),
         "--state-dir", str(state_dir), *extra],
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )
    while True:
        try:
            connection = http.client.HTTPConnection("127.0.0.1", port, timeout=1)
            connection.request("GET", "/")
            connection.getresponse().read()
            return process, port, time.perf_counter() - started
        except OSError:
            if process.poll() is not None:
                raise RuntimeError("local mode exited") from None
            time.sleep(0.02)


def stop(process: subprocess.Popen) -> None:
    process.send_signal(signal.SIGTERM)
    process.wait(timeout=30)


def token(app_dir: Path, state_dir: Path) -> str:
    command = [sys.executable, "-m", "serverless_meta", "token", "--user", "bench", "--app-dir", str(app_dir),
               "--state-dir", str(state_dir)]
    return subprocess.run(command, capture_output=True, text=True, check=True).stdout.strip()


def load(port: int, clients: int, seconds: float, request) -> tuple[float, float, float]:
    """Requests per second, p50 and p99 latency in ms, for ``clients`` concurrent connections."""
    latencies: list[float] = []
    lock = threading.Lock()
    deadline = time.perf_counter() + seconds

    def client() -> None:
        connection = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
        mine = []
        while time.perf_counter() < deadline:
            started = time.perf_counter()
            status = request(connection)
            mine.append(time.perf_counter() - started)
            assert status < 300, status
        with lock:
            latencies.extend(mine)

    threads = [threading.Thread(target=client) for _ in range(clients)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    cuts = statistics.quantiles(latencies, n=100)
    return len(latencies) / seconds, cuts[49] * 1000, cuts[98] * 1000


def main() -> None:
    seconds = float(sys.argv[1]) if len(sys.argv) > 1 else 5.0
    with tempfile.TemporaryDirectory() as scratch:
        scratch = Path(scratch)
        sample, port, cold = start(ROOT, scratch / "sample")
        stop(sample)
        sample, port, warm = start(ROOT, scratch / "sample", "--cdk-out", str(scratch / "sample" / "cdk.out"))
        authorization = {"Authorization": token(ROOT, scratch / "sample")}
        started = time.perf_counter()
        connection = http.client.HTTPConnection("127.0.0.1", port)
        connection.request("GET", "/prod/metadata", headers=authorization)
        connection.getresponse().read()
        first_invocation = time.perf_counter() - started
        stop(sample)
        print("Startup, command to first answer (sample app, both services):")
        print(f"  serverless-meta local (synthesis included)   {cold:6.2f} s")
        print(f"  serverless-meta local --cdk-out (reused)     {warm:6.2f} s")
        print(f"  then the first handler request (cold start)  {first_invocation * 1000:6.0f} ms")

        app_dir = scratch / "bench-app"
        app_dir.mkdir()
        (app_dir / "app.py").write_text(BENCH_APP)
        (app_dir / "cdk.json").write_text(json.dumps({"app": f"{sys.executable} app.py"}))
        process, port, _ = start(app_dir, scratch / "bench")
        try:
            authorization = {"Authorization": token(app_dir, scratch / "bench"), "Content-Type": "application/json"}
            connection = http.client.HTTPConnection("127.0.0.1", port)
            connection.request("POST", "/prod/metadata", body='{"page": "home"}', headers=authorization)
            item_path = json.loads(connection.getresponse().read())["id"]

            def get(conn) -> int:
                conn.request("GET", f"/prod/metadata/{item_path}", headers=authorization)
                response = conn.getresponse()
                response.read()
                return response.status

            def post(conn) -> int:
                conn.request("POST", "/prod/metadata", body='{"page": "home", "theme": "dark"}', headers=authorization)
                response = conn.getresponse()
                response.read()
                return response.status

            print(f"Throughput, {seconds:.0f} s per run (requests/s, p50 and p99 latency):")
            for name, request in (("GET /prod/metadata/{id}", get), ("POST /prod/metadata", post)):
                for clients in (1, 10):
                    rps, p50, p99 = load(port, clients, seconds, request)
                    print(f"  {name:26s} {clients:2d} client(s)  {rps:7.1f}/s  p50 {p50:6.1f} ms  p99 {p99:6.1f} ms")
        finally:
            stop(process)


if __name__ == "__main__":
    main()
