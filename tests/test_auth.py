"""Bearer JWT verification: signature, algorithm, key, expiry, issuer, audience and claim shapes."""

from __future__ import annotations

import base64
import datetime as dt
import hashlib
import hmac
import json
import uuid
from pathlib import Path
from typing import Any

import jwt
import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from jwt.algorithms import RSAAlgorithm

from app.adapters.jwt import AuthError, TokenVerifier, sign_token
from app.config import Settings
from app.domain.common.principal import Role
from tests.conftest import Env, token_for
from tests.factories import OrgFixture, fresh_cvr

SETTINGS = Settings.from_env({})
USER_ID = uuid.uuid4()
CVR = "12345674"
VIEWER = "query { viewer { roles user { uuid } } }"


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).decode().rstrip("=")


def _claims(settings: Settings = SETTINGS, **overrides: Any) -> dict[str, Any]:
    now = dt.datetime.now(dt.UTC)
    claims: dict[str, Any] = {
        "sub": str(USER_ID),
        "org": CVR,
        "roles": ["USER_ADMINISTRATOR"],
        "iss": settings.jwt_issuer,
        "aud": settings.jwt_audience,
        "iat": int(now.timestamp()),
        "exp": int((now + dt.timedelta(minutes=5)).timestamp()),
    }
    for key, value in overrides.items():
        if value is _DROP:
            claims.pop(key, None)
        else:
            claims[key] = value
    return claims


_DROP = object()


def _hs256(claims: dict[str, Any], secret: str = SETTINGS.jwt_secret, **headers: Any) -> str:
    return jwt.encode(claims, secret, algorithm="HS256", headers=headers or None)


def _unsigned(header: dict[str, Any], claims: dict[str, Any], signature: str = "") -> str:
    def part(obj: dict[str, Any]) -> str:
        return _b64(json.dumps(obj, separators=(",", ":")).encode())

    return f"{part(header)}.{part(claims)}.{signature}"


def _refused(verifier: TokenVerifier, token: str) -> str:
    with pytest.raises(AuthError) as info:
        verifier.verify(token)
    return info.value.message


# --- HS256 (development) -------------------------------------------------------------------------


def test_a_valid_hs256_token_is_accepted() -> None:
    principal = TokenVerifier(SETTINGS).verify(_hs256(_claims()))
    assert principal.user_id == USER_ID
    assert principal.org_cvr == CVR
    assert principal.roles == frozenset({Role.USER_ADMINISTRATOR})


def test_the_dev_signing_helper_makes_tokens_the_verifier_accepts() -> None:
    token = sign_token(SETTINGS, USER_ID, CVR, [Role.USER, Role.RIGHTS_ADMINISTRATOR])
    assert TokenVerifier(SETTINGS).verify(token).roles == frozenset({Role.USER, Role.RIGHTS_ADMINISTRATOR})


@pytest.mark.parametrize("alg", ["none", "None", "NONE", "nOnE"])
def test_an_unsigned_alg_none_token_is_refused(alg: str) -> None:
    token = _unsigned({"alg": alg, "typ": "JWT"}, _claims())
    _refused(TokenVerifier(SETTINGS), token)


def test_alg_none_stays_refused_even_if_configured() -> None:
    settings = Settings.from_env({}, jwt_algorithms=("HS256", "none"))
    _refused(TokenVerifier(settings), _unsigned({"alg": "none"}, _claims()))


def test_an_alg_none_header_with_a_valid_hs256_signature_is_refused() -> None:
    """The header says none, the signature is real: the header's algorithm decides, and is refused."""
    header = _b64(json.dumps({"alg": "none", "typ": "JWT"}).encode())
    payload = _b64(json.dumps(_claims()).encode())
    signature = hmac.new(SETTINGS.jwt_secret.encode(), f"{header}.{payload}".encode(), hashlib.sha256).digest()
    _refused(TokenVerifier(SETTINGS), f"{header}.{payload}.{_b64(signature)}")


def test_a_token_signed_with_another_secret_is_refused() -> None:
    _refused(TokenVerifier(SETTINGS), _hs256(_claims(), "another-secret-of-sufficient-length-0123456789"))


def test_a_tampered_payload_is_refused() -> None:
    token = _hs256(_claims())
    header, _payload, signature = token.split(".")
    forged = _b64(json.dumps(_claims(roles=["ORGANISATION_ADMINISTRATOR"])).encode())
    _refused(TokenVerifier(SETTINGS), f"{header}.{forged}.{signature}")


def test_an_expired_token_is_refused() -> None:
    past = int((dt.datetime.now(dt.UTC) - dt.timedelta(minutes=1)).timestamp())
    assert "expired" in _refused(TokenVerifier(SETTINGS), _hs256(_claims(exp=past))).lower()


@pytest.mark.parametrize("claim", ["exp", "iss", "aud", "sub", "org"])
def test_a_token_without_a_required_claim_is_refused(claim: str) -> None:
    _refused(TokenVerifier(SETTINGS), _hs256(_claims(**{claim: _DROP})))


def test_a_token_of_another_issuer_is_refused() -> None:
    _refused(TokenVerifier(SETTINGS), _hs256(_claims(iss="https://evil.example")))


@pytest.mark.parametrize("aud", ["someone-else", ["someone-else", "another"]])
def test_a_token_for_another_audience_is_refused(aud: Any) -> None:
    _refused(TokenVerifier(SETTINGS), _hs256(_claims(aud=aud)))


def test_issuer_and_audience_come_from_the_settings() -> None:
    settings = Settings.from_env({"JWT_ISSUER": "https://idp.example", "JWT_AUDIENCE": "gw"})
    verifier = TokenVerifier(settings)
    assert verifier.verify(_hs256(_claims(settings))).user_id == USER_ID
    _refused(verifier, _hs256(_claims()))  # the dev issuer/audience no longer do


@pytest.mark.parametrize(
    "roles",
    [
        ["GOD"],
        ["USER", "SUPERUSER"],
        "USER_ADMINISTRATOR",
        "USER",
        5,
        None,
        {"USER_ADMINISTRATOR": True},
        [["USER_ADMINISTRATOR"]],
        [None],
    ],
    ids=repr,
)
def test_malformed_roles_are_refused(roles: Any) -> None:
    _refused(TokenVerifier(SETTINGS), _hs256(_claims(roles=roles)))


@pytest.mark.parametrize("org", [12345674, None, ["12345674"]], ids=repr)
def test_a_malformed_organisation_claim_is_refused(org: Any) -> None:
    _refused(TokenVerifier(SETTINGS), _hs256(_claims(org=org)))


@pytest.mark.parametrize("sub", ["not-a-uuid", 42, None, ""])
def test_a_malformed_subject_is_refused(sub: Any) -> None:
    _refused(TokenVerifier(SETTINGS), _hs256(_claims(sub=sub)))


@pytest.mark.parametrize("token", ["", "garbage", "a.b.c", "a.b", "....", "eyJhbGciOiJIUzI1NiJ9.e30"])
def test_garbage_is_refused(token: str) -> None:
    _refused(TokenVerifier(SETTINGS), token)


def test_an_hs256_token_is_refused_when_only_rs256_is_configured(tmp_path: Path) -> None:
    key = _rsa_key()
    settings = Settings.from_env({}, jwt_algorithms=("RS256",), jwt_public_key_file=str(_write_public_pem(key, tmp_path)))
    _refused(TokenVerifier(settings), _hs256(_claims()))


# --- RS256 with a public key file (production) ---------------------------------------------------


def _rsa_key() -> rsa.RSAPrivateKey:
    return rsa.generate_private_key(public_exponent=65537, key_size=2048)


def _public_pem(key: rsa.RSAPrivateKey) -> bytes:
    return key.public_key().public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)


def _write_public_pem(key: rsa.RSAPrivateKey, tmp_path: Path) -> Path:
    path = tmp_path / "jwt-public.pem"
    path.write_bytes(_public_pem(key))
    return path


def _rs256(claims: dict[str, Any], key: rsa.RSAPrivateKey, **headers: Any) -> str:
    return jwt.encode(claims, key, algorithm="RS256", headers=headers or None)


def _hs256_with_raw_key(claims: dict[str, Any], secret: bytes) -> str:
    """HS256 by hand: PyJWT itself refuses to use a PEM key as an HMAC secret when signing."""
    header = _b64(json.dumps({"alg": "HS256", "typ": "JWT"}).encode())
    payload = _b64(json.dumps(claims).encode())
    signature = hmac.new(secret, f"{header}.{payload}".encode(), hashlib.sha256).digest()
    return f"{header}.{payload}.{_b64(signature)}"


@pytest.fixture(scope="module")
def rsa_keys() -> tuple[rsa.RSAPrivateKey, rsa.RSAPrivateKey]:
    return _rsa_key(), _rsa_key()


def test_rs256_signed_by_the_configured_key_is_accepted(tmp_path: Path, rsa_keys: Any) -> None:
    key, _other = rsa_keys
    settings = Settings.from_env(
        {}, jwt_algorithms=("RS256",), jwt_public_key_file=str(_write_public_pem(key, tmp_path))
    )
    principal = TokenVerifier(settings).verify(_rs256(_claims(), key))
    assert principal.user_id == USER_ID and principal.roles == frozenset({Role.USER_ADMINISTRATOR})


def test_rs256_signed_by_another_key_is_refused(tmp_path: Path, rsa_keys: Any) -> None:
    key, other = rsa_keys
    settings = Settings.from_env(
        {}, jwt_algorithms=("RS256",), jwt_public_key_file=str(_write_public_pem(key, tmp_path))
    )
    _refused(TokenVerifier(settings), _rs256(_claims(), other))


def test_rs256_without_a_configured_key_is_refused(rsa_keys: Any) -> None:
    key, _other = rsa_keys
    _refused(TokenVerifier(Settings.from_env({}, jwt_algorithms=("RS256",))), _rs256(_claims(), key))


@pytest.mark.parametrize("algorithms", [("RS256",), ("RS256", "HS256")], ids=["rs256-only", "rs256-and-hs256"])
def test_hs256_signed_with_the_public_key_as_secret_is_refused(
    tmp_path: Path, rsa_keys: Any, algorithms: tuple[str, ...]
) -> None:
    """Algorithm confusion: the public key is public, so it must never work as an HMAC secret."""
    key, _other = rsa_keys
    pem_path = _write_public_pem(key, tmp_path)
    settings = Settings.from_env({}, jwt_algorithms=algorithms, jwt_public_key_file=str(pem_path))
    verifier = TokenVerifier(settings)
    for secret in (pem_path.read_bytes(), pem_path.read_bytes().strip()):
        _refused(verifier, _hs256_with_raw_key(_claims(), secret))
    assert verifier.verify(_rs256(_claims(), key)).user_id == USER_ID


def test_a_token_whose_algorithm_does_not_fit_the_configured_key_is_refused(tmp_path: Path, rsa_keys: Any) -> None:
    key, _other = rsa_keys
    settings = Settings.from_env(
        {}, jwt_algorithms=("RS256", "ES256"), jwt_public_key_file=str(_write_public_pem(key, tmp_path))
    )
    _refused(TokenVerifier(settings), jwt.encode(_claims(), ec.generate_private_key(ec.SECP256R1()), algorithm="ES256"))


def test_rs256_settings_from_the_environment(tmp_path: Path, rsa_keys: Any) -> None:
    key, _other = rsa_keys
    settings = Settings.from_env(
        {"JWT_ALGORITHMS": "RS256, ES256", "JWT_PUBLIC_KEY_FILE": str(_write_public_pem(key, tmp_path))}
    )
    assert settings.jwt_algorithms == ("RS256", "ES256")
    assert TokenVerifier(settings).verify(_rs256(_claims(), key)).org_cvr == CVR


# --- JWKS file -----------------------------------------------------------------------------------


def _write_jwks(tmp_path: Path, *keys: tuple[str, rsa.RSAPrivateKey], with_alg: bool = True) -> Path:
    entries = []
    for kid, key in keys:
        jwk = json.loads(RSAAlgorithm.to_jwk(key.public_key()))
        jwk.update({"kid": kid, "use": "sig", **({"alg": "RS256"} if with_alg else {})})
        entries.append(jwk)
    path = tmp_path / "jwks.json"
    path.write_text(json.dumps({"keys": entries}))
    return path


@pytest.mark.parametrize("with_alg", [True, False], ids=["jwk-with-alg", "jwk-without-alg"])
def test_jwks_known_kid_is_accepted_and_unknown_kid_refused(tmp_path: Path, rsa_keys: Any, with_alg: bool) -> None:
    key, other = rsa_keys
    jwks = _write_jwks(tmp_path, ("k1", key), ("k2", other), with_alg=with_alg)
    settings = Settings.from_env({}, jwt_algorithms=("RS256",), jwt_jwks_file=str(jwks))
    verifier = TokenVerifier(settings)
    assert verifier.verify(_rs256(_claims(), key, kid="k1")).user_id == USER_ID
    assert verifier.verify(_rs256(_claims(), other, kid="k2")).user_id == USER_ID
    assert "unknown key" in _refused(verifier, _rs256(_claims(), key, kid="k3"))
    _refused(verifier, _rs256(_claims(), key))  # no kid at all
    _refused(verifier, _rs256(_claims(), other, kid="k1"))  # a known kid, but the other key signed it
    _refused(verifier, _rs256(_claims(), _rsa_key(), kid="k1"))  # a stranger's key under a known kid


def test_jwks_hs256_token_with_a_known_kid_is_refused(tmp_path: Path, rsa_keys: Any) -> None:
    key, _other = rsa_keys
    jwks = _write_jwks(tmp_path, ("k1", key))
    for algorithms in (("RS256",), ("RS256", "HS256")):
        settings = Settings.from_env({}, jwt_algorithms=algorithms, jwt_jwks_file=str(jwks))
        verifier = TokenVerifier(settings)
        _refused(verifier, _hs256(_claims(), kid="k1"))
        public_jwk = json.dumps(json.loads(jwks.read_text())["keys"][0]).encode()
        _refused(verifier, _hs256_with_raw_key(_claims(), public_jwk))


def test_jwks_token_of_another_key_type_under_a_known_kid_is_refused(tmp_path: Path, rsa_keys: Any) -> None:
    key, _other = rsa_keys
    settings = Settings.from_env(
        {}, jwt_algorithms=("RS256", "ES256"), jwt_jwks_file=str(_write_jwks(tmp_path, ("k1", key)))
    )
    token = jwt.encode(_claims(), ec.generate_private_key(ec.SECP256R1()), algorithm="ES256", headers={"kid": "k1"})
    _refused(TokenVerifier(settings), token)


# --- over HTTP -----------------------------------------------------------------------------------


async def _unauthenticated(env: Env, headers: dict[str, str]) -> None:
    response = await env.client.post("/graphql", json={"query": VIEWER}, headers=headers)
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["data"] is None, body
    assert [e["extensions"]["code"] for e in body["errors"]] == ["UNAUTHENTICATED"], body


async def test_a_valid_token_works_over_http(env: Env, org: OrgFixture) -> None:
    body = await env.gql(VIEWER, token=token_for(env, org, Role.USER))
    assert body == {"data": {"viewer": {"roles": ["USER"], "user": {"uuid": str(org.people[Role.USER])}}}}


@pytest.mark.parametrize(
    "header",
    ["Bearer garbage", "Bearer a.b.c", "Basic xyz", "Basic dXNlcjpwYXNz", "Bearer", "Bearer  ", "Token abc", "xyz"],
)
async def test_bad_authorization_headers_are_unauthenticated(env: Env, header: str) -> None:
    await _unauthenticated(env, {"Authorization": header})


async def test_refused_tokens_are_unauthenticated_over_http(env: Env, org: OrgFixture) -> None:
    me = str(org.people[Role.USER_ADMINISTRATOR])
    past = int((dt.datetime.now(dt.UTC) - dt.timedelta(minutes=1)).timestamp())
    settings = env.settings
    tokens = {
        "alg none": _unsigned({"alg": "none"}, _claims(settings, sub=me, org=org.cvr)),
        "wrong secret": _hs256(_claims(settings, sub=me, org=org.cvr), "x" * 48),
        "expired": _hs256(_claims(settings, sub=me, org=org.cvr, exp=past), settings.jwt_secret),
        "no exp": _hs256(_claims(settings, sub=me, org=org.cvr, exp=_DROP), settings.jwt_secret),
        "wrong issuer": _hs256(_claims(settings, sub=me, org=org.cvr, iss="evil"), settings.jwt_secret),
        "wrong audience": _hs256(_claims(settings, sub=me, org=org.cvr, aud="evil"), settings.jwt_secret),
        "unknown role": _hs256(_claims(settings, sub=me, org=org.cvr, roles=["GOD"]), settings.jwt_secret),
        "roles not a list": _hs256(_claims(settings, sub=me, org=org.cvr, roles=5), settings.jwt_secret),
        "roles null": _hs256(_claims(settings, sub=me, org=org.cvr, roles=None), settings.jwt_secret),
        "roles a string": _hs256(_claims(settings, sub=me, org=org.cvr, roles="USER"), settings.jwt_secret),
    }
    for name, token in tokens.items():
        try:
            await _unauthenticated(env, {"Authorization": f"Bearer {token}"})
        except AssertionError as exc:
            raise AssertionError(f"{name}: {exc}") from exc


async def test_a_token_of_an_unknown_organisation_is_unauthenticated(env: Env, org: OrgFixture) -> None:
    while (cvr := fresh_cvr()) == org.cvr:
        pass
    token = sign_token(env.settings, org.people[Role.USER_ADMINISTRATOR], cvr, [Role.USER_ADMINISTRATOR])
    await _unauthenticated(env, {"Authorization": f"Bearer {token}"})
    body = await env.gql(
        'mutation { createUser(input: {firstName: "A", lastName: "B", email: "a.b@example.dk", '
        'dateOfBirth: "1990-01-01"}) { userErrors { code } } }',
        token=token,
    )
    assert body["data"] is None and body["errors"][0]["extensions"]["code"] == "UNAUTHENTICATED", body

