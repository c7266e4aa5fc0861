"""Lambda functions run in this process, each as if in its own execution environment.

Each function imports its handler from its own code directory with its own environment
variables, and keeps its own copy of the modules it imported from there: two functions
built from the same code with different settings never share module state. When a file in
the code directory changes, the next invocation is a cold start with the new code.

One interpreter has one ``sys.modules`` and one ``os.environ``, so invocations of all
functions take turns: a slow handler delays the others, and a handler that calls the local
API itself waits for its own turn. A handler that overruns its timeout is answered as
Lambda would answer it (an error, so a 502), but only once it returns.
"""

from __future__ import annotations

import importlib
import os
import sys
import threading
import time
import uuid
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from types import ModuleType
from typing import Any

from serverless_meta.local.template import ACCOUNT_ID, Function

# One interpreter has one sys.modules and one os.environ: invocations take turns.
_INVOCATION_LOCK = threading.RLock()
_RELOAD_CHECK_SECONDS = 0.5


class FunctionError(Exception):
    """The function could not be loaded or raised: API Gateway answers 502."""


@dataclass
class LambdaContext:
    function_name: str
    memory_limit_in_mb: int
    invoked_function_arn: str
    aws_request_id: str
    deadline: float
    function_version: str = "$LATEST"
    log_group_name: str = ""
    log_stream_name: str = "local"

    def get_remaining_time_in_millis(self) -> int:
        return max(0, int((self.deadline - time.monotonic()) * 1000))


class LocalFunction:
    def __init__(self, function: Function, extra_environment: Mapping[str, str]) -> None:
        if function.code_dir is None:
            raise FunctionError(f"{function.name}: no code directory (only asset code runs locally)")
        self.definition = function
        self.code_dir = function.code_dir
        module_name, _, self._attribute = function.handler.rpartition(".")
        self._module_name = module_name
        self._environment = {
            **function.environment,
            "AWS_REGION": function.region,
            "AWS_DEFAULT_REGION": function.region,
            "AWS_LAMBDA_FUNCTION_NAME": function.key.rsplit("/", 1)[-1],
            "AWS_LAMBDA_FUNCTION_MEMORY_SIZE": str(function.memory_size),
            "AWS_LAMBDA_FUNCTION_VERSION": "$LATEST",
            "_HANDLER": function.handler,
            "LAMBDA_TASK_ROOT": str(self.code_dir),
            **extra_environment,
        }
        self._handler: Any = None
        self._modules: dict[str, ModuleType] = {}
        self._fingerprint: tuple[int, int] | None = None
        self._checked_at = 0.0

    def invoke(self, event: Mapping[str, Any], request_id: str) -> Any:
        with _INVOCATION_LOCK, _environment(self._environment), self._own_modules():
            if self._code_changed():
                self._handler, self._modules = None, {}
                for name in [n for n in sys.modules if _top_level(n) in self._packages()]:
                    del sys.modules[name]
            if self._handler is None:
                self._handler = self._load()
            context = LambdaContext(
                function_name=self._environment["AWS_LAMBDA_FUNCTION_NAME"],
                memory_limit_in_mb=self.definition.memory_size,
                invoked_function_arn=(
                    f"arn:aws:lambda:{self._environment['AWS_REGION']}:{ACCOUNT_ID}:function:"
                    f"{self._environment['AWS_LAMBDA_FUNCTION_NAME']}"
                ),
                aws_request_id=request_id or str(uuid.uuid4()),
                deadline=time.monotonic() + self.definition.timeout,
            )
            started = time.monotonic()
            try:
                result = self._handler(dict(event), context)
            except Exception as error:  # the function's own fault: a 502, as Lambda's Unhandled error is
                raise FunctionError(f"{self.definition.name} raised {type(error).__name__}: {error}") from error
            if time.monotonic() - started > self.definition.timeout:
                # Lambda would have stopped it; this process cannot, but the caller gets Lambda's answer.
                raise FunctionError(f"{self.definition.name}: Task timed out after {self.definition.timeout} seconds")
            return result

    def _load(self) -> Any:
        try:
            module = importlib.import_module(self._module_name)
            return getattr(module, self._attribute)
        except Exception as error:
            raise FunctionError(
                f"{self.definition.name}: cannot load handler {self.definition.handler}: {type(error).__name__}: {error}"
            ) from error

    def _packages(self) -> set[str]:
        """Top-level module names the code directory provides."""
        return {
            entry.name.removesuffix(".py")
            for entry in self.code_dir.iterdir()
            if entry.suffix == ".py" or (entry.is_dir() and not entry.name.startswith((".", "__")))
        }

    @contextmanager
    def _own_modules(self) -> Iterator[None]:
        """This function's modules (and code directory) in place of anyone else's, for the call."""
        packages = self._packages()
        others = {name: sys.modules.pop(name) for name in list(sys.modules) if _top_level(name) in packages}
        sys.modules.update(self._modules)
        sys.path.insert(0, str(self.code_dir))
        try:
            yield
        finally:
            sys.path.remove(str(self.code_dir))
            self._modules = {name: sys.modules.pop(name) for name in list(sys.modules) if _top_level(name) in packages}
            sys.modules.update(others)

    def _code_changed(self) -> bool:
        now = time.monotonic()
        if self._fingerprint is not None and now - self._checked_at < _RELOAD_CHECK_SECONDS:
            return False
        self._checked_at = now
        files = [p for p in self.code_dir.rglob("*") if p.is_file() and "__pycache__" not in p.parts]
        fingerprint = (max((p.stat().st_mtime_ns for p in files), default=0), len(files))
        changed = self._fingerprint is not None and fingerprint != self._fingerprint
        self._fingerprint = fingerprint
        return changed


def _top_level(module_name: str) -> str:
    return module_name.split(".", 1)[0]


@contextmanager
def _environment(variables: Mapping[str, str]) -> Iterator[None]:
    saved = dict(os.environ)
    os.environ.update(variables)
    try:
        yield
    finally:
        os.environ.clear()
        os.environ.update(saved)
