"""Certificates through HTTP on both databases: the life of user and organisation certificates,
real X.509 checked against the CA (with `cryptography`, and `openssl` when installed), the CRL,
roles, wrong states, tenant isolation, the CSV export and the read path's statement count."""

from __future__ import annotations

import base64
import csv
import datetime as dt
import io
import shutil
import subprocess
import uuid
from pathlib import Path
from typing import Any

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from cryptography.hazmat.primitives.serialization import pkcs12
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID
from sqlalchemy import select, update

from app.adapters.jwt import sign_token
from app.domain.common.organisation import OrganisationSettings
from app.domain.common.principal import Role
from app.domain.users import lifecycle as uc
from app.domain.users.rules import NewUser
from app.entrypoints.cli.seed import activate_directly
from app.persistence.tables.activity import activities
from app.persistence.tables.certificates import certificate_authority, certificates
from app.schema.runtime.base import to_global_id
from tests.conftest import Env, token_for
from tests.factories import OrgFixture, make_org

OPENSSL = shutil.which("openssl")
PASSWORD = "correct horse battery"

ORDER_USER = """mutation($input: OrderUserCertificateInput!) { orderUserCertificate(input: $input) {
    certificate { id uuid kind type qualified status issuance name email user { uuid } }
    userErrors { field code message } } }"""
ISSUE_USER = """mutation($input: IssueCertificateInput!) { issueUserCertificate(input: $input) {
    certificate { id status serialNumber subject notBefore notAfter issuance fingerprintSha256 }
    certificatePem pkcs12 userErrors { field code message } } }"""
ORDER_ORG = """mutation($input: OrderOrganisationCertificateInput!) { orderOrganisationCertificate(input: $input) {
    certificate { id uuid kind status name email contactName contactEmail pNumber purposes
                  profile { id uuid name email contactName contactEmail } }
    userErrors { field code message } } }"""
RETRIEVE = """mutation($input: IssueCertificateInput!) { retrieveOrganisationCertificate(input: $input) {
    certificate { id status serialNumber subject issuance } certificatePem pkcs12 userErrors { field code message } } }"""
RENEW = """mutation($input: IssueCertificateInput!) { renewCertificate(input: $input) {
    certificate { id uuid status serialNumber systemRights canSeal predecessor { id } }
    certificatePem pkcs12 userErrors { field code message } } }"""
REVOKE = """mutation($input: RevokeCertificateInput!) { revokeCertificate(input: $input) {
    certificate { id status revokedAt revocationReason } userErrors { field code message } } }"""
CANCEL = """mutation($input: CertificateIdInput!) { cancelCertificateOrder(input: $input) {
    certificate { id status cancelledAt } userErrors { field code message } } }"""
DELETE = """mutation($input: CertificateIdInput!) { deleteCertificate(input: $input) {
    deletedCertificateId userErrors { field code message } } }"""
RIGHTS = """mutation($input: UpdateCertificateRightsInput!) { updateCertificateRights(input: $input) {
    certificate { id systemRights canSeal allowUserSigning } userErrors { field code message } } }"""
CERTIFICATE = """query($id: ID!) { certificate(id: $id) {
    id uuid kind type status serialNumber name email notAfter revocationReason systemRights canSeal
    allowUserSigning user { uuid } predecessor { id } successor { id } } }"""
LIST = """query($filter: CertificateFilter, $orderBy: CertificateOrderInput, $first: Int) {
    certificates(filter: $filter, orderBy: $orderBy, first: $first) {
        totalCount edges { node { id uuid kind status name serialNumber notAfter } } } }"""


# --- helpers ----------------------------------------------------------------------------------------


def ua(env: Env, org: OrgFixture) -> str:
    return token_for(env, org, Role.USER_ADMINISTRATOR)


def holder_token(env: Env, org: OrgFixture, user_id: uuid.UUID) -> str:
    return sign_token(env.settings, user_id, org.cvr, [Role.USER])


def gid(kind: str, raw: Any = None) -> str:
    return str(to_global_id(kind, raw if raw is not None else uuid.uuid4()))


def ok(body: dict[str, Any]) -> dict[str, Any]:
    assert "errors" not in body, body
    return body["data"]


def payload(body: dict[str, Any], name: str, *codes: str) -> dict[str, Any]:
    """The mutation's payload, asserting exactly these userErrors codes (none by default)."""
    result = ok(body)[name]
    assert [e["code"] for e in result["userErrors"]] == list(codes), result
    return result


def forbidden(body: dict[str, Any]) -> None:
    assert body["errors"][0]["extensions"]["code"] == "FORBIDDEN", body
    assert all(v is None for v in (body.get("data") or {}).values()), body


async def order_user(env: Env, org: OrgFixture, user_id: uuid.UUID, **extra: Any) -> dict[str, Any]:
    body = await env.gql(ORDER_USER, {"input": {"userId": gid("User", user_id), **extra}}, token=ua(env, org))
    return payload(body, "orderUserCertificate")["certificate"]


async def issue_user(env: Env, org: OrgFixture, user_id: uuid.UUID, cert_id: str, **extra: Any) -> dict[str, Any]:
    body = await env.gql(ISSUE_USER, {"input": {"certificateId": cert_id, **extra}}, token=holder_token(env, org, user_id))
    return payload(body, "issueUserCertificate")


async def order_org(env: Env, org: OrgFixture, name: str | None = None, **extra: Any) -> dict[str, Any]:
    data = {"name": name or f"Lønsystem {uuid.uuid4().hex[:6]}", "email": f"system.{org.cvr}@example.dk",
            "contactName": "Kim Kontakt", "contactEmail": "kim.kontakt@example.dk", **extra}
    body = await env.gql(ORDER_ORG, {"input": data}, token=ua(env, org))
    return payload(body, "orderOrganisationCertificate")["certificate"]


async def issued_org_certificate(env: Env, org: OrgFixture, **extra: Any) -> dict[str, Any]:
    ordered = await order_org(env, org, **extra)
    body = await env.gql(RETRIEVE, {"input": {"certificateId": ordered["id"], "password": PASSWORD}}, token=ua(env, org))
    return {**payload(body, "retrieveOrganisationCertificate"), "ordered": ordered}


async def ca_certificate(env: Env) -> x509.Certificate:
    response = await env.client.get("/pki/ca.pem")
    assert response.status_code == 200, response.text
    return x509.load_pem_x509_certificate(response.content)


async def crl(env: Env) -> x509.CertificateRevocationList:
    response = await env.client.get("/pki/crl.pem")
    assert response.status_code == 200, response.text
    return x509.load_pem_x509_crl(response.content)


def csr_for(key: Any) -> str:
    request = (
        x509.CertificateSigningRequestBuilder()
        .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "Asked for, ignored")]))
        .sign(key, hashes.SHA256())
    )
    return request.public_bytes(serialization.Encoding.PEM).decode()


def openssl(*args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    assert OPENSSL is not None
    return subprocess.run([OPENSSL, *args], capture_output=True, text=True, cwd=cwd, timeout=60)


def verify_against_ca(cert: x509.Certificate, ca: x509.Certificate, tmp_path: Path) -> None:
    """Always with `cryptography`; with the `openssl` binary too when it is installed."""
    cert.verify_directly_issued_by(ca)
    if OPENSSL is None:
        return
    (tmp_path / "ca.pem").write_bytes(ca.public_bytes(serialization.Encoding.PEM))
    (tmp_path / "cert.pem").write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    text = openssl("x509", "-in", "cert.pem", "-noout", "-text", cwd=tmp_path)
    assert text.returncode == 0, text.stderr
    # the issuing CA as the anchor (its root is checked in tests/test_pki_relying_party.py)
    verified = openssl("verify", "-partial_chain", "-CAfile", "ca.pem", "cert.pem", cwd=tmp_path)
    assert verified.returncode == 0 and "cert.pem: OK" in verified.stdout, (verified.stdout, verified.stderr)


def subject_value(cert: x509.Certificate, oid: x509.ObjectIdentifier) -> str | None:
    found = cert.subject.get_attributes_for_oid(oid)
    return str(found[0].value) if found else None


async def active_user(env: Env, org: OrgFixture, first: str, last: str, email: str | None = None) -> uuid.UUID:
    """An activated user made through the use cases (the person's own first login skipped)."""
    async with env.services.unit_of_work(org.actor()) as uow:
        created = await uc.create_user(
            uow,
            NewUser(first_name=first, last_name=last, email=email or f"{first.lower()}.{uuid.uuid4().hex[:8]}@example.dk",
                       date_of_birth="1985-03-04"),
            send=False,
        )
        await activate_directly(uow, created.user, dt.datetime.now(dt.UTC))
        await uow.commit()
    return created.user.id


async def history_types(env: Env, org: OrgFixture, user_id: uuid.UUID | None = None) -> list[str]:
    where = [activities.c.org_id == org.org_id]
    if user_id is not None:
        where.append(activities.c.target_user_id == user_id)
    async with env.engine.connect() as conn:
        rows = await conn.execute(select(activities.c.type).where(*where).order_by(activities.c.id))
    return [r.type for r in rows]


async def certificate_row(env: Env, cert_uuid: str) -> dict[str, Any] | None:
    async with env.engine.connect() as conn:
        row = (await conn.execute(select(certificates).where(certificates.c.id == uuid.UUID(cert_uuid)))).mappings().first()
    return dict(row) if row else None


# --- user certificates -----------------------------------------------------------------------------------


async def test_a_user_certificate_is_ordered_emailed_issued_with_a_generated_key_and_verifies_against_the_ca(
    env: Env, org: OrgFixture, tmp_path: Path
) -> None:
    holder = org.people[Role.USER]
    ordered = await order_user(env, org, holder)
    assert ordered["status"] == "ORDERED" and ordered["kind"] == "USER" and ordered["issuance"] == "SOFTWARE"
    assert ordered["email"] == org.emails[Role.USER] and ordered["user"] == {"uuid": str(holder)}

    mail = (await env.mail.wait_for(org.emails[Role.USER]))[-1]
    assert f"http://testserver/certificates/{ordered['uuid']}" in mail.get_payload(decode=True).decode()
    page = await env.client.get(f"/certificates/{ordered['uuid']}")
    assert page.status_code == 200 and ordered["id"] in page.text and "issueUserCertificate" in page.text

    issued = await issue_user(env, org, holder, ordered["id"], password=PASSWORD)
    assert issued["certificate"]["status"] == "ISSUED"
    cert = x509.load_pem_x509_certificate(issued["certificatePem"].encode())
    key, bundled, extra = pkcs12.load_key_and_certificates(base64.b64decode(issued["pkcs12"]), PASSWORD.encode())
    assert bundled == cert and isinstance(key, rsa.RSAPrivateKey)
    assert key.public_key().public_numbers() == cert.public_key().public_numbers()  # type: ignore[union-attr]
    ca = await ca_certificate(env)
    root = x509.load_pem_x509_certificate((await env.client.get("/pki/root.pem")).content)
    assert extra == [ca, root]  # the chain: issuing CA, root
    verify_against_ca(cert, ca, tmp_path)

    # subject, as OCES3: the organisation with its CVR, the employee's UUID and names, the email
    assert subject_value(cert, NameOID.SERIAL_NUMBER) == f"UI:DK-E:G:{holder}"
    assert subject_value(cert, NameOID.ORGANIZATION_IDENTIFIER) == f"NTRDK-{org.cvr}"
    assert subject_value(cert, NameOID.ORGANIZATION_NAME) == org.name
    assert subject_value(cert, NameOID.COMMON_NAME) == ordered["name"]
    assert subject_value(cert, NameOID.GIVEN_NAME) == "User" and subject_value(cert, NameOID.SURNAME)
    assert f"User {subject_value(cert, NameOID.SURNAME)}" == ordered["name"]
    assert subject_value(cert, NameOID.PSEUDONYM) is None and subject_value(cert, NameOID.COUNTRY_NAME) == "DK"
    assert subject_value(cert, NameOID.EMAIL_ADDRESS) == org.emails[Role.USER]
    san = cert.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
    assert san.get_values_for_type(x509.RFC822Name) == [org.emails[Role.USER]]
    assert issued["certificate"]["subject"] == cert.subject.rfc4514_string()
    # usages: signing and authentication, never a CA
    usage = cert.extensions.get_extension_for_class(x509.KeyUsage)
    assert usage.critical and usage.value.digital_signature and usage.value.content_commitment
    assert not usage.value.key_cert_sign and not usage.value.crl_sign
    assert cert.extensions.get_extension_for_class(x509.BasicConstraints).value.ca is False
    eku = cert.extensions.get_extension_for_class(x509.ExtendedKeyUsage).value
    assert ExtendedKeyUsageOID.CLIENT_AUTH in eku and ExtendedKeyUsageOID.EMAIL_PROTECTION in eku
    # dates: from now, three years; a random 159-bit serial, stored as hex
    now = dt.datetime.now(dt.UTC)
    assert abs((cert.not_valid_before_utc - now).total_seconds()) < 120
    assert 365 * 3 <= (cert.not_valid_after_utc - cert.not_valid_before_utc).days <= 365 * 3 + 1
    assert 0 < cert.serial_number < 2**159
    assert issued["certificate"]["serialNumber"] == f"{cert.serial_number:040X}"
    assert issued["certificate"]["fingerprintSha256"] == cert.fingerprint(hashes.SHA256()).hex().upper()

    # the holder and the administrators see it; issuing twice is refused
    mine = ok(await env.gql(CERTIFICATE, {"id": ordered["id"]}, token=holder_token(env, org, holder)))["certificate"]
    assert mine["status"] == "ISSUED" and mine["user"] == {"uuid": str(holder)}
    again = await env.gql(ISSUE_USER, {"input": {"certificateId": ordered["id"], "password": PASSWORD}},
                          token=holder_token(env, org, holder))
    payload(again, "issueUserCertificate", "ALREADY_ISSUED")

    # revocation is final and published in the CRL at once
    revoked = payload(await env.gql(REVOKE, {"input": {"certificateId": ordered["id"], "reason": "KEY_LOST"}},
                                    token=ua(env, org)), "revokeCertificate")
    assert revoked["certificate"]["status"] == "REVOKED" and revoked["certificate"]["revocationReason"] == "KEY_LOST"
    listed = await crl(env)
    assert listed.is_signature_valid(ca.public_key())  # type: ignore[arg-type]
    entry = listed.get_revoked_certificate_by_serial_number(cert.serial_number)
    assert entry is not None
    assert entry.extensions.get_extension_for_class(x509.CRLReason).value.reason is x509.ReasonFlags.key_compromise
    twice = await env.gql(REVOKE, {"input": {"certificateId": ordered["id"], "reason": "KEY_DESTROYED"}}, token=ua(env, org))
    payload(twice, "revokeCertificate", "ALREADY_REVOKED")
    if OPENSSL is not None:
        (tmp_path / "crl.pem").write_bytes(listed.public_bytes(serialization.Encoding.PEM))
        checked = openssl("verify", "-partial_chain", "-crl_check", "-CAfile", "ca.pem", "-CRLfile", "crl.pem", "cert.pem", cwd=tmp_path)
        assert checked.returncode != 0 and "revoked" in (checked.stdout + checked.stderr), checked

    assert (await history_types(env, org, holder))[-3:] == [
        "CERTIFICATE_ORDERED", "CERTIFICATE_ISSUED", "CERTIFICATE_REVOKED",
    ]


async def test_a_qualified_hardware_certificate_is_issued_from_the_holders_csr(env: Env, tmp_path: Path) -> None:
    org = await make_org(env.services, settings=OrganisationSettings(qualified_certificates_allowed=True))
    holder = org.people[Role.USER]
    ordered = await order_user(env, org, holder, type="QUALIFIED", issuance="HARDWARE")
    assert ordered["qualified"] is True and ordered["type"] == "QUALIFIED"
    token = holder_token(env, org, holder)
    variables = {"input": {"certificateId": ordered["id"], "password": PASSWORD}}
    payload(await env.gql(ISSUE_USER, variables, token=token), "issueUserCertificate", "CSR_REQUIRED")
    variables = {"input": {"certificateId": ordered["id"], "csr": "-----BEGIN CERTIFICATE REQUEST-----\nbm9wZQ==\n"}}
    payload(await env.gql(ISSUE_USER, variables, token=token), "issueUserCertificate", "INVALID_CSR")
    weak = csr_for(rsa.generate_private_key(public_exponent=65537, key_size=1024))
    variables = {"input": {"certificateId": ordered["id"], "csr": weak}}
    payload(await env.gql(ISSUE_USER, variables, token=token), "issueUserCertificate", "WEAK_KEY")

    device_key = ec.generate_private_key(ec.SECP256R1())
    issued = await issue_user(env, org, holder, ordered["id"], csr=csr_for(device_key))
    assert issued["pkcs12"] is None and issued["certificate"]["issuance"] == "HARDWARE"
    cert = x509.load_pem_x509_certificate(issued["certificatePem"].encode())
    assert cert.public_key() == device_key.public_key()
    assert subject_value(cert, NameOID.COMMON_NAME) != "Asked for, ignored"
    assert subject_value(cert, NameOID.SERIAL_NUMBER) == f"UI:DK-E:G:{holder}"
    usage = cert.extensions.get_extension_for_class(x509.KeyUsage).value
    assert usage.digital_signature and usage.content_commitment and not usage.key_encipherment
    policies = cert.extensions.get_extension_for_class(x509.CertificatePolicies).value
    # ours, then ETSI EN 319 411-2's QCP-n; the QC statements are checked in tests/test_pkilint.py
    assert [p.policy_identifier.dotted_string for p in policies] == [f"{env.settings.pki_policy_oid}.2", "0.4.0.194112.1.0"]
    assert not cert.extensions.get_extension_for_oid(x509.ObjectIdentifier("1.3.6.1.5.5.7.1.3")).critical
    verify_against_ca(cert, await ca_certificate(env), tmp_path)


async def test_an_order_can_be_cancelled_and_then_neither_issued_nor_cancelled_again(env: Env, org: OrgFixture) -> None:
    holder = org.people[Role.USER]
    ordered = await order_user(env, org, holder)
    cancelled = payload(await env.gql(CANCEL, {"input": {"certificateId": ordered["id"]}}, token=ua(env, org)),
                        "cancelCertificateOrder")
    assert cancelled["certificate"]["status"] == "CANCELLED" and cancelled["certificate"]["cancelledAt"]
    payload(await env.gql(CANCEL, {"input": {"certificateId": ordered["id"]}}, token=ua(env, org)),
            "cancelCertificateOrder", "ORDER_CANCELLED")
    body = await env.gql(ISSUE_USER, {"input": {"certificateId": ordered["id"], "password": PASSWORD}},
                         token=holder_token(env, org, holder))
    payload(body, "issueUserCertificate", "ORDER_CANCELLED")
    revoke = await env.gql(REVOKE, {"input": {"certificateId": ordered["id"], "reason": "HOLDER_LEFT"}}, token=ua(env, org))
    payload(revoke, "revokeCertificate", "ORDER_CANCELLED")
    deleted = payload(await env.gql(DELETE, {"input": {"certificateId": ordered["id"]}}, token=ua(env, org)),
                      "deleteCertificate")
    assert deleted["deletedCertificateId"] == ordered["id"]
    assert await certificate_row(env, ordered["uuid"]) is None
    types = await history_types(env, org, holder)
    assert types[-3:] == ["CERTIFICATE_ORDERED", "CERTIFICATE_ORDER_CANCELLED", "CERTIFICATE_DELETED"]


async def test_only_the_holder_issues_a_user_certificate_others_get_not_found(env: Env, org: OrgFixture) -> None:
    ordered = await order_user(env, org, org.people[Role.USER])
    for role in (Role.RIGHTS_ADMINISTRATOR, Role.USER_ADMINISTRATOR):
        body = await env.gql(ISSUE_USER, {"input": {"certificateId": ordered["id"], "password": PASSWORD}},
                             token=token_for(env, org, role))
        result = payload(body, "issueUserCertificate", "NOT_FOUND")
        assert result["certificatePem"] is None and result["pkcs12"] is None
    # a plain user sees only their own certificates
    other = await order_user(env, org, org.people[Role.RIGHTS_ADMINISTRATOR])
    body = await env.gql(CERTIFICATE, {"id": other["id"]}, token=holder_token(env, org, org.people[Role.USER]))
    assert ok(body) == {"certificate": None}
    row = await certificate_row(env, ordered["uuid"])
    assert row is not None and row["status"] == "ORDERED" and row["serial_number"] is None


async def test_a_renewed_user_certificate_is_ordered_for_the_holder_and_linked(env: Env, org: OrgFixture) -> None:
    holder = org.people[Role.USER]
    first = await order_user(env, org, holder)
    await issue_user(env, org, holder, first["id"], password=PASSWORD)
    payload(await env.gql(RENEW, {"input": {"certificateId": first["id"], "password": PASSWORD}}, token=ua(env, org)),
            "renewCertificate", "CSR_NOT_EXPECTED")
    renewed = payload(await env.gql(RENEW, {"input": {"certificateId": first["id"]}}, token=ua(env, org)),
                      "renewCertificate")
    successor = renewed["certificate"]
    assert successor["status"] == "ORDERED" and successor["predecessor"] == {"id": first["id"]}
    assert renewed["certificatePem"] is None
    payload(await env.gql(RENEW, {"input": {"certificateId": first["id"]}}, token=ua(env, org)),
            "renewCertificate", "ALREADY_RENEWED")
    issued = await issue_user(env, org, holder, successor["id"], password=PASSWORD)
    assert issued["certificate"]["status"] == "ISSUED"
    old = ok(await env.gql(CERTIFICATE, {"id": first["id"]}, token=ua(env, org)))["certificate"]
    assert old["successor"] == {"id": successor["id"]} and old["status"] == "ISSUED"
    assert "CERTIFICATE_RENEWED" in await history_types(env, org, holder)


# --- organisation certificates ---------------------------------------------------------------------------


async def test_an_organisation_certificate_lives_from_order_to_retrieval_rights_renewal_and_revocation(
    env: Env, org: OrgFixture, tmp_path: Path
) -> None:
    token = ua(env, org)
    ordered = await order_org(env, org, name="Lønsystem", pNumber=org.p_numbers[1])
    assert ordered["status"] == "ORDERED" and ordered["kind"] == "ORGANISATION"
    assert ordered["pNumber"] == org.p_numbers[1] and sorted(ordered["purposes"]) == ["AUTHENTICATION", "SEAL"]
    profile = ordered["profile"]
    assert profile["name"] == "Lønsystem" and profile["contactName"] == "Kim Kontakt"

    # the orderer is told, in the app and by email
    notes = ok(await env.gql("query { notifications(first: 5) { edges { node { kind title body } } } }", token=token))
    kinds = [e["node"]["kind"] for e in notes["notifications"]["edges"]]
    assert "CERTIFICATE_READY" in kinds
    mail = (await env.mail.wait_for(org.emails[Role.USER_ADMINISTRATOR]))[-1]
    assert f"/certificates/{ordered['uuid']}" in mail.get_payload(decode=True).decode()

    # retrieval: a generated key in a PKCS#12 protected by the password
    short = await env.gql(RETRIEVE, {"input": {"certificateId": ordered["id"], "password": "kort"}}, token=token)
    payload(short, "retrieveOrganisationCertificate", "WEAK_PASSWORD")
    both = await env.gql(RETRIEVE, {"input": {"certificateId": ordered["id"], "password": PASSWORD,
                                              "csr": csr_for(ec.generate_private_key(ec.SECP256R1()))}}, token=token)
    payload(both, "retrieveOrganisationCertificate", "CSR_OR_PASSWORD")
    issued = payload(await env.gql(RETRIEVE, {"input": {"certificateId": ordered["id"], "password": PASSWORD}},
                                   token=token), "retrieveOrganisationCertificate")
    assert issued["certificate"]["status"] == "ISSUED" and issued["certificate"]["issuance"] == "SOFTWARE"
    cert = x509.load_pem_x509_certificate(issued["certificatePem"].encode())
    key, bundled, _ = pkcs12.load_key_and_certificates(base64.b64decode(issued["pkcs12"]), PASSWORD.encode())
    assert bundled == cert and key is not None
    ca = await ca_certificate(env)
    verify_against_ca(cert, ca, tmp_path)
    assert subject_value(cert, NameOID.SERIAL_NUMBER) == f"UI:DK-O:G:{profile['uuid']}"
    assert subject_value(cert, NameOID.COMMON_NAME) == "Lønsystem"
    assert subject_value(cert, NameOID.ORGANIZATION_IDENTIFIER) == f"NTRDK-{org.cvr}"
    assert subject_value(cert, NameOID.GIVEN_NAME) is None and subject_value(cert, NameOID.SURNAME) is None
    usage = cert.extensions.get_extension_for_class(x509.KeyUsage).value
    assert usage.digital_signature and usage.content_commitment and usage.key_encipherment
    assert ExtendedKeyUsageOID.CLIENT_AUTH in cert.extensions.get_extension_for_class(x509.ExtendedKeyUsage).value
    again = await env.gql(DELETE, {"input": {"certificateId": ordered["id"]}}, token=token)
    payload(again, "deleteCertificate", "ALREADY_ISSUED")

    # system rights from the catalogue, seal, user signing
    bad = await env.gql(RIGHTS, {"input": {"certificateId": ordered["id"], "systemRights": ["SKAT.MOMS", "NOPE.X"]}},
                        token=token)
    errors = payload(bad, "updateCertificateRights", "INVALID_RIGHT")["userErrors"]
    assert errors[0]["field"] == ["systemRights", "1"]
    changed = payload(await env.gql(RIGHTS, {"input": {
        "certificateId": ordered["id"], "systemRights": ["VIRK.INDBERETNING", "skat.moms"], "canSeal": True,
        "allowUserSigning": True,
    }}, token=token), "updateCertificateRights")["certificate"]
    assert changed == {"id": ordered["id"], "systemRights": ["SKAT.MOMS", "VIRK.INDBERETNING"], "canSeal": True,
                       "allowUserSigning": True}

    # renewal from a CSR: a linked successor with the same rights
    device = ec.generate_private_key(ec.SECP384R1())
    renewed = payload(await env.gql(RENEW, {"input": {"certificateId": ordered["id"], "csr": csr_for(device)}},
                                    token=token), "renewCertificate")
    successor = renewed["certificate"]
    assert successor["status"] == "ISSUED" and successor["predecessor"] == {"id": ordered["id"]}
    assert successor["systemRights"] == ["SKAT.MOMS", "VIRK.INDBERETNING"] and successor["canSeal"] is True
    assert renewed["pkcs12"] is None
    new_cert = x509.load_pem_x509_certificate(renewed["certificatePem"].encode())
    assert new_cert.public_key() == device.public_key() and new_cert.serial_number != cert.serial_number
    verify_against_ca(new_cert, ca, tmp_path)
    old = ok(await env.gql(CERTIFICATE, {"id": ordered["id"]}, token=token))["certificate"]
    assert old["successor"] == {"id": successor["id"]}
    payload(await env.gql(RENEW, {"input": {"certificateId": ordered["id"], "password": PASSWORD}}, token=token),
            "renewCertificate", "ALREADY_RENEWED")

    revoked = payload(await env.gql(REVOKE, {"input": {"certificateId": ordered["id"], "reason": "CONTENT_INCORRECT"}},
                                    token=token), "revokeCertificate")
    assert revoked["certificate"]["status"] == "REVOKED"
    entry = (await crl(env)).get_revoked_certificate_by_serial_number(cert.serial_number)
    assert entry is not None
    assert entry.extensions.get_extension_for_class(x509.CRLReason).value.reason is x509.ReasonFlags.affiliation_changed
    assert (await crl(env)).get_revoked_certificate_by_serial_number(new_cert.serial_number) is None
    payload(await env.gql(RIGHTS, {"input": {"certificateId": ordered["id"], "canSeal": False}}, token=token),
            "updateCertificateRights", "ALREADY_REVOKED")

    # another order under the same profile, deleted before retrieval
    profiles = ok(await env.gql("query { certificateProfiles { id name } }", token=token))["certificateProfiles"]
    assert {"id": profile["id"], "name": "Lønsystem"} in profiles
    payload(await env.gql(ORDER_ORG, {"input": {"name": "lønsystem", "email": "a@example.dk", "contactName": "X",
                                                 "contactEmail": "x@example.dk"}}, token=token),
            "orderOrganisationCertificate", "DUPLICATE_PROFILE_NAME")
    second = payload(await env.gql(ORDER_ORG, {"input": {"profileId": profile["id"]}}, token=token),
                     "orderOrganisationCertificate")["certificate"]
    assert second["profile"]["id"] == profile["id"] and second["status"] == "ORDERED"
    deleted = payload(await env.gql(DELETE, {"input": {"certificateId": second["id"]}}, token=token), "deleteCertificate")
    assert deleted["deletedCertificateId"] == second["id"]
    assert ok(await env.gql(CERTIFICATE, {"id": second["id"]}, token=token)) == {"certificate": None}

    types = await history_types(env, org)
    for expected in ("CERTIFICATE_ORDERED", "CERTIFICATE_ISSUED", "CERTIFICATE_RIGHTS_CHANGED", "CERTIFICATE_RENEWED",
                     "CERTIFICATE_REVOKED", "CERTIFICATE_DELETED"):
        assert expected in types, (expected, types)


async def test_the_ca_key_is_stored_encrypted_and_the_ca_certificate_is_served(env: Env, org: OrgFixture) -> None:
    await issued_org_certificate(env, org)
    ca = await ca_certificate(env)
    async with env.engine.connect() as conn:
        row = (await conn.execute(select(certificate_authority))).mappings().one()
    assert row["encrypted_key_pem"].startswith("-----BEGIN ENCRYPTED PRIVATE KEY-----")
    with pytest.raises((TypeError, ValueError)):
        serialization.load_pem_private_key(row["encrypted_key_pem"].encode(), None)
    assert row["certificate_pem"].encode() == ca.public_bytes(serialization.Encoding.PEM)
    constraints = ca.extensions.get_extension_for_class(x509.BasicConstraints)
    assert constraints.critical and constraints.value.ca is True and constraints.value.path_length == 0
    root = x509.load_pem_x509_certificate((await env.client.get("/pki/root.pem")).content)
    ca.verify_directly_issued_by(root)  # the issuing CA is the root's; the root is self-signed
    root.verify_directly_issued_by(root)


# --- rules and states --------------------------------------------------------------------------------------


async def test_orders_follow_the_holder_and_the_settings(env: Env, org: OrgFixture) -> None:
    token = ua(env, org)
    created = ok(await env.gql(
        """mutation($input: CreateUserInput!) { createUser(input: $input) { user { id } userErrors { code } } }""",
        {"input": {"firstName": "Pia", "lastName": "Pending", "email": f"pia.{org.cvr}@example.dk",
                   "dateOfBirth": "1990-01-02"}},
        token=token,
    ))["createUser"]["user"]
    before = await env.count_rows(certificates, certificates.c.org_id == org.org_id)
    body = await env.gql(ORDER_USER, {"input": {"userId": created["id"]}}, token=token)
    payload(body, "orderUserCertificate", "USER_NOT_ACTIVE")

    danish = await active_user(env, org, "Søren", "Æblegaard", email=f"søren.{org.cvr}@example.dk")
    result = payload(await env.gql(ORDER_USER, {"input": {"userId": gid("User", danish)}}, token=token),
                     "orderUserCertificate", "INVALID_EMAIL")
    assert result["userErrors"][0]["field"] == ["userId"] and "æ, ø" in result["userErrors"][0]["message"]

    holder = gid("User", org.people[Role.USER])
    payload(await env.gql(ORDER_USER, {"input": {"userId": holder, "type": "QUALIFIED"}}, token=token),
            "orderUserCertificate", "QUALIFIED_CERTIFICATES_NOT_ALLOWED")
    ordered = await order_user(env, org, org.people[Role.USER])
    payload(await env.gql(REVOKE, {"input": {"certificateId": ordered["id"], "reason": "KEY_LOST"}}, token=token),
            "revokeCertificate", "NOT_ISSUED")
    payload(await env.gql(RIGHTS, {"input": {"certificateId": ordered["id"], "canSeal": True}}, token=token),
            "updateCertificateRights", "NOT_ORGANISATION_CERTIFICATE")
    payload(await env.gql(RETRIEVE, {"input": {"certificateId": ordered["id"], "password": PASSWORD}}, token=token),
            "retrieveOrganisationCertificate", "NOT_ORGANISATION_CERTIFICATE")
    payload(await env.gql(RENEW, {"input": {"certificateId": ordered["id"]}}, token=token), "renewCertificate",
            "NOT_ISSUED")
    payload(await env.gql(ORDER_ORG, {"input": {"name": " ", "email": "blå@example.dk", "contactName": "K",
                                                 "contactEmail": "nope", "purposes": ["SIGNING"]}}, token=token),
            "orderOrganisationCertificate", "INVALID_PURPOSE", "REQUIRED", "INVALID_EMAIL", "INVALID_EMAIL")
    auth_only = await order_org(env, org, purposes=["AUTHENTICATION"])
    payload(await env.gql(RIGHTS, {"input": {"certificateId": auth_only["id"], "canSeal": True}}, token=token),
            "updateCertificateRights", "NOT_A_SEAL_CERTIFICATE")
    assert await env.count_rows(certificates, certificates.c.org_id == org.org_id) == before + 2


@pytest.mark.parametrize(
    ("settings", "kind", "code"),
    [
        ({"user_certificates_allowed": False}, "USER", "USER_CERTIFICATES_NOT_ALLOWED"),
        ({"organisation_certificates_allowed": False}, "ORGANISATION", "ORGANISATION_CERTIFICATES_NOT_ALLOWED"),
    ],
)
async def test_settings_that_disallow_a_kind_refuse_its_orders(
    env: Env, settings: dict[str, bool], kind: str, code: str
) -> None:
    org = await make_org(env.services, settings=OrganisationSettings(**settings))
    if kind == "USER":
        body = await env.gql(ORDER_USER, {"input": {"userId": gid("User", org.people[Role.USER])}}, token=ua(env, org))
        payload(body, "orderUserCertificate", code)
    else:
        body = await env.gql(ORDER_ORG, {"input": {"name": "Nej", "email": "n@example.dk", "contactName": "N",
                                                    "contactEmail": "n@example.dk"}}, token=ua(env, org))
        payload(body, "orderOrganisationCertificate", code)
    assert await env.count_rows(certificates, certificates.c.org_id == org.org_id) == 0


async def test_roles_without_the_right_are_forbidden(env: Env, org: OrgFixture) -> None:
    ordered = await order_user(env, org, org.people[Role.USER])
    user = token_for(env, org, Role.USER)
    oa = token_for(env, org, Role.ORGANISATION_ADMINISTRATOR)
    ra = token_for(env, org, Role.RIGHTS_ADMINISTRATOR)
    forbidden(await env.gql(ORDER_USER, {"input": {"userId": gid("User", org.people[Role.USER])}}, token=user))
    forbidden(await env.gql(REVOKE, {"input": {"certificateId": ordered["id"], "reason": "KEY_LOST"}}, token=oa))
    forbidden(await env.gql(DELETE, {"input": {"certificateId": ordered["id"]}}, token=ra))
    forbidden(await env.gql(LIST, {}, token=ra))
    forbidden(await env.gql(LIST, {}, token=user))
    assert ok(await env.gql(LIST, {}, token=oa))["certificates"]["totalCount"] == 1  # organisation admins view
    assert (await certificate_row(env, ordered["uuid"]) or {}).get("status") == "ORDERED"
    # User.certificates: refused (null, FORBIDDEN at its path) for those who may not see
    # certificates, the holder's own for the holder
    query = "query($id: ID!) { user(id: $id) { uuid certificates { id } } }"
    variables = {"id": gid("User", org.people[Role.USER])}
    refused = await env.gql(query, variables, token=ra)
    assert refused["data"]["user"] == {"uuid": str(org.people[Role.USER]), "certificates": None}, refused
    assert [(e["path"], e["extensions"]["code"]) for e in refused["errors"]] == [(["user", "certificates"], "FORBIDDEN")]
    assert ok(await env.gql(query, variables, token=user))["user"]["certificates"] == [{"id": ordered["id"]}]

    for token, status in ((None, 401), (user, 403), (ra, 403), (oa, 200)):
        headers = {"Authorization": f"Bearer {token}"} if token else {}
        response = await env.client.get("/exports/certificates.csv", headers=headers)
        assert response.status_code == status, (status, response.text)


# --- reading ----------------------------------------------------------------------------------------------


async def test_certificates_are_searched_filtered_and_ordered_with_expiry_derived_at_read_time(
    env: Env, org: OrgFixture
) -> None:
    token = ua(env, org)
    a = await issued_org_certificate(env, org, name="Alfa system", contactName="Anja Alfa")
    b = await issued_org_certificate(env, org, name="Beta system")
    ordered = await order_user(env, org, org.people[Role.USER])
    async with env.engine.begin() as conn:  # pretend Alfa was issued long ago
        await conn.execute(
            update(certificates)
            .where(certificates.c.id == uuid.UUID(a["ordered"]["uuid"]))
            .values(not_after=dt.datetime.now(dt.UTC) - dt.timedelta(days=1))
        )

    async def names(flt: dict[str, Any] | None = None, order: dict[str, Any] | None = None) -> list[str]:
        data = ok(await env.gql(LIST, {"filter": flt, "orderBy": order}, token=token))["certificates"]
        assert data["totalCount"] == len(data["edges"])
        return [e["node"]["name"] for e in data["edges"]]

    user_name = ordered["name"]
    assert sorted(await names()) == sorted(["Alfa system", "Beta system", user_name])
    assert await names({"status": "EXPIRED"}) == ["Alfa system"]
    assert await names({"status": "ISSUED"}) == ["Beta system"]
    assert await names({"status": "ORDERED"}) == [user_name]
    assert sorted(await names({"kind": "ORGANISATION"})) == ["Alfa system", "Beta system"]
    assert await names({"userId": gid("User", org.people[Role.USER])}) == [user_name]
    assert await names({"userId": gid("User")}) == []
    assert await names({"qualified": True}) == []
    assert await names({"search": "anja"}) == ["Alfa system"]
    assert await names({"search": b["certificate"]["serialNumber"]}) == ["Beta system"]
    assert await names({"search": ordered["uuid"]}) == [user_name]
    soon = (dt.date.today() + dt.timedelta(days=30)).isoformat()
    assert await names({"expiresBefore": soon}) == ["Alfa system"]
    assert await names(order={"field": "EXPIRES_AT", "direction": "ASC"}) == ["Alfa system", "Beta system", user_name]
    assert await names(order={"field": "EXPIRES_AT", "direction": "DESC"}) == ["Beta system", "Alfa system", user_name]
    assert await names(order={"field": "NAME", "direction": "ASC"}) == sorted(
        ["Alfa system", "Beta system", user_name], key=str.lower
    )
    one = ok(await env.gql(CERTIFICATE, {"id": a["certificate"]["id"]}, token=token))["certificate"]
    assert one["status"] == "EXPIRED"
    payload(await env.gql(REVOKE, {"input": {"certificateId": a["certificate"]["id"], "reason": "KEY_LOST"}}, token=token),
            "revokeCertificate", "CERTIFICATE_EXPIRED")
    bad = await env.gql(LIST, {"filter": {"expiresBefore": "soon"}}, token=token)
    assert bad["errors"][0]["extensions"]["code"] == "BAD_USER_INPUT"
    node = ok(await env.gql("query($id: ID!) { node(id: $id) { ... on Certificate { name status } } }",
                            {"id": b["certificate"]["id"]}, token=token))["node"]
    assert node == {"name": "Beta system", "status": "ISSUED"}


USERS_WITH_CERTIFICATES = """query($first: Int!) {
    users(first: $first, orderBy: {field: CREATED_AT, direction: ASC}) {
        edges { node { uuid certificates { id status kind systemRights } } } } }"""


async def test_user_certificates_in_a_page_of_users_cost_one_statement_whatever_the_page_size(
    env: Env, org: OrgFixture
) -> None:
    people = [await active_user(env, org, f"Cert{i}", "Holder") for i in range(6)]
    for person in [*org.people.values(), *people]:
        await order_user(env, org, person)
    token = ua(env, org)
    counts: dict[int, int] = {}
    for first in (2, 10):
        with env.count_statements() as seen:
            data = ok(await env.gql(USERS_WITH_CERTIFICATES, {"first": first}, token=token))
        edges = data["users"]["edges"]
        assert len(edges) == first and all(len(e["node"]["certificates"]) == 1 for e in edges)
        counts[first] = len([s for s in seen if not s.lstrip().upper().startswith(("BEGIN", "COMMIT", "ROLLBACK"))])
    assert counts[2] == counts[10], counts


# --- tenant isolation --------------------------------------------------------------------------------------


async def test_a_foreign_organisations_certificates_are_not_found_anywhere(
    env: Env, org: OrgFixture, other_org: OrgFixture
) -> None:
    foreign_user_cert = await order_user(env, other_org, other_org.people[Role.USER])
    foreign_issued = await issued_org_certificate(env, other_org, name="Fremmed system")
    foreign_ordered = await order_org(env, other_org, name="Fremmed ordre")
    foreign_ids = [foreign_user_cert["id"], foreign_issued["certificate"]["id"], foreign_ordered["id"]]
    foreign_uuids = [foreign_user_cert["uuid"], foreign_issued["ordered"]["uuid"], foreign_ordered["uuid"]]
    rows_before = {u: await certificate_row(env, u) for u in foreign_uuids}
    activities_before = await env.count_rows(activities)
    token = ua(env, org)

    for foreign in foreign_ids:
        for query in (CERTIFICATE, "query($id: ID!) { node(id: $id) { id } }"):
            a = await env.gql(query, {"id": foreign}, token=token)
            b = await env.gql(query, {"id": gid("Certificate")}, token=token)
            assert a == b and list(ok(a).values()) == [None], (a, b)
    profile = foreign_ordered["profile"]["id"]
    assert ok(await env.gql("query($id: ID!) { node(id: $id) { id } }", {"id": profile}, token=token)) == {"node": None}
    assert ok(await env.gql("query { certificateProfiles { id } }", token=token)) == {"certificateProfiles": []}
    for search in ("Fremmed", foreign_ordered["uuid"], foreign_issued["certificate"]["serialNumber"],
                   str(other_org.people[Role.USER])):
        listed = ok(await env.gql(LIST, {"filter": {"search": search}}, token=token))["certificates"]
        assert listed == {"totalCount": 0, "edges": []}, search
    by_holder = await env.gql(LIST, {"filter": {"userId": gid("User", other_org.people[Role.USER])}}, token=token)
    assert ok(by_holder)["certificates"]["totalCount"] == 0
    exported = await env.client.get("/exports/certificates.csv", headers={"Authorization": f"Bearer {token}"})
    assert exported.status_code == 200 and len(exported.text.strip().splitlines()) == 1  # the header only
    there = await env.client.get("/exports/certificates.csv",
                                 headers={"Authorization": f"Bearer {ua(env, other_org)}"})
    assert len(there.text.strip().splitlines()) == 4

    mutations: list[tuple[str, str, dict[str, Any], str | None]] = [
        ("cancelCertificateOrder", CANCEL, {}, None),
        ("deleteCertificate", DELETE, {}, None),
        ("revokeCertificate", REVOKE, {"reason": "KEY_LOST"}, None),
        ("renewCertificate", RENEW, {"password": PASSWORD}, None),
        ("retrieveOrganisationCertificate", RETRIEVE, {"password": PASSWORD}, None),
        ("updateCertificateRights", RIGHTS, {"canSeal": True, "systemRights": ["SKAT.MOMS"]}, None),
        ("issueUserCertificate", ISSUE_USER, {"password": PASSWORD}, "holder"),
    ]
    for name, text, extra, who in mutations:
        caller = holder_token(env, org, org.people[Role.USER]) if who else token
        for foreign in foreign_ids:
            a = await env.gql(text, {"input": {"certificateId": foreign, **extra}}, token=caller)
            b = await env.gql(text, {"input": {"certificateId": gid("Certificate"), **extra}}, token=caller)
            assert a == b, (name, a, b)
            payload(a, name, "NOT_FOUND")
    a = await env.gql(ORDER_USER, {"input": {"userId": gid("User", other_org.people[Role.USER])}}, token=token)
    b = await env.gql(ORDER_USER, {"input": {"userId": gid("User")}}, token=token)
    assert a == b
    payload(a, "orderUserCertificate", "NOT_FOUND")
    a = await env.gql(ORDER_ORG, {"input": {"profileId": profile}}, token=token)
    b = await env.gql(ORDER_ORG, {"input": {"profileId": gid("CertificateProfile")}}, token=token)
    assert a == b
    payload(a, "orderOrganisationCertificate", "NOT_FOUND")

    for cert_uuid, before in rows_before.items():
        assert before is not None and await certificate_row(env, cert_uuid) == before, cert_uuid
    assert await env.count_rows(activities) == activities_before


# --- the export ---------------------------------------------------------------------------------------------


async def test_the_export_streams_semicolon_csv_with_the_list_filters_and_neutralised_formulas(
    env: Env, org: OrgFixture
) -> None:
    token = ua(env, org)
    formula = await order_org(env, org, name="=HYPERLINK(\"http://evil\";\"klik\")", contactName="+45 Ringmig")
    at = await order_org(env, org, name="@SUM(1+1)", contactName="-1+2")
    plain = await issued_org_certificate(env, org, name="Løn og personale")
    ordered_user = await order_user(env, org, org.people[Role.USER])

    async def export(**params: str) -> list[list[str]]:
        response = await env.client.get("/exports/certificates.csv", params=params,
                                        headers={"Authorization": f"Bearer {token}"})
        assert response.status_code == 200, response.text
        assert response.headers["content-type"] == "text/csv; charset=utf-8"
        assert "attachment" in response.headers["content-disposition"]
        return list(csv.reader(io.StringIO(response.content.decode("utf-8-sig")), delimiter=";"))

    rows = await export(orderBy="NAME", direction="ASC")
    header, body = rows[0], rows[1:]
    assert header == [
        "id", "uuid", "kind", "type", "status", "name", "email", "contactName", "contactEmail", "userUuid", "pNumber",
        "seNumber", "serialNumber", "subject", "notBefore", "notAfter", "orderedAt", "issuedAt", "revokedAt",
        "revocationReason", "issuance", "purposes", "systemRights", "canSeal", "allowUserSigning", "predecessorUuid",
        "successorUuid",
    ]
    by_id = {r[0]: dict(zip(header, r, strict=True)) for r in body}
    assert set(by_id) == {formula["id"], at["id"], plain["certificate"]["id"], ordered_user["id"]}
    assert by_id[formula["id"]]["name"] == "'=HYPERLINK(\"http://evil\";\"klik\")"
    assert by_id[formula["id"]]["contactName"] == "'+45 Ringmig"
    assert by_id[at["id"]]["name"] == "'@SUM(1+1)" and by_id[at["id"]]["contactName"] == "'-1+2"
    issued = by_id[plain["certificate"]["id"]]
    assert issued["name"] == "Løn og personale" and issued["status"] == "ISSUED" and issued["kind"] == "ORGANISATION"
    assert issued["serialNumber"] == plain["certificate"]["serialNumber"] and issued["notAfter"].startswith("20")
    assert by_id[ordered_user["id"]]["userUuid"] == str(org.people[Role.USER])
    assert all(not cell.startswith(("=", "+", "-", "@", "\t", "\r")) for r in body for cell in r)

    only_org = await export(kind="ORGANISATION", status="ORDERED")
    assert {r[0] for r in only_org[1:]} == {formula["id"], at["id"]}
    assert [r[0] for r in (await export(search="Løn"))[1:]] == [plain["certificate"]["id"]]
    user_rows = await export(userId=gid("User", org.people[Role.USER]))
    assert [r[0] for r in user_rows[1:]] == [ordered_user["id"]]
    bad = await env.client.get("/exports/certificates.csv", params={"kind": "NOPE"},
                               headers={"Authorization": f"Bearer {token}"})
    assert bad.status_code == 400 and bad.json()["errors"][0]["extensions"]["code"] == "BAD_USER_INPUT"


async def test_an_anonymous_holders_certificate_names_a_pseudonym_and_no_email(env: Env, org: OrgFixture) -> None:
    async with env.services.unit_of_work(org.actor()) as uow:
        created = await uc.create_user(
            uow, NewUser(first_name="Anna", last_name="Anonym", email=f"anna.{org.cvr}@example.dk",
                            date_of_birth="1979-09-09", anonymous=True),
            send=False,
        )
        await activate_directly(uow, created.user, dt.datetime.now(dt.UTC))
        await uow.commit()
    holder = created.user.id
    ordered = await order_user(env, org, holder)
    assert ordered["name"] == str(holder) and ordered["email"] is None
    issued = await issue_user(env, org, holder, ordered["id"], password=PASSWORD)
    cert = x509.load_pem_x509_certificate(issued["certificatePem"].encode())
    assert subject_value(cert, NameOID.COMMON_NAME) == str(holder)
    assert subject_value(cert, NameOID.PSEUDONYM) == str(holder)
    assert subject_value(cert, NameOID.SERIAL_NUMBER) == f"UI:DK-E:G:{holder}"
    assert subject_value(cert, NameOID.GIVEN_NAME) is None and subject_value(cert, NameOID.SURNAME) is None
    assert subject_value(cert, NameOID.EMAIL_ADDRESS) is None
    assert "Anna" not in cert.subject.rfc4514_string() and "Anonym" not in cert.subject.rfc4514_string()
    with pytest.raises(x509.ExtensionNotFound):
        cert.extensions.get_extension_for_class(x509.SubjectAlternativeName)


# --- pure rules ----------------------------------------------------------------------------------------------


def test_the_key_source_follows_the_order_or_is_exactly_one_of_csr_and_password() -> None:
    from app.domain.certificates.model import CertificateIssuance as I
    from app.domain.certificates.rules import check_key_source
    from app.domain.common.errors import DomainError

    assert check_key_source(I.SOFTWARE, None, PASSWORD) is I.SOFTWARE
    assert check_key_source(I.HARDWARE, "csr", None) is I.HARDWARE
    assert check_key_source(None, "csr", None) is I.HARDWARE
    assert check_key_source(None, "  ", PASSWORD) is I.SOFTWARE
    for issuance, csr, password, code in [
        (I.SOFTWARE, None, None, "PASSWORD_REQUIRED"), (I.SOFTWARE, "csr", PASSWORD, "CSR_NOT_EXPECTED"),
        (I.SOFTWARE, None, "short", "WEAK_PASSWORD"), (I.HARDWARE, None, PASSWORD, "CSR_REQUIRED"),
        (I.HARDWARE, "csr", PASSWORD, "CSR_OR_PASSWORD"), (None, None, None, "CSR_OR_PASSWORD"),
        (None, "csr", PASSWORD, "CSR_OR_PASSWORD"),
    ]:
        with pytest.raises(DomainError) as raised:
            check_key_source(issuance, csr, password)
        assert raised.value.code == code, (issuance, csr, password)


def test_three_years_from_the_29th_of_february_ends_on_the_28th() -> None:
    from app.domain.certificates.rules import validity

    start, end = validity(dt.datetime(2028, 2, 29, 12, 30, 15, 999, tzinfo=dt.UTC))
    assert start == dt.datetime(2028, 2, 29, 12, 30, 15, tzinfo=dt.UTC)
    assert end == dt.datetime(2031, 2, 28, 12, 30, 15, tzinfo=dt.UTC)


def test_formula_characters_at_the_start_of_a_cell_are_neutralised() -> None:
    from app.domain.common.csv_files import neutralise

    for dangerous in ("=1+1", "+45", "-2", "@SUM(A1)", "\tx", "\rx"):
        assert neutralise(dangerous) == "'" + dangerous
    for harmless in ("Lønsystem", "a=b", "", "'quoted"):
        assert neutralise(harmless) == harmless


# --- the benchmark's dashboard page (issue 7) -------------------------------------------------------------


async def test_the_benchmark_dashboard_page_costs_the_same_statements_for_3_and_12_users(
    env: Env, org: OrgFixture
) -> None:
    """bench/dashboard.py's query itself (users with scalars, authenticators, groups, certificates and
    history(first: 5)): the same statements whatever `first` is, at most 6 (the benchmark's target)."""
    from bench.dashboard import QUERY

    people = [await active_user(env, org, f"Dash{i}", "Board") for i in range(12)]
    for person in people:
        await order_user(env, org, person)
    token = ua(env, org)
    ok(await env.gql(QUERY, {"first": 1}, token=token))  # warm-up: the token's organisation is looked up once
    counts: dict[int, int] = {}
    for first in (3, 12):
        with env.count_statements() as seen:
            data = ok(await env.gql(QUERY, {"first": first}, token=token))
        nodes = [e["node"] for e in data["users"]["edges"]]
        assert len(nodes) == first
        dash = [n for n in nodes if n["firstName"].startswith("Dash")]
        assert dash and all(n["certificates"] and n["history"]["edges"] and n["groups"] is not None for n in dash)
        counts[first] = len([s for s in seen if not s.lstrip().upper().startswith(("BEGIN", "COMMIT", "ROLLBACK"))])
    assert counts[3] == counts[12], counts
    assert counts[12] <= 6, counts


@pytest.mark.parametrize("history_first", ["5", "$h"])
async def test_the_benchmark_dashboard_page_finds_every_relation_prefetched(
    env: Env, org: OrgFixture, monkeypatch: pytest.MonkeyPatch, history_first: str
) -> None:
    """The users page starts the loads of the relations its query selects, with the arguments the
    resolvers will get (a literal `first: 5` as well as a variable): no relation resolver of the page
    has to wait (an awaitable would make the page's users complete the slow way)."""
    from app.schema.runtime import loaders
    from bench.dashboard import QUERY

    for i in range(3):
        person = await active_user(env, org, f"Pre{i}", "Fetch")
        await order_user(env, org, person)
    query = QUERY.replace("history(first: 5)", f"history(first: {history_first})")
    if history_first.startswith("$"):
        query = query.replace("($first: Int!)", "($first: Int!, $h: Int!)")
    token = ua(env, org)
    waited: list[Any] = []
    later = loaders._later
    monkeypatch.setattr(loaders, "_later", lambda future, then: waited.append(then) or later(future, then))
    data = ok(await env.gql(query, {"first": 6, "h": 5}, token=token))
    nodes = [e["node"] for e in data["users"]["edges"]]
    assert any(n["certificates"] and n["history"]["edges"] for n in nodes)
    assert waited == []


def test_every_certificate_field_says_what_a_users_list_reads_for_it() -> None:
    """A user's certificates are read with the columns their selection needs (FIELD_READS); a new
    field of Certificate must say what it reads, or lists would read too little."""
    from app.persistence.certificates.reads import partial_certificate
    from app.persistence.certificates.rows import SUMMARY_COLUMNS
    from app.schema import schema as gateway_schema
    from app.schema.certificates.reading import FIELD_READS

    fields = set(gateway_schema._schema.type_map["Certificate"].fields) | {"__typename"}
    assert fields == set(FIELD_READS)
    columns = {c.name for c in SUMMARY_COLUMNS}
    assert all(set(reads) <= columns for reads in FIELD_READS.values())
    partial = partial_certificate(("id", "status"), (uuid.uuid4(), "ISSUED"))
    assert partial.status.value == "ISSUED"
    with pytest.raises(AttributeError):
        partial.serial_number  # noqa: B018 - an attribute not read is missing, not None


async def test_each_certificate_field_in_a_users_list_equals_the_certificate_read_alone(
    env: Env, org: OrgFixture
) -> None:
    """Field by field (each selected alone, so each reads its own narrow column set) and through
    fragments: a page of users shows what `certificate(id:)` shows."""
    from app.schema import schema as gateway_schema

    holder = await active_user(env, org, "Felt", "Forfelt")
    issued_order = await order_user(env, org, holder)
    await issue_user(env, org, holder, issued_order["id"], password="hemmeligt-kodeord-1")
    await order_user(env, org, holder)  # a second one, only ordered
    token = ua(env, org)
    cert_type = gateway_schema._schema.type_map["Certificate"]
    for name, field_def in sorted(cert_type.fields.items()):
        inner = field_def.type
        while hasattr(inner, "of_type"):
            inner = inner.of_type
        selection = f"{name} {{ __typename }}" if hasattr(inner, "fields") else name
        listed = ok(await env.gql(
            f"query($id: ID!) {{ user(id: $id) {{ certificates {{ id {selection} }} }} }}",
            {"id": gid("User", holder)}, token=token))["user"]["certificates"]
        assert len(listed) == 2, name
        for cert in listed:
            alone = ok(await env.gql(f"query($id: ID!) {{ certificate(id: $id) {{ id {selection} }} }}",
                                     {"id": cert["id"]}, token=token))["certificate"]
            assert cert == alone, name
    page = ok(await env.gql(
        """query { users(first: 50) { edges { node { id certificates { ...C ... on Certificate { subject } } } } } }
           fragment C on Certificate { serialNumber status notAfter fingerprintSha256 }""", token=token))
    mine = [e["node"] for e in page["users"]["edges"] if e["node"]["id"] == gid("User", holder)]
    assert mine and {c["status"] for c in mine[0]["certificates"]} == {"ISSUED", "ORDERED"}
    assert any(c["serialNumber"] and c["subject"] and c["fingerprintSha256"] for c in mine[0]["certificates"])


async def test_what_a_list_leaves_out_is_read_when_asked_pem_of_a_users_certificates_and_history_details(
    env: Env, org: OrgFixture
) -> None:
    """A page of users reads its users' certificates without the PEM and their history without the
    details; asking for them costs one more batched statement and gives what the full reads give."""
    holder = await active_user(env, org, "Pem", "Holder")
    ordered = await order_user(env, org, holder)
    issued = await issue_user(env, org, holder, ordered["id"], password="hemmeligt-kodeord-1")
    token = ua(env, org)
    listed = ok(await env.gql(
        """query($id: ID!) { user(id: $id) {
             certificates { id certificatePem }
             history(first: 10) { edges { node { id type details } } } } }""",
        {"id": gid("User", holder)}, token=token))["user"]
    one = ok(await env.gql("query($id: ID!) { certificate(id: $id) { certificatePem } }",
                           {"id": ordered["id"]}, token=token))["certificate"]
    assert listed["certificates"] == [{"id": ordered["id"], "certificatePem": one["certificatePem"]}]
    assert one["certificatePem"] == issued["certificatePem"] and one["certificatePem"].startswith("-----BEGIN CERTIFICATE")
    entries = {e["node"]["id"]: e["node"] for e in listed["history"]["edges"]}
    assert entries
    for entry_id, entry in entries.items():
        node = ok(await env.gql("query($id: ID!) { node(id: $id) { ... on Activity { details } } }",
                                {"id": entry_id}, token=token))["node"]
        assert entry["details"] == node["details"], entry["type"]
    assert any(e["details"] for e in entries.values()), "some entry must carry details"
