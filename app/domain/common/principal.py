"""Who is calling: the authenticated person, their organisation and roles."""

from __future__ import annotations

import datetime as dt
import enum
import uuid
from dataclasses import dataclass


class Role(enum.StrEnum):
    ORGANISATION_ADMINISTRATOR = "ORGANISATION_ADMINISTRATOR"
    USER_ADMINISTRATOR = "USER_ADMINISTRATOR"
    RIGHTS_ADMINISTRATOR = "RIGHTS_ADMINISTRATOR"
    USER = "USER"


ADMINISTRATOR_ROLES = frozenset(
    {Role.ORGANISATION_ADMINISTRATOR, Role.USER_ADMINISTRATOR, Role.RIGHTS_ADMINISTRATOR}
)


@dataclass(frozen=True, slots=True)
class Principal:
    user_id: uuid.UUID
    org_cvr: str
    roles: frozenset[Role]
    # The token's `exp`: a long-lived connection (WebSocket) ends when it passes.
    expires_at: dt.datetime | None = None

    def expired(self, now: dt.datetime) -> bool:
        return self.expires_at is not None and now >= self.expires_at

    @property
    def is_administrator(self) -> bool:
        return bool(self.roles & ADMINISTRATOR_ROLES)


@dataclass(frozen=True, slots=True)
class Actor:
    """A principal resolved against the database: the organisation's internal id is known.

    Repositories are built from an Actor and can only reach rows of `org_id`.
    `user_id` is None for the system (scheduled work)."""

    org_id: int
    org_cvr: str
    user_id: uuid.UUID | None
    roles: frozenset[Role]

    @property
    def is_administrator(self) -> bool:
        return bool(self.roles & ADMINISTRATOR_ROLES)
