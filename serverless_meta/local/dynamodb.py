"""The DynamoDB the local functions talk to: moto embedded in this process, or any compatible server."""

from __future__ import annotations

import logging
from collections.abc import Iterable

import boto3
from botocore.config import Config

from serverless_meta.local.template import Table

# Whatever DynamoDB-compatible server it is, it is local: never sign with real credentials.
LOCAL_CREDENTIALS = {"AWS_ACCESS_KEY_ID": "local", "AWS_SECRET_ACCESS_KEY": "local", "AWS_SESSION_TOKEN": "local"}


class LocalDynamoDB:
    """Starts moto's server on a free loopback port unless ``endpoint`` names a server to use."""

    def __init__(self, endpoint: str | None = None) -> None:
        self._server = None
        if endpoint is None:
            from moto.server import ThreadedMotoServer

            logging.getLogger("werkzeug").setLevel(logging.WARNING)
            self._server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
            self._server.start()
            host, port = self._server.get_host_and_port()
            endpoint = f"http://{host}:{port}"
        self.endpoint = endpoint

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
        if self._server is not None:
            self._server.stop()
            self._server = None
