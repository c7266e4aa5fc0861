"""Synthesis time: one ServerlessCrudApi against the closest AWS Solutions Constructs composition, and ten services.

The composition is CognitoToApiGatewayToLambda with LambdaToDynamoDB (a Cognito-authorized REST API in
front of one function that may use one table). It runs from a venv of its own, made here on first use
(``.venv-bench-solutions-constructs``), with the same aws-cdk-lib, constructs and jsii as the project.
Each sample is a fresh interpreter that imports aws_cdk (starting jsii's Node.js, not timed), then
builds the app and synthesizes it (timed); the workloads run interleaved, so that a busy machine
slows all of them alike. No cdk-nag on either side: this is the synthesis itself.

Run: .venv/bin/python bench/synth_vs_solutions_constructs.py [samples] (default 9)
"""

from __future__ import annotations

import json
import os
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
SOLUTIONS_VENV = ROOT / ".venv-bench-solutions-constructs"
SOLUTIONS_CONSTRUCTS_VERSION = "2.105.0"  # built against aws-cdk-lib >= 2.260, so the project's 2.275 pin holds
PINNED = ("aws-cdk-lib", "constructs", "jsii", "aws-cdk.asset-awscli-v1", "aws-cdk.asset-node-proxy-agent-v6",
          "aws-cdk.cloud-assembly-schema", "typeguard", "publication", "cattrs", "attrs")

TIMER = """
import json, sys, time
import aws_cdk as cdk
exec(compile(open(sys.argv[1]).read(), sys.argv[1], "exec"))
start = time.perf_counter()
app = cdk.App(outdir=sys.argv[2])
build(cdk.Stack(app, "Bench", env=cdk.Environment(account="123456789012", region="eu-west-1")))
template = app.synth().get_stack_by_name("Bench").template
print(json.dumps([time.perf_counter() - start, len(template["Resources"])]))
"""

SOLUTIONS_CONSTRUCTS = """
from aws_cdk import aws_lambda as lambda_
from aws_solutions_constructs.aws_cognito_apigateway_lambda import CognitoToApiGatewayToLambda
from aws_solutions_constructs.aws_lambda_dynamodb import LambdaToDynamoDB

CODE_DIR = {code_dir!r}

def build(stack):
    api = CognitoToApiGatewayToLambda(
        stack, "Api",
        lambda_function_props=lambda_.FunctionProps(
            runtime=lambda_.Runtime.PYTHON_3_14, handler="crud_api.app.lambda_handler",
            code=lambda_.Code.from_asset(CODE_DIR),
        ),
    )
    api.add_authorizers()
    LambdaToDynamoDB(stack, "Table", existing_lambda_obj=api.lambda_function)
"""

SERVERLESS_CRUD_API = """
from serverless_meta import ServerlessCrudApi

SERVICES = {services}

def build(stack):
    first = ServerlessCrudApi(stack, "Service0", resource_name="resource0")
    for number in range(1, SERVICES):
        ServerlessCrudApi(
            stack, f"Service{{number}}", resource_name=f"resource{{number}}", table=first.table,
            user_pool=first.user_pool, alarm_topic=first.alarm_topic, encryption_key=first.encryption_key,
        )
"""


def solutions_constructs_python() -> Path:
    """The venv's interpreter, with the Solutions Constructs and the project's own pins of what they share."""
    python = SOLUTIONS_VENV / "bin" / "python"
    marker = SOLUTIONS_VENV / f".installed-{SOLUTIONS_CONSTRUCTS_VERSION}"
    if not marker.exists():
        subprocess.run([sys.executable, "-m", "venv", str(SOLUTIONS_VENV)], check=True)
        pins = [line for line in (ROOT / "constraints.txt").read_text().splitlines()
                if line.split("==")[0].lower() in PINNED]
        constraints = SOLUTIONS_VENV / "constraints.txt"
        constraints.write_text("\n".join(pins) + "\n")
        pip = [str(python), "-m", "pip", "install", "--quiet"]
        subprocess.run([*pip, "-c", str(constraints), *(name for name in PINNED)], check=True)
        # Their metadata asks for aws-cdk.cloud-assembly-schema < 55, which aws-cdk-lib 2.275 (>= 55) rules
        # out; the schema is bundled into aws-cdk-lib's own JavaScript, so the project's pins are kept.
        subprocess.run(
            [*pip, "--no-deps", *(f"aws-solutions-constructs.{name}=={SOLUTIONS_CONSTRUCTS_VERSION}"
                                  for name in ("core", "aws-cognito-apigateway-lambda", "aws-lambda-dynamodb"))],
            check=True,
        )
        marker.touch()
    return python


def sample(python: Path, program: str, workdir: Path) -> tuple[float, int]:
    script = workdir / "build.py"
    script.write_text(program)
    env = {**os.environ, "PATH": f"{ROOT / 'node_modules' / '.bin'}{os.pathsep}{os.environ['PATH']}",
           "PYTHONPATH": f"{ROOT}{os.pathsep}{ROOT / 'lambda'}"}
    completed = subprocess.run(
        [str(python), "-c", TIMER, str(script), tempfile.mkdtemp(dir=workdir)],
        env=env, check=True, capture_output=True, text=True,
    )
    seconds, resources = json.loads(completed.stdout.strip().splitlines()[-1])
    return seconds, resources


def main() -> None:
    samples = int(sys.argv[1]) if len(sys.argv) > 1 else 9
    project_python = Path(sys.executable)
    workloads = {
        "Solutions Constructs composition": (
            solutions_constructs_python(), SOLUTIONS_CONSTRUCTS.format(code_dir=str(ROOT / "lambda"))
        ),
        "ServerlessCrudApi, one service": (project_python, SERVERLESS_CRUD_API.format(services=1)),
        "ServerlessCrudApi, ten services": (project_python, SERVERLESS_CRUD_API.format(services=10)),
    }
    runs: dict[str, list[float]] = {name: [] for name in workloads}
    resources: dict[str, int] = {}
    with tempfile.TemporaryDirectory() as scratch:
        for _ in range(samples):
            for name, (python, program) in workloads.items():
                workdir = Path(tempfile.mkdtemp(dir=scratch))
                seconds, resources[name] = sample(python, program, workdir)
                runs[name].append(seconds)
    print(f"Synthesis (build + synth, first in a fresh process), {samples} samples each, interleaved:")
    for name, seconds in runs.items():
        q1, median, q3 = statistics.quantiles(seconds, n=4)
        print(f"  {name:34s} {resources[name]:4d} resources  {median:5.2f} s ({q1:.2f}-{q3:.2f})")
    # Ratios within each round (the samples of one round ran back to back): a busy moment slows both sides.
    composition, one, ten = runs.values()
    for label, numerators, denominators in (
        ("one service / the composition", one, composition),
        ("ten services / one service", ten, one),
    ):
        q1, median, q3 = statistics.quantiles([n / d for n, d in zip(numerators, denominators, strict=True)], n=4)
        print(f"  {label:34s} {median:4.2f}x (p25-p75 {q1:.2f}-{q3:.2f})")


if __name__ == "__main__":
    main()
