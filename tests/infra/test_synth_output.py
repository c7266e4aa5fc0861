"""What synthesis tells the user: the note that nobody is paged reads cleanly, and can be acknowledged."""

from __future__ import annotations

import re
import subprocess

import aws_cdk as cdk
import pytest
from aws_cdk.assertions import Annotations, Match

from serverless_meta import ServerlessCrudApi
from serverless_meta.monitoring import NO_SUBSCRIBER_NOTE
from tests.support import ROOT

NOTE = "The alarm topic has no subscriber: pass alarm_email, or subscribe someone to alarm_topic"


@pytest.fixture(scope="module")
def cdk_synth(tmp_path_factory) -> subprocess.CompletedProcess:
    """``npx cdk synth`` of the sample app, as a user runs it: the project's own cdk CLI and Node.js."""
    outdir = tmp_path_factory.mktemp("cdk.out")
    return subprocess.run(
        ["npx", "cdk", "synth", "--quiet", "--output", str(outdir)],
        cwd=ROOT, capture_output=True, text=True, timeout=300,
    )


@pytest.fixture(scope="module")
def stacks() -> dict[str, cdk.Stack]:
    """One service whose note stands, one whose app acknowledged it; synthesized once."""
    app = cdk.App()
    noted = cdk.Stack(app, "Noted")
    ServerlessCrudApi(noted, "Service", resource_name="items")
    acknowledged = cdk.Stack(app, "Acknowledged")
    service = ServerlessCrudApi(acknowledged, "Service", resource_name="items")
    cdk.Annotations.of(service).acknowledge_info(NO_SUBSCRIBER_NOTE)
    app.synth()
    return {"noted": noted, "acknowledged": acknowledged}


def test_cdk_synth_prints_the_note_with_its_construct_and_how_to_acknowledge_it_and_no_source_file(cdk_synth):
    assert cdk_synth.returncode == 0, cdk_synth.stderr
    lines = cdk_synth.stderr.splitlines()
    (at,) = [index for index, line in enumerate(lines) if NOTE in line]
    assert lines[at : at + 3] == [
        f"INFO {NOTE} (Construct Annotations)",
        "   ServerlessMeta/Metadata",
        f"   Acknowledge with 'Annotation::{NO_SUBSCRIBER_NOTE}'",
    ]
    # Where the note came from, as the CLI finds it in the annotation's stack trace: from Python, only the
    # jsii kernel's temporary program.js, which reads as an error. The annotation carries no trace.
    assert not [line for line in lines if re.search(r"\.js:\d+:\d+", line)], cdk_synth.stderr


def test_the_note_names_the_service_that_has_nobody_to_page(stacks):
    Annotations.from_stack(stacks["noted"]).has_info("/Noted/Service", Match.string_like_regexp("no subscriber"))


def test_an_app_that_is_paged_otherwise_acknowledges_the_note_by_its_id(stacks):
    Annotations.from_stack(stacks["acknowledged"]).has_no_info("*", Match.string_like_regexp("no subscriber"))
