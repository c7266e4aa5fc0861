"""The AWS services local mode emulates, in one child process: moto's DynamoDB, DynamoDB Streams and SQS.

The functions run in worker processes of their own, so these must be services they can all
reach: moto's server (its dispatcher picks the service from each request's signature) in a child
process of local mode, on a port the system picks, served by waitress (moto's own server runs on
werkzeug's development server, which closes the connection after every response; waitress keeps
boto3's connections open). One process holds them all, so a write to a table reaches its stream
and a pipe's message its queue in the same memory. Run as ``python -m serverless_meta.local.aws``,
it prints its port and serves until its standard input closes, which happens when local mode ends,
however it ends.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
from typing import Any

# Whatever server it is, it is local: never sign with real credentials.
LOCAL_CREDENTIALS = {"AWS_ACCESS_KEY_ID": "local", "AWS_SECRET_ACCESS_KEY": "local", "AWS_SESSION_TOKEN": "local"}


def local_client(service: str, endpoint: str | None, region: str) -> Any:
    """A boto3 client of ``service`` at the local ``endpoint``, with local credentials and few retries.

    None is AWS's own endpoint, which only moto's in-process mock answers without credentials: tests use it
    (by region: moto knows DynamoDB Streams' regional endpoint, not the account-based one botocore prefers).
    """
    import boto3
    from botocore.config import Config

    return boto3.client(
        service,
        endpoint_url=endpoint,
        region_name=region,
        aws_access_key_id=LOCAL_CREDENTIALS["AWS_ACCESS_KEY_ID"],
        aws_secret_access_key=LOCAL_CREDENTIALS["AWS_SECRET_ACCESS_KEY"],
        config=Config(retries={"max_attempts": 2}, account_id_endpoint_mode="disabled"),
    )


class EmbeddedAwsUnavailable(Exception):
    """The embedded services (moto's server) did not start."""


class EmbeddedAws:
    """moto's server in a child process: ``endpoint`` serves DynamoDB, its streams and SQS."""

    def __init__(self) -> None:
        self._process: subprocess.Popen[str] | None = subprocess.Popen(
            [sys.executable, "-m", "serverless_meta.local.aws"],
            stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True,
        )
        port = self._process.stdout.readline().strip()
        if not port.isdigit():
            self.stop()
            raise EmbeddedAwsUnavailable("the embedded DynamoDB and SQS (moto's server) did not start; its error is above")
        self.endpoint = f"http://127.0.0.1:{port}"

    def stop(self) -> None:
        if self._process is not None:
            self._process.stdin.close()  # it ends on end-of-file
            try:
                self._process.wait(timeout=5)
            except subprocess.TimeoutExpired:
                self._process.kill()
                self._process.wait()
            self._process.stdout.close()
            self._process = None


def _one_dynamodb_request_at_a_time(app: Any) -> Any:
    """The WSGI ``app`` with DynamoDB's requests applied one at a time.

    DynamoDB applies each write whole: "Individual write operations such as UpdateItem are atomic and
    always operate on the most recent version of the item, regardless of concurrency" (DynamoDB
    Developer Guide, "Best practices for handling concurrent updates in DynamoDB"). moto checks a
    condition and then writes, in steps other threads interleave with: twenty writers racing on one
    version could see two of them win. Requests to SQS (whose long polls wait) are not held up.
    """
    lock = threading.Lock()

    def serve(environ: dict[str, Any], start_response: Any) -> Any:
        if not environ.get("HTTP_X_AMZ_TARGET", "").startswith("DynamoDB_"):
            return app(environ, start_response)
        with lock:
            # The whole response is made here, inside the lock, not as the server reads it.
            return list(app(environ, start_response))

    return serve


def _dispatcher() -> Any:
    """moto's server application, which picks the service from each request's signature, remembering the backend
    it found for each host: moto looks it up again for every request, listing its own package directory (a
    hundred or so directory checks, about a third of a millisecond here, for each DynamoDB call)."""
    from moto.moto_server.werkzeug_app import DomainDispatcherApplication, create_backend_app

    class Dispatcher(DomainDispatcherApplication):
        def __init__(self) -> None:
            super().__init__(create_backend_app)
            self._backends: dict[str | None, Any] = {}

        def get_backend_for_host(self, host: str | None) -> Any:
            if host not in self._backends:
                self._backends[host] = super().get_backend_for_host(host)
            return self._backends[host]

    return Dispatcher()


def _remember_member_aliases() -> None:
    """moto's responses, with the names each output member is looked up under computed once per member.

    moto serializes a response by walking its operation's output shape, and looks each member up in the
    result under every name it may have there (its own, its snake_case form, aliases by shape and class):
    computed again for every member of every response, half of moto's time for a GetItem of eight
    attributes. Those names depend only on the member's shape (and its parent's) and the result's type,
    which are what they are remembered by; moto's service models, and so its shapes, are loaded once.
    """
    from moto.core import responses
    from moto.core.serialize import AttributePickerContext, XFormedAttributePicker

    names: dict[tuple[Any, ...], tuple[str, ...]] = {}

    class RememberingPicker(XFormedAttributePicker):
        def get_possible_keys(self, context: AttributePickerContext) -> Any:
            member = (type(context.obj), context.shape, getattr(context.shape, "parent", None), context.key)
            if member not in names:
                names[member] = tuple(super().get_possible_keys(context))
            return names[member]

    responses.XFormedAttributePicker = RememberingPicker  # what moto's ActionResult serializes with


def _serve() -> None:
    import waitress

    signal.signal(signal.SIGINT, signal.SIG_IGN)  # Ctrl-C reaches the process group: local mode stops this itself
    # Local fake credentials for moto's request signing checks, whatever this process inherited.
    os.environ.update(LOCAL_CREDENTIALS)
    _remember_member_aliases()
    server = waitress.create_server(
        _one_dynamodb_request_at_a_time(_dispatcher()),
        host="127.0.0.1", port=0, threads=16, ident="serverless-meta-aws",
    )

    def exit_with_parent() -> None:
        sys.stdin.read()
        os._exit(0)

    threading.Thread(target=exit_with_parent, daemon=True).start()
    print(server.effective_port, flush=True)
    server.run()


if __name__ == "__main__":
    _serve()
