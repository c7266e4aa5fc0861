"""Template snapshots that an upgrade of serverless-meta or aws-cdk-lib does not churn, for syrupy and plain files."""

from __future__ import annotations

import copy
import json
import re

import pytest

from serverless_meta.testing import TemplateSnapshotExtension, assert_matches_snapshot, normalize_template
from serverless_meta.testing.snapshots import snapshot_text

POWERTOOLS_PARAMETER = re.compile(r"SsmParameterValueawsservicepowertools\w+Parameter")


def _upgraded(template: dict) -> dict:
    """``template`` as the next release would synthesize it, with nothing a reviewer cares about changed:
    other asset hashes, another Powertools layer version (in its parameter's path and logical id), and
    the CDK CLI's metadata resource."""
    text = json.dumps(template)
    (parameter,) = set(POWERTOOLS_PARAMETER.findall(text))
    text = re.sub(r"\b[0-9a-f]{64}\b", "0" * 64, text)
    text = text.replace(
        parameter, "SsmParameterValueawsservicepowertoolspythonarm64python3133400D2A1F3B6E8C94E47B0A8C9D2E1F0A3B4C5Parameter"
    )
    text = text.replace("/3.37.0", "/3.40.0")
    upgraded = json.loads(text)
    upgraded["Resources"]["CDKMetadata"] = {
        "Type": "AWS::CDK::Metadata",
        "Properties": {"Analytics": "v2:deflate64:H4sIAAAAAAAA/3WOQQ6CMBBF"},
        "Condition": "CDKMetadataAvailable",
    }
    upgraded["Conditions"] = {**upgraded.get("Conditions", {}), "CDKMetadataAvailable": {"Fn::Or": []}}
    return upgraded


def _first_function(template: dict) -> dict:
    return next(r for r in template["Resources"].values() if r["Type"] == "AWS::Lambda::Function")


def test_an_upgrade_that_changes_nothing_that_matters_leaves_the_normalized_template_as_it_was(sample_template):
    assert "3.37.0" in json.dumps(sample_template), "the sample pins Powertools 3.37.0"

    assert normalize_template(_upgraded(sample_template)) == normalize_template(sample_template)


@pytest.mark.parametrize(
    "change",
    [
        lambda template: _first_function(template)["Properties"].update(MemorySize=512),
        lambda template: _first_function(template)["Properties"].update(Runtime="python3.12"),
        lambda template: template["Resources"].pop(next(iter(template["Resources"]))),
    ],
    ids=["memory size", "runtime", "a resource less"],
)
def test_a_change_that_matters_changes_the_normalized_template(sample_template, change):
    changed = copy.deepcopy(sample_template)
    change(changed)

    assert normalize_template(changed) != normalize_template(sample_template)


def test_where_assets_were_staged_is_left_out(sample_template):
    staged = copy.deepcopy(sample_template)
    _first_function(staged)["Metadata"] = {"aws:asset:path": "/home/alice/orders/.venv/lib/serverless_meta/handlers"}
    elsewhere = copy.deepcopy(sample_template)
    _first_function(elsewhere)["Metadata"] = {"aws:asset:path": "asset." + "0" * 64}

    assert normalize_template(staged) == normalize_template(elsewhere)


def test_the_normalized_template_keeps_the_layer_parameter_and_its_references_under_one_stable_name(sample_template):
    normalized = json.dumps(normalize_template(sample_template))

    assert "/aws/service/powertools/python/arm64/python3.13/<powertools version>" in normalized
    assert set(POWERTOOLS_PARAMETER.findall(normalized)) == {"SsmParameterValueawsservicepowertoolspythonarm64python313Parameter"}
    assert '"S3Key": "<asset hash>.zip"' in normalized and not re.search(r"[0-9a-f]{64}", normalized)


def test_a_missing_snapshot_file_is_written_and_then_holds(sample_template, tmp_path, monkeypatch):
    monkeypatch.delenv("CI", raising=False)
    path = tmp_path / "snapshots" / "Stack.template.json"

    with pytest.warns(UserWarning, match="wrote a new snapshot"):
        assert_matches_snapshot(sample_template, path)

    assert path.read_text() == snapshot_text(sample_template)
    assert_matches_snapshot(_upgraded(sample_template), path)


def test_under_ci_a_missing_snapshot_file_fails(sample_template, tmp_path, monkeypatch):
    monkeypatch.setenv("CI", "true")
    path = tmp_path / "Stack.template.json"

    with pytest.raises(AssertionError, match="no snapshot at"):
        assert_matches_snapshot(sample_template, path)
    assert not path.exists()


def test_a_template_that_differs_from_its_snapshot_fails_with_a_diff(sample_template, tmp_path):
    path = tmp_path / "Stack.template.json"
    path.write_text(snapshot_text(sample_template))
    changed = copy.deepcopy(sample_template)
    _first_function(changed)["Properties"]["MemorySize"] = 512

    with pytest.raises(AssertionError) as raised:
        assert_matches_snapshot(changed, path)

    assert f"delete {path} and run again" in str(raised.value)
    assert '-        "MemorySize": 256,\n+        "MemorySize": 512,' in str(raised.value)


def test_syrupy_snapshots_and_plain_snapshot_files_hold_the_same_text(sample_template):
    assert TemplateSnapshotExtension().serialize(sample_template) == snapshot_text(sample_template)
