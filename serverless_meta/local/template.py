"""What local mode needs from synthesized CloudFormation templates: APIs, functions and their layers,
tables and their streams, user pools, queues, the pipes from streams to queues, and the event source
mappings from queues to functions.

Read from the templates themselves, not from our construct, so that local mode serves any
REST API a CDK app defines as it will be deployed.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from serverless_meta.local import pipe_filters
from serverless_meta.local.intrinsics import Intrinsics, Unresolved
from serverless_meta.local.model import (
    AppClient,
    Asset,
    Authorizer,
    EventSourceMapping,
    Function,
    GatewayResponse,
    LocalApp,
    Method,
    MockIntegration,
    Pipe,
    Queue,
    RestApi,
    Table,
    UserPool,
)

# API Gateway's account-level defaults, which apply where a stage sets no throttling.
ACCOUNT_THROTTLE = (10_000.0, 5_000)


def read_app(
    templates: Mapping[str, tuple[dict, str]], assembly_dir: Path, assets: Mapping[str, Asset] | None = None
) -> LocalApp:
    """The APIs, functions, tables and pools of every stack: ``{stack: (template, region)}``.

    ``assets`` maps an asset's S3 object key to its source: it finds a function's code where the
    template has no asset metadata (``cdk synth --no-asset-metadata``, or ``app.synth()``).
    Stacks are read in the order given, the cloud assembly's, so exports precede their imports.
    """
    app = LocalApp()
    for stack, (template, region) in templates.items():
        _StackReader(stack, template, region, assembly_dir, app, assets or {}).read()
    return app


class _StackReader:
    def __init__(
        self, stack: str, template: dict, region: str, assembly_dir: Path, app: LocalApp, assets: Mapping[str, Asset]
    ) -> None:
        self.stack = stack
        self.template = template
        self.resources: dict[str, dict] = template.get("Resources", {})
        self.region = region
        self.assembly_dir = assembly_dir
        self.app = app
        self.assets = assets
        self.intrinsics = Intrinsics(stack, template, region, app.exports, app.warnings)
        self.invokes: dict[str, str] = {}
        """Alias or version logical id -> the logical id of the function it runs."""
        self.layers: dict[str, Path] = {}
        """Layer version logical id -> the ``python`` directory of its content, where that is an asset."""
        self.queue_arns = {
            self.intrinsics.attribute(logical_id, "Arn"): self.key(logical_id) for logical_id in self.of_type("AWS::SQS::Queue")
        }
        """A queue's local ARN -> its key."""

    def key(self, logical_id: str) -> str:
        return f"{self.stack}/{logical_id}"

    def of_type(self, *types: str) -> dict[str, dict]:
        return {name: r for name, r in self.resources.items() if r.get("Type") in types}

    def of_api(self, resource_type: str, api_id: str) -> dict[str, dict]:
        """The properties of each resource of ``resource_type`` that belongs to the REST API ``api_id``."""
        return {
            name: resource["Properties"]
            for name, resource in self.of_type(resource_type).items()
            if resource.get("Properties", {}).get("RestApiId") == {"Ref": api_id}
        }

    def read(self) -> None:
        self._tables()
        self._queues()
        self._user_pools()
        self._layers()
        self._functions()
        self._apis()
        self._pipes()
        self._event_source_mappings()
        self._exports()

    def path_of(self, logical_id: str, resource: Mapping[str, Any]) -> str:
        """A resource's construct path (CDK records it in the metadata), or its key."""
        return resource.get("Metadata", {}).get("aws:cdk:path", self.key(logical_id)).removesuffix("/Resource")

    def _tables(self) -> None:
        for logical_id, resource in self.of_type("AWS::DynamoDB::Table", "AWS::DynamoDB::GlobalTable").items():
            props = resource.get("Properties", {})
            stream = props.get("StreamSpecification") or {}
            self.app.tables.append(
                Table(
                    name=self.intrinsics.ref(logical_id),
                    region=self.region,
                    key_schema=props["KeySchema"],
                    attribute_definitions=props["AttributeDefinitions"],
                    global_secondary_indexes=[_index(i) for i in props.get("GlobalSecondaryIndexes", [])],
                    local_secondary_indexes=[_index(i) for i in props.get("LocalSecondaryIndexes", [])],
                    stream_view_type=stream.get("StreamViewType"),
                )
            )

    def _queues(self) -> None:
        for logical_id, resource in self.of_type("AWS::SQS::Queue").items():
            props = resource.get("Properties", {})
            redrive = props.get("RedrivePolicy") or {}
            target = self.intrinsics.resolve_or_warn(
                redrive["deadLetterTargetArn"], f"{self.key(logical_id)} RedrivePolicy", "its messages are never dead-lettered"
            ) if "deadLetterTargetArn" in redrive else None
            name = self.intrinsics.attribute(logical_id, "QueueName")
            self.app.queues[self.key(logical_id)] = Queue(
                key=self.key(logical_id),
                path=self.path_of(logical_id, resource),
                name=name,
                region=self.region,
                fifo=name.endswith(".fifo"),
                visibility_timeout=int(props.get("VisibilityTimeout", 30)),
                content_based_deduplication=str(props.get("ContentBasedDeduplication", "false")).lower() == "true",
                dead_letter_queue=self.queue_arns.get(target) if target else None,
                max_receive_count=int(redrive["maxReceiveCount"]) if target in self.queue_arns else None,
            )

    def _layers(self) -> None:
        """Layer versions whose content is an asset of the assembly: their ``python`` directory, as Lambda's /opt/python."""
        for logical_id, resource in self.of_type("AWS::Lambda::LayerVersion").items():
            content, _ = self._asset_dir(resource, "Content")
            if content is not None and (content / "python").is_dir():
                self.layers[logical_id] = content / "python"

    def _user_pools(self) -> None:
        clients: dict[str, list[AppClient]] = {}
        for logical_id, resource in self.of_type("AWS::Cognito::UserPoolClient").items():
            props = resource.get("Properties", {})
            pool = props.get("UserPoolId", {})
            if isinstance(pool, dict) and "Ref" in pool:
                clients.setdefault(pool["Ref"], []).append(
                    AppClient(
                        client_id=self.intrinsics.ref(logical_id),
                        path=self.path_of(logical_id, resource),
                        client_credentials="client_credentials" in props.get("AllowedOAuthFlows", []),
                        scopes=self.intrinsics.strings(
                            props.get("AllowedOAuthScopes", []), f"{self.key(logical_id)} AllowedOAuthScopes",
                            "the client cannot ask for that scope",
                        ),
                    )
                )
        for logical_id, resource in self.of_type("AWS::Cognito::UserPool").items():
            pool_clients = tuple(clients.get(logical_id, ()))
            self.app.user_pools[self.key(logical_id)] = UserPool(
                key=self.key(logical_id),
                path=self.path_of(logical_id, resource),
                pool_id=self.intrinsics.ref(logical_id),
                region=self.region,
                client_ids=tuple(client.client_id for client in pool_clients),
                clients=pool_clients,
            )

    def _functions(self) -> None:
        functions = self.of_type("AWS::Lambda::Function")
        # An alias or a published version runs its function's code: integrations that invoke one
        # (provisioned concurrency, SnapStart) reach the function.
        for logical_id, resource in self.of_type("AWS::Lambda::Alias", "AWS::Lambda::Version").items():
            function = resource.get("Properties", {}).get("FunctionName")
            if isinstance(function, dict) and function.get("Ref") in functions:
                self.invokes[logical_id] = function["Ref"]
        for logical_id, resource in functions.items():
            props = resource.get("Properties", {})
            name = self.path_of(logical_id, resource)
            code_dir, unavailable = self._asset_dir(resource, "Code")
            runtime = props.get("Runtime", "")
            if unavailable is None and not runtime.startswith("python"):
                unavailable = f"runtime {runtime or '(none: a container image)'} is not emulated, only Python"
            environment = {}
            for variable, value in props.get("Environment", {}).get("Variables", {}).items():
                resolved = self.intrinsics.resolve_or_warn(
                    value, f"{name} Environment.Variables.{variable}", "the variable is left out"
                )
                if resolved is not None:
                    environment[variable] = resolved
            reserved = props.get("ReservedConcurrentExecutions")
            self.app.functions[self.key(logical_id)] = Function(
                key=self.key(logical_id),
                name=name,
                code_dir=code_dir,
                region=self.region,
                handler=props.get("Handler", ""),
                runtime=runtime,
                environment=environment,
                timeout=int(props.get("Timeout", 3)),
                memory_size=int(props.get("MemorySize", 128)),
                reserved_concurrency=int(reserved) if isinstance(reserved, (int, str)) and str(reserved).isdigit() else None,
                unavailable=unavailable,
                # Layers that are no asset (the AWS-published Powertools, say) come from the interpreter's packages.
                layer_dirs=tuple(
                    self.layers[layer["Ref"]]
                    for layer in props.get("Layers", [])
                    if isinstance(layer, dict) and layer.get("Ref") in self.layers
                ),
            )

    def _asset_dir(self, resource: dict, prop: str) -> tuple[Path | None, str | None]:
        """The directory of a function's code (``prop`` Code) or a layer's content (Content), from its asset
        metadata or the assets manifest; or why there is none."""
        metadata = resource.get("Metadata", {})
        code = resource.get("Properties", {}).get(prop, {})
        asset_path = metadata.get("aws:asset:path") if metadata.get("aws:asset:property") == prop else None
        if asset_path is None and "S3Key" in code:
            try:
                asset = self.assets.get(self.intrinsics.resolve(code["S3Key"]))
            except Unresolved:
                asset = None
            if asset is None:
                return None, "its code is in S3, not an asset of this cloud assembly"
            if asset.packaging != "zip":
                return None, f"its code is a {asset.packaging} asset ({asset.path.name}), not a directory"
            asset_path = str(asset.path)
        if asset_path is None:
            kind = "inline code (ZipFile)" if "ZipFile" in code else "a container image" if "ImageUri" in code else "no code"
            return None, f"it has {kind}, not a directory asset"
        path = Path(asset_path) if Path(asset_path).is_absolute() else self.assembly_dir / asset_path
        if not path.is_dir():
            return None, f"its code directory {path} does not exist"
        return path, None

    def _apis(self) -> None:
        for api_id, resource in self.of_type("AWS::ApiGateway::RestApi").items():
            paths = self._resource_paths(api_id)
            authorizers = self._authorizers(api_id)
            resources: dict[str, dict[str, Method]] = {}
            for props in self.of_api("AWS::ApiGateway::Method", api_id).values():
                path = paths.get(_resource_reference(props.get("ResourceId")))
                if path is None:
                    continue
                resources.setdefault(path, {})[props["HttpMethod"]] = self._method(props, authorizers)
            props = resource.get("Properties", {})
            self.app.apis.append(
                RestApi(
                    key=self.key(api_id),
                    path=self.path_of(api_id, resource),
                    api_id=self.intrinsics.ref(api_id),
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
        for logical_id, props in self.of_api("AWS::ApiGateway::Resource", api_id).items():
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
        for logical_id, props in self.of_api("AWS::ApiGateway::Authorizer", api_id).items():
            pools = []
            for arn in props.get("ProviderARNs", []):
                if isinstance(arn, dict) and "Fn::GetAtt" in arn:
                    pools.append(self.key(arn["Fn::GetAtt"][0]))
                    continue
                resolved = self.intrinsics.resolve_or_warn(
                    arn, f"{self.key(logical_id)} ProviderARNs", "tokens of that pool are refused"
                )
                if resolved is not None:
                    pools.append(self._imported_pool(resolved))
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
            authorization_scopes=self.intrinsics.strings(
                props.get("AuthorizationScopes", []), f"{props['HttpMethod']} method AuthorizationScopes",
                "no token can carry that scope",
            ),
        )

    def _stages(self, api_id: str) -> dict[str, dict[tuple[str, str], tuple[float, int]]]:
        stages = {}
        for props in self.of_api("AWS::ApiGateway::Stage", api_id).values():
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
        for props in self.of_api("AWS::ApiGateway::GatewayResponse", api_id).values():
            templates = props.get("ResponseTemplates", {})
            responses[props["ResponseType"]] = GatewayResponse(
                status=int(props["StatusCode"]) if "StatusCode" in props else None,
                headers=_literal_headers(props.get("ResponseParameters", {}), "gatewayresponse.header."),
                body=templates.get("application/json"),
            )
        return responses

    def _pipes(self) -> None:
        for logical_id, resource in self.of_type("AWS::Pipes::Pipe").items():
            props = resource.get("Properties", {})
            path = self.path_of(logical_id, resource)
            source, target = (
                self.intrinsics.resolve_or_warn(props.get(end), f"{path} {end}", "the pipe does not run locally")
                for end in ("Source", "Target")
            )
            table = _stream_table(source) if source else None
            if source is None or target is None:
                continue
            if table is None or target not in self.queue_arns:
                self.app.warnings.append(
                    f"{path}: only pipes from a DynamoDB stream of this app to one of its SQS queues run locally; "
                    f"this one reads {source} and sends to {target}"
                )
                continue
            source_parameters = props.get("SourceParameters", {})
            target_parameters = props.get("TargetParameters", {}).get("SqsQueueParameters", {})
            stream_parameters = source_parameters.get("DynamoDBStreamParameters", {})
            filters = self.intrinsics.strings(
                [f["Pattern"] for f in source_parameters.get("FilterCriteria", {}).get("Filters", []) if "Pattern" in f],
                f"{path} FilterCriteria",
                "the filter is left out",
            )
            refused = pipe_filters.unsupported(filters)
            batch_size = stream_parameters.get("BatchSize")
            if batch_size is not None and int(batch_size) > pipe_filters.MAX_SQS_BATCH_SIZE:
                refused.append(f"a batch size of {batch_size}, where an SQS target takes at most {pipe_filters.MAX_SQS_BATCH_SIZE}")
            if refused:
                self.app.warnings.append(
                    f"{path} does not run: EventBridge Pipes would refuse it (CreatePipe fails, so the deploy would): "
                    + "; ".join(refused)
                )
                continue
            self.app.pipes.append(
                Pipe(
                    key=self.key(logical_id),
                    path=path,
                    region=self.region,
                    table=table,
                    queue=self.queue_arns[target],
                    starting_position=stream_parameters.get("StartingPosition", "LATEST"),
                    filters=filters,
                    message_group_id=target_parameters.get("MessageGroupId"),
                    message_deduplication_id=target_parameters.get("MessageDeduplicationId"),
                    running=props.get("DesiredState", "RUNNING") == "RUNNING",
                )
            )

    def _event_source_mappings(self) -> None:
        for logical_id, resource in self.of_type("AWS::Lambda::EventSourceMapping").items():
            props = resource.get("Properties", {})
            path = self.path_of(logical_id, resource)
            source = self.intrinsics.resolve_or_warn(
                props.get("EventSourceArn"), f"{path} EventSourceArn", "it does not run locally"
            )
            function = props.get("FunctionName")
            function_key = self.key(function["Ref"]) if isinstance(function, dict) and "Ref" in function else None
            if source is None:
                continue
            if source not in self.queue_arns or function_key not in self.app.functions:
                self.app.warnings.append(
                    f"{path}: only event source mappings from an SQS queue of this app to one of its functions run "
                    f"locally; this one reads {source}"
                )
                continue
            self.app.event_source_mappings.append(
                EventSourceMapping(
                    key=self.key(logical_id),
                    path=path,
                    queue=self.queue_arns[source],
                    function=function_key,
                    batch_size=int(props.get("BatchSize", 10)),
                    report_batch_item_failures="ReportBatchItemFailures" in props.get("FunctionResponseTypes", []),
                    enabled=str(props.get("Enabled", "true")).lower() == "true",
                )
            )

    def _exports(self) -> None:
        for output in self.template.get("Outputs", {}).values():
            export = output.get("Export", {}).get("Name")
            if export is None:
                continue
            try:
                self.app.exports[self.intrinsics.resolve(export)] = self.intrinsics.resolve(output.get("Value", ""))
            except Unresolved:
                continue  # an export nobody here can resolve; its importers will say so


_STREAM_ARN = re.compile(r"^arn:[^:]+:dynamodb:[^:]*:[^:]*:table/([^/]+)/stream/.+$")


def _stream_table(arn: str) -> str | None:
    """The name of the table a DynamoDB stream ARN belongs to, or None for any other ARN."""
    match = _STREAM_ARN.match(arn)
    return match.group(1) if match else None


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
