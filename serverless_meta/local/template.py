"""What local mode needs from synthesized CloudFormation templates: APIs, functions, tables, user pools.

Read from the templates themselves, not from our construct, so that local mode serves any
REST API a CDK app defines as it will be deployed.
"""

from __future__ import annotations

import hashlib
import json
import re
import string
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

ACCOUNT_ID = "000000000000"
DEFAULT_REGION = "us-east-1"
# API Gateway's account-level defaults, which apply where a stage sets no throttling.
ACCOUNT_THROTTLE = (10_000.0, 5_000)


@dataclass(frozen=True)
class Table:
    name: str
    region: str
    key_schema: list[dict[str, str]]
    attribute_definitions: list[dict[str, str]]
    global_secondary_indexes: list[dict[str, Any]] = field(default_factory=list)
    local_secondary_indexes: list[dict[str, Any]] = field(default_factory=list)


@dataclass(frozen=True)
class UserPool:
    key: str
    """``<stack>/<logical id>``, or the ARN of a pool the template only references."""
    path: str
    """The pool's construct path (``Stack/Metadata/UserPool``), or its key."""
    pool_id: str
    region: str
    client_ids: tuple[str, ...]

    @property
    def issuer(self) -> str:
        return f"https://cognito-idp.{self.region}.amazonaws.com/{self.pool_id}"


@dataclass(frozen=True)
class Function:
    key: str
    name: str
    """The function's construct path (``Stack/Service/CreateFunction``), for logs."""
    code_dir: Path | None
    region: str
    handler: str
    runtime: str
    environment: dict[str, str]
    timeout: int
    memory_size: int


@dataclass(frozen=True)
class MockIntegration:
    request_content_types: tuple[str, ...]
    passthrough: str
    status: int
    headers: dict[str, str]
    body: str
    echo_origins: tuple[str, ...] = ()
    """Origins the response template echoes as Access-Control-Allow-Origin (CDK's CORS with several origins)."""


@dataclass(frozen=True)
class Method:
    http_method: str
    authorization_type: str
    authorizer: Authorizer | None
    integration_type: str
    function: str | None = None
    mock: MockIntegration | None = None
    api_key_required: bool = False


@dataclass(frozen=True)
class Authorizer:
    type: str
    pools: tuple[str, ...]
    header: str


@dataclass(frozen=True)
class GatewayResponse:
    status: int | None
    headers: dict[str, str]
    body: str | None


@dataclass
class RestApi:
    key: str
    api_id: str
    """A stable local stand-in for the API's id: ``/restapis/<api_id>/<stage>/_user_request_/...`` reaches it."""
    name: str
    binary_media_types: tuple[str, ...]
    stages: dict[str, dict[tuple[str, str], tuple[float, int]]]
    """stage name -> {(resource path or "*", method or "*"): (rate, burst)}."""
    resources: dict[str, dict[str, Method]]
    """resource path (``/metadata/{id}``) -> HTTP method (or ``ANY``) -> method."""
    gateway_responses: dict[str, GatewayResponse]


@dataclass
class LocalApp:
    apis: list[RestApi] = field(default_factory=list)
    functions: dict[str, Function] = field(default_factory=dict)
    tables: list[Table] = field(default_factory=list)
    user_pools: dict[str, UserPool] = field(default_factory=dict)


def read_app(templates: Mapping[str, tuple[dict, str]], assembly_dir: Path) -> LocalApp:
    """The APIs, functions, tables and pools of every stack: ``{stack: (template, region)}``."""
    app = LocalApp()
    for stack, (template, region) in templates.items():
        _StackReader(stack, template, region, assembly_dir, app).read()
    return app


def local_id(key: str, length: int, alphabet: str = string.ascii_lowercase + string.digits) -> str:
    """A stable id in Cognito's style, derived from a resource's key."""
    digest = int.from_bytes(hashlib.sha256(key.encode()).digest(), "big")
    chars = []
    for _ in range(length):
        digest, index = divmod(digest, len(alphabet))
        chars.append(alphabet[index])
    return "".join(chars)


class _StackReader:
    def __init__(self, stack: str, template: dict, region: str, assembly_dir: Path, app: LocalApp) -> None:
        self.stack = stack
        self.resources: dict[str, dict] = template.get("Resources", {})
        self.region = region
        self.assembly_dir = assembly_dir
        self.app = app
        self.refs: dict[str, str] = {}
        self.attributes: dict[tuple[str, str], str] = {}
        self.invokes: dict[str, str] = {}
        """Alias or version logical id -> the logical id of the function it runs."""

    def key(self, logical_id: str) -> str:
        return f"{self.stack}/{logical_id}"

    def of_type(self, *types: str) -> dict[str, dict]:
        return {name: r for name, r in self.resources.items() if r.get("Type") in types}

    def read(self) -> None:
        self._tables()
        self._user_pools()
        self._functions()
        self._apis()

    def _tables(self) -> None:
        for logical_id, resource in self.of_type("AWS::DynamoDB::Table", "AWS::DynamoDB::GlobalTable").items():
            props = resource.get("Properties", {})
            name = props.get("TableName") if isinstance(props.get("TableName"), str) else f"{self.stack}-{logical_id}"
            self.refs[logical_id] = name
            self.attributes[(logical_id, "Arn")] = f"arn:aws:dynamodb:{self.region}:{ACCOUNT_ID}:table/{name}"
            self.app.tables.append(
                Table(
                    name=name,
                    region=self.region,
                    key_schema=props["KeySchema"],
                    attribute_definitions=props["AttributeDefinitions"],
                    global_secondary_indexes=[_index(i) for i in props.get("GlobalSecondaryIndexes", [])],
                    local_secondary_indexes=[_index(i) for i in props.get("LocalSecondaryIndexes", [])],
                )
            )

    def _user_pools(self) -> None:
        clients: dict[str, list[str]] = {}
        for logical_id, resource in self.of_type("AWS::Cognito::UserPoolClient").items():
            client_id = local_id(self.key(logical_id), 26)
            self.refs[logical_id] = client_id
            pool = resource.get("Properties", {}).get("UserPoolId", {})
            if isinstance(pool, dict) and "Ref" in pool:
                clients.setdefault(pool["Ref"], []).append(client_id)
        for logical_id, resource in self.of_type("AWS::Cognito::UserPool").items():
            pool_id = f"{self.region}_{local_id(self.key(logical_id), 9, string.ascii_letters + string.digits)}"
            self.refs[logical_id] = pool_id
            arn = f"arn:aws:cognito-idp:{self.region}:{ACCOUNT_ID}:userpool/{pool_id}"
            self.attributes[(logical_id, "Arn")] = arn
            self.attributes[(logical_id, "ProviderURL")] = f"cognito-idp.{self.region}.amazonaws.com/{pool_id}"
            path = resource.get("Metadata", {}).get("aws:cdk:path", self.key(logical_id)).removesuffix("/Resource")
            self.app.user_pools[self.key(logical_id)] = UserPool(
                key=self.key(logical_id),
                path=path,
                pool_id=pool_id,
                region=self.region,
                client_ids=tuple(clients.get(logical_id, ())),
            )

    def _functions(self) -> None:
        for logical_id in self.of_type("AWS::Lambda::Function"):
            self.refs[logical_id] = logical_id
            self.attributes[(logical_id, "Arn")] = f"arn:aws:lambda:{self.region}:{ACCOUNT_ID}:function:{logical_id}"
        # An alias or a published version runs its function's code: integrations that invoke one
        # (provisioned concurrency, SnapStart) reach the function.
        for logical_id, resource in self.of_type("AWS::Lambda::Alias", "AWS::Lambda::Version").items():
            function = resource.get("Properties", {}).get("FunctionName")
            if isinstance(function, dict) and function.get("Ref") in self.refs:
                self.invokes[logical_id] = function["Ref"]
        for logical_id, resource in self.of_type("AWS::Lambda::Function").items():
            props = resource.get("Properties", {})
            metadata = resource.get("Metadata", {})
            asset_path = metadata.get("aws:asset:path")
            code_dir = None
            if asset_path and metadata.get("aws:asset:property") == "Code":
                code_dir = Path(asset_path) if Path(asset_path).is_absolute() else self.assembly_dir / asset_path
            variables = props.get("Environment", {}).get("Variables", {})
            self.app.functions[self.key(logical_id)] = Function(
                key=self.key(logical_id),
                name=metadata.get("aws:cdk:path", self.key(logical_id)).removesuffix("/Resource"),
                code_dir=code_dir,
                region=self.region,
                handler=props.get("Handler", ""),
                runtime=props.get("Runtime", ""),
                environment={name: self.resolve(value) for name, value in variables.items()},
                timeout=int(props.get("Timeout", 3)),
                memory_size=int(props.get("MemorySize", 128)),
            )

    def _apis(self) -> None:
        for api_id, resource in self.of_type("AWS::ApiGateway::RestApi").items():
            self.refs[api_id] = local_id(self.key(api_id), 10)
            paths = self._resource_paths(api_id)
            authorizers = self._authorizers(api_id)
            resources: dict[str, dict[str, Method]] = {}
            for method in self.of_type("AWS::ApiGateway::Method").values():
                props = method["Properties"]
                if props.get("RestApiId") != {"Ref": api_id}:
                    continue
                path = paths.get(_resource_reference(props.get("ResourceId")))
                if path is None:
                    continue
                resources.setdefault(path, {})[props["HttpMethod"]] = self._method(props, authorizers)
            props = resource.get("Properties", {})
            self.app.apis.append(
                RestApi(
                    key=self.key(api_id),
                    api_id=self.refs[api_id],
                    name=props.get("Name", api_id) if isinstance(props.get("Name"), str) else api_id,
                    binary_media_types=tuple(props.get("BinaryMediaTypes", [])),
                    stages=self._stages(api_id),
                    resources=resources,
                    gateway_responses=self._gateway_responses(api_id),
                )
            )

    def _resource_paths(self, api_id: str) -> dict[str, str]:
        """Resource reference -> path; the root is ``"root"``."""
        parents: dict[str, tuple[str, str]] = {}
        for logical_id, resource in self.of_type("AWS::ApiGateway::Resource").items():
            props = resource["Properties"]
            if props.get("RestApiId") == {"Ref": api_id}:
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

    def _authorizers(self, api_id: str) -> dict[str, Authorizer]:
        authorizers = {}
        for logical_id, resource in self.of_type("AWS::ApiGateway::Authorizer").items():
            props = resource["Properties"]
            if props.get("RestApiId") != {"Ref": api_id}:
                continue
            pools = []
            for arn in props.get("ProviderARNs", []):
                if isinstance(arn, dict) and "Fn::GetAtt" in arn:
                    pools.append(self.key(arn["Fn::GetAtt"][0]))
                else:
                    pools.append(self._imported_pool(self.resolve(arn)))
            source = props.get("IdentitySource", "method.request.header.Authorization")
            authorizers[logical_id] = Authorizer(
                type=props.get("Type", ""), pools=tuple(pools), header=source.rsplit(".", 1)[-1]
            )
        return authorizers

    def _imported_pool(self, arn: str) -> str:
        """A pool the template only names by ARN: emulated under that ARN, with any client accepted."""
        pool_id = arn.rsplit("/", 1)[-1]
        region = pool_id.split("_", 1)[0] if "_" in pool_id else self.region
        self.app.user_pools.setdefault(arn, UserPool(key=arn, path=arn, pool_id=pool_id, region=region, client_ids=()))
        return arn

    def _method(self, props: dict, authorizers: Mapping[str, Authorizer]) -> Method:
        integration = props.get("Integration", {})
        authorizer_ref = props.get("AuthorizerId")
        authorizer = authorizers.get(authorizer_ref["Ref"]) if isinstance(authorizer_ref, dict) else None
        kind = integration.get("Type", "")
        function = None
        if kind == "AWS_PROXY":
            targets = _get_att_targets(integration.get("Uri")) + [
                self.invokes[ref] for ref in _ref_targets(integration.get("Uri")) if ref in self.invokes
            ]
            function = next((self.key(ref) for ref in targets if self.key(ref) in self.app.functions), None)
        mock = _mock(integration) if kind == "MOCK" else None
        return Method(
            http_method=props["HttpMethod"],
            authorization_type=props.get("AuthorizationType", "NONE"),
            authorizer=authorizer,
            integration_type=kind,
            function=function,
            mock=mock,
            api_key_required=bool(props.get("ApiKeyRequired", False)),
        )

    def _stages(self, api_id: str) -> dict[str, dict[tuple[str, str], tuple[float, int]]]:
        stages = {}
        for resource in self.of_type("AWS::ApiGateway::Stage").values():
            props = resource["Properties"]
            if props.get("RestApiId") != {"Ref": api_id}:
                continue
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

    def _gateway_responses(self, api_id: str) -> dict[str, GatewayResponse]:
        responses = {}
        for resource in self.of_type("AWS::ApiGateway::GatewayResponse").values():
            props = resource["Properties"]
            if props.get("RestApiId") != {"Ref": api_id}:
                continue
            templates = props.get("ResponseTemplates", {})
            responses[props["ResponseType"]] = GatewayResponse(
                status=int(props["StatusCode"]) if "StatusCode" in props else None,
                headers=_literal_headers(props.get("ResponseParameters", {}), "gatewayresponse.header."),
                body=templates.get("application/json"),
            )
        return responses

    def resolve(self, value: Any) -> str:
        """A property value as a string, with the intrinsics local mode can know resolved."""
        if isinstance(value, str):
            return value
        if isinstance(value, (int, float, bool)):
            return json.dumps(value)
        if isinstance(value, dict) and len(value) == 1:
            (function, argument), = value.items()
            if function == "Ref":
                return self._pseudo(argument) or self.refs.get(argument, argument)
            if function == "Fn::GetAtt":
                logical_id, attribute = argument if isinstance(argument, list) else argument.split(".", 1)
                return self.attributes.get((logical_id, attribute), f"{logical_id}.{attribute}")
            if function == "Fn::Join":
                separator, parts = argument
                return separator.join(self.resolve(part) for part in parts)
            if function == "Fn::Sub" and isinstance(argument, str):
                return re.sub(r"\$\{([^}]+)\}", lambda m: self.resolve({"Ref": m.group(1)}), argument)
        return json.dumps(value)

    def _pseudo(self, name: str) -> str | None:
        return {
            "AWS::Region": self.region,
            "AWS::AccountId": ACCOUNT_ID,
            "AWS::Partition": "aws",
            "AWS::URLSuffix": "amazonaws.com",
            "AWS::StackName": self.stack,
        }.get(name)


def _index(index: dict[str, Any]) -> dict[str, Any]:
    return {key: index[key] for key in ("IndexName", "KeySchema", "Projection") if key in index}


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
