"""What a relying party sees of the CA (issue 15): policy identifiers with short arcs (RFC 5280 only
promises arcs below 2^28; Go's parser and pkilint reject longer ones), the CA certificate and the CRL
in DER at the URLs certificates name, and `openssl verify -crl_check -crl_download` against a running
server: it fetches the CRL from the certificate's distribution point and sees a revocation."""

from __future__ import annotations

import asyncio
import contextlib
import datetime as dt
import os
import shutil
import subprocess
import uuid
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from cryptography import x509
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import AuthorityInformationAccessOID

from app.adapters.jwt import sign_token
from app.adapters.pki import Pki
from app.adapters.pki_hierarchy import RootSource
from app.bootstrap import build_services
from app.config import DEFAULT_PKI_POLICY_OID, MAX_OID_ARC, Settings
from app.domain.certificates.model import (
    CertificateKind,
    CertificatePurpose,
    CertificateSpec,
    CertificateType,
)
from app.domain.common.organisation import OrganisationSettings
from app.domain.common.principal import Role
from app.entrypoints.cli.main import main
from app.entrypoints.http.pki import crl_cache_headers
from app.persistence.migrate import upgrade
from tests.conftest import Env, MailSink, _postgres_database
from tests.factories import OrgFixture, make_org
from tests.test_certificates import (
    PASSWORD,
    RENEW,
    REVOKE,
    csr_for,
    gid,
    issue_user,
    issued_org_certificate,
    order_user,
    payload,
)
from tests.test_certificates_holder import DELETE_USER
from tests.test_scale_out import gateway

OPENSSL = shutil.which("openssl")
PROXY_VARIABLES = {"http_proxy", "https_proxy", "all_proxy", "no_proxy"}


def policy_of(cert: x509.Certificate) -> x509.ObjectIdentifier:
    """Ours: the first (a qualified certificate names ETSI's QCP-n or QCP-l after it)."""
    return cert.extensions.get_extension_for_class(x509.CertificatePolicies).value[0].policy_identifier


def arcs(oid: x509.ObjectIdentifier) -> list[int]:
    return [int(a) for a in oid.dotted_string.split(".")]


def issued(body: dict[str, Any]) -> x509.Certificate:
    return x509.load_pem_x509_certificate(body["certificatePem"].encode())


# --- policy identifiers ------------------------------------------------------------------------------


async def test_standard_and_qualified_certificates_carry_different_policy_oids_with_short_arcs(env: Env) -> None:
    org = await make_org(env.services, settings=OrganisationSettings(qualified_certificates_allowed=True))
    holder = org.people[Role.USER]
    standard = issued(await issue_user(env, org, holder, (await order_user(env, org, holder))["id"], password=PASSWORD))
    ordered = await order_user(env, org, holder, type="QUALIFIED", issuance="HARDWARE")
    device_key = ec.generate_private_key(ec.SECP256R1())
    qualified = issued(await issue_user(env, org, holder, ordered["id"], csr=csr_for(device_key)))

    assert policy_of(standard).dotted_string == f"{env.settings.pki_policy_oid}.1"
    assert policy_of(qualified).dotted_string == f"{env.settings.pki_policy_oid}.2"
    assert env.settings.pki_policy_oid == DEFAULT_PKI_POLICY_OID == "1.3.6.1.4.1.32473.1"
    for cert in (standard, qualified):
        assert all(arc < MAX_OID_ARC for arc in arcs(policy_of(cert))), policy_of(cert)


async def test_a_deployment_with_its_own_enterprise_number_issues_under_it() -> None:
    pki = Pki("a secret for this test only", "https://ca.example.dk", "1.3.6.1.4.1.99999.7")
    now = dt.datetime.now(dt.UTC)
    authority = await pki.new_authority(now)
    spec = CertificateSpec(
        certificate_id=uuid.uuid4(), kind=CertificateKind.ORGANISATION, type=CertificateType.STANDARD,
        purposes=(CertificatePurpose.SEAL,), organisation_name="Eksempel ApS", cvr="12345674",
        common_name="Lønsystem", subject_serial=f"CVR:12345674-FID:{uuid.uuid4()}", email=None, pseudonym=None,
        not_before=now, not_after=now + dt.timedelta(days=30),
    )
    material = await pki.issue(authority, spec, csr_pem=csr_for(ec.generate_private_key(ec.SECP256R1())), password=None)
    cert = x509.load_pem_x509_certificate(material.certificate_pem.encode())
    assert policy_of(cert).dotted_string == "1.3.6.1.4.1.99999.7.1"
    assert pki.policy_qualified.dotted_string == "1.3.6.1.4.1.99999.7.2"


@pytest.mark.parametrize(("value", "why"), [
    ("2.25.329800735698586629295641978511506172918", "not below 2\\^28"),
    ("1.3.6.1.4.1.268435456", "arc 268435456 is not below 2\\^28"),
    ("2.999.1", "under 2 the second arc must be below 40 too"),
    ("3.1", "first arc must be 0, 1 or 2"),
    ("1.40.1", "second arc must be below 40"),
    ("2", "at least two"),
    ("1.3.6.", "dotted decimal"),
    ("2.0999", "leading zeros"),
    ("urn:oid:1.3.6.1.4.1.32473.1", "dotted decimal"),
])
def test_a_policy_oid_base_a_relying_party_may_reject_stops_the_settings(value: str, why: str) -> None:
    with pytest.raises(ValueError, match=f"PKI_POLICY_OID={value!r}.*{why}"):
        Settings.from_env({"PKI_POLICY_OID": value})


def test_short_policy_oid_bases_are_accepted() -> None:
    assert Settings.from_env({}).pki_policy_oid == "1.3.6.1.4.1.32473.1"
    assert Settings.from_env({"PKI_POLICY_OID": " 1.3.6.1.4.1.99999.1 "}).pki_policy_oid == "1.3.6.1.4.1.99999.1"
    assert Settings.from_env({"PKI_POLICY_OID": "2.39.268435455"}).pki_policy_oid == "2.39.268435455"


def test_the_cli_refuses_to_start_with_a_long_policy_arc_and_says_why(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("PKI_POLICY_OID", "2.25.329800735698586629295641978511506172918")
    with pytest.raises(SystemExit) as exited:
        main(["export-schema"])
    assert exited.value.code == 2
    error = capsys.readouterr().err
    assert "PKI_POLICY_OID" in error and "2^28" in error and "Traceback" not in error


# --- DER at the URLs certificates name ---------------------------------------------------------------------


async def test_the_ca_certificate_and_the_crl_are_served_in_der_equal_to_the_pem_ones(env: Env, org: OrgFixture) -> None:
    der = await env.client.get("/pki/ca.cer")
    assert der.status_code == 200 and der.headers["content-type"] == "application/pkix-cert"
    assert der.headers["cache-control"] == "public, max-age=3600"
    pem = await env.client.get("/pki/ca.pem")
    assert x509.load_der_x509_certificate(der.content) == x509.load_pem_x509_certificate(pem.content)

    retrieved = await issued_org_certificate(env, org)
    revoked = issued(retrieved)
    payload(await env.gql(REVOKE, {"input": {"certificateId": retrieved["certificate"]["id"], "reason": "KEY_LOST"}},
                          token=_ua(env, org)), "revokeCertificate")

    crl_der = await env.client.get("/pki/crl.crl")
    assert crl_der.status_code == 200 and crl_der.headers["content-type"] == "application/pkix-crl"
    listed = x509.load_der_x509_crl(crl_der.content)
    crl_pem = x509.load_pem_x509_crl((await env.client.get("/pki/crl.pem")).content)
    assert listed.public_bytes(serialization.Encoding.DER) == crl_pem.public_bytes(serialization.Encoding.DER)
    assert listed.get_revoked_certificate_by_serial_number(revoked.serial_number) is not None  # not a stale copy
    ca = x509.load_der_x509_certificate(der.content)
    assert listed.is_signature_valid(ca.public_key())  # type: ignore[arg-type]
    # cacheable briefly, never past nextUpdate
    assert crl_der.headers["cache-control"] == "public, max-age=300"
    assert listed.next_update_utc is not None and listed.next_update_utc - dt.datetime.now(dt.UTC) > dt.timedelta(seconds=300)


def test_a_crl_is_never_cacheable_past_its_next_update() -> None:
    now = dt.datetime(2026, 12, 2, 8, 0, tzinfo=dt.UTC)
    assert crl_cache_headers(now + dt.timedelta(days=6), now) == {"Cache-Control": "public, max-age=300"}
    assert crl_cache_headers(now + dt.timedelta(seconds=42), now) == {"Cache-Control": "public, max-age=42"}
    assert crl_cache_headers(now - dt.timedelta(seconds=1), now) == {"Cache-Control": "public, max-age=0"}


async def test_an_issued_certificate_names_the_der_ca_and_crl_urls(env: Env, org: OrgFixture) -> None:
    cert = issued(await issued_org_certificate(env, org))
    base = env.settings.public_base_url
    aia = cert.extensions.get_extension_for_class(x509.AuthorityInformationAccess).value
    assert [(d.access_method, d.access_location.value) for d in aia] == [
        (AuthorityInformationAccessOID.OCSP, f"{base}/pki/ocsp"),
        (AuthorityInformationAccessOID.CA_ISSUERS, f"{base}/pki/ca.cer"),
    ]
    [point] = cert.extensions.get_extension_for_class(x509.CRLDistributionPoints).value
    assert [name.value for name in point.full_name or []] == [f"{base}/pki/crl.crl"]
    ca = x509.load_der_x509_certificate((await env.client.get("/pki/ca.cer")).content)
    cert.verify_directly_issued_by(ca)
    assert x509.load_der_x509_crl((await env.client.get("/pki/crl.crl")).content).issuer == cert.issuer


# --- openssl as the relying party, against a running server ---------------------------------------------


def _ua(env: Env | Settings, org: OrgFixture) -> str:
    settings = env if isinstance(env, Settings) else env.settings
    return sign_token(settings, org.people[Role.USER_ADMINISTRATOR], org.cvr, [Role.USER_ADMINISTRATOR])


def openssl(*args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    """No proxy: openssl's HTTP client honours http_proxy, and the server is on this machine."""
    assert OPENSSL is not None
    env = {k: v for k, v in os.environ.items() if k.lower() not in PROXY_VARIABLES}
    return subprocess.run([OPENSSL, *args], capture_output=True, text=True, cwd=cwd, env=env, timeout=60)


def crl_download_missing() -> str | None:
    if OPENSSL is None:
        return "no openssl binary on this machine"
    helped = subprocess.run([OPENSSL, "verify", "-help"], capture_output=True, text=True, timeout=30)
    if "-crl_download" not in helped.stdout + helped.stderr:
        return f"this openssl ({subprocess.run([OPENSSL, 'version'], capture_output=True, text=True).stdout.strip()}) " \
               "has no `verify -crl_download`"
    return None


@contextlib.asynccontextmanager
async def served_database(backend: str, tmp: Path) -> AsyncIterator[str]:
    if backend == "sqlite":
        yield f"sqlite+aiosqlite:///{tmp / 'relying-party.db'}"
    else:
        async with _postgres_database() as url:
            yield url


def ocsp_status(done: subprocess.CompletedProcess[str], name: str) -> str:
    """openssl ocsp's verdict on `name` (good / revoked / unknown), once it verified the response."""
    assert done.returncode == 0, (done.stdout, done.stderr)
    assert "Response verify OK" in done.stdout + done.stderr, (done.stdout, done.stderr)
    [line] = [line for line in done.stdout.splitlines() if line.startswith(f"{name}: ")]
    return line.split(": ", 1)[1].strip()


async def test_openssl_verify_and_ocsp_agree_with_our_status_after_issue_revocation_deletion_and_renewal(
    env: Env, smtp: tuple[MailSink, int], tmp_path: Path, request: pytest.FixtureRequest
) -> None:
    """A served gateway; openssl fetches the root and the issuing CA (DER, from the URLs the
    certificates name), then for each certificate `verify -crl_check_all -crl_download` (both CRLs,
    from the distribution points) and `ocsp` against the URL in the AIA, both checked against our
    status after issue, revokeCertificate, deleteUser (the holder left) and renewCertificate."""
    if reason := crl_download_missing():
        pytest.skip(reason)
    async with served_database(env.backend, tmp_path) as database:
        settings = Settings.from_env({}, database_url=database)
        services = build_services(settings)
        await upgrade(services.engine)
        org = await make_org(services)
        holder = org.people[Role.USER]
        await services.engine.dispose()

        async with gateway(database, smtp[1], tmp_path) as base, httpx.AsyncClient(base_url=base) as client:
            # the development root made for this gateway's address (a port of its own) goes with it
            request.addfinalizer(Path(RootSource.development(base).key_file).unlink)
            served = Env(env.backend, settings, services, client, smtp[0])
            token = _ua(settings, org)

            async def fetch(path: str, name: str) -> x509.Certificate:
                (tmp_path / f"{name}.cer").write_bytes((await client.get(path)).content)
                converted = openssl("x509", "-inform", "DER", "-in", f"{name}.cer", "-out", f"{name}.pem", cwd=tmp_path)
                assert converted.returncode == 0, converted.stderr
                return x509.load_pem_x509_certificate((tmp_path / f"{name}.pem").read_bytes())

            def save(body: dict[str, Any], name: str) -> x509.Certificate:
                (tmp_path / f"{name}.pem").write_text(body["certificatePem"])
                return issued(body)

            async def verdicts(name: str) -> tuple[str, str]:
                verified = await asyncio.to_thread(
                    openssl, "verify", "-crl_check_all", "-crl_download", "-CAfile", "root.pem", "-untrusted", "ca.pem",
                    f"{name}.pem", cwd=tmp_path,
                )
                output = verified.stdout + verified.stderr
                verify = "ok" if verified.returncode == 0 and f"{name}.pem: OK" in verified.stdout else output
                asked = await asyncio.to_thread(
                    openssl, "ocsp", "-issuer", "ca.pem", "-cert", f"{name}.pem", "-url", f"{base}/pki/ocsp",
                    "-CAfile", "root.pem", "-verify_other", "ca.pem", "-nonce", cwd=tmp_path,
                )
                return verify, ocsp_status(asked, f"{name}.pem")

            async def our_status(certificate_id: str) -> str:
                body = await served.gql("query($id: ID!) { certificate(id: $id) { status } }", {"id": certificate_id},
                                        token=token)
                return str(body["data"]["certificate"]["status"])

            root = await fetch("/pki/root.cer", "root")
            ca = await fetch("/pki/ca.cer", "ca")
            assert root.subject == root.issuer and ca.issuer == root.subject
            chain = x509.load_pem_x509_certificates((await client.get("/pki/ca.pem")).content)
            assert chain == [ca, root]

            # issued: both tools say so, the OCSP URL is the one in the certificate
            system = await issued_org_certificate(served, org)
            cert = save(system, "system")
            aia = cert.extensions.get_extension_for_class(x509.AuthorityInformationAccess).value
            assert [d.access_location.value for d in aia if d.access_method == AuthorityInformationAccessOID.OCSP] == [
                f"{base}/pki/ocsp"
            ]
            assert await our_status(system["certificate"]["id"]) == "ISSUED"
            assert await verdicts("system") == ("ok", "good")

            # revoked by an administrator
            payload(await served.gql(REVOKE, {"input": {"certificateId": system["certificate"]["id"],
                                                        "reason": "KEY_COMPROMISE_SUSPECTED"}}, token=token),
                    "revokeCertificate")
            assert await our_status(system["certificate"]["id"]) == "REVOKED"
            verify, status = await verdicts("system")
            assert "certificate revoked" in verify and status == "revoked"
            detail = await asyncio.to_thread(
                openssl, "ocsp", "-issuer", "ca.pem", "-cert", "system.pem", "-url", f"{base}/pki/ocsp",
                "-CAfile", "root.pem", "-verify_other", "ca.pem", "-resp_text", cwd=tmp_path,
            )
            assert "Reason: keyCompromise" in detail.stdout, detail.stdout

            # the holder is deleted: their certificate is revoked in the same transaction
            ordered = await order_user(served, org, holder)
            save(await issue_user(served, org, holder, ordered["id"], password=PASSWORD), "personal")
            assert await verdicts("personal") == ("ok", "good")
            payload(await served.gql(DELETE_USER, {"input": {"userId": gid("User", holder)}}, token=token), "deleteUser")
            assert await our_status(ordered["id"]) == "REVOKED"
            verify, status = await verdicts("personal")
            assert "certificate revoked" in verify and status == "revoked"

            # renewal: the successor is good, the predecessor as we say it is
            first = await issued_org_certificate(served, org)
            save(first, "first")
            renewed = payload(await served.gql(RENEW, {"input": {"certificateId": first["certificate"]["id"],
                                                                "password": PASSWORD}}, token=token), "renewCertificate")
            successor = save(renewed, "successor")
            assert successor.serial_number != cert.serial_number
            assert await verdicts("successor") == ("ok", "good")
            expected = {"ISSUED": ("ok", "good")}.get(await our_status(first["certificate"]["id"]))
            verify, status = await verdicts("first")
            assert expected is None or (verify, status) == expected
            assert expected is not None or ("certificate revoked" in verify and status == "revoked")

            # a serial this CA never issued
            asked = await asyncio.to_thread(
                openssl, "ocsp", "-issuer", "ca.pem", "-serial", "0x1234567890ABCDEF", "-url", f"{base}/pki/ocsp",
                "-CAfile", "root.pem", "-verify_other", "ca.pem", cwd=tmp_path,
            )
            assert ocsp_status(asked, "0x1234567890ABCDEF") == "unknown"
