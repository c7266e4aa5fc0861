"""Session fixtures: one synthesis of the sample app, shared by every test module that needs it."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.support import SAMPLE_STACK


@pytest.fixture(scope="session")
def sample_assembly(tmp_path_factory):
    """The sample app (app.py) synthesized once, with cdk-nag's checks, into a temporary cdk.out."""
    import app as sample_app

    return sample_app.build_app(outdir=str(tmp_path_factory.mktemp("cdk.out"))).synth()


@pytest.fixture(scope="session")
def sample_template(sample_assembly) -> dict:
    return sample_assembly.get_stack_by_name(SAMPLE_STACK).template


@pytest.fixture(scope="session")
def sample_template_path(sample_assembly) -> Path:
    return Path(sample_assembly.directory) / f"{SAMPLE_STACK}.template.json"


def pytest_collection_modifyitems(config, items):
    """mypy, cold, takes a minute and a half of one core: started now, beside the other tests, and its test
    moved to the session's end to read the verdict (tests/architecture/test_types.py)."""
    typed = [item for item in items if item.nodeid.startswith("tests/architecture/test_types.py")]
    if typed:
        from tests.architecture import test_types

        config._mypy = test_types.start()
        items[:] = [item for item in items if item not in typed] + typed



def pytest_sessionfinish(session):
    """A session that ends early (-x, Ctrl-C) leaves no mypy running behind it."""
    checking = getattr(session.config, "_mypy", None)
    if checking is not None and checking.poll() is None:
        checking.kill()
        checking.communicate()
