"""pkilint (DigiCert's RFC 5280 and ETSI EN 319 412 linters) on what the CA publishes, obtained
over the API as a client would: the CA certificate(s) and the CRL over HTTP (DER), and user and
organisation certificates (standard and qualified; RSA and EC from a CSR, RSA with a generated key;
a named and an anonymous person). PKIX: no ERROR or FATAL on any of them. ETSI EN 319 412-2
(natural persons) and -3 (legal persons), with the QC statements of -5: no ERROR or FATAL except
those in ETSI_ALLOWED, each argued there and in the README.

The gateway here is configured as production would be (the session gateway's http://testserver is
no valid URI host to linters): PUBLIC_BASE_URL is https, and the certificates name their CRL, CA
certificate and OCSP URLs under PKI_PUBLICATION_BASE_URL, which is http: the CRL distribution point
must be http or ldap (EN 319 412-2 GEN-4.3.11-4, and RFC 5280 advises against https for CRLs). One
database is enough: the documents are the CA's, the same whatever stores its rows."""

from __future__ import annotations

import contextlib
import datetime as dt
import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest
import pytest_asyncio
from cryptography import x509
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from cryptography.hazmat.primitives.serialization import Encoding
from cryptography.x509.oid import NameOID
from pkilint import etsi, finding_filter, loader, pkix
from pkilint.etsi import etsi_constants
from pkilint.etsi.asn1 import en_319_412_5 as qc_asn1
from pkilint.pkix import certificate, crl, extension, name
from pkilint.validation import ValidationFindingSeverity
from pyasn1.codec.der.decoder import decode as der_decode
from pyasn1.codec.der.encoder import encode as der_encode
from pyasn1.type import univ
from pyasn1_alt_modules import rfc3739

from app.adapters.pki import CA_CERTIFICATE_PATH, CRL_PATH
from app.adapters.pki_hierarchy import ROOT_CERTIFICATE_PATH, ROOT_CRL_PATH
from app.bootstrap import build_services
from app.config import Settings
from app.domain.common.organisation import OrganisationSettings
from app.domain.common.principal import Role
from app.domain.users import lifecycle as uc
from app.domain.users.rules import NewUser
from app.entrypoints.cli.seed import activate_directly
from app.entrypoints.http.app import create_app
from app.persistence.migrate import upgrade
from tests.conftest import Env, MailSink
from tests.factories import OrgFixture, make_org
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
PUBLICATION_BASE_URL = "http://pki.mitid-gateway.example.com"  # what relying parties fetch, plain http
CT = etsi_constants.CertificateType
QC_STATEMENTS = x509.ObjectIdentifier(str(rfc3739.id_pe_qcStatements))

# ETSI findings of severity ERROR we accept, by code, each with its reason (README, "Certificate
# profile"). Empty: any ERROR or FATAL is a failure. Add an entry only with an argument that holds.
ETSI_ALLOWED: dict[str, str] = {}


@dataclass(frozen=True)
class Published:
    cas: dict[str, bytes]  # what /pki serves: the root and the issuing CA
    crls: dict[str, bytes]  # theirs
    persons: dict[str, bytes]
    organisations: dict[str, bytes]
    holder: uuid.UUID
    anonymous: uuid.UUID


def _der(pem: str) -> bytes:
    return x509.load_pem_x509_certificate(pem.encode()).public_bytes(Encoding.DER)


async def _anonymous_user(env: Env, org: OrgFixture) -> uuid.UUID:
    async with env.services.unit_of_work(org.actor()) as uow:
        created = await uc.create_user(
            uow, NewUser(first_name="Anna", last_name="Anonym", email=f"anna.{org.cvr}@example.dk",
                         date_of_birth="1979-09-09", anonymous=True),
            send=False,
        )
        await activate_directly(uow, created.user, dt.datetime.now(dt.UTC))
        await uow.commit()
    return created.user.id


async def _publish(env: Env) -> Published:
    org = await make_org(
        env.services, settings=OrganisationSettings(qualified_certificates_allowed=True, anonymity_allowed=True)
    )
    holder, anonymous = org.people[Role.USER], await _anonymous_user(env, org)
    token = ua(env, org)

    persons: dict[str, bytes] = {}
    ordered = await order_user(env, org, holder)
    persons["named-generated-rsa"] = _der((await issue_user(env, org, holder, ordered["id"], password=PASSWORD))["certificatePem"])
    revoked_id = ordered["id"]
    for label, who, extra, key in [
        ("named-csr-rsa", holder, {}, rsa.generate_private_key(public_exponent=65537, key_size=2048)),
        ("named-csr-ec-p256", holder, {}, ec.generate_private_key(ec.SECP256R1())),
        ("named-qualified-csr-ec-p384", holder, {"type": "QUALIFIED"}, ec.generate_private_key(ec.SECP384R1())),
        ("anonymous-qualified-csr-rsa", anonymous, {"type": "QUALIFIED"},
         rsa.generate_private_key(public_exponent=65537, key_size=3072)),
    ]:
        ordered = await order_user(env, org, who, issuance="HARDWARE", **extra)
        persons[label] = _der((await issue_user(env, org, who, ordered["id"], csr=csr_for(key)))["certificatePem"])
    ordered = await order_user(env, org, anonymous)
    persons["anonymous-generated-rsa"] = _der(
        (await issue_user(env, org, anonymous, ordered["id"], password=PASSWORD))["certificatePem"]
    )

    organisations: dict[str, bytes] = {}
    for label, extra, source in [
        ("generated-rsa", {}, {"password": PASSWORD}),
        ("csr-rsa", {}, {"csr": csr_for(rsa.generate_private_key(public_exponent=65537, key_size=3072))}),
        ("csr-ec-p384", {}, {"csr": csr_for(ec.generate_private_key(ec.SECP384R1()))}),
        ("qualified-seal-csr-ec-p256", {"type": "QUALIFIED", "purposes": ["SEAL"]},
         {"csr": csr_for(ec.generate_private_key(ec.SECP256R1()))}),
        ("qualified-generated-rsa", {"type": "QUALIFIED"}, {"password": PASSWORD}),
    ]:
        ordered = await order_org(env, org, pNumber=org.p_numbers[0], **extra)
        body = await env.gql(RETRIEVE, {"input": {"certificateId": ordered["id"], **source}}, token=token)
        organisations[label] = _der(payload(body, "retrieveOrganisationCertificate")["certificatePem"])

    # a revocation, so that the CRL has an entry
    payload(await env.gql(REVOKE, {"input": {"certificateId": revoked_id, "reason": "KEY_LOST"}}, token=token),
            "revokeCertificate")
    cas, crls = {}, {}
    for documents, label, path in [
        (cas, "issuing-ca", CA_CERTIFICATE_PATH), (crls, "issuing-ca-crl", CRL_PATH),
        (cas, "root-ca", ROOT_CERTIFICATE_PATH), (crls, "root-ca-crl", ROOT_CRL_PATH),
    ]:
        response = await env.client.get(path)
        assert response.status_code == 200, (path, response.status_code, response.text)
        documents[label] = response.content
    return Published(cas, crls, persons, organisations, holder, anonymous)


@pytest_asyncio.fixture(scope="module")
async def published(smtp: tuple[MailSink, int], tmp_path_factory: pytest.TempPathFactory) -> AsyncIterator[Published]:
    sink, port = smtp
    work: Path = tmp_path_factory.mktemp("pkilint")
    settings = Settings.from_env(
        {}, database_url=f"sqlite+aiosqlite:///{work / 'gateway.db'}", smtp_url=f"smtp://127.0.0.1:{port}",
        public_base_url=PUBLIC_BASE_URL, pki_publication_base_url=PUBLICATION_BASE_URL, mail_dir=str(work / "mail"), upload_dir=str(work / "uploads"),
    )
    services = build_services(settings)
    await upgrade(services.engine)
    app = create_app(settings, services)
    async with contextlib.AsyncExitStack() as stack:
        await stack.enter_async_context(app.router.lifespan_context(app))
        client = await stack.enter_async_context(
            httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url=PUBLIC_BASE_URL)
        )
        yield await _publish(Env("sqlite", settings, services, client, sink))


# --- pkilint, as its lint_pkix_cert, lint_crl and lint_etsi_cert commands run it ---------------------

Finding = tuple[str, str, str]  # severity, code, where and what


def _findings(results: Any, worst: ValidationFindingSeverity = ValidationFindingSeverity.ERROR) -> list[Finding]:
    return [
        (d.finding.severity.name, d.finding.code, f"{r.node.path}: {d.message}")
        for r in results for d in r.finding_descriptions if d.finding.severity <= worst
    ]


def _certificate(der: bytes, label: str) -> Any:
    return loader.RFC5280CertificateDocumentLoader().load_der_document(der, label)


def pkix_certificate_errors(der: bytes, label: str = "certificate") -> list[Finding]:
    validator = certificate.create_pkix_certificate_validator_container(
        certificate.create_decoding_validators(name.ATTRIBUTE_TYPE_MAPPINGS, extension.EXTENSION_MAPPINGS),
        [
            certificate.create_issuer_validator_container([]),
            certificate.create_validity_validator_container(),
            certificate.create_subject_validator_container([]),
            certificate.create_extensions_validator_container([]),
            certificate.create_spki_validator_container([]),
        ],
    )
    return _findings(validator.validate(_certificate(der, label).root))


def pkix_crl_errors(der: bytes, label: str = "crl") -> list[Finding]:
    validator = crl.create_pkix_crl_validator_container(
        [pkix.create_attribute_decoder(name.ATTRIBUTE_TYPE_MAPPINGS), pkix.create_extension_decoder(extension.EXTENSION_MAPPINGS)],
        [
            crl.create_issuer_validator_container([]),
            crl.create_validity_validator_container([]),
            crl.create_extensions_validator_container([]),
        ],
    )
    document = loader.RFC5280CertificateListDocumentLoader().load_der_document(der, label)
    return _findings(validator.validate(document.root))


def etsi_type(der: bytes) -> etsi_constants.CertificateType:
    return etsi.determine_certificate_type(_certificate(der, "certificate"))


def etsi_errors(der: bytes, certificate_type: etsi_constants.CertificateType, label: str = "certificate") -> list[Finding]:
    validator = certificate.create_pkix_certificate_validator_container(
        etsi.create_decoding_validators(certificate_type), etsi.create_validators(certificate_type)
    )
    results, _ = finding_filter.filter_results(
        etsi.create_etsi_finding_filters(certificate_type), validator.validate(_certificate(der, label).root)
    )
    return [f for f in _findings(results) if f[1] not in ETSI_ALLOWED]


# --- the tests -------------------------------------------------------------------------------------------


async def test_pkix_linters_find_no_error_in_the_ca_certificates_the_issued_certificates_and_the_crls(
    published: Published,
) -> None:
    documents = {**published.cas, **published.persons, **published.organisations}
    assert len(documents) == 2 + 6 + 5 and len(published.crls) == 2
    found = {label: pkix_certificate_errors(der, label) for label, der in documents.items()}
    found |= {label: pkix_crl_errors(der, label) for label, der in published.crls.items()}
    assert {label: errors for label, errors in found.items() if errors} == {}
    revoked = x509.load_der_x509_crl(published.crls["issuing-ca-crl"])
    assert len(list(revoked)) == 1  # the CRL linted has an entry


async def test_certificates_name_the_publication_address_for_relying_parties(published: Published) -> None:
    for label, der in {**published.persons, **published.organisations}.items():
        certificate = x509.load_der_x509_certificate(der)
        points = certificate.extensions.get_extension_for_class(x509.CRLDistributionPoints).value
        urls = [n.value for p in points for n in (p.full_name or [])]
        access = certificate.extensions.get_extension_for_class(x509.AuthorityInformationAccess).value
        urls += [d.access_location.value for d in access]
        assert urls and all(u.startswith(PUBLICATION_BASE_URL + "/pki/") for u in urls), (label, urls)


async def test_etsi_natural_person_linters_find_no_error_in_user_certificates(published: Published) -> None:
    for label, der in published.persons.items():
        # not QSCD (see app/adapters/pki_profile.py), so pkilint's type is the plain natural person's
        # even for qualified ones; their QC statements are linted all the same
        assert etsi_type(der) is CT.NCP_NATURAL_PERSON_CERTIFICATE, label
        assert etsi_errors(der, CT.NCP_NATURAL_PERSON_CERTIFICATE, label) == [], label


async def test_etsi_legal_person_linters_find_no_error_in_organisation_certificates(published: Published) -> None:
    for label, der in published.organisations.items():
        assert etsi_type(der) is CT.NCP_LEGAL_PERSON_CERTIFICATE, label
        assert etsi_errors(der, CT.NCP_LEGAL_PERSON_CERTIFICATE, label) == [], label


async def test_subjects_have_the_oces3_shape_names_for_named_persons_a_pseudonym_for_anonymous_ones(
    published: Published,
) -> None:
    def values(der: bytes, oid: x509.ObjectIdentifier) -> list[str]:
        return [str(a.value) for a in x509.load_der_x509_certificate(der).subject.get_attributes_for_oid(oid)]

    named = published.persons["named-csr-ec-p256"]
    assert values(named, NameOID.GIVEN_NAME) == ["User"] and len(values(named, NameOID.SURNAME)) == 1
    assert values(named, NameOID.SERIAL_NUMBER) == [f"UI:DK-E:G:{published.holder}"]
    assert values(named, NameOID.PSEUDONYM) == []
    anonymous = published.persons["anonymous-generated-rsa"]
    assert values(anonymous, NameOID.PSEUDONYM) == values(anonymous, NameOID.COMMON_NAME) == [str(published.anonymous)]
    assert values(anonymous, NameOID.GIVEN_NAME) == values(anonymous, NameOID.SURNAME) == []
    assert values(anonymous, NameOID.SERIAL_NUMBER) == [f"UI:DK-E:G:{published.anonymous}"]
    for der in published.organisations.values():
        [serial] = values(der, NameOID.SERIAL_NUMBER)
        assert serial.startswith("UI:DK-O:G:") and uuid.UUID(serial.removeprefix("UI:DK-O:G:"))
        assert values(der, NameOID.ORGANIZATION_IDENTIFIER)[0].startswith("NTRDK-")
        assert values(der, NameOID.GIVEN_NAME) == values(der, NameOID.PSEUDONYM) == []


def _qc_statements(der: bytes) -> dict[str, Any]:
    """statementId -> statementInfo (None if absent), decoded with pyasn1 as pkilint does."""
    cert = x509.load_der_x509_certificate(der)
    try:
        value = cert.extensions.get_extension_for_oid(QC_STATEMENTS).value
    except x509.ExtensionNotFound:
        return {}
    assert isinstance(value, x509.UnrecognizedExtension)
    statements, rest = der_decode(value.value, asn1Spec=rfc3739.QCStatements())
    assert rest == b""
    return {str(s["statementId"]): s["statementInfo"] if s["statementInfo"].isValue else None for s in statements}


def _policies(der: bytes) -> list[str]:
    value = x509.load_der_x509_certificate(der).extensions.get_extension_for_class(x509.CertificatePolicies).value
    return [p.policy_identifier.dotted_string for p in value]


async def test_qualified_certificates_carry_qc_compliance_type_and_pds_and_no_sscd(published: Published) -> None:
    cases = [
        (published.persons["named-qualified-csr-ec-p384"], qc_asn1.id_etsi_qct_esign, "0.4.0.194112.1.0"),
        (published.persons["anonymous-qualified-csr-rsa"], qc_asn1.id_etsi_qct_esign, "0.4.0.194112.1.0"),
        (published.organisations["qualified-seal-csr-ec-p256"], qc_asn1.id_etsi_qct_eseal, "0.4.0.194112.1.1"),
        (published.organisations["qualified-generated-rsa"], qc_asn1.id_etsi_qct_eseal, "0.4.0.194112.1.1"),
    ]
    for der, qc_type, etsi_policy in cases:
        statements = _qc_statements(der)
        assert set(statements) == {str(qc_asn1.id_etsi_qcs_QcCompliance), str(qc_asn1.id_etsi_qcs_QcType),
                                   str(qc_asn1.id_etsi_qcs_QcPDS)}
        assert str(qc_asn1.id_etsi_qcs_QcSSCD) not in statements  # no key is known to be in a QSCD
        assert statements[str(qc_asn1.id_etsi_qcs_QcCompliance)] is None
        types, _ = der_decode(statements[str(qc_asn1.id_etsi_qcs_QcType)].asOctets(), asn1Spec=qc_asn1.QcType())
        assert list(types) == [qc_type]
        locations, _ = der_decode(statements[str(qc_asn1.id_etsi_qcs_QcPDS)].asOctets(),
                                  asn1Spec=qc_asn1.PdsLocations())
        assert [(str(p["url"]), str(p["language"])) for p in locations] == [
            ("https://mitid-gateway.example.com/pki/pds-en.pdf", "en")
        ]
        assert _policies(der)[1:] == [etsi_policy] and _policies(der)[0].endswith(".2")
        assert str(qc_asn1.id_etsi_qcs_QcCompliance) in {str(i) for i in _certificate(der, "q").qualified_statement_ids}
    for der in [published.persons["named-csr-rsa"], published.organisations["csr-rsa"]]:
        assert _qc_statements(der) == {} and len(_policies(der)) == 1 and _policies(der)[0].endswith(".1")


def test_the_checks_report_a_certificate_that_breaks_the_profiles() -> None:
    """The linters as run here do find errors: a person with neither names nor pseudonym, a CRL
    distribution point over https only, a policy arc pkilint cannot decode, a QcPDS over http."""
    ca_key = ec.generate_private_key(ec.SECP256R1())
    key = ec.generate_private_key(ec.SECP256R1())
    now = dt.datetime.now(dt.UTC).replace(microsecond=0)
    issuer = x509.Name([x509.NameAttribute(NameOID.COUNTRY_NAME, "DK"), x509.NameAttribute(NameOID.COMMON_NAME, "CA")])

    def person(policy: str, crl_url: str, qc: bytes | None = None) -> bytes:
        builder = (
            x509.CertificateBuilder()
            .subject_name(x509.Name([x509.NameAttribute(NameOID.COUNTRY_NAME, "DK"),
                                     x509.NameAttribute(NameOID.COMMON_NAME, "Nobody")]))
            .issuer_name(issuer).public_key(key.public_key()).serial_number(x509.random_serial_number())
            .not_valid_before(now).not_valid_after(now + dt.timedelta(days=30))
            .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
            .add_extension(x509.KeyUsage(True, True, False, False, False, False, False, False, False), critical=True)
            .add_extension(x509.SubjectKeyIdentifier.from_public_key(key.public_key()), critical=False)
            .add_extension(x509.AuthorityKeyIdentifier.from_issuer_public_key(ca_key.public_key()), critical=False)
            .add_extension(x509.CertificatePolicies([x509.PolicyInformation(x509.ObjectIdentifier(policy), None)]),
                           critical=False)
            .add_extension(x509.CRLDistributionPoints([x509.DistributionPoint(
                [x509.UniformResourceIdentifier(crl_url)], None, None, None)]), critical=False)
            .add_extension(x509.AuthorityInformationAccess([x509.AccessDescription(
                x509.oid.AuthorityInformationAccessOID.CA_ISSUERS,
                x509.UniformResourceIdentifier("http://ca.example.com/ca.cer"))]), critical=False)
        )
        if qc is not None:
            builder = builder.add_extension(x509.UnrecognizedExtension(QC_STATEMENTS, qc), critical=False)
        return builder.sign(ca_key, hashes.SHA256()).public_bytes(Encoding.DER)

    good_policy, https_crl = "1.3.6.1.4.1.32473.1.1", "https://ca.example.com/crl.crl"
    errors = etsi_errors(person(good_policy, https_crl), CT.NCP_NATURAL_PERSON_CERTIFICATE)
    codes = {code for _, code, _ in errors}
    assert "etsi.en_319_412_2.nat-4.2.4-1.required_attribute_missing" in codes, errors
    assert "etsi.en_319_412_2.gen-4.3.11-4.http_or_ldap_crldp_distribution_point_uri_missing" in codes, errors
    assert {s for s, _, _ in pkix_certificate_errors(person("2.999.1", "http://ca.example.com/crl.crl"))} == {"FATAL"}
    location = qc_asn1.PdsLocation()
    location["url"], location["language"] = "http://ca.example.com/pds.pdf", "en"
    locations = qc_asn1.PdsLocations()
    locations.append(location)
    statement = rfc3739.QCStatement()
    statement["statementId"], statement["statementInfo"] = qc_asn1.id_etsi_qcs_QcPDS, univ.Any(der_encode(locations))
    statements = rfc3739.QCStatements()
    statements.append(statement)
    http_pds = der_encode(statements)
    codes = {c for _, c, _ in etsi_errors(person(good_policy, "http://ca.example.com/crl.crl", http_pds),
                                          CT.NCP_NATURAL_PERSON_CERTIFICATE)}
    assert "etsi.en_319_412_5.gen-4.3.4.url_scheme_not_https" in codes, codes
