"""The app's template, pinned by a snapshot; the service, called through local mode as its users would."""

from __future__ import annotations

from pathlib import Path

from serverless_meta.testing import assert_matches_snapshot

import app

SNAPSHOT = Path(__file__).parent / "snapshots" / f"{app.STACK_NAME}.template.json"


def test_the_template_matches_its_snapshot(cloud_assembly):
    # Written on the first run: commit it. Asset hashes, the Powertools layer's version and CDK's
    # metadata are left out, so that upgrading serverless-meta or aws-cdk-lib changes it only where
    # the template really changes.
    assert_matches_snapshot(cloud_assembly.get_stack_by_name(app.STACK_NAME).template, SNAPSHOT)


def test_a_user_creates_an_order_and_reads_it_back(local_api):
    alice = local_api.as_user("alice")

    created = alice.post("/prod/orders", json={"item": "notebook", "quantity": 2})

    assert created.status_code == 201
    read = alice.get(created.headers["Location"])
    assert (read.status_code, read.json()) == (200, created.json())


def test_an_order_is_its_owners_only(local_api):
    created = local_api.as_user("alice").post("/prod/orders", json={"item": "pen"})

    assert local_api.as_user("bob").get(created.headers["Location"]).status_code == 404


def test_a_request_without_a_token_is_refused(local_api):
    assert local_api.anonymous().get("/prod/orders").status_code == 401
