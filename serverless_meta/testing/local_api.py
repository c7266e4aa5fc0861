"""A synthesized app served in this process by local mode, and clients that call it as local users.

As Chalice's ``chalice.test.Client`` does for a Chalice app, but over the app's real template:
``api.as_user("alice").post("/prod/orders", json={...})`` sends an HTTP request to local mode on a
free loopback port, signed with an ID token for ``alice`` from the app's (local) user pool, and
returns a ``requests`` response. The functions run as ``serverless-meta local`` runs them, each in
its own worker processes, against an in-memory DynamoDB that lasts as long as the server.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import requests
from requests.adapters import HTTPAdapter
from urllib3.util.retry import Retry

from serverless_meta.local import assembly
from serverless_meta.local.server import LocalServer

# No request to local mode should outlast a function's timeout (at most API Gateway's 29 s) by much.
REQUEST_TIMEOUT_SECONDS = 60
# A method's bucket refills within a second (see the README's Overload): a few waits are plenty.
THROTTLE_RETRIES = 5


class Client(requests.Session):
    """A ``requests`` session whose paths are the server's: ``client.get("/prod/orders")``.

    It retries the gateway's 429 after its ``Retry-After``, as AWS's SDKs retry throttles: a throttled
    request never reached its function, so retrying even a POST is safe. A test that wants to see the
    429 mounts an adapter of its own.
    """

    def __init__(self, base_url: str, headers: dict[str, str] | None = None) -> None:
        super().__init__()
        self.base_url = base_url
        self.headers.update(headers or {})
        throttled = Retry(
            total=THROTTLE_RETRIES, connect=0, read=0, other=0, status_forcelist=(429,), allowed_methods=None,
            respect_retry_after_header=True, raise_on_status=False,
        )
        self.mount("http://", HTTPAdapter(max_retries=throttled))

    def request(self, method: str | bytes, url: str | bytes, *args: Any, **kwargs: Any) -> requests.Response:
        if isinstance(url, str) and url.startswith("/"):
            url = self.base_url + url
        kwargs.setdefault("timeout", REQUEST_TIMEOUT_SECONDS)
        return super().request(method, url, *args, **kwargs)


class LocalApi:
    """Every REST API of an app, served by local mode at ``url``; ``as_user`` gives a client signed as a user."""

    def __init__(self, server: LocalServer) -> None:
        self._server = server
        self._clients: list[Client] = []

    @property
    def url(self) -> str:
        return self._server.url

    def token(
        self,
        user: str,
        *,
        groups: Sequence[str] | None = None,
        claims: Mapping[str, str] | None = None,
        pool: str | None = None,
    ) -> str:
        """An ID token for ``user`` (created on first use) from the app's user pool, or the one ``pool`` names.

        ``groups``: the user's Cognito groups from now on (``cognito:groups``); None keeps the ones they have.
        ``claims``: attributes the user carries from now on, e.g. ``{"custom:tenant": "acme"}``.
        ``pool``: part of the pool's construct path (``Orders/UserPool``) or its logical id, where
        the app has several pools.
        """
        pools = self._server.user_pools
        return pools.issue_id_token(pools.pick(pool), user, groups=groups, attributes=claims)

    def as_user(
        self,
        user: str,
        *,
        groups: Sequence[str] | None = None,
        claims: Mapping[str, str] | None = None,
        pool: str | None = None,
    ) -> Client:
        """A client whose requests carry ``user``'s ID token, as the app's Cognito authorizer expects."""
        return self._client({"Authorization": self.token(user, groups=groups, claims=claims, pool=pool)})

    def as_client(self, app_client: str, *, scopes: Sequence[str] = (), pool: str | None = None) -> Client:
        """A client whose requests carry a machine client's access token (the client-credentials grant).

        ``app_client``: the app client (``MachineClient``, part of its construct path, or its id);
        ``scopes``: what to ask for (default: every scope the client may ask for).
        """
        pools = self._server.user_pools
        key = pools.pick(pool)
        token = pools.issue_access_token(key, pools.client(key, app_client), scopes=scopes)
        return self._client({"Authorization": token})

    def anonymous(self) -> Client:
        """A client whose requests carry no token (the authorizer answers them 401)."""
        return self._client({})

    def _client(self, headers: dict[str, str]) -> Client:
        client = Client(self.url, headers)
        self._clients.append(client)
        return client

    def _close(self) -> None:
        for client in self._clients:
            client.close()


@contextmanager
def serve(cdk_out: str | Path, *, state_dir: Path) -> Iterator[LocalApi]:
    """Serve the cloud assembly in ``cdk_out`` on a free loopback port until the block ends.

    ``state_dir``: where the local user pools keep their keys and users.
    """
    server = LocalServer(assembly.load(Path(cdk_out)), port=0, state_dir=state_dir)
    server.start()
    api = LocalApi(server)
    try:
        yield api
    finally:
        api._close()
        server.stop()
