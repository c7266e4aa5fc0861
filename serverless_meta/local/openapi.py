"""An OpenAPI 3.1 document for each REST API of a synthesized app, built from its template.

Every route and method comes from the template, so any app gets a document. Where a
method's function runs this library's handler (``crud_api.app.lambda_handler``), its
environment says the rest: the item's schema, the server-owned attributes, the list page,
the headers and every status the handler answers (from the handler's own contract). Other
functions' bodies are documented as any JSON. The gateway's own answers (401, 403, 429, 502,
504) are documented for every method they can come from.
"""

from __future__ import annotations

import copy
import json
import re
from collections.abc import Mapping
from typing import Any

from serverless_meta.handlers.crud_api import contract
from serverless_meta.local.model import Function, LocalApp, Method, RestApi

HANDLER = "crud_api.app.lambda_handler"
# A worker's function: its service's items may carry attributes the worker derived and wrote back.
WORKER_HANDLER = "crud_worker.runtime.handler"
_METHODS = ("get", "put", "post", "delete", "patch", "head", "options")
_ANY_EXPANDS_TO = ("get", "post", "put", "patch", "delete")
_JSON = "application/json"
_REASONS = {
    200: "OK",
    201: "Created",
    204: "No Content",
    304: "Not Modified: the item still has the ETag in If-None-Match",
    400: "Bad request: the message says what is wrong; nothing was written",
    401: "Unauthorized: the token is missing, invalid, expired, or of the wrong kind (the gateway)",
    403: "Forbidden: the caller is not in a group allowed this operation, or an API key or the WAF refused it",
    404: "Not found (another caller's item is not found either)",
    409: "A request with the same Idempotency-Key is still being processed: retry later",
    412: "The item has changed since the ETag in If-Match: read it again",
    413: "The request body is over API Gateway's 10 MB",
    422: "The Idempotency-Key was used before with another body",
    428: "If-Match is required for this operation",
    429: "Too many requests: the stage's or the operation's throttling (the gateway)",
    500: "A fault of the service: the requestId finds the log entry",
    502: "The function failed or timed out (the gateway)",
    503: "DynamoDB is throttling: retry after Retry-After seconds",
    504: "The integration timed out (the gateway)",
}
_GATEWAY_ANSWERS = (403, 429, 502, 504)


def document(app: LocalApp, api: RestApi, *, server_url: str | None = None) -> dict[str, Any]:
    """The OpenAPI document of ``api``; ``server_url`` (local mode's) replaces the deployed URL."""
    builder = _Builder(app, api)
    paths: dict[str, Any] = {}
    for resource, methods in sorted(api.resources.items()):
        operations = builder.path_item(resource, methods)
        if operations:
            # A greedy {proxy+} is no OpenAPI path template: {proxy}, said to take the rest of the path.
            paths[resource.replace("+}", "}")] = operations
    stages = sorted(api.stages) or ["prod"]
    servers = [
        {"url": f"{server_url}/{stage}"} if server_url else {
            "url": f"https://{{restApiId}}.execute-api.{builder.region}.amazonaws.com/{stage}",
            "variables": {"restApiId": {"default": api.api_id, "description": "the deployed API's id"}},
        }
        for stage in stages
    ]
    return {
        "openapi": "3.1.0",
        "info": {
            "title": api.path,
            "version": "1.0.0",
            "description": f"The REST API {api.name}, as its synthesized template defines it.",
        },
        "servers": servers,
        "paths": paths,
        "components": {"schemas": builder.schemas, "securitySchemes": builder.security_schemes},
    }


def document_json(app: LocalApp, api: RestApi, *, server_url: str | None = None) -> str:
    return json.dumps(document(app, api, server_url=server_url), indent=2) + "\n"


class _Builder:
    def __init__(self, app: LocalApp, api: RestApi) -> None:
        self.app = app
        self.api = api
        self.region = next((f.region for f in app.functions.values()), "us-east-1")
        self.worked = {
            (f.environment.get("TABLE_NAME"), f.environment.get("RESOURCE_NAME"))
            for f in app.functions.values()
            if f.handler == WORKER_HANDLER
        }
        """(table, resource) of every resource a worker writes back to."""
        self.schemas: dict[str, Any] = {
            "Error": {
                "type": "object",
                "required": ["message"],
                "properties": {
                    "message": {"type": "string", "description": "What went wrong, for a person to read"},
                    "requestId": {"type": "string", "description": "On 5XX answers: finds the log entry"},
                },
            }
        }
        self.security_schemes: dict[str, Any] = {}

    def path_item(self, resource: str, methods: Mapping[str, Method]) -> dict[str, Any]:
        item: dict[str, Any] = {}
        named = {m.lower() for m in methods if m != "ANY"}
        for http_method, method in sorted(methods.items()):
            if method.integration_type == "MOCK":
                continue  # the gateway's own answers: CORS preflights, 405s for methods a path does not offer
            if http_method == "ANY":  # e.g. a proxy resource: every method a path does not name
                verbs = [verb for verb in _ANY_EXPANDS_TO if verb not in named]
            else:
                verbs = [http_method.lower()] if http_method.lower() in _METHODS else []
            for verb in verbs:
                item[verb] = self.operation(resource, verb.upper(), method)
        parameters = [
            {"name": name, "in": "path", "required": True, "schema": self.path_parameter(resource, name)}
            | ({"description": "The rest of the path, one or more segments"} if greedy else {})
            for name, greedy in re.findall(r"\{(\w+)(\+?)\}", resource)
        ]
        if parameters and item:
            item["parameters"] = parameters
        return item

    def path_parameter(self, resource: str, name: str) -> dict[str, Any]:
        functions = [self.app.functions.get(m.function) for m in self.api.resources[resource].values() if m.function]
        ours = [f for f in functions if f is not None and _is_ours(f)]
        if any(f.environment.get("CLIENT_IDS") == "true" for f in ours):
            return {"type": "string", "pattern": f"^{contract.CLIENT_ID_PATTERN}$"}
        if ours:
            return {"type": "string", "format": "uuid"}
        return {"type": "string"}

    def operation(self, resource: str, http_method: str, method: Method) -> dict[str, Any]:
        function = self.app.functions.get(method.function) if method.function else None
        if function is not None and _is_ours(function):
            operation = _CrudOperation.of(function, http_method, resource)
            if operation is not None:
                spec = operation.spec(self)
            else:
                spec = self.generic(http_method)
        else:
            spec = self.generic(http_method)
        spec["operationId"] = _operation_id(http_method, resource)
        self.secure(spec, method)
        for status in _GATEWAY_ANSWERS:
            spec["responses"].setdefault(str(status), self.error(status))
        if http_method in ("POST", "PUT", "PATCH"):
            spec["responses"].setdefault("413", self.error(413))
        return spec

    def generic(self, http_method: str) -> dict[str, Any]:
        spec: dict[str, Any] = {
            "summary": f"{http_method}, answered by the function",
            "responses": {"default": {"description": "The function's answer", "content": {_JSON: {"schema": {}}}}},
        }
        if http_method in ("POST", "PUT", "PATCH"):
            spec["requestBody"] = {"content": {_JSON: {"schema": {}}}}
        return spec

    def secure(self, spec: dict[str, Any], method: Method) -> None:
        if method.authorization_type != "COGNITO_USER_POOLS" or method.authorizer is None:
            spec["security"] = []
            return
        scopes = list(method.authorization_scopes)
        if scopes:
            self.security_schemes["cognitoAccessToken"] = {
                "type": "oauth2",
                "description": "A Cognito access token carrying one of the operation's scopes (a machine client's, "
                "from the user pool domain's /oauth2/token with grant_type=client_credentials)",
                "flows": {
                    "clientCredentials": {
                        "tokenUrl": f"https://your-domain.auth.{self.region}.amazoncognito.com/oauth2/token",
                        "scopes": {},
                    }
                },
            }
            flows = self.security_schemes["cognitoAccessToken"]["flows"]["clientCredentials"]["scopes"]
            flows.update({scope: f"the {scope} scope" for scope in scopes})
            spec["security"] = [{"cognitoAccessToken": scopes}]
        else:
            self.security_schemes["cognitoIdToken"] = {
                "type": "apiKey",
                "in": "header",
                "name": method.authorizer.header,
                "description": "A Cognito ID token of the user pool (optionally prefixed with 'Bearer ')",
            }
            spec["security"] = [{"cognitoIdToken": []}]
        spec["responses"].setdefault("401", self.error(401))

    def error(self, status: int, headers: Mapping[str, Any] | None = None) -> dict[str, Any]:
        response: dict[str, Any] = {
            "description": _REASONS.get(status, str(status)),
            "content": {_JSON: {"schema": {"$ref": "#/components/schemas/Error"}}},
        }
        if headers:
            response["headers"] = dict(headers)
        return response


class _CrudOperation:
    """One operation of this library's handler, documented from its function's environment."""

    def __init__(self, name: str, environment: Mapping[str, str]) -> None:
        self.name = name
        self.resource = environment["RESOURCE_NAME"]
        self.table = environment.get("TABLE_NAME")
        self.id_attribute = environment.get("ID_ATTRIBUTE", "id")
        self.timestamp_attribute = environment.get("TIMESTAMP_ATTRIBUTE") or None
        self.item_schema = json.loads(environment["ITEM_SCHEMA"]) if environment.get("ITEM_SCHEMA") else None
        self.require_if_match = environment.get("REQUIRE_IF_MATCH") == "true"
        self.groups = json.loads(environment.get("OPERATION_GROUPS", "{}")).get(name)
        self.indexes = [attribute for attribute in environment.get("INDEXES", "").split(",") if attribute]
        self.client_ids = environment.get("CLIENT_IDS") == "true"

    @classmethod
    def of(cls, function: Function, http_method: str, resource: str) -> _CrudOperation | None:
        on_item = resource.endswith("}")
        offered = function.environment.get("OPERATIONS", "").split(",")
        for name, (method, item) in contract.ROUTES.items():
            if method == http_method and item == on_item and name in offered:
                return cls(name, function.environment)
        return None

    @property
    def title(self) -> str:
        return "".join(part.title() for part in re.split(r"[-_]", self.resource))

    def spec(self, builder: _Builder) -> dict[str, Any]:
        self.register_schemas(builder)
        statuses = [
            s for s in contract.RESPONSES[self.name]
            if (s != 428 or self.require_if_match) and (s != 201 or self.name == "create" or self.client_ids)
        ]
        spec: dict[str, Any] = {"summary": _SUMMARIES[self.name].format(resource=self.resource), "responses": {}}
        if self.groups:
            spec["description"] = f"Only members of the Cognito groups {', '.join(self.groups)} may call it (else 403)."
        parameters = self.parameters()
        if parameters:
            spec["parameters"] = parameters
        if self.name in ("create", "update"):
            spec["requestBody"] = {
                "required": True,
                "content": {_JSON: {"schema": {"$ref": f"#/components/schemas/{self.title}Input"}}},
            }
        for status in statuses:
            spec["responses"][str(status)] = self.response(builder, status)
        return spec

    def parameters(self) -> list[dict[str, Any]]:
        etag = {"type": "string", "description": 'Entity tags such as "3", or *'}
        if self.name == "create":
            return [{
                "name": contract.IDEMPOTENCY_KEY_HEADER,
                "in": "header",
                "required": False,
                "description": "Creates at most one item per key within 24 hours; a retry gets the first response",
                "schema": {"type": "string", "minLength": 1, "maxLength": contract.IDEMPOTENCY_KEY_MAX_LENGTH,
                           "pattern": "^[!-~]([ -~]*[!-~])?$"},
            }]
        if self.name == "list":
            return [
                {"name": "limit", "in": "query", "required": False,
                 "schema": {"type": "integer", "minimum": 1, "default": 25, "description": "at most 100 are served"}},
                {"name": "next", "in": "query", "required": False,
                 "schema": {"type": "string", "description": "The next of the previous page"}},
                {"name": "order", "in": "query", "required": False,
                 "schema": {"type": "string", "enum": ["oldest", "newest"], "default": "oldest",
                            "description": "Creation order (ids are time-ordered), or newest first"}},
                *({"name": attribute, "in": "query", "required": False,
                   "description": f"Only the items whose {attribute} is this (a number in its shortest form); "
                   "one such attribute per request",
                   "schema": {"type": "string"}} for attribute in self.indexes),
            ]
        if self.name == "get":
            return [{"name": "If-None-Match", "in": "header", "required": False, "schema": etag}]
        if_match = [{"name": "If-Match", "in": "header", "required": self.require_if_match, "schema": etag}]
        if self.name == "update" and self.client_ids:
            return [*if_match, {"name": "If-None-Match", "in": "header", "required": False,
                                "description": "*: create the item under this id if there is none (201), else 412",
                                "schema": {"type": "string", "enum": ["*"]}}]
        return if_match

    def response(self, builder: _Builder, status: int) -> dict[str, Any]:
        etag_header = {
            "ETag": {"description": "The item's version, a strong entity tag", "required": True, "schema": {"type": "string"}}
        }
        item = {_JSON: {"schema": {"$ref": f"#/components/schemas/{self.title}"}}}
        if status == 201:
            return {
                "description": "Created",
                "headers": {
                    **etag_header,
                    "Location": {"description": "The new item's path", "required": True, "schema": {"type": "string"}},
                    "Idempotent-Replayed": {"description": "true on a retry's replayed answer",
                                            "schema": {"type": "string"}},
                },
                "content": item,
            }
        if status == 200 and self.name == "list":
            return {"description": "One page of the caller's items",
                    "content": {_JSON: {"schema": {"$ref": f"#/components/schemas/{self.title}Page"}}}}
        if status == 200:
            return {"description": "The item", "headers": etag_header, "content": item}
        if status in (204, 304):
            return {"description": _REASONS[status], **({"headers": etag_header} if status == 304 else {})}
        if status == 412:
            return builder.error(status, {"ETag": {"description": "The item's current ETag", "required": True,
                                                   "schema": {"type": "string"}}})
        if status == 503:
            return builder.error(status, {"Retry-After": {"description": "Seconds", "required": True,
                                                          "schema": {"type": "string", "pattern": "^[0-9]+$"}}})
        return builder.error(status)

    def register_schemas(self, builder: _Builder) -> None:
        if self.title in builder.schemas:
            return
        owned = {
            self.id_attribute: {"type": "string", "readOnly": True}
            | ({"pattern": f"^{contract.CLIENT_ID_PATTERN}$"} if self.client_ids else {"format": "uuid"}),
            contract.CREATED_AT: {"type": "string", "format": "date-time", "readOnly": True},
            contract.UPDATED_AT: {"type": "string", "format": "date-time", "readOnly": True},
        }
        if self.timestamp_attribute:
            owned[self.timestamp_attribute] = {"type": "integer", "readOnly": True,
                                               "description": "Creation time, Unix epoch seconds"}
        forbidden = sorted({*owned, contract.PARTITION_KEY, contract.SORT_KEY, contract.VERSION, contract.ETAG_ATTRIBUTE})
        schema = _embeddable(self.item_schema or {"type": "object"}, f"#/components/schemas/{self.title}Input/allOf/0")
        builder.schemas[f"{self.title}Input"] = {
            "description": "The client's attributes; the server owns " + ", ".join(forbidden),
            "allOf": [schema, {"not": {"anyOf": [{"required": [name]} for name in forbidden]}}],
        }
        derived = (self.table, self.resource) in builder.worked
        builder.schemas[self.title] = _with_owned(schema, owned, derived=derived)
        builder.schemas[f"{self.title}Page"] = {
            "type": "object",
            "required": ["items", "next"],
            "properties": {
                "items": {"type": "array", "items": _with_owned(schema, {
                    **owned, contract.ETAG_ATTRIBUTE: {"type": "string", "readOnly": True,
                                                       "description": "The item's ETag, for If-Match"}},
                    derived=derived)},
                "next": {"type": ["string", "null"], "description": "Pass as ?next= for the next page; null at the end"},
            },
        }


_SUMMARIES = {
    "create": "Create a {resource} item",
    "list": "List the caller's {resource} items, a page at a time",
    "get": "Get one {resource} item",
    "update": "Replace a {resource} item's attributes",
    "delete": "Delete a {resource} item",
}


def _is_ours(function: Function) -> bool:
    return function.handler == HANDLER and "RESOURCE_NAME" in function.environment


def _with_owned(schema: Mapping[str, Any], owned: Mapping[str, Any], *, derived: bool = False) -> dict[str, Any]:
    """The item schema with the server's attributes added (and the rules that could not hold with them left out).

    ``derived``: a worker writes attributes of its own onto the items, so an item may hold more than the schema names.
    """
    left_out = {"minProperties", "maxProperties", "propertyNames", "not"}
    if derived:
        left_out |= {"additionalProperties", "unevaluatedProperties"}
    merged = {k: v for k, v in schema.items() if k not in left_out}
    if derived:
        merged["description"] = "A worker adds attributes it derives to the item a moment after each write."
    merged["type"] = "object"
    merged["properties"] = {**schema.get("properties", {}), **owned}
    merged["required"] = sorted({*schema.get("required", []), *owned})
    return merged


def _embeddable(schema: Mapping[str, Any], location: str) -> dict[str, Any]:
    """``schema`` as a component: no ``$schema`` dialect of its own, its local references pointing into it."""
    embedded = copy.deepcopy(dict(schema))
    embedded.pop("$schema", None)

    def rewrite(node: Any) -> Any:
        if isinstance(node, dict):
            return {k: (location + v[1:] if k == "$ref" and isinstance(v, str) and v.startswith("#/") else rewrite(v))
                    for k, v in node.items()}
        if isinstance(node, list):
            return [rewrite(child) for child in node]
        return node

    return rewrite(embedded)


def _operation_id(http_method: str, resource: str) -> str:
    words = [w for w in re.split(r"[^A-Za-z0-9]+", resource) if w]
    return http_method.lower() + "".join(word.title() for word in words)
