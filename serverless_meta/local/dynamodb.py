"""The DynamoDB every function's environments share: moto's server on a private loopback port, or any compatible server.

The functions run in worker processes of their own, so the embedded DynamoDB must be one they
can all reach: moto's DynamoDB application in a child process of local mode, on a port the
system picks, served by waitress (moto's own server runs on werkzeug's development server,
which closes the connection after every response; waitress keeps boto3's connections open).
Run as ``python -m serverless_meta.local.dynamodb``, it prints its port and serves until its
standard input closes, which happens when local mode ends, however it ends.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
from collections.abc import Iterable

import boto3
from botocore.config import Config

from serverless_meta.local.template import Table

# Whatever DynamoDB-compatible server it is, it is local: never sign with real credentials.
LOCAL_CREDENTIALS = {"AWS_ACCESS_KEY_ID": "local", "AWS_SECRET_ACCESS_KEY": "local", "AWS_SESSION_TOKEN": "local"}


class DynamoDBUnavailable(Exception):
    """The embedded DynamoDB did not start."""


class LocalDynamoDB:
    """moto's DynamoDB in a child process, unless ``endpoint`` names a server to use."""

    def __init__(self, endpoint: str | None = None) -> None:
        self._process: subprocess.Popen[str] | None = None
        if endpoint is None:
            self._process = subprocess.Popen(
                [sys.executable, "-m", "serverless_meta.local.dynamodb"],
                stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True,
            )
            port = self._process.stdout.readline().strip()
            if not port.isdigit():
                self.stop()
                raise DynamoDBUnavailable("the embedded DynamoDB (moto's server) did not start; its error is above")
            endpoint = f"http://127.0.0.1:{port}"
        self.endpoint = endpoint

    @property
    def embedded(self) -> bool:
        return self._process is not None

    @property
    def environment(self) -> dict[str, str]:
        """What a function's environment needs so that its boto3 clients use this DynamoDB."""
        return {"AWS_ENDPOINT_URL_DYNAMODB": self.endpoint, **LOCAL_CREDENTIALS}

    def create_tables(self, tables: Iterable[Table]) -> list[str]:
        """Create the tables that do not exist yet (an external server may hold them already)."""
        created = []
        for table in tables:
            client = boto3.client(
                "dynamodb",
                endpoint_url=self.endpoint,
                region_name=table.region,
                aws_access_key_id="local",
                aws_secret_access_key="local",
                config=Config(retries={"max_attempts": 2}),
            )
            if table.name in client.list_tables()["TableNames"]:
                continue
            request = {
                "TableName": table.name,
                "KeySchema": table.key_schema,
                "AttributeDefinitions": table.attribute_definitions,
                "BillingMode": "PAY_PER_REQUEST",
            }
            if table.global_secondary_indexes:
                request["GlobalSecondaryIndexes"] = table.global_secondary_indexes
            if table.local_secondary_indexes:
                request["LocalSecondaryIndexes"] = table.local_secondary_indexes
            client.create_table(**request)
            created.append(table.name)
        return created

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


def _serve() -> None:
    import waitress
    from moto.moto_server.werkzeug_app import create_backend_app

    signal.signal(signal.SIGINT, signal.SIG_IGN)  # Ctrl-C reaches the process group: local mode stops this itself
    # Local fake credentials for moto's request signing checks, whatever this process inherited.
    os.environ.update(LOCAL_CREDENTIALS)
    server = waitress.create_server(
        create_backend_app("dynamodb"), host="127.0.0.1", port=0, threads=8, ident="serverless-meta-dynamodb"
    )

    def exit_with_parent() -> None:
        sys.stdin.read()
        os._exit(0)

    threading.Thread(target=exit_with_parent, daemon=True).start()
    print(server.effective_port, flush=True)
    server.run()


if __name__ == "__main__":
    _serve()
