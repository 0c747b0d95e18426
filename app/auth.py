"""Bearer JWT verification (and signing, for the dev CLI): HS256 secret in development, an RS256/
ES256 public key or a JWKS file in production. `exp`, `iss` and `aud` are required; `alg=none`
and keys we do not know are refused."""

from __future__ import annotations

import datetime as dt
import uuid
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import jwt

from app.config import Settings
from app.domain.principal import Principal, Role

ASYMMETRIC = {"RS256", "RS384", "RS512", "ES256", "ES384", "ES512", "PS256", "EdDSA"}


class AuthError(Exception):
    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


class TokenVerifier:
    def __init__(self, settings: Settings) -> None:
        self._settings = settings
        self._algorithms = [a for a in settings.jwt_algorithms if a.lower() != "none"]
        self._public_key: Any = None
        self._jwks: jwt.PyJWKSet | None = None
        if settings.jwt_public_key_file:
            self._public_key = Path(settings.jwt_public_key_file).read_text()
        if settings.jwt_jwks_file:
            self._jwks = jwt.PyJWKSet.from_json(Path(settings.jwt_jwks_file).read_text())

    def _key_for(self, token: str) -> Any:
        header = jwt.get_unverified_header(token)
        alg = header.get("alg")
        if not isinstance(alg, str) or alg not in self._algorithms:
            raise AuthError("Token algorithm not accepted")
        if self._jwks is not None:
            kid = header.get("kid")
            for key in self._jwks.keys:
                if key.key_id == kid:
                    # The PyJWK itself: PyJWT then verifies with the key's own algorithm and
                    # refuses a token whose header names another (e.g. HS256 or ES256 on an RSA key).
                    return key
            raise AuthError("Token signed with an unknown key")
        if alg in ASYMMETRIC:
            if self._public_key is None:
                raise AuthError("Token signed with an unknown key")
            return self._public_key
        return self._settings.jwt_secret

    def verify(self, token: str) -> Principal:
        try:
            claims = jwt.decode(
                token,
                self._key_for(token),
                algorithms=self._algorithms,
                audience=self._settings.jwt_audience,
                issuer=self._settings.jwt_issuer,
                options={"require": ["exp", "sub", "iss", "aud"]},
            )
        except AuthError:
            raise
        except jwt.PyJWTError as exc:
            raise AuthError(f"Invalid token: {exc}") from exc
        try:
            user_id = uuid.UUID(str(claims["sub"]))
            org = claims["org"]
            raw_roles = claims.get("roles", [])
            if not isinstance(org, str) or not isinstance(raw_roles, list):
                raise ValueError("org must be a string and roles a list")
            roles = frozenset(Role(r) for r in raw_roles)
        except (KeyError, ValueError) as exc:
            raise AuthError("Token claims sub, org and roles are malformed") from exc
        return Principal(user_id=user_id, org_cvr=org, roles=roles)


def bearer_token(header: str | None) -> str | None:
    if not header:
        return None
    scheme, _, value = header.partition(" ")
    return value.strip() if scheme.lower() == "bearer" and value.strip() else None


def sign_token(
    settings: Settings, user_id: uuid.UUID, org_cvr: str, roles: Sequence[Role], ttl: int | None = None
) -> str:
    """Development tokens (HS256 with the configured secret)."""
    now = dt.datetime.now(dt.UTC)
    claims = {
        "sub": str(user_id),
        "org": org_cvr,
        "roles": [r.value for r in roles],
        "iss": settings.jwt_issuer,
        "aud": settings.jwt_audience,
        "iat": now,
        "exp": now + dt.timedelta(seconds=ttl or settings.jwt_ttl_seconds),
    }
    return jwt.encode(claims, settings.jwt_secret, algorithm="HS256")


