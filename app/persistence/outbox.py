"""Transactional outbox: mail is written with the change and delivered afterwards, at least once
attempted until it succeeds; a row is marked sent only after the SMTP server accepted it."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from sqlalchemy import insert, select, update
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from app.domain.common.mail import OutgoingMail
from app.persistence.db import is_sqlite, write_transaction
from app.persistence.tables.outbox import outbox


class SqlOutbox:
    def __init__(self, conn: AsyncConnection, now: dt.datetime) -> None:
        self._conn = conn
        self._now = now

    async def add(self, mail: OutgoingMail) -> None:
        await self._conn.execute(
            insert(outbox).values(
                org_id=mail.org_id, recipient=mail.recipient, subject=mail.subject, body=mail.body,
                created_at=self._now, next_attempt_at=self._now,
            )
        )


@dataclass(slots=True, frozen=True)
class PendingMail:
    id: int
    recipient: str
    subject: str
    body: str
    attempts: int


async def claim_due(engine: AsyncEngine, now: dt.datetime, limit: int, lease: dt.timedelta) -> list[PendingMail]:
    """Claim due mail by pushing its next attempt into the future (a lease). Several gateway
    processes never claim the same row: PostgreSQL skips rows another one has locked."""
    async with write_transaction(engine) as conn:
        q = (
            select(outbox.c.id, outbox.c.recipient, outbox.c.subject, outbox.c.body, outbox.c.attempts)
            .where(outbox.c.sent_at.is_(None), outbox.c.next_attempt_at <= now)
            .order_by(outbox.c.id)
            .limit(limit)
        )
        if not is_sqlite(str(engine.url)):
            q = q.with_for_update(skip_locked=True)
        rows = list(await conn.execute(q))
        if rows:
            await conn.execute(
                update(outbox)
                .where(outbox.c.id.in_([r.id for r in rows]))
                .values(next_attempt_at=now + lease, attempts=outbox.c.attempts + 1)
            )
    return [PendingMail(r.id, r.recipient, r.subject, r.body, r.attempts + 1) for r in rows]


async def mark_sent(engine: AsyncEngine, mail_id: int, now: dt.datetime) -> None:
    async with write_transaction(engine) as conn:
        await conn.execute(update(outbox).where(outbox.c.id == mail_id).values(sent_at=now, last_error=None))


async def mark_failed(engine: AsyncEngine, mail_id: int, retry_at: dt.datetime, error: str) -> None:
    async with write_transaction(engine) as conn:
        await conn.execute(
            update(outbox).where(outbox.c.id == mail_id).values(next_attempt_at=retry_at, last_error=error[:500])
        )


async def queue_depths(conn: AsyncConnection) -> tuple[int, int]:
    """(mails not yet sent, import jobs queued or running) — system-wide, for the metrics."""
    from sqlalchemy import func

    from app.persistence.tables.bulk import bulk_jobs

    pending = (await conn.execute(select(func.count()).select_from(outbox).where(outbox.c.sent_at.is_(None)))).scalar_one()
    waiting = (await conn.execute(
        select(func.count()).select_from(bulk_jobs).where(bulk_jobs.c.status.in_(["QUEUED", "RUNNING"]))
    )).scalar_one()
    return int(pending), int(waiting)
