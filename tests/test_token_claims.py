"""Token claims are read strictly: dates are JSON numbers in a sane range, `sub` is a UUID in its one
canonical spelling, `org` an 8-digit CVR, `roles` known roles; and an upload whose bearer token does
not verify is refused before its body is read."""

from __future__ import annotations

import datetime as dt
import json
from typing import Any

import httpx
import jwt
import pytest

from app.adapters.jwt import AuthError, TokenVerifier
from app.config import Settings
from app.domain.common.principal import Role
from tests.conftest import Env
from tests.factories import OrgFixture

SETTINGS = Settings.from_env({})
VIEWER = "query { viewer { roles } }"


def _claims(settings: Settings, sub: str, org: str, **overrides: Any) -> dict[str, Any]:
    now = int(dt.datetime.now(dt.UTC).timestamp())
    claims: dict[str, Any] = {
        "sub": sub, "org": org, "roles": ["USER_ADMINISTRATOR"], "iss": settings.jwt_issuer,
        "aud": settings.jwt_audience, "iat": now, "exp": now + 300,
    }
    claims.update(overrides)
    return claims


def _token(settings: Settings, claims: dict[str, Any]) -> str:
    return jwt.encode(claims, settings.jwt_secret, algorithm="HS256")


def _now() -> int:
    return int(dt.datetime.now(dt.UTC).timestamp())


# Each is accepted by a lenient reader (PyJWT's `int(claim)`, `uuid.UUID(str(sub))`).
LENIENT_DATES = {
    "exp a string": {"exp": "9999999999"},
    "exp a numeric string near now": {"exp": str(_now() + 300)},
    "exp 10^30": {"exp": 10**30},
    "exp 1e30 float": {"exp": 1e30},
    "exp beyond the max lifetime": {"exp": _now() + SETTINGS.jwt_max_lifetime_seconds + 3600},
    "exp true": {"exp": True},
    "exp NaN": {"exp": float("nan")},
    "exp Infinity": {"exp": float("inf")},
    "exp a list": {"exp": [_now() + 300]},
    "iat a string": {"iat": str(_now())},
    "iat in the future": {"iat": _now() + 3600},
    "nbf a string": {"nbf": str(_now())},
    "nbf in the future": {"nbf": _now() + 3600},
}


def _lenient_subjects(user: str) -> dict[str, str]:
    return {
        "braces": "{" + user + "}",
        "urn": f"urn:uuid:{user}",
        "upper case": user.upper(),
        "no hyphens": user.replace("-", ""),
        "surrounding space": f" {user} ",
    }


LENIENT_ORGS = {"7 digits": "1234567", "9 digits": "123456789", "letters": "1234567a",
                "space": " 12345674", "unicode digits": "١٢٣٤٥٦٧٤", "DK prefix": "DK12345674"}


@pytest.mark.parametrize("name", list(LENIENT_DATES))
def test_dates_that_are_not_sane_numbers_are_refused(name: str) -> None:
    claims = _claims(SETTINGS, "6f1c2c2e-9a4b-4c51-8f0e-3f7d2b1a0c9e", "12345674", **LENIENT_DATES[name])
    with pytest.raises(AuthError):
        TokenVerifier(SETTINGS).verify(_token(SETTINGS, claims))


def test_a_token_within_the_max_lifetime_is_accepted_and_carries_its_expiry() -> None:
    exp = _now() + SETTINGS.jwt_max_lifetime_seconds - 60
    claims = _claims(SETTINGS, "6f1c2c2e-9a4b-4c51-8f0e-3f7d2b1a0c9e", "12345674", exp=exp, nbf=_now() - 5)
    principal = TokenVerifier(SETTINGS).verify(_token(SETTINGS, claims))
    assert principal.expires_at == dt.datetime.fromtimestamp(exp, dt.UTC)


def test_the_max_lifetime_is_configurable() -> None:
    settings = Settings.from_env({"JWT_MAX_LIFETIME_SECONDS": "600"})
    claims = _claims(settings, "6f1c2c2e-9a4b-4c51-8f0e-3f7d2b1a0c9e", "12345674", exp=_now() + 3600)
    with pytest.raises(AuthError, match="too far"):
        TokenVerifier(settings).verify(_token(settings, claims))


@pytest.mark.parametrize("spelling", ["braces", "urn", "upper case", "no hyphens", "surrounding space"])
def test_a_subject_in_a_non_canonical_spelling_is_refused(spelling: str) -> None:
    sub = _lenient_subjects("6f1c2c2e-9a4b-4c51-8f0e-3f7d2b1a0c9e")[spelling]
    with pytest.raises(AuthError, match="sub"):
        TokenVerifier(SETTINGS).verify(_token(SETTINGS, _claims(SETTINGS, sub, "12345674")))


@pytest.mark.parametrize("name", list(LENIENT_ORGS))
def test_an_organisation_that_is_not_eight_digits_is_refused(name: str) -> None:
    claims = _claims(SETTINGS, "6f1c2c2e-9a4b-4c51-8f0e-3f7d2b1a0c9e", LENIENT_ORGS[name])
    with pytest.raises(AuthError, match="org"):
        TokenVerifier(SETTINGS).verify(_token(SETTINGS, claims))


@pytest.mark.parametrize("roles", [["user"], ["USER", 1], ["USER_ADMINISTRATOR "]], ids=repr)
def test_roles_must_be_known_role_strings(roles: Any) -> None:
    claims = _claims(SETTINGS, "6f1c2c2e-9a4b-4c51-8f0e-3f7d2b1a0c9e", "12345674", roles=roles)
    with pytest.raises(AuthError, match="roles"):
        TokenVerifier(SETTINGS).verify(_token(SETTINGS, claims))


async def test_lenient_tokens_of_a_real_person_are_unauthenticated_over_http(env: Env, org: OrgFixture) -> None:
    """The same person and organisation, accepted in canonical form, refused in every other."""
    me = str(org.people[Role.USER_ADMINISTRATOR])
    good = _token(env.settings, _claims(env.settings, me, org.cvr))
    assert (await env.gql(VIEWER, token=good))["data"]["viewer"]["roles"] == ["USER_ADMINISTRATOR"]
    bad = {name: _claims(env.settings, me, org.cvr, **over) for name, over in LENIENT_DATES.items()}
    bad |= {f"sub {name}": _claims(env.settings, sub, org.cvr) for name, sub in _lenient_subjects(me).items()}
    bad["org with a space"] = _claims(env.settings, me, f" {org.cvr}")
    for name, claims in bad.items():
        body = await env.gql(VIEWER, token=_token(env.settings, claims))
        assert body["data"] is None, name
        assert body["errors"][0]["extensions"]["code"] == "UNAUTHENTICATED", (name, body)


# --- the upload guard --------------------------------------------------------------------------


async def _raw_upload(env: Env, authorization: str | None) -> tuple[int, dict[str, Any], bool]:
    """A multipart POST straight into the ASGI app, with a body that records being read."""
    app = env.client._transport.app  # type: ignore[attr-defined]
    body_read = False

    async def receive() -> dict[str, Any]:
        nonlocal body_read
        body_read = True
        return {"type": "http.request", "body": b"--x--\r\n", "more_body": False}

    sent: list[dict[str, Any]] = []

    async def send(message: dict[str, Any]) -> None:
        sent.append(message)

    headers = [(b"content-type", b"multipart/form-data; boundary=x"), (b"content-length", b"7")]
    if authorization is not None:
        headers.append((b"authorization", authorization.encode()))
    scope = {"type": "http", "method": "POST", "path": "/graphql", "raw_path": b"/graphql", "query_string": b"",
             "headers": headers, "scheme": "http", "server": ("testserver", 80), "client": ("127.0.0.1", 1),
             "http_version": "1.1", "asgi": {"version": "3.0"}, "root_path": ""}
    await app(scope, receive, send)
    start = next(m for m in sent if m["type"] == "http.response.start")
    payload = b"".join(m.get("body", b"") for m in sent if m["type"] == "http.response.body")
    try:
        return start["status"], json.loads(payload), body_read
    except ValueError:  # a malformed body's answer is another engineer's business here
        return start["status"], {"raw": payload.decode(errors="replace")}, body_read


async def test_an_upload_with_a_bogus_bearer_token_is_refused_before_its_body_is_read(
    env: Env, org: OrgFixture
) -> None:
    me = str(org.people[Role.USER_ADMINISTRATOR])
    tokens = {
        "garbage": "not-a-jwt",
        "wrong secret": jwt.encode(_claims(env.settings, me, org.cvr), "x" * 48, algorithm="HS256"),
        "exp a string": _token(env.settings, _claims(env.settings, me, org.cvr, exp="9999999999")),
        "expired": _token(env.settings, _claims(env.settings, me, org.cvr, exp=_now() - 10)),
        "sub in braces": _token(env.settings, _claims(env.settings, "{" + me + "}", org.cvr)),
    }
    for name, token in tokens.items():
        status, body, body_read = await _raw_upload(env, f"Bearer {token}")
        assert status == 401, (name, status, body)
        assert body["errors"][0]["extensions"]["code"] == "UNAUTHENTICATED", (name, body)
        assert not body_read, f"{name}: the body was read"


async def test_an_upload_with_a_valid_token_reaches_the_graphql_endpoint(env: Env, org: OrgFixture) -> None:
    """The guard lets a verified token through: the (empty) multipart body is then read and refused
    by the GraphQL view, not by the guard."""
    me = str(org.people[Role.USER_ADMINISTRATOR])
    status, body, body_read = await _raw_upload(env, f"Bearer {_token(env.settings, _claims(env.settings, me, org.cvr))}")
    assert body_read
    assert status != 401, body


async def test_a_multipart_request_with_a_bogus_token_gets_401_over_http(env: Env) -> None:
    response = await env.client.post(
        "/graphql", headers={"Authorization": "Bearer a.b.c"},
        data={"operations": json.dumps({"query": "{ viewer { roles } }", "variables": {}}), "map": "{}"},
        files={"0": ("x.csv", b"a;b\r\n", "text/csv")},
    )
    assert response.status_code == 401
    assert response.json()["errors"][0]["extensions"]["code"] == "UNAUTHENTICATED"
    assert isinstance(response, httpx.Response)
