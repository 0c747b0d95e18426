"""The two-tier hierarchy (issue 15) through HTTP on both databases: the root (kept outside the
database) and the issuing CA as relying parties fetch them, the root's CRL, what the database holds
of keys, and what becomes of an installation's single self-signed CA from before the root: it keeps
its key and subject, is certified by the root on first use, and what it issued chains to the root
and is still answered for by OCSP."""

from __future__ import annotations

import datetime as dt
import uuid
from pathlib import Path

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509 import ocsp
from cryptography.x509.oid import AuthorityInformationAccessOID
from sqlalchemy import insert, select

from app.adapters.pki import Pki, pki_for
from app.adapters.pki_hierarchy import RootSource, RootUnavailable, write_root_file
from app.config import DEV_PKI_ROOT_PASSPHRASE
from app.domain.certificates.model import (
    CertificateKind,
    CertificatePurpose,
    CertificateSpec,
    CertificateType,
)
from app.persistence.tables.certificates import certificate_authority
from tests.conftest import Env
from tests.factories import OrgFixture
from tests.test_certificates import csr_for, issued_org_certificate
from tests.test_ocsp import OCSP_REQUEST, own_gateway, question


async def der_certificate(env: Env, path: str) -> x509.Certificate:
    response = await env.client.get(path)
    assert response.status_code == 200 and response.headers["content-type"] == "application/pkix-cert"
    return x509.load_der_x509_certificate(response.content)


def urls(cert: x509.Certificate) -> tuple[list[str], list[str]]:
    """(caIssuers URLs, CRL distribution point URLs)."""
    try:
        aia = cert.extensions.get_extension_for_class(x509.AuthorityInformationAccess).value
        issuers = [d.access_location.value for d in aia if d.access_method == AuthorityInformationAccessOID.CA_ISSUERS]
    except x509.ExtensionNotFound:
        issuers = []
    points = cert.extensions.get_extension_for_class(x509.CRLDistributionPoints).value
    return issuers, [n.value for p in points for n in p.full_name or []]


def ca_usage_only(cert: x509.Certificate) -> bool:
    usage = cert.extensions.get_extension_for_class(x509.KeyUsage)
    v = usage.value
    return usage.critical and v.key_cert_sign and v.crl_sign and not (
        v.digital_signature or v.content_commitment or v.key_encipherment or v.data_encipherment or v.key_agreement
    )


async def test_the_root_certifies_the_issuing_ca_which_issues_the_certificates(env: Env, org: OrgFixture) -> None:
    base = env.settings.public_base_url
    root = await der_certificate(env, "/pki/root.cer")
    ca = await der_certificate(env, "/pki/ca.cer")

    root.verify_directly_issued_by(root)
    constraints = root.extensions.get_extension_for_class(x509.BasicConstraints)
    assert constraints.critical and constraints.value.ca and constraints.value.path_length == 1
    assert ca_usage_only(root)
    assert urls(root) == ([], [f"{base}/pki/root-crl.crl"])  # its own CRL, for -crl_check_all

    ca.verify_directly_issued_by(root)
    constraints = ca.extensions.get_extension_for_class(x509.BasicConstraints)
    assert constraints.critical and constraints.value.ca and constraints.value.path_length == 0
    assert ca_usage_only(ca)
    assert urls(ca) == ([f"{base}/pki/root.cer"], [f"{base}/pki/root-crl.crl"])
    assert ca.extensions.get_extension_for_class(x509.AuthorityKeyIdentifier).value.key_identifier == \
        root.extensions.get_extension_for_class(x509.SubjectKeyIdentifier).value.digest
    assert ca.not_valid_after_utc <= root.not_valid_after_utc

    cert = x509.load_pem_x509_certificate((await issued_org_certificate(env, org))["certificatePem"].encode())
    cert.verify_directly_issued_by(ca)
    assert urls(cert) == ([f"{base}/pki/ca.cer"], [f"{base}/pki/crl.crl"])

    # PEM for people: the root alone, and the chain (issuing CA, then root)
    assert x509.load_pem_x509_certificate((await env.client.get("/pki/root.pem")).content) == root
    assert x509.load_pem_x509_certificates((await env.client.get("/pki/ca.pem")).content) == [ca, root]


async def test_the_roots_crl_is_served_in_der_empty_long_lived_and_signed_by_the_root(env: Env) -> None:
    root = await der_certificate(env, "/pki/root.cer")
    response = await env.client.get("/pki/root-crl.crl")
    assert response.status_code == 200 and response.headers["content-type"] == "application/pkix-crl"
    assert response.headers["cache-control"] == "public, max-age=300"
    listed = x509.load_der_x509_crl(response.content)
    assert listed.issuer == root.subject and len(listed) == 0
    assert listed.is_signature_valid(root.public_key())  # type: ignore[arg-type]
    assert listed.next_update_utc is not None
    assert listed.next_update_utc - dt.datetime.now(dt.UTC) > dt.timedelta(days=300)
    assert listed.extensions.get_extension_for_class(x509.CRLNumber).value.crl_number > 0
    # the issuing CA's CRL is the issuing CA's, not the root's
    issuing = x509.load_der_x509_crl((await env.client.get("/pki/crl.crl")).content)
    assert issuing.issuer == (await der_certificate(env, "/pki/ca.cer")).subject


async def test_the_database_holds_no_key_of_the_root(env: Env, org: OrgFixture) -> None:
    await issued_org_certificate(env, org)
    root = await der_certificate(env, "/pki/root.cer")
    async with env.engine.connect() as conn:
        row = (await conn.execute(select(certificate_authority))).mappings().one()
    keys = {column for column, value in row.items() if isinstance(value, str) and "PRIVATE KEY" in value}
    assert keys == {"encrypted_key_pem", "responder_key_pem"}
    assert all(row[column].startswith("-----BEGIN ENCRYPTED PRIVATE KEY-----") for column in keys)
    assert x509.load_pem_x509_certificate(row["root_certificate_pem"].encode()) == root
    # the root's key is in its file, encrypted with the (development) passphrase
    source = RootSource.development(env.settings.public_base_url)
    assert Path(source.key_file).is_file()
    assert source.load(dt.datetime.now(dt.UTC)).certificate == root


async def test_a_self_signed_ca_from_before_the_root_is_certified_by_it_and_keeps_what_it_issued(
    env: Env, tmp_path: Path
) -> None:
    async with own_gateway(env, tmp_path) as (own, org):
        pki = pki_for(own.settings)
        now = dt.datetime.now(dt.UTC)
        legacy = pki.pre_hierarchy_authority(now)
        async with own.engine.begin() as conn:
            await conn.execute(insert(certificate_authority).values(
                id=1, certificate_pem=legacy.certificate_pem, encrypted_key_pem=legacy.encrypted_key_pem,
                created_at=now, crl_number=legacy.crl_number, crl_pem=legacy.crl_pem,
                crl_next_update=legacy.crl_next_update,
            ))
        old_ca = x509.load_pem_x509_certificate(legacy.certificate_pem.encode())
        assert old_ca.issuer == old_ca.subject
        # a certificate the old CA issued before the upgrade
        spec = CertificateSpec(
            certificate_id=uuid.uuid4(), kind=CertificateKind.ORGANISATION, type=CertificateType.STANDARD,
            purposes=(CertificatePurpose.SEAL,), organisation_name=org.name, cvr=org.cvr, common_name="Gammelt system",
            subject_serial=f"UI:DK-O:G:{uuid.uuid4()}", email=None, pseudonym=None,
            not_before=now, not_after=now + dt.timedelta(days=30),
        )
        material = await pki.issue(legacy, spec, csr_pem=csr_for(ec.generate_private_key(ec.SECP256R1())), password=None)
        old_cert = x509.load_pem_x509_certificate(material.certificate_pem.encode())

        ca = await der_certificate(own, "/pki/ca.cer")  # the first use certifies it
        root = await der_certificate(own, "/pki/root.cer")
        assert ca.subject == old_ca.subject and ca.public_key() == old_ca.public_key() and ca != old_ca
        ca.verify_directly_issued_by(root)
        old_cert.verify_directly_issued_by(ca)  # what it issued chains to the root now
        async with own.engine.connect() as conn:
            row = (await conn.execute(select(certificate_authority))).mappings().one()
        assert row["legacy_certificate_pem"] == legacy.certificate_pem
        assert row["encrypted_key_pem"] == legacy.encrypted_key_pem  # the same key, not a new one
        # its CRL still verifies, and new certificates come from the same issuer
        assert x509.load_der_x509_crl((await own.client.get("/pki/crl.crl")).content).is_signature_valid(
            ca.public_key()  # type: ignore[arg-type]
        )
        new_cert = x509.load_pem_x509_certificate((await issued_org_certificate(own, org))["certificatePem"].encode())
        new_cert.verify_directly_issued_by(ca)
        # OCSP speaks for the old certificates too (same issuer name and key): not "unauthorized"
        response = await own.client.post("/pki/ocsp", content=question(old_cert, old_ca), headers=OCSP_REQUEST)
        answer = ocsp.load_der_ocsp_response(response.content)
        assert answer.response_status is ocsp.OCSPResponseStatus.SUCCESSFUL
        assert answer.certificate_status is ocsp.OCSPCertStatus.UNKNOWN  # issued outside the API, so not on record


async def test_a_root_that_did_not_certify_the_issuing_ca_does_not_sign_for_it(tmp_path: Path) -> None:
    now = dt.datetime.now(dt.UTC)
    first = Pki("s" * 40, "https://ca.example.com", root=RootSource(str(tmp_path / "a.pem"), "p" * 40,
                                                                    generate="https://ca.example.com"))
    record = await first.new_authority(now)
    write_root_file(str(tmp_path / "b.pem"), "p" * 40, now, "https://ca.example.com")
    other = Pki("s" * 40, "https://ca.example.com", root=RootSource(str(tmp_path / "b.pem"), "p" * 40))
    with pytest.raises(RootUnavailable, match="not the one that certified the issuing CA"):
        await other.root_revocation_list(record, now)
    pem, _ = await first.root_revocation_list(record, now)
    assert x509.load_pem_x509_crl(pem.encode()).issuer == x509.load_pem_x509_certificate(
        (record.root_certificate_pem or "").encode()).subject


def test_a_development_root_is_written_once_and_kept(tmp_path: Path) -> None:
    now = dt.datetime.now(dt.UTC)
    path = str(tmp_path / "pki" / "root.pem")
    write_root_file(path, DEV_PKI_ROOT_PASSPHRASE, now, "http://127.0.0.1:8000", development=True)
    first = Path(path).read_bytes()
    write_root_file(path, DEV_PKI_ROOT_PASSPHRASE, now, "http://127.0.0.1:8000", development=True)
    assert Path(path).read_bytes() == first  # the first one wins
    assert list((tmp_path / "pki").iterdir()) == [Path(path)]  # no temporary file left behind
    root = RootSource(path, DEV_PKI_ROOT_PASSPHRASE).load(now)
    assert "(development)" in root.certificate.subject.rfc4514_string()
    assert isinstance(root.key, ec.EllipticCurvePrivateKey) and root.certificate.signature_hash_algorithm is not None
    assert isinstance(root.certificate.signature_hash_algorithm, hashes.SHA384)
    with pytest.raises(RootUnavailable, match="PKI_ROOT_KEY_PASSPHRASE"):
        RootSource(path, "not the passphrase").load(now)
    with pytest.raises(RootUnavailable, match="cannot be read"):
        RootSource(str(tmp_path / "missing.pem"), DEV_PKI_ROOT_PASSPHRASE).load(now)
    assert serialization.load_pem_private_key(first, DEV_PKI_ROOT_PASSPHRASE.encode()) is not None


def test_the_responder_and_the_root_crl_are_renewed_within_their_margins() -> None:
    """The domain's rules for when the responder certificate and the root's CRL are made again."""
    from app.domain.certificates.authority import (
        ROOT_CRL_REFRESH_MARGIN,
        needs_writing,
        responder_is_fresh,
        root_list_is_fresh,
    )
    from app.domain.certificates.model import AuthorityRecord

    now = dt.datetime(2026, 12, 2, 12, 0, tzinfo=dt.UTC)
    pki = Pki("s" * 40, "https://ca.example.com")
    base = AuthorityRecord(certificate_pem="c", encrypted_key_pem="k", created_at=now)
    assert needs_writing(None) and needs_writing(base)  # no CA, or one from before the root
    assert not needs_writing(AuthorityRecord("c", "k", now, root_certificate_pem="r"))

    def responder(not_after: dt.datetime | None, pem: str | None = "p") -> AuthorityRecord:
        return AuthorityRecord("c", "k", now, responder_certificate_pem=pem, responder_key_pem=pem,
                               responder_not_after=not_after)

    margin = pki.responder_renewal()
    assert responder_is_fresh(responder(now + margin + dt.timedelta(seconds=1)), pki, now)
    assert not responder_is_fresh(responder(now + margin), pki, now)
    assert not responder_is_fresh(responder(now + 3 * margin, pem=None), pki, now)
    assert not responder_is_fresh(responder(None), pki, now)

    def root_list(next_update: dt.datetime | None) -> AuthorityRecord:
        return AuthorityRecord("c", "k", now, root_crl_pem="l", root_crl_next_update=next_update)

    assert root_list_is_fresh(root_list(now + ROOT_CRL_REFRESH_MARGIN + dt.timedelta(seconds=1)), now)
    assert not root_list_is_fresh(root_list(now + ROOT_CRL_REFRESH_MARGIN), now)
    assert not root_list_is_fresh(root_list(None), now)
