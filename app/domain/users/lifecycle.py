"""Use cases for one user's whole lifecycle: create, activate, edit, deactivate, delete."""

from __future__ import annotations

import datetime as dt
import uuid
from collections.abc import Sequence
from dataclasses import dataclass

from app.domain.activity.history import ActivityType, record
from app.domain.common.errors import DomainError, NotFound, ValidationFailed
from app.domain.common.mail import OutgoingMail
from app.domain.common.ports import UnitOfWork
from app.domain.common.validation import Errors, check_units, optional, org_context, parse_moment
from app.domain.users.model import Identification, NotificationChannel, User, UserStatus
from app.domain.users.rules import (
    E,
    NewUser,
    UserChanges,
    apply_user_changes,
    new_user_record,
    parse_authenticators,
    validate_new_user,
)

ACTIVATION_LINK_VALIDITY = dt.timedelta(days=30)


@dataclass(slots=True)
class CreatedUser:
    user: User
    temporary_activation_code: str | None


async def get_live_user(uow: UnitOfWork, user_id: uuid.UUID, *, allow_deleted: bool = False) -> User:
    user = await uow.users.get(user_id, for_update=True)
    if user is None or (user.status is UserStatus.DELETED and not allow_deleted):
        raise NotFound("User", ["userId"])
    return user


async def create_user(uow: UnitOfWork, data: NewUser, *, send: bool = True) -> CreatedUser:
    """Create a user. With `send`, a CPR user is emailed an activation link and a date-of-birth
    user gets a temporary code (returned once); without it the user waits as CREATED (import)."""
    errors = Errors()
    valid = validate_new_user(data, await org_context(uow), errors)
    cpr_hash = uow.platform.hash_cpr(valid.cpr10) if valid and valid.cpr10 else None
    if valid and await uow.users.email_taken(valid.email):
        errors.add(E.DUPLICATE_EMAIL, "Another user already has this email address", "email")
    if cpr_hash and await uow.users.cpr_taken(cpr_hash):
        errors.add(E.DUPLICATE_CPR, "Another user already has this CPR number", "cpr")
    errors.raise_if_any()
    assert valid is not None
    now = uow.platform.now()
    user = new_user_record(valid, uow.actor.org_id, now)
    await uow.users.add(
        user, cpr_hash=cpr_hash, cpr_encrypted=uow.platform.encrypt_cpr(valid.cpr10) if valid.cpr10 else None
    )
    if valid.authenticators:
        await uow.users.set_authenticators(user.id, valid.authenticators, now)
    if valid.rights:
        await uow.users.set_rights(user.id, valid.rights)
    await record(
        uow,
        ActivityType.USER_CREATED,
        f"User created ({user.identification.value})",
        target=user,
        details={"authenticators": valid.authenticators, "rights": valid.rights, "anonymous": user.anonymous},
    )
    code = await send_for_activation(uow, user) if send else None
    return CreatedUser(user, code)


async def send_for_activation(uow: UnitOfWork, user: User) -> str | None:
    """CPR users get an activation email (link valid 30 days); date-of-birth users get a new
    temporary code, returned once and stored only as a hash."""
    if user.status not in (UserStatus.CREATED, UserStatus.PENDING_ACTIVATION):
        raise DomainError(E.INVALID_STATUS, "The user has already been activated", ["userId"])
    now = uow.platform.now()
    code: str | None = None
    if user.identification is Identification.CPR:
        token = uow.platform.new_token()
        await uow.users.set_activation(
            user.id,
            token_hash=uow.platform.hash_token(token),
            code_hash=None,
            expires_at=now + ACTIVATION_LINK_VALIDITY,
        )
        await uow.outbox.add(activation_mail(uow, user, token))
        await record(uow, ActivityType.ACTIVATION_EMAIL_SENT, "Activation email sent", target=user)
    else:
        code = uow.platform.new_activation_code()
        await uow.users.set_activation(
            user.id, token_hash=None, code_hash=uow.platform.hash_code(code), expires_at=None
        )
        await record(uow, ActivityType.ACTIVATION_CODE_GENERATED, "Temporary activation code generated", target=user)
    if user.status is UserStatus.CREATED:
        user.status = UserStatus.PENDING_ACTIVATION
        await uow.users.save(user)
    return code


def activation_mail(uow: UnitOfWork, user: User, token: str) -> OutgoingMail:
    link = uow.platform.activation_link(token)
    body = (
        f"Dear {user.first_name} {user.last_name},\n\n"
        "Your organisation has created a MitID Erhverv user for you.\n"
        f"Activate it by logging in once with your private MitID:\n\n{link}\n\n"
        f"The link is valid for {ACTIVATION_LINK_VALIDITY.days} days.\n"
    )
    return OutgoingMail(user.org_id, user.email, "Activate your MitID Erhverv user", body)


async def resend_activation_email(uow: UnitOfWork, user_id: uuid.UUID) -> User:
    user = await get_live_user(uow, user_id)
    if user.identification is not Identification.CPR:
        raise DomainError(
            E.WRONG_IDENTIFICATION, "Users created with a date of birth get a code, not an email", ["userId"]
        )
    await send_for_activation(uow, user)
    return user


async def generate_activation_code(uow: UnitOfWork, user_id: uuid.UUID) -> tuple[User, str]:
    user = await get_live_user(uow, user_id)
    if user.identification is not Identification.DATE_OF_BIRTH:
        raise DomainError(
            E.WRONG_IDENTIFICATION, "Users created with a CPR number are activated by email", ["userId"]
        )
    code = await send_for_activation(uow, user)
    assert code is not None
    return user, code


async def activate_user(uow: UnitOfWork, user_id: uuid.UUID, *, token: str | None, code: str | None) -> User:
    """The user's first login: with the emailed link's token, or with the temporary code."""
    user = await uow.users.get(user_id, for_update=True)
    invalid = DomainError(E.INVALID_ACTIVATION, "The activation link or code is invalid or expired")
    if user is None or user.status is not UserStatus.PENDING_ACTIVATION:
        raise invalid
    token_hash, code_hash, expires_at = await uow.users.activation_secret(user.id)
    now = uow.platform.now()
    if token is not None:
        if token_hash is None or uow.platform.hash_token(token) != token_hash:
            raise invalid
        if expires_at is None or expires_at < now:
            raise invalid
    elif code is not None:
        if code_hash is None or not uow.platform.verify_code(code.strip(), code_hash):
            raise invalid
    else:
        raise invalid
    await uow.users.set_activation(user.id, token_hash=None, code_hash=None, expires_at=None)
    user.status = UserStatus.ACTIVE
    user.activated_at = now
    user.last_login_at = now
    await uow.users.save(user)
    await record(uow, ActivityType.USER_ACTIVATED, "User activated", target=user)
    return user


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


async def deactivate_user(
    uow: UnitOfWork, user_id: uuid.UUID, from_: str | None, until: str | None
) -> User:
    user = await get_live_user(uow, user_id)
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
    user = await get_live_user(uow, user_id)
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


async def delete_user(uow: UnitOfWork, user_id: uuid.UUID) -> User:
    """Irreversible. The row stays (status DELETED) so history keeps its target."""
    user = await get_live_user(uow, user_id)
    if user.id == uow.actor.user_id:
        raise DomainError(E.INVALID_STATUS, "You cannot delete yourself", ["userId"])
    user.status = UserStatus.DELETED
    user.deleted_at = uow.platform.now()
    user.deactivated_from = user.deactivated_until = None
    await uow.users.save(user)
    await uow.users.set_activation(user.id, token_hash=None, code_hash=None, expires_at=None)
    await uow.users.set_roles(user.id, [])
    await record(uow, ActivityType.USER_DELETED, "User deleted", target=user)
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
