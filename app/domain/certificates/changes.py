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
from app.domain.common.validation import Errors, optional
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
    cert.status = CertificateStatus.REVOKED
    cert.revoked_at, cert.revocation_reason, cert.revoked_by = now, reason, uow.actor.user_id
    await uow.certificates.save(cert)
    await publish_revocation_list(uow.certificates, ca, now)
    await record(
        uow, ActivityType.CERTIFICATE_REVOKED, f"{label_of(cert)} revoked ({reason.value})",
        target=await holder_of(uow, cert), details=details_of(cert, reason=reason.value),
    )
    return cert


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
