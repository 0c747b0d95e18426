"""Use cases for the start of one user's life: create, send for activation, activate; and
`get_live_user`, which the other use cases of the area load the user with. Editing is in `editing`,
deactivation and deletion in `deactivation`."""

from __future__ import annotations

import datetime as dt
import uuid
from dataclasses import dataclass

from app.domain.activity.history import ActivityType, record
from app.domain.common.errors import DomainError, NotFound
from app.domain.common.mail import OutgoingMail
from app.domain.common.ports import UnitOfWork
from app.domain.common.validation import Errors, org_context
from app.domain.users.model import Identification, User, UserStatus
from app.domain.users.rules import E, NewUser, new_user_record, validate_new_user

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


async def get_editable_user(uow: UnitOfWork, user_id: uuid.UUID) -> User:
    """The user an administrator changes, locked: a deleted one (which `user(id)` still shows, as
    DELETED) is USER_DELETED; one that is not the organisation's, or never was, NOT_FOUND."""
    user = await get_live_user(uow, user_id, allow_deleted=True)
    if user.status is UserStatus.DELETED:
        raise DomainError(E.USER_DELETED, "The user has been deleted and can no longer be changed", ["userId"])
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
    user = await get_editable_user(uow, user_id)
    if user.identification is not Identification.CPR:
        raise DomainError(
            E.WRONG_IDENTIFICATION, "Users created with a date of birth get a code, not an email", ["userId"]
        )
    await send_for_activation(uow, user)
    return user


async def generate_activation_code(uow: UnitOfWork, user_id: uuid.UUID) -> tuple[User, str]:
    user = await get_editable_user(uow, user_id)
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

