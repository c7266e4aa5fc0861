"""What the local-mode tests share: the real server in a child process, its replies, free ports, tiny apps."""

from __future__ import annotations

import json
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from dataclasses import dataclass
from pathlib import Path
from typing import Any


ROOT = Path(__file__).resolve().parents[2]
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
    """``python -m serverless_meta local ...`` in a child process, its log in a file."""

    def __init__(self, *arguments: str, state_dir: Path, app_dir: Path = ROOT, wait: bool = True) -> None:
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
            command, stdout=self._log, stderr=subprocess.STDOUT, cwd=app_dir, start_new_session=True
        )
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
        return self.process.returncode

    def group_is_gone(self) -> bool:
        """No process is left in the server's process group (its synthesis, say)."""
        for stat in Path("/proc").glob("[0-9]*/stat"):
            try:
                fields = stat.read_text().rsplit(")", 1)[1].split()
            except OSError:
                continue
            if int(fields[2]) == self.process.pid:  # the process group id, after state and ppid
                return False
        return True


