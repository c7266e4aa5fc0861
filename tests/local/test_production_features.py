"""Local mode serves an app with the production features: a custom domain (the execute-api endpoint
off), canary deploys (every function behind its alias) and validation at the gateway."""

from __future__ import annotations

import aws_cdk as cdk
import pytest
from aws_cdk import aws_certificatemanager as acm

from serverless_meta import Deployment, ServerlessCrudApi
from serverless_meta.testing import serve

SCHEMA = {
    "type": "object",
    "properties": {"sku": {"type": "string", "minLength": 1}, "count": {"type": "integer", "minimum": 1}},
    "required": ["sku"],
    "additionalProperties": False,
}


@pytest.fixture(scope="module")
def api(tmp_path_factory):
    outdir = tmp_path_factory.mktemp("production")
    app = cdk.App(outdir=str(outdir))
    stack = cdk.Stack(app, "Production", env=cdk.Environment(account="123456789012", region="eu-west-1"))
    certificate = acm.Certificate.from_certificate_arn(
        stack, "Certificate", "arn:aws:acm:eu-west-1:123456789012:certificate/11111111-2222-3333-4444-555555555555"
    )
    ServerlessCrudApi(
        stack, "Orders", resource_name="orders", item_schema=SCHEMA,
        domain_name="api.example.com", certificate=certificate, disable_execute_api_endpoint=True,
        deployment=Deployment.canary(10, minutes=5),
    )
    app.synth()
    with serve(outdir, state_dir=tmp_path_factory.mktemp("production-state")) as api:
        yield api


def test_each_operation_runs_its_function_behind_its_alias(api):
    alice = api.as_user("alice")
    created = alice.post("/prod/orders", json={"sku": "A-1", "count": 2})
    assert created.status_code == 201, created.text
    item_id = created.json()["id"]
    assert alice.get(f"/prod/orders/{item_id}").json()["sku"] == "A-1"
    assert alice.put(f"/prod/orders/{item_id}", json={"sku": "A-2"}).status_code == 200
    assert [i["sku"] for i in alice.get("/prod/orders").json()["items"]] == ["A-2"]
    assert alice.delete(f"/prod/orders/{item_id}").status_code == 204


@pytest.mark.parametrize("body", [{}, {"sku": ""}, {"sku": "A", "count": 0}, {"sku": "A", "colour": "red"}])
def test_a_body_the_schema_refuses_is_the_gateways_400_on_create_and_replace(api, body):
    alice = api.as_user("alice")
    assert (alice.post("/prod/orders", json=body).json()) == {"message": "Invalid request body"}
    item_id = alice.post("/prod/orders", json={"sku": "B"}).json()["id"]
    replaced = alice.put(f"/prod/orders/{item_id}", json=body)
    assert (replaced.status_code, replaced.json()) == (400, {"message": "Invalid request body"})
