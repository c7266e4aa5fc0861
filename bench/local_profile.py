"""Where the time of one local-mode request goes: HTTP, token, hand-off to the worker, handler, DynamoDB.

One client, warm environments, the bench app of local_mode.py (GET of one item). Each part is
measured on its own, medians of many repetitions:
- HTTP: a request that local mode answers before any token or function (`GET /`, a 403),
  on a new connection per request and on a kept-alive one;
- token: verifying the Cognito ID token, as the gateway does for every request: a token's first use
  (its signature and claims) and a later one (its expiry only);
- DynamoDB: the handler's one GetItem through boto3 to the embedded DynamoDB (moto's server in
  its child process), and the same call against moto in-process, as Chalice's bench app makes it;
- handler: the function's handler called in this process with the request's event (DynamoDB included);
- invocation: `LocalFunctions.invoke` of the same event in the function's warm environment,
  so that invocation minus handler is the hand-off to the worker and back;
- the whole request over HTTP, for comparison with the sum.

Run: .venv/bin/python bench/local_profile.py [repetitions]
"""

from __future__ import annotations

import http.client
import importlib
import json
import os
import statistics
import sys
import tempfile
import time
import uuid
from collections.abc import Callable
from pathlib import Path

import boto3

sys.path.insert(0, str(Path(__file__).resolve().parent))
import local_mode  # noqa: E402 - the bench app and its helpers

from serverless_meta.local import assembly  # noqa: E402
from serverless_meta.local.aws import EmbeddedAws  # noqa: E402
from serverless_meta.local.cognito import LocalUserPools  # noqa: E402
from serverless_meta.local.dynamodb import LocalDynamoDB  # noqa: E402
from serverless_meta.local.events import rest_proxy_event  # noqa: E402
from serverless_meta.local.functions import LocalFunctions, Runner  # noqa: E402


def median_ms(action: Callable[[], object], repetitions: int) -> float:
    action()
    timings = []
    for _ in range(repetitions):
        started = time.perf_counter()
        action()
        timings.append(time.perf_counter() - started)
    return statistics.median(timings) * 1000


def main() -> None:
    repetitions = int(sys.argv[1]) if len(sys.argv) > 1 else 300
    with tempfile.TemporaryDirectory() as scratch:
        scratch = Path(scratch)
        app_dir = scratch / "bench-app"
        app_dir.mkdir()
        (app_dir / "app.py").write_text(local_mode.BENCH_APP)
        (app_dir / "cdk.json").write_text(json.dumps({"app": f"{sys.executable} app.py"}))
        process, port, _ = local_mode.start_local(app_dir, scratch / "state")
        try:
            report(port, assembly.load(scratch / "state" / "cdk.out"), scratch / "state", repetitions)
        finally:
            local_mode.stop(process)


def report(port: int, app, state_dir: Path, repetitions: int) -> None:
    """HTTP against the server process; token, handler and invocation in this one, on a DynamoDB of its own."""
    pools = LocalUserPools(app.user_pools, state_dir)
    (pool,) = pools.pools
    token = pools.issue_id_token(pool, "bench")
    claims = pools.verify(token, (pool,))
    headers = {"Authorization": token, "Content-Type": "application/json"}
    connection = http.client.HTTPConnection("127.0.0.1", port)
    connection.request("POST", "/prod/metadata", body='{"page": "home"}', headers=headers)
    item = json.loads(connection.getresponse().read())["id"]
    kept = http.client.HTTPConnection("127.0.0.1", port)

    def http_request(path: str, keep: http.client.HTTPConnection | None, request_headers: dict, expected: int) -> None:
        conn = keep or http.client.HTTPConnection("127.0.0.1", port)
        conn.request("GET", path, headers=request_headers)
        response = conn.getresponse()
        response.read()
        if keep is None:
            conn.close()
        if response.status != expected:  # a 429 is the throttle's time, not the request's
            raise SystemExit(f"GET {path} answered {response.status}, not {expected}")

    figures = {
        "HTTP only, new connection (GET /, a 403)": median_ms(lambda: http_request("/", None, {}, 403), repetitions),
        "HTTP only, kept-alive connection": median_ms(lambda: http_request("/", kept, {}, 403), repetitions),
        "whole request, new connection": median_ms(
            lambda: http_request(f"/prod/metadata/{item}", None, headers, 200), repetitions),
        "whole request, kept-alive connection": median_ms(
            lambda: http_request(f"/prod/metadata/{item}", kept, headers, 200), repetitions),
        "token verification, a token's first use (RS256 signature and claims)": _first_uses(pools, pool, repetitions),
        "token verification, a token used again (its expiry)": median_ms(lambda: pools.verify(token, (pool,)), repetitions),
    }

    embedded = EmbeddedAws()
    try:
        dynamodb = LocalDynamoDB(embedded.endpoint)
        dynamodb.create_tables(app.tables)
        figures.update(in_process(app, dynamodb, claims, headers, repetitions))
    finally:
        embedded.stop()
    print(f"One GET of one item, median of {repetitions}, ms:")
    for name, value in figures.items():
        print(f"  {name:62s} {value:6.2f}")
    handoff = figures["invocation in the warm environment"] - figures["handler in-process (its GetItem included)"]
    print(f"  {'=> hand-off to the worker and back (invocation - handler)':62s} {handoff:6.2f}")


def _first_uses(pools: LocalUserPools, pool: str, repetitions: int) -> float:
    """Median ms to verify a token never verified before (the tokens are issued outside the timing)."""
    tokens = iter([pools.issue_id_token(pool, "bench") for _ in range(repetitions + 1)])
    return median_ms(lambda: pools.verify(next(tokens), (pool,)), repetitions)


def in_process(app, dynamodb: LocalDynamoDB, claims: dict, headers: dict, repetitions: int) -> dict[str, float]:
    get_key = next(key for key, function in app.functions.items() if function.name.endswith("/GetFunction"))
    function = app.functions[get_key]
    table = app.tables[0]
    item = str(uuid.uuid4())
    key = {"pk": {"S": claims["sub"]}, "sk": {"S": f"metadata#{item}"}}
    now = {"S": "2026-01-01T00:00:00.000Z"}
    client = boto3.client("dynamodb", endpoint_url=dynamodb.endpoint, region_name=table.region,
                          aws_access_key_id="local", aws_secret_access_key="local")
    # As the handler stores an item (crud_api/items.py): the client's attributes under "data".
    client.put_item(TableName=table.name, Item={**key, "id": {"S": item}, "data": {"M": {"page": {"S": "home"}}},
                                                "createdAt": now, "updatedAt": now, "version": {"N": "1"}})
    event = rest_proxy_event(
        method="GET", path=f"/metadata/{item}", resource="/metadata/{id}", stage="prod",
        path_parameters={"id": item}, headers=list(headers.items()), claims=claims,
    )
    extra = {**dynamodb.environment, "POWERTOOLS_TRACE_DISABLED": "true", "POWERTOOLS_METRICS_DISABLED": "true"}
    functions = LocalFunctions(app.functions, {get_key: Runner(sys.executable, "bench")}, extra)
    # The same handler in this process, with the function's environment, against the same DynamoDB.
    os.environ.update({**function.environment, **extra, "AWS_REGION": function.region,
                       "AWS_DEFAULT_REGION": function.region, "AWS_LAMBDA_FUNCTION_NAME": "bench"})
    sys.path.insert(0, str(function.code_dir))
    module_name, _, attribute = function.handler.rpartition(".")
    handler = getattr(importlib.import_module(module_name), attribute)
    # What is timed must be the item's answer, not an error's.
    answer = handler(dict(event), _Context())
    if answer["statusCode"] != 200:
        raise SystemExit(f"The handler answered {answer['statusCode']} {answer['body']}, not the item")
    try:
        figures = {
            "DynamoDB GetItem, boto3 to the embedded server": median_ms(
                lambda: client.get_item(TableName=table.name, Key=key), repetitions),
            "handler in-process (its GetItem included)": median_ms(lambda: handler(dict(event), _Context()), repetitions),
            "invocation in the warm environment": median_ms(lambda: functions.invoke(get_key, event), repetitions),
        }
    finally:
        functions.stop()
    from moto import mock_aws

    with mock_aws():
        local = boto3.client("dynamodb", region_name=table.region)
        local.create_table(TableName="t", KeySchema=table.key_schema, AttributeDefinitions=table.attribute_definitions,
                           BillingMode="PAY_PER_REQUEST")
        local.put_item(TableName="t", Item={**key, "page": {"S": "home"}})
        figures["DynamoDB GetItem, boto3 to moto in-process (Chalice's way)"] = median_ms(
            lambda: local.get_item(TableName="t", Key=key), repetitions)
    return figures


class _Context:
    function_name = "bench"
    memory_limit_in_mb = 128
    invoked_function_arn = "arn:aws:lambda:us-east-1:000000000000:function:bench"
    aws_request_id = "bench"

    @staticmethod
    def get_remaining_time_in_millis() -> int:
        return 3000


if __name__ == "__main__":
    main()
