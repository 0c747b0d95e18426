"""CSV import jobs."""

from __future__ import annotations

import datetime as dt
import uuid
from collections.abc import Sequence
from typing import Any

from sqlalchemy import Column, Integer, MetaData, String, Table, bindparam, insert, select, update
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine
from sqlalchemy.schema import CreateTable

from app.domain.bulk.model import BulkJob, BulkJobStatus, RowError
from app.persistence.db import Statements, any_of, insert_many, is_sqlite, write_transaction
from app.persistence.tables.bulk import bulk_jobs


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


# A job's scratch list of the values met so far in its file (e-mails, CPR hashes, user ids) with the
# line of each: a temporary table of the job's own connection and transaction, so a file of 200,000
# rows costs the importing process no memory for it. PostgreSQL drops it at commit or rollback;
# SQLite keeps temporary tables on disk, per connection: it is dropped before each job creates it.
SEEN = Table(
    "bulk_seen", MetaData(),
    Column("value", String(200), primary_key=True),  # first: the lookups are by value (and the
    Column("kind", String(8), primary_key=True),      # table has no statistics to plan by)
    Column("line", Integer, nullable=False),
    prefixes=["TEMPORARY"],
)


_SEEN_LOOKUP = Statements(
    lambda dialect: select(SEEN.c.value, SEEN.c.line).where(
        any_of(SEEN.c.value, "values", dialect), SEEN.c.kind == bindparam("kind")
    )
)


class SqlBulkJobRepository:
    def __init__(self, conn: AsyncConnection, org_id: int) -> None:
        self._conn = conn
        self._org_id = org_id
        self._scratch = False

    async def _ensure_scratch(self) -> None:
        if self._scratch:
            return
        postgres = self._conn.dialect.name == "postgresql"
        await self._conn.exec_driver_sql(
            "DROP TABLE IF EXISTS pg_temp.bulk_seen" if postgres else "DROP TABLE IF EXISTS temp.bulk_seen"
        )
        ddl = str(CreateTable(SEEN).compile(dialect=self._conn.dialect)).strip()
        await self._conn.exec_driver_sql(ddl + (" ON COMMIT DROP" if postgres else ""))
        self._scratch = True

    async def lines_seen(self, kind: str, values: Sequence[str]) -> dict[str, int]:
        """The line where each of `values` was first met in this job's file (those met so far)."""
        await self._ensure_scratch()
        out: dict[str, int] = {}
        unique = list(dict.fromkeys(values))
        q = _SEEN_LOOKUP.get(self._conn)
        for start in range(0, len(unique), 1000):
            rows = await self._conn.execute(q, {"kind": kind, "values": unique[start:start + 1000]})
            out.update({value: line for value, line in rows})
        return out

    async def remember_lines(self, kind: str, lines: dict[str, int]) -> None:
        await self._ensure_scratch()
        if lines:
            await insert_many(self._conn, SEEN, [{"kind": kind, "value": v, "line": n} for v, n in lines.items()])

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
    async with write_transaction(engine) as conn:
        from app.persistence.tables.organisations import organisations

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
