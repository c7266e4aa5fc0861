"""API Gateway's basic request validation, where a method's request validator asks for it: the required
request parameters are present and not blank, and the body matches the model for its content type.

What API Gateway checks is in "Request validation for REST APIs in API Gateway"
(https://docs.aws.amazon.com/apigateway/latest/developerguide/api-gateway-method-request-validation.html);
its models are JSON Schema draft 4 ("Data models for REST APIs",
https://docs.aws.amazon.com/apigateway/latest/developerguide/models-mappings-models.html).
"""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping
from typing import Any

from jsonschema import Draft4Validator
from jsonschema.exceptions import SchemaError

# The content type that selects a model whatever the request's is: "To use the same model regardless of
# the content type, set the content type for your data model to $default" (the request validation page).
ANY_CONTENT_TYPE = "$default"


def schema_problem(schema: Any) -> str | None:
    """Why ``schema`` cannot be a model's (API Gateway refuses the model at deploy), or None."""
    try:
        Draft4Validator.check_schema(schema)
    except SchemaError as error:
        return f"its schema is not JSON Schema draft 4 ({error.message})"
    return None


def missing_parameters(
    required: tuple[str, ...], header: Callable[[str], str | None], query: Mapping[str, str], path: Mapping[str, str]
) -> list[str]:
    """The names of the ``required`` parameters (``method.request.querystring.page``...) a request lacks or leaves
    blank: "API Gateway only checks the existence of a parameter and doesn't check the type or format"."""
    missing = []
    for parameter in required:
        source, name = parameter.removeprefix("method.request.").split(".", 1)
        if source in ("header", "multivalueheader"):
            value = header(name)
        elif source in ("querystring", "multivaluequerystring"):
            value = query.get(name)
        else:
            value = path.get(name)
        if not (value or "").strip():
            missing.append(name)
    return missing


def model_for(models: Mapping[str, Mapping[str, Any]], content_type: str) -> Mapping[str, Any] | None:
    """The schema a body of ``content_type`` must match, or None: "If no matching content type is found,
    request validation is not performed" (the request validation page)."""
    by_type = {media_type.lower(): schema for media_type, schema in models.items()}
    return by_type.get(content_type.lower(), by_type.get(ANY_CONTENT_TYPE))


def body_error(schema: Mapping[str, Any], body: bytes) -> str | None:
    """Why ``body`` does not match ``schema``, as the list ``$context.error.validationErrorString`` holds; None
    when it does.

    An empty body is validated as ``{}``: so LocalStack found API Gateway to do, in tests it runs against AWS
    (https://github.com/localstack/localstack/pull/7916). The messages are jsonschema's, each after the JSON
    pointer of the value it is about; API Gateway's own validator words them differently.
    """
    try:
        instance = json.loads(body or b"{}")
    except ValueError as error:
        return f"[the body is not JSON: {error}]"
    messages = [
        f"{_pointer(error.absolute_path)}: {error.message}" if error.absolute_path else error.message
        for error in Draft4Validator(schema).iter_errors(instance)
    ]
    return f"[{', '.join(messages)}]" if messages else None


def _pointer(path: Any) -> str:
    return "".join(f"/{str(part).replace('~', '~0').replace('/', '~1')}" for part in path)
