"""Use cases and rules for one user's whole lifecycle."""

from __future__ import annotations

import datetime as dt
import enum
import re
import uuid
from collections.abc import Sequence
from dataclasses import dataclass, field
from zoneinfo import ZoneInfo

from app.domain import identifiers as ids
from app.domain.activity import ActivityType, record
from app.domain.errors import DomainError, NotFound, ValidationFailed
from app.domain.model import (
    AnonymityRequest,
    AnonymityRequestStatus,
    Authenticator,
    Identification,
    NotificationChannel,
    OrganisationSettings,
    OutgoingMail,
    User,
    UserStatus,
)
from app.domain.notifications import notify_role
from app.domain.ports import UnitOfWork
from app.domain.principal import Role

ACTIVATION_LINK_VALIDITY = dt.timedelta(days=30)
COPENHAGEN = ZoneInfo("Europe/Copenhagen")
RIGHT_CODE = re.compile(r"^[A-Z0-9][A-Z0-9_.\-]{0,63}$")
NAME_MAX = 100
REFERENCE_MAX = 200


class UserErrorCode(enum.StrEnum):
    REQUIRED = "REQUIRED"
    TOO_LONG = "TOO_LONG"
    CPR_OR_DATE_OF_BIRTH = "CPR_OR_DATE_OF_BIRTH"
    DUPLICATE_EMAIL = "DUPLICATE_EMAIL"
    DUPLICATE_CPR = "DUPLICATE_CPR"
    ANONYMITY_NOT_ALLOWED = "ANONYMITY_NOT_ALLOWED"
    AUTHENTICATOR_NOT_ALLOWED = "AUTHENTICATOR_NOT_ALLOWED"
    UNKNOWN_AUTHENTICATOR = "UNKNOWN_AUTHENTICATOR"
    UNKNOWN_P_NUMBER = "UNKNOWN_P_NUMBER"
    UNKNOWN_SE_NUMBER = "UNKNOWN_SE_NUMBER"
    INVALID_RIGHT = "INVALID_RIGHT"
    SIGNING_NOT_ALLOWED = "SIGNING_NOT_ALLOWED"
    INVALID_STATUS = "INVALID_STATUS"
    WRONG_IDENTIFICATION = "WRONG_IDENTIFICATION"
    INVALID_PERIOD = "INVALID_PERIOD"
    INVALID_ACTIVATION = "INVALID_ACTIVATION"
    ALREADY_ANONYMOUS = "ALREADY_ANONYMOUS"
    REQUEST_PENDING = "REQUEST_PENDING"
    CONFLICT = "CONFLICT"


E = UserErrorCode


@dataclass(slots=True)
class NewUser:
    first_name: str
    last_name: str
    email: str
    phone: str | None = None
    cpr: str | None = None
    date_of_birth: str | None = None
    anonymous: bool = False
    authenticators: list[str] = field(default_factory=list)
    p_number: str | None = None
    se_number: str | None = None
    rights: list[str] = field(default_factory=list)
    can_sign: bool = False
    can_create_seal: bool = False
    reference: str | None = None


@dataclass(slots=True)
class UserChanges:
    """Only fields that are not None change; an empty string clears an optional field."""

    email: str | None = None
    phone: str | None = None
    reference: str | None = None


@dataclass(slots=True)
class CreatedUser:
    user: User
    temporary_activation_code: str | None


class _Errors:
    """Collects every field error of an input before failing, so a client sees them all."""

    def __init__(self) -> None:
        self.items: list[DomainError] = []

    def add(self, code: str, message: str, *path: str) -> None:
        self.items.append(DomainError(code, message, list(path)))

    def check(self, path: str, fn, value):  # type: ignore[no-untyped-def]
        try:
            return fn(value)
        except ids.IdentifierError as exc:
            self.items.append(DomainError(exc.code, exc.message, [path]))
            return None

    def raise_if_any(self) -> None:
        if self.items:
            raise ValidationFailed(self.items)


def _name(errors: _Errors, path: str, value: str | None) -> str:
    value = (value or "").strip()
    if not value:
        errors.add(E.REQUIRED, "This field is required", path)
    elif len(value) > NAME_MAX:
        errors.add(E.TOO_LONG, f"At most {NAME_MAX} characters", path)
    return value


def _optional(value: str | None) -> str | None:
    if value is None:
        return None
    value = value.strip()
    return value or None


def parse_authenticators(errors: _Errors, values: Sequence[str], settings: OrganisationSettings) -> list[str]:
    kinds: list[str] = []
    for i, raw in enumerate(values):
        try:
            kind = Authenticator(raw)
        except ValueError:
            errors.add(E.UNKNOWN_AUTHENTICATOR, f"Unknown authenticator {raw!r}", "authenticators", str(i))
            continue
        if not settings.allows_authenticator(kind):
            errors.add(
                E.AUTHENTICATOR_NOT_ALLOWED,
                f"The organisation's settings do not allow {kind.value}",
                "authenticators",
                str(i),
            )
        elif kind.value not in kinds:
            kinds.append(kind.value)
    return kinds


def parse_rights(errors: _Errors, values: Sequence[str]) -> list[str]:
    codes: list[str] = []
    for i, raw in enumerate(values):
        code = raw.strip().upper()
        if not RIGHT_CODE.match(code):
            errors.add(E.INVALID_RIGHT, f"{raw!r} is not a right code", "rights", str(i))
        elif code not in codes:
            codes.append(code)
    return codes


async def _check_units(
    uow: UnitOfWork, errors: _Errors, p_number: str | None, se_number: str | None
) -> tuple[str | None, str | None]:
    p = errors.check("pNumber", ids.normalise_p_number, p_number) if p_number else None
    se = errors.check("seNumber", ids.normalise_se_number, se_number) if se_number else None
    if p and not await uow.organisations.has_p_number(p):
        errors.add(E.UNKNOWN_P_NUMBER, "The P-number does not belong to the organisation", "pNumber")
    if se and not await uow.organisations.has_se_number(se):
        errors.add(E.UNKNOWN_SE_NUMBER, "The SE-number does not belong to the organisation", "seNumber")
    return p, se


async def _get_live(uow: UnitOfWork, user_id: uuid.UUID, *, allow_deleted: bool = False) -> User:
    user = await uow.users.get(user_id, for_update=True)
    if user is None or (user.status is UserStatus.DELETED and not allow_deleted):
        raise NotFound("User", ["userId"])
    return user


async def create_user(uow: UnitOfWork, data: NewUser, *, send: bool = True) -> CreatedUser:
    """Create a user. With `send`, a CPR user is emailed an activation link and a date-of-birth
    user gets a temporary code (returned once); without it the user waits as CREATED (import)."""
    errors = _Errors()
    settings = await uow.organisations.get_settings()
    first = _name(errors, "firstName", data.first_name)
    last = _name(errors, "lastName", data.last_name)
    email = errors.check("email", ids.normalise_email, data.email or "")
    phone = errors.check("phone", ids.normalise_phone, data.phone) if _optional(data.phone) else None
    reference = _optional(data.reference)
    if reference and len(reference) > REFERENCE_MAX:
        errors.add(E.TOO_LONG, f"At most {REFERENCE_MAX} characters", "reference")

    cpr10: str | None = None
    birth: dt.date | None = None
    cpr_given, dob_given = _optional(data.cpr), _optional(data.date_of_birth)
    if bool(cpr_given) == bool(dob_given):
        errors.add(E.CPR_OR_DATE_OF_BIRTH, "Give either a CPR number or a date of birth", "cpr")
    elif cpr_given:
        parsed = errors.check("cpr", ids.parse_cpr, cpr_given)
        if parsed:
            cpr10, birth = parsed
    else:
        birth = errors.check("dateOfBirth", ids.parse_iso_date, dob_given)
        if birth and birth > uow.platform.now().date():
            errors.add(ids.INVALID_DATE, "The date of birth is in the future", "dateOfBirth")

    if data.anonymous and not settings.anonymity_allowed:
        errors.add(E.ANONYMITY_NOT_ALLOWED, "The organisation does not allow anonymous users", "anonymous")
    kinds = parse_authenticators(errors, data.authenticators, settings)
    rights = parse_rights(errors, data.rights)
    if (data.can_sign or data.can_create_seal) and not settings.allows_signing:
        errors.add(
            E.SIGNING_NOT_ALLOWED,
            "Signing requires the organisation to allow organisation or user certificates",
            "canSign" if data.can_sign else "canCreateSeal",
        )
    p, se = await _check_units(uow, errors, data.p_number, data.se_number)
    for name in settings.required_fields:
        if name == "phone" and not phone:
            errors.add(E.REQUIRED, "The organisation requires a phone number", "phone")
        if name == "reference" and not reference:
            errors.add(E.REQUIRED, "The organisation requires a reference", "reference")
    if email and await uow.users.email_taken(email):
        errors.add(E.DUPLICATE_EMAIL, "Another user already has this email address", "email")
    cpr_hash = uow.platform.hash_cpr(cpr10) if cpr10 else None
    if cpr_hash and await uow.users.cpr_taken(cpr_hash):
        errors.add(E.DUPLICATE_CPR, "Another user already has this CPR number", "cpr")
    errors.raise_if_any()
    assert email is not None

    now = uow.platform.now()
    user = User(
        id=uuid.uuid4(),
        org_id=uow.actor.org_id,
        first_name=first,
        last_name=last,
        email=email,
        phone=phone,
        reference=reference,
        identification=Identification.CPR if cpr10 else Identification.DATE_OF_BIRTH,
        cpr_masked=ids.mask_cpr(cpr10) if cpr10 else None,
        date_of_birth=birth,
        anonymous=data.anonymous,
        status=UserStatus.CREATED,
        p_number=p or settings.default_p_number,
        se_number=se or settings.default_se_number,
        can_sign=data.can_sign,
        can_create_seal=data.can_create_seal,
        created_at=now,
    )
    await uow.users.add(
        user, cpr_hash=cpr_hash, cpr_encrypted=uow.platform.encrypt_cpr(cpr10) if cpr10 else None
    )
    if kinds:
        await uow.users.set_authenticators(user.id, kinds, now)
    if rights:
        await uow.users.set_rights(user.id, rights)
    await record(
        uow,
        ActivityType.USER_CREATED,
        f"User created ({user.identification.value})",
        target=user,
        details={"authenticators": kinds, "rights": rights, "anonymous": user.anonymous},
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
    user = await _get_live(uow, user_id)
    if user.identification is not Identification.CPR:
        raise DomainError(
            E.WRONG_IDENTIFICATION, "Users created with a date of birth get a code, not an email", ["userId"]
        )
    await send_for_activation(uow, user)
    return user


async def generate_activation_code(uow: UnitOfWork, user_id: uuid.UUID) -> tuple[User, str]:
    user = await _get_live(uow, user_id)
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
    user = await _get_live(uow, user_id)
    errors = _Errors()
    before = {"email": user.email, "phone": user.phone, "reference": user.reference}
    if changes.email is not None:
        email = errors.check("email", ids.normalise_email, changes.email)
        if email and email.lower() != user.email.lower() and await uow.users.email_taken(email, except_user=user.id):
            errors.add(E.DUPLICATE_EMAIL, "Another user already has this email address", "email")
        if email:
            user.email = email
    if changes.phone is not None:
        user.phone = errors.check("phone", ids.normalise_phone, changes.phone) if changes.phone.strip() else None
    if changes.reference is not None:
        reference = _optional(changes.reference)
        if reference and len(reference) > REFERENCE_MAX:
            errors.add(E.TOO_LONG, f"At most {REFERENCE_MAX} characters", "reference")
        user.reference = reference
    errors.raise_if_any()
    after = {"email": user.email, "phone": user.phone, "reference": user.reference}
    changed = {k: {"from": before[k], "to": after[k]} for k in before if before[k] != after[k]}
    if changed:
        await uow.users.save(user)
        await record(
            uow, ActivityType.USER_UPDATED, "Changed " + ", ".join(sorted(changed)), target=user, details=changed
        )
    return user


async def set_user_authenticators(uow: UnitOfWork, user_id: uuid.UUID, kinds: Sequence[str]) -> User:
    user = await _get_live(uow, user_id)
    errors = _Errors()
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
    user = await _get_live(uow, user_id)
    errors = _Errors()
    if not _optional(p_number) and not _optional(se_number):
        errors.add(E.REQUIRED, "Give a P-number, an SE-number or both", "pNumber")
    p, se = await _check_units(uow, errors, _optional(p_number), _optional(se_number))
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


def parse_moment(value: str, path: str, *, end_of_day: bool) -> dt.datetime:
    """An ISO date (a whole Danish day) or an ISO date-time with offset."""
    value = value.strip()
    try:
        if len(value) == 10:
            day = ids.parse_iso_date(value)
            if end_of_day:
                day += dt.timedelta(days=1)
            return dt.datetime.combine(day, dt.time(), COPENHAGEN).astimezone(dt.UTC)
        moment = dt.datetime.fromisoformat(value)
    except (ValueError, ids.IdentifierError) as exc:
        raise DomainError(ids.INVALID_DATE, "Not an ISO 8601 date or date-time", [path]) from exc
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=COPENHAGEN)
    return moment.astimezone(dt.UTC)


async def deactivate_user(
    uow: UnitOfWork, user_id: uuid.UUID, from_: str | None, until: str | None
) -> User:
    user = await _get_live(uow, user_id)
    now = uow.platform.now()
    errors: list[DomainError] = []
    start = end = None
    try:
        start = parse_moment(from_, "from", end_of_day=False) if _optional(from_) else now
    except DomainError as exc:
        errors.append(exc)
    try:
        end = parse_moment(until, "until", end_of_day=True) if _optional(until) else None
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
    user = await _get_live(uow, user_id)
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
    user = await _get_live(uow, user_id)
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
    reason = _optional(reason)
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


async def decide_anonymity_request(
    uow: UnitOfWork, request_id: uuid.UUID, *, approve: bool
) -> tuple[AnonymityRequest, User | None, str | None]:
    """Approval recreates the user as anonymous (a new UUID; rights do not carry over) and deletes
    the old one. The new user must be activated again."""
    request = await uow.users.get_anonymity_request(request_id)
    if request is None:
        raise NotFound("Anonymity request", ["requestId"])
    if request.status is not AnonymityRequestStatus.PENDING:
        raise DomainError(E.INVALID_STATUS, "The request has already been decided", ["requestId"])
    old = await _get_live(uow, request.user_id)
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
        await delete_user(uow, old.id)
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


async def update_notification_settings(uow: UnitOfWork, channel: str) -> User:
    assert uow.actor.user_id is not None
    try:
        parsed = NotificationChannel(channel)
    except ValueError as exc:
        raise DomainError("INVALID_CHANNEL", "Channel must be IN_APP, EMAIL or BOTH", ["channel"]) from exc
    user = await _get_live(uow, uow.actor.user_id)
    if user.notification_channel is not parsed:
        before = user.notification_channel
        user.notification_channel = parsed
        await uow.users.save(user)
        await record(
            uow, ActivityType.NOTIFICATION_SETTINGS_CHANGED, "Notification channel changed", target=user,
            details={"from": before.value, "to": parsed.value},
        )
    return user
