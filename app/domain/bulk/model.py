"""Bulk jobs (CSV import): plain data, no ORM, no GraphQL."""

from __future__ import annotations

import datetime as dt
import enum
import uuid
from dataclasses import dataclass, field
from typing import Any


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
