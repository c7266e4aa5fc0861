"""The local HTTP server: every REST API of a cloud assembly on one loopback port."""

from __future__ import annotations

import json
import logging
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

from serverless_meta.local.cognito import LocalUserPools
from serverless_meta.local.dynamodb import LocalDynamoDB
from serverless_meta.local.functions import LocalFunction
from serverless_meta.local.gateway import HttpRequest, HttpResponse, LocalGateway
from serverless_meta.local.template import LocalApp

log = logging.getLogger("serverless_meta.local")
access_log = logging.getLogger("serverless_meta.local.access")

# Local functions never send traces or metrics anywhere; their logs go to this console.
_LOCAL_FUNCTION_ENVIRONMENT = {"POWERTOOLS_TRACE_DISABLED": "true", "POWERTOOLS_METRICS_DISABLED": "true"}


class LocalServer:
    """Serves ``app`` on ``host:port``; ``start()`` returns once it accepts connections."""

    def __init__(
        self,
        app: LocalApp,
        *,
        host: str = "127.0.0.1",
        port: int = 3000,
        state_dir: Path,
        dynamodb_endpoint: str | None = None,
    ) -> None:
        self.dynamodb = LocalDynamoDB(dynamodb_endpoint)
        try:
            self.dynamodb.create_tables(app.tables)
            self.user_pools = LocalUserPools(app.user_pools, state_dir)
            environment = {**self.dynamodb.environment, **_LOCAL_FUNCTION_ENVIRONMENT}
            functions = {
                key: LocalFunction(function, environment)
                for key, function in app.functions.items()
                if function.code_dir is not None and function.runtime.startswith("python")
            }
            self.gateway = LocalGateway(app.apis, functions, self.user_pools)
            self._http = _Server((host, port), _handler_class(self.gateway))
        except BaseException:
            self.dynamodb.stop()
            raise
        self._http.in_flight = _InFlight()
        self._thread: threading.Thread | None = None

    @property
    def url(self) -> str:
        host, port = self._http.server_address[:2]
        return f"http://{host}:{port}"

    def start(self) -> None:
        self._thread = threading.Thread(target=self._http.serve_forever, name="serverless-meta-local", daemon=True)
        self._thread.start()

    def stop(self, grace_seconds: float = 30) -> None:
        """Stop accepting, let requests in flight finish (up to ``grace_seconds``), then close."""
        if self._thread is not None:
            self._http.shutdown()
            self._thread.join()
            self._http.in_flight.wait_idle(grace_seconds)
        self._http.server_close()
        self.dynamodb.stop()


# API Gateway's largest request payload.
MAX_BODY_BYTES = 10 * 1024 * 1024


class _BadRequest(Exception):
    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status


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


class _Server(ThreadingHTTPServer):
    daemon_threads = True  # idle keep-alive connections must not hold up a stop
    in_flight: _InFlight


def _handler_class(gateway: LocalGateway) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"
        disable_nagle_algorithm = True  # headers and body go out as separate writes: no 40 ms stall
        server_version = "serverless-meta-local"
        server: _Server

        def _serve(self) -> None:
            started = time.perf_counter()
            with self.server.in_flight:
                try:
                    request = HttpRequest(
                        self.command, self.path, list(self.headers.items()), self._read_body(), self.client_address[0]
                    )
                except _BadRequest as error:
                    self.close_connection = True
                    response = HttpResponse(
                        error.status, [("Content-Type", "application/json")], json.dumps({"message": str(error)}).encode()
                    )
                else:
                    try:
                        response = gateway.handle(request)
                    except Exception:  # a fault of local mode's own: say so, and keep serving
                        log.exception("%s %s: local mode failed", self.command, self.path)
                        response = HttpResponse(500, [("Content-Type", "application/json")],
                                                b'{"message": "Internal server error"}')
                # Logged before the answer goes out, so that a client that has its answer finds the line.
                latency = (time.perf_counter() - started) * 1000
                access_log.info(
                    "%s %s %d %.1fms %s", self.command, self.path, response.status, latency, response.function or "-"
                )
                self._write(response)

        do_GET = do_POST = do_PUT = do_DELETE = do_PATCH = do_OPTIONS = do_HEAD = _serve

        def _read_body(self) -> bytes:
            if "chunked" in (self.headers.get("Transfer-Encoding") or "").lower():
                return self._read_chunked()
            length = self.headers.get("Content-Length")
            if length is None:
                return b""
            if not length.strip().isdigit():
                raise _BadRequest(400, f"Invalid Content-Length: {length!r}")
            if int(length) > MAX_BODY_BYTES:
                raise _BadRequest(413, "Request Too Long")
            return self.rfile.read(int(length))

        def _read_chunked(self) -> bytes:
            body = bytearray()
            while True:
                size_line = self.rfile.readline(1024).split(b";", 1)[0].strip()
                try:
                    size = int(size_line, 16)
                except ValueError:
                    raise _BadRequest(400, "Invalid chunked request body") from None
                if size == 0:
                    while self.rfile.readline(1024).strip():  # trailers, up to the blank line
                        pass
                    return bytes(body)
                if len(body) + size > MAX_BODY_BYTES:
                    raise _BadRequest(413, "Request Too Long")
                body += self.rfile.read(size)
                self.rfile.readline(3)

        def _write(self, response: HttpResponse) -> None:
            self.send_response(response.status)
            for name, value in response.headers:
                if name.lower() not in ("content-length", "connection", "transfer-encoding"):
                    self.send_header(name, value)
            self.send_header("Content-Length", str(len(response.body)))
            if self.close_connection:
                self.send_header("Connection", "close")
            self.end_headers()
            if self.command != "HEAD":
                self.wfile.write(response.body)

        def log_message(self, format: str, *args: object) -> None:  # noqa: A002 - the base class's name
            """Silenced: the access log above has one line per request."""

    return Handler
