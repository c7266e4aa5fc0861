"""DynamoDB requests and capacity per HTTP request, route by route, with the semantics features on and off.

Drives the Metadata and Feedback handlers, loaded with their environment from the synthesized
sample app, through API Gateway proxy events against moto, and records every DynamoDB request
each HTTP request makes. moto does not meter capacity, so capacity is computed from DynamoDB's
documented on-demand rules for the items as stored: a write is 1 WRU per KB of the larger of the
item before and after (a failed condition is charged too), a transactional write twice that per
item, a strongly consistent read 1 RRU per 4 KB (at least 1, found or not), a query 1 RRU per 4 KB
of everything it returns. Run: .venv/bin/python bench/dynamodb_requests.py
"""

from __future__ import annotations

import decimal
import math
import os
import sys
import tempfile
import uuid
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(ROOT), str(ROOT / "lambda")]
os.environ["PATH"] = f"{ROOT / 'node_modules' / '.bin'}{os.pathsep}{os.environ['PATH']}"

import boto3  # noqa: E402
import pytest  # noqa: E402
from moto import mock_aws  # noqa: E402

import app as sample_app  # noqa: E402
from tests.handlers.support import (  # noqa: E402
    REGION,
    TABLE_NAME,
    ApiClient,
    create_table_from_template,
    load_handler,
    service_environments,
)

CONFIG = {"page": "homepage", "layout": "grid", "theme": "dark", "columns": 3}


def attribute_size(value: dict[str, Any]) -> int:
    """The size DynamoDB counts for one attribute value in its wire form (the documented rules, approximately)."""
    (kind, inner), = value.items()
    if kind == "S":
        return len(inner.encode())
    if kind == "N":
        digits = decimal.Decimal(inner).normalize().as_tuple().digits
        return math.ceil(len(digits) / 2) + 1
    if kind == "B":
        return len(inner)
    if kind in ("BOOL", "NULL"):
        return 1
    if kind == "M":
        return 3 + sum(len(name.encode()) + attribute_size(child) + 1 for name, child in inner.items())
    if kind == "L":
        return 3 + sum(attribute_size(child) + 1 for child in inner)
    return sum(len(str(element).encode()) for element in inner)  # sets


def item_size(item: dict[str, Any] | None) -> int:
    return sum(len(name.encode()) + attribute_size(value) for name, value in (item or {}).items())


class Meter:
    """Records each DynamoDB request of one client with the capacity it consumes."""

    def __init__(self, client) -> None:
        self.requests: list[tuple[str, float]] = []
        self._raw = boto3.client("dynamodb")
        self._before: dict[str, Any] = {}
        client.meta.events.register("before-parameter-build.dynamodb.*", self._before_call)
        client.meta.events.register("after-call.dynamodb.*", self._after_call)

    def _current(self, key: dict[str, Any]) -> dict[str, Any] | None:
        return self._raw.get_item(TableName=TABLE_NAME, Key=key).get("Item")

    def _before_call(self, model, params, **_kwargs) -> None:
        body = params
        keys = []
        if model.name in ("PutItem",):
            keys = [{k: body["Item"][k] for k in ("pk", "sk")}]
        elif model.name in ("UpdateItem", "DeleteItem"):
            keys = [body["Key"]]
        elif model.name == "TransactWriteItems":
            keys = [{k: t["Put"]["Item"][k] for k in ("pk", "sk")} for t in body["TransactItems"]]
        self._before = {"keys": keys, "old": [self._current(key) for key in keys], "body": body}

    def _after_call(self, model, parsed, **_kwargs) -> None:
        before, body = self._before, self._before.get("body", {})
        kb = lambda size: max(1, math.ceil(size / 1024))  # noqa: E731
        if model.name in ("PutItem", "UpdateItem", "DeleteItem"):
            new = self._current(before["keys"][0])
            units = kb(max(item_size(before["old"][0]), item_size(new), item_size(body.get("Item"))))
        elif model.name == "TransactWriteItems":
            units = 2 * sum(kb(max(item_size(old), item_size(t["Put"]["Item"])))
                            for old, t in zip(before["old"], body["TransactItems"], strict=True))
        elif model.name == "GetItem":
            units = max(1, math.ceil(item_size(parsed.get("Item")) / 4096))
        elif model.name == "Query":
            units = max(1, math.ceil(sum(item_size(i) for i in parsed.get("Items", [])) / 4096))
        else:
            units = 0
        self.requests.append((model.name, units))

    def take(self) -> list[tuple[str, float]]:
        taken, self.requests = self.requests, []
        return taken


def measure(meter: Meter, name: str, call) -> tuple[str, int, list[tuple[str, float]]]:
    meter.take()
    response = call()
    return name, response.status, meter.take()


def main() -> None:
    with tempfile.TemporaryDirectory() as outdir:
        template = sample_app.build_app(outdir=outdir).synth().get_stack_by_name("ServerlessMeta").template
    environments = service_environments(template)
    rows = []
    with pytest.MonkeyPatch.context() as env, mock_aws():
        for name, value in {"AWS_REGION": REGION, "AWS_DEFAULT_REGION": REGION, "AWS_ACCESS_KEY_ID": "x", "AWS_SECRET_ACCESS_KEY": "x",
                            "POWERTOOLS_TRACE_DISABLED": "true", "POWERTOOLS_METRICS_DISABLED": "true"}.items():
            env.setenv(name, value)
        create_table_from_template(boto3.client("dynamodb"), template)
        quiet = {"POWERTOOLS_LOG_LEVEL": "WARNING"}
        metadata = ApiClient(load_handler(env, {**environments["metadata"], **quiet}), "metadata")
        meter = Meter(metadata.handler.repository.client)
        user = str(uuid.uuid4())
        editor = {"user": user, "groups": "editors"}

        # Features off: no Idempotency-Key, no If-Match, no If-None-Match.
        created = metadata.post("/metadata", CONFIG, **editor)
        item = f"/metadata/{created.json['id']}"
        rows.append(measure(meter, "POST /metadata", lambda: metadata.post("/metadata", CONFIG, **editor)))
        rows.append(measure(meter, "GET /metadata/{id}", lambda: metadata.get(item, user=user)))
        rows.append(measure(meter, "PUT /metadata/{id}", lambda: metadata.put(item, CONFIG, **editor)))
        spare = metadata.post("/metadata", CONFIG, **editor).json["id"]
        rows.append(measure(meter, "DELETE /metadata/{id}", lambda: metadata.delete(f"/metadata/{spare}", **editor)))
        for n in range(6):
            metadata.post("/metadata", {**CONFIG, "n": n}, **editor)
        rows.append(measure(meter, "GET /metadata?limit=3", lambda: metadata.get(
            "/metadata", user=user, query={"limit": "3"})))
        rows.append(measure(meter, "POST /metadata with a bad body (400)", lambda: metadata.request(
            "POST", "/metadata", body="[", **editor)))

        # Features on.
        key = {"Idempotency-Key": str(uuid.uuid4())}
        rows.append(measure(meter, "POST + Idempotency-Key (first)", lambda: metadata.post(
            "/metadata", CONFIG, headers=key, **editor)))
        rows.append(measure(meter, "POST + Idempotency-Key (replay)", lambda: metadata.post(
            "/metadata", CONFIG, headers=key, **editor)))
        etag = metadata.get(item, user=user).headers["ETag"]
        rows.append(measure(meter, "GET + If-None-Match (304)", lambda: metadata.get(
            item, user=user, headers={"If-None-Match": etag})))
        rows.append(measure(meter, "PUT + If-Match (current)", lambda: metadata.put(
            item, CONFIG, headers={"If-Match": etag}, **editor)))
        rows.append(measure(meter, "PUT + If-Match (stale: 412)", lambda: metadata.put(
            item, CONFIG, headers={"If-Match": etag}, **editor)))
        etag = metadata.get(item, user=user).headers["ETag"]
        rows.append(measure(meter, "DELETE + If-Match (current)", lambda: metadata.delete(
            item, headers={"If-Match": etag}, **editor)))
        rows.append(measure(meter, "POST as a non-editor (403)", lambda: metadata.post(
            "/metadata", CONFIG, user=user, groups=None)))
        shared_item = f"/metadata/{metadata.post('/metadata', CONFIG, **editor).json['id']}"
        rows.append(measure(meter, "GET /metadata/{id} by another reader", lambda: metadata.get(
            shared_item, user=str(uuid.uuid4()), groups=None)))
        rows.append(measure(meter, "GET /metadata?page=homepage&limit=3", lambda: metadata.get(
            "/metadata", user=str(uuid.uuid4()), groups=None, query={"page": "homepage", "limit": "3"})))

        # Scopes: Feedback is the caller's own, and staff read every user's through the collection index.
        feedback = ApiClient(load_handler(env, {**environments["feedback"], **quiet}), "feedback")
        meter = Meter(feedback.handler.repository.client)
        for writer in (str(uuid.uuid4()) for _ in range(4)):
            feedback.post("/feedback", {"feedback": "The grid layout is great"}, user=writer, groups=None)
        rows.append(measure(meter, "POST /feedback (also indexed)", lambda: feedback.post(
            "/feedback", {"feedback": "Fine"}, user=user, groups=None)))
        rows.append(measure(meter, "GET /feedback?limit=3 (own)", lambda: feedback.get(
            "/feedback", user=user, groups=None, query={"limit": "3"})))
        rows.append(measure(meter, "GET /feedback?limit=3 (staff: everyone's)", lambda: feedback.get(
            "/feedback", user=str(uuid.uuid4()), groups="staff", query={"limit": "3"})))

    print("DynamoDB requests and on-demand capacity units per HTTP request (Metadata, one shared collection, a "
          "4-attribute item; Feedback, each user's own, which staff read through the collection index):")
    print(f"  {'request':40s} status  requests  units  (requests)")
    for name, status, requests in rows:
        units = sum(u for _, u in requests)
        calls = ", ".join(f"{op} {u:g}" for op, u in requests) or "none"
        print(f"  {name:40s} {status:>6}  {len(requests):>8}  {units:>5g}  ({calls})")
    print("  A write of an indexed item also writes the index: one more WRU per KB (DynamoDB's GSI write rule), "
          "not counted above; an index Query is eventually consistent, half the RRU of a strongly consistent one.")


if __name__ == "__main__":
    main()
