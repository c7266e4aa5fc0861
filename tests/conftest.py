"""Shared fixtures: the project's own Node.js for jsii, and one synthesis of the sample app per session."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
_NODE_BIN = ROOT / "node_modules" / ".bin"
if _NODE_BIN.is_dir():
    # jsii starts `node` from PATH: use the supported Node.js from our npm dependencies, as `make` does.
    os.environ["PATH"] = f"{_NODE_BIN}{os.pathsep}{os.environ['PATH']}"

SAMPLE_STACK = "ServerlessMeta"


@pytest.fixture(scope="session")
def sample_assembly(tmp_path_factory):
    """The sample app (app.py) synthesized once, with cdk-nag's checks, into a temporary cdk.out."""
    import app as sample_app

    return sample_app.build_app(outdir=str(tmp_path_factory.mktemp("cdk.out"))).synth()


@pytest.fixture(scope="session")
def sample_template(sample_assembly) -> dict:
    return sample_assembly.get_stack_by_name(SAMPLE_STACK).template


@pytest.fixture(scope="session")
def sample_template_path(sample_assembly) -> Path:
    return Path(sample_assembly.directory) / f"{SAMPLE_STACK}.template.json"


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
