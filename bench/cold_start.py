"""Handler cold init (imports and clients) against the seed-style minimal boto3 handler.

Each sample is a fresh interpreter that times only the module import of the handler
(what Lambda's init phase runs), not interpreter start-up. The ratio is ours over the
seed's, measured in the same run. Run: .venv/bin/python bench/cold_start.py [samples]
"""

from __future__ import annotations

import json
import os
import statistics
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]

SEED_HANDLER = """
import json
import time
import uuid

import boto3

dynamodb = boto3.resource("dynamodb")
table = dynamodb.Table("FeedbackTable")


def lambda_handler(event, context):
    feedback = json.loads(event["body"])["feedback"]
    table.put_item(Item={"feedbackId": str(uuid.uuid4()), "feedback": feedback, "timestamp": int(time.time())})
    return {"statusCode": 200, "body": json.dumps({"message": "Feedback submitted successfully!"})}
"""

TIMER = """
import importlib, json, sys, time
sys.path.insert(0, sys.argv[1])
start = time.perf_counter()
importlib.import_module(sys.argv[2])
print(json.dumps(time.perf_counter() - start))
"""

ENVIRONMENT = {
    "AWS_DEFAULT_REGION": "eu-west-1",
    "AWS_ACCESS_KEY_ID": "bench",
    "AWS_SECRET_ACCESS_KEY": "bench",
    "TABLE_NAME": "bench",
    "RESOURCE_NAME": "metadata",
    "OPERATIONS": "create,list,get,update,delete",
    "POWERTOOLS_SERVICE_NAME": "metadata",
    "POWERTOOLS_METRICS_NAMESPACE": "ServerlessMeta",
}
FEEDBACK = {
    "RESOURCE_NAME": "feedback",
    "OPERATIONS": "create,list",
    "ID_ATTRIBUTE": "feedbackId",
    "TIMESTAMP_ATTRIBUTE": "timestamp",
    "ITEM_SCHEMA": json.dumps({"type": "object", "properties": {"feedback": {"type": "string", "minLength": 1}}}),
}


def init_seconds(path: Path, module: str, extra_env: dict[str, str], samples: int) -> list[float]:
    env = {**os.environ, **ENVIRONMENT, **extra_env}
    command = [sys.executable, "-c", TIMER, str(path), module]
    return [float(subprocess.run(command, env=env, check=True, capture_output=True, text=True).stdout) for _ in range(samples)]


def main() -> None:
    samples = int(sys.argv[1]) if len(sys.argv) > 1 else 15
    seed_dir = Path(os.environ.get("TMPDIR", "/tmp")) / "serverless-meta-bench-seed"
    seed_dir.mkdir(exist_ok=True)
    (seed_dir / "seed_handler.py").write_text(SEED_HANDLER)

    # As in Lambda: the tracer is on, so it imports the X-Ray SDK and patches botocore.
    in_lambda = {"AWS_LAMBDA_FUNCTION_NAME": "bench"}
    runs = {
        "seed (boto3 resource, no Powertools)": init_seconds(seed_dir, "seed_handler", {}, samples),
        "crud_api, Metadata": init_seconds(ROOT / "serverless_meta" / "handlers", "crud_api.app", in_lambda, samples),
        "crud_api, Feedback (compiles its JSON Schema)": init_seconds(
            ROOT / "serverless_meta" / "handlers", "crud_api.app", {**FEEDBACK, **in_lambda}, samples
        ),
    }
    seed = statistics.median(next(iter(runs.values())))
    print(f"Handler cold init, median of {samples} fresh interpreters (Python {sys.version.split()[0]}):")
    for name, seconds in runs.items():
        median = statistics.median(seconds)
        print(f"  {name:48s} {median * 1000:7.1f} ms  ratio {median / seed:4.2f}")


if __name__ == "__main__":
    main()
