"""Use cases on a certificate already ordered or issued: renew, revoke, delete, and an organisation
certificate's system rights."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from typing import Any

from app.domain.activity.history import ActivityType, record
from app.domain.certificates import rules
from app.domain.certificates.authority import CertificateAuthority, publish_revocation_list
from app.domain.certificates.lifecycle import (
    cancel_order,
    details_of,
    get_certificate,
    holder_of,
    issue,
    issue_mail,
    label_of,
    unlink_predecessor,
)
from app.domain.certificates.model import (
    Certificate,
    CertificateErrorCode,
    CertificateIssuance,
    CertificateKind,
    CertificatePurpose,
    CertificateStatus,
    IssuedCertificate,
    RevocationReason,
)
from app.domain.common.errors import DomainError, NotFound
from app.domain.common.ports import UnitOfWork
from app.domain.common.principal import Role
from app.domain.common.validation import Errors, optional
from app.domain.notifications.delivery import notify_role
from app.domain.users.model import User

C = CertificateErrorCode


async def renew_certificate(
    uow: UnitOfWork, ca: CertificateAuthority, certificate_id: uuid.UUID, csr: str | None, password: str | None
) -> IssuedCertificate:
    """A successor linked to the certificate. An organisation certificate's is issued at once (CSR
    or generated key, rights carried over); a user certificate's is ordered for its holder to issue."""
    cert = await get_certificate(uow, certificate_id)
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
        uow, ActivityType.CERTIFICATE_RENEWED, f"{label_of(cert)} renewed", target=holder,
        details=details_of(cert, successorId=str(successor.id)),
    )
    if holder is not None:
        await uow.outbox.add(issue_mail(uow, ca, holder, successor))
        return IssuedCertificate(successor, None, None)
    assert issuance is not None
    return await issue(uow, ca, successor, issuance, csr, password, None)


async def revoke_certificate(
    uow: UnitOfWork, ca: CertificateAuthority, certificate_id: uuid.UUID, reason: RevocationReason
) -> Certificate:
    """Final: a revoked certificate is never valid again. The CRL is republished at once."""
    cert = await get_certificate(uow, certificate_id)
    now = uow.platform.now()
    rules.check_revocable(cert, now)
    await _revoke(uow, cert, reason, await holder_of(uow, cert))
    await publish_revocation_list(uow.certificates, ca, now)
    return cert


async def revoke_own_certificate(
    uow: UnitOfWork, ca: CertificateAuthority, certificate_id: uuid.UUID, reason: RevocationReason
) -> Certificate:
    """The holder blocks their own user certificate. Anyone else's, administrators' included, is
    not found, so the answer says nothing about whether it exists. The user administrators are told."""
    cert = await get_certificate(uow, certificate_id)
    if cert.kind is not CertificateKind.USER or cert.user_id is None or cert.user_id != uow.actor.user_id:
        raise NotFound("Certificate", ["certificateId"])
    now = uow.platform.now()
    rules.check_revocable(cert, now)
    rules.check_holder_reason(reason)
    holder = await holder_of(uow, cert)
    await _revoke(uow, cert, reason, holder)
    await publish_revocation_list(uow.certificates, ca, now)
    who = "A user" if holder is None or holder.anonymous else holder.full_name
    await notify_role(
        uow, Role.USER_ADMINISTRATOR, "CERTIFICATE_REVOKED", "A holder revoked their certificate",
        f"{who} revoked their {label_of(cert).lower()} (serial number {cert.serial_number}, reason {reason.value}).",
    )
    return cert


async def withdraw_certificates_of(
    uow: UnitOfWork, ca: CertificateAuthority, holders: Sequence[User]
) -> list[Certificate]:
    """The holders leave the organisation (deleted, or recreated anonymous under a new id): their
    live certificates are revoked (HOLDER_LEFT) and their open orders cancelled, in the caller's
    transaction, with the CRL republished once. Expired, revoked and cancelled ones stay as they are
    (an expired certificate is already refused by relying parties). Returns the ones changed."""
    now = uow.platform.now()
    by_id = {h.id: h for h in holders}
    theirs = await uow.certificates.of_holders(list(by_id), for_update=True)
    live = [c for c in theirs if c.status_at(now) is CertificateStatus.ISSUED]
    for cert in live:
        await _revoke(uow, cert, RevocationReason.HOLDER_LEFT, by_id.get(cert.user_id) if cert.user_id else None)
    # After the revocations: cancelling a renewal's order reloads and saves its predecessor.
    orders = [c for c in theirs if c.status is CertificateStatus.ORDERED]
    for cert in orders:
        await cancel_order(uow, cert, by_id.get(cert.user_id) if cert.user_id else None)
    if live:
        await publish_revocation_list(uow.certificates, ca, now)
    return live + orders


async def _revoke(uow: UnitOfWork, cert: Certificate, reason: RevocationReason, holder: User | None) -> None:
    """A live certificate (checked by the caller) is revoked and its history written; the caller
    republishes the CRL."""
    cert.status = CertificateStatus.REVOKED
    cert.revoked_at, cert.revocation_reason, cert.revoked_by = uow.platform.now(), reason, uow.actor.user_id
    await uow.certificates.save(cert)
    await record(
        uow, ActivityType.CERTIFICATE_REVOKED, f"{label_of(cert)} revoked ({reason.value})",
        target=holder, details=details_of(cert, reason=reason.value),
    )


async def delete_certificate(uow: UnitOfWork, certificate_id: uuid.UUID) -> Certificate:
    """Only before it is issued (an issued one is revoked instead)."""
    cert = await get_certificate(uow, certificate_id)
    rules.check_deletable(cert)
    await unlink_predecessor(uow, cert)
    await uow.certificates.delete(cert.id)
    await record(
        uow, ActivityType.CERTIFICATE_DELETED, f"{label_of(cert)} deleted", target=await holder_of(uow, cert),
        details=details_of(cert, status=cert.status.value),
    )
    return cert


async def update_certificate_rights(
    uow: UnitOfWork, certificate_id: uuid.UUID, system_rights: Sequence[str] | None, can_seal: bool | None,
    allow_user_signing: bool | None,
) -> Certificate:
    """An organisation certificate's system rights (from the catalogue), seal and user signing;
    only what is given changes."""
    cert = await get_certificate(uow, certificate_id)
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
            uow, ActivityType.CERTIFICATE_RIGHTS_CHANGED, f"{label_of(cert)}: changed " + ", ".join(sorted(changes)),
            details=details_of(cert, changes=changes),
        )
    return cert
