"""The serverless-meta command without local mode's extra, and the requirement that reinstalls this copy."""

from __future__ import annotations

import importlib.metadata
import tomllib

import pytest
from packaging.requirements import Requirement
from packaging.utils import canonicalize_name

from serverless_meta import cli, installation
from tests.support import ROOT

VCS = {"url": "https://git.example.com/platform/serverless-meta.git", "vcs_info": {"vcs": "git", "commit_id": "4f2a9c1"}}
WHEEL = {"url": "file:///wheels/serverless_meta-1.0.0-py3-none-any.whl", "archive_info": {}}
CHECKOUT = {"url": "file:///src/serverless-meta", "dir_info": {}}
EDITABLE = {"url": "file:///src/serverless-meta", "dir_info": {"editable": True}}


@pytest.fixture
def installed_from(monkeypatch):
    def install(direct_url: dict | None) -> None:
        monkeypatch.setattr(installation, "_direct_url", lambda: direct_url)

    return install


@pytest.mark.parametrize(
    ("origin", "expected"),
    [
        (VCS, "serverless-meta[local] @ git+https://git.example.com/platform/serverless-meta.git@4f2a9c1"),
        (WHEEL, "serverless-meta[local] @ file:///wheels/serverless_meta-1.0.0-py3-none-any.whl"),
        (CHECKOUT, "serverless-meta[local] @ file:///src/serverless-meta"),
        (None, f"serverless-meta[local]=={importlib.metadata.version('serverless-meta')}"),
    ],
    ids=["git", "wheel", "checkout", "index"],
)
def test_the_requirement_installs_this_copy_again_from_where_it_came(installed_from, origin, expected):
    installed_from(origin)

    assert installation.requirement("local") == expected
    assert Requirement(expected).name == "serverless-meta"


def test_serverless_meta_local_without_the_extra_says_in_one_line_which_extra_to_install(
    installed_from, monkeypatch, capsys
):
    installed_from(CHECKOUT)
    monkeypatch.setattr(installation, "missing_local_mode", lambda: "moto")

    assert cli.main(["local", "--port", "3005"]) == 2

    assert capsys.readouterr().err == (
        "serverless-meta local needs serverless-meta's 'local' extra (moto is not installed): "
        'pip install "serverless-meta[local] @ file:///src/serverless-meta"\n'
    )


def test_in_an_editable_install_the_line_adds_the_extra_to_the_checkout(installed_from, monkeypatch, capsys):
    installed_from(EDITABLE)
    monkeypatch.setattr(installation, "missing_local_mode", lambda: "waitress")

    assert cli.main(["token", "--user", "alice"]) == 2

    assert capsys.readouterr().err.endswith(': pip install -e "/src/serverless-meta[local]"\n')


def test_every_requirement_of_the_local_extra_is_among_the_modules_local_mode_checks_for():
    extra = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["optional-dependencies"]["local"]
    providers = importlib.metadata.packages_distributions()
    checked = {canonicalize_name(dist) for module in installation.LOCAL_MODE_MODULES for dist in providers[module]}

    assert {canonicalize_name(Requirement(line).name) for line in extra} <= checked


def test_with_the_extra_local_mode_is_found():
    assert installation.missing_local_mode() is None


def test_the_package_says_its_version_as_its_metadata_does():
    import serverless_meta

    assert serverless_meta.__version__ == importlib.metadata.version("serverless-meta")


def test_the_changelog_says_what_this_version_changes():
    version = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["version"]

    assert f"\n## [{version}] - " in (ROOT / "CHANGELOG.md").read_text()
