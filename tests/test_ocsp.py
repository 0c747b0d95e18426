"""The OCSP responder (RFC 6960) through HTTP on both databases, with `cryptography` as the client:
good, revoked (time and reason, at once), unknown (a serial never issued), unauthorized (another
issuer), malformed requests answered with HTTP 200, the nonce echoed, the GET form of appendix A.1,
SHA-256 CertIDs, the delegated responder's certificate and its rotation before expiry, and one
statement per question once the responder is known."""

from __future__ import annotations

import base64
import contextlib
import dataclasses
import datetime as dt
import urllib.parse
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509 import ocsp
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID
from sqlalchemy import select, update

from app.adapters.ocsp import MAX_REQUEST_BYTES, RESPONSE_VALIDITY
from app.adapters.pki_hierarchy import RESPONDER_RENEWAL, RESPONDER_VALIDITY
from app.bootstrap import build_services
from app.domain.common.principal import Role
from app.entrypoints.http.app import create_app
from app.persistence.migrate import upgrade
from app.persistence.tables.certificates import certificate_authority
from tests.conftest import Env
from tests.factories import OrgFixture, make_org
from tests.test_certificates import (
    PASSWORD,
    REVOKE,
    gid,
    issue_user,
    issued_org_certificate,
    order_user,
    payload,
    ua,
)
from tests.test_certificates_holder import DELETE_USER
from tests.test_pki_relying_party import served_database

OCSP_REQUEST = {"Content-Type": "application/ocsp-request"}


def pem(body: dict[str, Any]) -> x509.Certificate:
    return x509.load_pem_x509_certificate(body["certificatePem"].encode())


async def issuing_ca(env: Env) -> x509.Certificate:
    return x509.load_der_x509_certificate((await env.client.get("/pki/ca.cer")).content)


def question(cert: x509.Certificate, issuer: x509.Certificate, algorithm: hashes.HashAlgorithm | None = None,
             nonce: bytes | None = None) -> bytes:
    builder = ocsp.OCSPRequestBuilder().add_certificate(cert, issuer, algorithm or hashes.SHA1())
    if nonce is not None:
        builder = builder.add_extension(x509.OCSPNonce(nonce), critical=False)
    return builder.build().public_bytes(serialization.Encoding.DER)


async def ask(env: Env, der: bytes) -> tuple[httpx.Response, ocsp.OCSPResponse]:
    response = await env.client.post("/pki/ocsp", content=der, headers=OCSP_REQUEST)
    assert response.status_code == 200, response.text  # RFC 6960 A.1: the status is in the body
    assert response.headers["content-type"] == "application/ocsp-response"
    return response, ocsp.load_der_ocsp_response(response.content)


def signed_by_responder(answer: ocsp.OCSPResponse, issuer: x509.Certificate) -> x509.Certificate:
    """The response is signed by the responder certificate it carries, which the issuing CA issued
    for OCSP signing only, with id-pkix-ocsp-nocheck."""
    assert answer.response_status is ocsp.OCSPResponseStatus.SUCCESSFUL
    [responder] = answer.certificates
    responder.verify_directly_issued_by(issuer)
    key = responder.public_key()
    assert isinstance(key, ec.EllipticCurvePublicKey)
    assert answer.signature_hash_algorithm is not None
    key.verify(answer.signature, answer.tbs_response_bytes, ec.ECDSA(answer.signature_hash_algorithm))
    assert answer.responder_key_hash == x509.SubjectKeyIdentifier.from_public_key(key).digest
    assert list(responder.extensions.get_extension_for_class(x509.ExtendedKeyUsage).value) == [
        ExtendedKeyUsageOID.OCSP_SIGNING
    ]
    assert responder.extensions.get_extension_for_class(x509.OCSPNoCheck) is not None
    usage = responder.extensions.get_extension_for_class(x509.KeyUsage)
    assert usage.critical and usage.value.digital_signature and not usage.value.key_cert_sign
    assert responder.extensions.get_extension_for_class(x509.BasicConstraints).value.ca is False
    assert responder.not_valid_after_utc - responder.not_valid_before_utc <= RESPONDER_VALIDITY
    return responder


# --- good, revoked, unknown ------------------------------------------------------------------------------


async def test_an_issued_certificate_is_good_in_a_response_signed_by_the_delegated_responder(
    env: Env, org: OrgFixture
) -> None:
    cert = pem(await issued_org_certificate(env, org))
    issuer = await issuing_ca(env)
    before = dt.datetime.now(dt.UTC).replace(microsecond=0)
    response, answer = await ask(env, question(cert, issuer, nonce=b"\x01" * 16))

    assert response.headers["cache-control"] == "no-cache"
    signed_by_responder(answer, issuer)
    assert answer.certificate_status is ocsp.OCSPCertStatus.GOOD
    assert answer.serial_number == cert.serial_number
    assert answer.revocation_time_utc is None and answer.revocation_reason is None
    assert answer.this_update_utc is not None and answer.next_update_utc is not None
    assert before <= answer.this_update_utc <= dt.datetime.now(dt.UTC)
    assert answer.next_update_utc - answer.this_update_utc == RESPONSE_VALIDITY
    assert answer.extensions.get_extension_for_class(x509.OCSPNonce).value.nonce == b"\x01" * 16

    # no nonce asked, none given; a SHA-256 CertID is answered in kind
    _, plain = await ask(env, question(cert, issuer, hashes.SHA256()))
    assert plain.certificate_status is ocsp.OCSPCertStatus.GOOD and plain.hash_algorithm.name == "sha256"
    with pytest.raises(x509.ExtensionNotFound):
        plain.extensions.get_extension_for_class(x509.OCSPNonce)


async def test_a_revocation_is_answered_at_once_with_its_time_and_reason(env: Env, org: OrgFixture) -> None:
    retrieved = await issued_org_certificate(env, org)
    cert, issuer = pem(retrieved), await issuing_ca(env)
    assert (await ask(env, question(cert, issuer)))[1].certificate_status is ocsp.OCSPCertStatus.GOOD

    revoked = payload(await env.gql(REVOKE, {"input": {"certificateId": retrieved["certificate"]["id"],
                                                       "reason": "KEY_LOST"}}, token=ua(env, org)),
                      "revokeCertificate")["certificate"]
    _, answer = await ask(env, question(cert, issuer))
    signed_by_responder(answer, issuer)
    assert answer.certificate_status is ocsp.OCSPCertStatus.REVOKED
    assert answer.revocation_reason is x509.ReasonFlags.key_compromise  # a lost key is treated as compromised
    revoked_at = dt.datetime.fromisoformat(revoked["revokedAt"]).replace(microsecond=0)
    assert answer.revocation_time_utc == revoked_at


async def test_the_certificates_of_a_deleted_holder_are_revoked_as_affiliation_changed(
    env: Env, org: OrgFixture
) -> None:
    holder = org.people[Role.USER]
    ordered = await order_user(env, org, holder)
    cert, issuer = pem(await issue_user(env, org, holder, ordered["id"], password=PASSWORD)), await issuing_ca(env)
    payload(await env.gql(DELETE_USER, {"input": {"userId": gid("User", holder)}}, token=ua(env, org)), "deleteUser")

    _, answer = await ask(env, question(cert, issuer))
    assert answer.certificate_status is ocsp.OCSPCertStatus.REVOKED
    assert answer.revocation_reason is x509.ReasonFlags.affiliation_changed


async def test_a_serial_never_issued_is_unknown_and_another_issuers_certificate_unauthorized(
    env: Env, org: OrgFixture
) -> None:
    cert, issuer = pem(await issued_org_certificate(env, org)), await issuing_ca(env)
    ours = ocsp.load_der_ocsp_request(question(cert, issuer))
    never = (
        ocsp.OCSPRequestBuilder()
        .add_certificate_by_hash(ours.issuer_name_hash, ours.issuer_key_hash, 0x1234567890ABCDEF, hashes.SHA1())
        .build()
    )
    _, answer = await ask(env, never.public_bytes(serialization.Encoding.DER))
    signed_by_responder(answer, issuer)
    assert answer.certificate_status is ocsp.OCSPCertStatus.UNKNOWN and answer.serial_number == 0x1234567890ABCDEF

    # a certificate of someone else's CA with a serial number of ours: still not ours to answer
    other_key = ec.generate_private_key(ec.SECP256R1())
    other_name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "Someone else's CA")])
    now = dt.datetime.now(dt.UTC)
    other_ca = (
        x509.CertificateBuilder().subject_name(other_name).issuer_name(other_name).public_key(other_key.public_key())
        .serial_number(1).not_valid_before(now).not_valid_after(now + dt.timedelta(days=1))
        .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
        .sign(other_key, hashes.SHA256())
    )
    foreign = (
        x509.CertificateBuilder().subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "x")]))
        .issuer_name(other_name).public_key(other_key.public_key()).serial_number(cert.serial_number)
        .not_valid_before(now).not_valid_after(now + dt.timedelta(days=1)).sign(other_key, hashes.SHA256())
    )
    _, refused = await ask(env, question(foreign, other_ca))
    assert refused.response_status is ocsp.OCSPResponseStatus.UNAUTHORIZED
    # a CertID naming our issuer's name but another key is not ours either
    mixed = (
        ocsp.OCSPRequestBuilder()
        .add_certificate_by_hash(ours.issuer_name_hash, b"\0" * 20, cert.serial_number, hashes.SHA1())
        .build()
    )
    assert (await ask(env, mixed.public_bytes(serialization.Encoding.DER)))[1].response_status is \
        ocsp.OCSPResponseStatus.UNAUTHORIZED


# --- malformed requests, the GET form -----------------------------------------------------------------------


@pytest.mark.parametrize("body", [b"", b"not an OCSP request", b"\x30\x03\x02\x01\x01", b"\x30" * 200])
async def test_a_malformed_request_is_answered_malformed_request_with_http_200(env: Env, body: bytes) -> None:
    _, answer = await ask(env, body)
    assert answer.response_status is ocsp.OCSPResponseStatus.MALFORMED_REQUEST


async def test_a_request_over_the_size_cap_is_malformed_whatever_it_holds(env: Env, org: OrgFixture) -> None:
    cert, issuer = pem(await issued_org_certificate(env, org)), await issuing_ca(env)
    padded = question(cert, issuer, nonce=b"\x07" * 32) + b"\0" * MAX_REQUEST_BYTES
    _, answer = await ask(env, padded)
    assert answer.response_status is ocsp.OCSPResponseStatus.MALFORMED_REQUEST

    async def chunks() -> Any:  # no Content-Length: the cap holds on what is sent
        for _ in range(MAX_REQUEST_BYTES // 1024 + 2):
            yield b"\0" * 1024

    streamed = await env.client.post("/pki/ocsp", content=chunks(), headers=OCSP_REQUEST)
    assert streamed.status_code == 200
    assert ocsp.load_der_ocsp_response(streamed.content).response_status is ocsp.OCSPResponseStatus.MALFORMED_REQUEST


async def test_the_get_form_takes_the_base64_request_url_encoded(env: Env, org: OrgFixture) -> None:
    cert, issuer = pem(await issued_org_certificate(env, org)), await issuing_ca(env)
    # a nonce chosen so that the base64 holds '/' and '+', which must survive the URL
    for nonce in (b"\xff\xef\xfe" * 6, b"\xfb\xff\xbf" * 6):
        encoded = base64.b64encode(question(cert, issuer, nonce=nonce)).decode()
        response = await env.client.get(f"/pki/ocsp/{urllib.parse.quote(encoded, safe='')}")
        assert response.status_code == 200 and response.headers["content-type"] == "application/ocsp-response"
        answer = ocsp.load_der_ocsp_response(response.content)
        assert answer.certificate_status is ocsp.OCSPCertStatus.GOOD
        assert answer.extensions.get_extension_for_class(x509.OCSPNonce).value.nonce == nonce
    for bad in ("!!!", "AAAA", "x" * (MAX_REQUEST_BYTES * 2)):
        response = await env.client.get(f"/pki/ocsp/{bad}")
        assert response.status_code == 200
        assert ocsp.load_der_ocsp_response(response.content).response_status is \
            ocsp.OCSPResponseStatus.MALFORMED_REQUEST


# --- the responder -------------------------------------------------------------------------------------


@contextlib.asynccontextmanager
async def own_gateway(env: Env, tmp_path: Path) -> AsyncIterator[tuple[Env, OrgFixture]]:
    """A gateway over a database of its own (same backend): the tests that move its clock leave the
    session's responder alone."""
    async with served_database(env.backend, tmp_path) as database:
        settings = dataclasses.replace(env.settings, database_url=database)
        services = build_services(settings)
        await upgrade(services.engine)
        org = await make_org(services)
        app = create_app(settings, services)
        try:
            async with app.router.lifespan_context(app), httpx.AsyncClient(
                transport=httpx.ASGITransport(app=app), base_url=str(env.client.base_url)
            ) as client:
                yield Env(env.backend, settings, services, client, env.mail), org
        finally:
            await services.engine.dispose()


async def test_the_responder_certificate_is_replaced_before_it_expires_and_its_key_is_stored_encrypted(
    env: Env, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    async with own_gateway(env, tmp_path) as (own, org):
        cert, issuer = pem(await issued_org_certificate(own, org)), await issuing_ca(own)
        first = signed_by_responder((await ask(own, question(cert, issuer)))[1], issuer)
        async with own.engine.connect() as conn:
            row = (await conn.execute(select(certificate_authority))).mappings().one()
        assert row["responder_key_pem"].startswith("-----BEGIN ENCRYPTED PRIVATE KEY-----")
        with pytest.raises((TypeError, ValueError)):
            serialization.load_pem_private_key(row["responder_key_pem"].encode(), None)

        # a day into the renewal margin: the next request gets a new responder, stored for all
        later = first.not_valid_after_utc - RESPONDER_RENEWAL + dt.timedelta(days=1)
        monkeypatch.setattr(own.services.platform, "now", lambda: later)
        _, answer = await ask(own, question(cert, issuer))
        second = signed_by_responder(answer, issuer)
        assert second.serial_number != first.serial_number and second.not_valid_before_utc > first.not_valid_before_utc
        assert answer.certificate_status is ocsp.OCSPCertStatus.GOOD
        async with own.engine.connect() as conn:
            stored = (await conn.execute(select(certificate_authority.c.responder_certificate_pem))).scalar_one()
        assert x509.load_pem_x509_certificate(stored.encode()) == second


async def test_a_database_without_a_responder_gets_one_on_the_first_question(env: Env, tmp_path: Path) -> None:
    """A CA row without a responder (as an old database has after migration 0008) is given one."""
    async with own_gateway(env, tmp_path) as (own, org):
        cert = pem(await issued_org_certificate(own, org))
        async with own.engine.begin() as conn:
            await conn.execute(update(certificate_authority).values(
                responder_certificate_pem=None, responder_key_pem=None, responder_not_after=None))
        issuer = await issuing_ca(own)
        _, answer = await ask(own, question(cert, issuer))
        responder = signed_by_responder(answer, issuer)
        assert answer.certificate_status is ocsp.OCSPCertStatus.GOOD
        async with own.engine.connect() as conn:
            stored = (await conn.execute(select(certificate_authority.c.responder_certificate_pem))).scalar_one()
        assert x509.load_pem_x509_certificate(stored.encode()) == responder


async def test_once_the_responder_is_known_a_question_costs_one_statement(env: Env, org: OrgFixture) -> None:
    cert, issuer = pem(await issued_org_certificate(env, org)), await issuing_ca(env)
    await ask(env, question(cert, issuer))
    with env.count_statements() as seen:
        _, answer = await ask(env, question(cert, issuer))
    assert answer.certificate_status is ocsp.OCSPCertStatus.GOOD
    queries = [q for q in seen if q.strip().upper() != "BEGIN"]  # SQLite's own transaction start
    assert len(queries) == 1 and "FROM certificates" in queries[0] and "serial_number" in queries[0], seen
