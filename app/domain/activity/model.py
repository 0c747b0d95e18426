"""History: plain data, no ORM, no GraphQL."""

from __future__ import annotations

import datetime as dt
import enum
import uuid
from dataclasses import dataclass
from typing import Any


class ActivityOutcome(enum.StrEnum):
    """Entries are written in the transaction of the change they record, so only a change that
    happened has one: SUCCEEDED. (A refused attempt writes nothing; it is in the operation log under
    its request id.)"""

    SUCCEEDED = "SUCCEEDED"


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
    # What the entry is about beyond a person or group (see subjects.py); written with the entry.
    target_certificate_id: uuid.UUID | None = None
    target_power_of_attorney_id: uuid.UUID | None = None
    # The gateway request that wrote it (X-Request-ID; None from background jobs and before 0009).
    request_id: str | None = None
    outcome: ActivityOutcome = ActivityOutcome.SUCCEEDED


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
    target_certificate_id: uuid.UUID | None = None
    target_power_of_attorney_id: uuid.UUID | None = None
