"""A request for a user account: plain data, no ORM, no GraphQL."""

from __future__ import annotations

import datetime as dt
import enum
import uuid
from dataclasses import dataclass


class AccountRequestStatus(enum.StrEnum):
    # Stored, the confirmation link mailed; administrators do not see it yet.
    PENDING_CONFIRMATION = "PENDING_CONFIRMATION"
    # Confirmed by the requester: waiting for a user administrator.
    PENDING = "PENDING"
    APPROVED = "APPROVED"
    REJECTED = "REJECTED"


@dataclass(slots=True)
class AccountRequest:
    id: uuid.UUID
    org_id: int
    first_name: str
    last_name: str
    email: str
    message: str | None
    status: AccountRequestStatus
    created_at: dt.datetime
    # The confirmation link's token, only as its SHA-256; cleared once used.
    token_hash: str | None = None
    token_expires_at: dt.datetime | None = None
    confirmed_at: dt.datetime | None = None
    decided_at: dt.datetime | None = None
    decided_by: uuid.UUID | None = None
    reject_reason: str | None = None
    user_id: uuid.UUID | None = None
