"""The item schema as API Gateway checks request bodies: a model in JSON Schema draft 4.

API Gateway validates a body against its method's model in draft 4 ("Request validation for REST APIs
in API Gateway"; models are JSON Schema draft 4), while the handler validates the whole item schema
(fastjsonschema, draft 7 unless the schema says otherwise). So that the gateway never refuses a body the
handler would accept, the model keeps only what means the same in draft 4 and loosens the rest, leaving it
to the handler: a keyword draft 4 lacks or reads differently is left out, ``integer`` becomes ``number``
(draft 4 refuses ``1.0``), ``oneOf`` becomes ``anyOf`` and a ``not`` is left out (looser branches could
otherwise match twice, or refuse more). A bad body then costs no invocation in the common cases: a
missing or mistyped attribute, a string too long, an attribute the schema does not allow.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

DRAFT_4 = "http://json-schema.org/draft-04/schema#"

# Keywords whose value is the same in draft 4, kept as they are.
_SAME = frozenset({
    "type", "enum", "minLength", "maxLength", "pattern", "minimum", "maximum", "minItems", "maxItems",
    "minProperties", "maxProperties", "title", "description",
})
_SCHEMA_MAPS = ("properties", "patternProperties")


def gateway_model(schema: Mapping[str, Any]) -> dict[str, Any]:
    """The draft-4 model for ``schema``: never stricter than it."""
    return {"$schema": DRAFT_4, **_loosened(schema)}


def _loosened(schema: Any) -> dict[str, Any]:
    if schema is False:
        return {"not": {}}
    if not isinstance(schema, Mapping):
        return {}
    model: dict[str, Any] = {}
    for key, value in schema.items():
        if key in _SAME:
            model[key] = _number_for_integer(value) if key == "type" else value
        elif key == "required" and value:
            model[key] = list(value)
        elif key in _SCHEMA_MAPS and isinstance(value, Mapping):
            model[key] = {name: _loosened(subschema) for name, subschema in value.items()}
        elif key in ("additionalProperties", "additionalItems"):
            model[key] = value if isinstance(value, bool) else _loosened(value)
        elif key == "items":
            model[key] = [_loosened(s) for s in value] if isinstance(value, list) else _loosened(value)
        elif key in ("allOf", "anyOf") and isinstance(value, list):
            model.setdefault("allOf", []).append({key: [_loosened(s) for s in value]})
        elif key == "oneOf" and isinstance(value, list):
            model.setdefault("allOf", []).append({"anyOf": [_loosened(s) for s in value]})
    return model


def _number_for_integer(types: Any) -> Any:
    if types == "integer":
        return "number"
    if isinstance(types, list):
        return list(dict.fromkeys("number" if t == "integer" else t for t in types))
    return types
