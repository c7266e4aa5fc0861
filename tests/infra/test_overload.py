"""Overload reaches clients as the gateway's 429 with Retry-After, never as a 500.

API Gateway answers a Lambda invocation that Lambda rejects (a function at its reserved concurrency)
with ``500 {"message": "Internal server error"}``, and no gateway response type tells it from a fault
(AWS Lambda Developer Guide, "Handling Lambda errors with an API Gateway API": "If the Lambda API
rejects the invocation request, API Gateway returns a 500 error code"). So the gateway must turn
excess requests away itself, before they reach a function that has no environment left: each method
admits no more requests in flight than its function has environments, for requests that hold one for
0.1 s (the handlers take 10-30 ms warm): its burst, and its rate times 0.1 s (Little's law).
"""

from __future__ import annotations

import json
import re

import pytest
from aws_cdk import aws_apigateway as apigateway

from serverless_meta import InvalidPropError, ServerlessCrudApi
from tests.support import synthesize

REQUEST_SECONDS = 0.1


def _methods_by_function(template: dict) -> dict[str, list[tuple[str, str, str]]]:
    """Each function's logical id, with the (API, resource path, HTTP method) of the methods that invoke it."""
    resources = template["Resources"]
    paths = _resource_paths(resources)
    aliases = {
        name: r["Properties"]["FunctionName"]["Ref"]
        for name, r in resources.items()
        if r["Type"] == "AWS::Lambda::Alias"
    }
    functions = {name for name, r in resources.items() if r["Type"] == "AWS::Lambda::Function"}
    found: dict[str, list[tuple[str, str, str]]] = {}
    for method in (r["Properties"] for r in resources.values() if r["Type"] == "AWS::ApiGateway::Method"):
        uri = json.dumps(method.get("Integration", {}).get("Uri", ""))
        names = set(re.findall(r'"([A-Za-z0-9]+)"', uri))
        targets = (names & functions) | {aliases[n] for n in names & set(aliases)}
        for function in targets:
            found.setdefault(function, []).append(
                (method["RestApiId"]["Ref"], paths[method["ResourceId"]["Ref"]], method["HttpMethod"])
            )
    return found


def _resource_paths(resources: dict) -> dict[str, str]:
    def path(name: str) -> str:
        props = resources[name]["Properties"]
        parent = props["ParentId"]
        prefix = path(parent["Ref"]) if "Ref" in parent else ""
        return f"{prefix}/{props['PathPart']}"

    return {name: path(name) for name, r in resources.items() if r["Type"] == "AWS::ApiGateway::Resource"}


def _limits(template: dict, api: str, path: str, http_method: str) -> tuple[float, int]:
    """The rate and burst the API's stage applies to one method: its own setting, else the stage's."""
    (stage,) = [
        r["Properties"] for r in template["Resources"].values()
        if r["Type"] == "AWS::ApiGateway::Stage" and r["Properties"]["RestApiId"] == {"Ref": api}
    ]
    settings = {(s["ResourcePath"], s["HttpMethod"]): s for s in stage["MethodSettings"]}
    setting = settings.get(("/" + path.replace("/", "~1"), http_method), settings[("/*", "*")])
    return setting["ThrottlingRateLimit"], setting["ThrottlingBurstLimit"]


def _assert_no_method_admits_more_than_its_function_runs(template: dict) -> int:
    resources = template["Resources"]
    checked = 0
    for function, methods in _methods_by_function(template).items():
        environments = resources[function]["Properties"]["ReservedConcurrentExecutions"]
        for api, path, http_method in methods:
            rate, burst = _limits(template, api, path, http_method)
            # In flight at most: the bucket's burst at once, then its refill while each holds an environment.
            assert burst + rate * REQUEST_SECONDS <= environments, (
                f"{http_method} {path}: {burst} + {rate}/s x {REQUEST_SECONDS} s > {environments} environments"
            )
            assert burst >= 1 and rate > 0, f"{http_method} {path} admits nothing"
            checked += 1
    return checked


def test_no_method_of_the_sample_app_admits_more_requests_a_second_than_its_function_has_environments(sample_template):
    assert _assert_no_method_admits_more_than_its_function_runs(sample_template) == 7


def test_the_gateways_429_says_when_to_retry_in_the_handlers_json(sample_template):
    (throttled,) = [
        r["Properties"]
        for r in sample_template["Resources"].values()
        if r["Type"] == "AWS::ApiGateway::GatewayResponse" and r["Properties"]["ResponseType"] == "THROTTLED"
    ]
    assert throttled["StatusCode"] == "429"
    assert throttled["ResponseParameters"]["gatewayresponse.header.Retry-After"] == "'1'"
    assert json.loads(throttled["ResponseTemplates"]["application/json"]) == {"message": "Too Many Requests"}


@pytest.fixture(scope="module")
def sized() -> dict:
    """One service sized up, one with an operation throttled below the default, one with a low stage limit."""

    def build(stack):
        big = ServerlessCrudApi(stack, "Big", resource_name="big", reserved_concurrency=200)
        ServerlessCrudApi(
            stack, "Slow", resource_name="slow", table=big.table, user_pool=big.user_pool,
            throttling=apigateway.ThrottleSettings(rate_limit=3, burst_limit=4),
            operation_throttling={"create": apigateway.ThrottleSettings(rate_limit=1, burst_limit=2)},
        )

    return synthesize(build).to_json()


def test_limits_follow_each_functions_reserved_concurrency_and_never_exceed_what_is_asked(sized):
    assert _assert_no_method_admits_more_than_its_function_runs(sized) == 10
    methods = {
        (path, method): _limits(sized, api, path, method)
        for methods in _methods_by_function(sized).values()
        for api, path, method in methods
    }
    assert methods[("/big", "POST")] == (50, 100), "a burst of half of 200 environments; the stage's 50/s caps the rate"
    assert methods[("/slow/{id}", "GET")] == (3, 4), "the stage's own lower limits hold"
    assert methods[("/slow", "POST")] == (1, 2), "and an operation's"


def test_an_operation_throttled_beyond_its_functions_environments_fails_synthesis():
    def build(stack):
        ServerlessCrudApi(
            stack, "Orders", resource_name="orders", reserved_concurrency=10,
            operation_throttling={"get": apigateway.ThrottleSettings(rate_limit=20, burst_limit=9)},
        )

    with pytest.raises(InvalidPropError, match=r"operation_throttling.*reserved_concurrency \(10\).*0.1 s.*500"):
        synthesize(build)
