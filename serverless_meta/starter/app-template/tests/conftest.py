"""Fixtures: the app synthesized once for the session, and local mode serving that same assembly."""

from __future__ import annotations

import pytest

import app


@pytest.fixture(scope="session")
def cloud_assembly(tmp_path_factory):
    """The app synthesized as ``cdk synth`` would, with cdk-nag's checks: a finding fails here."""
    return app.build_app(outdir=str(tmp_path_factory.mktemp("cdk.out"))).synth()


@pytest.fixture(scope="session")
def local_api_cdk_out(cloud_assembly):
    """serverless-meta's ``local_api`` fixture serves this assembly, rather than synthesizing the app again."""
    return cloud_assembly.directory
