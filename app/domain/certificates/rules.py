"""Pure rules for certificates: what the settings allow, which states allow what, what goes into a
certificate. No I/O; the use cases pass in what they read."""

from __future__ import annotations

import datetime as dt
import uuid
from collections.abc import Sequence
from dataclasses import dataclass

from app.domain.certificates.model import (
    DEFAULT_ORGANISATION_PURPOSES,
    HOLDER_REASONS,
    ORGANISATION_PURPOSES,
    VALIDITY_YEARS,
    Certificate,
    CertificateErrorCode,
    CertificateIssuance,
    CertificateKind,
    CertificatePurpose,
    CertificateSpec,
    CertificateStatus,
    CertificateType,
    RevocationReason,
)
from app.domain.common import identifiers as ids
from app.domain.common.errors import DomainError
from app.domain.common.organisation import Organisation, OrganisationSettings
from app.domain.common.validation import RIGHT_CODE, Errors, one_line, optional
from app.domain.users.model import User, UserStatus

C = CertificateErrorCode
NAME_MAX = 200
PASSWORD_MIN = 8
PASSWORD_MAX = 256


def check_allowed(settings: OrganisationSettings, kind: CertificateKind, type_: CertificateType) -> None:
    """The organisation's settings decide which certificates it may have."""
    if kind is CertificateKind.USER and not settings.user_certificates_allowed:
        raise DomainError(C.USER_CERTIFICATES_NOT_ALLOWED, "The organisation's settings do not allow user certificates")
    if kind is CertificateKind.ORGANISATION and not settings.organisation_certificates_allowed:
        raise DomainError(
            C.ORGANISATION_CERTIFICATES_NOT_ALLOWED, "The organisation's settings do not allow organisation certificates"
        )
    if type_ is CertificateType.QUALIFIED and not settings.qualified_certificates_allowed:
        raise DomainError(
            C.QUALIFIED_CERTIFICATES_NOT_ALLOWED, "The organisation's settings do not allow qualified certificates",
            ["type"],
        )


def certificate_email_of(user: User) -> str | None:
    """The email a user certificate carries: none for anonymous users (it would name them), and
    never one with æ, ø or å."""
    if user.anonymous:
        return None
    try:
        return ids.normalise_email(user.email, for_certificate=True)
    except ids.IdentifierError as exc:
        raise DomainError(
            exc.code, f"The user's email address cannot go into a certificate: {exc.message}", ["userId"]
        ) from exc


def holder_name(user: User) -> str:
    return str(user.id) if user.anonymous else user.full_name


def check_holder(user: User) -> None:
    if user.status is not UserStatus.ACTIVE:
        raise DomainError(
            C.USER_NOT_ACTIVE, f"Only activated, active users can get a certificate (is {user.status})", ["userId"]
        )


def organisation_purposes(values: Sequence[str] | None, errors: Errors) -> tuple[CertificatePurpose, ...]:
    if not values:
        return DEFAULT_ORGANISATION_PURPOSES
    chosen: list[CertificatePurpose] = []
    for i, raw in enumerate(values):
        try:
            purpose = CertificatePurpose(raw)
        except ValueError:
            purpose = None
        if purpose is None or purpose not in ORGANISATION_PURPOSES:
            errors.add(C.INVALID_PURPOSE, f"{raw} is not a purpose of an organisation certificate", "purposes", str(i))
        elif purpose not in chosen:
            chosen.append(purpose)
    return tuple(sorted(chosen))


@dataclass(slots=True)
class ProfileInput:
    name: str | None = None
    email: str | None = None
    contact_name: str | None = None
    contact_email: str | None = None
    p_number: str | None = None
    se_number: str | None = None


@dataclass(slots=True, frozen=True)
class ValidProfile:
    name: str
    email: str
    contact_name: str
    contact_email: str


def validate_profile(data: ProfileInput, errors: Errors) -> ValidProfile | None:
    before = len(errors.items)
    name = _required_text(errors, "name", data.name)
    contact_name = _required_text(errors, "contactName", data.contact_name)
    email = errors.check("email", lambda v: ids.normalise_email(v, for_certificate=True), data.email or "")
    contact_email = errors.check("contactEmail", ids.normalise_email, data.contact_email or "")
    if len(errors.items) > before:
        return None
    assert email is not None and contact_email is not None
    return ValidProfile(name, email, contact_name, contact_email)


def _required_text(errors: Errors, path: str, value: str | None) -> str:
    text = optional(value) or ""
    if not text:
        errors.add(C.REQUIRED, "This field is required", path)
    elif len(text) > NAME_MAX:
        errors.add(C.TOO_LONG, f"At most {NAME_MAX} characters", path)
    return one_line(errors, path, text)


def system_rights(values: Sequence[str], catalogue: frozenset[str], errors: Errors) -> list[str]:
    codes: list[str] = []
    for i, raw in enumerate(values):
        code = raw.strip().upper()
        if not RIGHT_CODE.match(code) or code not in catalogue:
            errors.add(C.INVALID_RIGHT, f"{raw!r} is not in the rights catalogue", "systemRights", str(i))
        elif code not in codes:
            codes.append(code)
    return sorted(codes)


# --- states ------------------------------------------------------------------------------------------


def _not_live(cert: Certificate, now: dt.datetime) -> DomainError | None:
    status = cert.status_at(now)
    if status is CertificateStatus.REVOKED:
        return DomainError(C.ALREADY_REVOKED, "The certificate has been revoked; order a new one", ["certificateId"])
    if status is CertificateStatus.CANCELLED:
        return DomainError(C.ORDER_CANCELLED, "The order was cancelled", ["certificateId"])
    if status is CertificateStatus.EXPIRED:
        return DomainError(C.CERTIFICATE_EXPIRED, "The certificate has expired", ["certificateId"])
    return None


def check_issuable(cert: Certificate) -> None:
    """Only an open order is issued (once)."""
    if cert.status is CertificateStatus.ORDERED:
        return
    if cert.status is CertificateStatus.CANCELLED:
        raise DomainError(C.ORDER_CANCELLED, "The order was cancelled", ["certificateId"])
    raise DomainError(C.ALREADY_ISSUED, "The certificate has already been issued", ["certificateId"])


def check_deletable(cert: Certificate) -> None:
    if cert.status not in (CertificateStatus.ORDERED, CertificateStatus.CANCELLED):
        raise DomainError(
            C.ALREADY_ISSUED, "An issued certificate cannot be deleted; revoke it instead", ["certificateId"]
        )


def check_revocable(cert: Certificate, now: dt.datetime) -> None:
    if cert.status is CertificateStatus.ORDERED:
        raise DomainError(
            C.NOT_ISSUED, "The certificate has not been issued; cancel or delete the order instead", ["certificateId"]
        )
    problem = _not_live(cert, now)
    if problem is not None:
        raise problem


def check_holder_reason(reason: RevocationReason) -> None:
    if reason not in HOLDER_REASONS:
        raise DomainError(
            C.INVALID_REASON, f"{reason.value} is the organisation's to give, not the holder's", ["reason"]
        )


def check_renewable(cert: Certificate, now: dt.datetime) -> None:
    """An issued certificate, also after it expired, gets one successor."""
    if cert.status is CertificateStatus.ORDERED:
        raise DomainError(C.NOT_ISSUED, "Only an issued certificate can be renewed", ["certificateId"])
    if cert.status is not CertificateStatus.ISSUED:
        problem = _not_live(cert, now)
        assert problem is not None
        raise problem
    if cert.successor_id is not None:
        raise DomainError(C.ALREADY_RENEWED, "The certificate has already been renewed", ["certificateId"])


def check_rights_changeable(cert: Certificate, now: dt.datetime) -> None:
    if cert.kind is not CertificateKind.ORGANISATION:
        raise DomainError(
            C.NOT_ORGANISATION_CERTIFICATE, "System rights belong to organisation certificates", ["certificateId"]
        )
    problem = _not_live(cert, now)
    if problem is not None:
        raise problem


# --- keys ----------------------------------------------------------------------------------------------


def check_key_source(
    issuance: CertificateIssuance | None, csr: str | None, password: str | None
) -> CertificateIssuance:
    """A user order fixed software or hardware issuance; an organisation certificate is issued from a
    CSR or with a generated key, whichever is given (exactly one)."""
    csr, password = optional(csr), password if password else None
    if issuance is CertificateIssuance.HARDWARE:
        if csr is None:
            raise DomainError(C.CSR_REQUIRED, "Hardware issuance needs the device's CSR", ["csr"])
        if password is not None:
            raise DomainError(C.CSR_OR_PASSWORD, "The key stays on the device; give no password", ["password"])
        return CertificateIssuance.HARDWARE
    if issuance is CertificateIssuance.SOFTWARE:
        if csr is not None:
            raise DomainError(
                C.CSR_NOT_EXPECTED, "Software issuance generates the key; give a password, not a CSR", ["csr"]
            )
        _check_password(password)
        return CertificateIssuance.SOFTWARE
    if (csr is None) == (password is None):
        raise DomainError(C.CSR_OR_PASSWORD, "Give either a CSR or a password for a generated key", ["csr"])
    if csr is not None:
        return CertificateIssuance.HARDWARE
    _check_password(password)
    return CertificateIssuance.SOFTWARE


def _check_password(password: str | None) -> None:
    if not password:
        raise DomainError(C.PASSWORD_REQUIRED, "A password protects the generated key; give one", ["password"])
    if len(password) < PASSWORD_MIN or len(password) > PASSWORD_MAX:
        raise DomainError(
            C.WEAK_PASSWORD, f"The password must have {PASSWORD_MIN} to {PASSWORD_MAX} characters", ["password"]
        )


# --- what goes into a certificate -------------------------------------------------------------------


def add_years(moment: dt.datetime, years: int) -> dt.datetime:
    try:
        return moment.replace(year=moment.year + years)
    except ValueError:  # 29 February
        return moment.replace(year=moment.year + years, day=28)


def validity(now: dt.datetime) -> tuple[dt.datetime, dt.datetime]:
    start = now.astimezone(dt.UTC).replace(microsecond=0)
    return start, add_years(start, VALIDITY_YEARS)


def spec_for(cert: Certificate, org: Organisation, now: dt.datetime, *, holder: User | None = None) -> CertificateSpec:
    """The subject, as OCES3 has it: the organisation (name, CVR in organizationIdentifier), the
    holder (an employee: "UI:DK-E:G:<user uuid>" in serialNumber, given name and surname; an
    organisation certificate: "UI:DK-O:G:<profile uuid>" and the profile's name) and the email if
    any. An anonymous holder is named by a pseudonym (their UUID), never by name."""
    not_before, not_after = validity(now)
    given_name = surname = pseudonym = None
    if cert.kind is CertificateKind.USER:
        assert cert.user_id is not None and holder is not None
        serial = f"UI:DK-E:G:{cert.user_id}"
        if holder.anonymous:
            common_name = pseudonym = str(cert.user_id)
        else:
            common_name = holder.full_name
            given_name, surname = holder.first_name or None, holder.last_name or None
    else:
        serial = f"UI:DK-O:G:{cert.profile_id or cert.id}"
        common_name = cert.name
    return CertificateSpec(
        certificate_id=cert.id, kind=cert.kind, type=cert.type, purposes=cert.purposes,
        organisation_name=org.name, cvr=org.cvr, common_name=common_name, subject_serial=serial,
        email=cert.email, pseudonym=pseudonym, not_before=not_before, not_after=not_after,
        given_name=given_name, surname=surname,
    )


def successor_of(cert: Certificate, new_id: uuid.UUID, now: dt.datetime, actor: uuid.UUID | None) -> Certificate:
    """A renewal's new order: the same holder, type and options, linked to its predecessor."""
    return Certificate(
        id=new_id, org_id=cert.org_id, kind=cert.kind, type=cert.type, status=CertificateStatus.ORDERED,
        purposes=cert.purposes, name=cert.name, ordered_at=now, ordered_by=actor,
        issuance=cert.issuance if cert.kind is CertificateKind.USER else None, user_id=cert.user_id,
        profile_id=cert.profile_id, email=cert.email, contact_name=cert.contact_name,
        contact_email=cert.contact_email, p_number=cert.p_number, se_number=cert.se_number,
        can_seal=cert.can_seal, allow_user_signing=cert.allow_user_signing, predecessor_id=cert.id,
    )
