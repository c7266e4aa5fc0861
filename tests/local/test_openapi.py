"""The OpenAPI contract: a document per REST API from the synthesized template, served by local mode,
and the service held to it by schemathesis over real HTTP."""

from __future__ import annotations

import json
import re
import subprocess
import sys

import pytest
import schemathesis
from hypothesis import HealthCheck, given, settings
from openapi_spec_validator import validate
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_headers_conformance,
    response_schema_conformance,
    status_code_conformance,
)
from serverless_meta.handlers.crud_api import contract

from tests.local.support import write_cdk_app, write_tiny_app


def _openapi(*arguments: str, cwd) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "serverless_meta", "openapi", *arguments], capture_output=True, text=True, cwd=cwd,
        timeout=300,
    )


@pytest.fixture(scope="module")
def sample_assembly_dir(local_server):
    return local_server.state_dir / "cdk.out"


@pytest.fixture(scope="module")
def metadata_document(sample_assembly_dir, tmp_path_factory) -> dict:
    completed = _openapi("--cdk-out", str(sample_assembly_dir), "--api", "Metadata", cwd=tmp_path_factory.mktemp("cwd"))
    assert completed.returncode == 0, completed.stderr
    return json.loads(completed.stdout)


def test_the_document_is_valid_openapi_3_1_with_every_route_and_method(metadata_document):
    validate(metadata_document)
    assert metadata_document["openapi"] == "3.1.0"
    assert {path: sorted(set(item) - {"parameters"}) for path, item in metadata_document["paths"].items()} == {
        "/metadata": ["get", "post"],
        "/metadata/{id}": ["delete", "get", "put"],
        "/feedback": ["get", "post"],
    }, "Feedback adds its routes to Metadata's API in the sample app"


def test_every_status_the_handler_and_the_gateway_answer_is_documented_with_a_json_error(metadata_document):
    for path, method, operation in (
        ("/metadata", "post", "create"), ("/metadata", "get", "list"), ("/metadata/{id}", "get", "get"),
        ("/metadata/{id}", "put", "update"), ("/metadata/{id}", "delete", "delete"),
    ):
        responses = metadata_document["paths"][path][method]["responses"]
        # The sample's Metadata has no client ids: its PUT never creates (201).
        expected = {s for s in contract.RESPONSES[operation] if s != 428 and (s, operation) != (201, "update")}
        expected |= {401, 403, 429, 502, 504}
        assert expected <= {int(status) for status in responses}, (method, path)
        for status, response in responses.items():
            if int(status) >= 400:
                assert response["content"]["application/json"]["schema"] == {"$ref": "#/components/schemas/Error"}


def test_headers_of_the_semantics_are_documented(metadata_document):
    paths = metadata_document["paths"]
    create, read, replace = paths["/metadata"]["post"], paths["/metadata/{id}"]["get"], paths["/metadata/{id}"]["put"]
    assert [p["name"] for p in create["parameters"]] == ["Idempotency-Key"]
    assert set(create["responses"]["201"]["headers"]) == {"ETag", "Location", "Idempotent-Replayed"}
    assert [p["name"] for p in read["parameters"]] == ["If-None-Match"] and "304" in read["responses"]
    assert [p["name"] for p in replace["parameters"]] == ["If-Match"] and "412" in replace["responses"]
    assert "ETag" in replace["responses"]["412"]["headers"]
    assert "Retry-After" in replace["responses"]["503"]["headers"]
    assert {p["name"] for p in paths["/metadata"]["get"]["parameters"]} == {"limit", "next", "order", "page"}, "page: its lookup"


def test_the_items_schema_names_the_server_owned_attributes_and_the_page_shape(metadata_document):
    schemas = metadata_document["components"]["schemas"]
    assert set(schemas["Metadata"]["required"]) == {"id", "createdAt", "updatedAt"}
    page_item = schemas["MetadataPage"]["properties"]["items"]["items"]
    assert "etag" in page_item["required"]
    assert schemas["MetadataPage"]["properties"]["next"]["type"] == ["string", "null"]
    forbidden = schemas["MetadataInput"]["allOf"][1]["not"]["anyOf"]
    assert {"required": ["version"]} in forbidden and {"required": ["id"]} in forbidden


def test_an_item_schema_is_the_request_body_and_the_groups_are_said(metadata_document):
    import app as sample_app

    schemas = metadata_document["components"]["schemas"]
    assert schemas["FeedbackInput"]["allOf"][0]["properties"] == sample_app.FEEDBACK_SCHEMA["properties"]
    assert {"feedbackId", "timestamp", "feedback"} <= set(schemas["Feedback"]["required"])
    assert metadata_document["paths"]["/feedback"]["post"]["security"] == [{"cognitoIdToken": []}]
    assert "editors" in metadata_document["paths"]["/metadata"]["post"]["description"]


def test_items_of_a_resource_with_a_worker_may_hold_what_it_derives_but_clients_still_send_only_the_schemas(
    metadata_document,
):
    schemas = metadata_document["components"]["schemas"]
    for item in (schemas["Feedback"], schemas["FeedbackPage"]["properties"]["items"]["items"]):
        assert "additionalProperties" not in item and "worker" in item["description"]
    assert schemas["FeedbackInput"]["allOf"][0]["additionalProperties"] is False


def test_the_document_knows_the_handlers_by_the_names_the_construct_gives_them():
    from serverless_meta import functions, workers
    from serverless_meta.local import openapi

    assert (openapi.HANDLER, openapi.WORKER_HANDLER) == (functions.HANDLER, workers.WORKER_HANDLER)


TWO_APIS = """
import aws_cdk as cdk
from aws_cdk import aws_apigateway as apigateway
from aws_cdk import aws_lambda as lambda_

app = cdk.App()
stack = cdk.Stack(app, "Two")
code = lambda_.Code.from_asset("src")
for name in ("Public", "Admin"):
    function = lambda_.Function(stack, f"{name}Function", runtime=lambda_.Runtime.PYTHON_3_12, handler="echo.handler",
                                code=code)
    apigateway.LambdaRestApi(stack, f"{name}Api", handler=function)
app.synth()
"""


def test_several_apis_need_api_or_out_and_out_writes_one_file_each(tmp_path):
    app_dir = write_cdk_app(tmp_path / "two", TWO_APIS, {"echo.py": "def handler(event, context):\n    return {}\n"})
    ambiguous = _openapi("--app-dir", str(app_dir), cwd=app_dir)
    # That run synthesized the app into its state directory: the next two read it, as --cdk-out does.
    (synthesized,) = (app_dir / ".serverless-meta").glob("**/manifest.json")
    written = _openapi("--cdk-out", str(synthesized.parent), "--out", str(tmp_path / "docs"), cwd=app_dir)
    chosen = _openapi("--cdk-out", str(synthesized.parent), "--api", "AdminApi", cwd=app_dir)

    assert ambiguous.returncode == 2 and "has 2 REST APIs" in ambiguous.stderr and "--api" in ambiguous.stderr
    assert written.returncode == 0
    files = sorted(path.name for path in (tmp_path / "docs").iterdir())
    assert files == ["Two-AdminApi.openapi.json", "Two-PublicApi.openapi.json"]
    for path in (tmp_path / "docs").iterdir():
        validate(json.loads(path.read_text()))
    assert json.loads(chosen.stdout)["info"]["title"] == "Two/AdminApi"


def test_any_app_gets_a_document_of_its_routes(tmp_path_factory):
    """A plain CDK app of tiny functions: routes and methods from the template, bodies as any JSON."""
    app_dir = write_tiny_app(tmp_path_factory.mktemp("tiny-openapi"))
    completed = _openapi("--app-dir", str(app_dir), cwd=app_dir)

    assert completed.returncode == 0, completed.stderr
    document = json.loads(completed.stdout)
    validate(document)
    assert document["paths"], "every route of the app"
    for item in document["paths"].values():
        for method, operation in item.items():
            if method != "parameters":
                assert "default" in operation["responses"] and "429" in operation["responses"]


def test_local_mode_serves_each_document_and_says_where(local_server):
    urls = dict(re.findall(r"OpenAPI document of (\S+): (\S+)", local_server.log()))
    assert set(urls) == {"ServerlessMeta/Metadata/Api"}
    path = urls["ServerlessMeta/Metadata/Api"].removeprefix(local_server.url)
    served = local_server.request("GET", path)

    assert served.status == 200
    assert served.json["servers"] == [{"url": f"{local_server.url}/prod"}]
    assert served.json["paths"].keys() == {"/metadata", "/metadata/{id}", "/feedback"}


@pytest.fixture(scope="module")
def metadata_schema(local_server):
    (url,) = [u for name, u in re.findall(r"OpenAPI document of (\S+): (\S+)", local_server.log()) if "Metadata" in name]
    return schemathesis.openapi.from_url(url)


CONFORMANCE = [
    not_a_server_error,
    status_code_conformance,
    content_type_conformance,
    response_headers_conformance,
    response_schema_conformance,
]


@pytest.mark.parametrize(
    ("method", "path"),
    [("POST", "/metadata"), ("GET", "/metadata"), ("GET", "/metadata/{id}"), ("PUT", "/metadata/{id}"),
     ("DELETE", "/metadata/{id}"), ("POST", "/feedback"), ("GET", "/feedback")],
)
def test_every_operation_answers_as_its_document_says(metadata_schema, token_for, method, path):
    """No 5xx, and every status, header and body as documented, whatever schemathesis sends."""
    token = token_for("schemathesis")

    @given(case=metadata_schema[path][method].as_strategy())
    @settings(max_examples=25, deadline=None, suppress_health_check=list(HealthCheck))
    def answers_as_documented(case):
        case.call_and_validate(headers={"Authorization": token}, checks=CONFORMANCE)

    answers_as_documented()
