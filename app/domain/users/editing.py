"""Use cases that edit a live user: its fields, authenticators, organisation unit, and the caller's
own notification channel."""

from __future__ import annotations

import uuid
from collections.abc import Sequence

from app.domain.activity.history import ActivityType, record
from app.domain.common.errors import DomainError
from app.domain.common.ports import UnitOfWork
from app.domain.common.validation import Errors, check_units, optional, org_context
from app.domain.users.lifecycle import get_live_user
from app.domain.users.model import NotificationChannel, User
from app.domain.users.rules import E, UserChanges, apply_user_changes, parse_authenticators


async def update_user(uow: UnitOfWork, user_id: uuid.UUID, changes: UserChanges) -> User:
    user = await get_live_user(uow, user_id)
    errors = Errors()
    old_email = user.email
    applied = apply_user_changes(
        user, await uow.users.authenticators(user.id), await uow.users.rights(user.id), changes,
        await org_context(uow), errors,
    )
    if user.email.lower() != old_email.lower() and await uow.users.email_taken(user.email, except_user=user.id):
        errors.add(E.DUPLICATE_EMAIL, "Another user already has this email address", "email")
    errors.raise_if_any()
    if not applied:
        return user
    now = uow.platform.now()
    await uow.users.save(user)
    if applied.authenticators is not None:
        await uow.users.set_authenticators(user.id, applied.authenticators, now)
        applied.fields["authenticators"] = {"to": sorted(applied.authenticators)}
    if applied.rights is not None:
        await uow.users.set_rights(user.id, applied.rights)
        applied.fields["rights"] = {"to": sorted(applied.rights)}
    await record(
        uow, ActivityType.USER_UPDATED, "Changed " + ", ".join(sorted(applied.fields)), target=user,
        details=applied.fields,
    )
    return user


async def set_user_authenticators(uow: UnitOfWork, user_id: uuid.UUID, kinds: Sequence[str]) -> User:
    user = await get_live_user(uow, user_id)
    errors = Errors()
    parsed = parse_authenticators(errors, kinds, await uow.organisations.get_settings())
    errors.raise_if_any()
    before = await uow.users.authenticators(user.id)
    if sorted(before) != sorted(parsed):
        await uow.users.set_authenticators(user.id, parsed, uow.platform.now())
        await uow.users.save(user)
        await record(
            uow,
            ActivityType.AUTHENTICATORS_CHANGED,
            "Authenticators changed",
            target=user,
            details={"from": sorted(before), "to": sorted(parsed)},
        )
    return user


async def set_user_organisation_unit(
    uow: UnitOfWork, user_id: uuid.UUID, p_number: str | None, se_number: str | None
) -> User:
    user = await get_live_user(uow, user_id)
    errors = Errors()
    if not optional(p_number) and not optional(se_number):
        errors.add(E.REQUIRED, "Give a P-number, an SE-number or both", "pNumber")
    p, se = check_units(errors, await org_context(uow), optional(p_number), optional(se_number))
    errors.raise_if_any()
    before = {"pNumber": user.p_number, "seNumber": user.se_number}
    user.p_number = p or user.p_number
    user.se_number = se or user.se_number
    if before == {"pNumber": user.p_number, "seNumber": user.se_number}:
        return user  # like the other edits: no change, no history entry
    await uow.users.save(user)
    await record(
        uow,
        ActivityType.ORGANISATION_UNIT_CHANGED,
        "P-number / SE-number changed",
        target=user,
        details={"from": before, "to": {"pNumber": user.p_number, "seNumber": user.se_number}},
    )
    return user


async def update_notification_settings(uow: UnitOfWork, channel: str) -> User:
    assert uow.actor.user_id is not None
    try:
        parsed = NotificationChannel(channel)
    except ValueError as exc:
        raise DomainError("INVALID_CHANNEL", "Channel must be IN_APP, EMAIL or BOTH", ["channel"]) from exc
    user = await get_live_user(uow, uow.actor.user_id)
    if user.notification_channel is not parsed:
        before = user.notification_channel
        user.notification_channel = parsed
        await uow.users.save(user)
        await record(
            uow, ActivityType.NOTIFICATION_SETTINGS_CHANGED, "Notification channel changed", target=user,
            details={"from": before.value, "to": parsed.value},
        )
    return user
