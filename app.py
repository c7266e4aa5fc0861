#!/usr/bin/env python3
"""The sample app: the Metadata and Feedback services in one stack, sharing one table, user pool and API.

``npx cdk synth`` runs this file; cdk-nag's AWS Solutions and Serverless checks run on every synthesis.
"""

from __future__ import annotations

from pathlib import Path

import aws_cdk as cdk
from cdk_nag import AwsSolutionsChecks, ServerlessChecks
from constructs import Construct

from serverless_meta import ItemScope, Operation, ServerlessCrudApi, Worker

EDITORS = "editors"
STAFF = "staff"
FEEDBACK_SCHEMA = {
    "type": "object",
    "properties": {"feedback": {"type": "string", "minLength": 1, "maxLength": 2000, "pattern": r"\S"}},
    "required": ["feedback"],
    "additionalProperties": False,
}
# The Feedback worker's code: a directory of the app, deployed as it is.
FEEDBACK_WORKER = Path(__file__).resolve().parent / "workers" / "feedback"


class ServerlessMetaStack(cdk.Stack):
    """Metadata: CRUD on website render configurations. Feedback: users submit feedback, which a worker
    gives a sentiment and a topic a moment later."""

    def __init__(self, scope: Construct, construct_id: str, **kwargs) -> None:
        super().__init__(scope, construct_id, **kwargs)
        # cdk.json's context (or `-c alarmEmail=ops@example.com`) names who gets the alarms.
        alarm_email = self.node.try_get_context("alarmEmail") or None
        # Render configurations are the website's, one collection: only editors write them; every signed-in
        # user reads what any editor wrote, and the website finds a page's by its name (GET /metadata?page=homepage).
        metadata = ServerlessCrudApi(
            self,
            "Metadata",
            resource_name="metadata",
            item_scope=ItemScope.SHARED,
            indexes=["page"],
            operation_groups={operation: [EDITORS] for operation in ("create", "update", "delete")},
            alarm_email=alarm_email,
        )
        ServerlessCrudApi(
            self,
            "Feedback",
            resource_name="feedback",
            operations=[Operation.CREATE, Operation.LIST],
            id_attribute="feedbackId",
            timestamp_attribute="timestamp",
            item_schema=FEEDBACK_SCHEMA,
            # Each user lists their own feedback; staff review everybody's.
            read_all_groups=[STAFF],
            table=metadata.table,
            alarm_topic=metadata.alarm_topic,
            encryption_key=metadata.encryption_key,
            # One base URL for the frontend: Feedback's routes on Metadata's API, with its user pool and stage.
            api=metadata.api,
            # After the API answers, each new piece of feedback gets a sentiment and a topic.
            worker=Worker.from_directory(FEEDBACK_WORKER, "feedback_worker.categorize"),
        )


def build_app(**app_props) -> cdk.App:
    app = cdk.App(**app_props)
    ServerlessMetaStack(app, "ServerlessMeta", description="serverless-meta sample: Metadata and Feedback services")
    cdk.Validations.of(app).add_plugins(AwsSolutionsChecks(app), ServerlessChecks(app))
    return app


if __name__ == "__main__":
    build_app().synth()
