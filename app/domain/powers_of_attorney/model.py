"""Powers of attorney: plain data, no ORM, no GraphQL."""

from __future__ import annotations

import datetime as dt
import enum
import uuid
from dataclasses import dataclass


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
    updated_at: dt.datetime | None = None  # None until stored

    def status(self, today: dt.date) -> PowerOfAttorneyStatus:
        if self.revoked_at is not None:
            return PowerOfAttorneyStatus.REVOKED
        if self.valid_until is not None and self.valid_until < today:
            return PowerOfAttorneyStatus.EXPIRED
        if self.valid_from is not None and self.valid_from > today:
            return PowerOfAttorneyStatus.SCHEDULED
        return PowerOfAttorneyStatus.ACTIVE
