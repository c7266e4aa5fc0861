"""Fixtures: the sample app served by the real local server, as users start it; tests speak HTTP to it."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from serverless_meta.local import assembly
from serverless_meta.local.cognito import LocalUserPools
from tests.local.support import LocalServerProcess


@pytest.fixture(scope="session")
def local_state(tmp_path_factory) -> Path:
    return tmp_path_factory.mktemp("serverless-meta-state")


@pytest.fixture(scope="session")
def local_server(local_state) -> Iterator[LocalServerProcess]:
    """The sample app served by local mode, synthesized by local mode itself."""
    server = LocalServerProcess(state_dir=local_state)
    yield server
    assert server.stop() == 0, server.log()
    assert server.group_is_gone()


@pytest.fixture(scope="session")
def local_pools(local_server) -> LocalUserPools:
    """The local user pools the server uses: same state directory, same synthesized app."""
    app = assembly.load(local_server.state_dir / "cdk.out")
    return LocalUserPools(app.user_pools, local_server.state_dir)


@pytest.fixture(scope="session")
def token_for(local_pools):
    (pool,) = local_pools.pools

    def issue(user: str, **kwargs: Any) -> str:
        # The sample app lets only editors write Metadata; these tests' users are editors unless they say.
        kwargs.setdefault("groups", ["editors"])
        return local_pools.issue_id_token(pool, user, **kwargs)

    return issue


@pytest.fixture(autouse=True)
def no_server_outlives_its_test():
    """Servers a test started and did not stop (it failed midway) are stopped when it ends, with their processes."""
    before = set(LocalServerProcess.running)
    yield
    for server in set(LocalServerProcess.running) - before:
        server.stop_everything()


@pytest.fixture(scope="session", autouse=True)
def no_server_outlives_the_session():
    yield
    for server in set(LocalServerProcess.running):
        server.stop_everything()
