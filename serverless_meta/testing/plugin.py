"""The testing kit's pytest fixtures; pytest loads this module wherever serverless-meta is installed.

``local_api``
    The app served in this process by local mode, once per session (a ``LocalApi``):
    ``local_api.as_user("alice").post("/prod/orders", json={...})``. Needs the ``local`` extra.
``local_api_cdk_out``
    The cloud assembly ``local_api`` serves. By default local mode synthesizes the app in pytest's
    root directory (where ``cdk.json`` is) once per session; override this fixture to serve an
    assembly the tests have synthesized already (``app.synth().directory``), and save the time.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING

import pytest

from serverless_meta import installation

if TYPE_CHECKING:
    from serverless_meta.testing.local_api import LocalApi


@pytest.fixture(scope="session")
def local_api_cdk_out(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Path:
    _require_local_mode()
    from serverless_meta.local import assembly

    try:
        return assembly.synthesize(request.config.rootpath, tmp_path_factory.mktemp("cdk.out"))
    except assembly.SynthesisError as error:
        pytest.fail(f"local_api: {error}\n(or override the local_api_cdk_out fixture)", pytrace=False)


@pytest.fixture(scope="session")
def local_api(local_api_cdk_out: str | Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[LocalApi]:
    _require_local_mode()
    from serverless_meta.testing.local_api import serve

    with serve(local_api_cdk_out, state_dir=tmp_path_factory.mktemp("serverless-meta")) as api:
        yield api


def _require_local_mode() -> None:
    missing = installation.missing_local_mode()
    if missing is not None:
        pytest.fail(installation.local_mode_hint("the local_api fixture", missing), pytrace=False)
