"""Use cases that edit a live user: its fields, authenticators, organisation unit, and the caller's
own notification channel."""

from __future__ import annotations

import dataclasses
import uuid
from collections.abc import Sequence
from typing import Any

from app.domain.activity.history import ActivityType, record
from app.domain.common.errors import DomainError, Forbidden
from app.domain.common.policy import Action, is_allowed
from app.domain.common.ports import UnitOfWork
from app.domain.common.validation import Errors, check_units, optional, org_context
from app.domain.users.lifecycle import get_editable_user, get_live_user
from app.domain.users.model import NotificationChannel, User
from app.domain.users.rules import E, UserChanges, apply_user_changes, parse_authenticators

# What a rights administrator may change with updateUser (UPDATE_USER_RIGHTS); every other field of
# UserChanges — also one added later — needs UPDATE_USER.
RIGHTS_ONLY = frozenset({"rights"})


def given_fields(changes: UserChanges) -> list[str]:
    """The API names (camelCase) of the fields a change gives (not None), in declaration order."""
    return [_api_name(f.name) for f in dataclasses.fields(changes) if getattr(changes, f.name) is not None]


def _api_name(name: str) -> str:
    head, *rest = name.split("_")
    return head + "".join(part.capitalize() for part in rest)


async def update_user(uow: UnitOfWork, user_id: uuid.UUID, changes: UserChanges) -> User:
    """Change the given fields with the rules of creation. A caller allowed only UPDATE_USER_RIGHTS
    (a rights administrator) may give `rights` and nothing else: any other field is refused
    (Forbidden) before anything is validated or written."""
    user = await get_editable_user(uow, user_id)
    if not is_allowed(uow.actor.roles, Action.UPDATE_USER):
        others = [f for f in given_fields(changes) if f not in RIGHTS_ONLY]
        if others:
            raise Forbidden(f"Your roles allow changing a user's rights only, not {', '.join(others)}")
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
    if applied.rights is not None:
        await uow.users.set_rights(user.id, applied.rights)
    details = applied.history_details()
    await record(uow, ActivityType.USER_UPDATED, change_summary(details), target=user, details=details)
    return user


SUMMARY_MAX = 500  # the history's summary column


def change_summary(details: dict[str, Any]) -> str:
    """"Changed email, rights (added A; removed B)": the fields by name, rights by code."""
    parts = []
    for name in sorted(details):
        rights = details[name] if name == "rights" else None
        if rights is None:
            parts.append(name)
            continue
        moves = [f"{verb} {', '.join(rights[verb])}" for verb in ("added", "removed") if rights[verb]]
        parts.append(f"rights ({'; '.join(moves)})" if moves else "rights")
    summary = "Changed " + ", ".join(parts)
    return summary if len(summary) <= SUMMARY_MAX else summary[: SUMMARY_MAX - 1] + "…"


async def set_user_authenticators(uow: UnitOfWork, user_id: uuid.UUID, kinds: Sequence[str]) -> User:
    user = await get_editable_user(uow, user_id)
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
    user = await get_editable_user(uow, user_id)
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
