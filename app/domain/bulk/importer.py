"""Bulk user operations from a CSV file, run as a job: all rows or none.

Rows are streamed and validated with the same rules as `createUser` / `updateUser`
(`app.domain.users.rules`); valid rows are written in batches inside the job's one transaction,
so a file with any bad row writes nothing (the caller rolls back) and reports every bad row."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from app.domain.activity.history import ActivityType, record
from app.domain.bulk.create_rows import create_batch
from app.domain.bulk.csv_file import BulkOperation, CsvFileError, Row, detect_encoding, read_rows
from app.domain.bulk.existing_rows import delete_batch, update_batch
from app.domain.bulk.jobs import BulkLimits, ImportFailed
from app.domain.bulk.model import BulkJob, RowError
from app.domain.bulk.run import ImportRun, OpenFile, Progress
from app.domain.certificates.authority import CertificateAuthority
from app.domain.common.ports import UnitOfWork
from app.domain.common.validation import org_context


def count_rows(open_file: OpenFile, limits: BulkLimits) -> tuple[int, str]:
    """The file's data rows and its encoding, decided on the whole file before any row is used."""
    with open_file() as f:
        encoding = detect_encoding(f)
        return sum(1 for _ in read_rows(f, max_rows=limits.max_rows, encoding=encoding)), encoding


def _batches(rows: Iterator[Row], size: int) -> Iterator[list[Row]]:
    batch: list[Row] = []
    for row in rows:
        batch.append(row)
        if len(batch) >= size:
            yield batch
            batch = []
    if batch:
        yield batch


async def run_import(
    uow: UnitOfWork, ca: CertificateAuthority, job: BulkJob, open_file: OpenFile, limits: BulkLimits,
    progress: Progress,
) -> dict[str, Any]:
    """Run the whole file inside `uow`'s transaction. Raises ImportFailed when any row is bad (the
    caller rolls back). Returns the result; for a dry run the caller rolls back too."""
    try:
        total, encoding = count_rows(open_file, limits)
    except CsvFileError as exc:
        raise ImportFailed([RowError(exc.line, None, exc.code.value, exc.message)], 1, None) from exc
    if total == 0:
        raise ImportFailed([RowError(None, None, "NO_ROWS", "The file has no data rows")], 1, 0)
    run = ImportRun(uow, job, await org_context(uow), limits, progress, total, ca)
    progress(0, total)
    handler = {
        BulkOperation.CREATE: create_batch, BulkOperation.UPDATE: update_batch, BulkOperation.DELETE: delete_batch,
    }[BulkOperation(job.operation)]
    try:
        with open_file() as f:
            for batch in _batches(read_rows(f, max_rows=limits.max_rows, encoding=encoding), limits.batch_size):
                await handler(run, batch)
                run.advance(len(batch))
    except CsvFileError as exc:
        run.fail(exc.line, None, exc.code.value, exc.message)
    if run.error_count:
        raise ImportFailed(run.errors, run.error_count, total)
    result = {**run.counts, "total": total, "encoding": encoding, "affectedCount": run.affected_count,
              "affectedUserIds": [str(i) for i in run.affected]}
    if not job.dry_run:
        verb = {"CREATE": "created", "UPDATE": "updated", "DELETE": "deleted"}[job.operation]
        await record(
            uow, ActivityType.BULK_IMPORT_COMPLETED,
            f"CSV import: {run.counts[verb]} users {verb}",
            details={"bulkJob": str(job.id), "operation": job.operation, "fileName": job.file_name, **run.counts},
        )
    return result
