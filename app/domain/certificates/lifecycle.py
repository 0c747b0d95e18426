"""Use cases that bring a certificate into being: order, issue, cancel the order; and the helpers
the area's other use cases (`changes`: renew, revoke, delete, system rights) share.

User certificates are ordered by a user administrator and issued by their holder; organisation
certificates are ordered under a profile and retrieved (issued) by an administrator. Each use case
runs in the caller's unit of work; `ca` signs."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from typing import Any

from app.domain.activity.history import ActivityType, record
from app.domain.certificates import rules
from app.domain.certificates.authority import CertificateAuthority, current_authority
from app.domain.certificates.model import (
    USER_PURPOSES,
    Certificate,
    CertificateErrorCode,
    CertificateIssuance,
    CertificateKind,
    CertificateProfile,
    CertificateStatus,
    CertificateType,
    IssuedCertificate,
)
from app.domain.certificates.rules import ProfileInput
from app.domain.common.errors import DomainError, NotFound
from app.domain.common.mail import OutgoingMail
from app.domain.common.ports import UnitOfWork
from app.domain.common.validation import Errors, check_units, optional, org_context
from app.domain.notifications.delivery import notify_person
from app.domain.users.model import User, UserStatus

C = CertificateErrorCode


async def get_certificate(uow: UnitOfWork, certificate_id: uuid.UUID) -> Certificate:
    cert = await uow.certificates.get(certificate_id, for_update=True)
    if cert is None:
        raise NotFound("Certificate", ["certificateId"])
    return cert


async def holder_of(uow: UnitOfWork, cert: Certificate) -> User | None:
    return await uow.users.get(cert.user_id) if cert.user_id is not None else None


def details_of(cert: Certificate, **extra: Any) -> dict[str, Any]:
    details: dict[str, Any] = {
        "certificateId": str(cert.id), "kind": cert.kind.value, "type": cert.type.value, "name": cert.name,
    }
    if cert.serial_number:
        details["serialNumber"] = cert.serial_number
    details.update(extra)
    return details


def label_of(cert: Certificate) -> str:
    kind = "User certificate" if cert.kind is CertificateKind.USER else f"Organisation certificate '{cert.name}'"
    return f"{kind} ({cert.type.value.lower()})"


async def unlink_predecessor(uow: UnitOfWork, cert: Certificate) -> None:
    """A renewal's order that goes away frees its predecessor to be renewed again."""
    if cert.predecessor_id is None:
        return
    predecessor = await uow.certificates.get(cert.predecessor_id, for_update=True)
    if predecessor is not None and predecessor.successor_id == cert.id:
        predecessor.successor_id = None
        await uow.certificates.save(predecessor)


def issue_mail(uow: UnitOfWork, ca: CertificateAuthority, user: User, cert: Certificate) -> OutgoingMail:
    how = (
        "You choose a password; the certificate and its key are handed to you once, in a PKCS#12 file."
        if cert.issuance is CertificateIssuance.SOFTWARE
        else "Your signing device creates the key; submit its certificate signing request (CSR)."
    )
    greeting = "Dear user" if user.anonymous else f"Dear {user.full_name}"
    body = (
        f"{greeting},\n\n"
        f"Your organisation has ordered a {cert.type.value.lower()} MitID Erhverv certificate for you.\n"
        f"Log in and issue it here:\n\n{ca.retrieval_link(cert.id)}\n\n{how}\n"
    )
    return OutgoingMail(cert.org_id, user.email, "Your MitID Erhverv certificate is ready to be issued", body)


async def issue(
    uow: UnitOfWork, ca: CertificateAuthority, cert: Certificate, issuance: CertificateIssuance,
    csr: str | None, password: str | None, holder: User | None,
) -> IssuedCertificate:
    now = uow.platform.now()
    authority = await current_authority(uow.certificates, ca, now)
    spec = rules.spec_for(cert, await uow.organisations.get(), now, holder=holder)
    hardware = issuance is CertificateIssuance.HARDWARE
    material = await ca.issue(
        authority, spec, csr_pem=csr if hardware else None, password=None if hardware else password
    )
    cert.status = CertificateStatus.ISSUED
    cert.issuance = issuance
    cert.serial_number = material.serial_number
    cert.subject = material.subject
    cert.not_before, cert.not_after = material.not_before, material.not_after
    cert.certificate_pem = material.certificate_pem
    cert.fingerprint_sha256 = material.fingerprint_sha256
    cert.issued_at = now
    await uow.certificates.save(cert)
    await record(
        uow, ActivityType.CERTIFICATE_ISSUED, f"{label_of(cert)} issued", target=holder,
        details=details_of(cert, issuance=issuance.value, notAfter=cert.not_after.isoformat()),
    )
    return IssuedCertificate(cert, material.certificate_pem, material.pkcs12)


# --- user certificates ---------------------------------------------------------------------------------


async def order_user_certificate(
    uow: UnitOfWork, ca: CertificateAuthority, user_id: uuid.UUID, type_: CertificateType,
    issuance: CertificateIssuance,
) -> Certificate:
    """For an activated user; the user is emailed a link to issue it."""
    user = await uow.users.get(user_id, for_update=True)
    if user is None or user.status is UserStatus.DELETED:
        raise NotFound("User", ["userId"])
    settings = await uow.organisations.get_settings()
    rules.check_allowed(settings, CertificateKind.USER, type_)
    rules.check_holder(user)
    email = rules.certificate_email_of(user)
    cert = Certificate(
        id=uuid.uuid4(), org_id=uow.actor.org_id, kind=CertificateKind.USER, type=type_,
        status=CertificateStatus.ORDERED, purposes=USER_PURPOSES, name=rules.holder_name(user),
        ordered_at=uow.platform.now(), ordered_by=uow.actor.user_id, issuance=issuance, user_id=user.id,
        email=email, p_number=user.p_number or settings.default_p_number,
        se_number=user.se_number or settings.default_se_number,
    )
    await uow.certificates.add(cert)
    await uow.outbox.add(issue_mail(uow, ca, user, cert))
    await record(
        uow, ActivityType.CERTIFICATE_ORDERED, f"{label_of(cert)} ordered", target=user,
        details=details_of(cert, issuance=issuance.value),
    )
    return cert


async def issue_user_certificate(
    uow: UnitOfWork, ca: CertificateAuthority, certificate_id: uuid.UUID, csr: str | None, password: str | None
) -> IssuedCertificate:
    """By the holder only: anyone else's order is not found."""
    cert = await get_certificate(uow, certificate_id)
    if cert.kind is not CertificateKind.USER or cert.user_id is None or cert.user_id != uow.actor.user_id:
        raise NotFound("Certificate", ["certificateId"])
    rules.check_issuable(cert)
    user = await uow.users.get(cert.user_id)
    if user is None:
        raise NotFound("Certificate", ["certificateId"])
    rules.check_holder(user)
    rules.check_allowed(await uow.organisations.get_settings(), cert.kind, cert.type)
    issuance = rules.check_key_source(cert.issuance, csr, password)
    return await issue(uow, ca, cert, issuance, csr, password, user)


async def cancel_certificate_order(uow: UnitOfWork, certificate_id: uuid.UUID) -> Certificate:
    cert = await get_certificate(uow, certificate_id)
    rules.check_issuable(cert)
    await cancel_order(uow, cert, await holder_of(uow, cert))
    return cert


async def cancel_order(uow: UnitOfWork, cert: Certificate, holder: User | None) -> None:
    """An open order (checked by the caller) is cancelled and its history written."""
    cert.status = CertificateStatus.CANCELLED
    cert.cancelled_at = uow.platform.now()
    await uow.certificates.save(cert)
    await unlink_predecessor(uow, cert)
    await record(
        uow, ActivityType.CERTIFICATE_ORDER_CANCELLED, f"{label_of(cert)} order cancelled",
        target=holder, details=details_of(cert),
    )


# --- organisation certificates -----------------------------------------------------------------------


async def order_organisation_certificate(
    uow: UnitOfWork, ca: CertificateAuthority, *, profile_id: uuid.UUID | None, profile: ProfileInput,
    type_: CertificateType, purposes: Sequence[str] | None,
) -> Certificate:
    """Under an existing profile (`profile_id`) or a new one; the orderer is told to retrieve it."""
    settings = await uow.organisations.get_settings()
    rules.check_allowed(settings, CertificateKind.ORGANISATION, type_)
    errors = Errors()
    chosen = rules.organisation_purposes(purposes, errors)
    now = uow.platform.now()
    if profile_id is not None:
        found = await uow.certificates.get_profile(profile_id)
        if found is None:
            raise NotFound("Certificate profile", ["profileId"])
        errors.raise_if_any()
        used = found
    else:
        valid = rules.validate_profile(profile, errors)
        p, se = check_units(errors, await org_context(uow), optional(profile.p_number), optional(profile.se_number))
        if valid is not None and await uow.certificates.profile_name_taken(valid.name):
            errors.add(C.DUPLICATE_PROFILE_NAME, "A certificate profile with this name exists; use it", "name")
        errors.raise_if_any()
        assert valid is not None
        used = CertificateProfile(
            id=uuid.uuid4(), org_id=uow.actor.org_id, name=valid.name, email=valid.email,
            contact_name=valid.contact_name, contact_email=valid.contact_email,
            p_number=p or settings.default_p_number, se_number=se or settings.default_se_number,
            created_at=now, created_by=uow.actor.user_id,
        )
        await uow.certificates.add_profile(used)
    cert = Certificate(
        id=uuid.uuid4(), org_id=uow.actor.org_id, kind=CertificateKind.ORGANISATION, type=type_,
        status=CertificateStatus.ORDERED, purposes=chosen, name=used.name, ordered_at=now,
        ordered_by=uow.actor.user_id, profile_id=used.id, email=used.email, contact_name=used.contact_name,
        contact_email=used.contact_email, p_number=used.p_number, se_number=used.se_number,
    )
    await uow.certificates.add(cert)
    if uow.actor.user_id is not None:
        await notify_person(
            uow, uow.actor.user_id, "CERTIFICATE_READY", f"Organisation certificate '{cert.name}' is ready to retrieve",
            f"The organisation certificate '{cert.name}' you ordered is ready. Retrieve it with a CSR or with a "
            f"password that protects a generated key:\n\n{ca.retrieval_link(cert.id)}\n",
        )
    await record(uow, ActivityType.CERTIFICATE_ORDERED, f"{label_of(cert)} ordered", details=details_of(cert))
    return cert


async def retrieve_organisation_certificate(
    uow: UnitOfWork, ca: CertificateAuthority, certificate_id: uuid.UUID, csr: str | None, password: str | None
) -> IssuedCertificate:
    cert = await get_certificate(uow, certificate_id)
    if cert.kind is not CertificateKind.ORGANISATION:
        raise DomainError(
            C.NOT_ORGANISATION_CERTIFICATE, "A user certificate is issued by its holder", ["certificateId"]
        )
    rules.check_issuable(cert)
    rules.check_allowed(await uow.organisations.get_settings(), cert.kind, cert.type)
    issuance = rules.check_key_source(None, csr, password)
    return await issue(uow, ca, cert, issuance, csr, password, None)
