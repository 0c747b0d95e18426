"""Use cases for certificates: order, issue, cancel, retrieve, renew, revoke, delete, system rights.

User certificates are ordered by a user administrator and issued by their holder; organisation
certificates are ordered under a profile and retrieved (issued) by an administrator. Each use case
runs in the caller's unit of work; `ca` signs."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from typing import Any

from app.domain.activity.history import ActivityType, record
from app.domain.certificates import rules
from app.domain.certificates.authority import CertificateAuthority, current_authority, publish_revocation_list
from app.domain.certificates.model import (
    USER_PURPOSES,
    Certificate,
    CertificateErrorCode,
    CertificateIssuance,
    CertificateKind,
    CertificateProfile,
    CertificatePurpose,
    CertificateStatus,
    CertificateType,
    IssuedCertificate,
    RevocationReason,
)
from app.domain.certificates.rules import ProfileInput
from app.domain.common.errors import DomainError, NotFound
from app.domain.common.mail import OutgoingMail
from app.domain.common.ports import UnitOfWork
from app.domain.common.validation import Errors, check_units, optional, org_context
from app.domain.notifications.delivery import notify_person
from app.domain.users.model import User, UserStatus

C = CertificateErrorCode


async def _get(uow: UnitOfWork, certificate_id: uuid.UUID) -> Certificate:
    cert = await uow.certificates.get(certificate_id, for_update=True)
    if cert is None:
        raise NotFound("Certificate", ["certificateId"])
    return cert


async def _holder(uow: UnitOfWork, cert: Certificate) -> User | None:
    return await uow.users.get(cert.user_id) if cert.user_id is not None else None


def _details(cert: Certificate, **extra: Any) -> dict[str, Any]:
    details: dict[str, Any] = {
        "certificateId": str(cert.id), "kind": cert.kind.value, "type": cert.type.value, "name": cert.name,
    }
    if cert.serial_number:
        details["serialNumber"] = cert.serial_number
    details.update(extra)
    return details


def _label(cert: Certificate) -> str:
    kind = "User certificate" if cert.kind is CertificateKind.USER else f"Organisation certificate '{cert.name}'"
    return f"{kind} ({cert.type.value.lower()})"


async def _unlink_predecessor(uow: UnitOfWork, cert: Certificate) -> None:
    """A renewal's order that goes away frees its predecessor to be renewed again."""
    if cert.predecessor_id is None:
        return
    predecessor = await uow.certificates.get(cert.predecessor_id, for_update=True)
    if predecessor is not None and predecessor.successor_id == cert.id:
        predecessor.successor_id = None
        await uow.certificates.save(predecessor)


def _issue_mail(uow: UnitOfWork, ca: CertificateAuthority, user: User, cert: Certificate) -> OutgoingMail:
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


async def _issue(
    uow: UnitOfWork, ca: CertificateAuthority, cert: Certificate, issuance: CertificateIssuance,
    csr: str | None, password: str | None, holder: User | None,
) -> IssuedCertificate:
    now = uow.platform.now()
    authority = await current_authority(uow.certificates, ca, now)
    anonymous = holder is not None and holder.anonymous
    spec = rules.spec_for(cert, await uow.organisations.get(), now, anonymous=anonymous)
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
        uow, ActivityType.CERTIFICATE_ISSUED, f"{_label(cert)} issued", target=holder,
        details=_details(cert, issuance=issuance.value, notAfter=cert.not_after.isoformat()),
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
    await uow.outbox.add(_issue_mail(uow, ca, user, cert))
    await record(
        uow, ActivityType.CERTIFICATE_ORDERED, f"{_label(cert)} ordered", target=user,
        details=_details(cert, issuance=issuance.value),
    )
    return cert


async def issue_user_certificate(
    uow: UnitOfWork, ca: CertificateAuthority, certificate_id: uuid.UUID, csr: str | None, password: str | None
) -> IssuedCertificate:
    """By the holder only: anyone else's order is not found."""
    cert = await _get(uow, certificate_id)
    if cert.kind is not CertificateKind.USER or cert.user_id is None or cert.user_id != uow.actor.user_id:
        raise NotFound("Certificate", ["certificateId"])
    rules.check_issuable(cert)
    user = await uow.users.get(cert.user_id)
    if user is None:
        raise NotFound("Certificate", ["certificateId"])
    rules.check_holder(user)
    rules.check_allowed(await uow.organisations.get_settings(), cert.kind, cert.type)
    issuance = rules.check_key_source(cert.issuance, csr, password)
    return await _issue(uow, ca, cert, issuance, csr, password, user)


async def cancel_certificate_order(uow: UnitOfWork, certificate_id: uuid.UUID) -> Certificate:
    cert = await _get(uow, certificate_id)
    rules.check_issuable(cert)
    cert.status = CertificateStatus.CANCELLED
    cert.cancelled_at = uow.platform.now()
    await uow.certificates.save(cert)
    await _unlink_predecessor(uow, cert)
    await record(
        uow, ActivityType.CERTIFICATE_ORDER_CANCELLED, f"{_label(cert)} order cancelled",
        target=await _holder(uow, cert), details=_details(cert),
    )
    return cert


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
    await record(uow, ActivityType.CERTIFICATE_ORDERED, f"{_label(cert)} ordered", details=_details(cert))
    return cert


async def retrieve_organisation_certificate(
    uow: UnitOfWork, ca: CertificateAuthority, certificate_id: uuid.UUID, csr: str | None, password: str | None
) -> IssuedCertificate:
    cert = await _get(uow, certificate_id)
    if cert.kind is not CertificateKind.ORGANISATION:
        raise DomainError(
            C.NOT_ORGANISATION_CERTIFICATE, "A user certificate is issued by its holder", ["certificateId"]
        )
    rules.check_issuable(cert)
    rules.check_allowed(await uow.organisations.get_settings(), cert.kind, cert.type)
    issuance = rules.check_key_source(None, csr, password)
    return await _issue(uow, ca, cert, issuance, csr, password, None)


# --- any certificate ---------------------------------------------------------------------------------------


async def renew_certificate(
    uow: UnitOfWork, ca: CertificateAuthority, certificate_id: uuid.UUID, csr: str | None, password: str | None
) -> IssuedCertificate:
    """A successor linked to the certificate. An organisation certificate's is issued at once (CSR
    or generated key, rights carried over); a user certificate's is ordered for its holder to issue."""
    cert = await _get(uow, certificate_id)
    now = uow.platform.now()
    rules.check_renewable(cert, now)
    rules.check_allowed(await uow.organisations.get_settings(), cert.kind, cert.type)
    successor = rules.successor_of(cert, uuid.uuid4(), now, uow.actor.user_id)
    holder: User | None = None
    issuance: CertificateIssuance | None = None
    if cert.kind is CertificateKind.USER:
        if optional(csr) or password:
            raise DomainError(
                C.CSR_NOT_EXPECTED, "The holder issues a renewed user certificate; give no CSR or password", ["csr"]
            )
        holder = await uow.users.get(cert.user_id, for_update=True) if cert.user_id else None
        if holder is None:
            raise NotFound("Certificate", ["certificateId"])
        rules.check_holder(holder)
        successor.name, successor.email = rules.holder_name(holder), rules.certificate_email_of(holder)
    else:
        issuance = rules.check_key_source(None, csr, password)
    await uow.certificates.add(successor)
    if cert.kind is CertificateKind.ORGANISATION:
        await uow.certificates.set_system_rights(successor.id, await uow.certificates.system_rights(cert.id))
    cert.successor_id = successor.id
    await uow.certificates.save(cert)
    await record(
        uow, ActivityType.CERTIFICATE_RENEWED, f"{_label(cert)} renewed", target=holder,
        details=_details(cert, successorId=str(successor.id)),
    )
    if holder is not None:
        await uow.outbox.add(_issue_mail(uow, ca, holder, successor))
        return IssuedCertificate(successor, None, None)
    assert issuance is not None
    return await _issue(uow, ca, successor, issuance, csr, password, None)


async def revoke_certificate(
    uow: UnitOfWork, ca: CertificateAuthority, certificate_id: uuid.UUID, reason: RevocationReason
) -> Certificate:
    """Final: a revoked certificate is never valid again. The CRL is republished at once."""
    cert = await _get(uow, certificate_id)
    now = uow.platform.now()
    rules.check_revocable(cert, now)
    cert.status = CertificateStatus.REVOKED
    cert.revoked_at, cert.revocation_reason, cert.revoked_by = now, reason, uow.actor.user_id
    await uow.certificates.save(cert)
    await publish_revocation_list(uow.certificates, ca, now)
    await record(
        uow, ActivityType.CERTIFICATE_REVOKED, f"{_label(cert)} revoked ({reason.value})",
        target=await _holder(uow, cert), details=_details(cert, reason=reason.value),
    )
    return cert


async def delete_certificate(uow: UnitOfWork, certificate_id: uuid.UUID) -> Certificate:
    """Only before it is issued (an issued one is revoked instead)."""
    cert = await _get(uow, certificate_id)
    rules.check_deletable(cert)
    await _unlink_predecessor(uow, cert)
    await uow.certificates.delete(cert.id)
    await record(
        uow, ActivityType.CERTIFICATE_DELETED, f"{_label(cert)} deleted", target=await _holder(uow, cert),
        details=_details(cert, status=cert.status.value),
    )
    return cert


async def update_certificate_rights(
    uow: UnitOfWork, certificate_id: uuid.UUID, system_rights: Sequence[str] | None, can_seal: bool | None,
    allow_user_signing: bool | None,
) -> Certificate:
    """An organisation certificate's system rights (from the catalogue), seal and user signing;
    only what is given changes."""
    cert = await _get(uow, certificate_id)
    rules.check_rights_changeable(cert, uow.platform.now())
    errors = Errors()
    codes = rules.system_rights(system_rights, await uow.rights.codes(), errors) if system_rights is not None else None
    if can_seal and CertificatePurpose.SEAL not in cert.purposes:
        errors.add(C.NOT_A_SEAL_CERTIFICATE, "The certificate was not issued for sealing", "canSeal")
    errors.raise_if_any()
    changes: dict[str, Any] = {}
    if codes is not None:
        before = sorted(await uow.certificates.system_rights(cert.id))
        if before != codes:
            await uow.certificates.set_system_rights(cert.id, codes)
            changes["systemRights"] = {"from": before, "to": codes}
    if can_seal is not None and can_seal != cert.can_seal:
        changes["canSeal"] = {"from": cert.can_seal, "to": can_seal}
        cert.can_seal = can_seal
    if allow_user_signing is not None and allow_user_signing != cert.allow_user_signing:
        changes["allowUserSigning"] = {"from": cert.allow_user_signing, "to": allow_user_signing}
        cert.allow_user_signing = allow_user_signing
    if changes:
        await uow.certificates.save(cert)
        await record(
            uow, ActivityType.CERTIFICATE_RIGHTS_CHANGED, f"{_label(cert)}: changed " + ", ".join(sorted(changes)),
            details=_details(cert, changes=changes),
        )
    return cert
