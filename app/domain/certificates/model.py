"""Certificates as plain data: user and organisation certificates, profiles, the issuing CA's record."""

from __future__ import annotations

import datetime as dt
import enum
import uuid
from dataclasses import dataclass

VALIDITY_YEARS = 3


class CertificateKind(enum.StrEnum):
    USER = "USER"
    ORGANISATION = "ORGANISATION"


class CertificateType(enum.StrEnum):
    STANDARD = "STANDARD"
    QUALIFIED = "QUALIFIED"


class CertificateStatus(enum.StrEnum):
    """EXPIRED is never stored: an ISSUED certificate past its notAfter reads as EXPIRED."""

    ORDERED = "ORDERED"
    ISSUED = "ISSUED"
    REVOKED = "REVOKED"
    EXPIRED = "EXPIRED"
    CANCELLED = "CANCELLED"


class CertificateIssuance(enum.StrEnum):
    """SOFTWARE: the gateway generates the key and hands it out once in a PKCS#12;
    HARDWARE: the key stays on the holder's device, which submits a CSR."""

    SOFTWARE = "SOFTWARE"
    HARDWARE = "HARDWARE"


class CertificatePurpose(enum.StrEnum):
    AUTHENTICATION = "AUTHENTICATION"
    SIGNING = "SIGNING"
    SEAL = "SEAL"


USER_PURPOSES = (CertificatePurpose.AUTHENTICATION, CertificatePurpose.SIGNING)
ORGANISATION_PURPOSES = frozenset({CertificatePurpose.AUTHENTICATION, CertificatePurpose.SEAL})
DEFAULT_ORGANISATION_PURPOSES = (CertificatePurpose.AUTHENTICATION, CertificatePurpose.SEAL)


class RevocationReason(enum.StrEnum):
    CONTENT_INCORRECT = "CONTENT_INCORRECT"
    KEY_LOST = "KEY_LOST"
    KEY_COMPROMISE_SUSPECTED = "KEY_COMPROMISE_SUSPECTED"
    KEY_DESTROYED = "KEY_DESTROYED"
    HOLDER_LEFT = "HOLDER_LEFT"  # the CA's: set when the holder is deleted or recreated anonymous


# What a holder may give blocking their own certificate; HOLDER_LEFT is the organisation's to say.
HOLDER_REASONS = frozenset(RevocationReason) - {RevocationReason.HOLDER_LEFT}


class CertificateOrderField(enum.StrEnum):
    NAME = "NAME"
    EXPIRES_AT = "EXPIRES_AT"
    ISSUED_AT = "ISSUED_AT"
    ORDERED_AT = "ORDERED_AT"


class CertificateErrorCode(enum.StrEnum):
    REQUIRED = "REQUIRED"
    TOO_LONG = "TOO_LONG"
    USER_NOT_ACTIVE = "USER_NOT_ACTIVE"
    USER_CERTIFICATES_NOT_ALLOWED = "USER_CERTIFICATES_NOT_ALLOWED"
    ORGANISATION_CERTIFICATES_NOT_ALLOWED = "ORGANISATION_CERTIFICATES_NOT_ALLOWED"
    QUALIFIED_CERTIFICATES_NOT_ALLOWED = "QUALIFIED_CERTIFICATES_NOT_ALLOWED"
    INVALID_PURPOSE = "INVALID_PURPOSE"
    DUPLICATE_PROFILE_NAME = "DUPLICATE_PROFILE_NAME"
    ALREADY_ISSUED = "ALREADY_ISSUED"
    NOT_ISSUED = "NOT_ISSUED"
    ORDER_CANCELLED = "ORDER_CANCELLED"
    ALREADY_REVOKED = "ALREADY_REVOKED"
    CERTIFICATE_EXPIRED = "CERTIFICATE_EXPIRED"
    ALREADY_RENEWED = "ALREADY_RENEWED"
    NOT_ORGANISATION_CERTIFICATE = "NOT_ORGANISATION_CERTIFICATE"
    NOT_USER_CERTIFICATE = "NOT_USER_CERTIFICATE"
    NOT_A_SEAL_CERTIFICATE = "NOT_A_SEAL_CERTIFICATE"
    INVALID_RIGHT = "INVALID_RIGHT"
    CSR_REQUIRED = "CSR_REQUIRED"
    CSR_NOT_EXPECTED = "CSR_NOT_EXPECTED"
    CSR_OR_PASSWORD = "CSR_OR_PASSWORD"
    PASSWORD_REQUIRED = "PASSWORD_REQUIRED"
    WEAK_PASSWORD = "WEAK_PASSWORD"
    INVALID_CSR = "INVALID_CSR"
    WEAK_KEY = "WEAK_KEY"
    INVALID_REASON = "INVALID_REASON"


@dataclass(slots=True)
class CertificateProfile:
    """An organisation certificate's profile: what goes into it and whom to contact."""

    id: uuid.UUID
    org_id: int
    name: str
    email: str
    contact_name: str
    contact_email: str
    p_number: str | None
    se_number: str | None
    created_at: dt.datetime
    created_by: uuid.UUID | None = None


@dataclass(slots=True)
class Certificate:
    id: uuid.UUID
    org_id: int
    kind: CertificateKind
    type: CertificateType
    status: CertificateStatus  # as stored: never EXPIRED (see `status_at`)
    purposes: tuple[CertificatePurpose, ...]
    name: str
    ordered_at: dt.datetime
    ordered_by: uuid.UUID | None = None
    issuance: CertificateIssuance | None = None
    user_id: uuid.UUID | None = None
    profile_id: uuid.UUID | None = None
    email: str | None = None
    contact_name: str | None = None
    contact_email: str | None = None
    p_number: str | None = None
    se_number: str | None = None
    serial_number: str | None = None  # upper-case hex, 40 digits
    subject: str | None = None  # RFC 4514
    not_before: dt.datetime | None = None
    not_after: dt.datetime | None = None
    certificate_pem: str | None = None
    fingerprint_sha256: str | None = None
    can_seal: bool = False
    allow_user_signing: bool = False
    issued_at: dt.datetime | None = None
    cancelled_at: dt.datetime | None = None
    revoked_at: dt.datetime | None = None
    revocation_reason: RevocationReason | None = None
    revoked_by: uuid.UUID | None = None
    predecessor_id: uuid.UUID | None = None
    successor_id: uuid.UUID | None = None
    updated_at: dt.datetime | None = None  # None until stored

    @property
    def qualified(self) -> bool:
        return self.type is CertificateType.QUALIFIED

    def status_at(self, now: dt.datetime) -> CertificateStatus:
        return status_as_of(self.status, self.not_after, now)


@dataclass(slots=True, frozen=True)
class CertificateFilter:
    search: str | None = None
    kind: CertificateKind | None = None
    status: CertificateStatus | None = None
    qualified: bool | None = None
    expires_before: dt.datetime | None = None
    user_id: uuid.UUID | None = None
    # Issue 17: by P-unit / SE-number, issued and revoked in [from, to).
    p_number: str | None = None
    se_number: str | None = None
    issued_from: dt.datetime | None = None
    issued_to: dt.datetime | None = None
    revoked_from: dt.datetime | None = None
    revoked_to: dt.datetime | None = None


@dataclass(slots=True, frozen=True)
class CertificateOrder:
    field: CertificateOrderField = CertificateOrderField.ORDERED_AT
    descending: bool = True


# --- the issuing CA ----------------------------------------------------------------------------------


@dataclass(slots=True)
class AuthorityRecord:
    """The gateway's issuing CA as stored: its certificate, its private key (PKCS#8, encrypted) and the
    latest CRL. One per installation. Above it the root (kept outside the database): its certificate
    and its latest CRL as published; beside it the delegated OCSP responder (certificate, encrypted
    key). A CA from before the hierarchy (self-signed, no root) keeps its key and subject and is
    certified by the root; its self-signed certificate stays in `legacy_certificate_pem`."""

    certificate_pem: str
    encrypted_key_pem: str
    created_at: dt.datetime
    crl_number: int = 0
    crl_pem: str | None = None
    crl_next_update: dt.datetime | None = None
    root_certificate_pem: str | None = None
    root_crl_pem: str | None = None
    root_crl_next_update: dt.datetime | None = None
    responder_certificate_pem: str | None = None
    responder_key_pem: str | None = None
    responder_not_after: dt.datetime | None = None
    legacy_certificate_pem: str | None = None


@dataclass(slots=True, frozen=True)
class Revocation:
    serial_number: str
    revoked_at: dt.datetime
    reason: RevocationReason


@dataclass(slots=True, frozen=True)
class CertificateSpec:
    """What the CA puts into a certificate (the key comes from a CSR or is generated). The subject
    has the OCES3 shape: a named person by givenName and surname, an anonymous one by a pseudonym
    (which is then also the commonName); serialNumber "UI:DK-E:G:<user uuid>" for a person (an
    employee), "UI:DK-O:G:<uuid>" for an organisation (system) certificate."""

    certificate_id: uuid.UUID
    kind: CertificateKind
    type: CertificateType
    purposes: tuple[CertificatePurpose, ...]
    organisation_name: str
    cvr: str
    common_name: str
    subject_serial: str  # "UI:DK-E:G:<user uuid>" / "UI:DK-O:G:<profile or certificate uuid>"
    email: str | None
    pseudonym: str | None
    not_before: dt.datetime
    not_after: dt.datetime
    given_name: str | None = None  # a named person's; None for anonymous persons and organisations
    surname: str | None = None


@dataclass(slots=True, frozen=True)
class IssuedMaterial:
    serial_number: str
    subject: str
    not_before: dt.datetime
    not_after: dt.datetime
    certificate_pem: str
    fingerprint_sha256: str
    pkcs12: bytes | None = None  # only when the key was generated; never stored


@dataclass(slots=True)
class IssuedCertificate:
    """A use case's answer when a certificate was issued (or, renewing a user certificate, ordered):
    the PKCS#12 is shown once and never stored."""

    certificate: Certificate
    certificate_pem: str | None
    pkcs12: bytes | None = None


def status_as_of(status: CertificateStatus, not_after: dt.datetime | None, now: dt.datetime) -> CertificateStatus:
    """The status shown at `now`: an issued certificate past its notAfter is EXPIRED (never stored)."""
    if status is CertificateStatus.ISSUED and not_after is not None and not_after <= now:
        return CertificateStatus.EXPIRED
    return status
