"""The construct reads aws-cdk-lib through its public API only: jsii's internals change with any upgrade."""

from __future__ import annotations

import ast

from tests.support import ROOT

# jsii's Python runtime: a struct's fields (``_values``) and its proxies' internals.
JSII_INTERNALS = {"_values", "__jsii_ref__", "__jsii_type__"}
# Protected members of aws-cdk-lib's API (documented and semver-covered, but meant for subclasses), each with
# why no public member serves. CfnGlobalTable's own stream_specification getter fails for a TableV2 (jsii
# cannot serialize the Lazy it leaves unresolved), and TableV2 keeps no stream setting of its own.
PROTECTED = {("serverless_meta/props.py", "_cfn_properties")}


def test_no_module_reads_jsii_internals_or_protected_members_without_a_reason():
    found = set()
    for path in sorted((ROOT / "serverless_meta").rglob("*.py")):
        for node in ast.walk(ast.parse(path.read_text(), filename=str(path))):
            if isinstance(node, ast.Attribute) and (node.attr in JSII_INTERNALS or node.attr == "_cfn_properties"):
                found.add((path.relative_to(ROOT).as_posix(), node.attr))
    assert found <= PROTECTED, sorted(found - PROTECTED)
