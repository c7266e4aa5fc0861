"""DynamoDB requests per HTTP request, route by route (target: 1 each; 1 per list page).

Drives the Metadata and Feedback handlers, loaded with their environment from the
synthesized sample app, through API Gateway proxy events against moto, and counts
the DynamoDB calls each request makes. Run: .venv/bin/python bench/dynamodb_requests.py
"""

from __future__ import annotations

import os
import sys
import tempfile
import uuid
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(ROOT), str(ROOT / "lambda")]
os.environ["PATH"] = f"{ROOT / 'node_modules' / '.bin'}{os.pathsep}{os.environ['PATH']}"

import boto3  # noqa: E402
import pytest  # noqa: E402
from moto import mock_aws  # noqa: E402

import app as sample_app  # noqa: E402
from tests.handlers.conftest import (  # noqa: E402
    REGION,
    ApiClient,
    create_table_from_template,
    load_handler,
    service_environments,
)


def main() -> None:
    with tempfile.TemporaryDirectory() as outdir:
        template = sample_app.build_app(outdir=outdir).synth().get_stack_by_name("ServerlessMeta").template
    environments = service_environments(template)
    with pytest.MonkeyPatch.context() as env, mock_aws():
        for name, value in {"AWS_DEFAULT_REGION": REGION, "AWS_ACCESS_KEY_ID": "x", "AWS_SECRET_ACCESS_KEY": "x",
                            "POWERTOOLS_TRACE_DISABLED": "true", "POWERTOOLS_METRICS_DISABLED": "true"}.items():
            env.setenv(name, value)
        create_table_from_template(boto3.client("dynamodb"), template)
        quiet = {"POWERTOOLS_LOG_LEVEL": "WARNING"}
        metadata = ApiClient(load_handler(env, {**environments["metadata"], **quiet}), "metadata")
        user = str(uuid.uuid4())
        rows = []
        created = metadata.post("/metadata", {"page": "home"}, user=user)
        rows.append(("POST /metadata", created))
        item = f"/metadata/{created.json['id']}"
        rows.append(("GET /metadata/{id}", metadata.get(item, user=user)))
        rows.append(("PUT /metadata/{id}", metadata.put(item, {"page": "about"}, user=user)))
        rows.append(("GET /metadata/{id} (another user's: 404)", metadata.get(item, user=str(uuid.uuid4()))))
        for n in range(6):
            metadata.post("/metadata", {"n": n}, user=user)
        page = metadata.get("/metadata", user=user, query={"limit": "3"})
        rows.append(("GET /metadata?limit=3 (page 1 of 3)", page))
        rows.append(("GET /metadata?limit=3&next=... (page 2)", metadata.get(
            "/metadata", user=user, query={"limit": "3", "next": page.json["next"]})))
        rows.append(("DELETE /metadata/{id}", metadata.delete(item, user=user)))
        rows.append(("POST /metadata with a bad body (400)", metadata.request("POST", "/metadata", user=user, body="[")))

        feedback = ApiClient(load_handler(env, {**environments["feedback"], **quiet}), "feedback")
        rows.append(("POST /feedback", feedback.post("/feedback", {"feedback": "nice"}, user=user)))
        rows.append(("GET /feedback", feedback.get("/feedback", user=user)))

    print("DynamoDB requests per HTTP request:")
    for name, response in rows:
        calls = ", ".join(response.dynamodb_operations) or "none"
        print(f"  {name:44s} {response.status}  {len(response.dynamodb_calls)}  ({calls})")


if __name__ == "__main__":
    main()
