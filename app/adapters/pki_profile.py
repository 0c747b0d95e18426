"""What an end-entity certificate says, by the domain's CertificateSpec: its subject (the OCES3
shape), key usages, extended key usages, certificate policies and, for qualified certificates, the
QC statements of ETSI EN 319 412-5. Kept apart from the CA mechanics in app/adapters/pki.py.

Qualified certificates carry QcCompliance, QcType (esign for persons, eseal for organisations) and
QcPDS (the PKI disclosure statement, in English, over https), and the ETSI EN 319 411-2 policy
QCP-n (persons) or QCP-l (organisations) beside ours. They do not carry QcSSCD: the gateway
generates software keys, and a CSR proves nothing about the device its key lives on, so no key is
known to be in a qualified signature creation device (hence QCP-n, not QCP-n-qscd).
`cryptography` has no type for QC statements; the small DER encoder below writes them, and
tests/test_pkilint.py decodes them with pyasn1 (pkilint's decoder)."""

from __future__ import annotations

from collections.abc import Sequence
from urllib.parse import urlsplit

from cryptography import x509
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

from app.domain.certificates.model import (
    CertificateKind,
    CertificatePurpose,
    CertificateSpec,
    CertificateType,
)

DOCUMENT_SIGNING = x509.ObjectIdentifier("1.3.6.1.5.5.7.3.36")  # id-kp-documentSigning (RFC 9336)

# RFC 3739 / ETSI EN 319 412-5
QC_STATEMENTS = x509.ObjectIdentifier("1.3.6.1.5.5.7.1.3")  # id-pe-qcStatements
QC_COMPLIANCE = "0.4.0.1862.1.1"  # id-etsi-qcs-QcCompliance
QC_PDS = "0.4.0.1862.1.5"  # id-etsi-qcs-QcPDS
QC_TYPE = "0.4.0.1862.1.6"  # id-etsi-qcs-QcType
QC_TYPE_ESIGN = "0.4.0.1862.1.6.1"  # id-etsi-qct-esign
QC_TYPE_ESEAL = "0.4.0.1862.1.6.2"  # id-etsi-qct-eseal
# ETSI EN 319 411-2 5.3: qualified certificates for natural persons (QCP-n) and legal persons (QCP-l)
QCP_N = x509.ObjectIdentifier("0.4.0.194112.1.0")
QCP_L = x509.ObjectIdentifier("0.4.0.194112.1.1")

# The PKI disclosure statement (EN 319 411-1 annex A), on the public host: QcPDS must be https.
PDS_PATH = "/pki/pds-en.pdf"
PDS_LANGUAGE = "en"

UB_COMMON_NAME = UB_ORGANIZATION_NAME = 64  # RFC 5280 appendix A


def subject_of(spec: CertificateSpec) -> x509.Name:
    """C, O, organizationIdentifier NTRDK-<cvr>; a named person's givenName and surname, or an
    anonymous person's pseudonym; CN; serialNumber UI:DK-E:G:<uuid> or UI:DK-O:G:<uuid>; the email."""
    attributes = [
        x509.NameAttribute(NameOID.COUNTRY_NAME, "DK"),
        x509.NameAttribute(NameOID.ORGANIZATION_NAME, _bounded(spec.organisation_name, UB_ORGANIZATION_NAME)),
        x509.NameAttribute(NameOID.ORGANIZATION_IDENTIFIER, f"NTRDK-{spec.cvr}"),
    ]
    if spec.pseudonym:
        attributes.append(x509.NameAttribute(NameOID.PSEUDONYM, spec.pseudonym))
    else:
        if spec.given_name:
            attributes.append(x509.NameAttribute(NameOID.GIVEN_NAME, spec.given_name))
        if spec.surname:
            attributes.append(x509.NameAttribute(NameOID.SURNAME, spec.surname))
    attributes += [
        x509.NameAttribute(NameOID.COMMON_NAME, _bounded(spec.common_name, UB_COMMON_NAME)),
        x509.NameAttribute(NameOID.SERIAL_NUMBER, spec.subject_serial),
    ]
    if spec.email:
        attributes.append(x509.NameAttribute(NameOID.EMAIL_ADDRESS, spec.email))
    return x509.Name(attributes)


def _bounded(value: str, limit: int) -> str:
    """Cut to the limit, counted in UTF-8 bytes as `cryptography` counts it for commonName (an
    "Ø" is two): within RFC 5280's bound in characters too."""
    while len(value.encode()) > limit:
        value = value[:-1]
    return value


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


def policies_of(
    spec: CertificateSpec, standard: x509.ObjectIdentifier, qualified: x509.ObjectIdentifier
) -> x509.CertificatePolicies:
    """Ours (standard or qualified); a qualified certificate also QCP-n or QCP-l."""
    if spec.type is not CertificateType.QUALIFIED:
        return x509.CertificatePolicies([x509.PolicyInformation(standard, None)])
    etsi = QCP_N if spec.kind is CertificateKind.USER else QCP_L
    return x509.CertificatePolicies([x509.PolicyInformation(qualified, None), x509.PolicyInformation(etsi, None)])


def pds_url(public_base_url: str) -> str:
    """The disclosure statement on the public host, always https (EN 319 412-5 4.3.4), even where
    the CRL and CA certificate are named by http URLs."""
    return f"https://{urlsplit(public_base_url).netloc}{PDS_PATH}"


def qc_statements_of(spec: CertificateSpec, public_base_url: str) -> x509.UnrecognizedExtension | None:
    """The QCStatements extension (RFC 3739) of a qualified certificate, None for a standard one."""
    if spec.type is not CertificateType.QUALIFIED:
        return None
    qc_type = QC_TYPE_ESIGN if spec.kind is CertificateKind.USER else QC_TYPE_ESEAL
    pds = _sequence(_tlv(_IA5_STRING, pds_url(public_base_url).encode("ascii")),
                    _tlv(_PRINTABLE_STRING, PDS_LANGUAGE.encode("ascii")))
    statements = _sequence(
        _sequence(_oid(QC_COMPLIANCE)),
        _sequence(_oid(QC_TYPE), _sequence(_oid(qc_type))),
        _sequence(_oid(QC_PDS), _sequence(pds)),
    )
    return x509.UnrecognizedExtension(QC_STATEMENTS, statements)


# --- DER (X.690) for the few types QC statements use -----------------------------------------------

_OBJECT_IDENTIFIER, _PRINTABLE_STRING, _IA5_STRING, _SEQUENCE = 0x06, 0x13, 0x16, 0x30


def _tlv(tag: int, content: bytes) -> bytes:
    size = len(content)
    if size < 0x80:
        length = bytes([size])
    else:
        digits = size.to_bytes((size.bit_length() + 7) // 8, "big")
        length = bytes([0x80 | len(digits)]) + digits
    return bytes([tag]) + length + content


def _sequence(*elements: bytes) -> bytes:
    return _tlv(_SEQUENCE, b"".join(elements))


def _oid(dotted: str) -> bytes:
    arcs = [int(a) for a in x509.ObjectIdentifier(dotted).dotted_string.split(".")]
    body = b"".join(_base128(a) for a in [arcs[0] * 40 + arcs[1], *arcs[2:]])
    return _tlv(_OBJECT_IDENTIFIER, body)


def _base128(value: int) -> bytes:
    digits = [value & 0x7F]
    value >>= 7
    while value:
        digits.append(0x80 | (value & 0x7F))
        value >>= 7
    return bytes(reversed(digits))
