"""A method's request validator checks requests as API Gateway does, in any CDK app: a body against the
method's model (JSON Schema draft 4), required parameters present; what it refuses is a 400 gateway
response, the template's own where it has one, and the function never runs."""

from __future__ import annotations

import json

import pytest

from tests.local.support import LocalServerProcess, write_cdk_app

# Two APIs alike but for the gateway response to a bad body: API Gateway's default, and one of the app's own.
VALIDATED_APP = """
import aws_cdk as cdk
from aws_cdk import aws_apigateway as apigateway
from aws_cdk import aws_lambda as lambda_

app = cdk.App()
stack = cdk.Stack(app, "Validated")
echo = lambda_.Function(stack, "Echo", runtime=lambda_.Runtime.PYTHON_3_12, handler="echo.handler",
                        code=lambda_.Code.from_asset("src"))
item = apigateway.JsonSchema(
    schema=apigateway.JsonSchemaVersion.DRAFT4, type=apigateway.JsonSchemaType.OBJECT, required=["name"],
    properties={"name": apigateway.JsonSchema(type=apigateway.JsonSchemaType.STRING, min_length=1),
                "count": apigateway.JsonSchema(type=apigateway.JsonSchemaType.INTEGER, minimum=1)},
)
apis = {}
for name, stage in (("Default", "default"), ("Custom", "custom")):
    api = apis[name] = apigateway.RestApi(stack, f"{name}Api", deploy_options=apigateway.StageOptions(stage_name=stage))
    model = api.add_model("Item", content_type="application/json", schema=item)
    validator = api.add_request_validator("Validator", validate_request_body=True, validate_request_parameters=True)
    items = api.root.add_resource("items")
    items.add_method("POST", apigateway.LambdaIntegration(echo), request_validator=validator,
                     request_models={"application/json": model})
    items.add_method("GET", apigateway.LambdaIntegration(echo), request_validator=validator,
                     request_parameters={"method.request.querystring.page": True, "method.request.header.X-Tenant": True})
apis["Custom"].add_gateway_response(
    "BadBody", type=apigateway.ResponseType.BAD_REQUEST_BODY, status_code="422",
    response_headers={"X-Refused-By": "'gateway'"},
    templates={"application/json": '{"error": "$context.error.validationErrorString", "type": "BAD_BODY"}'},
)
app.synth()
"""

# Answers 200 with a marker: a request that reaches it was let through.
ECHO_HANDLER = """
import json


def handler(event, context):
    return {"statusCode": 200, "body": json.dumps({"handled": True, "body": event["body"]})}
"""


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    app_dir = write_cdk_app(tmp_path_factory.mktemp("validated-app"), VALIDATED_APP, {"echo.py": ECHO_HANDLER})
    server = LocalServerProcess(app_dir=app_dir, state_dir=tmp_path_factory.mktemp("validated-state"))
    yield server
    assert server.stop() == 0


@pytest.mark.parametrize(
    ("body", "why"),
    [
        (b'{"count": 2}', "a required property missing"),
        (b'{"name": "box", "count": 0}', "a value under its minimum"),
        (b'{"name": 7}', "a value of the wrong type"),
        (b"name=box", "no JSON at all"),
        (b"", "no body: validated as {}"),
    ],
)
def test_a_body_the_model_refuses_is_a_400_and_the_function_never_runs(server, body, why):
    response = server.request("POST", "/default/items", body=body, headers={"Content-Type": "application/json"})

    assert (response.status, response.json) == (400, {"message": "Invalid request body"}), why
    assert server.log().splitlines()[-1].endswith(" -"), "the access log names no function"


def test_a_body_the_model_takes_reaches_the_function(server):
    response = server.request("POST", "/default/items", json_body={"name": "box", "count": 2, "colour": "red"})

    assert response.status == 200 and response.json["handled"] is True
    assert json.loads(response.json["body"]) == {"name": "box", "count": 2, "colour": "red"}


def test_a_body_of_a_content_type_without_a_model_is_not_validated(server):
    """"If no matching content type is found, request validation is not performed" (API Gateway's docs)."""
    response = server.request("POST", "/default/items", body=b"name=", headers={"Content-Type": "text/plain"})

    assert (response.status, response.json["handled"]) == (200, True)


def test_the_apps_own_bad_request_body_response_says_why_the_body_was_refused(server):
    response = server.request("POST", "/custom/items", json_body={"name": "", "count": "two"})

    assert response.status == 422
    assert response.headers["X-Refused-By"] == "gateway"
    assert response.json["type"] == "BAD_BODY"
    error = response.json["error"]
    assert error.startswith("[") and error.endswith("]"), "a list, as API Gateway's validationErrorString"
    assert "/name: ''" in error and "/count: 'two' is not of type 'integer'" in error, "each value named by its pointer"


def test_a_required_parameter_missing_or_blank_is_a_400_and_the_function_never_runs(server):
    no_page = server.request("GET", "/default/items", headers={"X-Tenant": "acme"})
    blank = server.request("GET", "/default/items?page=", headers={"X-Tenant": " "})
    complete = server.request("GET", "/default/items?page=2", headers={"X-Tenant": "acme"})

    assert (no_page.status, no_page.json) == (400, {"message": "Missing required request parameters: [page]"})
    assert (blank.status, blank.json) == (400, {"message": "Missing required request parameters: [X-Tenant, page]"})
    assert (complete.status, complete.json["handled"]) == (200, True)


def test_a_default_model_applies_to_every_content_type_without_one_of_its_own():
    from serverless_meta.local import validation

    item, anything = {"type": "object"}, {"type": "array"}
    models = {"application/json": item, "$default": anything}

    assert validation.model_for(models, "Application/JSON") is item, "media types are case-insensitive"
    assert validation.model_for(models, "text/csv") is anything
    assert validation.model_for({"application/json": item}, "text/csv") is None
