"""The gateway's issuing CA, built on `cryptography` (no hand-written ASN.1 but the QC statements
of app/adapters/pki_profile.py, which `cryptography` has no type for).

The issuing CA's key and certificate (signed by the root, see app/adapters/pki_hierarchy.py, whose
key is not in the database) are made the first time a certificate, the CA or the CRL is needed, and
stored in the database with the key as encrypted PKCS#8 (the passphrase is derived from PKI_KEY, by
default from DATA_KEY), beside the root's certificate and CRL and the delegated OCSP responder's
certificate and key (encrypted the same way). A CA from before the hierarchy (self-signed) keeps its
key and subject and is certified by the root, so what it issued chains to the root too.

What issued certificates say is app/adapters/pki_profile.py's: the OCES3 subject (organisation
name, organizationIdentifier NTRDK-<cvr>, the holder's names or pseudonym and UI:DK-E:G:/UI:DK-O:G:
identifier, the email if any), key usages by purpose, the policy under PKI_POLICY_OID (and QCP-n /
QCP-l with the QC statements for qualified ones). They are valid 3 years and name the OCSP
responder's URL and the DER URLs of the CA certificate and the CRL. Keys we generate are handed out once in a
password-protected PKCS#12 (with the chain) and never stored."""

from __future__ import annotations

import asyncio
import base64
import dataclasses
import datetime as dt
import functools
import uuid
from collections.abc import Sequence
from typing import Any

from cryptography import x509
from cryptography.exceptions import UnsupportedAlgorithm
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from cryptography.hazmat.primitives.kdf.hkdf import HKDF
from cryptography.hazmat.primitives.serialization import pkcs12
from cryptography.x509.oid import AuthorityInformationAccessOID, NameOID

from app.adapters.pki_hierarchy import (
    OCSP_PATH,
    RESPONDER_RENEWAL,
    Root,
    RootSource,
    RootUnavailable,
    issuing_certificate,
    responder_certificate,
    root_crl,
)
from app.adapters.pki_profile import (
    extended_usages,
    key_usage,
    policies_of,
    qc_statements_of,
    subject_of,
    usage_of,
)
from app.config import DEFAULT_PKI_POLICY_OID, Settings, check_policy_oid
from app.domain.certificates.model import (
    AuthorityRecord,
    CertificateErrorCode,
    CertificateSpec,
    IssuedMaterial,
    Revocation,
    RevocationReason,
)
from app.domain.certificates.rules import add_years
from app.domain.common.errors import DomainError

CA_NAME = "MitID Erhverv Gateway Issuing CA"
CA_VALIDITY_YEARS = 20
CA_KEY_BITS = 3072
ISSUED_KEY_BITS = 2048
CRL_VALIDITY = dt.timedelta(days=7)
ALLOWED_CURVES = (ec.SECP256R1, ec.SECP384R1, ec.SECP521R1)

# Where certificates point relying parties: DER, as RFC 5280 4.2.1.13 (CRL distribution points) and
# 4.2.2.1 (caIssuers) require; the .pem routes beside them are for people.
CA_CERTIFICATE_PATH = "/pki/ca.cer"
CRL_PATH = "/pki/crl.crl"

REASONS: dict[RevocationReason, x509.ReasonFlags] = {
    RevocationReason.CONTENT_INCORRECT: x509.ReasonFlags.affiliation_changed,
    # A lost key may be in anyone's hands: treated like a compromise.
    RevocationReason.KEY_LOST: x509.ReasonFlags.key_compromise,
    RevocationReason.KEY_COMPROMISE_SUSPECTED: x509.ReasonFlags.key_compromise,
    RevocationReason.KEY_DESTROYED: x509.ReasonFlags.cessation_of_operation,
    # The holder is no longer associated with the organisation (deleted, or recreated anonymous).
    RevocationReason.HOLDER_LEFT: x509.ReasonFlags.affiliation_changed,
}

C = CertificateErrorCode
PrivateKey = rsa.RSAPrivateKey | ec.EllipticCurvePrivateKey


def policy_identifiers(base: str) -> tuple[x509.ObjectIdentifier, x509.ObjectIdentifier]:
    """The standard (<base>.1) and qualified (<base>.2) policy OIDs under PKI_POLICY_OID (checked by
    Settings: short arcs, see DEFAULT_PKI_POLICY_OID for why the default is 1.3.6.1.4.1.32473.1)."""
    return x509.ObjectIdentifier(f"{base}.1"), x509.ObjectIdentifier(f"{base}.2")


def pki_secret(settings: Settings) -> str:
    """PKI_KEY if set, else DATA_KEY (whose dev default is documented)."""
    return settings.pki_key or settings.data_key


class Pki:
    """Implements the domain's CertificateAuthority. Signing runs in a worker thread so key
    generation does not stall the event loop."""

    def __init__(
        self, secret: str, public_base_url: str, policy_oid: str = DEFAULT_PKI_POLICY_OID,
        root: RootSource | None = None, publication_base_url: str | None = None,
    ) -> None:
        derived = HKDF(algorithm=hashes.SHA256(), length=32, salt=None, info=b"mitid-gateway pki ca key").derive(
            secret.encode()
        )
        self._passphrase = base64.urlsafe_b64encode(derived)
        self._base_url = public_base_url.rstrip("/")  # links for people (retrieval, the PDS)
        # what certificates name for relying parties: CRL, CA certificates, OCSP (PKI_PUBLICATION_BASE_URL)
        self._publication_url = (publication_base_url or public_base_url).rstrip("/")
        check_policy_oid(policy_oid)
        self.policy_standard, self.policy_qualified = policy_identifiers(policy_oid)
        self._opened: dict[str, tuple[x509.Certificate, PrivateKey]] = {}
        self._root_source = root or RootSource.development(self._publication_url)
        self._root: Root | None = None

    # --- the port -----------------------------------------------------------------------------------

    async def new_authority(self, now: dt.datetime) -> AuthorityRecord:
        return await asyncio.to_thread(self._new_authority, now)

    async def under_root(self, legacy: AuthorityRecord, now: dt.datetime) -> AuthorityRecord:
        return await asyncio.to_thread(self._under_root, legacy, now)

    async def root_revocation_list(self, authority: AuthorityRecord, now: dt.datetime) -> tuple[str, dt.datetime]:
        return root_crl(self._root_of(authority, now), now)

    async def new_responder(self, authority: AuthorityRecord, now: dt.datetime) -> tuple[str, str, dt.datetime]:
        ca_cert, ca_key = self._open(authority)
        cert, key = responder_certificate(ca_cert, ca_key, now)
        return (cert.public_bytes(serialization.Encoding.PEM).decode(), self._encrypt(key),
                cert.not_valid_after_utc)

    def responder_renewal(self) -> dt.timedelta:
        return RESPONDER_RENEWAL

    async def issue(
        self, authority: AuthorityRecord, spec: CertificateSpec, *, csr_pem: str | None, password: str | None
    ) -> IssuedMaterial:
        public_key = _public_key_of_csr(csr_pem) if csr_pem is not None else None
        return await asyncio.to_thread(self._issue, authority, spec, public_key, password)

    async def revocation_list(
        self, authority: AuthorityRecord, revoked: Sequence[Revocation], number: int, now: dt.datetime
    ) -> tuple[str, dt.datetime]:
        ca_cert, ca_key = self._open(authority)
        return await asyncio.to_thread(_crl, ca_cert, ca_key, revoked, number, now)

    def retrieval_link(self, certificate_id: uuid.UUID) -> str:
        return f"{self._base_url}/certificates/{certificate_id}"

    # --- the CA ---------------------------------------------------------------------------------------

    def root(self, now: dt.datetime) -> Root:
        """The root, read from its file (in development made there first) once per process."""
        if self._root is None:
            self._root = self._root_source.load(now)
        return self._root

    def _root_of(self, authority: AuthorityRecord, now: dt.datetime) -> Root:
        root = self.root(now)
        if authority.root_certificate_pem is not None and root.certificate != x509.load_pem_x509_certificate(
            authority.root_certificate_pem.encode()
        ):
            raise RootUnavailable("the root CA in PKI_ROOT_KEY_FILE is not the one that certified the issuing CA")
        return root

    def _encrypt(self, key: PrivateKey) -> str:
        return key.private_bytes(
            serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
            serialization.BestAvailableEncryption(self._passphrase),
        ).decode()

    def _new_authority(self, now: dt.datetime) -> AuthorityRecord:
        root = self.root(now)
        key = rsa.generate_private_key(public_exponent=65537, key_size=CA_KEY_BITS)
        name = _issuing_name(now)
        start = now.astimezone(dt.UTC).replace(microsecond=0)
        cert = issuing_certificate(root, name, key.public_key(), now, add_years(start, CA_VALIDITY_YEARS), self._publication_url)
        record = AuthorityRecord(
            certificate_pem=cert.public_bytes(serialization.Encoding.PEM).decode(),
            encrypted_key_pem=self._encrypt(key), created_at=now,
        )
        crl_pem, next_update = _crl(cert, key, [], 1, now)
        return self._with_hierarchy(record, root, cert, key, now, crl_number=1, crl_pem=crl_pem,
                                    crl_next_update=next_update)

    def _under_root(self, legacy: AuthorityRecord, now: dt.datetime) -> AuthorityRecord:
        old_cert, key = self._open(legacy)
        root = self.root(now)
        cert = issuing_certificate(root, old_cert.subject, key.public_key(), now, old_cert.not_valid_after_utc,
                                   self._publication_url)
        return self._with_hierarchy(legacy, root, cert, key, now, legacy_certificate_pem=legacy.certificate_pem)

    def _with_hierarchy(
        self, record: AuthorityRecord, root: Root, cert: x509.Certificate, key: PrivateKey, now: dt.datetime,
        **changes: Any,
    ) -> AuthorityRecord:
        root_crl_pem, root_next_update = root_crl(root, now)
        responder, responder_key = responder_certificate(cert, key, now)
        return dataclasses.replace(
            record, certificate_pem=cert.public_bytes(serialization.Encoding.PEM).decode(),
            root_certificate_pem=root.certificate.public_bytes(serialization.Encoding.PEM).decode(),
            root_crl_pem=root_crl_pem, root_crl_next_update=root_next_update,
            responder_certificate_pem=responder.public_bytes(serialization.Encoding.PEM).decode(),
            responder_key_pem=self._encrypt(responder_key), responder_not_after=responder.not_valid_after_utc,
            **changes,
        )

    def open_responder(self, authority: AuthorityRecord) -> tuple[x509.Certificate, PrivateKey]:
        """The OCSP responder's certificate and decrypted key (cached like the CA's)."""
        assert authority.responder_certificate_pem and authority.responder_key_pem
        return self._open_pair(authority.responder_certificate_pem, authority.responder_key_pem)

    def issuing_certificate(self, authority: AuthorityRecord) -> x509.Certificate:
        return self._open(authority)[0]

    def pre_hierarchy_authority(self, now: dt.datetime) -> AuthorityRecord:
        """A self-signed CA as installations made before the root existed (for the tests of what
        becomes of one)."""
        key = rsa.generate_private_key(public_exponent=65537, key_size=CA_KEY_BITS)
        name = x509.Name([
            x509.NameAttribute(NameOID.COUNTRY_NAME, "DK"),
            x509.NameAttribute(NameOID.ORGANIZATION_NAME, "MitID Erhverv Gateway"),
            x509.NameAttribute(NameOID.COMMON_NAME, f"{CA_NAME} {now:%Y-%m}"),
        ])
        start = now.astimezone(dt.UTC).replace(microsecond=0)
        ski = x509.SubjectKeyIdentifier.from_public_key(key.public_key())
        cert = (
            x509.CertificateBuilder()
            .subject_name(name)
            .issuer_name(name)
            .public_key(key.public_key())
            .serial_number(x509.random_serial_number())
            .not_valid_before(start)
            .not_valid_after(add_years(start, CA_VALIDITY_YEARS))
            .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
            .add_extension(key_usage(cert_sign=True), critical=True)
            .add_extension(ski, critical=False)
            .add_extension(x509.AuthorityKeyIdentifier.from_issuer_subject_key_identifier(ski), critical=False)
            .sign(key, hashes.SHA256())
        )
        encrypted = key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.BestAvailableEncryption(self._passphrase),
        ).decode()
        crl_pem, next_update = _crl(cert, key, [], 1, now)
        return AuthorityRecord(
            certificate_pem=cert.public_bytes(serialization.Encoding.PEM).decode(), encrypted_key_pem=encrypted,
            created_at=now, crl_number=1, crl_pem=crl_pem, crl_next_update=next_update,
        )

    def _open(self, authority: AuthorityRecord) -> tuple[x509.Certificate, PrivateKey]:
        """The CA's certificate and decrypted key, decrypted once per process."""
        return self._open_pair(authority.certificate_pem, authority.encrypted_key_pem)

    def _open_pair(self, certificate_pem: str, key_pem: str) -> tuple[x509.Certificate, PrivateKey]:
        cached = self._opened.get(certificate_pem)
        if cached is None:
            cert = x509.load_pem_x509_certificate(certificate_pem.encode())
            try:
                key = serialization.load_pem_private_key(key_pem.encode(), self._passphrase)
            except ValueError as exc:
                raise RuntimeError("The CA key cannot be decrypted: PKI_KEY (or DATA_KEY) has changed") from exc
            assert isinstance(key, rsa.RSAPrivateKey | ec.EllipticCurvePrivateKey)
            cached = self._opened[certificate_pem] = (cert, key)
        return cached

    def _issue(
        self, authority: AuthorityRecord, spec: CertificateSpec, public_key: Any, password: str | None
    ) -> IssuedMaterial:
        ca_cert, ca_key = self._open(authority)
        key: rsa.RSAPrivateKey | None = None
        if public_key is None:
            assert password, "a generated key is only handed out protected by a password"
            key = rsa.generate_private_key(public_exponent=65537, key_size=ISSUED_KEY_BITS)
            public_key = key.public_key()
        not_after = min(spec.not_after, ca_cert.not_valid_after_utc)
        ca_ski = ca_cert.extensions.get_extension_for_class(x509.SubjectKeyIdentifier).value
        builder = (
            x509.CertificateBuilder()
            .subject_name(subject_of(spec))
            .issuer_name(ca_cert.subject)
            .public_key(public_key)
            .serial_number(x509.random_serial_number())
            .not_valid_before(spec.not_before)
            .not_valid_after(not_after)
            .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
            .add_extension(usage_of(spec.purposes, isinstance(public_key, rsa.RSAPublicKey)), critical=True)
            .add_extension(x509.ExtendedKeyUsage(extended_usages(spec)), critical=False)
            .add_extension(x509.SubjectKeyIdentifier.from_public_key(public_key), critical=False)
            .add_extension(x509.AuthorityKeyIdentifier.from_issuer_subject_key_identifier(ca_ski), critical=False)
            .add_extension(policies_of(spec, self.policy_standard, self.policy_qualified), critical=False)
            .add_extension(
                x509.CRLDistributionPoints([x509.DistributionPoint(
                    full_name=[x509.UniformResourceIdentifier(f"{self._publication_url}{CRL_PATH}")],
                    relative_name=None, reasons=None, crl_issuer=None,
                )]),
                critical=False,
            )
            .add_extension(
                x509.AuthorityInformationAccess([
                    x509.AccessDescription(
                        AuthorityInformationAccessOID.OCSP,
                        x509.UniformResourceIdentifier(f"{self._publication_url}{OCSP_PATH}"),
                    ),
                    x509.AccessDescription(
                        AuthorityInformationAccessOID.CA_ISSUERS,
                        x509.UniformResourceIdentifier(f"{self._publication_url}{CA_CERTIFICATE_PATH}"),
                    ),
                ]),
                critical=False,
            )
        )
        if spec.email:
            builder = builder.add_extension(
                x509.SubjectAlternativeName([x509.RFC822Name(spec.email)]), critical=False
            )
        if (qc_statements := qc_statements_of(spec, self._base_url)) is not None:
            builder = builder.add_extension(qc_statements, critical=False)
        cert = builder.sign(ca_key, hashes.SHA256())
        bundle = None
        if key is not None:
            assert password is not None
            bundle = pkcs12.serialize_key_and_certificates(
                name=spec.common_name.encode(), key=key, cert=cert, cas=[ca_cert, *_root_of_record(authority)],
                encryption_algorithm=serialization.BestAvailableEncryption(password.encode()),
            )
        return IssuedMaterial(
            serial_number=serial_hex(cert.serial_number),
            subject=cert.subject.rfc4514_string(),
            not_before=cert.not_valid_before_utc,
            not_after=cert.not_valid_after_utc,
            certificate_pem=cert.public_bytes(serialization.Encoding.PEM).decode(),
            fingerprint_sha256=cert.fingerprint(hashes.SHA256()).hex().upper(),
            pkcs12=bundle,
        )


@functools.cache
def _pki(secret: str, base_url: str, policy_oid: str, root: RootSource, publication_url: str) -> Pki:
    return Pki(secret, base_url, policy_oid, root, publication_url)


def pki_for(settings: Settings) -> Pki:
    """One CA front per configuration, so the decrypted CA key is cached for the process."""
    return _pki(pki_secret(settings), settings.public_base_url, settings.pki_policy_oid, RootSource.of(settings),
                settings.pki_base_url)


def _issuing_name(now: dt.datetime) -> x509.Name:
    return x509.Name([
        x509.NameAttribute(NameOID.COUNTRY_NAME, "DK"),
        x509.NameAttribute(NameOID.ORGANIZATION_NAME, "MitID Erhverv Gateway"),
        x509.NameAttribute(NameOID.COMMON_NAME, f"{CA_NAME} {now:%Y-%m}"),
    ])


def _root_of_record(authority: AuthorityRecord) -> list[x509.Certificate]:
    if authority.root_certificate_pem is None:
        return []
    return [x509.load_pem_x509_certificate(authority.root_certificate_pem.encode())]


def serial_hex(serial: int) -> str:
    return f"{serial:040X}"


# --- pieces ---------------------------------------------------------------------------------------------


def _public_key_of_csr(csr_pem: str) -> Any:
    """The CSR's key, if the CSR is well-formed, self-signed correctly and the key strong enough.
    The subject it asks for is ignored: the CA decides what a certificate says."""
    try:
        csr = x509.load_pem_x509_csr(csr_pem.strip().encode())
        valid = csr.is_signature_valid
        key = csr.public_key()
    except (ValueError, UnsupportedAlgorithm, TypeError) as exc:
        raise DomainError(C.INVALID_CSR, "The CSR is not a valid PEM certificate signing request", ["csr"]) from exc
    if not valid:
        raise DomainError(C.INVALID_CSR, "The CSR's signature does not match its key", ["csr"])
    if isinstance(key, rsa.RSAPublicKey):
        if key.key_size < 2048:
            raise DomainError(C.WEAK_KEY, "RSA keys must have at least 2048 bits", ["csr"])
    elif isinstance(key, ec.EllipticCurvePublicKey):
        if not isinstance(key.curve, ALLOWED_CURVES):
            raise DomainError(C.WEAK_KEY, "Elliptic-curve keys must be on P-256, P-384 or P-521", ["csr"])
    else:
        raise DomainError(C.WEAK_KEY, "Only RSA and elliptic-curve (P-256/384/521) keys are accepted", ["csr"])
    return key


def _crl(
    ca_cert: x509.Certificate, ca_key: PrivateKey, revoked: Sequence[Revocation], number: int, now: dt.datetime
) -> tuple[str, dt.datetime]:
    this_update = now.astimezone(dt.UTC).replace(microsecond=0)
    next_update = this_update + CRL_VALIDITY
    ca_ski = ca_cert.extensions.get_extension_for_class(x509.SubjectKeyIdentifier).value
    builder = (
        x509.CertificateRevocationListBuilder()
        .issuer_name(ca_cert.subject)
        .last_update(this_update)
        .next_update(next_update)
        .add_extension(x509.CRLNumber(number), critical=False)
        .add_extension(x509.AuthorityKeyIdentifier.from_issuer_subject_key_identifier(ca_ski), critical=False)
    )
    for r in revoked:
        builder = builder.add_revoked_certificate(
            x509.RevokedCertificateBuilder()
            .serial_number(int(r.serial_number, 16))
            .revocation_date(r.revoked_at.astimezone(dt.UTC).replace(microsecond=0))
            .add_extension(x509.CRLReason(REASONS[r.reason]), critical=False)
            .build()
        )
    crl = builder.sign(ca_key, hashes.SHA256())
    return crl.public_bytes(serialization.Encoding.PEM).decode(), next_update
