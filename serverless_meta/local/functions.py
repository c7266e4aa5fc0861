"""Lambda functions, run locally as Lambda runs them: in execution environments of their own.

An execution environment is a worker process (``bootstrap.py``) with the function's own
interpreter, modules and environment variables, set at process start as Lambda sets them. The
first invocation that finds no idle environment starts one: that is its cold start, logged as
Lambda logs it (``INIT_START``, then ``INIT_REPORT`` with the init duration). A warm environment
serves one invocation at a time and is reused; concurrent invocations run in parallel in several
environments, up to the function's concurrency (its ``ReservedConcurrentExecutions``, else
``DEFAULT_CONCURRENCY``). Beyond that the invocation is throttled, as Lambda throttles it.

An environment that overruns the function's timeout is stopped at the timeout, one that dies is
reported as Lambda reports a runtime that exited; either way the next invocation gets a fresh one.
When a file in a function's code directory (or in one of its layers) changes, its warm environments
are retired: the next invocation is a cold start with the new code. A layer's ``python`` directory
is on the function's path after its code, as Lambda puts ``/opt/python`` after ``/var/task``.
"""

from __future__ import annotations

import json
import logging
import os
import signal
import socket
import struct
import subprocess
import threading
import time
import uuid
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from serverless_meta.local.model import ACCOUNT_ID, Function

log = logging.getLogger("serverless_meta.local")

# Lambda gives a function without reserved concurrency a share of the account's 1,000; a laptop
# has a few cores, and ten environments of one function already keep them busy.
DEFAULT_CONCURRENCY = 10
# Lambda's limit on the INIT phase of an on-demand environment.
INIT_TIMEOUT_SECONDS = 10.0
# Lambda runs each environment's INIT on a CPU of its own; here they share the machine's. At most this many
# start at once, so that twenty cold starts on two cores do not each take ten of them and time out at INIT.
# An attached environment (--debug) is left out: it may sit at a breakpoint in its INIT.
_STARTING = threading.BoundedSemaphore(os.cpu_count() or 2)
_RELOAD_CHECK_SECONDS = 0.5
_BOOTSTRAP = Path(__file__).with_name("bootstrap.py")
_LENGTH = struct.Struct(">I")


class FunctionError(Exception):
    """The invocation failed as Lambda reports it (an error, a timeout, a runtime that exited): a 502."""


class Throttled(Exception):
    """Every environment the function may have is busy: Lambda's 429 TooManyRequestsException."""


@dataclass(frozen=True)
class Runner:
    """How a function's environments start: the interpreter, and settings for debugging."""

    executable: str
    label: str
    """What the INIT lines name, e.g. ``python3.12`` or ``python3.11 (this server's)``."""
    attached: bool = False
    """Runs in one environment attached to the terminal, without a timeout, so that ``breakpoint()`` stops there."""
    debugpy_port: int | None = None


class _Environment:
    """One worker process and the socket local mode speaks to it through."""

    def __init__(self, function: Function, runner: Runner, variables: Mapping[str, str], parent_fd: int) -> None:
        self.generation = 0
        ours, theirs = socket.socketpair()
        self._channel = ours
        try:
            self.process = subprocess.Popen(
                [runner.executable, str(_BOOTSTRAP), str(theirs.fileno()), str(parent_fd)],
                env=dict(variables),
                cwd=function.code_dir,
                pass_fds=(theirs.fileno(), parent_fd),
                stdin=None if runner.attached else subprocess.DEVNULL,
            )
        except OSError:
            ours.close()
            raise
        finally:
            theirs.close()

    def exchange(self, message: Any, timeout: float | None) -> dict[str, Any] | None:
        """Send ``message`` (unless None) and read the answer; None if the worker is gone. Raises TimeoutError."""
        self._channel.settimeout(timeout)
        if message is not None:
            body = json.dumps(message).encode()
            try:
                self._channel.sendall(_LENGTH.pack(len(body)) + body)
            except OSError:
                return None
        header = self._read(_LENGTH.size)
        body = self._read(_LENGTH.unpack(header)[0]) if header else None
        return json.loads(body) if body else None

    def _read(self, size: int) -> bytes | None:
        data = bytearray()
        while len(data) < size:
            try:
                chunk = self._channel.recv(size - len(data))
            except TimeoutError:
                raise
            except OSError:
                return None
            if not chunk:
                return None
            data += chunk
        return bytes(data)

    def exit_reason(self) -> str:
        """Lambda's words for how the runtime ended: ``exit status 3``, ``signal: killed``."""
        try:
            code = self.process.wait(timeout=2)
        except subprocess.TimeoutExpired:
            return "the runtime closed its channel"
        if code < 0:
            return f"signal: {signal.Signals(-code).name.removeprefix('SIG').lower().replace('kill', 'killed')}"
        return f"exit status {code}"

    def stop(self) -> None:
        self._channel.close()
        if self.process.poll() is None:
            self.process.kill()
        self.process.wait()


class _CodeWatch:
    """Notices when code directories change: newest modification time and file count, checked twice a second."""

    def __init__(self, code_dirs: tuple[Path, ...]) -> None:
        self._code_dirs = code_dirs
        self._lock = threading.Lock()
        self._checked_at = time.monotonic()
        self._fingerprint = self._take()
        self.generation = 0

    def current(self) -> int:
        with self._lock:
            now = time.monotonic()
            if now - self._checked_at >= _RELOAD_CHECK_SECONDS:
                self._checked_at = now
                fingerprint = self._take()
                if fingerprint != self._fingerprint:
                    self._fingerprint = fingerprint
                    self.generation += 1
            return self.generation

    def _take(self) -> tuple[int, int]:
        files = [
            p for code_dir in self._code_dirs for p in code_dir.rglob("*") if p.is_file() and "__pycache__" not in p.parts
        ]
        return max((p.stat().st_mtime_ns for p in files), default=0), len(files)


class _Pool:
    """A function's environments: idle ones (the warmest reused first) and a count of all."""

    def __init__(self, function: Function, runner: Runner, variables: dict[str, str], watch: _CodeWatch) -> None:
        self.function = function
        self.runner = runner
        self.variables = variables
        self.watch = watch
        self.concurrency = 1 if runner.attached else (function.reserved_concurrency or DEFAULT_CONCURRENCY)
        self._idle: list[_Environment] = []
        self._count = 0
        self._started = 0
        self._available = threading.Condition()

    def acquire(self, parent_fd: int) -> tuple[_Environment, bool]:
        """A warm environment, or a new one (True: it must INIT); Throttled when the function is at its concurrency."""
        generation = self.watch.current()
        with self._available:
            # Old code, or a process that died while idle (killed, say): never handed an invocation.
            stale = [env for env in self._idle if env.generation != generation or env.process.poll() is not None]
            self._idle = [env for env in self._idle if env not in stale]
            self._count -= len(stale)
            while not self._idle and self._count >= self.concurrency:
                if not self.runner.attached:  # an attached function waits for its one environment: it may be paused
                    self._stop_all(stale)
                    raise Throttled(f"{self.function.name}: all {self.concurrency} environments are busy")
                self._available.wait()
            environment = self._idle.pop() if self._idle else None
            if environment is None:
                self._count += 1
                self._started += 1
                number = self._started
        self._stop_all(stale)
        if environment is not None:
            return environment, False
        if not self.runner.attached:
            _STARTING.acquire()  # released when its INIT ends (LocalFunctions._initialize)
        log.info("INIT_START %s environment %d, %s", self.function.name, number, self.runner.label)
        try:
            environment = _Environment(self.function, self.runner, self.variables, parent_fd)
        except OSError as error:
            if not self.runner.attached:
                _STARTING.release()
            self.release(None)
            raise FunctionError(f"{self.function.name}: cannot start {self.runner.executable}: {error}") from error
        environment.generation = generation
        return environment, True

    def release(self, environment: _Environment | None, *, healthy: bool = True) -> None:
        """Back to the idle ones, or stopped: a failed environment is never reused, nor one with old code."""
        keep = environment is not None and healthy and environment.generation == self.watch.current()
        with self._available:
            if keep:
                self._idle.append(environment)
            else:
                self._count -= 1
            self._available.notify()
        if environment is not None and not keep:
            environment.stop()

    def stop(self) -> None:
        with self._available:
            idle, self._idle = self._idle, []
        self._stop_all(idle)

    @staticmethod
    def _stop_all(environments: Iterable[_Environment]) -> None:
        for environment in environments:
            environment.stop()


class LocalFunctions:
    """Every function of the app that can run locally, invoked by key with any event."""

    def __init__(
        self,
        functions: Mapping[str, Function],
        runners: Mapping[str, Runner],
        extra_environment: Mapping[str, str],
    ) -> None:
        """``runners``: how to run each function that can run (by key); the others are reported by ``unavailable``."""
        # Read by every worker, written by nobody: it reaches end-of-file when this process ends.
        self._parent_fd, self._parent_write_fd = os.pipe()
        watches: dict[tuple[Path, ...], _CodeWatch] = {}
        self._pools: dict[str, _Pool] = {}
        for key, runner in runners.items():
            function = functions[key]
            watch = watches.get(function.watched_dirs) or watches.setdefault(
                function.watched_dirs, _CodeWatch(function.watched_dirs)
            )
            self._pools[key] = _Pool(function, runner, _variables(function, runner, extra_environment), watch)

    def __contains__(self, key: str) -> bool:
        return key in self._pools

    def invoke(self, key: str, event: Mapping[str, Any], *, request_id: str | None = None) -> Any:
        """The function's result for ``event``; FunctionError or Throttled as Lambda would fail the invocation."""
        pool = self._pools[key]
        function = pool.function
        environment, cold = pool.acquire(self._parent_fd)
        healthy = False
        try:
            if cold:
                self._initialize(pool, environment)
            timeout = None if pool.runner.attached else float(function.timeout)
            context = {
                "aws_request_id": request_id or str(uuid.uuid4()),
                "invoked_function_arn": f"arn:aws:lambda:{function.region}:{ACCOUNT_ID}:function:{_lambda_name(function)}",
                "deadline_ms": int((time.time() + (timeout or 900)) * 1000),
            }
            try:
                answer = environment.exchange({"event": event, "context": context}, timeout)
            except TimeoutError:
                raise FunctionError(f"{function.name}: Task timed out after {function.timeout:.2f} seconds") from None
            if answer is None:
                raise FunctionError(f"{function.name}: Runtime exited with error: {environment.exit_reason()} (Runtime.ExitError)")
            healthy = True
            if "error" in answer:
                error = answer["error"]
                raise FunctionError(f"{function.name}: {error['errorType']}: {error['errorMessage']}")
            return answer["result"]
        finally:
            pool.release(environment, healthy=healthy)

    def _initialize(self, pool: _Pool, environment: _Environment) -> None:
        name = pool.function.name
        try:
            answer = environment.exchange(None, None if pool.runner.attached else INIT_TIMEOUT_SECONDS)
        except TimeoutError:
            raise FunctionError(f"{name}: INIT timed out after {INIT_TIMEOUT_SECONDS:.0f} seconds") from None
        finally:
            if not pool.runner.attached:
                _STARTING.release()
        if answer is None:
            raise FunctionError(f"{name}: Runtime exited with error during INIT: {environment.exit_reason()}")
        if "error" in answer:
            error = answer["error"]
            raise FunctionError(f"{name}: INIT failed: {error['errorType']}: {error['errorMessage']}")
        log.info("INIT_REPORT %s Init Duration: %.2f ms", name, answer["init"])

    def stop(self) -> None:
        """Stop every environment: idle ones here; busy ones see the parent pipe close, and end at once."""
        for pool in self._pools.values():
            pool.stop()
        os.close(self._parent_write_fd)
        os.close(self._parent_fd)


def _lambda_name(function: Function) -> str:
    return function.key.rsplit("/", 1)[-1]


def _variables(function: Function, runner: Runner, extra: Mapping[str, str]) -> dict[str, str]:
    """The environment Lambda gives the function's process, with local credentials and endpoints.

    Nothing else of this server's environment: a handler never sees the developer's AWS profile.
    """
    name = _lambda_name(function)
    variables = {
        "PATH": os.environ.get("PATH", os.defpath),
        "LANG": "en_US.UTF-8",
        "TZ": ":UTC",
        # Never the developer's ~/.aws: local credentials and endpoints only.
        "AWS_CONFIG_FILE": os.devnull,
        "AWS_SHARED_CREDENTIALS_FILE": os.devnull,
        **function.environment,
        "AWS_REGION": function.region,
        "AWS_DEFAULT_REGION": function.region,
        "AWS_EXECUTION_ENV": f"AWS_Lambda_{function.runtime}",
        "AWS_LAMBDA_FUNCTION_NAME": name,
        "AWS_LAMBDA_FUNCTION_MEMORY_SIZE": str(function.memory_size),
        "AWS_LAMBDA_FUNCTION_VERSION": "$LATEST",
        "AWS_LAMBDA_INITIALIZATION_TYPE": "on-demand",
        "AWS_LAMBDA_LOG_GROUP_NAME": f"/aws/lambda/{name}",
        "AWS_LAMBDA_LOG_STREAM_NAME": "local",
        "_HANDLER": function.handler,
        "LAMBDA_TASK_ROOT": str(function.code_dir),
        **extra,
    }
    if function.layer_dirs:
        # After the task root, as Lambda puts /opt/python after /var/task.
        variables["PYTHONPATH"] = os.pathsep.join(str(layer) for layer in function.layer_dirs)
    if runner.attached:
        variables["_SERVERLESS_META_ATTACHED"] = "1"
    if runner.debugpy_port is not None:
        variables["_SERVERLESS_META_DEBUGPY"] = str(runner.debugpy_port)
    return variables

