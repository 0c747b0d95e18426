"""A bulk job's life: its limits, queueing an upload, recording the outcome (and telling the
administrator who started it), and sending imported users for activation."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from typing import Any

from app.domain.bulk.csv_file import COLUMNS, BulkOperation
from app.domain.bulk.model import BulkJob, BulkJobStatus, RowError
from app.domain.common.errors import DomainError, NotFound, ValidationFailed
from app.domain.common.ports import UnitOfWork
from app.domain.notifications.delivery import notify_person
from app.domain.users.lifecycle import send_for_activation
from app.domain.users.model import User, UserStatus


@dataclass(frozen=True, slots=True)
class BulkLimits:
    max_bytes: int = 50 * 1024 * 1024
    max_rows: int = 200_000
    batch_size: int = 1000
    max_reported_errors: int = 10_000


class ImportFailed(Exception):
    """The file has bad rows (or cannot be read); nothing may be written."""

    def __init__(self, errors: list[RowError], error_count: int, total: int | None) -> None:
        super().__init__(f"{error_count} bad rows")
        self.errors = errors
        self.error_count = error_count
        self.total = total


def readable_size(n: int) -> str:
    return f"{n / (1024 * 1024):.0f} MB" if n >= 1024 * 1024 else f"{n / 1024:.0f} KB" if n >= 1024 else f"{n} bytes"


def check_file_size(size: int, limits: BulkLimits) -> None:
    if size > limits.max_bytes:
        raise DomainError("FILE_TOO_LARGE", f"The file is larger than {readable_size(limits.max_bytes)}", ["file"])
    if size == 0:
        raise DomainError("EMPTY_FILE", "The file is empty", ["file"])


async def queue_import(
    uow: UnitOfWork, *, operation: BulkOperation, dry_run: bool, file_name: str | None, file_path: str, file_size: int,
    limits: BulkLimits,
) -> BulkJob:
    check_file_size(file_size, limits)
    assert uow.actor.user_id is not None
    job = BulkJob(
        id=uuid.uuid4(), org_id=uow.actor.org_id, created_by=uow.actor.user_id, operation=operation.value,
        dry_run=dry_run, status=BulkJobStatus.QUEUED, file_name=file_name, file_path=file_path,
        file_size=file_size, created_at=uow.platform.now(),
    )
    await uow.bulk_jobs.add(job)
    return job


async def finish_job(
    uow: UnitOfWork, job: BulkJob, *, result: dict[str, Any] | None, failure: ImportFailed | None
) -> BulkJob:
    """Record the outcome and tell the administrator who started the job."""
    now = uow.platform.now()
    job.finished_at = now
    if failure is None:
        job.status = BulkJobStatus.SUCCEEDED
        job.result = result
        job.processed = job.total = (result or {}).get("total", job.total)
        title = "CSV import checked" if job.dry_run else "CSV import completed"
        body = f"The file {job.file_name or ''} has {job.total} valid rows." if job.dry_run else (
            f"The import of {job.file_name or 'your file'} is complete: "
            + ", ".join(f"{v} {k}" for k, v in (result or {}).items() if k in ("created", "updated", "deleted") and v)
        )
    else:
        job.status = BulkJobStatus.FAILED
        job.row_errors = sorted(failure.errors, key=_file_order)
        job.error_count = failure.error_count
        job.total = failure.total
        job.processed = failure.total or 0  # every row was read and checked
        title = "CSV import failed"
        body = f"The file {job.file_name or ''} was not imported: {failure.error_count} errors. Nothing was changed."
    await uow.bulk_jobs.save(job)
    await notify_person(uow, job.created_by, "BULK_JOB_FINISHED", title, body)
    return job


_COLUMN_INDEX = {c: i for i, c in enumerate(COLUMNS)}


def _file_order(e: RowError) -> tuple[int, int]:
    """Errors of the whole file first, then by line and, within a line, by column as in the file
    (an error of the whole row before its cells'). The sort is stable: one cell's errors keep their order."""
    return (e.line or 0, -1 if e.column is None else _COLUMN_INDEX.get(e.column, len(COLUMNS)))


@dataclass(slots=True)
class SentForActivation:
    sent: list[User]
    codes: list[tuple[User, str]]
    needs_individual_sending: list[User]


SELECTORS = ("userIds", "allImported", "jobId")


async def send_users_for_activation(
    uow: UnitOfWork, user_ids: list[uuid.UUID] | None, all_imported: bool, job_id: uuid.UUID | None = None
) -> SentForActivation:
    """Exactly one selector. Named users: CPR users are emailed, date-of-birth users get a code each
    (returned once). `all_imported`: every imported-not-sent CPR user; `job_id`: those of them that
    this import job created. Date-of-birth users found by either must be sent one by one."""
    given = [name for name, on in zip(SELECTORS, (user_ids is not None, all_imported, job_id is not None),
                                      strict=True) if on]
    if not given:
        raise DomainError("SELECTOR_REQUIRED", "Give one of userIds, allImported: true or jobId", ["userIds"])
    if len(given) > 1:
        raise DomainError(
            "MORE_THAN_ONE_SELECTOR", f"Give only one of userIds, allImported: true and jobId (not {' and '.join(given)})",
            [given[1]],
        )
    outcome = SentForActivation([], [], [])
    by_list = user_ids is not None
    if job_id is not None:
        candidates = await users_waiting_from_job(uow, job_id)
    elif all_imported:
        candidates = await uow.users.ids_in_status(UserStatus.CREATED)
    else:
        candidates = list(dict.fromkeys(user_ids or []))
    users, _, _ = await uow.users.find_many(candidates, [], [])
    problems = []
    for i, user_id in enumerate(candidates):
        user = users.get(user_id)
        if user is None:
            problems.append(DomainError("NOT_FOUND", "User not found", ["userIds", str(i)]))
        elif user.status not in (UserStatus.CREATED, UserStatus.PENDING_ACTIVATION):
            problems.append(DomainError("INVALID_STATUS", "The user has already been activated", ["userIds", str(i)]))
    if problems:
        raise ValidationFailed(problems)
    for user_id in candidates:
        user = users[user_id]
        if not by_list and user.identification.value == "DATE_OF_BIRTH":
            outcome.needs_individual_sending.append(user)
            continue
        code = await send_for_activation(uow, user)
        outcome.sent.append(user)
        if code is not None:
            outcome.codes.append((user, code))
    return outcome


async def users_waiting_from_job(uow: UnitOfWork, job_id: uuid.UUID) -> list[uuid.UUID]:
    """The users `job_id` created that still wait to be sent (CREATED). Another organisation's job
    is not found, as a missing one; a job that has not finished, or that created nobody (a dry run,
    an update or delete, a failed file), is refused."""
    job = await uow.bulk_jobs.get(job_id)
    if job is None:
        raise NotFound("Import job", ["jobId"])
    if job.status in (BulkJobStatus.QUEUED, BulkJobStatus.RUNNING):
        raise DomainError("JOB_NOT_FINISHED", "The import job has not finished yet", ["jobId"])
    created = (job.result or {}).get("created", 0) if job.status is BulkJobStatus.SUCCEEDED else 0
    if job.dry_run or job.operation != BulkOperation.CREATE.value or not created:
        raise DomainError("JOB_CREATED_NO_USERS", "The import job created no users", ["jobId"])
    return await uow.users.ids_created_by_job(job_id, UserStatus.CREATED)
