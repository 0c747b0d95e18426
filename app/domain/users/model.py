"""Users: plain data (slotted dataclasses and enums), no ORM, no GraphQL."""

from __future__ import annotations

import datetime as dt
import enum
import uuid
from dataclasses import dataclass


class UserStatus(enum.StrEnum):
    CREATED = "CREATED"
    PENDING_ACTIVATION = "PENDING_ACTIVATION"
    ACTIVE = "ACTIVE"
    DEACTIVATED = "DEACTIVATED"
    DELETED = "DELETED"


class Identification(enum.StrEnum):
    CPR = "CPR"
    DATE_OF_BIRTH = "DATE_OF_BIRTH"


class NotificationChannel(enum.StrEnum):
    IN_APP = "IN_APP"
    EMAIL = "EMAIL"
    BOTH = "BOTH"


class AnonymityRequestStatus(enum.StrEnum):
    PENDING = "PENDING"
    APPROVED = "APPROVED"
    REJECTED = "REJECTED"


@dataclass(slots=True)
class User:
    id: uuid.UUID
    org_id: int
    first_name: str
    last_name: str
    email: str
    phone: str | None
    reference: str | None
    identification: Identification
    cpr_masked: str | None
    date_of_birth: dt.date | None
    anonymous: bool
    status: UserStatus
    p_number: str | None
    se_number: str | None
    can_sign: bool
    can_create_seal: bool
    created_at: dt.datetime
    deactivated_from: dt.datetime | None = None
    deactivated_until: dt.datetime | None = None
    activated_at: dt.datetime | None = None
    last_login_at: dt.datetime | None = None
    deleted_at: dt.datetime | None = None
    notification_channel: NotificationChannel = NotificationChannel.BOTH
    version: int = 1
    updated_at: dt.datetime | None = None  # None until stored (the row's time of its latest change)
    last_seen_at: dt.datetime | None = None  # the latest authenticated request (at most 5 minutes old)

    @property
    def full_name(self) -> str:
        return f"{self.first_name} {self.last_name}"


@dataclass(slots=True)
class AnonymityRequest:
    id: uuid.UUID
    org_id: int
    user_id: uuid.UUID
    reason: str | None
    status: AnonymityRequestStatus
    requested_at: dt.datetime
    decided_at: dt.datetime | None = None
    decided_by: uuid.UUID | None = None
    new_user_id: uuid.UUID | None = None


class UserOrderField(enum.StrEnum):
    NAME = "NAME"
    EMAIL = "EMAIL"
    CREATED_AT = "CREATED_AT"
    STATUS = "STATUS"


@dataclass(slots=True, frozen=True)
class UserFilter:
    search: str | None = None
    status: UserStatus | None = None
    p_number: str | None = None
    se_number: str | None = None
    identification: Identification | None = None
    group_id: uuid.UUID | None = None
    # Issue 17: holders of a right (own or through a group, as effectiveRights), of an
    # authenticator (its enum value), created in [created_from, created_to).
    right: str | None = None
    authenticator: str | None = None
    created_from: dt.datetime | None = None
    created_to: dt.datetime | None = None


@dataclass(slots=True, frozen=True)
class UserOrder:
    field: UserOrderField = UserOrderField.NAME
    descending: bool = False


@dataclass(slots=True)
class UserInsert:
    """A new user with what is stored beside the row (a batch insert's unit)."""

    user: User
    cpr_hash: str | None
    cpr_encrypted: bytes | None
    authenticators: list[str]
    rights: list[str]
