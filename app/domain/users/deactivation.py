"""Use cases that take a user out of service: deactivate (now or for a period), reactivate, the
system's run of the deactivation schedule, and the irreversible delete."""

from __future__ import annotations

import uuid

from app.domain.activity.history import ActivityType, record
from app.domain.certificates.authority import CertificateAuthority
from app.domain.certificates.changes import withdraw_certificates_of
from app.domain.common.errors import DomainError, ValidationFailed
from app.domain.common.ports import UnitOfWork
from app.domain.common.validation import optional, parse_moment
from app.domain.users.lifecycle import get_editable_user, get_live_user
from app.domain.users.model import User, UserStatus
from app.domain.users.roles import check_leaves_an_organisation_administrator
from app.domain.users.rules import E


async def deactivate_user(
    uow: UnitOfWork, user_id: uuid.UUID, from_: str | None, until: str | None
) -> User:
    """Also a scheduled deactivation keeps an active organisation administrator: checked now."""
    await check_leaves_an_organisation_administrator(uow, user_id)  # before the person's row lock
    user = await get_editable_user(uow, user_id)
    now = uow.platform.now()
    errors: list[DomainError] = []
    start = end = None
    try:
        start = parse_moment(from_, "from", end_of_day=False) if optional(from_) else now
    except DomainError as exc:
        errors.append(exc)
    try:
        end = parse_moment(until, "until", end_of_day=True) if optional(until) else None
    except DomainError as exc:
        errors.append(exc)
    if errors:
        raise ValidationFailed(errors)
    assert start is not None
    if end is not None and end <= max(start, now):
        raise DomainError(E.INVALID_PERIOD, "The period must end after it starts and in the future", ["until"])
    if user.status is not UserStatus.ACTIVE:
        raise DomainError(E.INVALID_STATUS, f"Only active users can be deactivated (is {user.status})", ["userId"])
    user.deactivated_from, user.deactivated_until = start, end
    details = {"from": start.isoformat(), "until": end.isoformat() if end else None}
    if start <= now:
        user.status = UserStatus.DEACTIVATED
        await uow.users.save(user)
        await record(uow, ActivityType.USER_DEACTIVATED, "User deactivated", target=user, details=details)
    else:
        await uow.users.save(user)
        await record(uow, ActivityType.DEACTIVATION_SCHEDULED, "Deactivation scheduled", target=user, details=details)
    return user


async def reactivate_user(uow: UnitOfWork, user_id: uuid.UUID) -> User:
    user = await get_editable_user(uow, user_id)
    if user.status is UserStatus.ACTIVE and user.deactivated_from is not None:
        # Cancels a scheduled deactivation.
        pass
    elif user.status is not UserStatus.DEACTIVATED:
        raise DomainError(E.INVALID_STATUS, f"Only deactivated users can be reactivated (is {user.status})", ["userId"])
    user.status = UserStatus.ACTIVE
    user.deactivated_from = user.deactivated_until = None
    await uow.users.save(user)
    await record(uow, ActivityType.USER_REACTIVATED, "User reactivated", target=user)
    return user


async def apply_deactivation_schedule(uow: UnitOfWork) -> int:
    """Start deactivations whose period has begun and end those whose period is over: no one
    acts, the system does. Returns the number of users changed."""
    now = uow.platform.now()
    changed = 0
    for user_id in await uow.users.due_deactivation_changes(now):
        user = await uow.users.get(user_id, for_update=True)
        if user is None:
            continue
        if user.deactivated_until is not None and user.deactivated_until <= now:
            if user.status in (UserStatus.DEACTIVATED, UserStatus.ACTIVE):
                user.status = UserStatus.ACTIVE
                user.deactivated_from = user.deactivated_until = None
                await uow.users.save(user)
                await record(
                    uow, ActivityType.USER_REACTIVATED, "Deactivation period ended", target=user,
                    details={"automatic": True},
                )
                changed += 1
        elif (
            user.status is UserStatus.ACTIVE
            and user.deactivated_from is not None
            and user.deactivated_from <= now
        ):
            user.status = UserStatus.DEACTIVATED
            await uow.users.save(user)
            await record(
                uow, ActivityType.USER_DEACTIVATED, "Deactivation period started", target=user,
                details={"automatic": True},
            )
            changed += 1
    return changed


async def delete_user(uow: UnitOfWork, ca: CertificateAuthority, user_id: uuid.UUID) -> User:
    """Irreversible. The row stays (status DELETED) so history keeps its target. The user's
    certificates are revoked and their orders cancelled in the same transaction (`ca` republishes
    the CRL). The organisation keeps an active organisation administrator."""
    await check_leaves_an_organisation_administrator(uow, user_id)  # before the person's row lock
    user = await get_live_user(uow, user_id, allow_deleted=True)
    if user.status is UserStatus.DELETED:  # as `user(id)` shows it; not ours or never there: NOT_FOUND
        raise DomainError(E.ALREADY_DELETED, "The user has already been deleted", ["userId"])
    if user.id == uow.actor.user_id:
        raise DomainError(E.INVALID_STATUS, "You cannot delete yourself", ["userId"])
    user.status = UserStatus.DELETED
    user.deleted_at = uow.platform.now()
    user.deactivated_from = user.deactivated_until = None
    await uow.users.save(user)
    await uow.users.set_activation(user.id, token_hash=None, code_hash=None, expires_at=None)
    await uow.users.set_roles(user.id, [])
    await record(uow, ActivityType.USER_DELETED, "User deleted", target=user)
    await withdraw_certificates_of(uow, ca, [user])
    return user
