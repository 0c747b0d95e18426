"""User groups and their members (own and external): plain data, no ORM, no GraphQL."""

from __future__ import annotations

import datetime as dt
import enum
import uuid
from dataclasses import dataclass


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
    updated_at: dt.datetime | None = None  # None until stored


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
