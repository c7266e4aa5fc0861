"""The worker runtime and the handler code agree on the stored item, and the runtime on what the construct sets."""

from __future__ import annotations

import crud_worker.contract as worker_contract
from serverless_meta.handlers.crud_api import contract as api_contract


def test_the_runtime_names_the_stored_attributes_as_the_handler_writes_them():
    names = {name: value for name, value in vars(worker_contract).items() if name.isupper()}
    assert names, "the runtime's contract states its facts"
    for name, value in names.items():
        assert getattr(api_contract, name) == value, name


def test_a_change_shows_the_item_exactly_as_the_api_answers_it(pipeline, apis, worker, alice):
    created = apis["notes"].post("/notes", {"text": "hello", "n": 1.5, "tags": ["a"]}, user=alice)

    pipeline.deliver()

    (change,) = worker.CHANGES
    assert change.after == created.json and change.before is None
    assert (change.operation, change.owner, change.item_id, change.version) == ("create", alice, created.json["id"], 1)


def test_the_runtime_starts_from_the_environment_the_construct_sets(runtime, template):
    from tests.workers.support import worker_environment

    variables = worker_environment(template)
    assert variables["WORKER_HANDLER"] == "recording_worker.record" and runtime.shape.resource == "notes"
    assert runtime.shape.id_attribute == variables["ID_ATTRIBUTE"]
