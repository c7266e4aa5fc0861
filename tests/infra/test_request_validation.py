"""Validation at the gateway: the item schema as an API Gateway model (draft 4) on create and replace, so
that a bad body costs no invocation, and never stricter than the handler, which keeps validating."""

from __future__ import annotations

import fastjsonschema
import jsonschema
import pytest
from aws_cdk.assertions import Template
from hypothesis import given, settings
from hypothesis import strategies as st

from serverless_meta import ServerlessCrudApi
from serverless_meta.request_models import DRAFT_4, gateway_model
from tests.support import synthesize

FEEDBACK_SCHEMA = {
    "type": "object",
    "properties": {"feedback": {"type": "string", "minLength": 1, "maxLength": 2000, "pattern": r"\S"}},
    "required": ["feedback"],
    "additionalProperties": False,
}
# Keywords draft 4 lacks or reads otherwise, beside ones it shares.
RICH_SCHEMA = {
    "type": "object",
    "properties": {
        "count": {"type": "integer", "exclusiveMinimum": 0, "multipleOf": 1},
        "kind": {"const": "page"},
        "ratio": {"type": ["integer", "null"], "maximum": 10},
        "tags": {"type": "array", "items": {"type": "string", "maxLength": 3}, "uniqueItems": True, "contains": {"const": "a"}},
        "either": {"oneOf": [{"type": "string"}, {"type": "number"}]},
        "email": {"type": "string", "format": "email"},
        "never": {"not": {"type": "string", "maxLength": 2}},
        "ref": {"$ref": "#/definitions/thing"},
    },
    "definitions": {"thing": {"type": "string"}},
    "required": ["count"],
    "additionalProperties": False,
}


def test_the_model_of_a_plain_schema_is_the_schema_in_draft_4():
    assert gateway_model(FEEDBACK_SCHEMA) == {"$schema": DRAFT_4, **FEEDBACK_SCHEMA}


def test_what_draft_4_reads_otherwise_is_loosened_or_left_to_the_handler():
    model = gateway_model(RICH_SCHEMA)
    jsonschema.Draft4Validator.check_schema(model)
    properties = model["properties"]
    assert properties["count"] == {"type": "number"}, "draft 4 refuses 1.0 as an integer; exclusiveMinimum is a boolean there"
    assert properties["kind"] == {} and properties["ref"] == {} and properties["never"] == {}
    assert properties["ratio"] == {"type": ["number", "null"], "maximum": 10}
    assert properties["tags"] == {"type": "array", "items": {"type": "string", "maxLength": 3}}
    assert properties["either"] == {"allOf": [{"anyOf": [{"type": "string"}, {"type": "number"}]}]}
    assert properties["email"] == {"type": "string"}
    assert model["required"] == ["count"] and model["additionalProperties"] is False


_json = st.recursive(
    st.none() | st.booleans() | st.integers(-20, 20) | st.floats(-20, 20, allow_nan=False) | st.text(max_size=4),
    lambda children: st.lists(children, max_size=3) | st.dictionaries(st.text(max_size=3), children, max_size=3),
    max_leaves=6,
)
_bodies = st.dictionaries(
    st.sampled_from(["count", "kind", "ratio", "tags", "either", "email", "never", "ref", "feedback", "other"]),
    _json | st.sampled_from([1, 1.0, 3, "page", "a", ["a"], ["a", "bc"], "x@example.com", "abc"]),
    max_size=5,
)


@pytest.mark.parametrize("schema", [FEEDBACK_SCHEMA, RICH_SCHEMA], ids=["feedback", "rich"])
@settings(max_examples=300, deadline=None)
@given(body=_bodies)
def test_the_gateway_never_refuses_a_body_the_handler_accepts(schema, body):
    handler = fastjsonschema.compile(schema)
    try:
        handler(body)
    except fastjsonschema.JsonSchemaValueException:
        return
    jsonschema.Draft4Validator(gateway_model(schema)).validate(body)


@pytest.fixture(scope="module")
def sample(sample_template) -> Template:
    return Template.from_json(sample_template)


def _methods(template: Template) -> dict[str, dict]:
    resources = template.to_json()["Resources"]
    paths = {n: r["Properties"]["PathPart"] for n, r in resources.items() if r["Type"] == "AWS::ApiGateway::Resource"}
    return {
        f'{m["Properties"]["HttpMethod"]} {paths.get(m["Properties"]["ResourceId"].get("Ref"), "/")}': m["Properties"]
        for m in resources.values()
        if m["Type"] == "AWS::ApiGateway::Method" and m["Properties"]["HttpMethod"] != "ANY"
    }


def test_a_schemas_create_validates_its_body_at_the_gateway_for_every_content_type(sample):
    (model_id, model), = sample.find_resources("AWS::ApiGateway::Model").items()
    assert model["Properties"]["Schema"] == gateway_model(FEEDBACK_SCHEMA)
    assert model["Properties"]["ContentType"] == "application/json"
    (validator_id, validator), = sample.find_resources("AWS::ApiGateway::RequestValidator").items()
    assert validator["Properties"]["ValidateRequestBody"] is True
    assert validator["Properties"]["ValidateRequestParameters"] is False
    create = _methods(sample)["POST feedback"]
    # "If no matching content type is found, request validation is not performed. To use the same model
    # regardless of the content type, set the content type for your data model to $default." (API Gateway
    # Developer Guide, "Request validation for REST APIs in API Gateway").
    assert create["RequestModels"] == {"$default": {"Ref": model_id}}
    assert create["RequestValidatorId"] == {"Ref": validator_id}


def test_methods_without_a_body_or_a_schema_have_no_model(sample):
    for name, method in _methods(sample).items():
        if name != "POST feedback":
            assert "RequestModels" not in method and "RequestValidatorId" not in method, name


def test_replace_validates_too():
    template = synthesize(lambda stack: ServerlessCrudApi(stack, "Feedback", resource_name="feedback",
                                                          item_schema=FEEDBACK_SCHEMA))
    methods = _methods(template)
    (model_id,) = template.find_resources("AWS::ApiGateway::Model")
    assert methods["PUT {id}"]["RequestModels"] == methods["POST feedback"]["RequestModels"] == {"$default": {"Ref": model_id}}
    assert "RequestModels" not in methods["GET {id}"] and "RequestModels" not in methods["GET feedback"]
