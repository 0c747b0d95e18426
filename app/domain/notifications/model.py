"""Notifications: plain data, no ORM, no GraphQL."""

from __future__ import annotations

import datetime as dt
import uuid
from dataclasses import dataclass


@dataclass(slots=True)
class Notification:
    id: int
    recipient_id: uuid.UUID
    kind: str
    title: str
    body: str
    created_at: dt.datetime
    read_at: dt.datetime | None
