"""A worker against moto: every change of its resource reaches it once and in order, a failing change ends in the
dead-letter queue without holding back the rest, a redelivered change writes nothing, its own writes never return."""

from __future__ import annotations

import json

import boto3
import pytest

from tests.handlers.support import REGION, TABLE_NAME
from tests.workers.conftest import MAX_RECEIVE_COUNT


def _item(alice: str, item_id: str) -> dict:
    return boto3.client("dynamodb").get_item(TableName=TABLE_NAME, Key={"pk": {"S": alice}, "sk": {"S": f"notes#{item_id}"}})[
        "Item"
    ]


def test_a_new_item_reaches_the_worker_and_its_write_back_is_on_the_item_a_moment_later(pipeline, apis, worker, alice):
    created = apis["notes"].post("/notes", {"text": "hello"}, user=alice).json

    pipeline.deliver()
    listed = apis["notes"].get("/notes", user=alice).json["items"]

    assert [c.operation for c in worker.CHANGES] == ["create"] and worker.WRITES == [True]
    (item,) = listed
    assert item["summary"] == "5 characters" and item["text"] == "hello"
    assert item["etag"] == '"2"' and item["updatedAt"] > created["updatedAt"], "the write-back counts as a write"
    assert _item(alice, created["id"])["writtenBy"] == {"S": "worker"}


def test_the_write_back_is_one_conditional_update_and_no_read(pipeline, apis, runtime, worker, alice):
    calls = []
    runtime.store.client.meta.events.register("before-call.dynamodb.*", lambda model, **_: calls.append(model.name))
    apis["notes"].post("/notes", {"text": "hello"}, user=alice)

    pipeline.deliver()

    assert calls == ["UpdateItem"]


def test_the_workers_own_write_never_comes_back_to_it(pipeline, apis, worker, alice):
    item_id = apis["notes"].post("/notes", {"text": "once"}, user=alice).json["id"]
    pipeline.deliver()

    forwarded = pipeline.deliver()

    assert forwarded == 0, "the stream's MODIFY by the worker is filtered out"
    assert len(worker.CHANGES) == 1 and _item(alice, item_id)["version"] == {"N": "2"}


def test_a_replace_and_a_delete_reach_the_worker_in_the_order_they_were_made(pipeline, apis, worker, alice):
    item_id = apis["notes"].post("/notes", {"text": "one"}, user=alice).json["id"]
    apis["notes"].put(f"/notes/{item_id}", {"text": "three"}, user=alice)
    apis["notes"].delete(f"/notes/{item_id}", user=alice)

    pipeline.deliver()

    assert [(c.operation, c.version) for c in worker.CHANGES] == [("create", 1), ("update", 2), ("delete", 2)]
    create, update, delete = worker.CHANGES
    assert update.before["text"] == "one" and update.after["text"] == "three"
    assert delete.before["text"] == "three" and delete.after is None
    assert worker.WRITES == [False, False], "each overtaken by the next write: nothing written onto a gone item"
    with pytest.raises(ValueError, match="was deleted"):
        delete.update({"summary": "x"})


def test_other_resources_changes_and_idempotency_records_never_reach_the_worker(pipeline, apis, worker, alice):
    apis["tags"].post("/tags", {"name": "urgent"}, user=alice)
    note = apis["notes"].post(
        "/notes", {"text": "kept once"}, user=alice, headers={"Idempotency-Key": "5b0e6c1a-4f3e-4d2a-9c1b-7e8f9a0b1c2d"}
    ).json
    records = boto3.client("dynamodb").scan(TableName=TABLE_NAME)["Items"]
    assert any(r["pk"]["S"].startswith("idempotency#") and r["sk"]["S"].startswith("notes#") for r in records)

    pipeline.deliver()

    assert [(c.operation, c.item_id) for c in worker.CHANGES] == [("create", note["id"])]


def test_an_idempotency_record_removed_by_the_tables_time_to_live_never_reaches_the_worker(pipeline, apis, worker, alice):
    apis["notes"].post("/notes", {"text": "once"}, user=alice, headers={"Idempotency-Key": "0c9e3a56-8b1f-4b6e-9d0a-2f4c6e8a1b3d"})
    pipeline.deliver()
    worker.CHANGES.clear()
    dynamodb = boto3.client("dynamodb")
    (record,) = [r for r in dynamodb.scan(TableName=TABLE_NAME)["Items"] if r["pk"]["S"] == f"idempotency#{alice}"]

    dynamodb.delete_item(TableName=TABLE_NAME, Key={"pk": record["pk"], "sk": record["sk"]})  # as the time to live does

    assert pipeline.deliver() == 0 and worker.CHANGES == []


def test_every_api_write_says_the_region_it_was_made_in(pipeline, apis, alice):
    created = apis["notes"].post("/notes", {"text": "here"}, user=alice).json
    assert _item(alice, created["id"])["writtenIn"] == {"S": REGION}
    apis["notes"].put(f"/notes/{created['id']}", {"text": "still here"}, user=alice)
    assert _item(alice, created["id"])["writtenIn"] == {"S": REGION}
    assert "writtenIn" not in apis["notes"].get(f"/notes/{created['id']}", user=alice).json, "never shown to clients"


def test_a_change_replicated_from_another_regions_table_is_worked_on_there_not_here(pipeline, apis, worker, alice):
    """With a global table, each region's stream carries every region's writes: each change must run once."""
    pipeline.deliver()
    worker.CHANGES.clear()
    dynamodb = boto3.client("dynamodb")
    replicated = {
        "pk": {"S": alice}, "sk": {"S": "notes#written-elsewhere"}, "id": {"S": "written-elsewhere"},
        "data": {"M": {"text": {"S": "from us-east-1"}}}, "createdAt": {"S": "2026-12-01T00:00:00.000Z"},
        "updatedAt": {"S": "2026-12-01T00:00:00.000Z"}, "version": {"N": "1"}, "writtenBy": {"S": "api"},
        "writtenIn": {"S": "us-east-1"},
    }

    dynamodb.put_item(TableName=TABLE_NAME, Item=replicated)  # as the replica in this region receives it
    dynamodb.delete_item(TableName=TABLE_NAME, Key={"pk": replicated["pk"], "sk": replicated["sk"]})

    assert pipeline.deliver() == 0 and worker.CHANGES == []


def test_a_failing_change_lands_in_the_dead_letter_queue_after_max_receive_count_receives_while_the_rest_succeeds(
    pipeline, apis, worker, alice, capsys
):
    failing = apis["notes"].post("/notes", {"text": "bad", "fail": True}, user=alice).json["id"]
    fine = apis["notes"].post("/notes", {"text": "good"}, user=alice).json["id"]
    invocations_before = len(pipeline.invocations)

    pipeline.deliver()

    batches = [
        [json.loads(r["body"])["dynamodb"]["Keys"]["sk"]["S"] for r in e["Records"]] for e in pipeline.invocations[invocations_before:]
    ]
    assert batches[0] == [f"notes#{failing}", f"notes#{fine}"], "both changes in one batch"
    assert all(batch == [f"notes#{failing}"] for batch in batches[1:]) and len(batches) == MAX_RECEIVE_COUNT
    assert [c.item_id for c in worker.CHANGES].count(failing) == MAX_RECEIVE_COUNT
    assert [c.item_id for c in worker.CHANGES].count(fine) == 1
    assert "summary" in _item(alice, fine)["data"]["M"]
    (dead,) = pipeline.dead_lettered()
    assert json.loads(dead["Body"])["dynamodb"]["Keys"]["sk"]["S"] == f"notes#{failing}"
    assert pipeline.dead_letters.all()[-1]["receiveCount"] == MAX_RECEIVE_COUNT
    assert '"ChangesFailed"' in capsys.readouterr().out, "the worker's errors alarm counts it"


def test_a_redelivered_change_is_applied_once(pipeline, apis, worker, alice):
    item_id = apis["notes"].post("/notes", {"text": "twice"}, user=alice).json["id"]
    pipeline.deliver()
    (event,) = pipeline.invocations[-1:]

    answer = pipeline.invoke(event)  # the same message again, as SQS may deliver it

    assert answer == {"batchItemFailures": []}
    assert worker.WRITES == [True, False], "the function ran twice; the second write-back found the item moved on"
    assert _item(alice, item_id)["version"] == {"N": "2"}


def test_a_change_overtaken_by_a_newer_write_does_not_overwrite_it(pipeline, apis, worker, alice):
    item_id = apis["notes"].post("/notes", {"text": "first"}, user=alice).json["id"]
    apis["notes"].put(f"/notes/{item_id}", {"text": "second!"}, user=alice)

    pipeline.deliver()

    assert worker.WRITES == [False, True]
    assert apis["notes"].get(f"/notes/{item_id}", user=alice).json["summary"] == "7 characters"


def test_an_item_written_before_writers_were_marked_reaches_the_worker_as_version_0(pipeline, apis, worker, alice):
    boto3.client("dynamodb").put_item(
        TableName=TABLE_NAME,
        Item={
            "pk": {"S": alice}, "sk": {"S": "notes#legacy"}, "id": {"S": "legacy"}, "data": {"M": {"text": {"S": "old"}}},
            "createdAt": {"S": "2020-01-01T00:00:00.000Z"}, "updatedAt": {"S": "2020-01-01T00:00:00.000Z"},
        },
    )

    pipeline.deliver()

    (change,) = worker.CHANGES
    assert (change.operation, change.version, worker.WRITES) == ("create", 0, [True])
    assert _item(alice, "legacy")["version"] == {"N": "1"}


@pytest.mark.parametrize("owned", ["id", "createdAt", "updatedAt", "etag", "version"])
def test_a_worker_may_not_write_attributes_the_server_owns(pipeline, apis, worker, alice, owned):
    apis["notes"].post("/notes", {"text": "x"}, user=alice)
    pipeline.deliver()
    (change,) = worker.CHANGES[-1:]

    with pytest.raises(ValueError, match=f"server-owned attributes: {owned}"):
        change.update({owned: "mine"})


def test_each_change_reports_how_long_after_its_write_it_reached_the_worker(pipeline, apis, worker, alice, capsys):
    """The lag alarm's metric: the stream's, the pipe's and the queue's delay together, from the record's creation time."""
    apis["notes"].post("/notes", {"text": "timed"}, user=alice)
    capsys.readouterr()

    pipeline.deliver()

    emitted = [json.loads(line) for line in capsys.readouterr().out.splitlines() if '"ChangeAge"' in line]
    (metrics,) = emitted
    (definition,) = [m for m in metrics["_aws"]["CloudWatchMetrics"][0]["Metrics"] if m["Name"] == "ChangeAge"]
    assert definition["Unit"] == "Seconds" and metrics["service"] == "notes"
    assert metrics["ChangeAge"] and all(0 <= age < 60 for age in metrics["ChangeAge"]), metrics["ChangeAge"]


def test_a_backfills_write_never_reaches_the_worker(pipeline, apis, worker, alice):
    """serverless-meta backfill only adds index keys: no change of the item's for a worker to work on."""
    created = apis["notes"].post("/notes", {"text": "indexed later"}, user=alice).json
    pipeline.deliver()
    worker.CHANGES.clear()

    boto3.client("dynamodb").update_item(
        TableName=TABLE_NAME, Key={"pk": {"S": alice}, "sk": {"S": f"notes#{created['id']}"}},
        UpdateExpression="SET lookup1Pk = :k, writtenBy = :b", ExpressionAttributeValues={":k": {"S": "x"}, ":b": {"S": "backfill"}},
    )

    assert pipeline.deliver() == 0 and worker.CHANGES == []


def test_a_worker_may_not_write_an_attribute_items_are_looked_up_by():
    from crud_worker.changes import Change, ItemShape

    shape = ItemShape(resource="notes", id_attribute="id", indexes=("topic",))
    change = Change("create", "owner", "1", None, {"id": "1"}, 1, "e", _store=None, _sort_key="notes#1", _shape=shape)

    with pytest.raises(ValueError, match="looked up by: topic"):
        change.update({"topic": "x"})
