"""Certificates' columns and their mapping to the domain's dataclasses."""

from __future__ import annotations

from typing import Any

from app.domain.certificates.model import (
    AuthorityRecord,
    Certificate,
    CertificateIssuance,
    CertificateKind,
    CertificateProfile,
    CertificatePurpose,
    CertificateStatus,
    CertificateType,
    RevocationReason,
)
from app.persistence.tables.certificates import certificates

AUTHORITY_ID = 1
c = certificates.c

COLUMNS = [
    c.id, c.org_id, c.kind, c.type, c.status, c.issuance, c.purposes, c.user_id, c.profile_id, c.name, c.email,
    c.contact_name, c.contact_email, c.p_number, c.se_number, c.serial_number, c.subject, c.not_before,
    c.not_after, c.fingerprint_sha256, c.can_seal, c.allow_user_signing, c.ordered_at,
    c.ordered_by, c.issued_at, c.cancelled_at, c.revoked_at, c.revocation_reason, c.revoked_by,
    c.predecessor_id, c.successor_id, c.updated_at, c.certificate_pem,
]
# A user's list of certificates (a page of users shows them): everything but the PEM (the last
# column), which a list rarely shows and which is most of a row's bytes; `certificate_pems` reads
# it when asked.
SUMMARY_COLUMNS = COLUMNS[:-1]

KIND_BY_VALUE = {m.value: m for m in CertificateKind}
TYPE_BY_VALUE = {m.value: m for m in CertificateType}
STATUS_BY_VALUE = {m.value: m for m in CertificateStatus}
PURPOSE_BY_VALUE = {m.value: m for m in CertificatePurpose}
ISSUANCE_BY_VALUE = {m.value: m for m in CertificateIssuance}
REASON_BY_VALUE = {m.value: m for m in RevocationReason}


def purposes_of(value: str) -> tuple[CertificatePurpose, ...]:
    return tuple(PURPOSE_BY_VALUE[p] for p in value.split(",") if p)


def issuance_of(value: str | None) -> CertificateIssuance | None:
    return ISSUANCE_BY_VALUE[value] if value else None


def reason_of(value: str | None) -> RevocationReason | None:
    return REASON_BY_VALUE[value] if value else None


def certificate_from_row(r: Any) -> Certificate:
    """A certificate from a row of COLUMNS, or of SUMMARY_COLUMNS (then `certificate_pem` is None).
    Unpacked by position (COLUMNS' order): per-name access on a Row costs more than the rest."""
    (id_, org_id, kind, type_, status, issuance, purposes, user_id, profile_id, name, email, contact_name,
     contact_email, p_number, se_number, serial_number, subject, not_before, not_after, fingerprint, can_seal,
     allow_user_signing, ordered_at, ordered_by, issued_at, cancelled_at, revoked_at, reason, revoked_by,
     predecessor_id, successor_id, updated_at) = r[:32]
    return Certificate(
        id=id_, org_id=org_id, kind=KIND_BY_VALUE[kind], type=TYPE_BY_VALUE[type_], status=STATUS_BY_VALUE[status],
        purposes=purposes_of(purposes),
        name=name, ordered_at=ordered_at, ordered_by=ordered_by,
        issuance=issuance_of(issuance), user_id=user_id,
        profile_id=profile_id, email=email, contact_name=contact_name, contact_email=contact_email,
        p_number=p_number, se_number=se_number, serial_number=serial_number, subject=subject,
        not_before=not_before, not_after=not_after, certificate_pem=r[32] if len(r) > 32 else None,
        fingerprint_sha256=fingerprint, can_seal=can_seal, allow_user_signing=allow_user_signing,
        issued_at=issued_at, cancelled_at=cancelled_at, revoked_at=revoked_at,
        revocation_reason=reason_of(reason),
        revoked_by=revoked_by, predecessor_id=predecessor_id, successor_id=successor_id,
        updated_at=updated_at,
    )


def certificate_values(cert: Certificate) -> dict[str, Any]:
    return {
        "kind": cert.kind.value, "type": cert.type.value, "status": cert.status.value,
        "issuance": cert.issuance.value if cert.issuance else None,
        "purposes": ",".join(p.value for p in cert.purposes), "user_id": cert.user_id,
        "profile_id": cert.profile_id, "name": cert.name, "name_lower": cert.name.lower(), "email": cert.email,
        "contact_name": cert.contact_name, "contact_email": cert.contact_email, "p_number": cert.p_number,
        "se_number": cert.se_number, "serial_number": cert.serial_number, "subject": cert.subject,
        "not_before": cert.not_before, "not_after": cert.not_after, "certificate_pem": cert.certificate_pem,
        "fingerprint_sha256": cert.fingerprint_sha256, "can_seal": cert.can_seal,
        "allow_user_signing": cert.allow_user_signing, "ordered_at": cert.ordered_at, "ordered_by": cert.ordered_by,
        "issued_at": cert.issued_at, "cancelled_at": cert.cancelled_at, "revoked_at": cert.revoked_at,
        "revocation_reason": cert.revocation_reason.value if cert.revocation_reason else None,
        "revoked_by": cert.revoked_by, "predecessor_id": cert.predecessor_id, "successor_id": cert.successor_id,
    }


def profile_from_row(r: Any) -> CertificateProfile:
    return CertificateProfile(
        id=r.id, org_id=r.org_id, name=r.name, email=r.email, contact_name=r.contact_name,
        contact_email=r.contact_email, p_number=r.p_number, se_number=r.se_number, created_at=r.created_at,
        created_by=r.created_by,
    )


def authority_from_row(r: Any) -> AuthorityRecord:
    return AuthorityRecord(
        certificate_pem=r.certificate_pem, encrypted_key_pem=r.encrypted_key_pem, created_at=r.created_at,
        crl_number=int(r.crl_number), crl_pem=r.crl_pem, crl_next_update=r.crl_next_update,
        root_certificate_pem=r.root_certificate_pem, root_crl_pem=r.root_crl_pem,
        root_crl_next_update=r.root_crl_next_update, responder_certificate_pem=r.responder_certificate_pem,
        responder_key_pem=r.responder_key_pem, responder_not_after=r.responder_not_after,
        legacy_certificate_pem=r.legacy_certificate_pem,
    )
