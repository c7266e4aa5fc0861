"""The DynamoDB every function's environments share: the embedded one (``aws.py``), or any compatible server.

Local mode creates the templates' tables there, with the streams the templates ask for, and finds
each stream for the pipes that read it. A server without streams (dynalite, or any that does not
answer DynamoDB Streams' API) serves the tables all the same; the pipes that would read them are
said at startup not to run.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from botocore.exceptions import BotoCoreError, ClientError

from serverless_meta.local.aws import LOCAL_CREDENTIALS, local_client
from serverless_meta.local.model import Table


class LocalDynamoDB:
    """The DynamoDB at ``endpoint``: its tables, and their streams."""

    def __init__(self, endpoint: str | None) -> None:
        self.endpoint = endpoint

    @property
    def environment(self) -> dict[str, str]:
        """What a function's environment needs so that its boto3 clients use this DynamoDB."""
        return {"AWS_ENDPOINT_URL_DYNAMODB": self.endpoint, **LOCAL_CREDENTIALS}

    def client(self, service: str, region: str) -> Any:
        """A boto3 client of ``dynamodb`` or ``dynamodbstreams`` at this server."""
        return local_client(service, self.endpoint, region)

    def create_tables(self, tables: Iterable[Table]) -> list[str]:
        """Create the tables that do not exist yet (an external server may hold them already)."""
        created = []
        for table in tables:
            client = self.client("dynamodb", table.region)
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
            if table.stream_view_type:
                request["StreamSpecification"] = {"StreamEnabled": True, "StreamViewType": table.stream_view_type}
            client.create_table(**request)
            created.append(table.name)
        return created

    def stream_of(self, table: Table) -> tuple[str | None, str | None]:
        """The ARN of the table's stream and None, or None and why the server offers none.

        A table an external server held already gets the stream its template asks for.
        """
        try:
            client = self.client("dynamodb", table.region)
            description = client.describe_table(TableName=table.name)["Table"]
            if not description.get("LatestStreamArn") and table.stream_view_type:
                specification = {"StreamEnabled": True, "StreamViewType": table.stream_view_type}
                description = client.update_table(TableName=table.name, StreamSpecification=specification)["TableDescription"]
            arn = description.get("LatestStreamArn")
            if not arn:
                return None, f"table {table.name} has no stream there"
            self.client("dynamodbstreams", table.region).describe_stream(StreamArn=arn, Limit=1)
        except (BotoCoreError, ClientError) as error:
            return None, f"it does not serve DynamoDB Streams: {' '.join(str(error).split())}"
        return arn, None
