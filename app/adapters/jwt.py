"""Bearer JWT verification (and signing, for the dev CLI): HS256 secret in development, an RS256/
ES256 public key or a JWKS file in production. `exp`, `iss` and `aud` are required; `alg=none`
and keys we do not know are refused; claims are read strictly (numeric dates in a sane range, one
spelling of `sub`, `org` and `roles`)."""

from __future__ import annotations

import datetime as dt
import math
import re
import time
import uuid
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import jwt

from app.config import Settings
from app.domain.common.principal import Principal, Role

CANONICAL_UUID = re.compile(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}")
CVR = re.compile(r"[0-9]{8}")
KNOWN_ROLES = frozenset(r.value for r in Role)
CLOCK_SKEW_SECONDS = 60
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
                # The dates are checked below: PyJWT compares `int(claim)`, so a string passes it.
                options={"require": ["exp", "sub", "iss", "aud"], "verify_exp": False, "verify_nbf": False,
                         "verify_iat": False},
            )
        except AuthError:
            raise
        except jwt.PyJWTError as exc:
            raise AuthError(f"Invalid token: {exc}") from exc
        expires_at = self._check_times(claims)
        return _principal_of(claims, expires_at)

    def _check_times(self, claims: dict[str, Any]) -> dt.datetime:
        """`exp`, `iat` and `nbf` must be JSON numbers (not "9999999999"), and `exp` no further ahead
        than the longest lifetime we accept (not 10^30): a token that cannot expire is refused."""
        now = time.time()
        for name in ("exp", "iat", "nbf"):
            if name in claims and not _is_number(claims[name]):
                raise AuthError(f"Token claim {name} must be a number of seconds")
        exp = float(claims["exp"])
        if exp <= now:
            raise AuthError("Token has expired")
        if exp > now + self._settings.jwt_max_lifetime_seconds + CLOCK_SKEW_SECONDS:
            raise AuthError("Token expiry is too far in the future")
        if "iat" in claims and float(claims["iat"]) > now + CLOCK_SKEW_SECONDS:
            raise AuthError("Token issued in the future")
        if "nbf" in claims and float(claims["nbf"]) > now + CLOCK_SKEW_SECONDS:
            raise AuthError("Token is not yet valid")
        return dt.datetime.fromtimestamp(exp, dt.UTC)


def _is_number(value: object) -> bool:
    # bool is an int in Python, and json.loads accepts NaN and Infinity.
    return isinstance(value, int | float) and not isinstance(value, bool) and math.isfinite(value)


def _principal_of(claims: dict[str, Any], expires_at: dt.datetime) -> Principal:
    """`sub` as a UUID in its one canonical spelling (no braces, `urn:uuid:`, upper case or missing
    hyphens: one person, one string), `org` an 8-digit CVR, `roles` a list of roles we know."""
    sub, org, raw_roles = claims.get("sub"), claims.get("org"), claims.get("roles", [])
    if not isinstance(sub, str) or not CANONICAL_UUID.fullmatch(sub):
        raise AuthError("Token claim sub must be a lowercase hyphenated UUID")
    if not isinstance(org, str) or not CVR.fullmatch(org):
        raise AuthError("Token claim org must be an 8-digit CVR number")
    if not isinstance(raw_roles, list) or not all(isinstance(r, str) and r in KNOWN_ROLES for r in raw_roles):
        raise AuthError("Token claim roles must be a list of known roles")
    return Principal(uuid.UUID(sub), org, frozenset(Role(r) for r in raw_roles), expires_at)


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


