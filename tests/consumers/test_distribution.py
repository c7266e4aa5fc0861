"""The library as consumers get it: the wheel built from this checkout, in clean environments outside it.

Without the extra it synthesizes a consumer's app (so a file missing from the wheel fails here) and
its command says in one line which extra local mode needs; `serverless-meta init` then writes a
starter app whose two commands, `make test` and `make local`, work in a fresh directory, installing
the wheel with the ``local`` extra into the app's own venv. This module takes about three minutes,
most of it pip installing aws-cdk-lib (from its cache) twice.
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest

from tests.local.support import free_port
from tests.support import ROOT

# What only local mode and the handlers use: none of it belongs in an environment that only synthesizes.
LOCAL_ONLY = {"moto", "werkzeug", "flask", "responses", "docker", "pyjwt", "aws-xray-sdk", "waitress", "boto3",
              "aws-lambda-powertools", "requests", "jsonschema"}
CONSUMER_APP = """
import aws_cdk as cdk
from serverless_meta import ServerlessCrudApi

app = cdk.App()
ServerlessCrudApi(cdk.Stack(app, "Consumer"), "Orders", resource_name="orders")
app.synth()
"""
SERVING_SECONDS = 180


def run(*command: str | Path, cwd: Path, env: dict[str, str] | None = None, timeout: int = 600) -> subprocess.CompletedProcess:
    completed = subprocess.run([str(part) for part in command], cwd=cwd, env=env, capture_output=True, text=True, timeout=timeout)
    assert completed.returncode == 0, f"{command} exited {completed.returncode}:\n{completed.stdout}\n{completed.stderr}"
    return completed


def outside_the_checkout() -> dict[str, str]:
    """This process's environment without what would let a child import the checkout or see a CI."""
    return {name: value for name, value in os.environ.items() if name not in ("PYTHONPATH", "CI", "VIRTUAL_ENV")}


def new_venv(path: Path) -> Path:
    """A clean venv on the Python that runs the tests; returns its interpreter."""
    run(sys.executable, "-m", "venv", path, cwd=path.parent)
    return path / "bin" / "python"


@pytest.fixture(scope="module")
def source(tmp_path_factory) -> Path:
    """The checkout's files as git sees them (tracked, or new and not ignored): no build output, no venv."""
    listed = run("git", "ls-files", "-z", "--cached", "--others", "--exclude-standard", cwd=ROOT).stdout
    copy = tmp_path_factory.mktemp("source")
    for name in filter(None, listed.split("\0")):
        if (ROOT / name).is_file():
            (copy / name).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(ROOT / name, copy / name)
    return copy


@pytest.fixture(scope="module")
def wheel(source, tmp_path_factory) -> Path:
    dist = tmp_path_factory.mktemp("dist")
    run(sys.executable, "-m", "pip", "wheel", "--quiet", "--no-deps", "--wheel-dir", dist, source, cwd=dist)
    (built,) = dist.glob("serverless_meta-*.whl")
    return built


@pytest.fixture(scope="module")
def plain(wheel, tmp_path_factory) -> Path:
    """A venv with the wheel and no extra: what an app that only synthesizes and deploys installs."""
    python = new_venv(tmp_path_factory.mktemp("plain") / "venv")
    run(python, "-m", "pip", "install", "--quiet", "--constraint", ROOT / "constraints.txt", wheel, cwd=wheel.parent)
    return python


@pytest.fixture(scope="module")
def consumer_assembly(plain, tmp_path_factory) -> Path:
    """A consumer's app, in a directory of its own, synthesized with the plain install."""
    app_dir = tmp_path_factory.mktemp("consumer")
    (app_dir / "app.py").write_text(CONSUMER_APP)
    outdir = app_dir / "cdk.out"
    run(plain, "app.py", cwd=app_dir, env={**outside_the_checkout(), "CDK_OUTDIR": str(outdir)})
    return outdir


def test_the_plain_install_has_what_synthesis_needs_and_none_of_local_modes_packages(plain):
    installed = {entry["name"].lower() for entry in json.loads(run(plain, "-m", "pip", "list", "--format=json", cwd=plain.parent).stdout)}

    assert {"aws-cdk-lib", "constructs", "fastjsonschema", "serverless-meta"} <= installed
    assert installed.isdisjoint(LOCAL_ONLY), installed & LOCAL_ONLY


def test_the_plain_install_synthesizes_a_consumers_app_with_the_handler_code_from_the_wheel(consumer_assembly):
    template = json.loads((consumer_assembly / "Consumer.template.json").read_text())
    functions = [r for r in template["Resources"].values() if r["Type"] == "AWS::Lambda::Function"]
    assert len(functions) == 5
    (asset,) = {path for path in consumer_assembly.glob("asset.*") if path.is_dir()}
    assert sorted(path.name for path in (asset / "crud_api").glob("*.py")) == sorted(
        path.name for path in (ROOT / "lambda" / "crud_api").glob("*.py")
    )


def test_the_wheel_is_typed(plain):
    code = "import importlib.resources as r; print(r.files('serverless_meta').joinpath('py.typed').is_file())"
    assert run(plain, "-c", code, cwd=plain.parent).stdout.strip() == "True"


def test_serverless_meta_local_in_the_plain_install_says_in_one_line_which_extra_to_install(plain, wheel):
    completed = subprocess.run(
        [str(plain.parent / "serverless-meta"), "local"], cwd=plain.parent, capture_output=True, text=True, timeout=60
    )

    assert completed.returncode == 2
    assert completed.stderr == (
        "serverless-meta local needs serverless-meta's 'local' extra (waitress is not installed): "
        f'pip install "serverless-meta[local] @ {wheel.as_uri()}"\n'
    )


@pytest.fixture(scope="module")
def starter(plain, tmp_path_factory) -> Path:
    """An app written by `serverless-meta init` from the plain install, then `make test` run in it once."""
    directory = tmp_path_factory.mktemp("apps") / "orders-service"
    run(plain.parent / "serverless-meta", "init", directory, cwd=directory.parent)
    return directory


def starter_environment() -> dict[str, str]:
    # The versions this project is tested with (pip reads PIP_CONSTRAINT), as a developer machine has them.
    return {**outside_the_checkout(), "PIP_CONSTRAINT": str(ROOT / "constraints.txt")}


@pytest.fixture(scope="module")
def starter_tested(starter) -> subprocess.CompletedProcess:
    return run("make", "test", cwd=starter, env=starter_environment(), timeout=1200)


def test_the_starters_make_test_sets_up_the_app_with_the_local_extra_and_its_tests_pass(starter, wheel, starter_tested):
    assert f"serverless-meta @ {wheel.as_uri()}" in (starter / "requirements.txt").read_text().splitlines()
    assert "4 passed" in starter_tested.stdout
    assert (starter / "tests" / "snapshots" / "OrdersService.template.json").is_file(), "the first run writes the snapshot"
    assert (starter / "node_modules" / ".bin" / "node").exists(), "Node.js comes from the app's own npm packages"


def test_the_starters_make_local_serves_the_app_to_a_user_with_a_token(starter, starter_tested):
    port = free_port()
    log = starter / "local.log"
    with log.open("w") as output:
        server = subprocess.Popen(
            ["make", "local", f"PORT={port}"], cwd=starter, env=starter_environment(), stdout=output,
            stderr=subprocess.STDOUT, start_new_session=True,
        )
    try:
        deadline = time.monotonic() + SERVING_SECONDS
        while "Serving on" not in log.read_text():
            assert server.poll() is None and time.monotonic() < deadline, log.read_text()
            time.sleep(0.2)
        token = run(starter / ".venv" / "bin" / "serverless-meta", "token", "--user", "alice", cwd=starter).stdout.strip()
        request = urllib.request.Request(
            f"http://127.0.0.1:{port}/prod/orders", data=b'{"item": "notebook"}', method="POST",
            headers={"Authorization": token, "Content-Type": "application/json"},
        )
        with urllib.request.urlopen(request, timeout=60) as response:
            assert (response.status, json.loads(response.read())["item"]) == (201, "notebook")
    finally:
        os.killpg(server.pid, signal.SIGINT)
        server.wait(timeout=60)


def test_an_editable_install_of_the_checkout_says_nothing_of_folders_named_like_the_package(source, tmp_path):
    python = new_venv(tmp_path / "venv")

    completed = run(python, "-m", "pip", "install", "--no-deps", "--editable", source, cwd=tmp_path)

    output = completed.stdout + completed.stderr
    assert "Editable installation" not in output and "BuildBackendWarning" not in output, output
    code = "import serverless_meta.handlers.crud_api.contract as c; print(c.__file__)"
    printed = run(python, "-c", code, cwd=tmp_path).stdout.strip()
    assert printed == str(source / "lambda" / "crud_api" / "contract.py"), "the handler code is the checkout's lambda/"
