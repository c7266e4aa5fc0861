"""The local HTTP server: every REST API of a cloud assembly on one loopback port.

HTTP is waitress's (a maintained, pure-Python WSGI server): it parses requests, reads
``Content-Length`` and chunked bodies, refuses bodies over API Gateway's 10 MB with a 413,
keeps connections alive, disables Nagle's algorithm and listens with a backlog of 1,024.
werkzeug's development server, the other one at hand, closes the connection after every
response and exits the process when it cannot bind, so it fits neither keep-alive clients
nor ``LocalServer`` used in-process.
"""

from __future__ import annotations

import json
import logging
import re
import threading
import time
import uuid
from collections.abc import Callable, Iterable, Mapping
from http import HTTPStatus
from pathlib import Path
from typing import Any

import waitress
from waitress import wasyncore

from serverless_meta.local import interpreters, openapi
from serverless_meta.local.aws import EmbeddedAws
from serverless_meta.local.cognito import LocalUserPools
from serverless_meta.local.dynamodb import LocalDynamoDB
from serverless_meta.local.functions import LocalFunctions, Runner
from serverless_meta.local.gateway import HttpRequest, HttpResponse, LocalGateway
from serverless_meta.local.model import Function, LocalApp, RestApi
from serverless_meta.local.pipeline import LocalPipeline

log = logging.getLogger("serverless_meta.local")
access_log = logging.getLogger("serverless_meta.local.access")

# Local functions never send traces or metrics anywhere; their logs go to this console.
_LOCAL_FUNCTION_ENVIRONMENT = {"POWERTOOLS_TRACE_DISABLED": "true", "POWERTOOLS_METRICS_DISABLED": "true"}
# API Gateway's largest request payload.
MAX_BODY_BYTES = 10 * 1024 * 1024
LISTEN_BACKLOG = 1024


class LocalServer:
    """Serves ``app`` on ``host:port`` (0: a free port); ``start()`` returns once it accepts connections.

    ``debug``: functions (a part of their construct path, or their logical id) that run in one
    environment attached to this process's terminal, with no timeout, so that ``breakpoint()``
    stops there; with ``debugpy_port``, that environment also waits for a debugger on that port.
    """

    def __init__(
        self,
        app: LocalApp,
        *,
        host: str = "127.0.0.1",
        port: int = 3000,
        state_dir: Path,
        dynamodb_endpoint: str | None = None,
        debug: Iterable[str] = (),
        debugpy_port: int | None = None,
    ) -> None:
        for warning in app.warnings:
            log.warning("%s", warning)
        # The embedded services: DynamoDB unless another is named, and the queues wherever DynamoDB is.
        self.aws = EmbeddedAws() if dynamodb_endpoint is None or app.queues else None
        self.dynamodb = LocalDynamoDB(dynamodb_endpoint or self.aws.endpoint)
        self.functions: LocalFunctions | None = None
        self.pipeline: LocalPipeline | None = None
        try:
            self.dynamodb.create_tables(app.tables)
            self.user_pools = LocalUserPools(app.user_pools, state_dir)
            runners = _runners(app.functions, tuple(debug), debugpy_port)
            environment = {**self.dynamodb.environment, **_LOCAL_FUNCTION_ENVIRONMENT}
            if self.aws is not None:
                environment["AWS_ENDPOINT_URL_SQS"] = self.aws.endpoint
            self.functions = LocalFunctions(app.functions, runners, environment)
            self.gateway = LocalGateway(app.apis, app.functions, self.functions, self.user_pools)
            if self.aws is not None:
                self.pipeline = LocalPipeline(app, dynamodb=self.dynamodb, sqs_endpoint=self.aws.endpoint, functions=self.functions)
            self._app = app
            concurrency = sum(function.reserved_concurrency or 10 for function in app.functions.values())
            self._http = waitress.create_server(
                self._serve,
                host=host,
                port=port,
                # A thread per request in flight: enough for every function at its concurrency.
                threads=max(8, min(256, concurrency + 8)),
                connection_limit=1000,
                backlog=LISTEN_BACKLOG,
                max_request_body_size=MAX_BODY_BYTES,
                ident="serverless-meta-local",
                clear_untrusted_proxy_headers=False,
            )
        except BaseException:
            self._stop_backends()
            raise
        self._in_flight = _InFlight()
        self._thread: threading.Thread | None = None

    @property
    def url(self) -> str:
        return f"http://{self._http.effective_host}:{self._http.effective_port}"

    def start(self) -> None:
        self._thread = threading.Thread(target=self._http.run, name="serverless-meta-local", daemon=True)
        self._thread.start()
        if self.pipeline is not None:
            self.pipeline.start()

    def stop(self, grace_seconds: float = 30) -> None:
        """Stop accepting, let requests in flight finish (up to ``grace_seconds``), then close everything."""
        if self._thread is not None:
            self._in_loop(lambda: wasyncore.dispatcher.close(self._http))  # the listener only
            self._in_flight.wait_idle(grace_seconds)
            # Every task thread ends before the trigger closes: a thread that finishes a response wakes the
            # loop through the trigger, and would write to a closed pipe.
            self._http.task_dispatcher.shutdown(timeout=5)
            self._in_loop(lambda: wasyncore.close_all(self._http._map))
            self._thread.join(timeout=5)
        else:
            self._http.task_dispatcher.shutdown(timeout=1)
            wasyncore.close_all(self._http._map)
        self._stop_backends()

    def openapi_urls(self) -> list[tuple[RestApi, str]]:
        """Where each API's OpenAPI document is served: ``/restapis/<api id>/openapi.json``."""
        return [(api, f"{self.url}/restapis/{api.api_id}/openapi.json") for api in self._app.apis]

    def _openapi(self, method: str, target: str) -> HttpResponse | None:
        """An API's OpenAPI document, its servers this server's stages; None for any other request.

        Stage names hold no dots, so no API's route is ``/restapis/<id>/openapi.json``.
        """
        match = _OPENAPI_PATH.fullmatch(target.split("?", 1)[0])
        if method not in ("GET", "HEAD") or match is None:
            return None
        api = next((api for api in self._app.apis if api.api_id == match.group(1)), None)
        if api is None:
            return None
        body = openapi.document_json(self._app, api, server_url=self.url).encode()
        return HttpResponse(200, [("Content-Type", "application/json")], body)

    def _dead_letters(self, method: str, target: str) -> HttpResponse | None:
        """The messages the local dead-letter queues hold, as JSON; None for any other request.

        A stage name holds no dot, so no API's route starts ``/.serverless-meta/``.
        """
        if method not in ("GET", "HEAD") or target.split("?", 1)[0] != DEAD_LETTERS_PATH:
            return None
        entries = self.pipeline.dead_letters.all() if self.pipeline is not None else []
        body = json.dumps({"deadLetters": entries}, indent=2).encode()
        return HttpResponse(200, [("Content-Type", "application/json")], body)

    def _in_loop(self, thunk: Callable[[], None]) -> None:
        """Run ``thunk`` in the server's loop thread; once the loop has closed its trigger, it has nothing left to do."""
        try:
            self._http.trigger.pull_trigger(thunk)
        except OSError:
            log.debug("The server's loop had already closed")

    def _stop_backends(self) -> None:
        if self.pipeline is not None:
            self.pipeline.stop()
        if self.functions is not None:
            self.functions.stop()
        if self.aws is not None:
            self.aws.stop()

    def _serve(self, environ: dict[str, Any], start_response: Any) -> Iterable[bytes]:
        """The WSGI application: one request through the gateway, logged on one line before it is answered."""
        started = time.perf_counter()
        method = environ["REQUEST_METHOD"]
        target = environ.get("REQUEST_URI") or environ.get("PATH_INFO", "/")
        with self._in_flight:
            try:
                request = HttpRequest(
                    method, target, _headers(environ), environ["wsgi.input"].read(), environ.get("REMOTE_ADDR", "")
                )
                response = self._openapi(method, target) or self._dead_letters(method, target) or self.gateway.handle(request)
            except Exception:  # a fault of local mode's own: say so, and keep serving
                request_id = str(uuid.uuid4())
                log.exception("%s %s: local mode failed (request %s)", method, target, request_id)
                response = HttpResponse(
                    500,
                    [("Content-Type", "application/json"), ("x-amzn-RequestId", request_id)],
                    json.dumps({"message": "Internal server error", "requestId": request_id}).encode(),
                )
            latency = (time.perf_counter() - started) * 1000
            access_log.info("%s %s %d %.1fms %s", method, target, response.status, latency, response.function or "-")
        headers = [(name, value) for name, value in response.headers if name.lower() not in _HOP_BY_HOP]
        headers.append(("Content-Length", str(len(response.body))))
        start_response(f"{response.status} {_reason(response.status)}", headers)
        return [b"" if method == "HEAD" else response.body]


_OPENAPI_PATH = re.compile(r"/restapis/([^/]+)/openapi\.json")
DEAD_LETTERS_PATH = "/.serverless-meta/dead-letters"
_HOP_BY_HOP = {"content-length", "connection", "transfer-encoding", "keep-alive"}


def _reason(status: int) -> str:
    try:
        return HTTPStatus(status).phrase
    except ValueError:
        return "Unknown"


def _headers(environ: Mapping[str, Any]) -> list[tuple[str, str]]:
    """The request's headers from the WSGI environment, with their usual capitalisation."""
    headers = []
    for key, value in environ.items():
        if key.startswith("HTTP_"):
            headers.append((key[5:].replace("_", "-").title(), value))
        elif key in ("CONTENT_TYPE", "CONTENT_LENGTH") and value:
            headers.append((key.replace("_", "-").title(), value))
    return headers


def _runners(functions: Mapping[str, Function], debug: tuple[str, ...], debugpy_port: int | None) -> dict[str, Runner]:
    """How each function that can run locally runs; the others, and every fallback, said once here."""
    runnable = {}
    for key, function in functions.items():
        if function.unavailable:
            log.warning("%s will not run locally: %s", function.name, function.unavailable)
        else:
            runnable[key] = function
    code_dirs: dict[str, list[Path]] = {}
    for function in runnable.values():
        code_dirs.setdefault(function.runtime, []).extend(function.watched_dirs)
    choices = interpreters.choose_all(code_dirs)
    for runtime, choice in choices.items():
        if choice.fallback_reason:
            log.warning("%s functions run on %s: %s", runtime, choice.label, choice.fallback_reason)
    attached = {key for key, function in runnable.items() if any(_names(name, key, function) for name in debug)}
    for name in debug:
        if not any(_names(name, key, function) for key, function in runnable.items()):
            log.warning("--debug %s names no function that runs locally", name)
    runners = {}
    for key, function in runnable.items():
        choice = choices[function.runtime]
        is_attached = key in attached
        runners[key] = Runner(
            choice.executable,
            choice.label,
            attached=is_attached,
            debugpy_port=debugpy_port if is_attached else None,
        )
    return runners


def _names(name: str, key: str, function: Function) -> bool:
    return name in function.name or name == key.rsplit("/", 1)[-1]


class _InFlight:
    """Counts requests being served, so that a stop can wait for them."""

    def __init__(self) -> None:
        self._count = 0
        self._idle = threading.Condition()

    def __enter__(self) -> None:
        with self._idle:
            self._count += 1

    def __exit__(self, *_exc: object) -> None:
        with self._idle:
            self._count -= 1
            self._idle.notify_all()

    def wait_idle(self, timeout: float) -> None:
        with self._idle:
            self._idle.wait_for(lambda: self._count == 0, timeout)
