"""API Gateway REST APIs: their resources and methods (authorizers, integrations), stages (throttling)
and gateway responses."""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

from serverless_meta.local.model import Authorizer, GatewayResponse, LocalApp, Method, MockIntegration, RestApi
from serverless_meta.local.readers import user_pools
from serverless_meta.local.readers.functions import aliased_functions
from serverless_meta.local.readers.stack import StackTemplate

# API Gateway's account-level defaults, which apply where a stage sets no throttling.
ACCOUNT_THROTTLE = (10_000.0, 5_000)


def read(stack: StackTemplate, app: LocalApp) -> None:
    for api_id, resource in stack.of_type("AWS::ApiGateway::RestApi").items():
        paths = _resource_paths(stack, api_id)
        authorizers = _authorizers(stack, app, api_id)
        resources: dict[str, dict[str, Method]] = {}
        for props in stack.of_api("AWS::ApiGateway::Method", api_id).values():
            path = paths.get(_resource_reference(props.get("ResourceId")))
            if path is None:
                continue
            resources.setdefault(path, {})[props["HttpMethod"]] = _method(stack, props, authorizers)
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


def _method(stack: StackTemplate, props: dict, authorizers: Mapping[str, Authorizer]) -> Method:
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
    )


def _stages(stack: StackTemplate, api_id: str) -> dict[str, dict[tuple[str, str], tuple[float, int]]]:
    stages = {}
    for props in stack.of_api("AWS::ApiGateway::Stage", api_id).values():
        limits: dict[tuple[str, str], tuple[float, int]] = {("*", "*"): ACCOUNT_THROTTLE}
        for setting in props.get("MethodSettings", []):
            default_rate, default_burst = limits[("*", "*")]
            path = setting.get("ResourcePath", "/*").replace("~1", "/")
            path = "*" if path == "/*" else path
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
