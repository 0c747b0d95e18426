"""The state of one import while it streams through the file: the errors so far, what was written,
and the values met on earlier lines."""

from __future__ import annotations

import uuid
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any, BinaryIO

from app.domain.activity.history import ActivityType
from app.domain.activity.model import Activity
from app.domain.bulk.csv_file import FIELD_TO_COLUMN
from app.domain.bulk.jobs import BulkLimits
from app.domain.bulk.model import BulkJob, RowError
from app.domain.certificates.authority import CertificateAuthority
from app.domain.common.ports import UnitOfWork
from app.domain.common.validation import Errors, OrgContext
from app.domain.users.model import User

OpenFile = Callable[[], BinaryIO]
MAX_LISTED_AFFECTED = 10_000
Progress = Callable[[int, int | None], None]


class Seen:
    """Values met earlier in the file (e-mails, CPR hashes, user ids) with the line of each. Earlier
    batches' values live in the job's store (`lines_seen` / `remember_lines`: a scratch table of the
    job's transaction), so memory does not grow with the file; within a batch, rows are checked one
    by one in file order, exactly as one dictionary over the whole file would."""

    def __init__(self, store: Any, kind: str) -> None:
        self._store = store
        self._kind = kind
        self._earlier: dict[str, int] = {}
        self._batch: dict[str, int] = {}

    async def start_batch(self, candidates: Iterable[Any]) -> None:
        self._earlier = await self._store.lines_seen(self._kind, [str(v) for v in candidates if v])
        self._batch = {}

    def line_of(self, value: Any) -> int | None:
        key = str(value)
        return self._batch.get(key) or self._earlier.get(key)

    def add(self, value: Any, line: int) -> None:
        self._batch[str(value)] = line

    async def end_batch(self) -> None:
        await self._store.remember_lines(self._kind, self._batch)
        self._earlier, self._batch = {}, {}


@dataclass
class ImportRun:
    """The state of one import while it streams through the file."""

    uow: UnitOfWork
    job: BulkJob
    ctx: OrgContext
    limits: BulkLimits
    progress: Progress
    total: int | None
    ca: CertificateAuthority  # deleted users' certificates are revoked and the CRL republished
    errors: list[RowError] = field(default_factory=list)
    error_count: int = 0
    processed: int = 0
    affected: list[uuid.UUID] = field(default_factory=list)  # the first MAX_LISTED_AFFECTED
    affected_count: int = 0
    counts: dict[str, int] = field(default_factory=lambda: {"created": 0, "updated": 0, "deleted": 0, "unchanged": 0})
    seen_emails: Seen = field(init=False)
    seen_cprs: Seen = field(init=False)
    seen_users: Seen = field(init=False)

    def __post_init__(self) -> None:
        self.seen_emails = Seen(self.uow.bulk_jobs, "email")
        self.seen_cprs = Seen(self.uow.bulk_jobs, "cpr")
        self.seen_users = Seen(self.uow.bulk_jobs, "user")

    @property
    def writing(self) -> bool:
        return self.error_count == 0 and not self.job.dry_run

    def fail(self, line: int | None, column: str | None, code: str, message: str) -> None:
        self.error_count += 1
        if len(self.errors) < self.limits.max_reported_errors:
            self.errors.append(RowError(line, column, code, message))

    def fail_domain(self, line: int, errors: Errors) -> None:
        for e in errors.items:
            column = FIELD_TO_COLUMN.get(e.field[0]) if e.field else None
            self.fail(line, column, e.code, e.message)

    def note_affected(self, ids: Iterable[uuid.UUID]) -> None:
        """Count every affected user; list the first ones (the history names every one)."""
        for user_id in ids:
            self.affected_count += 1
            if len(self.affected) < MAX_LISTED_AFFECTED:
                self.affected.append(user_id)

    def advance(self, rows: int) -> None:
        self.processed += rows
        self.progress(self.processed, self.total)

    async def history(self, entries: list[tuple[ActivityType, User, str, dict[str, Any]]]) -> None:
        now = self.uow.platform.now()
        actor_name = await self.uow.actor_name()
        await self.uow.activities.add_many([
            Activity(
                org_id=self.uow.actor.org_id, occurred_at=now, actor_id=self.uow.actor.user_id,
                actor_name=actor_name, type=t.value, target_user_id=u.id,
                target_name=str(u.id) if u.anonymous else u.full_name, summary=summary,
                details={**details, "bulkJob": str(self.job.id)},
            )
            for t, u, summary, details in entries
        ])
