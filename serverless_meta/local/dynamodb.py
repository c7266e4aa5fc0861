"""The DynamoDB the local functions talk to: moto in this process, or any compatible server.

moto mocks AWS in-process (no server, no port): the functions run in this process too, so
their boto3 clients reach it directly, which is several times faster than moto's server.
"""

from __future__ import annotations

from collections.abc import Iterable

import boto3
from botocore.config import Config

from serverless_meta.local.template import Table

# Whatever DynamoDB-compatible server it is, it is local: never sign with real credentials.
LOCAL_CREDENTIALS = {"AWS_ACCESS_KEY_ID": "local", "AWS_SECRET_ACCESS_KEY": "local", "AWS_SESSION_TOKEN": "local"}


class LocalDynamoDB:
    """moto, mocking DynamoDB in this process, unless ``endpoint`` names a server to use."""

    def __init__(self, endpoint: str | None = None) -> None:
        self._mock = None
        if endpoint is None:
            from moto import mock_aws

            self._mock = mock_aws()
            self._mock.start()
        self.endpoint = endpoint

    @property
    def environment(self) -> dict[str, str]:
        """What a function's environment needs so that its boto3 clients use this DynamoDB."""
        endpoint = {"AWS_ENDPOINT_URL_DYNAMODB": self.endpoint} if self.endpoint else {}
        return {**endpoint, **LOCAL_CREDENTIALS}

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
        if self._mock is not None:
            self._mock.stop()
            self._mock = None
