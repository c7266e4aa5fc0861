"""Local mode runs a worker's pipeline on this machine: a write through the local API reaches the worker, its
write-back shows through the API, a change that keeps failing ends in the local dead letters, logged and listed."""

from __future__ import annotations

import subprocess
import sys
import time
import uuid
from collections.abc import Callable
from typing import Any

import pytest

from serverless_meta.local import assembly
from serverless_meta.local.cognito import LocalUserPools
from tests.local.support import LocalServerProcess, free_port, write_cdk_app

DEAD_LETTERS = "/.serverless-meta/dead-letters"


def _eventually(probe: Callable[[], Any], seconds: float = 30) -> Any:
    """``probe()`` once it returns something truthy; fails after ``seconds``."""
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        found = probe()
        if found:
            return found
        time.sleep(0.1)
    raise AssertionError(f"nothing came within {seconds} s")


# --- The sample app: Feedback's worker ------------------------------------------------------------


def test_startup_names_the_pipe_the_queue_and_where_dead_letters_are_listed(local_server):
    log = local_server.log()
    assert "ServerlessMeta/Feedback/WorkerPipe: changes to" in log
    assert "ServerlessMeta/Feedback/WorkerQueue -> ServerlessMeta/Feedback/WorkerFunction (batches of 10, 5 receives" in log
    assert f"Dead letters: {local_server.url}{DEAD_LETTERS}" in log


def test_new_feedback_gets_the_workers_sentiment_and_topic_a_moment_after_the_post(local_server, token_for):
    token = token_for(f"erin-{uuid.uuid4().hex[:8]}")
    created = local_server.request("POST", "/prod/feedback", token=token, json_body={"feedback": "The grid layout is great"})
    assert created.status == 201 and "sentiment" not in created.json, "the API answers before the worker runs"

    def described() -> dict | None:
        (item,) = local_server.request("GET", "/prod/feedback", token=token).json["items"]
        return item if "sentiment" in item else None

    item = _eventually(described)
    assert (item["sentiment"], item["topic"], item["etag"]) == ("positive", "design", '"2"')
    assert item["feedbackId"] == created.json["feedbackId"] and item["updatedAt"] > created.json["updatedAt"]
    time.sleep(1.5)
    (again,) = local_server.request("GET", "/prod/feedback", token=token).json["items"]
    assert again == item, "the worker's write-back did not come back to it as new work"


def test_the_sample_apps_dead_letters_are_listed_as_json(local_server):
    listed = local_server.request("GET", DEAD_LETTERS)

    assert listed.status == 200 and listed.headers["Content-Type"] == "application/json"
    assert listed.json == {"deadLetters": []}


# --- An app whose worker fails some changes -------------------------------------------------------

FAILING_APP = """
import aws_cdk as cdk
from serverless_meta import ServerlessCrudApi, Worker

app = cdk.App()
ServerlessCrudApi(cdk.Stack(app, "Jobs"), "Jobs", resource_name="jobs",
                  worker=Worker.from_directory("src", "jobs_worker.work", max_receive_count=2))
app.synth()
"""

FAILING_WORKER = """
from crud_worker import Change


def work(change: Change) -> None:
    if change.after is None:
        print(f"deleted {change.item_id}")
        return
    if change.after["task"] == "explode":
        raise RuntimeError("the task exploded")
    change.update({"done": True})
"""


@pytest.fixture(scope="module")
def jobs(tmp_path_factory) -> LocalServerProcess:
    app_dir = write_cdk_app(tmp_path_factory.mktemp("jobs-app"), FAILING_APP, {"jobs_worker.py": FAILING_WORKER})
    server = LocalServerProcess(app_dir=app_dir, state_dir=tmp_path_factory.mktemp("jobs-state"))
    server.assembly_dir = server.state_dir / "cdk.out"
    yield server
    assert server.stop() == 0, server.log()
    assert server.group_is_gone()


@pytest.fixture(scope="module")
def jobs_token(jobs) -> str:
    pools = LocalUserPools(assembly.load(jobs.assembly_dir).user_pools, jobs.state_dir)
    (pool,) = pools.pools
    return pools.issue_id_token(pool, "frank")


def test_a_change_that_keeps_failing_is_retried_then_kept_in_the_dead_letters_and_logged_once(jobs, jobs_token):
    exploding = jobs.request("POST", "/prod/jobs", token=jobs_token, json_body={"task": "explode"}).json
    fine = jobs.request("POST", "/prod/jobs", token=jobs_token, json_body={"task": "sweep"}).json

    (dead,) = _eventually(lambda: jobs.request("GET", DEAD_LETTERS).json["deadLetters"])

    assert dead["queue"] == "Jobs/Jobs/WorkerQueue" and dead["deadLetterQueue"] == "Jobs/Jobs/WorkerDeadLetterQueue"
    assert dead["function"] == "Jobs/Jobs/WorkerFunction" and dead["receiveCount"] == 2
    assert dead["messageGroupId"] == f"jobs#{exploding['id']}"
    assert dead["body"]["eventName"] == "INSERT" and dead["body"]["dynamodb"]["NewImage"]["data"]["M"]["task"] == {"S": "explode"}
    log = jobs.log()
    assert log.count("DEAD LETTER Jobs/Jobs/WorkerQueue") == 1 and "the task exploded" in log
    assert jobs.request("GET", f"/prod/jobs/{fine['id']}", token=jobs_token).json["done"] is True
    assert jobs.request("GET", f"/prod/jobs/{exploding['id']}", token=jobs_token).json == exploding


def test_a_delete_through_the_local_api_reaches_the_worker(jobs, jobs_token):
    job = jobs.request("POST", "/prod/jobs", token=jobs_token, json_body={"task": "mop"}).json
    _eventually(lambda: jobs.request("GET", f"/prod/jobs/{job['id']}", token=jobs_token).json.get("done"))

    assert jobs.request("DELETE", f"/prod/jobs/{job['id']}", token=jobs_token).status == 204

    _eventually(lambda: f"deleted {job['id']}" in jobs.log())


def test_a_dynamodb_without_streams_is_said_once_at_startup_and_the_api_still_serves(jobs, jobs_token, tmp_path):
    port = free_port()
    # moto's DynamoDB alone: tables, but no DynamoDB Streams API.
    dynamodb_only = subprocess.Popen(
        [sys.executable, "-c", _DYNAMODB_ONLY, str(port)], stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True
    )
    try:
        assert dynamodb_only.stdout.readline().strip() == "serving"
        server = LocalServerProcess(
            "--cdk-out", str(jobs.assembly_dir), "--dynamodb-endpoint", f"http://127.0.0.1:{port}", state_dir=jobs.state_dir
        )
        created = server.request("POST", "/prod/jobs", token=jobs_token, json_body={"task": "dust"})
        log = server.log()
        assert server.stop() == 0
    finally:
        dynamodb_only.kill()
        dynamodb_only.wait()

    assert created.status == 201
    notes = [line for line in log.splitlines() if "will not run" in line]
    assert len(notes) == 1 and notes[0].startswith("Jobs/Jobs/WorkerPipe will not run: the DynamoDB at"), log
    assert "DynamoDB Local has streams" in notes[0]


_DYNAMODB_ONLY = """
import sys
import waitress
from moto.moto_server.werkzeug_app import create_backend_app

server = waitress.create_server(create_backend_app("dynamodb"), host="127.0.0.1", port=int(sys.argv[1]))
print("serving", flush=True)
server.run()
"""

