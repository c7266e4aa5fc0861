"""Many services in one stack: what each costs in resources, and what none of them gives up for it."""

from __future__ import annotations

from aws_cdk import aws_iam as iam

from serverless_meta import ServerlessCrudApi
from tests.support import role_statements, synthesize


def test_a_grant_made_after_the_construct_lands_in_the_functions_role():
    def build(stack):
        service = ServerlessCrudApi(stack, "Metadata", resource_name="metadata")
        service.functions["get"].add_to_role_policy(
            iam.PolicyStatement(actions=["s3:GetObject"], resources=["arn:aws:s3:::assets/*"])
        )

    template = synthesize(build)

    assert {"Action": "s3:GetObject", "Effect": "Allow", "Resource": "arn:aws:s3:::assets/*"} in (
        role_statements(template, "MetadataGetFunctionRole")
    )
    assert all("s3:" not in str(role_statements(template, f"Metadata{op}FunctionRole")) for op in ("Create", "List"))
    template.resource_count_is("AWS::IAM::Policy", 0)
