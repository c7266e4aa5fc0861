"""The sample app (app.py) as users deploy it: its whole template, and the quality gates on it."""

from __future__ import annotations

import json
import re

import pytest
from aws_cdk.assertions import Match, Template
from syrupy.extensions.json import JSONSnapshotExtension


ASSET_HASH = re.compile(r"[0-9a-f]{64}")


def _mask_asset_hashes(value):
    """Asset hashes change with every handler edit; the snapshot is about the template's shape."""
    if isinstance(value, dict):
        return {key: _mask_asset_hashes(item) for key, item in value.items()}
    if isinstance(value, list):
        return [_mask_asset_hashes(item) for item in value]
    if isinstance(value, str):
        return ASSET_HASH.sub("<asset-hash>", value)
    return value


@pytest.fixture
def json_snapshot(snapshot):
    return snapshot.use_extension(JSONSnapshotExtension)


def test_template_matches_the_snapshot(sample_template, json_snapshot):
    assert _mask_asset_hashes(sample_template) == json_snapshot


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
