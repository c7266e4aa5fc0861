"""Synthesis time: one ServerlessCrudApi against the closest AWS Solutions Constructs composition, and ten services.

The composition is CognitoToApiGatewayToLambda with LambdaToDynamoDB (a Cognito-authorized REST API in
front of one function that may use one table). It runs from a venv of its own, made here on first use
(``.venv-bench-solutions-constructs``), with the same aws-cdk-lib, constructs and jsii as the project.
Each workload is timed three ways, each in fresh processes: the whole ``cdk synth -q`` command, which
is what a user waits for (the CDK CLI from the project's npm dependencies, running the app); the app
run alone as a process, from its start to its exit (it imports aws_cdk, starting jsii's Node.js, and
the constructs, builds the app and synthesizes it); and that app's build plus synth alone, without
the imports and the exit, which shows the work per resource. Run alone, the app gets none of the
CLI's context, so its template has no path metadata and no CDKMetadata resource. The workloads run
interleaved, in an order that rotates from round to round, so that a busy machine slows all of them
alike; the ratios are taken within each round. No cdk-nag on either side: this is the synthesis
itself.

Run: .venv/bin/python bench/synth_vs_solutions_constructs.py [samples] (default 9)
"""

from __future__ import annotations

import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import NamedTuple

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
built = time.perf_counter()
app.synth()
print(json.dumps([built - start, time.perf_counter() - built]))
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


class Sample(NamedTuple):
    command: float
    """``cdk synth -q``, from its start to its exit."""
    process: float
    """The app alone, from the interpreter's start to its exit."""
    build: float
    synth: float
    resources: int


def sample(python: Path, program: str, workdir: Path) -> Sample:
    (workdir / "build.py").write_text(program)
    (workdir / "timer.py").write_text(TIMER)
    env = {**os.environ, "PATH": f"{ROOT / 'node_modules' / '.bin'}{os.pathsep}{os.environ['PATH']}",
           "PYTHONPATH": f"{ROOT}{os.pathsep}{ROOT / 'lambda'}"}
    app = f"{python} timer.py build.py"

    started = time.perf_counter()
    subprocess.run(
        ["cdk", "synth", "--quiet", "--no-notices", "--app", f"{app} cli.out", "--output", "cli.out"],
        cwd=workdir, env=env, check=True, capture_output=True, text=True,
    )
    command = time.perf_counter() - started

    started = time.perf_counter()
    completed = subprocess.run(
        [str(python), "timer.py", "build.py", "app.out"], cwd=workdir, env=env, check=True, capture_output=True, text=True
    )
    process = time.perf_counter() - started
    build, synth = json.loads(completed.stdout.strip().splitlines()[-1])
    resources = len(json.loads((workdir / "app.out" / "Bench.template.json").read_text())["Resources"])
    return Sample(command, process, build, synth, resources)


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
    names = list(workloads)
    runs: dict[str, list[Sample]] = {name: [] for name in workloads}
    with tempfile.TemporaryDirectory() as scratch:
        for round_number in range(samples):
            # Each workload follows each of the others in turn: none always comes after the heaviest.
            for name in names[round_number % len(names):] + names[:round_number % len(names)]:
                python, program = workloads[name]
                runs[name].append(sample(python, program, Path(tempfile.mkdtemp(dir=scratch))))
    measures: dict[str, Callable[[Sample], float]] = {
        "cdk synth -q": lambda s: s.command,
        "the app's process": lambda s: s.process,
        "build + synth alone": lambda s: s.build + s.synth,
    }
    print(f"Synthesis in fresh processes, {samples} samples each, interleaved; median (p25-p75):")
    print(f"  {'':34s} {'resources':>9s}  {'cdk synth -q':>18s}  {'app process':>18s}  {'build':>5s}  {'synth':>5s}")
    for name, taken in runs.items():
        print(f"  {name:34s} {taken[0].resources:9d}  {_spread([s.command for s in taken], 's')}  "
              f"{_spread([s.process for s in taken], 's')}  "
              f"{statistics.median(s.build for s in taken):5.2f}  {statistics.median(s.synth for s in taken):5.2f}")
    # Ratios within each round (the samples of one round ran close together): a busy moment slows both sides.
    composition, one, ten = runs.values()
    for label, numerators, denominators in (
        ("one service / the composition", one, composition),
        ("ten services / one service", ten, one),
    ):
        for measure, of in measures.items():
            ratios = [of(n) / of(d) for n, d in zip(numerators, denominators, strict=True)]
            print(f"  {label:30s} {measure:20s} {_spread(ratios, 'x')}")


def _spread(values: list[float], unit: str) -> str:
    q1, median, q3 = statistics.quantiles(values, n=4)
    return f"{median:5.2f} {unit} ({q1:.2f}-{q3:.2f})"


if __name__ == "__main__":
    main()
