"""In-app notifications of one person."""

from __future__ import annotations

import datetime as dt
import uuid
from collections.abc import Sequence
from typing import Any

from sqlalchemy import func, insert, select, update
from sqlalchemy.ext.asyncio import AsyncConnection

from app.domain.notifications.model import Notification
from app.persistence.tables.notifications import notifications

CHANNEL = "gateway_notifications"


def _from_row(r: Any) -> Notification:
    return Notification(
        id=r.id, recipient_id=r.recipient_id, kind=r.kind, title=r.title, body=r.body,
        created_at=r.created_at, read_at=r.read_at,
    )


class SqlNotificationRepository:
    def __init__(self, conn: AsyncConnection, org_id: int) -> None:
        self._conn = conn
        self._org_id = org_id
        self.added: list[tuple[uuid.UUID, int]] = []  # published after commit

    async def add(self, recipient_id: uuid.UUID, kind: str, title: str, body: str, now: dt.datetime) -> int:
        return await self._insert(self._org_id, recipient_id, kind, title, body, now)

    async def add_for_partner(
        self, org_id: int, recipient_id: uuid.UUID, kind: str, title: str, body: str, now: dt.datetime
    ) -> int:
        """A notification to a person of another organisation (a partner's administrator told
        about their user in our group), written in our transaction under THEIR org id."""
        return await self._insert(org_id, recipient_id, kind, title, body, now)

    async def _insert(
        self, org_id: int, recipient_id: uuid.UUID, kind: str, title: str, body: str, now: dt.datetime
    ) -> int:
        result = await self._conn.execute(
            insert(notifications)
            .values(org_id=org_id, recipient_id=recipient_id, kind=kind, title=title, body=body, created_at=now)
            .returning(notifications.c.id)
        )
        notification_id = int(result.scalar_one())
        if self._conn.dialect.name == "postgresql":
            # Delivered to every gateway process's listener when (and only if) this commits.
            await self._conn.execute(
                select(func.pg_notify(CHANNEL, f"{recipient_id}:{notification_id}"))
            )
        else:
            self.added.append((recipient_id, notification_id))
        return notification_id

    async def mark_read(self, recipient_id: uuid.UUID, ids: Sequence[int] | None, now: dt.datetime) -> int:
        q = update(notifications).where(
            notifications.c.org_id == self._org_id,
            notifications.c.recipient_id == recipient_id,
            notifications.c.read_at.is_(None),
        )
        if ids is not None:
            q = q.where(notifications.c.id.in_(ids))
        return (await self._conn.execute(q.values(read_at=now))).rowcount


async def list_notifications(
    conn: AsyncConnection, org_id: int, recipient_id: uuid.UUID, unread_only: bool, before_id: int | None, limit: int
) -> list[Notification]:
    q = select(notifications).where(
        notifications.c.org_id == org_id, notifications.c.recipient_id == recipient_id
    )
    if unread_only:
        q = q.where(notifications.c.read_at.is_(None))
    if before_id is not None:
        q = q.where(notifications.c.id < before_id)
    rows = await conn.execute(q.order_by(notifications.c.id.desc()).limit(limit))
    return [_from_row(r) for r in rows]


async def count_notifications(conn: AsyncConnection, org_id: int, recipient_id: uuid.UUID, unread_only: bool) -> int:
    q = select(func.count()).select_from(notifications).where(
        notifications.c.org_id == org_id, notifications.c.recipient_id == recipient_id
    )
    if unread_only:
        q = q.where(notifications.c.read_at.is_(None))
    return int((await conn.execute(q)).scalar_one())


async def notification_by_id(
    conn: AsyncConnection, org_id: int, recipient_id: uuid.UUID, notification_id: int
) -> Notification | None:
    q = select(notifications).where(
        notifications.c.org_id == org_id,
        notifications.c.recipient_id == recipient_id,
        notifications.c.id == notification_id,
    )
    row = (await conn.execute(q)).first()
    return _from_row(row) if row else None


async def listen(url: str, on_event: Any, stop: Any) -> None:
    """Follow CHANNEL on a dedicated PostgreSQL connection (LISTEN/NOTIFY), reconnecting after
    failures, until `stop` (an asyncio.Event) is set."""
    import asyncio
    import logging

    import asyncpg

    log = logging.getLogger("app.notifications")
    dsn = url.replace("postgresql+asyncpg://", "postgresql://")

    def received(_conn: Any, _pid: int, _channel: str, payload: str) -> None:
        recipient, _, notification_id = payload.partition(":")
        try:
            on_event(uuid.UUID(recipient), int(notification_id))
        except ValueError:
            log.warning("ignored a malformed notification event")

    while not stop.is_set():
        try:
            conn = await asyncpg.connect(dsn, timeout=5)
        except (OSError, asyncpg.PostgresError) as exc:
            log.warning("notification listener cannot connect (%s); retrying", exc)
            await asyncio.sleep(1)
            continue
        try:
            await conn.add_listener(CHANNEL, received)
            while not stop.is_set() and not conn.is_closed():
                await asyncio.sleep(0.5)
        finally:
            if not conn.is_closed():
                await conn.close()
