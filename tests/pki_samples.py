"""One of each document the CA publishes, obtained over the API as a client would, for the relying
parties' tools (tests/test_x509_go.py): the root and the issuing CA certificates, user and
organisation certificates with a generated key and from RSA and EC CSRs (standard and qualified),
the CRL after a revocation, so that it has an entry, the root's CRL, and an OCSP response with the
delegated responder's certificate in it. Each as DER, by a name that says what it is.

The `samples` fixture issues them from a gateway of its own whose PUBLIC_BASE_URL is a public name,
as in production: the certificates carry it (CRL distribution point, CA issuers), and the session's
gateway's `http://testserver` is, rightly, an internal name and no valid URI host to linters.
One database is enough (SQLite): the documents are the CA's, the same whatever stores its rows."""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest
import pytest_asyncio
from cryptography import x509
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from cryptography.hazmat.primitives.serialization import Encoding
from cryptography.x509 import ocsp

from app.bootstrap import build_services
from app.config import Settings
from app.domain.common.organisation import OrganisationSettings
from app.domain.common.principal import Role
from app.entrypoints.http.app import create_app
from app.persistence.migrate import upgrade
from tests.conftest import Env, MailSink
from tests.factories import make_org
from tests.test_certificates import (
    PASSWORD,
    RETRIEVE,
    REVOKE,
    csr_for,
    issue_user,
    order_org,
    order_user,
    payload,
    ua,
)

PUBLIC_BASE_URL = "https://mitid-gateway.example.com"  # RFC 2606's name for examples, a public one


@dataclass(frozen=True)
class Samples:
    ca: bytes  # the issuing CA
    users: dict[str, bytes]  # natural persons
    organisations: dict[str, bytes]  # legal persons (systems)
    crl: bytes
    root: bytes = b""
    root_crl: bytes = b""
    responder: bytes = b""  # the OCSP responder's certificate, as an OCSP response carries it
    ocsp_response: bytes = b""  # "good" for the first user certificate

    def certificates(self) -> dict[str, bytes]:
        return {"root": self.root, "ca": self.ca, "ocsp-responder": self.responder, **self.users,
                **self.organisations}


def _der(pem: str) -> bytes:
    return x509.load_pem_x509_certificate(pem.encode()).public_bytes(Encoding.DER)


async def issued_samples(env: Env) -> Samples:
    # qualified certificates allowed, so that both of the CA's policies are among the samples
    org = await make_org(env.services, settings=OrganisationSettings(qualified_certificates_allowed=True))
    holder = org.people[Role.USER]
    token = ua(env, org)

    users: dict[str, bytes] = {}
    ordered = await order_user(env, org, holder)
    users["user-generated-rsa"] = _der((await issue_user(env, org, holder, ordered["id"], password=PASSWORD))["certificatePem"])
    revoked_id = ordered["id"]
    for name, key in [
        ("user-csr-rsa", rsa.generate_private_key(public_exponent=65537, key_size=2048)),
        ("user-csr-ec-p256", ec.generate_private_key(ec.SECP256R1())),
    ]:
        ordered = await order_user(env, org, holder, issuance="HARDWARE")
        users[name] = _der((await issue_user(env, org, holder, ordered["id"], csr=csr_for(key)))["certificatePem"])
    ordered = await order_user(env, org, holder, type="QUALIFIED", issuance="HARDWARE")
    csr = csr_for(ec.generate_private_key(ec.SECP384R1()))
    users["user-qualified-csr-ec-p384"] = _der((await issue_user(env, org, holder, ordered["id"], csr=csr))["certificatePem"])

    organisations: dict[str, bytes] = {}
    for name, source in [
        ("organisation-generated-rsa", {"password": PASSWORD}),
        ("organisation-csr-rsa", {"csr": csr_for(rsa.generate_private_key(public_exponent=65537, key_size=3072))}),
        ("organisation-csr-ec-p384", {"csr": csr_for(ec.generate_private_key(ec.SECP384R1()))}),
    ]:
        ordered = await order_org(env, org, pNumber=org.p_numbers[0])
        body = await env.gql(RETRIEVE, {"input": {"certificateId": ordered["id"], **source}}, token=token)
        organisations[name] = _der(payload(body, "retrieveOrganisationCertificate")["certificatePem"])

    body = await env.gql(REVOKE, {"input": {"certificateId": revoked_id, "reason": "KEY_LOST"}}, token=token)
    payload(body, "revokeCertificate")
    ca = await env.client.get("/pki/ca.pem")
    crl = await env.client.get("/pki/crl.pem")
    root = await env.client.get("/pki/root.cer")
    root_crl = await env.client.get("/pki/root-crl.crl")
    assert {r.status_code for r in (ca, crl, root, root_crl)} == {200}, (ca.text, crl.text)
    crl_der = x509.load_pem_x509_crl(crl.content).public_bytes(Encoding.DER)
    issuing = x509.load_pem_x509_certificate(ca.content)
    asked = (
        ocsp.OCSPRequestBuilder()
        .add_certificate(x509.load_der_x509_certificate(users["user-csr-rsa"]), issuing, hashes.SHA1())
        .build()
    )
    answer = await env.client.post("/pki/ocsp", content=asked.public_bytes(Encoding.DER),
                                   headers={"Content-Type": "application/ocsp-request"})
    response = ocsp.load_der_ocsp_response(answer.content)
    assert response.response_status is ocsp.OCSPResponseStatus.SUCCESSFUL
    assert response.certificate_status is ocsp.OCSPCertStatus.GOOD
    [responder] = response.certificates
    return Samples(_der(ca.text), users, organisations, crl_der, root=root.content, root_crl=root_crl.content,
                   responder=responder.public_bytes(Encoding.DER), ocsp_response=answer.content)


@pytest_asyncio.fixture(scope="module")
async def samples(smtp: tuple[MailSink, int], tmp_path_factory: pytest.TempPathFactory) -> AsyncIterator[Samples]:
    sink, port = smtp
    work: Path = tmp_path_factory.mktemp("pki-samples")
    settings = Settings.from_env(
        {}, database_url=f"sqlite+aiosqlite:///{work / 'gateway.db'}", smtp_url=f"smtp://127.0.0.1:{port}",
        public_base_url=PUBLIC_BASE_URL, mail_dir=str(work / "mail"), upload_dir=str(work / "uploads"),
    )
    services = build_services(settings)
    await upgrade(services.engine)
    app = create_app(settings, services)
    async with contextlib.AsyncExitStack() as stack:
        await stack.enter_async_context(app.router.lifespan_context(app))
        client = await stack.enter_async_context(
            httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url=PUBLIC_BASE_URL)
        )
        yield await issued_samples(Env("sqlite", settings, services, client, sink))
