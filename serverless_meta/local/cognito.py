"""Local stand-ins for the template's Cognito user pools: users and their groups, tokens, and their checks.

Each pool gets an RSA key and a user list under the state directory, so that tokens printed
by ``serverless-meta token`` in one process are accepted by ``serverless-meta local`` in
another, across restarts. Users get ID tokens (with their ``cognito:groups``); machine clients,
the app clients with the client-credentials grant, get access tokens with their scopes.

Tokens are checked as API Gateway's Cognito authorizer checks them: signature, expiry, issuer
and ``token_use``; a method without OAuth scopes takes ID tokens for an app client of the pool
(``aud``), a method with scopes takes access tokens carrying one of them, and no ID tokens
(https://repost.aws/knowledge-center/api-gateway-cognito-401-unauthorized: either mismatch is a
401 ``Unauthorized``, as is any other refused token).
"""

from __future__ import annotations

import json
import os
import tempfile
import threading
import time
import uuid
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import jwt
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa

from serverless_meta.local.intrinsics import local_id
from serverless_meta.local.model import AppClient, UserPool

TOKEN_LIFETIME_SECONDS = 3600
# Signature checks are a tenth of a millisecond or more each: the last tokens accepted are remembered.
_VERIFIED_TOKENS_KEPT = 1024
_CLAIM_TIME_FORMAT = "%a %b %d %H:%M:%S UTC %Y"


class InvalidToken(Exception):
    """The token is missing, malformed, forged, expired, or for another pool or client."""


class TokenRefused(Exception):
    """Cognito would not issue this token (an unknown client, a scope the client may not ask for)."""


@dataclass
class _PoolKeys:
    pool: UserPool
    key_id: str
    private_key: rsa.RSAPrivateKey
    users_file: Path


class LocalUserPools:
    def __init__(self, pools: dict[str, UserPool], state_dir: Path) -> None:
        self._pools: dict[str, _PoolKeys] = {}
        self._by_key_id: dict[str, _PoolKeys] = {}
        self._lock = threading.Lock()
        # Tokens accepted, by the token and what it was asked for: their expiry and claims (see verify).
        self._verified: dict[tuple[str, tuple[str, ...], tuple[str, ...]], tuple[int, dict[str, str]]] = {}
        self._verified_lock = threading.Lock()
        for key, pool in pools.items():
            directory = state_dir / "cognito" / local_id(key, 12)
            keys = _PoolKeys(pool, local_id(f"{key}/key", 20), _load_or_create_key(directory / "key.pem"), directory / "users.json")
            self._pools[key] = keys
            self._by_key_id[keys.key_id] = keys

    @property
    def pools(self) -> dict[str, UserPool]:
        return {key: keys.pool for key, keys in self._pools.items()}

    def pick(self, name: str | None = None) -> str:
        """The key of the app's one pool, or of the one ``name`` names (part of its construct path, or its key).

        Raises LookupError, listing the app's pools, unless exactly one matches.
        """
        keys = [key for key, keys in self._pools.items() if name is None or name in key or name in keys.pool.path]
        if len(keys) != 1:
            choices = ", ".join(keys.pool.path for keys in self._pools.values()) or "none"
            raise LookupError(f"{len(keys)} of the app's user pools match pool={name!r} ({choices}): name one")
        return keys[0]

    def issue_id_token(
        self,
        pool_key: str,
        username: str,
        *,
        groups: Sequence[str] | None = None,
        attributes: Mapping[str, str] | None = None,
        client_id: str | None = None,
        lifetime: int = TOKEN_LIFETIME_SECONDS,
    ) -> str:
        """An ID token for ``username`` (created on first use), as Cognito would sign it.

        ``groups``: the user's Cognito groups from now on (as ``admin-add-user-to-group`` would make them);
        None keeps the groups the user has. ``attributes``: claims the user carries from now on, beside the
        ones they had (as ``admin-update-user-attributes`` would set them), e.g. ``{"custom:tenant": "acme"}``.
        """
        reserved = sorted(set(attributes or {}) & RESERVED_CLAIMS)
        if reserved:
            raise TokenRefused(f"{', '.join(reserved)}: Cognito sets these claims itself; a user attribute cannot")
        keys = self._pools[pool_key]
        audience = client_id or (keys.pool.client_ids[0] if keys.pool.client_ids else "local-client")
        user = self._user(keys, username, groups, attributes)
        now = int(time.time())
        claims = {
            "sub": user["sub"],
            "email_verified": True,
            "iss": keys.pool.issuer,
            "cognito:username": username,
            "origin_jti": str(uuid.uuid4()),
            "aud": audience,
            "event_id": str(uuid.uuid4()),
            "token_use": "id",
            "auth_time": now,
            "exp": now + lifetime,
            "iat": now,
            "jti": str(uuid.uuid4()),
            "email": user["email"],
        }
        if user.get("groups"):
            claims["cognito:groups"] = list(user["groups"])
        claims.update(user.get("attributes", {}))
        return jwt.encode(claims, keys.private_key, algorithm="RS256", headers={"kid": keys.key_id})

    def client(self, pool_key: str, name: str) -> AppClient:
        """The pool's app client with this id, or whose construct path ends with or holds ``name``."""
        clients = self._pools[pool_key].pool.clients
        found = [c for c in clients if name in (c.client_id, c.path) or c.path.endswith(f"/{name}")] or [
            c for c in clients if name in c.path
        ]
        if len(found) != 1:
            known = ", ".join(c.path for c in clients) or "none"
            raise TokenRefused(f"{len(found)} app clients of the pool match {name!r} (it has: {known})")
        return found[0]

    def issue_access_token(
        self, pool_key: str, client: AppClient, *, scopes: Sequence[str] = (), lifetime: int = TOKEN_LIFETIME_SECONDS
    ) -> str:
        """An access token for a machine client (the client-credentials grant), with ``scopes`` (default: all it may ask)."""
        if not client.client_credentials:
            raise TokenRefused(f"{client.path} has no client-credentials grant (unauthorized_client)")
        asked = list(scopes) or list(client.scopes)
        refused = sorted(set(asked) - set(client.scopes))
        if refused or not asked:
            allowed = " ".join(client.scopes) or "none"
            raise TokenRefused(f"{client.path} may not ask for {' '.join(refused) or 'no scope'} (invalid_scope; it may: {allowed})")
        keys = self._pools[pool_key]
        now = int(time.time())
        claims = {
            "sub": client.client_id,
            "token_use": "access",
            "scope": " ".join(asked),
            "auth_time": now,
            "iss": keys.pool.issuer,
            "exp": now + lifetime,
            "iat": now,
            "version": 2,
            "jti": str(uuid.uuid4()),
            "client_id": client.client_id,
        }
        return jwt.encode(claims, keys.private_key, algorithm="RS256", headers={"kid": keys.key_id})

    def verify(self, token: str, accepted_pools: tuple[str, ...], scopes: Sequence[str] = ()) -> dict[str, str]:
        """The token's claims as API Gateway hands them to the function (all strings), or InvalidToken.

        ``scopes``: the method's OAuth scopes. Without any, an ID token is required; with some, an access
        token that carries one of them. A token accepted once is checked again at each use for its expiry
        only: every other check reads the token and the pool's key, which stay as they were.
        """
        asked = (token, accepted_pools, tuple(scopes))
        with self._verified_lock:
            accepted = self._verified.get(asked)
        if accepted is not None:
            expires, claims = accepted
            if expires <= time.time():  # PyJWT's own test and words
                raise InvalidToken("Signature has expired")
            return dict(claims)
        raw = self._check(token, accepted_pools, scopes)
        claims = {name: _claim_string(name, value) for name, value in raw.items()}
        with self._verified_lock:
            if len(self._verified) >= _VERIFIED_TOKENS_KEPT:
                del self._verified[next(iter(self._verified))]  # the oldest
            self._verified[asked] = (int(raw["exp"]), claims)
        return dict(claims)

    def _check(self, token: str, accepted_pools: tuple[str, ...], scopes: Sequence[str]) -> dict[str, Any]:
        """Every check of ``verify``, on the token as it is now: its claims as signed, or InvalidToken."""
        try:
            key_id = jwt.get_unverified_header(token).get("kid")
        except jwt.PyJWTError as error:
            raise InvalidToken(f"malformed token: {error}") from None
        keys = self._by_key_id.get(key_id)
        if keys is None or keys.pool.key not in accepted_pools:
            raise InvalidToken("token is not from a user pool this API accepts")
        check_audience = bool(keys.pool.client_ids) and not scopes  # access tokens have no aud
        try:
            claims = jwt.decode(
                token,
                keys.private_key.public_key(),
                algorithms=["RS256"],
                issuer=keys.pool.issuer,
                audience=list(keys.pool.client_ids) if check_audience else None,
                options={"require": ["exp", "iat", "iss", "sub", "token_use"], "verify_aud": check_audience},
            )
        except jwt.PyJWTError as error:
            raise InvalidToken(str(error)) from None
        if scopes:
            if claims.get("token_use") != "access":
                raise InvalidToken("a method with OAuth scopes takes access tokens, not ID tokens")
            if not set(str(claims.get("scope", "")).split()) & set(scopes):
                raise InvalidToken(f"the token carries none of the method's scopes ({' '.join(scopes)})")
        elif claims.get("token_use") != "id":
            raise InvalidToken("only ID tokens are accepted by a Cognito authorizer without scopes")
        return claims

    def _user(
        self,
        keys: _PoolKeys,
        username: str,
        groups: Sequence[str] | None = None,
        attributes: Mapping[str, str] | None = None,
    ) -> dict[str, Any]:
        with self._lock:
            users: dict[str, Any] = json.loads(keys.users_file.read_text()) if keys.users_file.exists() else {}
            user = dict(users.get(username) or {"sub": str(uuid.uuid4()), "email": f"{username}@example.com"})
            if groups is not None:
                user["groups"] = sorted(set(groups))
            if attributes:
                user["attributes"] = {**user.get("attributes", {}), **attributes}
            if users.get(username) != user:
                users[username] = user
                keys.users_file.touch(mode=0o600)
                keys.users_file.write_text(json.dumps(users, indent=2))
            return user


# Claims Cognito puts in an ID token itself, which no user attribute can set.
RESERVED_CLAIMS = frozenset(
    {"sub", "iss", "aud", "exp", "iat", "auth_time", "jti", "origin_jti", "event_id", "token_use",
     "cognito:username", "cognito:groups", "email_verified"}
)


def _claim_string(name: str, value: Any) -> str:
    """API Gateway passes every claim as a string: exp and iat as dates, a list (cognito:groups) comma-separated."""
    if name in ("exp", "iat"):
        return datetime.fromtimestamp(int(value), UTC).strftime(_CLAIM_TIME_FORMAT)
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, list):
        return ",".join(str(item) for item in value)
    return str(value)


def _load_or_create_key(path: Path) -> rsa.RSAPrivateKey:
    """The pool's key; the first process to need it creates it, any other reads that one.

    The key is written whole to a file of its own, then linked into place: the link either appears
    complete or fails because another process's key is already there, so no reader sees half a file.
    """
    path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
    if not path.exists():
        key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
        pem = key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption())
        descriptor, written = tempfile.mkstemp(dir=path.parent, prefix=".key-")
        try:
            with os.fdopen(descriptor, "wb") as handle:
                handle.write(pem)
            os.link(written, path)
            return key
        except FileExistsError:
            pass  # another process's key won: use that one
        finally:
            os.unlink(written)
    loaded = serialization.load_pem_private_key(path.read_bytes(), password=None)
    if not isinstance(loaded, rsa.RSAPrivateKey):
        raise ValueError(f"{path} does not hold an RSA private key")
    return loaded
