"""Pure rules for a user's data: validation of new users and of changes. One code path for the
single-user mutations and the CSV import; no I/O here (what the organisation allows is passed in)."""

from __future__ import annotations

import datetime as dt
import enum
import uuid
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from app.domain.common import identifiers as ids
from app.domain.common.organisation import Authenticator, OrganisationSettings
from app.domain.common.validation import Errors, OrgContext, check_units, one_line, optional, parse_rights
from app.domain.users.model import Identification, User, UserStatus

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
    SIGNING_NOT_ALLOWED = "SIGNING_NOT_ALLOWED"
    INVALID_STATUS = "INVALID_STATUS"
    WRONG_IDENTIFICATION = "WRONG_IDENTIFICATION"
    INVALID_PERIOD = "INVALID_PERIOD"
    INVALID_ACTIVATION = "INVALID_ACTIVATION"
    ALREADY_ANONYMOUS = "ALREADY_ANONYMOUS"
    REQUEST_PENDING = "REQUEST_PENDING"
    CONFLICT = "CONFLICT"
    ANONYMOUS_NAME_FIXED = "ANONYMOUS_NAME_FIXED"
    USER_DELETED = "USER_DELETED"
    ALREADY_DELETED = "ALREADY_DELETED"


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
    first_name: str | None = None
    last_name: str | None = None
    p_number: str | None = None
    se_number: str | None = None
    private_mitid: bool | None = None
    rights: list[str] | None = None
    can_sign: bool | None = None
    can_create_seal: bool | None = None


@dataclass(slots=True)
class ValidNewUser:
    first_name: str
    last_name: str
    email: str
    phone: str | None
    reference: str | None
    cpr10: str | None
    date_of_birth: dt.date | None
    anonymous: bool
    authenticators: list[str]
    rights: list[str]
    p_number: str | None
    se_number: str | None
    can_sign: bool
    can_create_seal: bool


def valid_name(errors: Errors, path: str, value: str | None) -> str:
    value = (value or "").strip()
    if not value:
        errors.add(E.REQUIRED, "This field is required", path)
    elif len(value) > NAME_MAX:
        errors.add(E.TOO_LONG, f"At most {NAME_MAX} characters", path)
    return one_line(errors, path, value)


def valid_reference(errors: Errors, value: str | None) -> str | None:
    reference = optional(value)
    if reference and len(reference) > REFERENCE_MAX:
        errors.add(E.TOO_LONG, f"At most {REFERENCE_MAX} characters", "reference")
    return reference


def parse_authenticators(errors: Errors, values: Sequence[str], settings: OrganisationSettings) -> list[str]:
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


def check_signing(errors: Errors, ctx: OrgContext, can_sign: bool, can_create_seal: bool) -> None:
    if (can_sign or can_create_seal) and not ctx.settings.allows_signing:
        errors.add(
            E.SIGNING_NOT_ALLOWED,
            "Signing requires the organisation to allow organisation or user certificates",
            "canSign" if can_sign else "canCreateSeal",
        )


def validate_new_user(data: NewUser, ctx: OrgContext, errors: Errors) -> ValidNewUser | None:
    """Every rule for a new user that needs no database (duplicates are checked by the caller)."""
    before = len(errors.items)
    settings = ctx.settings
    first = valid_name(errors, "firstName", data.first_name)
    last = valid_name(errors, "lastName", data.last_name)
    email = errors.check("email", ids.normalise_email, data.email or "")
    phone = errors.check("phone", ids.normalise_phone, data.phone) if optional(data.phone) else None
    reference = valid_reference(errors, data.reference)

    cpr10: str | None = None
    birth: dt.date | None = None
    cpr_given, dob_given = optional(data.cpr), optional(data.date_of_birth)
    if bool(cpr_given) == bool(dob_given):
        errors.add(E.CPR_OR_DATE_OF_BIRTH, "Give either a CPR number or a date of birth", "cpr")
    elif cpr_given:
        parsed = errors.check("cpr", ids.parse_cpr, cpr_given)
        if parsed:
            cpr10, birth = parsed
    else:
        birth = errors.check("dateOfBirth", ids.parse_iso_date, dob_given)
        if birth and birth > ctx.today:
            errors.add(ids.INVALID_DATE, "The date of birth is in the future", "dateOfBirth")

    if data.anonymous and not settings.anonymity_allowed:
        errors.add(E.ANONYMITY_NOT_ALLOWED, "The organisation does not allow anonymous users", "anonymous")
    kinds = parse_authenticators(errors, data.authenticators, settings)
    rights = parse_rights(errors, data.rights, ctx.right_codes)
    check_signing(errors, ctx, data.can_sign, data.can_create_seal)
    p, se = check_units(errors, ctx, optional(data.p_number), optional(data.se_number))
    for name in settings.required_fields:
        if name == "phone" and not phone:
            errors.add(E.REQUIRED, "The organisation requires a phone number", "phone")
        if name == "reference" and not reference:
            errors.add(E.REQUIRED, "The organisation requires a reference", "reference")
    if len(errors.items) > before or email is None:
        return None
    return ValidNewUser(
        first_name=first, last_name=last, email=email, phone=phone, reference=reference, cpr10=cpr10,
        date_of_birth=birth, anonymous=data.anonymous, authenticators=kinds, rights=rights,
        p_number=p or settings.default_p_number, se_number=se or settings.default_se_number,
        can_sign=data.can_sign, can_create_seal=data.can_create_seal,
    )


def new_user_record(v: ValidNewUser, org_id: int, now: dt.datetime) -> User:
    return User(
        id=uuid.uuid4(), org_id=org_id, first_name=v.first_name, last_name=v.last_name, email=v.email,
        phone=v.phone, reference=v.reference,
        identification=Identification.CPR if v.cpr10 else Identification.DATE_OF_BIRTH,
        cpr_masked=ids.mask_cpr(v.cpr10) if v.cpr10 else None, date_of_birth=v.date_of_birth,
        anonymous=v.anonymous, status=UserStatus.CREATED, p_number=v.p_number, se_number=v.se_number,
        can_sign=v.can_sign, can_create_seal=v.can_create_seal, created_at=now,
    )


@dataclass(slots=True)
class AppliedChanges:
    fields: dict[str, dict[str, Any]]
    authenticators: list[str] | None = None  # the new set, when it changed
    rights: list[str] | None = None  # the new set, when it changed
    rights_before: list[str] = field(default_factory=list)

    def __bool__(self) -> bool:
        return bool(self.fields) or self.authenticators is not None or self.rights is not None

    def history_details(self) -> dict[str, Any]:
        """What changed, for the history entry: each field from/to; rights also as added/removed."""
        details: dict[str, Any] = dict(self.fields)
        if self.authenticators is not None:
            details["authenticators"] = {"to": sorted(self.authenticators)}
        if self.rights is not None:
            before, after = set(self.rights_before), set(self.rights)
            details["rights"] = {
                "from": sorted(before), "to": sorted(after),
                "added": sorted(after - before), "removed": sorted(before - after),
            }
        return details


def apply_user_changes(
    user: User, authenticators: list[str], rights: list[str], changes: UserChanges, ctx: OrgContext, errors: Errors
) -> AppliedChanges:
    """Apply the given (non-None) changes to `user` in memory and report what changed. The caller
    checks a changed email against the database and writes."""
    before = {
        "firstName": user.first_name, "lastName": user.last_name, "email": user.email, "phone": user.phone,
        "reference": user.reference, "pNumber": user.p_number, "seNumber": user.se_number,
        "canSign": user.can_sign, "canCreateSeal": user.can_create_seal,
    }
    if changes.first_name is not None:
        user.first_name = valid_name(errors, "firstName", changes.first_name) or user.first_name
    if changes.last_name is not None:
        user.last_name = valid_name(errors, "lastName", changes.last_name) or user.last_name
    if changes.email is not None:
        user.email = errors.check("email", ids.normalise_email, changes.email) or user.email
    if changes.phone is not None:
        user.phone = errors.check("phone", ids.normalise_phone, changes.phone) if changes.phone.strip() else None
    if changes.reference is not None:
        user.reference = valid_reference(errors, changes.reference)
    if changes.p_number is not None or changes.se_number is not None:
        p, se = check_units(errors, ctx, optional(changes.p_number), optional(changes.se_number))
        user.p_number, user.se_number = p or user.p_number, se or user.se_number
    if changes.can_sign is not None or changes.can_create_seal is not None:
        sign = user.can_sign if changes.can_sign is None else changes.can_sign
        seal = user.can_create_seal if changes.can_create_seal is None else changes.can_create_seal
        # Only what this change turns (or keeps) on needs the setting: taking signing away never does.
        check_signing(errors, ctx, changes.can_sign is True, changes.can_create_seal is True)
        user.can_sign, user.can_create_seal = sign, seal
    applied = AppliedChanges({})
    if changes.private_mitid is not None:
        private = Authenticator.PRIVATE_MITID.value
        wanted = [a for a in authenticators if a != private] + ([private] if changes.private_mitid else [])
        if changes.private_mitid and private not in authenticators:
            parse_authenticators(errors, [private], ctx.settings)
        if sorted(wanted) != sorted(authenticators):
            applied.authenticators = wanted
    if changes.rights is not None:
        new_rights = parse_rights(errors, changes.rights, ctx.right_codes)
        if sorted(new_rights) != sorted(rights):
            applied.rights = new_rights
    after = {
        "firstName": user.first_name, "lastName": user.last_name, "email": user.email, "phone": user.phone,
        "reference": user.reference, "pNumber": user.p_number, "seNumber": user.se_number,
        "canSign": user.can_sign, "canCreateSeal": user.can_create_seal,
    }
    applied.fields = {k: {"from": before[k], "to": after[k]} for k in before if before[k] != after[k]}
    applied.rights_before = list(rights)
    if user.anonymous:
        # The person asked to be known by their UUID only: their name stays as it was when they
        # became anonymous (a new name would be a new identity shown to administrators).
        for name in ("firstName", "lastName"):
            if name in applied.fields:
                errors.add(E.ANONYMOUS_NAME_FIXED, "An anonymous user's name cannot be changed", name)
    return applied


