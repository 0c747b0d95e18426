"""Users' columns and their mapping to the domain's dataclasses."""

from __future__ import annotations

from typing import Any

from sqlalchemy import text
from sqlalchemy.exc import IntegrityError

from app.domain.common.errors import DomainError
from app.domain.users.model import (
    AnonymityRequest,
    AnonymityRequestStatus,
    Identification,
    NotificationChannel,
    User,
    UserStatus,
)
from app.persistence.tables.users import users


def duplicate(exc: IntegrityError) -> DomainError:
    """A concurrent request took the email or CPR between our check and our write: the unique
    index catches it (PostgreSQL names the index, SQLite the columns)."""
    text = str(exc.orig)
    if "uq_users_org_email_live" in text or "users.email_lower" in text:
        return DomainError("DUPLICATE_EMAIL", "Another user already has this email address", ["email"])
    if "uq_users_org_cpr_live" in text or "users.cpr_hash" in text:
        return DomainError("DUPLICATE_CPR", "Another user already has this CPR number", ["cpr"])
    return DomainError("CONFLICT", "A concurrent change conflicts with this one; try again")


# Written as SQL text, not a bound parameter, so that PostgreSQL's generic plans (asyncpg prepares
# statements) still match the partial unique indexes on live users' email and CPR.
LIVE = text("users.status != 'DELETED'")

USER_COLUMNS = [
    users.c.id, users.c.org_id, users.c.first_name, users.c.last_name, users.c.email, users.c.phone,
    users.c.reference, users.c.identification, users.c.cpr_masked, users.c.date_of_birth, users.c.anonymous,
    users.c.status, users.c.p_number, users.c.se_number, users.c.can_sign, users.c.can_create_seal,
    users.c.created_at, users.c.deactivated_from, users.c.deactivated_until, users.c.activated_at,
    users.c.last_login_at, users.c.deleted_at, users.c.notification_channel, users.c.version, users.c.updated_at,
    users.c.last_seen_at,
]


IDENTIFICATION_BY_VALUE = {m.value: m for m in Identification}
STATUS_BY_VALUE = {m.value: m for m in UserStatus}
CHANNEL_BY_VALUE = {m.value: m for m in NotificationChannel}


def user_from_row(r: Any) -> User:
    """A user from a row starting with USER_COLUMNS (by position: cheaper than by name)."""
    (id_, org_id, first_name, last_name, email, phone, reference, identification, cpr_masked, date_of_birth,
     anonymous, status, p_number, se_number, can_sign, can_create_seal, created_at, deactivated_from,
     deactivated_until, activated_at, last_login_at, deleted_at, channel, version, updated_at, last_seen_at) = r[:26]
    return User(
        id=id_, org_id=org_id, first_name=first_name, last_name=last_name, email=email,
        phone=phone, reference=reference, identification=IDENTIFICATION_BY_VALUE[identification],
        cpr_masked=cpr_masked, date_of_birth=date_of_birth, anonymous=anonymous,
        status=STATUS_BY_VALUE[status], p_number=p_number, se_number=se_number, can_sign=can_sign,
        can_create_seal=can_create_seal, created_at=created_at, deactivated_from=deactivated_from,
        deactivated_until=deactivated_until, activated_at=activated_at, last_login_at=last_login_at,
        deleted_at=deleted_at, notification_channel=CHANNEL_BY_VALUE[channel], version=version,
        updated_at=updated_at, last_seen_at=last_seen_at,
    )


def user_values(u: User) -> dict[str, Any]:
    return {
        "first_name": u.first_name, "last_name": u.last_name, "email": u.email, "email_lower": u.email.lower(),
        "phone": u.phone, "reference": u.reference, "identification": u.identification.value,
        "cpr_masked": u.cpr_masked, "date_of_birth": u.date_of_birth, "anonymous": u.anonymous,
        "status": u.status.value, "p_number": u.p_number, "se_number": u.se_number, "can_sign": u.can_sign,
        "can_create_seal": u.can_create_seal, "deactivated_from": u.deactivated_from,
        "deactivated_until": u.deactivated_until, "activated_at": u.activated_at,
        "last_login_at": u.last_login_at, "deleted_at": u.deleted_at,
        "notification_channel": u.notification_channel.value,
    }


def request_from_row(r: Any) -> AnonymityRequest:
    return AnonymityRequest(
        id=r.id, org_id=r.org_id, user_id=r.user_id, reason=r.reason,
        status=AnonymityRequestStatus(r.status), requested_at=r.requested_at, decided_at=r.decided_at,
        decided_by=r.decided_by, new_user_id=r.new_user_id,
    )



def chunks(values: list[Any], size: int = 500) -> list[list[Any]]:
    """IN lists stay below SQLite's and asyncpg's parameter limits."""
    return [values[i : i + size] for i in range(0, len(values), size)]
