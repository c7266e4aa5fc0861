"""The pieces of local mode on their own: template reading, routing, throttling, tokens, events."""

from __future__ import annotations

import json
import re
import threading
import time
from pathlib import Path

import jwt
import pytest

from serverless_meta.local import assembly
from serverless_meta.local.cognito import InvalidToken, LocalUserPools
from serverless_meta.local.events import rest_proxy_event
from serverless_meta.local.gateway import _match_resource
from serverless_meta.local.model import UserPool
from serverless_meta.local.template import read_app
from serverless_meta.local.throttle import TokenBucket
from tests.local.support import template_of

CAPTURED_EVENT = json.loads((Path(__file__).parents[1] / "events" / "api_gateway_rest_proxy.json").read_text())


@pytest.fixture(scope="module")
def app(sample_template, tmp_path_factory):
    return read_app({"ServerlessMeta": (sample_template, "eu-west-1")}, tmp_path_factory.mktemp("assembly"))


def test_reads_both_apis_routes_functions_and_authorizers(app):
    resources = {path: sorted(methods) for api in app.apis for path, methods in api.resources.items()}
    assert resources == {
        "/metadata": ["ANY", "GET", "POST"],
        "/metadata/{id}": ["ANY", "DELETE", "GET", "PUT"],
        "/feedback": ["ANY", "GET", "POST"],
    }
    (pool,) = app.user_pools
    for api in app.apis:
        for methods in api.resources.values():
            for method in methods.values():
                assert method.authorization_type == "COGNITO_USER_POOLS" and method.authorizer.pools == (pool,)
                assert (method.function in app.functions) == (method.integration_type == "AWS_PROXY")


def test_reads_the_stage_throttle_and_the_custom_404(app):
    for api in app.apis:
        assert api.stages["prod"][("*", "*")] == (50.0, 100)
        assert api.gateway_responses["MISSING_AUTHENTICATION_TOKEN"].status == 404


def test_reads_each_methods_own_throttle_under_its_resource_path(app):
    """The stage encodes a method's path as "/" and the path with each "/" as "~1": "/~1metadata~1{id}"."""
    (metadata,) = [api for api in app.apis if "/metadata" in api.resources]
    limits = metadata.stages["prod"]
    assert limits[("/metadata/{id}", "PUT")] == (50.0, 10)
    assert limits[("/feedback", "POST")] == (50.0, 10)


def test_the_embedded_dynamodb_applies_each_conditional_write_alone():
    """Twenty writers racing on one version: DynamoDB lets exactly one win, and so must local mode."""
    from concurrent.futures import ThreadPoolExecutor

    from botocore.exceptions import ClientError

    from serverless_meta.local.aws import EmbeddedAws, local_client

    aws = EmbeddedAws()
    try:
        client = local_client("dynamodb", aws.endpoint, "eu-west-1")
        client.create_table(
            TableName="race", BillingMode="PAY_PER_REQUEST",
            KeySchema=[{"AttributeName": "pk", "KeyType": "HASH"}],
            AttributeDefinitions=[{"AttributeName": "pk", "AttributeType": "S"}, {"AttributeName": "g", "AttributeType": "S"}],
            GlobalSecondaryIndexes=[
                {"IndexName": "byg", "KeySchema": [{"AttributeName": "g", "KeyType": "HASH"}], "Projection": {"ProjectionType": "ALL"}}
            ],
            StreamSpecification={"StreamEnabled": True, "StreamViewType": "NEW_AND_OLD_IMAGES"},
        )
        client.put_item(TableName="race", Item={"pk": {"S": "item"}, "g": {"S": "x"}, "version": {"N": "1"}})
        writers = [local_client("dynamodb", aws.endpoint, "eu-west-1") for _ in range(20)]
        start = threading.Barrier(len(writers))

        def write(n: int, version: int) -> bool:
            start.wait()
            try:
                writers[n].update_item(
                    TableName="race", Key={"pk": {"S": "item"}},
                    UpdateExpression="SET version = version + :one, writer = :n, g = :g",
                    ConditionExpression="attribute_exists(pk) AND (version IN (:read))",
                    ExpressionAttributeValues={
                        ":read": {"N": str(version)}, ":one": {"N": "1"}, ":n": {"N": str(n)}, ":g": {"S": "y" * 2000}
                    },
                    ReturnValues="ALL_NEW", ReturnValuesOnConditionCheckFailure="ALL_OLD",
                )
                return True
            except ClientError as error:
                assert error.response["Error"]["Code"] == "ConditionalCheckFailedException"
                return False

        # Without the lock, two writers win one round in ten or so: twenty rounds show it.
        for version in range(1, 21):
            with ThreadPoolExecutor(max_workers=len(writers)) as threads:
                won = list(threads.map(write, range(len(writers)), [version] * len(writers)))
            assert won.count(True) == 1, f"round {version}"
    finally:
        aws.stop()


def test_the_embedded_dynamodb_answers_byte_for_byte_as_moto_with_member_names_remembered(monkeypatch):
    """The embedded services' process remembers the names moto looks output members up under
    (aws._remember_member_aliases): every answer, items of every attribute type, pages, tables,
    failed conditions and errors among them, is the same as moto's own, the first time and after."""
    import boto3
    from botocore.exceptions import ClientError
    from moto import mock_aws
    from moto.core import responses

    from serverless_meta.local.aws import _remember_member_aliases

    motos = responses.XFormedAttributePicker
    monkeypatch.setattr(responses, "XFormedAttributePicker", motos)  # put back after the test
    _remember_member_aliases()
    remembering = responses.XFormedAttributePicker
    bodies: list[bytes] = []
    with mock_aws():
        dynamodb = boto3.client("dynamodb", region_name="eu-west-1")
        sqs = boto3.client("sqs", region_name="eu-west-1")
        for client in (dynamodb, sqs):
            client.meta.events.register("before-parse", lambda response_dict, **_: bodies.append(response_dict["body"]))
        dynamodb.create_table(
            TableName="t", BillingMode="PAY_PER_REQUEST",
            KeySchema=[{"AttributeName": "pk", "KeyType": "HASH"}, {"AttributeName": "sk", "KeyType": "RANGE"}],
            AttributeDefinitions=[{"AttributeName": n, "AttributeType": "S"} for n in ("pk", "sk", "g")],
            GlobalSecondaryIndexes=[
                {"IndexName": "byg", "KeySchema": [{"AttributeName": "g", "KeyType": "HASH"}], "Projection": {"ProjectionType": "ALL"}}
            ],
            StreamSpecification={"StreamEnabled": True, "StreamViewType": "NEW_AND_OLD_IMAGES"},
        )
        every_type = {
            "s": {"S": "text"}, "n": {"N": "1.5"}, "b": {"B": b"\x00\xff"}, "ss": {"SS": ["a", "b"]}, "ns": {"NS": ["1", "2"]},
            "bs": {"BS": [b"\x01"]}, "m": {"M": {"page": {"S": "home"}, "deep": {"L": [{"N": "3"}]}}},
            "l": {"L": [{"S": "x"}, {"BOOL": True}]}, "bool": {"BOOL": False}, "null": {"NULL": True}, "g": {"S": "x"},
        }
        for n in range(3):
            dynamodb.put_item(TableName="t", Item={"pk": {"S": "p"}, "sk": {"S": f"s{n}"}, **every_type})
        queue = sqs.create_queue(QueueName="q.fifo", Attributes={"FifoQueue": "true"})["QueueUrl"]
        key = {"pk": {"S": "p"}, "sk": {"S": "s0"}}
        calls = {
            "GetItem": lambda: dynamodb.get_item(TableName="t", Key=key, ReturnConsumedCapacity="TOTAL"),
            "Query, a page": lambda: dynamodb.query(
                TableName="t", KeyConditionExpression="pk = :p", ExpressionAttributeValues={":p": {"S": "p"}}, Limit=2
            ),
            "Query of the index": lambda: dynamodb.query(
                TableName="t", IndexName="byg", KeyConditionExpression="g = :g", ExpressionAttributeValues={":g": {"S": "x"}}
            ),
            "Scan": lambda: dynamodb.scan(TableName="t"),
            "BatchGetItem": lambda: dynamodb.batch_get_item(RequestItems={"t": {"Keys": [key]}}),
            "UpdateItem, ALL_NEW": lambda: dynamodb.update_item(
                TableName="t", Key=key, UpdateExpression="SET s = :s", ExpressionAttributeValues={":s": {"S": "text"}},
                ReturnValues="ALL_NEW",
            ),
            "a failed condition, ALL_OLD": lambda: dynamodb.put_item(
                TableName="t", Item=key, ConditionExpression="attribute_not_exists(pk)",
                ReturnValuesOnConditionCheckFailure="ALL_OLD",
            ),
            "a cancelled transaction": lambda: dynamodb.transact_write_items(TransactItems=[
                {"Put": {"TableName": "t", "Item": key, "ConditionExpression": "attribute_not_exists(pk)",
                         "ReturnValuesOnConditionCheckFailure": "ALL_OLD"}},
            ]),
            "DescribeTable": lambda: dynamodb.describe_table(TableName="t"),
            "ListTables": lambda: dynamodb.list_tables(),
            "an unknown table": lambda: dynamodb.get_item(TableName="none", Key=key),
            "SQS GetQueueAttributes": lambda: sqs.get_queue_attributes(QueueUrl=queue, AttributeNames=["All"]),
        }
        for name, call in calls.items():
            answers = []
            for picker in (motos, remembering, remembering):  # moto's, then remembering, then remembered
                responses.XFormedAttributePicker = picker
                try:
                    call()
                except ClientError:
                    pass
                answers.append(bodies[-1])
            assert answers[1] == answers[0] and answers[2] == answers[0], name


def test_reads_tables_and_resolves_references_in_function_environments(app):
    (table,) = app.tables
    assert [k["AttributeName"] for k in table.key_schema] == ["pk", "sk"]
    assert table.region == "eu-west-1"
    handlers = [function.handler for function in app.functions.values()]
    for function in app.functions.values():
        assert function.environment["TABLE_NAME"] == table.name
    assert handlers.count("crud_api.app.lambda_handler") == 7 and handlers.count("crud_worker.runtime.handler") == 1
    assert table.stream_view_type == "NEW_AND_OLD_IMAGES"


@pytest.fixture(scope="module")
def assembled(sample_assembly):
    """The sample app as local mode reads its cloud assembly: with the assets' directories."""
    return assembly.load(Path(sample_assembly.directory))


def _queue(app, name: str):
    (queue,) = [queue for key, queue in app.queues.items() if re.fullmatch(rf".*/Feedback{name}[0-9A-F]{{8}}", key)]
    return queue


def test_reads_the_workers_queues_with_their_fifo_order_visibility_and_redrive(assembled):
    work, dead_letters = _queue(assembled, "WorkerQueue"), _queue(assembled, "WorkerDeadLetterQueue")

    assert work.fifo and dead_letters.fifo and work.name.endswith(".fifo") and len(work.name) <= 80
    assert (work.visibility_timeout, work.max_receive_count) == (180, 5)
    assert work.dead_letter_queue == dead_letters.key and dead_letters.dead_letter_queue is None


def test_reads_the_pipe_from_the_tables_stream_to_the_queue_with_its_filters_and_fifo_ids(assembled):
    (pipe,) = assembled.pipes
    (table,) = assembled.tables
    work = _queue(assembled, "WorkerQueue")

    assert (pipe.table, pipe.queue, pipe.starting_position, pipe.running) == (table.name, work.key, "TRIM_HORIZON", True)
    assert len(pipe.filters) == 3 and all('"prefix":"feedback#"' in pattern for pattern in pipe.filters)
    assert (pipe.message_group_id, pipe.message_deduplication_id) == ("$.dynamodb.Keys.sk.S", "$.eventID")


def test_reads_the_event_source_mapping_from_the_queue_to_the_worker(assembled):
    (mapping,) = assembled.event_source_mappings
    worker = assembled.functions[mapping.function]

    assert worker.handler == "crud_worker.runtime.handler" and mapping.queue == _queue(assembled, "WorkerQueue").key
    assert (mapping.batch_size, mapping.report_batch_item_failures, mapping.enabled) == (10, True, True)


def test_a_layer_whose_content_is_an_asset_is_on_the_functions_path_as_opt_python_is(assembled):
    worker = next(f for f in assembled.functions.values() if f.handler == "crud_worker.runtime.handler")
    api_functions = [f for f in assembled.functions.values() if f.handler != "crud_worker.runtime.handler"]

    (layer,) = worker.layer_dirs
    assert (layer / "crud_worker" / "runtime.py").is_file(), "the runtime layer's python/ directory"
    assert worker.watched_dirs == (worker.code_dir, layer), "an edit of the layer is new code too"
    assert all(f.layer_dirs == () for f in api_functions), "the AWS-published Powertools layer is no asset"


def test_user_pool_has_its_app_client_as_audience(app):
    (pool,) = app.user_pools.values()
    assert len(pool.client_ids) == 1 and pool.issuer.startswith("https://cognito-idp.eu-west-1.amazonaws.com/eu-west-1_")


@pytest.mark.parametrize(
    ("resource", "path", "expected"),
    [
        ("/metadata", "metadata", {}),
        ("/metadata/{id}", "metadata/42", {"id": "42"}),
        ("/metadata/{id}", "metadata", None),
        ("/metadata/{id}", "metadata/42/x", None),
        ("/{proxy+}", "a/b/c", {"proxy": "a/b/c"}),
        ("/{proxy+}", "", None),
        ("/", "", {}),
    ],
)
def test_resources_match_paths_as_api_gateway_does(resource, path, expected):
    matched = _match_resource(resource, [s for s in path.split("/") if s])
    assert (matched[1] if matched else None) == expected


def test_a_literal_segment_beats_a_parameter():
    literal = _match_resource("/items/latest", ["items", "latest"])
    parameter = _match_resource("/items/{id}", ["items", "latest"])
    assert literal[0] > parameter[0]


def test_token_bucket_serves_the_burst_then_the_rate():
    now = [0.0]
    bucket = TokenBucket(rate=2, burst=3, clock=lambda: now[0])

    burst = [bucket.take() for _ in range(4)]
    now[0] += 0.5
    after_half_a_second = [bucket.take() for _ in range(2)]
    now[0] += 10
    after_a_long_pause = [bucket.take() for _ in range(4)]

    assert burst == [True, True, True, False]
    assert after_half_a_second == [True, False]
    assert after_a_long_pause == [True, True, True, False], "never more than the burst"


@pytest.fixture
def pools(tmp_path) -> tuple[LocalUserPools, str]:
    pool = UserPool(
        key="Stack/Pool", path="Stack/Service/UserPool", pool_id="eu-west-1_Local", region="eu-west-1",
        client_ids=("client-a",),
    )
    return LocalUserPools({pool.key: pool}, tmp_path), pool.key


def test_a_valid_id_token_yields_string_claims_as_api_gateway_passes_them(pools):
    local, key = pools
    claims = local.verify(local.issue_id_token(key, "alice"), (key,))

    assert claims["cognito:username"] == "alice" and claims["token_use"] == "id" and claims["aud"] == "client-a"
    assert claims["email_verified"] == "true" and claims["auth_time"].isdigit()
    assert claims["exp"].endswith(" UTC " + claims["exp"][-4:]), "exp as API Gateway renders it"
    assert all(isinstance(value, str) for value in claims.values())


def test_a_user_keeps_their_sub_across_tokens_and_processes(pools, tmp_path):
    local, key = pools
    first = local.verify(local.issue_id_token(key, "alice"), (key,))["sub"]
    again = LocalUserPools(local.pools, tmp_path)
    assert again.verify(again.issue_id_token(key, "alice"), (key,))["sub"] == first
    assert again.verify(local.issue_id_token(key, "bob"), (key,))["sub"] != first


@pytest.mark.parametrize("problem", ["other client", "access token", "other issuer", "not accepted here", "no kid"])
def test_tokens_api_gateway_would_refuse_are_refused(pools, problem):
    local, key = pools
    keys = local._pools[key]
    claims = jwt.decode(local.issue_id_token(key, "eve"), options={"verify_signature": False})
    headers = {"kid": keys.key_id}
    accepted = (key,)
    if problem == "other client":
        claims["aud"] = "client-b"
    elif problem == "access token":
        claims["token_use"] = "access"
    elif problem == "other issuer":
        claims["iss"] = "https://cognito-idp.eu-west-1.amazonaws.com/eu-west-1_Other"
    elif problem == "not accepted here":
        accepted = ("Stack/OtherPool",)
    else:
        headers = {}
    token = jwt.encode(claims, keys.private_key, algorithm="RS256", headers=headers)

    with pytest.raises(InvalidToken):
        local.verify(token, accepted)


def test_a_token_is_checked_once_then_only_for_its_expiry_at_each_use(pools, monkeypatch):
    local, key = pools
    decode = jwt.decode
    decoded = []
    monkeypatch.setattr(jwt, "decode", lambda *args, **kwargs: decoded.append(1) or decode(*args, **kwargs))
    token = local.issue_id_token(key, "alice", lifetime=60)

    first = local.verify(token, (key,))
    uses = [local.verify(token, (key,)) for _ in range(3)]
    with pytest.raises(InvalidToken):
        local.verify(token, ("Stack/OtherPool",))
    issued_at = time.time()
    monkeypatch.setattr(time, "time", lambda: issued_at + 61)
    with pytest.raises(InvalidToken, match="Signature has expired"):
        local.verify(token, (key,))

    assert uses == [first] * 3 and len(decoded) == 1, "one signature check for four uses"


def _shape(value):
    """Keys all the way down: the structure of an event, not its values."""
    if isinstance(value, dict):
        return {key: _shape(child) for key, child in value.items()}
    return type(value).__name__ if value is not None else None


def test_local_events_have_the_shape_of_api_gateways():
    event = rest_proxy_event(
        method="GET",
        path="/metadata/0b9d2ed1-3c4f-4b8e-9f41-7a2d6f1e5c3a",
        resource="/metadata/{id}",
        stage="prod",
        path_parameters={"id": "0b9d2ed1-3c4f-4b8e-9f41-7a2d6f1e5c3a"},
        headers=[(k, v) for k, v in CAPTURED_EVENT["headers"].items()],
        claims=CAPTURED_EVENT["requestContext"]["authorizer"]["claims"],
        domain_name=CAPTURED_EVENT["requestContext"]["domainName"],
    )
    captured = CAPTURED_EVENT

    assert set(event) == set(captured)
    assert set(event["requestContext"]) == set(captured["requestContext"])
    assert set(event["requestContext"]["identity"]) == set(captured["requestContext"]["identity"])
    assert event["requestContext"]["path"] == captured["requestContext"]["path"]
    assert event["multiValueHeaders"] == captured["multiValueHeaders"]


def test_cors_preflight_with_several_origins_echoes_the_matching_one(tmp_path):
    from serverless_meta import ServerlessCrudApi
    from serverless_meta.local.gateway import HttpRequest, LocalGateway

    origins = ["https://a.example", "https://b.example"]
    template = template_of(lambda stack: ServerlessCrudApi(stack, "Cors", resource_name="items", cors_allow_origins=origins))
    app = read_app({"TestStack": (template, "eu-west-1")}, tmp_path)
    gateway = LocalGateway(app.apis, {}, {}, LocalUserPools(app.user_pools, tmp_path))

    def preflight(origin: str) -> dict[str, str]:
        request = HttpRequest("OPTIONS", "/prod/items", [("Origin", origin), ("Access-Control-Request-Method", "POST")], b"")
        response = gateway.handle(request)
        assert response.status == 204
        return dict(response.headers)

    assert preflight("https://a.example")["Access-Control-Allow-Origin"] == "https://a.example"
    assert preflight("https://b.example")["Access-Control-Allow-Origin"] == "https://b.example"
    assert preflight("https://evil.example")["Access-Control-Allow-Origin"] == "https://a.example"


def test_a_method_that_requires_an_api_key_is_403_without_one(tmp_path):
    from aws_cdk import aws_apigateway as apigateway

    from serverless_meta import ServerlessCrudApi
    from serverless_meta.local.gateway import HttpRequest, LocalGateway

    template = template_of(
        lambda stack: ServerlessCrudApi(stack, "Keys", resource_name="items", usage_plan=apigateway.UsagePlanProps())
    )
    app = read_app({"TestStack": (template, "eu-west-1")}, tmp_path)
    pools = LocalUserPools(app.user_pools, tmp_path)
    gateway = LocalGateway(app.apis, {}, {}, pools)
    (pool,) = pools.pools
    token = pools.issue_id_token(pool, "robot")

    def patch(*headers: tuple[str, str]) -> int:
        return gateway.handle(HttpRequest("PATCH", "/prod/items", [("Authorization", token), *headers], b"")).status

    assert patch() == 403, "no key"
    assert patch(("x-api-key", "any-key-of-the-usage-plan")) == 405, "a key: on to the method (here the 405 mock)"


def test_token_picks_one_of_several_pools_by_construct_path(tmp_path, capsys):
    import aws_cdk as cdk

    from serverless_meta import ServerlessCrudApi
    from serverless_meta.local.cli import main

    # Path metadata, as `cdk synth` and local mode's own synthesis write it.
    app = cdk.App(outdir=str(tmp_path / "cdk.out"), context={"aws:cdk:enable-path-metadata": True})
    stack = cdk.Stack(app, "Two")
    ServerlessCrudApi(stack, "Metadata", resource_name="metadata")
    ServerlessCrudApi(stack, "Feedback", resource_name="feedback")
    app.synth()
    common = ["--cdk-out", str(tmp_path / "cdk.out"), "--state-dir", str(tmp_path / "state")]

    ambiguous = main(["token", "--user", "alice", *common])
    ambiguity = capsys.readouterr().err
    chosen = main(["token", "--user", "alice", "--pool", "Feedback/UserPool", *common])
    printed = capsys.readouterr().out

    assert ambiguous == 2 and "pick one with --pool" in ambiguity and "Two/Feedback/UserPool" in ambiguity
    assert chosen == 0
    claims = jwt.decode(printed.strip(), options={"verify_signature": False})
    assert claims["cognito:username"] == "alice" and claims["token_use"] == "id"
