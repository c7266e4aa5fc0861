"""The local HTTP server: every REST API of a cloud assembly on one loopback port."""

from __future__ import annotations

import logging
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

from serverless_meta.local.cognito import LocalUserPools
from serverless_meta.local.dynamodb import LocalDynamoDB
from serverless_meta.local.functions import LocalFunction
from serverless_meta.local.gateway import HttpRequest, LocalGateway
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
            self._http = ThreadingHTTPServer((host, port), _handler_class(self.gateway))
        except BaseException:
            self.dynamodb.stop()
            raise
        self._http.daemon_threads = True
        self._thread: threading.Thread | None = None

    @property
    def url(self) -> str:
        host, port = self._http.server_address[:2]
        return f"http://{host}:{port}"

    def start(self) -> None:
        self._thread = threading.Thread(target=self._http.serve_forever, name="serverless-meta-local", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        if self._thread is not None:
            self._http.shutdown()
            self._thread.join()
        self._http.server_close()
        self.dynamodb.stop()


def _handler_class(gateway: LocalGateway) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"
        disable_nagle_algorithm = True  # headers and body go out as separate writes: no 40 ms stall
        server_version = "serverless-meta-local"

        def _serve(self) -> None:
            started = time.perf_counter()
            length = int(self.headers.get("Content-Length") or 0)
            request = HttpRequest(
                method=self.command,
                target=self.path,
                headers=list(self.headers.items()),
                body=self.rfile.read(length) if length else b"",
                source_ip=self.client_address[0],
            )
            response = gateway.handle(request)
            self.send_response(response.status)
            for name, value in response.headers:
                if name.lower() not in ("content-length", "connection"):
                    self.send_header(name, value)
            self.send_header("Content-Length", str(len(response.body)))
            self.end_headers()
            if self.command != "HEAD":
                self.wfile.write(response.body)
            latency = (time.perf_counter() - started) * 1000
            access_log.info(
                "%s %s %d %.1fms %s", self.command, self.path, response.status, latency, response.function or "-"
            )

        do_GET = do_POST = do_PUT = do_DELETE = do_PATCH = do_OPTIONS = do_HEAD = _serve

        def log_message(self, format: str, *args: object) -> None:  # noqa: A002 - the base class's name
            """Silenced: the access log above has one line per request."""

    return Handler
