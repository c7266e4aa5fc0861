"""Handler cold init (imports and clients) against the seed-style minimal boto3 handler, as Lambda runs them.

Each sample is a fresh interpreter, started with the variables Lambda sets (``LAMBDA_TASK_ROOT``,
``AWS_LAMBDA_FUNCTION_NAME``, ``AWS_EXECUTION_ENV``, ...): outside Lambda the X-Ray SDK would
build a sampling client for the X-Ray service at import, which inside Lambda it does not. It times
only the module import of the handler (what Lambda's init phase runs), not interpreter start-up.
Handlers are measured interleaved (seed, Metadata, Feedback, seed, ...), so that a busy machine
slows all of them alike; the ratio is each sample's over the seed's median of the same run. As in
Lambda, whose task root is read-only, no bytecode is written: what a package does not ship compiled
is compiled at every cold start. The handler runs from its asset as the sample app's synthesis
stages it (with bytecode, serverless_meta/bytecode.py), and once more from its sources alone.

Run: .venv/bin/python bench/cold_start.py [samples] [--python PATH] [--floors] (default 15). With
``--floors``, also the pieces the handler is made of, alone: a botocore client made as the handler
makes it, then Powertools' Logger and Metrics, then its Tracer, each added to the one before; and,
for comparison, a client as botocore makes it (listing every service's directory: the handler's
ServiceLookupLoader does not), and what the handler no longer imports: Powertools' REST resolver
and boto3. After a change to the handler,
run it again: it imports whatever ``lambda/crud_api/app.py`` imports, with the environment the
construct sets (``handler_environment``).
"""

from __future__ import annotations

import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
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

# With --floors: what any handler built on the same pieces pays before a line of its own, each a
# module like the seed's, so that the ratio says how low a handler with these pieces can go. Each
# floor holds its piece (an import, then what the module makes at load) and every piece above it.
# The first makes its client as the handler does (crud_api.repository, from the handler's asset);
# the last two are pieces the handler of 0.2.0 and before had, kept to show what they cost.
FLOOR_PIECES = (
    ("a botocore DynamoDB client, as the handler makes it", "from crud_api.repository import ItemRepository",
     'client = ItemRepository.for_table("bench").client'),
    ("+ Powertools Logger, Metrics", "from aws_lambda_powertools import Logger, Metrics",
     "logger, metrics = Logger(), Metrics()"),
    ("+ Powertools Tracer (the X-Ray SDK)", "from aws_lambda_powertools import Tracer",
     'tracer = Tracer(patch_modules=("botocore",))'),
    ("+ Powertools REST resolver (no longer used)", "from aws_lambda_powertools.event_handler import APIGatewayRestResolver",
     "app = APIGatewayRestResolver()"),
    ("+ boto3 type serializer (no longer used)", "from boto3.dynamodb.types import TypeSerializer", ""),
)
# And alone, for comparison: the client as botocore makes it, which lists every service's directory.
BOTOCORE_CLIENT = (
    "a botocore DynamoDB client, as botocore makes it",
    'import botocore.session\n\nclient = botocore.session.get_session().create_client("dynamodb")\n',
)


def floors(asset: Path) -> dict[str, str]:
    """Each floor's name and module source; ``asset`` is the handler's, for its way of making the client."""
    sources = {f"floor: {BOTOCORE_CLIENT[0]}": BOTOCORE_CLIENT[1]}
    for depth, (name, _, _) in enumerate(FLOOR_PIECES, start=1):
        pieces = FLOOR_PIECES[:depth]
        imports = [piece_import for _, piece_import, _ in pieces]
        made = [piece_made for _, _, piece_made in pieces if piece_made]
        path = f"import sys\nsys.path.append({str(asset)!r})"
        sources[f"floor: {name}"] = "\n".join([path, *imports, "", *made, ""])
    return sources


TIMER = """
import importlib, json, sys, time
sys.path.insert(0, sys.argv[1])
start = time.perf_counter()
importlib.import_module(sys.argv[2])
print(json.dumps(time.perf_counter() - start))
"""


def lambda_environment(task_root: Path, handler: str) -> dict[str, str]:
    """The variables the Lambda Python runtime sets for a function (credentials are placeholders)."""
    return {
        "LAMBDA_TASK_ROOT": str(task_root),
        "LAMBDA_RUNTIME_DIR": "/var/runtime",
        "_HANDLER": handler,
        "AWS_EXECUTION_ENV": f"AWS_Lambda_python{sys.version_info.major}.{sys.version_info.minor}",
        "AWS_LAMBDA_FUNCTION_NAME": "bench",
        "AWS_LAMBDA_FUNCTION_VERSION": "$LATEST",
        "AWS_LAMBDA_FUNCTION_MEMORY_SIZE": "256",
        "AWS_LAMBDA_LOG_GROUP_NAME": "/aws/lambda/bench",
        "AWS_LAMBDA_LOG_STREAM_NAME": "2026/11/27/[$LATEST]bench",
        "AWS_LAMBDA_INITIALIZATION_TYPE": "on-demand",
        "AWS_REGION": "eu-west-1",
        "AWS_DEFAULT_REGION": "eu-west-1",
        "AWS_ACCESS_KEY_ID": "bench",
        "AWS_SECRET_ACCESS_KEY": "bench",
        "AWS_SESSION_TOKEN": "bench",
        "AWS_XRAY_DAEMON_ADDRESS": "169.254.79.129:2000",
        "AWS_XRAY_CONTEXT_MISSING": "LOG_ERROR",
        "_X_AMZN_TRACE_ID": "Root=1-5759e988-bd862e3fe1be46a994272793;Parent=53995c3f42cd8ad8;Sampled=1",
        "TZ": ":UTC",
    }


def service_environment(**service) -> dict[str, str]:
    """What the construct sets on a service's functions (functions.handler_environment), for a table 'bench'."""
    import aws_cdk as cdk

    from serverless_meta.construct import ServerlessCrudApi
    from serverless_meta.functions import handler_environment

    stack = cdk.Stack(cdk.App(), "Bench")
    props = ServerlessCrudApi(stack, "Service", **service).props
    table = type("Table", (), {"table_name": "bench"})()
    return handler_environment(props, table=table)


def sample(task_root: Path, module: str, handler: str, service_env: dict[str, str], python: str = sys.executable) -> float:
    env = {
        **{k: v for k, v in os.environ.items() if not k.startswith(("AWS_", "POWERTOOLS_", "PYTHON"))},
        **lambda_environment(task_root, handler),
        **service_env,
        # Lambda's task root is read-only: bytecode the code does not ship is compiled at every cold start.
        "PYTHONDONTWRITEBYTECODE": "1",
    }
    command = [python, "-c", TIMER, str(task_root), module]
    return float(subprocess.run(command, env=env, check=True, capture_output=True, text=True, cwd=task_root).stdout)


def handler_asset(assembly_dir: Path) -> Path:
    """The handler code's asset in a synthesized cloud assembly (with bytecode where it could be): what Lambda gets."""
    (asset,) = [path for path in assembly_dir.glob("asset.*") if (path / "crud_api").is_dir()]
    return asset


def main() -> None:
    samples = int(next((arg for arg in sys.argv[1:] if arg.isdigit()), "15"))
    # Another interpreter for the handlers (closer to Lambda's runtime), e.g. a venv with Powertools,
    # the X-Ray SDK, boto3 and fastjsonschema at the project's pins: --python /path/to/bin/python
    python = sys.argv[sys.argv.index("--python") + 1] if "--python" in sys.argv else sys.executable
    seed_dir = Path(tempfile.mkdtemp(prefix="serverless-meta-bench-seed-"))
    (seed_dir / "seed_handler.py").write_text(SEED_HANDLER)
    import app as sample_app

    outdir = tempfile.mkdtemp(prefix="serverless-meta-bench-cdk.out-")
    asset = handler_asset(Path(sample_app.build_app(outdir=outdir).synth().directory))
    sources_only = Path(tempfile.mkdtemp(prefix="serverless-meta-bench-sources-")) / "task"
    shutil.copytree(asset, sources_only, ignore=shutil.ignore_patterns("__pycache__"))
    metadata = service_environment(resource_name="metadata")
    handlers = {
        "seed (boto3 resource, no Powertools)": (seed_dir, "seed_handler", "seed_handler.lambda_handler", {}),
        "crud_api, Metadata": (asset, "crud_api.app", "crud_api.app.lambda_handler", metadata),
        "crud_api, Metadata, its sources alone (no bytecode)": (
            sources_only, "crud_api.app", "crud_api.app.lambda_handler", metadata
        ),
        "crud_api, Feedback (compiles its JSON Schema)": (
            asset,
            "crud_api.app",
            "crud_api.app.lambda_handler",
            service_environment(
                resource_name="feedback",
                operations=["create", "list"],
                id_attribute="feedbackId",
                timestamp_attribute="timestamp",
                item_schema=sample_app.FEEDBACK_SCHEMA,
            ),
        ),
    }
    if "--floors" in sys.argv:
        for number, (name, source) in enumerate(floors(asset).items()):
            (seed_dir / f"floor_{number}.py").write_text(source)
            handlers[name] = (seed_dir, f"floor_{number}", f"floor_{number}.handler", metadata)
    runs: dict[str, list[float]] = {name: [] for name in handlers}
    for _ in range(samples):
        for name, handler in handlers.items():
            runs[name].append(sample(*handler, python=python))
    seed = statistics.median(runs[next(iter(runs))])
    version = subprocess.run([python, "-c", "import platform; print(platform.python_version())"],
                             capture_output=True, text=True, check=True).stdout.strip()
    print(f"Handler cold init, {samples} fresh interpreters each, interleaved (Python {version}):")
    print(f"  {'':50s} {'median':>9s} {'p25-p75':>13s}  ratio to the seed's median (p25-p75)")
    for name, seconds in runs.items():
        q1, median, q3 = statistics.quantiles(seconds, n=4)
        print(
            f"  {name:50s} {median * 1000:6.1f} ms {q1 * 1000:5.0f}-{q3 * 1000:<5.0f} ms"
            f"  {median / seed:4.2f} ({q1 / seed:4.2f}-{q3 / seed:4.2f})"
        )
    print(json.dumps({name: [round(s * 1000, 1) for s in seconds] for name, seconds in runs.items()}), file=sys.stderr)


if __name__ == "__main__":
    # The construct (for each service's environment) and the project's own Node.js for jsii.
    sys.path[:0] = [str(ROOT), str(ROOT / "lambda")]
    os.environ["PATH"] = f"{ROOT / 'node_modules' / '.bin'}{os.pathsep}{os.environ['PATH']}"
    main()
