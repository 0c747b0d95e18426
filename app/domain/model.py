"""Plain data the domain works with: slotted dataclasses, no ORM, no GraphQL."""

from __future__ import annotations

import datetime as dt
import enum
import uuid
from dataclasses import dataclass, field
from typing import Any


class UserStatus(enum.StrEnum):
    CREATED = "CREATED"
    PENDING_ACTIVATION = "PENDING_ACTIVATION"
    ACTIVE = "ACTIVE"
    DEACTIVATED = "DEACTIVATED"
    DELETED = "DELETED"


class Identification(enum.StrEnum):
    CPR = "CPR"
    DATE_OF_BIRTH = "DATE_OF_BIRTH"


class Authenticator(enum.StrEnum):
    PRIVATE_MITID = "PRIVATE_MITID"
    MITID_APP = "MITID_APP"
    CODE_DISPLAY = "CODE_DISPLAY"
    AUDIO_CODE_READER = "AUDIO_CODE_READER"
    CHIP = "CHIP"
    SHARED_AUTHENTICATOR = "SHARED_AUTHENTICATOR"


SEPARATE_AUTHENTICATORS = frozenset(
    {Authenticator.MITID_APP, Authenticator.CODE_DISPLAY, Authenticator.AUDIO_CODE_READER, Authenticator.CHIP}
)


class NotificationChannel(enum.StrEnum):
    IN_APP = "IN_APP"
    EMAIL = "EMAIL"
    BOTH = "BOTH"


class AnonymityRequestStatus(enum.StrEnum):
    PENDING = "PENDING"
    APPROVED = "APPROVED"
    REJECTED = "REJECTED"


@dataclass(slots=True)
class Organisation:
    id: int
    cvr: str
    name: str
    is_public: bool
    p_units: list[PUnit] = field(default_factory=list)
    se_numbers: list[SeNumber] = field(default_factory=list)


@dataclass(slots=True, frozen=True)
class PUnit:
    p_number: str
    name: str
    address: str | None = None


@dataclass(slots=True, frozen=True)
class SeNumber:
    se_number: str
    name: str


@dataclass(slots=True)
class OrganisationSettings:
    employees_may_request_user: bool = False
    anonymity_allowed: bool = False
    required_fields: list[str] = field(default_factory=list)
    private_mitid_allowed: bool = True
    allowed_authenticators: list[str] = field(default_factory=lambda: sorted(SEPARATE_AUTHENTICATORS))
    user_certificates_allowed: bool = True
    organisation_certificates_allowed: bool = True
    qualified_certificates_allowed: bool = False
    default_p_number: str | None = None
    default_se_number: str | None = None

    def allows_authenticator(self, kind: Authenticator) -> bool:
        if kind is Authenticator.PRIVATE_MITID:
            return self.private_mitid_allowed
        return kind.value in self.allowed_authenticators

    @property
    def allows_signing(self) -> bool:
        return self.user_certificates_allowed or self.organisation_certificates_allowed


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

    @property
    def full_name(self) -> str:
        return f"{self.first_name} {self.last_name}"


@dataclass(slots=True)
class Activity:
    org_id: int
    occurred_at: dt.datetime
    actor_id: uuid.UUID | None
    actor_name: str
    type: str
    target_user_id: uuid.UUID | None
    target_name: str | None
    summary: str
    details: dict[str, Any]
    id: int | None = None
    target_group_id: uuid.UUID | None = None


@dataclass(slots=True)
class Notification:
    id: int
    recipient_id: uuid.UUID
    kind: str
    title: str
    body: str
    created_at: dt.datetime
    read_at: dt.datetime | None


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


@dataclass(slots=True, frozen=True)
class OutgoingMail:
    org_id: int | None
    recipient: str
    subject: str
    body: str


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


@dataclass(slots=True, frozen=True)
class UserOrder:
    field: UserOrderField = UserOrderField.NAME
    descending: bool = False


@dataclass(slots=True, frozen=True)
class ActivityFilter:
    """History filter. `target_user_id` restricts to one user's history."""

    from_: dt.datetime | None = None
    to: dt.datetime | None = None
    types: tuple[str, ...] = ()
    actor_id: uuid.UUID | None = None
    target_user_id: uuid.UUID | None = None
    search: str | None = None
    target_group_id: uuid.UUID | None = None


@dataclass(slots=True)
class UserInsert:
    """A new user with what is stored beside the row (a batch insert's unit)."""

    user: User
    cpr_hash: str | None
    cpr_encrypted: bytes | None
    authenticators: list[str]
    rights: list[str]


class BulkJobStatus(enum.StrEnum):
    QUEUED = "QUEUED"
    RUNNING = "RUNNING"
    SUCCEEDED = "SUCCEEDED"
    FAILED = "FAILED"


@dataclass(slots=True, frozen=True)
class RowError:
    line: int | None
    column: str | None
    code: str
    message: str


@dataclass(slots=True)
class BulkJob:
    id: uuid.UUID
    org_id: int
    created_by: uuid.UUID
    operation: str
    dry_run: bool
    status: BulkJobStatus
    file_name: str | None
    file_path: str | None
    file_size: int
    created_at: dt.datetime
    total: int | None = None
    processed: int = 0
    error_count: int = 0
    row_errors: list[RowError] = field(default_factory=list)
    result: dict[str, Any] | None = None
    started_at: dt.datetime | None = None
    finished_at: dt.datetime | None = None


class RightKind(enum.StrEnum):
    INTERNAL = "INTERNAL"
    EXTERNAL = "EXTERNAL"


@dataclass(slots=True, frozen=True)
class Right:
    """An entry of the rights catalogue."""

    code: str
    name: str
    description: str
    kind: RightKind
    service: str


class GroupKind(enum.StrEnum):
    SYSTEM = "SYSTEM"
    CUSTOM = "CUSTOM"


@dataclass(slots=True)
class UserGroup:
    id: uuid.UUID
    org_id: int
    kind: GroupKind
    name: str
    description: str | None
    p_number: str | None
    se_number: str | None
    created_at: dt.datetime
    version: int = 1


@dataclass(slots=True, frozen=True)
class UserGroupFilter:
    kind: GroupKind | None = None
    search: str | None = None


@dataclass(slots=True, frozen=True)
class ExternalUser:
    """A user of another organisation, as a partner sees them: no more than name, email,
    organisation and P-unit (and for an anonymous user, only the UUID)."""

    id: uuid.UUID
    org_id: int
    org_cvr: str
    org_name: str
    first_name: str
    last_name: str
    email: str
    p_number: str | None
    anonymous: bool


@dataclass(slots=True, frozen=True)
class GroupMember:
    group_id: uuid.UUID
    user_id: uuid.UUID
    external: bool
    first_name: str
    last_name: str
    anonymous: bool
    org_cvr: str
    org_name: str
    p_number: str | None
    added_at: dt.datetime | None


@dataclass(slots=True, frozen=True)
class ExternalMembership:
    """One of our users in another organisation's custom group (the partner view)."""

    group_id: uuid.UUID
    group_name: str
    group_org_cvr: str
    group_org_name: str
    user_id: uuid.UUID
    added_at: dt.datetime


class BillingMethod(enum.StrEnum):
    NEMHANDEL = "NEMHANDEL"
    DIGITAL_POST = "DIGITAL_POST"
    EMAIL = "EMAIL"


@dataclass(slots=True)
class Billing:
    method: BillingMethod = BillingMethod.DIGITAL_POST
    ean: str | None = None
    ean_name: str | None = None
    attention: str | None = None
    po_reference: str | None = None
    email: str | None = None


@dataclass(slots=True, frozen=True)
class BillingCounts:
    """What drives the price, counted from live data."""

    users: int
    billable_users: int  # users beyond the first three
    separate_authenticators: int
    user_certificates: int
    organisation_certificates: int
    qualified_certificates: int


class PowerOfAttorneyStatus(enum.StrEnum):
    ACTIVE = "ACTIVE"
    SCHEDULED = "SCHEDULED"
    EXPIRED = "EXPIRED"
    REVOKED = "REVOKED"


@dataclass(slots=True)
class PowerOfAttorney:
    id: uuid.UUID
    granting_org_id: int
    granting_cvr: str
    granting_name: str
    receiving_cvr: str
    receiving_name: str | None
    name: str
    rights: list[str]
    p_number: str | None
    se_number: str | None
    valid_from: dt.date | None
    valid_until: dt.date | None
    created_at: dt.datetime
    revoked_at: dt.datetime | None = None

    def status(self, today: dt.date) -> PowerOfAttorneyStatus:
        if self.revoked_at is not None:
            return PowerOfAttorneyStatus.REVOKED
        if self.valid_until is not None and self.valid_until < today:
            return PowerOfAttorneyStatus.EXPIRED
        if self.valid_from is not None and self.valid_from > today:
            return PowerOfAttorneyStatus.SCHEDULED
        return PowerOfAttorneyStatus.ACTIVE
