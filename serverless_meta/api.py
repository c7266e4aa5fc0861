"""The service's REST API: routes to the functions, the Cognito authorizer on every method, the stage.

Security never depends on call order: the authorizer is the API's default method option, and
a validation fails synthesis if any method lacks it, even one added after the construct.
"""

from __future__ import annotations

import functools
import json
import weakref
from collections.abc import Mapping, Sequence
from typing import NamedTuple, TypedDict, cast

import jsii
from aws_cdk import Duration, Names, RemovalPolicy, Stack
from aws_cdk import aws_apigateway as apigateway
from aws_cdk import aws_cognito as cognito
from aws_cdk import aws_iam as iam
from aws_cdk import aws_kms as kms
from aws_cdk import aws_lambda as lambda_
from aws_cdk import aws_logs as logs
from constructs import Construct, IConstruct, IValidation

from serverless_meta import defaults
from serverless_meta.compliance import acknowledge, skip_checkov
from serverless_meta.handlers.crud_api import contract
from serverless_meta.identity import operation_scope_names
from serverless_meta.operations import ROUTES, Operation
from serverless_meta.props import ServiceProps
from serverless_meta.request_models import gateway_model

# Content types the 405 answer is mapped for; API Gateway answers 415 to a body of any other type.
METHOD_NOT_ALLOWED_CONTENT_TYPES = (
    "application/json",
    "application/x-www-form-urlencoded",
    "application/xml",
    "application/octet-stream",
    "multipart/form-data",
    "text/plain",
    "text/xml",
)
_METHOD_NOT_ALLOWED_RESPONSE = apigateway.MethodResponse(
    status_code="405", response_parameters={"method.response.header.Allow": True}
)


def build_api(
    scope: Construct,
    props: ServiceProps,
    *,
    user_pool: cognito.IUserPool,
    functions: Mapping[Operation, lambda_.IFunction],
    key: kms.IKey,
) -> apigateway.RestApi:
    """The service's routes, on a new API or on the shared one (``api=``), which keeps its stage as it is."""
    api = props.api.shared_api or _new_api(scope, props, user_pool=user_pool, key=key)
    origins = props.api.cors_allow_origins
    collection = api.root.add_resource(
        props.resource.name,
        # This service's methods, not those of the API's first service.
        default_cors_preflight_options=_cors_options(origins, props.resource.operations) if origins else None,
    )
    body_check = _body_validation(scope, props, api)
    _add_methods(props, collection, functions, on_item=False, body_check=body_check)
    if any(ROUTES[op].on_item for op in props.resource.operations):
        _add_methods(props, collection.add_resource("{id}"), functions, on_item=True, body_check=body_check)
    if props.api.shared_api is not None:
        _add_operation_throttling(api.deployment_stage, props)
    return api


def operation_methods(api: apigateway.RestApi, props: ServiceProps) -> dict[Operation, apigateway.Method]:
    """The method that serves each of the service's operations on ``api``."""
    collection = _child(api.root, props.resource.name)
    methods = {}
    for op in props.resource.operations:
        resource = _child(collection, "{id}") if ROUTES[op].on_item else collection
        # A resource's methods are its children, named by HTTP method.
        methods[op] = cast(apigateway.Method, resource.node.find_child(ROUTES[op].method))
    return methods


def _child(resource: apigateway.IResource, path_part: str) -> apigateway.IResource:
    """The child resource build_api made at ``path_part``."""
    child = resource.get_resource(path_part)
    if child is None:
        raise LookupError(f"{resource.node.path} has no resource {path_part!r}: build_api makes it")
    return child


def _new_api(scope: Construct, props: ServiceProps, *, user_pool: cognito.IUserPool, key: kms.IKey) -> apigateway.RestApi:
    """An API with its authorizer, throttled and logged stage, and JSON gateway responses."""
    settings = props.api
    # validate() gave a service's own API the default throttling where it was left out (props._own_api).
    throttling = cast(apigateway.ThrottleSettings, settings.throttling)
    access_logs = logs.LogGroup(scope, "AccessLogs", retention=props.functions.log_retention, encryption_key=key)
    authorizer = apigateway.CognitoUserPoolsAuthorizer(scope, "Authorizer", cognito_user_pools=[user_pool])
    api = apigateway.RestApi(
        scope,
        "Api",
        rest_api_name=Names.unique_resource_name(scope, separator="-", max_length=255),
        description=f"{props.resource.name}: CRUD over the caller's items",
        endpoint_types=[apigateway.EndpointType.REGIONAL],
        disable_execute_api_endpoint=props.edge.disable_execute_api_endpoint or None,
        cloud_watch_role=False,
        default_method_options=apigateway.MethodOptions(
            authorizer=authorizer,
            authorization_type=apigateway.AuthorizationType.COGNITO,
            api_key_required=settings.usage_plan is not None or None,
        ),
        default_cors_preflight_options=_cors_options(settings.cors_allow_origins, props.resource.operations)
        if settings.cors_allow_origins
        else None,
        deploy_options=apigateway.StageOptions(
            stage_name=settings.stage_name,
            throttling_rate_limit=throttling.rate_limit,
            throttling_burst_limit=throttling.burst_limit,
            method_options={path: _method_options(setting) for path, setting in _method_settings_by_path(props).items()},
            access_log_destination=apigateway.LogGroupLogDestination(access_logs),
            access_log_format=_access_log_format(),
            tracing_enabled=True,
            **_METHOD_LOGGING_AND_METRICS,
        ),
    )
    if props.edge.disable_execute_api_endpoint:
        api.node.try_remove_child("Endpoint")  # the stack's output of the URL that no longer answers
    if settings.cloud_watch_role:
        api.deployment_stage.node.add_dependency(_api_gateway_account(Stack.of(scope)))
    cfn_stage = cast(apigateway.CfnStage, api.deployment_stage.node.default_child)  # a Stage's L1
    if props.access.public_cache_ttl is not None:
        _enable_cache_cluster(cfn_stage)
    skip_checkov(
        cfn_stage,
        {
            "CKV_AWS_120": "No response caching: every response is one caller's items and changes with each write; "
            "a cache keyed without the Authorization header would serve one user's data to another.",
        },
    )
    _add_gateway_responses(api, settings.cors_allow_origins or ())
    acknowledge(
        api,
        "AwsSolutions-APIG2",
        "A service with an item_schema validates create and replace bodies at the gateway (a request "
        "validator and its schema as a model); the handlers validate every request (id, query, body) and "
        "answer 400 with a JSON message, so a service without a schema has nothing more to check there.",
    )
    scope.node.add_validation(_EveryMethodAuthorized(api, cors=bool(settings.cors_allow_origins)))
    return api


def build_usage_plan(scope: Construct, props: ServiceProps, *, api: apigateway.RestApi) -> apigateway.UsagePlan | None:
    """A usage plan for the stage, metering the API keys every method then requires; None unless asked for."""
    plan_props = props.api.usage_plan
    if plan_props is None:
        return None
    plan = api.add_usage_plan(
        "UsagePlan",
        name=plan_props.name,
        description=plan_props.description,
        throttle=plan_props.throttle,
        quota=plan_props.quota,
    )
    plan.add_api_stage(stage=api.deployment_stage)
    return plan


class _MethodLogging(TypedDict):
    logging_level: apigateway.MethodLoggingLevel
    data_trace_enabled: bool
    metrics_enabled: bool


# Execution logs at ERROR without data, and per-method metrics (the alarms of a service on a shared
# API watch its own methods), for every method, including those with throttling of their own.
_METHOD_LOGGING_AND_METRICS: _MethodLogging = {
    "logging_level": apigateway.MethodLoggingLevel.ERROR,
    "data_trace_enabled": False,
    "metrics_enabled": True,
}


class _MethodSetting(NamedTuple):
    throttle: apigateway.ThrottleSettings
    cache_ttl: Duration | None = None


def _method_settings_by_path(props: ServiceProps) -> dict[str, _MethodSetting]:
    """The stage's settings of the service's methods, by method path, e.g. ``/metadata/{id}/PUT``: the
    throttling each method's function can serve (``operation_throttling`` where given), and a public
    read's lower throttle and cache."""
    collection_path = f"/{props.resource.name}"
    access = props.access
    servable = admitted(props.functions.reserved_concurrency)
    settings = {}
    for op in props.resource.operations:
        public = op in access.public_operations
        # The stage's limits are every method's already: a method needs its own only to go lower.
        lower = [limit for limit in (servable, defaults.PUBLIC_THROTTLING if public else None) if limit is not None]
        if op in props.api.operation_throttling:
            throttle = props.api.operation_throttling[op]
        elif lower:
            throttle = _lowest(props.api.throttling, *lower)
        else:
            continue
        path = f"{collection_path}{'/{id}' if ROUTES[op].on_item else ''}/{ROUTES[op].method}"
        settings[path] = _MethodSetting(throttle, access.public_cache_ttl if public else None)
    return settings


def admitted(environments: int | None) -> apigateway.ThrottleSettings | None:
    """What a method may admit so that its function, with ``environments`` reserved, is not asked for more.

    API Gateway answers an invocation that Lambda rejects (the function at its reserved concurrency) with
    ``500 {"message": "Internal server error"}``, which no gateway response type tells from a fault
    (AWS Lambda Developer Guide, "Handling Lambda errors with an API Gateway API": "If the Lambda API
    rejects the invocation request, API Gateway returns a 500 error code"). The gateway's own throttle is
    a 429 a client may retry. Requests arriving at once take half the environments (the burst); the
    rate fills the other half for as long as a request holds one (``defaults.REQUEST_SECONDS``, Little's
    law: in flight = rate x time in flight). None (no reserved concurrency): the stage's limits apply.
    """
    if environments is None:
        return None
    burst = max(1, environments // 2)
    return apigateway.ThrottleSettings(
        burst_limit=burst, rate_limit=max(environments - burst, 0.5) / defaults.REQUEST_SECONDS
    )


def _lowest(*limits: apigateway.ThrottleSettings | None) -> apigateway.ThrottleSettings:
    """Each of rate and burst at the lowest any of ``limits`` sets."""
    given = [limit for limit in limits if limit is not None]
    rates = [limit.rate_limit for limit in given if limit.rate_limit is not None]
    bursts = [limit.burst_limit for limit in given if limit.burst_limit is not None]
    return apigateway.ThrottleSettings(rate_limit=min(rates, default=None), burst_limit=min(bursts, default=None))


def _method_options(setting: _MethodSetting) -> apigateway.MethodDeploymentOptions:
    cached = setting.cache_ttl is not None or None  # a struct's None is a setting left out
    return apigateway.MethodDeploymentOptions(
        throttling_rate_limit=setting.throttle.rate_limit,
        throttling_burst_limit=setting.throttle.burst_limit,
        caching_enabled=cached,
        cache_ttl=setting.cache_ttl,
        cache_data_encrypted=cached,
        **_METHOD_LOGGING_AND_METRICS,
    )


def _add_operation_throttling(stage: apigateway.Stage, props: ServiceProps) -> None:
    """A service on a shared API adds its operations' throttling (and public reads' cache) to the stage's method settings."""
    cfn_stage = cast(apigateway.CfnStage, stage.node.default_child)  # a Stage's L1
    added = [
        apigateway.CfnStage.MethodSettingProperty(
            # The stage's own encoding of a resource path: "/" and then the path with each "/" as "~1".
            resource_path="/" + path.rsplit("/", 1)[0].replace("/", "~1"),
            http_method=path.rsplit("/", 1)[1],
            throttling_rate_limit=setting.throttle.rate_limit,
            throttling_burst_limit=setting.throttle.burst_limit,
            # The L1 property takes the level's name; the other two as they are.
            logging_level=_METHOD_LOGGING_AND_METRICS["logging_level"].value,
            data_trace_enabled=_METHOD_LOGGING_AND_METRICS["data_trace_enabled"],
            metrics_enabled=_METHOD_LOGGING_AND_METRICS["metrics_enabled"],
            # A struct's None is a setting left out.
            caching_enabled=setting.cache_ttl is not None or None,
            cache_ttl_in_seconds=None if setting.cache_ttl is None else setting.cache_ttl.to_seconds(),
            cache_data_encrypted=setting.cache_ttl is not None or None,
        )
        for path, setting in _method_settings_by_path(props).items()
    ]
    if added:
        # The Stage L2 sets its method settings as a list, never as one token.
        existing = cast("list[apigateway.CfnStage.MethodSettingProperty] | None", cfn_stage.method_settings)
        cfn_stage.method_settings = [*(existing or []), *added]
    if props.access.public_cache_ttl is not None:
        _enable_cache_cluster(cfn_stage)


def _enable_cache_cluster(cfn_stage: apigateway.CfnStage) -> None:
    """The stage's cache, the smallest there is (0.5 GB): only public reads' methods use it."""
    cfn_stage.cache_cluster_enabled = True
    cfn_stage.cache_cluster_size = defaults.PUBLIC_CACHE_SIZE


class _BodyValidation(NamedTuple):
    model: apigateway.IModel
    validator: apigateway.RequestValidator


# The operations whose request body is an item.
_WITH_BODY = (Operation.CREATE, Operation.UPDATE)


def _body_validation(scope: Construct, props: ServiceProps, api: apigateway.RestApi) -> _BodyValidation | None:
    """The item schema as the gateway's model of create's and replace's bodies (see request_models), and a
    validator that checks bodies only; None without a schema. A bad body is then API Gateway's
    ``400 {"message": "Invalid request body"}`` (BAD_REQUEST_BODY) and costs no invocation."""
    schema = props.resource.item_schema
    if schema is None or not set(_WITH_BODY) & set(props.resource.operations):
        return None
    # The L1 model takes the schema as it is; the L2 one would need it rebuilt as a JsonSchema.
    model = apigateway.CfnModel(
        scope, "ItemModel", rest_api_id=api.rest_api_id, content_type="application/json", schema=gateway_model(schema),
        description=f"{props.resource.name}: an item's body (its item_schema, in draft 4)",
    )
    validator = apigateway.RequestValidator(
        scope, "BodyValidator", rest_api=api, validate_request_body=True, validate_request_parameters=False
    )
    return _BodyValidation(apigateway.Model.from_model_name(scope, "ItemModelName", model.ref), validator)


def _add_methods(
    props: ServiceProps,
    resource: apigateway.Resource,
    functions: Mapping[Operation, lambda_.IFunction],
    *,
    on_item: bool,
    body_check: _BodyValidation | None,
) -> None:
    """The resource's operations, each to its function, and ANY for the other methods (405)."""
    operations = [op for op in props.resource.operations if ROUTES[op].on_item == on_item]
    for op in operations:
        public = op in props.access.public_operations
        # One permission per function, for this stage and method only; none for the console's test
        # invocations, which bypass the authorizer and would double the permissions.
        cache_keys = _public_cache_keys(props, on_item) if public else []
        integration = apigateway.LambdaIntegration(functions[op], allow_test_invoke=False, cache_key_parameters=cache_keys or None)
        if not public:
            # "$default": every content type, as the handler reads every body as JSON ("If no matching content
            # type is found, request validation is not performed": API Gateway Developer Guide, "Request
            # validation for REST APIs in API Gateway").
            checked = body_check if op in _WITH_BODY else None
            resource.add_method(
                ROUTES[op].method,
                integration,
                authorization_scopes=operation_scope_names(props, op) or None,
                request_models={"$default": checked.model} if checked else None,
                request_validator=checked.validator if checked else None,
            )
            continue
        method = resource.add_method(ROUTES[op].method, integration, request_parameters=dict.fromkeys(cache_keys, False))
        # The API's default method options carry the authorizer, which a method cannot decline through
        # add_method; its own CloudFormation resource says it takes no token.
        cfn_method = cast(apigateway.CfnMethod, method.node.default_child)  # a Method's L1
        cfn_method.authorization_type = apigateway.AuthorizationType.NONE.value
        cfn_method.authorizer_id = None
        reason = (
            f"public_operations names {op.value}: a read of the shared {props.resource.name} collection, the same for "
            "every caller, served without a token by the service's choice; throttled, and never a write"
        )
        _public_methods.setdefault(resource.api, set()).add(method.node.path)
        cfn_method.add_metadata("serverless-meta:public", reason)
        acknowledge(method, ("AwsSolutions-APIG4", "AwsSolutions-COG4"), reason)
    if operations:
        allowed = sorted(ROUTES[op].method for op in operations)
        resource.add_method("ANY", _method_not_allowed(allowed), method_responses=[_METHOD_NOT_ALLOWED_RESPONSE])


def _add_gateway_responses(api: apigateway.RestApi, cors_allow_origins: Sequence[str]) -> None:
    """Unknown routes are a JSON 404; the gateway's throttle says when to retry; with CORS, browsers can
    read the gateway's own errors."""
    error_headers = _gateway_error_cors_headers(cors_allow_origins)
    api.add_gateway_response(
        "Throttled",
        type=apigateway.ResponseType.THROTTLED,
        status_code="429",
        # A method's bucket refills at least one request a second (see admitted()) for a client that waits.
        response_headers={**error_headers, "Retry-After": "'1'"},
        templates={"application/json": '{"message": "Too Many Requests"}'},
    )
    api.add_gateway_response(
        "NotFound",
        type=apigateway.ResponseType.MISSING_AUTHENTICATION_TOKEN,
        status_code="404",
        templates={"application/json": '{"message": "Not Found"}'},
        response_headers=error_headers or None,
    )
    if error_headers:
        api.add_gateway_response("Default4xx", type=apigateway.ResponseType.DEFAULT_4_XX, response_headers=error_headers)
        api.add_gateway_response("Default5xx", type=apigateway.ResponseType.DEFAULT_5_XX, response_headers=error_headers)


def _access_log_format() -> apigateway.AccessLogFormat:
    """One JSON line per request, with the caller's Cognito sub and the request id the handlers log."""
    return apigateway.AccessLogFormat.custom(_access_log_fields())


@functools.cache
def _access_log_fields() -> str:
    """The format's JSON, made once per process: each field is a call into aws-cdk-lib."""
    fields = apigateway.AccessLogField
    return json.dumps(
        {
            "requestId": fields.context_request_id(),
            "requestTime": fields.context_request_time(),
            "ip": fields.context_identity_source_ip(),
            "user": fields.context_authorizer_claims("sub"),
            "method": fields.context_http_method(),
            "path": fields.context_path(),
            "resource": fields.context_resource_path(),
            "status": fields.context_status(),
            "responseLength": fields.context_response_length(),
            "responseLatency": fields.context_response_latency(),
            "integrationLatency": fields.context_integration_latency(),
            "error": fields.context_error_message(),
        }
    )


def _cors_options(origins: Sequence[str], operations: Sequence[Operation]) -> apigateway.CorsOptions:
    return apigateway.CorsOptions(
        allow_origins=list(origins),
        allow_methods=sorted({ROUTES[op].method for op in operations}),
        allow_headers=list(contract.CORS_ALLOW_HEADERS),
        expose_headers=list(contract.CORS_EXPOSE_HEADERS),
        max_age=Duration.seconds(contract.CORS_MAX_AGE_SECONDS),
    )


def _gateway_error_cors_headers(origins: Sequence[str]) -> dict[str, str]:
    """CORS headers for the gateway's own errors (401, 403, 404, 429, 5XX), so browsers can read them.

    A gateway response cannot pick one of several origins per request; with several, its
    error bodies (which carry no data) are readable from any origin.
    """
    if not origins:
        return {}
    return {"Access-Control-Allow-Origin": f"'{origins[0]}'" if len(origins) == 1 else "'*'"}


def _method_not_allowed(allowed_methods: Sequence[str]) -> apigateway.MockIntegration:
    """The gateway's answer to a method a resource does not offer: 405 with ``Allow``."""
    return apigateway.MockIntegration(
        passthrough_behavior=apigateway.PassthroughBehavior.NEVER,
        request_templates={content_type: '{"statusCode": 405}' for content_type in METHOD_NOT_ALLOWED_CONTENT_TYPES},
        integration_responses=[
            apigateway.IntegrationResponse(
                status_code="405",
                response_parameters={"method.response.header.Allow": f"'{', '.join(allowed_methods)}'"},
                response_templates={"application/json": '{"message": "Method Not Allowed"}'},
            )
        ],
    )


def _api_gateway_account(stack: Stack) -> IConstruct:
    """The stack's one API Gateway account setting with a role for execution logs, made on first use."""
    existing = stack.node.try_find_child("ApiGatewayCloudWatchRole")
    if existing is not None:
        return existing
    holder = Construct(stack, "ApiGatewayCloudWatchRole")
    role = iam.Role(
        holder,
        "Role",
        assumed_by=iam.ServicePrincipal("apigateway.amazonaws.com"),
        managed_policies=[
            iam.ManagedPolicy.from_aws_managed_policy_name("service-role/AmazonAPIGatewayPushToCloudWatchLogs")
        ],
    )
    account = apigateway.CfnAccount(holder, "Account", cloud_watch_role_arn=role.role_arn)
    # The setting is the account's, not the stack's: deleting this stack must not break execution
    # logging for every other API in the region.
    role.apply_removal_policy(RemovalPolicy.RETAIN)
    account.apply_removal_policy(RemovalPolicy.RETAIN)
    acknowledge(
        role,
        "AwsSolutions-IAM4[Policy::arn:<AWS::Partition>:iam::aws:policy/service-role/AmazonAPIGatewayPushToCloudWatchLogs]",
        "AWS's own policy for API Gateway log delivery, the one its documentation prescribes; AWS keeps it "
        "current as the service changes.",
    )
    return holder


def _public_cache_keys(props: ServiceProps, on_item: bool) -> list[str]:
    """What a public read's cache is keyed by: the item's id, or every query parameter a list takes (its page,
    order and lookups), and the representation a conditional GET or a CORS origin asks for. Without any of
    them one caller's answer (a 304, another page, another origin's) would be served to another. The
    handler ignores other query parameters of a public read, so that the cache never keeps a 400 for them."""
    headers = ["method.request.header.If-None-Match", "method.request.header.Origin"]
    if on_item:
        return ["method.request.path.id", *headers]
    parameters = (*contract.QUERY_PARAMETERS["list"], *props.resource.indexes)
    return [*(f"method.request.querystring.{name}" for name in parameters), *headers]


# The methods each API serves without a token because a service named them in public_operations.
_public_methods: weakref.WeakKeyDictionary[apigateway.IRestApi, set[str]] = weakref.WeakKeyDictionary()

@jsii.implements(IValidation)
class _EveryMethodAuthorized:
    """Fails synthesis if any method of the API lacks the Cognito authorizer: ones added later, and the
    services' own, changed through their ``CfnMethod`` (an escape hatch) or not."""

    def __init__(self, api: apigateway.RestApi, *, cors: bool) -> None:
        self._api = api
        self._cors = cors

    def validate(self) -> list[str]:
        errors = []
        public = _public_methods.get(self._api, set())
        for method in self._api.methods:
            cfn_method = cast(apigateway.CfnMethod, method.node.default_child)  # a Method's L1
            if cfn_method.authorization_type == "COGNITO_USER_POOLS" and cfn_method.authorizer_id is not None:
                continue
            # A Method renders its integration as the struct, never as one token.
            integration = cast(apigateway.CfnMethod.IntegrationProperty, cfn_method.integration)
            if self._cors and method.http_method == "OPTIONS" and integration.type == "MOCK":
                continue  # the CORS preflight: browsers send it without credentials, by design
            if method.node.path in public and cfn_method.authorization_type == "NONE":
                continue  # a read a service named public, and made so itself
            errors.append(
                f"{method.http_method} {method.resource.path} has authorization type "
                f"{cfn_method.authorization_type!r}; every method must use the Cognito authorizer"
            )
        return errors
