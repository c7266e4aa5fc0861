"""The sample app (app.py) as users deploy it: its whole template, and the quality gates on it."""

from __future__ import annotations

import json

import pytest
from aws_cdk.assertions import Match, Template

from serverless_meta.testing import TemplateSnapshotExtension


@pytest.fixture
def template_snapshot(snapshot):
    """The consumers' snapshot extension: asset hashes and the Powertools layer's version left out."""
    return snapshot.use_extension(TemplateSnapshotExtension)


def test_template_matches_the_snapshot(sample_template, template_snapshot):
    assert sample_template == template_snapshot


def test_both_services_share_one_table_one_user_pool_one_topic_and_one_api(sample_template):
    template = Template.from_json(sample_template)
    template.resource_count_is("AWS::DynamoDB::GlobalTable", 1)
    template.resource_count_is("AWS::Cognito::UserPool", 1)
    template.resource_count_is("AWS::SNS::Topic", 1)
    template.resource_count_is("AWS::ApiGateway::RestApi", 1)
    template.resource_count_is("AWS::ApiGateway::Stage", 1)
    template.resource_count_is("AWS::Lambda::Function", 8)  # five for Metadata, two for Feedback, its worker
    paths = {r["Properties"]["PathPart"] for r in template.find_resources("AWS::ApiGateway::Resource").values()}
    assert paths == {"metadata", "{id}", "feedback"}


def test_the_shared_table_has_point_in_time_recovery(sample_template):
    # cdk-nag does not check a TableV2's point-in-time recovery.
    Template.from_json(sample_template).has_resource_properties(
        "AWS::DynamoDB::GlobalTable",
        {
            "Replicas": [
                Match.object_like({"PointInTimeRecoverySpecification": {"PointInTimeRecoveryEnabled": True}})
            ]
        },
    )


def test_feedback_validates_text_of_bounded_length(sample_template):
    import app as sample_app

    schema = sample_app.FEEDBACK_SCHEMA["properties"]["feedback"]
    assert schema["minLength"] == 1 and schema["maxLength"] == 2000
    Template.from_json(sample_template).has_resource_properties(
        "AWS::Lambda::Function",
        {
            "Environment": {
                "Variables": Match.object_like(
                    {
                        "RESOURCE_NAME": "feedback",
                        "ID_ATTRIBUTE": "feedbackId",
                        "ITEM_SCHEMA": json.dumps(sample_app.FEEDBACK_SCHEMA, separators=(",", ":")),
                    }
                )
            }
        },
    )
