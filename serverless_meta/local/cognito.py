"""Local stand-ins for the template's Cognito user pools: users, ID tokens, and their checks.

Each pool gets an RSA key and a user list under the state directory, so that tokens printed
by ``serverless-meta token`` in one process are accepted by ``serverless-meta local`` in
another, across restarts. Tokens are checked as API Gateway's Cognito authorizer checks
them: signature, expiry, issuer, audience (an app client of the pool) and ``token_use``.
"""

from __future__ import annotations

import json
import os
import threading
import time
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import jwt
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa

from serverless_meta.local.template import UserPool, local_id

TOKEN_LIFETIME_SECONDS = 3600
_CLAIM_TIME_FORMAT = "%a %b %d %H:%M:%S UTC %Y"


class InvalidToken(Exception):
    """The token is missing, malformed, forged, expired, or for another pool or client."""


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
        for key, pool in pools.items():
            directory = state_dir / "cognito" / local_id(key, 12)
            keys = _PoolKeys(pool, local_id(f"{key}/key", 20), _load_or_create_key(directory / "key.pem"), directory / "users.json")
            self._pools[key] = keys
            self._by_key_id[keys.key_id] = keys

    @property
    def pools(self) -> dict[str, UserPool]:
        return {key: keys.pool for key, keys in self._pools.items()}

    def issue_id_token(
        self, pool_key: str, username: str, *, client_id: str | None = None, lifetime: int = TOKEN_LIFETIME_SECONDS
    ) -> str:
        """An ID token for ``username`` (created on first use), as Cognito would sign it."""
        keys = self._pools[pool_key]
        audience = client_id or (keys.pool.client_ids[0] if keys.pool.client_ids else "local-client")
        user = self._user(keys, username)
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
        return jwt.encode(claims, keys.private_key, algorithm="RS256", headers={"kid": keys.key_id})

    def verify(self, token: str, accepted_pools: tuple[str, ...]) -> dict[str, str]:
        """The token's claims as API Gateway hands them to the function (all strings), or InvalidToken."""
        try:
            key_id = jwt.get_unverified_header(token).get("kid")
        except jwt.PyJWTError as error:
            raise InvalidToken(f"malformed token: {error}") from None
        keys = self._by_key_id.get(key_id)
        if keys is None or keys.pool.key not in accepted_pools:
            raise InvalidToken("token is not from a user pool this API accepts")
        try:
            claims = jwt.decode(
                token,
                keys.private_key.public_key(),
                algorithms=["RS256"],
                issuer=keys.pool.issuer,
                audience=list(keys.pool.client_ids) or None,
                options={"require": ["exp", "iat", "iss", "sub", "token_use"], "verify_aud": bool(keys.pool.client_ids)},
            )
        except jwt.PyJWTError as error:
            raise InvalidToken(str(error)) from None
        if claims.get("token_use") != "id":
            raise InvalidToken("only ID tokens are accepted by a Cognito authorizer without scopes")
        return {name: _claim_string(name, value) for name, value in claims.items()}

    def _user(self, keys: _PoolKeys, username: str) -> dict[str, str]:
        with self._lock:
            users: dict[str, Any] = json.loads(keys.users_file.read_text()) if keys.users_file.exists() else {}
            if username not in users:
                users[username] = {"sub": str(uuid.uuid4()), "email": f"{username}@example.com"}
                keys.users_file.touch(mode=0o600)
                keys.users_file.write_text(json.dumps(users, indent=2))
            return users[username]


def _claim_string(name: str, value: Any) -> str:
    """API Gateway passes every claim as a string; exp and iat as dates."""
    if name in ("exp", "iat"):
        return datetime.fromtimestamp(int(value), UTC).strftime(_CLAIM_TIME_FORMAT)
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


def _load_or_create_key(path: Path) -> rsa.RSAPrivateKey:
    """The pool's key; the first process to need it creates it, any other reads that one."""
    path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048) if not path.exists() else None
    if key is not None:
        pem = key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption())
        try:
            descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        except FileExistsError:
            key = None
        else:
            with os.fdopen(descriptor, "wb") as handle:
                handle.write(pem)
            return key
    loaded = serialization.load_pem_private_key(path.read_bytes(), password=None)
    if not isinstance(loaded, rsa.RSAPrivateKey):
        raise ValueError(f"{path} does not hold an RSA private key")
    return loaded
