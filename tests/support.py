"""Helpers the test modules share: the project's own Node.js for jsii, synthesis, template look-ups."""

from __future__ import annotations

import json
import os
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
_NODE_BIN = ROOT / "node_modules" / ".bin"
if _NODE_BIN.is_dir():
    # jsii starts `node` from PATH: use the supported Node.js from our npm dependencies, as `make` does.
    os.environ["PATH"] = f"{_NODE_BIN}{os.pathsep}{os.environ['PATH']}"

SAMPLE_STACK = "ServerlessMeta"
# Each operation's function (by its construct id's prefix) and the one DynamoDB action it may call.
DYNAMODB_ACTIONS = {
    "Create": "dynamodb:PutItem",
    "List": "dynamodb:Query",
    "Get": "dynamodb:GetItem",
    "Update": "dynamodb:UpdateItem",
    "Delete": "dynamodb:DeleteItem",
}


def resources_of_type(template: dict, resource_type: str) -> dict[str, dict]:
    return {name: r for name, r in template["Resources"].items() if r["Type"] == resource_type}


def load_json(path: Path) -> dict:
    return json.loads(path.read_text())


def synthesize(build):
    """A stack in a fresh app, built by ``build(stack)`` and synthesized once, as an assertions Template."""
    import aws_cdk as cdk
    from aws_cdk.assertions import Template

    app = cdk.App()
    stack = cdk.Stack(app, "TestStack", env=cdk.Environment(account="123456789012", region="eu-west-1"))
    build(stack)
    return Template.from_stack(stack)


def role_statements(template, role_prefix: str) -> list[dict]:
    """Every statement that applies to the role whose logical id starts with ``role_prefix``: its inline
    policies and any ``AWS::IAM::Policy`` attached to it (``template`` an assertions Template)."""
    resources = template.to_json()["Resources"]
    (role_id,) = [n for n, r in resources.items() if r["Type"] == "AWS::IAM::Role" and n.startswith(role_prefix)]
    documents = [p["PolicyDocument"] for p in resources[role_id]["Properties"].get("Policies", [])]
    documents += [
        r["Properties"]["PolicyDocument"]
        for r in resources.values()
        if r["Type"] == "AWS::IAM::Policy" and {"Ref": role_id} in r["Properties"].get("Roles", [])
    ]
    return [statement for document in documents for statement in document["Statement"]]
