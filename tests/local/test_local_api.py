"""Local mode serving the sample app: real HTTP to the real server, as a developer uses it."""

from __future__ import annotations

import json
import re
import subprocess
import sys
import threading
import time
import uuid
from concurrent.futures import ThreadPoolExecutor

import pytest

from serverless_meta.local import assembly
from serverless_meta.local.cognito import LocalUserPools
from tests.handlers.support import BAD_BODIES

# New ids are UUIDv7 (time-ordered); RFC 9562 variant.
UUID = re.compile(r"^[0-9a-f]{8}-[0-9a-f]{4}-7[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$")


@pytest.fixture
def alice(token_for) -> str:
    return token_for(f"alice-{uuid.uuid4().hex[:8]}")


@pytest.fixture
def bob(token_for) -> str:
    return token_for(f"bob-{uuid.uuid4().hex[:8]}")


def _last_access_line(server, method: str, path: str) -> str:
    lines = [line for line in server.log().splitlines() if line.startswith(f"{method} {path} ")]
    return lines[-1]


def test_metadata_crud_round_trip(local_server, alice):
    created = local_server.request("POST", "/prod/metadata", token=alice, json_body={"page": "home", "theme": "dark"})
    assert created.status == 201
    item = created.json
    assert UUID.match(item["id"]) and item["page"] == "home" and item["theme"] == "dark"
    assert created.headers["Location"] == f"/prod/metadata/{item['id']}"
    assert created.headers["Content-Type"] == "application/json"
    path = f"/prod/metadata/{item['id']}"

    fetched = local_server.request("GET", path, token=alice)
    listed = local_server.request("GET", "/prod/metadata", token=alice)
    updated = local_server.request("PUT", path, token=alice, json_body={"page": "about"})
    deleted = local_server.request("DELETE", path, token=alice)
    gone = local_server.request("GET", path, token=alice)

    assert (fetched.status, fetched.json) == (200, item)
    assert listed.status == 200 and {**item, "etag": '"1"'} in listed.json["items"], "the shared collection holds it"
    assert updated.status == 200 and updated.json["page"] == "about" and "theme" not in updated.json
    assert updated.json["createdAt"] == item["createdAt"]
    assert (deleted.status, deleted.body) == (204, b"")
    assert (gone.status, gone.json) == (404, {"message": f"metadata {item['id']} not found"})


def test_list_pages_through_http(local_server, alice):
    for n in range(3):
        local_server.request("POST", "/prod/feedback", token=alice, json_body={"feedback": f"note {n}"})

    first = local_server.request("GET", "/prod/feedback?limit=2", token=alice).json
    second = local_server.request("GET", f"/prod/feedback?limit=2&next={first['next']}", token=alice).json

    assert len(first["items"]) == 2 and len(second["items"]) == 1 and second["next"] is None
    assert {i["feedback"] for i in first["items"] + second["items"]} == {"note 0", "note 1", "note 2"}


def test_feedback_create_and_list(local_server, alice):
    created = local_server.request("POST", "/prod/feedback", token=alice, json_body={"feedback": "Love the grid"})
    listed = local_server.request("GET", "/prod/feedback", token=alice)

    assert created.status == 201
    assert UUID.match(created.json["feedbackId"]) and isinstance(created.json["timestamp"], int)
    (item,) = listed.json["items"]
    # Feedback's worker may have given it a sentiment and a topic already (test_local_worker.py).
    assert {name: item[name] for name in created.json if name != "updatedAt"} == {
        name: value for name, value in created.json.items() if name != "updatedAt"
    }
    assert listed.json["next"] is None


@pytest.mark.parametrize("body", [{}, {"feedback": ""}, {"feedback": 3}, {"feedback": "ok", "extra": 1}])
def test_a_feedback_body_its_schema_refuses_is_the_gateways_400_and_no_function_runs(local_server, alice, body):
    before = local_server.log().count("ServerlessMeta/Feedback/CreateFunction")
    reply = local_server.request("POST", "/prod/feedback", token=alice, json_body=body)

    assert (reply.status, reply.json) == (400, {"message": "Invalid request body"})
    assert _last_access_line(local_server, "POST", "/prod/feedback").split()[2] == "400"
    assert local_server.log().count("ServerlessMeta/Feedback/CreateFunction") == before, "the model refused it first"


def test_one_users_feedback_is_theirs_and_staffs_only(local_server, alice, bob, token_for):
    """The sample's Feedback is owner-scoped: each user lists their own; staff (read_all_groups) list everybody's."""
    mine = local_server.request("POST", "/prod/feedback", token=alice, json_body={"feedback": "private thoughts"}).json
    staff = token_for(f"staff-{uuid.uuid4().hex[:8]}", groups=["staff"])

    by_bob = local_server.request("GET", "/prod/feedback?limit=100", token=bob).json["items"]
    by_staff = []
    cursor = ""
    while cursor is not None:
        page = local_server.request("GET", f"/prod/feedback?limit=100{cursor and f'&next={cursor}'}", token=staff).json
        by_staff += page["items"]
        cursor = page["next"]

    assert mine["feedbackId"] not in [item["feedbackId"] for item in by_bob]
    (seen,) = [item for item in by_staff if item["feedbackId"] == mine["feedbackId"]]
    assert seen["owner"] == mine["owner"] and seen["feedback"] == "private thoughts"


def test_what_an_editor_writes_every_signed_in_reader_reads_and_cannot_change(local_server, alice, token_for):
    """The sample's Metadata is one shared collection: editors write it, every signed-in user reads it."""
    item = local_server.request("POST", "/prod/metadata", token=alice, json_body={"page": "homepage"}).json
    reader = token_for(f"reader-{uuid.uuid4().hex[:8]}", groups=[])

    assert local_server.request("GET", f"/prod/metadata/{item['id']}", token=reader).json == item
    assert local_server.request("DELETE", f"/prod/metadata/{item['id']}", token=reader).status == 403
    assert local_server.request("GET", f"/prod/metadata/{item['id']}", token=alice).status == 200


def _foreign_pool_token(tmp_path, local_pools) -> str:
    """A token a different pool signed: same shape, same claims, another key."""
    (pool,) = local_pools.pools.values()
    return LocalUserPools({pool.key: pool}, tmp_path).issue_id_token(pool.key, "mallory")


# Why each is refused, as local mode's log says it.
TOKEN_REFUSALS = {
    "none": "no Authorization header",
    "malformed": "malformed token",
    "expired": "Signature has expired",
    "foreign pool": "Signature verification failed",
    "tampered": "Signature verification failed",
    "empty bearer": "malformed token",
}


@pytest.mark.parametrize("kind", TOKEN_REFUSALS)
def test_a_missing_or_bad_token_is_401_and_the_handler_never_runs(local_server, token_for, local_pools, tmp_path, kind):
    valid = token_for("victim")
    token = {
        "none": None,
        "malformed": "not-a-jwt",
        "expired": token_for("late", lifetime=-30),
        "foreign pool": _foreign_pool_token(tmp_path, local_pools),
        "tampered": valid[:-4] + ("AAAA" if not valid.endswith("AAAA") else "BBBB"),
        "empty bearer": "Bearer ",
    }[kind]
    path = f"/prod/metadata?probe={uuid.uuid4().hex}"

    response = local_server.request("POST", path, token=token, json_body={"page": "x"})

    assert (response.status, response.json) == (401, {"message": "Unauthorized"})
    assert _last_access_line(local_server, "POST", path).endswith(" -"), "no function ran"
    assert f"POST {path}: 401 ({TOKEN_REFUSALS[kind]}" in local_server.log()


def test_a_bearer_prefixed_token_is_accepted(local_server, alice):
    assert local_server.request("GET", "/prod/metadata", token=f"Bearer {alice}").status == 200


@pytest.mark.parametrize(("raw", "message"), BAD_BODIES.values(), ids=BAD_BODIES.keys())
def test_bad_input_is_a_400_json_message_over_http(local_server, alice, raw, message):
    before = local_server.request("GET", "/prod/metadata?limit=100", token=alice).json

    response = local_server.request("POST", "/prod/metadata", token=alice, body=raw.encode("utf-8", "surrogatepass"))

    assert response.status == 400
    assert message in response.json["message"]
    assert local_server.request("GET", "/prod/metadata?limit=100", token=alice).json == before, "nothing written"


def test_unknown_routes_are_404_and_other_methods_405_from_the_gateway(local_server, alice):
    unknown = local_server.request("GET", "/prod/nothing-here", token=alice)
    wrong = local_server.request("PATCH", "/prod/metadata", token=alice, json_body={})
    odd_type = local_server.request("PATCH", "/prod/metadata", token=alice, body=b"x", headers={"Content-Type": "image/png"})
    unknown_stage = local_server.request("GET", "/beta/metadata", token=alice)

    assert (unknown.status, unknown.json) == (404, {"message": "Not Found"})
    assert (wrong.status, wrong.json, wrong.headers["Allow"]) == (405, {"message": "Method Not Allowed"}, "GET, POST")
    assert (odd_type.status, odd_type.json) == (415, {"message": "Unsupported Media Type"})
    assert unknown_stage.status == 403


def test_a_burst_beyond_the_stages_limit_gets_429(local_server):
    # A route no other test uses (PATCH, the 405 mock): its bucket holds the stage's 100 requests.
    def call(_):
        return local_server.request("PATCH", "/prod/feedback", retry_throttled=False)

    with ThreadPoolExecutor(max_workers=16) as pool:
        replies = list(pool.map(call, range(400)))

    statuses = [r.status for r in replies]
    assert statuses.count(429) > 0, "a burst of 400 must exceed rate 50/s with burst 100"
    assert statuses.count(401) >= 100, "the first burst-worth of requests is served"
    assert {json.loads(r.body)["message"] for r in replies if r.status == 429} == {"Too Many Requests"}


def test_a_burst_of_twice_a_functions_environments_gets_429s_and_never_a_500(local_server, alice):
    """Editors racing to save one configuration: one wins, the others are told it changed (412) or to
    retry later (429, Retry-After); none sees a 500, which a client cannot tell from a bug."""
    (environments,) = [
        f.reserved_concurrency for f in assembly.load(local_server.state_dir / "cdk.out").functions.values()
        if f.name.endswith("/Metadata/UpdateFunction")
    ]
    created = local_server.request("POST", "/prod/metadata", token=alice, json_body={"page": "race"})
    assert created.status == 201, (created.status, created.body)
    etag = {k.lower(): v for k, v in created.headers.items()}["etag"]
    time.sleep(1)  # the method's bucket refills from earlier tests' requests
    # All at once, as a burst is: threads that trickle in would be admitted at the method's rate too, and
    # twenty environments starting together on a small machine can overrun Lambda's 10 s INIT limit.
    at_once = threading.Barrier(2 * environments)

    def save(n):
        at_once.wait()
        return local_server.request(
            "PUT", f"/prod/metadata/{created.json['id']}", token=alice,
            json_body={"page": "race", "editor": n}, headers={"If-Match": etag}, retry_throttled=False,
        )

    with ThreadPoolExecutor(max_workers=2 * environments) as threads:
        replies = list(threads.map(save, range(2 * environments)))

    statuses = [r.status for r in replies]
    assert set(statuses) <= {200, 412, 429}, statuses
    assert statuses.count(200) == 1 and statuses.count(429) >= environments // 2, statuses
    assert {r.headers.get("Retry-After") for r in replies if r.status == 429} == {"1"}


def test_each_request_is_logged_on_one_line(local_server, alice):
    # A limit of random digits makes the path unique in the log (a limit over 100 is served as 100).
    path = f"/prod/metadata?limit={uuid.uuid4().int % 10**12 + 10**12}"
    local_server.request("GET", path, token=alice)

    line = _last_access_line(local_server, "GET", path)

    assert re.fullmatch(rf"GET {re.escape(path)} 200 \d+\.\dms ServerlessMeta/Metadata/ListFunction", line)


def test_the_token_command_prints_a_token_the_server_accepts(local_server):
    printed = subprocess.run(
        [sys.executable, "-m", "serverless_meta", "token", "--user", "carol",
         "--state-dir", str(local_server.state_dir), "--cdk-out", str(local_server.state_dir / "cdk.out")],
        capture_output=True, text=True, check=True,
    ).stdout.strip()

    assert printed.count(".") == 2
    assert local_server.request("GET", "/prod/metadata", token=printed).status == 200


def test_the_website_finds_a_pages_configuration_by_its_name(local_server, alice):
    """The sample's Metadata indexes page: GET /metadata?page=homepage is the website's read."""
    name = f"page-{uuid.uuid4().hex[:8]}"
    made = local_server.request("POST", "/prod/metadata", token=alice, json_body={"page": name, "layout": "grid"}).json
    local_server.request("POST", "/prod/metadata", token=alice, json_body={"page": "elsewhere"})

    found = local_server.request("GET", f"/prod/metadata?page={name}", token=alice)
    unknown = local_server.request("GET", f"/prod/metadata?pages={name}", token=alice)

    assert found.status == 200 and found.json == {"items": [{**made, "etag": '"1"'}], "next": None}
    assert unknown.status == 400 and "Unknown query parameter pages" in unknown.json["message"]


def test_the_backfill_command_puts_older_items_into_the_index_and_the_website_then_finds_them(local_server, alice):
    """Items written before Metadata indexed page (here: written straight into local mode's DynamoDB, as an
    older version stored them) are found by ?page= once `serverless-meta backfill` has run."""
    import boto3

    (endpoint,) = re.findall(r"DynamoDB: embedded \(moto, in memory, at (\S+)\)", local_server.log())
    name = f"legacy-{uuid.uuid4().hex[:8]}"
    (table,) = {f.environment["TABLE_NAME"] for f in _metadata_functions(local_server)}
    older = str(uuid.uuid4())
    client = boto3.client("dynamodb", endpoint_url=endpoint, region_name="us-east-1",
                          aws_access_key_id="local", aws_secret_access_key="local")
    client.put_item(TableName=table, Item={
        "pk": {"S": "shared#metadata"}, "sk": {"S": f"metadata#{older}"}, "id": {"S": older},
        "data": {"M": {"page": {"S": name}}}, "createdAt": {"S": "2026-01-01T00:00:00.000Z"},
        "updatedAt": {"S": "2026-01-01T00:00:00.000Z"}, "version": {"N": "2"},
    })
    assert local_server.request("GET", f"/prod/metadata?page={name}", token=alice).json["items"] == []

    completed = subprocess.run(
        [sys.executable, "-m", "serverless_meta", "backfill", "--service", "metadata", "--endpoint-url", endpoint,
         "--cdk-out", str(local_server.state_dir / "cdk.out"), "--state-dir", str(local_server.state_dir)],
        capture_output=True, text=True, timeout=120,
    )

    assert completed.returncode == 0, completed.stderr
    assert re.search(r"metadata in \S+: [1-9]\d* indexed", completed.stderr), completed.stderr
    (found,) = local_server.request("GET", f"/prod/metadata?page={name}", token=alice).json["items"]
    assert (found["id"], found["etag"]) == (older, '"2"'), "the backfill counts no write"


def _metadata_functions(server):
    from serverless_meta.local import assembly

    return [f for f in assembly.load(server.state_dir / "cdk.out").functions.values()
            if f.environment.get("RESOURCE_NAME") == "metadata"]
