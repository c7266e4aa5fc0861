"""Snapshots of synthesized templates that change when the app does, not when its tools do.

An upgrade of serverless-meta or aws-cdk-lib, or an edit of handler code, changes a template in
places that mean nothing to a reviewer: asset hashes (the S3 key of every function's code), the
version of the Powertools layer in its SSM parameter's name and logical id, and the CDK metadata
resource (the CLI's analytics); where the assets were staged (the ``aws:asset:path`` metadata) is
the machine's. ``normalize_template`` replaces the hashes, the version and the asset paths with
placeholders and drops the metadata resource; everything else, a runtime or a logical id included,
stays as synthesized.
"""

from __future__ import annotations

import difflib
import json
import os
import re
import warnings
from collections.abc import Mapping
from pathlib import Path
from typing import Any

ASSET_HASH = "<asset hash>"
ASSET_PATH = "<asset path>"
POWERTOOLS_VERSION = "<powertools version>"

_ASSET_HASH = re.compile(r"\b[0-9a-f]{64}\b")
# /aws/service/powertools/python/<architecture>/<runtime>/<version>: the layer's public SSM parameter.
_POWERTOOLS_PARAMETER = re.compile(r"^(/aws/service/powertools/python/[^/]+/[^/]+/)[^/]+$")
_CDK_METADATA_TYPE = "AWS::CDK::Metadata"
_CDK_METADATA_CONDITION = "CDKMetadataAvailable"


def normalize_template(template: Mapping[str, Any]) -> dict[str, Any]:
    """``template`` (a CloudFormation template as a dict) without what changes without meaning."""
    resources = {
        name: resource
        for name, resource in template.get("Resources", {}).items()
        if resource.get("Type") != _CDK_METADATA_TYPE
    }
    normalized = {**template, "Resources": resources}
    conditions = {
        name: condition for name, condition in template.get("Conditions", {}).items() if name != _CDK_METADATA_CONDITION
    }
    if conditions:
        normalized["Conditions"] = conditions
    else:
        normalized.pop("Conditions", None)
    renames = {}
    for name, parameter in template.get("Parameters", {}).items():
        found = _POWERTOOLS_PARAMETER.match(str(parameter.get("Default", "")))
        if found:
            renames[name] = "SsmParameterValue" + re.sub(r"[^A-Za-z0-9]", "", found[1]) + "Parameter"
    return _rewrite(normalized, renames)


def snapshot_text(template: Mapping[str, Any]) -> str:
    """The normalized template as a snapshot file holds it: JSON, keys sorted, as syrupy's JSON extension writes."""
    return json.dumps(normalize_template(template), indent=2, ensure_ascii=False, sort_keys=True) + "\n"


def assert_matches_snapshot(template: Mapping[str, Any], path: str | os.PathLike[str]) -> None:
    """Fail, with a diff, unless the normalized ``template`` is what the JSON file at ``path`` holds.

    Where the file does not exist yet it is written (commit it), except under CI (the ``CI`` environment
    variable set), where a missing snapshot fails, as in Jest. To accept a change, delete the file and
    run the test again: the diff is then the version control's.
    """
    path = Path(path)
    actual = snapshot_text(template)
    if not path.exists():
        if os.environ.get("CI"):
            raise AssertionError(f"no snapshot at {path}: run the tests where you develop, and commit the file")
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(actual)
        warnings.warn(f"wrote a new snapshot, {path}: commit it", stacklevel=2)
        return
    expected = path.read_text()
    if actual != expected:
        diff = "".join(difflib.unified_diff(expected.splitlines(True), actual.splitlines(True), str(path), "synthesized"))
        raise AssertionError(
            f"the template differs from its snapshot (if the change is meant, delete {path} and run again):\n{diff}"
        )


def _rewrite(value: Any, renames: Mapping[str, str]) -> Any:
    if isinstance(value, Mapping):
        return {
            _rewrite_string(key, renames): ASSET_PATH if key == "aws:asset:path" else _rewrite(item, renames)
            for key, item in value.items()
        }
    if isinstance(value, list):
        return [_rewrite(item, renames) for item in value]
    if isinstance(value, str):
        return _rewrite_string(value, renames)
    return value


def _rewrite_string(text: str, renames: Mapping[str, str]) -> str:
    for old, new in renames.items():
        text = text.replace(old, new)
    found = _POWERTOOLS_PARAMETER.match(text)
    if found:
        text = found[1] + POWERTOOLS_VERSION
    return _ASSET_HASH.sub(ASSET_HASH, text)
