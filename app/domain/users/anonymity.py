"""Anonymity: a user asks to be anonymous; a user administrator approves (recreating the user)
or rejects."""

from __future__ import annotations

import uuid

from app.domain.activity.history import ActivityType, record
from app.domain.certificates.authority import CertificateAuthority
from app.domain.common.errors import DomainError, NotFound
from app.domain.common.ports import UnitOfWork
from app.domain.common.principal import Role
from app.domain.common.validation import optional
from app.domain.notifications.delivery import notify_role
from app.domain.users.deactivation import delete_user
from app.domain.users.lifecycle import get_live_user, send_for_activation
from app.domain.users.model import AnonymityRequest, AnonymityRequestStatus, User, UserStatus
from app.domain.users.roles import check_leaves_an_organisation_administrator
from app.domain.users.rules import E


async def request_anonymity(uow: UnitOfWork, reason: str | None) -> AnonymityRequest:
    """The caller asks to become anonymous; user administrators are told by email and in-app."""
    assert uow.actor.user_id is not None
    user = await uow.users.get(uow.actor.user_id, for_update=True)
    if user is None or user.status is UserStatus.DELETED:
        raise NotFound("User")
    if user.anonymous:
        raise DomainError(E.ALREADY_ANONYMOUS, "You are already anonymous")
    if await uow.users.pending_anonymity_request_of(user.id) is not None:
        raise DomainError(E.REQUEST_PENDING, "You already have a pending request")
    reason = optional(reason)
    if reason and len(reason) > 500:
        raise DomainError(E.TOO_LONG, "At most 500 characters", ["reason"])
    request = AnonymityRequest(
        id=uuid.uuid4(),
        org_id=uow.actor.org_id,
        user_id=user.id,
        reason=reason,
        status=AnonymityRequestStatus.PENDING,
        requested_at=uow.platform.now(),
    )
    await uow.users.add_anonymity_request(request)
    await record(uow, ActivityType.ANONYMITY_REQUESTED, "Anonymity requested", target=user)
    await notify_role(
        uow,
        Role.USER_ADMINISTRATOR,
        "ANONYMITY_REQUESTED",
        "A user asks to be anonymous",
        f"{user.full_name} ({user.email}) has asked to become anonymous."
        + (f"\nReason: {reason}" if reason else ""),
    )
    return request


async def get_anonymity_request(uow: UnitOfWork, request_id: uuid.UUID) -> AnonymityRequest | None:
    """One of the organisation's requests (who may see it: `can_view_anonymity_request`)."""
    return await uow.users.get_anonymity_request(request_id)


async def decide_anonymity_request(
    uow: UnitOfWork, ca: CertificateAuthority, request_id: uuid.UUID, *, approve: bool
) -> tuple[AnonymityRequest, User | None, str | None]:
    """Approval recreates the user as anonymous (a new UUID; rights do not carry over) and deletes
    the old one, revoking the old one's certificates (they name the person). The new user must be
    activated again."""
    request = await uow.users.get_anonymity_request(request_id)
    if request is None:
        raise NotFound("Anonymity request", ["requestId"])
    if request.status is not AnonymityRequestStatus.PENDING:
        raise DomainError(E.INVALID_STATUS, "The request has already been decided", ["requestId"])
    if approve:  # the recreated person must be activated again and holds no role: someone else must
        await check_leaves_an_organisation_administrator(uow, request.user_id)
    old = await get_live_user(uow, request.user_id)
    request.decided_at = uow.platform.now()
    request.decided_by = uow.actor.user_id
    new_user: User | None = None
    code: str | None = None
    if approve:
        settings = await uow.organisations.get_settings()
        if not settings.anonymity_allowed:
            raise DomainError(E.ANONYMITY_NOT_ALLOWED, "The organisation does not allow anonymous users")
        cpr_hash, cpr_encrypted = await uow.users.cpr_hash_of(old.id)
        authenticators = await uow.users.authenticators(old.id)
        await delete_user(uow, ca, old.id)
        now = uow.platform.now()
        new_user = User(
            id=uuid.uuid4(), org_id=old.org_id, first_name=old.first_name, last_name=old.last_name,
            email=old.email, phone=old.phone, reference=old.reference, identification=old.identification,
            cpr_masked=old.cpr_masked, date_of_birth=old.date_of_birth, anonymous=True,
            status=UserStatus.CREATED, p_number=old.p_number, se_number=old.se_number,
            can_sign=False, can_create_seal=False, created_at=now,
        )
        await uow.users.add(new_user, cpr_hash=cpr_hash, cpr_encrypted=cpr_encrypted)
        if authenticators:
            await uow.users.set_authenticators(new_user.id, authenticators, now)
        await record(
            uow, ActivityType.USER_CREATED, "User recreated as anonymous", target=new_user,
            details={"replaces": str(old.id)},
        )
        code = await send_for_activation(uow, new_user)
        request.status = AnonymityRequestStatus.APPROVED
        request.new_user_id = new_user.id
        await record(
            uow, ActivityType.ANONYMITY_APPROVED, "Anonymity approved", target=old,
            details={"newUserId": str(new_user.id)},
        )
    else:
        request.status = AnonymityRequestStatus.REJECTED
        await record(uow, ActivityType.ANONYMITY_REJECTED, "Anonymity rejected", target=old)
    await uow.users.save_anonymity_request(request)
    return request, new_user, code
