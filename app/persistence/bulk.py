"""CSV import jobs."""

from __future__ import annotations

import datetime as dt
import uuid
from typing import Any

from sqlalchemy import insert, select, update
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from app.domain.model import BulkJob, BulkJobStatus, RowError
from app.persistence.db import is_sqlite
from app.persistence.tables import bulk_jobs


def _job_from_row(r: Any) -> BulkJob:
    return BulkJob(
        id=r.id, org_id=r.org_id, created_by=r.created_by, operation=r.operation, dry_run=r.dry_run,
        status=BulkJobStatus(r.status), file_name=r.file_name, file_path=r.file_path, file_size=r.file_size,
        created_at=r.created_at, total=r.total, processed=r.processed, error_count=r.error_count,
        row_errors=[RowError(e.get("line"), e.get("column"), e["code"], e["message"]) for e in r.row_errors or []],
        result=r.result, started_at=r.started_at, finished_at=r.finished_at,
    )


def _values(job: BulkJob) -> dict[str, Any]:
    return {
        "status": job.status.value, "total": job.total, "processed": job.processed, "error_count": job.error_count,
        "row_errors": [{"line": e.line, "column": e.column, "code": e.code, "message": e.message} for e in job.row_errors],
        "result": job.result, "started_at": job.started_at, "finished_at": job.finished_at,
    }


class SqlBulkJobRepository:
    def __init__(self, conn: AsyncConnection, org_id: int) -> None:
        self._conn = conn
        self._org_id = org_id

    async def add(self, job: BulkJob) -> None:
        await self._conn.execute(
            insert(bulk_jobs).values(
                id=job.id, org_id=self._org_id, created_by=job.created_by, operation=job.operation,
                dry_run=job.dry_run, file_name=job.file_name, file_path=job.file_path, file_size=job.file_size,
                created_at=job.created_at, **_values(job),
            )
        )

    async def get(self, job_id: uuid.UUID) -> BulkJob | None:
        q = select(bulk_jobs).where(bulk_jobs.c.id == job_id, bulk_jobs.c.org_id == self._org_id)
        row = (await self._conn.execute(q)).first()
        return _job_from_row(row) if row else None

    async def save(self, job: BulkJob) -> None:
        await self._conn.execute(
            update(bulk_jobs).where(bulk_jobs.c.id == job.id, bulk_jobs.c.org_id == self._org_id).values(**_values(job))
        )


async def job_by_id(conn: AsyncConnection, org_id: int, job_id: uuid.UUID) -> BulkJob | None:
    return await SqlBulkJobRepository(conn, org_id).get(job_id)


async def claim_next_job(engine: AsyncEngine, now: dt.datetime, lease: dt.timedelta) -> tuple[BulkJob, str] | None:
    """Claim one queued job (or one whose runner died: its lease ran out) for this process.
    PostgreSQL skips jobs another process has locked, so each job runs once."""
    conn = await engine.connect()
    try:
        conn = await conn.execution_options(sqlite_begin="IMMEDIATE")
        async with conn.begin():
            from app.persistence.tables import organisations

            q = (
                select(bulk_jobs, organisations.c.cvr)
                .join(organisations, organisations.c.id == bulk_jobs.c.org_id)
                .where(
                    (bulk_jobs.c.status == BulkJobStatus.QUEUED.value)
                    | ((bulk_jobs.c.status == BulkJobStatus.RUNNING.value) & (bulk_jobs.c.claimed_until < now))
                )
                .order_by(bulk_jobs.c.created_at)
                .limit(1)
            )
            if not is_sqlite(str(engine.url)):
                q = q.with_for_update(skip_locked=True, of=bulk_jobs)
            row = (await conn.execute(q)).first()
            if row is None:
                return None
            await conn.execute(
                update(bulk_jobs)
                .where(bulk_jobs.c.id == row.id)
                .values(status=BulkJobStatus.RUNNING.value, started_at=now, claimed_until=now + lease)
            )
            job = _job_from_row(row)
            job.status, job.started_at = BulkJobStatus.RUNNING, now
            return job, row.cvr
    finally:
        await conn.close()
