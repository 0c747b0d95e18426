"""What an end-entity certificate says: its subject, key usages and extended key usages, by the
domain's CertificateSpec. Kept apart from the CA mechanics in app/adapters/pki.py."""

from __future__ import annotations

from collections.abc import Sequence

from cryptography import x509
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

from app.domain.certificates.model import CertificatePurpose, CertificateSpec

DOCUMENT_SIGNING = x509.ObjectIdentifier("1.3.6.1.5.5.7.3.36")  # id-kp-documentSigning (RFC 9336)


def subject_of(spec: CertificateSpec) -> x509.Name:
    attributes = [
        x509.NameAttribute(NameOID.COUNTRY_NAME, "DK"),
        x509.NameAttribute(NameOID.ORGANIZATION_NAME, spec.organisation_name[:64]),
        x509.NameAttribute(NameOID.ORGANIZATION_IDENTIFIER, f"NTRDK-{spec.cvr}"),
        x509.NameAttribute(NameOID.COMMON_NAME, spec.common_name[:64]),
        x509.NameAttribute(NameOID.SERIAL_NUMBER, spec.subject_serial),
    ]
    if spec.pseudonym:
        attributes.append(x509.NameAttribute(NameOID.PSEUDONYM, spec.pseudonym))
    if spec.email:
        attributes.append(x509.NameAttribute(NameOID.EMAIL_ADDRESS, spec.email))
    return x509.Name(attributes)


def key_usage(
    *, signature: bool = False, commitment: bool = False, encipherment: bool = False, cert_sign: bool = False
) -> x509.KeyUsage:
    return x509.KeyUsage(
        digital_signature=signature or cert_sign, content_commitment=commitment, key_encipherment=encipherment,
        data_encipherment=False, key_agreement=False, key_cert_sign=cert_sign, crl_sign=cert_sign,
        encipher_only=False, decipher_only=False,
    )


def usage_of(purposes: Sequence[CertificatePurpose], rsa_key: bool) -> x509.KeyUsage:
    """Authentication: digitalSignature (and keyEncipherment for RSA keys, for TLS key transport);
    signing and sealing: digitalSignature + contentCommitment (non-repudiation)."""
    commitment = CertificatePurpose.SIGNING in purposes or CertificatePurpose.SEAL in purposes
    authentication = CertificatePurpose.AUTHENTICATION in purposes
    return key_usage(signature=True, commitment=commitment, encipherment=authentication and rsa_key)


def extended_usages(spec: CertificateSpec) -> list[x509.ObjectIdentifier]:
    usages: list[x509.ObjectIdentifier] = []
    if CertificatePurpose.AUTHENTICATION in spec.purposes:
        usages.append(ExtendedKeyUsageOID.CLIENT_AUTH)
    if CertificatePurpose.SIGNING in spec.purposes and spec.email:
        usages.append(ExtendedKeyUsageOID.EMAIL_PROTECTION)
    if CertificatePurpose.SIGNING in spec.purposes or CertificatePurpose.SEAL in spec.purposes:
        usages.append(DOCUMENT_SIGNING)
    return usages
