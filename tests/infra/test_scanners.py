"""Every security scanner, on the sample app and on a one-line service: nothing unaddressed.

cdk-nag (AWS Solutions and Serverless packs) runs inside synthesis; checkov and cfn-lint run
on the synthesized templates. Each finding is fixed or skipped with a reason a reviewer reads,
and each scanner is shown to fail on a new finding, so these tests cannot pass vacuously.
"""

from __future__ import annotations

import json
from pathlib import Path

import aws_cdk as cdk
import pytest
from aws_cdk import aws_apigateway as apigateway
from aws_cdk import aws_route53 as route53
from aws_cdk import aws_sns as sns
from cdk_nag import AwsSolutionsChecks, ServerlessChecks

from serverless_meta import Deployment, ItemScope, ServerlessCrudApi, Worker
from tests.scanners import cfn_lint, checkov, nag_violations
from tests.support import ROOT, SAMPLE_STACK, load_json

MINIMAL_STACK = "Minimal"
HARDENED_STACK = "Hardened"


@pytest.fixture(scope="module")
def minimal_assembly(tmp_path_factory):
    """``ServerlessCrudApi(self, "Metadata", resource_name="metadata")``, alone, with both nag packs."""
    app = cdk.App(outdir=str(tmp_path_factory.mktemp("minimal")))
    ServerlessCrudApi(cdk.Stack(app, MINIMAL_STACK), "Metadata", resource_name="metadata")
    cdk.Validations.of(app).add_plugins(AwsSolutionsChecks(app), ServerlessChecks(app))
    return app.synth()


@pytest.fixture(scope="module")
def hardened_assembly(tmp_path_factory):
    """A service with every opt-in: WAF, API keys, CORS, a replica, an email subscription, groups, scopes,
    a machine client and a Cognito domain, If-Match required, warm starts, a worker, a custom domain with its
    certificate and record made in a zone, canary deploys; and on its API and table,
    services of every item scope: a shared collection with cached public reads, readers of every owner's
    items, and tenants."""
    app = cdk.App(outdir=str(tmp_path_factory.mktemp("hardened")))
    stack = cdk.Stack(app, HARDENED_STACK, env=cdk.Environment(region="eu-west-1"))
    metadata = ServerlessCrudApi(
        stack,
        "Metadata",
        resource_name="metadata",
        waf=True,
        usage_plan=apigateway.UsagePlanProps(quota=apigateway.QuotaSettings(limit=1000, period=apigateway.Period.DAY)),
        cors_allow_origins=["https://app.example.com"],
        replica_regions=["us-east-1"],
        alarm_email="oncall@example.com",
        operation_groups={"delete": ["admins"]},
        operation_scopes={"create": ["write"], "get": ["read"]},
        machine_client=True,
        cognito_domain_prefix="hardened-metadata",
        require_if_match=True,
        provisioned_concurrency={"get": 1},
        snap_start=["list"],
        worker=Worker.from_directory(ROOT / "workers" / "feedback", "feedback_worker.categorize"),
        domain_name="api.example.com",
        hosted_zone=route53.HostedZone.from_hosted_zone_attributes(
            stack, "Zone", hosted_zone_id="Z0123456789", zone_name="example.com"
        ),
        disable_execute_api_endpoint=True,
        deployment=Deployment.canary(10, minutes=5),
    )
    shared = dict(table=metadata.table, encryption_key=metadata.encryption_key, alarm_topic=metadata.alarm_topic, api=metadata.api)
    ServerlessCrudApi(stack, "Pages", resource_name="pages", item_scope=ItemScope.SHARED, public_operations=["get", "list"],
                      public_cache_ttl=cdk.Duration.minutes(1), operation_groups={"create": ["editors"]}, **shared)
    ServerlessCrudApi(stack, "Notes", resource_name="notes", read_all_groups=["staff"], **shared)
    ServerlessCrudApi(stack, "Orders", resource_name="orders", item_scope=ItemScope.claim("custom:tenant"))
    cdk.Validations.of(app).add_plugins(AwsSolutionsChecks(app), ServerlessChecks(app))
    return app.synth()


@pytest.fixture(scope="module", params=["sample", "minimal", "hardened"])
def synthesized(request, sample_assembly, minimal_assembly, hardened_assembly) -> tuple[Path, Path]:
    """(assembly directory, template file) of the sample app, the one-line service, the hardened one."""
    assembly, stack = {
        "sample": (sample_assembly, SAMPLE_STACK),
        "minimal": (minimal_assembly, MINIMAL_STACK),
        "hardened": (hardened_assembly, HARDENED_STACK),
    }[request.param]
    directory = Path(assembly.directory)
    return directory, directory / f"{stack}.template.json"


def test_cdk_nag_finds_nothing_unacknowledged(synthesized):
    # Errors would already have failed synthesis; this catches warnings too.
    assert nag_violations(synthesized[0]) == []


def test_checkov_finds_nothing_unaddressed_and_every_skip_says_why(synthesized):
    failed, skipped = checkov(synthesized[1])

    assert failed == []
    for check, reason in skipped:
        assert len(reason.split()) >= 12, f"{check}: a reviewer needs a real reason, got {reason!r}"


def test_cfn_lint_finds_no_error_and_no_warning_of_ours(synthesized):
    assert cfn_lint(synthesized[1]) == []


def test_every_nag_acknowledgment_says_why(synthesized):
    directory, template = synthesized
    metadata = load_json(directory / template.name.replace(".template.json", ".metadata.json"))
    acknowledgments = {
        f"{path} {rule}": reason
        for path, entries in metadata.items()
        for entry in entries
        if entry["type"] == cdk.Validations.ACKNOWLEDGED_RULES_METADATA_KEY
        for rule, reason in entry["data"].items()
    }
    assert acknowledgments, "the acknowledgments are recorded in the assembly's metadata"
    for where, reason in acknowledgments.items():
        assert len(reason.split()) >= 12, f"{where}: a reviewer needs a real reason, got {reason!r}"


def test_a_new_nag_finding_fails_synthesis(tmp_path):
    import app as sample_app

    app = sample_app.build_app(outdir=str(tmp_path))
    sns.Topic(app.node.find_child(SAMPLE_STACK), "UnencryptedTopic")

    with pytest.raises(RuntimeError, match="AwsSolutions-SNS3"):
        app.synth()


def _with_extra_resource(template: Path, tmp_path: Path, resource: dict) -> Path:
    changed = json.loads(template.read_text())
    changed["Resources"]["Extra"] = resource
    changed.setdefault("Parameters", {})["Unused"] = {"Type": "String"}
    path = tmp_path / template.name
    path.write_text(json.dumps(changed))
    return path


def test_checkov_and_cfn_lint_report_a_new_finding(minimal_assembly, tmp_path):
    template = Path(minimal_assembly.directory) / f"{MINIMAL_STACK}.template.json"
    changed = _with_extra_resource(template, tmp_path, {"Type": "AWS::SNS::Topic", "Properties": {}})

    failed, _ = checkov(changed)
    linted = cfn_lint(changed)

    assert any(f.startswith("CKV_AWS_26 AWS::SNS::Topic.Extra") for f in failed), failed
    assert any(finding.startswith("W2001") for finding in linted), linted
