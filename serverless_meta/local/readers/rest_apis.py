"""API Gateway REST APIs: their resources and methods (authorizers, integrations, request validation),
stages (throttling) and gateway responses."""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from serverless_meta.local import validation
from serverless_meta.local.model import Authorizer, GatewayResponse, LocalApp, Method, MockIntegration, RestApi
from serverless_meta.local.readers import user_pools
from serverless_meta.local.readers.functions import aliased_functions
from serverless_meta.local.readers.stack import StackTemplate

# API Gateway's account-level defaults, which apply where a stage sets no throttling.
ACCOUNT_THROTTLE = (10_000.0, 5_000)

# Every REST API has these two models, which a method names without the template defining them (CDK's
# Model.EMPTY_MODEL and Model.ERROR_MODEL); their schemas as aws-cdk-lib's EmptyModel and ErrorModel quote them
# (https://docs.aws.amazon.com/cdk/api/v1/docs/@aws-cdk_aws-apigateway.EmptyModel.html).
_DRAFT_4 = "http://json-schema.org/draft-04/schema#"
_BUILT_IN_MODELS = {
    "Empty": {"$schema": _DRAFT_4, "title": "Empty Schema", "type": "object"},
    "Error": {
        "$schema": _DRAFT_4, "title": "Error Schema", "type": "object", "properties": {"message": {"type": "string"}}
    },
}


@dataclass(frozen=True)
class _Validators:
    """An API's request validators and the models they validate bodies against."""

    checks: Mapping[str, tuple[bool, bool]]
    """Validator logical id -> whether it validates bodies, and whether parameters."""
    models: Mapping[str, Mapping[str, Any]]
    """Model name -> its schema."""


def read(stack: StackTemplate, app: LocalApp) -> None:
    for api_id, resource in stack.of_type("AWS::ApiGateway::RestApi").items():
        paths = _resource_paths(stack, api_id)
        authorizers = _authorizers(stack, app, api_id)
        validators = _validators(stack, app, api_id)
        resources: dict[str, dict[str, Method]] = {}
        for logical_id, props in stack.of_api("AWS::ApiGateway::Method", api_id).items():
            path = paths.get(_resource_reference(props.get("ResourceId")))
            if path is None:
                continue
            resources.setdefault(path, {})[props["HttpMethod"]] = _method(
                stack, app, stack.path_of(logical_id, stack.resources[logical_id]), props, authorizers, validators
            )
        props = resource.get("Properties", {})
        app.apis.append(
            RestApi(
                key=stack.key(api_id),
                path=stack.path_of(api_id, resource),
                api_id=stack.intrinsics.ref(api_id),
                name=props.get("Name", api_id) if isinstance(props.get("Name"), str) else api_id,
                binary_media_types=tuple(props.get("BinaryMediaTypes", [])),
                stages=_stages(stack, api_id),
                resources=resources,
                gateway_responses=_gateway_responses(stack, api_id),
            )
        )


def _resource_paths(stack: StackTemplate, api_id: str) -> dict[str, str]:
    """Resource reference -> path; the root is ``"root"``."""
    parents: dict[str, tuple[str, str]] = {}
    for logical_id, props in stack.of_api("AWS::ApiGateway::Resource", api_id).items():
        parents[logical_id] = (_resource_reference(props["ParentId"]), props["PathPart"])
    paths = {"root": "/"}

    def path_of(reference: str) -> str:
        if reference not in paths:
            parent, part = parents[reference]
            paths[reference] = f"{path_of(parent).rstrip('/')}/{part}"
        return paths[reference]

    for logical_id in parents:
        path_of(logical_id)
    return paths


def _authorizers(stack: StackTemplate, app: LocalApp, api_id: str) -> dict[str, Authorizer]:
    authorizers = {}
    for logical_id, props in stack.of_api("AWS::ApiGateway::Authorizer", api_id).items():
        pools = []
        for arn in props.get("ProviderARNs", []):
            if isinstance(arn, dict) and "Fn::GetAtt" in arn:
                pools.append(stack.key(arn["Fn::GetAtt"][0]))
                continue
            resolved = stack.intrinsics.resolve_or_warn(
                arn, f"{stack.key(logical_id)} ProviderARNs", "tokens of that pool are refused"
            )
            if resolved is not None:
                pools.append(user_pools.imported_pool(stack, app, resolved))
        source = props.get("IdentitySource", "method.request.header.Authorization")
        authorizers[logical_id] = Authorizer(
            type=props.get("Type", ""), pools=tuple(pools), header=source.rsplit(".", 1)[-1]
        )
    return authorizers


def _validators(stack: StackTemplate, app: LocalApp, api_id: str) -> _Validators:
    """The API's request validators, and its models (API Gateway's built-in ones too) that local mode validates against."""
    models = dict(_BUILT_IN_MODELS)
    for logical_id, props in stack.of_api("AWS::ApiGateway::Model", api_id).items():
        # The model's own ContentType does not select it: a method's RequestModels map content types to models.
        name = stack.intrinsics.resolve_or_warn(
            {"Ref": logical_id}, f"{stack.key(logical_id)} Name", "no body is validated against it"
        )
        schema, problem = _schema(props.get("Schema", {}))
        if problem is not None:
            app.warnings.append(f"{stack.key(logical_id)} Schema: {problem}: no body is validated against it")
        elif name is not None:
            models[name] = schema
    checks = {
        logical_id: (_flag(props.get("ValidateRequestBody")), _flag(props.get("ValidateRequestParameters")))
        for logical_id, props in stack.of_api("AWS::ApiGateway::RequestValidator", api_id).items()
    }
    return _Validators(checks, models)


def _schema(value: Any) -> tuple[Any, str | None]:
    """A model's schema (an object, or JSON text), and why it cannot be validated against locally, if it cannot."""
    if isinstance(value, str):
        try:
            value = json.loads(value)
        except ValueError as error:
            return None, f"its schema is not JSON ({error})"
    if _anywhere(value, _is_intrinsic):
        return None, "its schema holds a value only CloudFormation knows (a $ref to another model, say)"
    if _anywhere(value, _refers_elsewhere):
        return None, "its schema refers to another model ($ref), which local mode does not follow"
    return value, validation.schema_problem(value)


def _method(
    stack: StackTemplate,
    app: LocalApp,
    path: str,
    props: dict,
    authorizers: Mapping[str, Authorizer],
    validators: _Validators,
) -> Method:
    integration = props.get("Integration", {})
    authorizer_ref = props.get("AuthorizerId")
    authorizer = authorizers.get(authorizer_ref["Ref"]) if isinstance(authorizer_ref, dict) else None
    kind = integration.get("Type", "")
    function = None
    if kind == "AWS_PROXY":
        functions = stack.of_type("AWS::Lambda::Function")
        aliased = aliased_functions(stack)
        targets = [target for target in _get_att_targets(integration.get("Uri")) if target in functions] + [
            aliased[ref] for ref in _ref_targets(integration.get("Uri")) if ref in aliased
        ]
        function = next((stack.key(target) for target in targets), None)
    mock = _mock(integration) if kind == "MOCK" else None
    required_parameters, body_models = _request_validation(stack, app, path, props, validators)
    return Method(
        http_method=props["HttpMethod"],
        authorization_type=props.get("AuthorizationType", "NONE"),
        authorizer=authorizer,
        integration_type=kind,
        function=function,
        mock=mock,
        api_key_required=bool(props.get("ApiKeyRequired", False)),
        authorization_scopes=stack.intrinsics.strings(
            props.get("AuthorizationScopes", []), f"{props['HttpMethod']} method AuthorizationScopes",
            "no token can carry that scope",
        ),
        required_parameters=required_parameters,
        body_models=body_models,
    )


def _request_validation(
    stack: StackTemplate, app: LocalApp, path: str, props: dict, validators: _Validators
) -> tuple[tuple[str, ...], dict[str, Mapping[str, Any]]]:
    """The method's required parameters and its body models, as far as its request validator checks them."""
    reference = props.get("RequestValidatorId")
    checks = validators.checks.get(reference["Ref"]) if isinstance(reference, dict) and "Ref" in reference else None
    if checks is None:
        return (), {}
    validates_body, validates_parameters = checks
    required = sorted(name for name, required in props.get("RequestParameters", {}).items() if _flag(required))
    body_models = {}
    request_models = (props.get("RequestModels") or {}) if validates_body else {}
    for content_type, model in request_models.items():
        name = stack.intrinsics.resolve_or_warn(
            model, f"{path} RequestModels", f"bodies of {content_type} are not validated"
        )
        if name in validators.models:
            body_models[content_type] = validators.models[name]
        elif name is not None:
            app.warnings.append(
                f"{path} RequestModels: the API has no model {name!r} to validate against locally: "
                f"bodies of {content_type} are not validated"
            )
    return (tuple(required) if validates_parameters else ()), body_models


def _stages(stack: StackTemplate, api_id: str) -> dict[str, dict[tuple[str, str], tuple[float, int]]]:
    stages = {}
    for props in stack.of_api("AWS::ApiGateway::Stage", api_id).values():
        limits: dict[tuple[str, str], tuple[float, int]] = {("*", "*"): ACCOUNT_THROTTLE}
        for setting in props.get("MethodSettings", []):
            default_rate, default_burst = limits[("*", "*")]
            # "/" and then the path with each "/" as "~1": "/~1metadata~1{id}" is /metadata/{id}.
            encoded = setting.get("ResourcePath", "/*")
            path = "*" if encoded == "/*" else encoded[1:].replace("~1", "/")
            limits[(path, setting.get("HttpMethod", "*"))] = (
                float(setting.get("ThrottlingRateLimit", default_rate)),
                int(setting.get("ThrottlingBurstLimit", default_burst)),
            )
        stages[props["StageName"]] = limits
    return stages


def _gateway_responses(stack: StackTemplate, api_id: str) -> dict[str, GatewayResponse]:
    responses = {}
    for props in stack.of_api("AWS::ApiGateway::GatewayResponse", api_id).values():
        templates = props.get("ResponseTemplates", {})
        responses[props["ResponseType"]] = GatewayResponse(
            status=int(props["StatusCode"]) if "StatusCode" in props else None,
            headers=_literal_headers(props.get("ResponseParameters", {}), "gatewayresponse.header."),
            body=templates.get("application/json"),
        )
    return responses


def _flag(value: Any) -> bool:
    """A boolean property, which a template may hold as a string."""
    return str(value).lower() == "true"


def _anywhere(value: Any, test: Callable[[dict], bool]) -> bool:
    """Whether ``test`` holds for an object anywhere in ``value``."""
    if isinstance(value, dict):
        return test(value) or any(_anywhere(item, test) for item in value.values())
    if isinstance(value, list):
        return any(_anywhere(item, test) for item in value)
    return False


def _is_intrinsic(value: dict) -> bool:
    return any(key.startswith("Fn::") or (key == "Ref" and isinstance(item, str)) for key, item in value.items())


def _refers_elsewhere(value: dict) -> bool:
    """A ``$ref`` out of its own schema (``#/definitions/...`` stays in it)."""
    return isinstance(value.get("$ref"), str) and not value["$ref"].startswith("#")


def _resource_reference(value: Any) -> str:
    if isinstance(value, dict) and "Fn::GetAtt" in value:
        return "root"
    if isinstance(value, dict) and "Ref" in value:
        return value["Ref"]
    return str(value)


def _get_att_targets(value: Any) -> list[str]:
    """Logical ids that ``value`` takes an attribute of, anywhere inside it."""
    if isinstance(value, dict):
        if "Fn::GetAtt" in value:
            return [value["Fn::GetAtt"][0]]
        return [target for item in value.values() for target in _get_att_targets(item)]
    if isinstance(value, list):
        return [target for item in value for target in _get_att_targets(item)]
    return []


def _ref_targets(value: Any) -> list[str]:
    """Logical ids that ``value`` references (``Ref``), anywhere inside it."""
    if isinstance(value, dict):
        if "Ref" in value:
            return [value["Ref"]]
        return [target for item in value.values() for target in _ref_targets(item)]
    if isinstance(value, list):
        return [target for item in value for target in _ref_targets(item)]
    return []


def _literal_headers(parameters: Mapping[str, Any], prefix: str) -> dict[str, str]:
    """Header mappings with a static value (``'value'``); mappings from the request are not emulated."""
    return {
        name.removeprefix(prefix): value[1:-1]
        for name, value in parameters.items()
        if name.startswith(prefix) and isinstance(value, str) and value.startswith("'") and value.endswith("'")
    }


_ECHOED_ORIGIN = re.compile(r'#(?:else)?if\(\$origin == "([^"]+)"\)')


def _mock(integration: dict) -> MockIntegration:
    responses = integration.get("IntegrationResponses", [])
    default = next((r for r in responses if not r.get("SelectionPattern")), responses[0] if responses else {})
    templates = default.get("ResponseTemplates", {})
    body = templates.get("application/json", next(iter(templates.values()), ""))
    # VTL is not emulated, except the one template CDK writes for CORS with several origins.
    echo_origins = ()
    if "$context.responseOverride.header.Access-Control-Allow-Origin" in body:
        echo_origins = tuple(_ECHOED_ORIGIN.findall(body))
    return MockIntegration(
        request_content_types=tuple(integration.get("RequestTemplates", {})),
        passthrough=integration.get("PassthroughBehavior", "WHEN_NO_MATCH"),
        status=int(default.get("StatusCode", 200)),
        headers=_literal_headers(default.get("ResponseParameters", {}), "method.response.header."),
        body="" if "$" in body or "#" in body else body,
        echo_origins=echo_origins,
    )
