"""serverless-meta init: a new consumer app, written as cdk init writes one, overwriting nothing.

That the app it writes works (its two commands, in a fresh directory, from the built wheel) is
tests/consumers/test_distribution.py's to show.
"""

from __future__ import annotations

import json

import pytest

from serverless_meta import cli, installation
from serverless_meta.starter import stack_name
from tests.support import ROOT

STARTER = ROOT / "serverless_meta" / "starter" / "app-template"

FILES = {
    ".gitignore", "Makefile", "README.md", "app.py", "cdk.json", "package-lock.json", "package.json", "pytest.ini",
    "requirements-dev.txt", "requirements.txt", "tests/conftest.py", "tests/test_app.py",
}


@pytest.fixture
def written(tmp_path, monkeypatch, capsys):
    """An app written by ``serverless-meta init`` into a new directory, where local mode is not even installed."""
    monkeypatch.setattr(installation, "missing_local_mode", lambda: "moto")
    directory = tmp_path / "orders-service"
    assert cli.main(["init", str(directory)]) == 0
    assert f"Wrote {len(FILES)} files into {directory}" in capsys.readouterr().out
    return directory


def test_init_writes_an_app_its_tests_and_what_sets_them_up(written):
    assert {str(path.relative_to(written)) for path in written.rglob("*") if path.is_file()} == FILES
    assert json.loads((written / "cdk.json").read_text())["app"] == ".venv/bin/python app.py"
    assert 'STACK_NAME = "OrdersService"' in (written / "app.py").read_text()
    assert 'ServerlessCrudApi(self, "Orders", resource_name="orders"' in (written / "app.py").read_text()
    assert "{{" not in "".join(path.read_text() for path in written.rglob("*") if path.is_file())


def test_its_requirements_pin_this_copy_of_the_library_and_its_development_adds_the_local_extra(written):
    requirements = (written / "requirements.txt").read_text().splitlines()
    assert installation.requirement() in requirements
    assert f"serverless-meta {installation.version()}" in (written / "requirements.txt").read_text()
    assert {"-r requirements.txt", "serverless-meta[local]"} <= set((written / "requirements-dev.txt").read_text().splitlines())


def test_it_ignores_what_synthesis_and_local_mode_write(written):
    ignored = (written / ".gitignore").read_text().splitlines()
    assert {"cdk.out/", ".serverless-meta/", ".venv/", "node_modules/"} <= set(ignored)


def test_its_readme_gives_its_two_commands(written):
    readme = (written / "README.md").read_text()
    assert readme.startswith("# OrdersService\n")
    assert "make local   #" in readme and "make test    #" in readme


def test_its_node_and_cdk_cli_are_the_ones_this_project_uses(written):
    ours, theirs = (json.loads((ROOT / name).read_text()) for name in ("package-lock.json", written / "package-lock.json"))
    assert theirs["packages"]["node_modules/node"] == ours["packages"]["node_modules/node"]
    assert {k: v for k, v in theirs["packages"].items() if k} == {k: v for k, v in ours["packages"].items() if k}
    package = json.loads((written / "package.json").read_text())
    assert package["devDependencies"] == json.loads((ROOT / "package.json").read_text())["devDependencies"]


def test_init_overwrites_nothing_and_writes_nothing_where_one_of_its_files_exists(tmp_path, capsys):
    (tmp_path / "app.py").write_text("# mine\n")

    assert cli.main(["init", str(tmp_path)]) == 1

    assert "already has app.py: init overwrites nothing, and wrote nothing" in capsys.readouterr().err
    assert (tmp_path / "app.py").read_text() == "# mine\n"
    assert [path.name for path in tmp_path.iterdir()] == ["app.py"]


@pytest.mark.parametrize(
    ("directory", "stack"),
    [("orders-service", "OrdersService"), ("my_app", "MyApp"), ("2024-report", "App2024Report"), ("---", "App")],
)
def test_the_stack_is_named_after_the_directory(directory, stack):
    assert stack_name(directory) == stack


def test_the_readme_shows_the_starters_tests_as_init_writes_them():
    readme = (ROOT / "README.md").read_text()
    for name in ("conftest.py", "test_app.py"):
        assert f"```python\n{(STARTER / 'tests' / name).read_text()}```" in readme, name
