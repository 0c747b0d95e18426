"""Webhook endpoints (the organisation's, scoped like every repository), their deliveries, and the
worker's claim of due deliveries across organisations (`FOR UPDATE SKIP LOCKED` on PostgreSQL, so
each delivery is attempted by one process of a deployment)."""

from __future__ import annotations

import datetime as dt
import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import delete, func, insert, select, update
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from app.domain.webhooks.model import WebhookDelivery, WebhookEndpoint
from app.domain.webhooks.rules import DeliveryStatus, EndpointStatus
from app.persistence.changes import VISIBLE
from app.persistence.db import is_sqlite, write_transaction
from app.persistence.tables.organisations import organisations
from app.persistence.tables.webhooks import (
    change_log,
    webhook_deliveries,
    webhook_endpoints,
    webhook_subscriptions,
)

E, D, S = webhook_endpoints.c, webhook_deliveries.c, webhook_subscriptions.c
_ENDPOINT = [E.id, E.org_id, E.url, E.description, E.status, E.consecutive_failures, E.created_at, E.disabled_at]


def _endpoint(r: Any, types: Sequence[str]) -> WebhookEndpoint:
    return WebhookEndpoint(
        id=r.id, org_id=r.org_id, url=r.url, description=r.description, event_types=tuple(sorted(types)),
        status=EndpointStatus(r.status), consecutive_failures=r.consecutive_failures, created_at=r.created_at,
        disabled_at=r.disabled_at,
    )


async def _with_types(conn: AsyncConnection, rows: list[Any]) -> list[WebhookEndpoint]:
    types: dict[uuid.UUID, list[str]] = {r.id: [] for r in rows}
    if rows:
        for endpoint_id, event_type in await conn.execute(
            select(S.endpoint_id, S.event_type).where(S.endpoint_id.in_(list(types)))
        ):
            types[endpoint_id].append(event_type)
    return [_endpoint(r, types[r.id]) for r in rows]


class SqlWebhookRepository:
    def __init__(self, conn: AsyncConnection, org_id: int) -> None:
        self._conn = conn
        self._org_id = org_id

    async def count(self) -> int:
        q = select(func.count()).select_from(webhook_endpoints).where(E.org_id == self._org_id)
        return int((await self._conn.execute(q)).scalar_one())

    async def add(self, endpoint: WebhookEndpoint, sealed_secret: bytes) -> None:
        assert endpoint.org_id == self._org_id
        await self._conn.execute(insert(webhook_endpoints).values(
            id=endpoint.id, org_id=self._org_id, url=endpoint.url, description=endpoint.description,
            secret_sealed=sealed_secret, status=endpoint.status.value,
            consecutive_failures=endpoint.consecutive_failures, created_at=endpoint.created_at,
        ))
        await self._conn.execute(insert(webhook_subscriptions), [
            {"endpoint_id": endpoint.id, "event_type": t, "org_id": self._org_id} for t in endpoint.event_types
        ])

    async def delete(self, endpoint_id: uuid.UUID) -> bool:
        mine = select(E.id).where(E.id == endpoint_id, E.org_id == self._org_id)
        if (await self._conn.execute(mine)).first() is None:
            return False
        # SQLite enforces no foreign keys here: remove what hangs off the endpoint explicitly.
        await self._conn.execute(delete(webhook_deliveries).where(D.endpoint_id == endpoint_id))
        await self._conn.execute(delete(webhook_subscriptions).where(S.endpoint_id == endpoint_id))
        await self._conn.execute(delete(webhook_endpoints).where(E.id == endpoint_id, E.org_id == self._org_id))
        return True

    async def delivered(self, delivery_id: int, endpoint_id: uuid.UUID, code: int, now: dt.datetime) -> None:
        await self._conn.execute(update(webhook_deliveries).where(D.id == delivery_id, self._mine(D.endpoint_id)).values(
            status=DeliveryStatus.DELIVERED.value, delivered_at=now, next_attempt_at=None,
            last_response_code=code, last_error=None,
        ))
        await self._conn.execute(update(webhook_endpoints).where(E.id == endpoint_id, E.org_id == self._org_id)
                                 .values(consecutive_failures=0))

    async def attempt_failed(
        self, delivery_id: int, endpoint_id: uuid.UUID, code: int | None, error: str, retry_at: dt.datetime | None,
    ) -> int:
        status = DeliveryStatus.PENDING if retry_at is not None else DeliveryStatus.FAILED
        await self._conn.execute(update(webhook_deliveries).where(D.id == delivery_id, self._mine(D.endpoint_id)).values(
            status=status.value, next_attempt_at=retry_at, last_response_code=code, last_error=error[:300],
        ))
        await self._conn.execute(update(webhook_endpoints).where(E.id == endpoint_id, E.org_id == self._org_id)
                                 .values(consecutive_failures=E.consecutive_failures + 1))
        q = select(E.consecutive_failures).where(E.id == endpoint_id, E.org_id == self._org_id)
        return int((await self._conn.execute(q)).scalar_one_or_none() or 0)

    async def disable(self, endpoint_id: uuid.UUID, now: dt.datetime) -> WebhookEndpoint | None:
        """None when it was not active (another process disabled it first, or it was deleted)."""
        result = await self._conn.execute(
            update(webhook_endpoints)
            .where(E.id == endpoint_id, E.org_id == self._org_id, E.status == EndpointStatus.ACTIVE.value)
            .values(status=EndpointStatus.DISABLED.value, disabled_at=now)
        )
        if not result.rowcount:
            return None
        return await endpoint_by_id(self._conn, self._org_id, endpoint_id)

    def _mine(self, endpoint_column: Any) -> Any:
        return endpoint_column.in_(select(E.id).where(E.org_id == self._org_id))


# --- reads (through the request's ReadSession: conn, org_id, ...) -----------------------------------


async def list_endpoints(conn: AsyncConnection, org_id: int, offset: int, limit: int) -> tuple[list[WebhookEndpoint], int]:
    rows = list(await conn.execute(
        select(*_ENDPOINT).where(E.org_id == org_id).order_by(E.created_at, E.id).offset(offset).limit(limit)
    ))
    total = (await conn.execute(select(func.count()).select_from(webhook_endpoints).where(E.org_id == org_id))).scalar_one()
    return await _with_types(conn, rows), int(total)


async def endpoint_by_id(conn: AsyncConnection, org_id: int, endpoint_id: uuid.UUID) -> WebhookEndpoint | None:
    rows = list(await conn.execute(select(*_ENDPOINT).where(E.id == endpoint_id, E.org_id == org_id)))
    found = await _with_types(conn, rows)
    return found[0] if found else None


_DELIVERY = [D.id, D.endpoint_id, D.event_type, D.status, D.attempts, D.created_at, D.next_attempt_at,
             D.delivered_at, D.last_response_code, D.last_error]


async def deliveries_of(
    conn: AsyncConnection, org_id: int, endpoint_id: uuid.UUID, before_id: int | None, limit: int,
) -> list[WebhookDelivery]:
    """Newest first, keyset-paginated; only of the organisation's own endpoint."""
    q = (select(*_DELIVERY).join(webhook_endpoints, E.id == D.endpoint_id)
         .where(D.endpoint_id == endpoint_id, E.org_id == org_id))
    if before_id is not None:
        q = q.where(D.id < before_id)
    rows = await conn.execute(q.order_by(D.id.desc()).limit(limit))
    return [WebhookDelivery(r.id, r.endpoint_id, r.event_type, DeliveryStatus(r.status), r.attempts, r.created_at,
                            r.next_attempt_at, r.delivered_at, r.last_response_code, r.last_error) for r in rows]


# --- the worker --------------------------------------------------------------------------------------


@dataclass(slots=True, frozen=True)
class DueDelivery:
    id: int
    endpoint_id: uuid.UUID
    org_id: int
    org_cvr: str
    url: str
    secret_sealed: bytes
    attempts: int  # this one included
    event_type: str
    change_id: int
    occurred_at: dt.datetime
    entity_type: str
    entity_id: str
    kind: str


async def claim_due(engine: AsyncEngine, now: dt.datetime, limit: int, lease: dt.timedelta) -> list[DueDelivery]:
    """Claim due deliveries, each the oldest pending one of an active endpoint (an endpoint's event
    n+1 waits until n is delivered or given up), by pushing its next attempt past the lease. Another
    process skips rows locked here (PostgreSQL) and, once committed, finds the head leased."""
    h, hc, C = webhook_deliveries.alias("h"), change_log.alias("hc"), change_log.c
    # The endpoint's next delivery in the change feed's order (by transaction, then id): on
    # PostgreSQL only once every older transaction has ended, so one committing later with an
    # earlier change can never be overtaken.
    head = (select(h.c.id).join(hc, hc.c.id == h.c.change_id)
            .where(h.c.endpoint_id == D.endpoint_id, h.c.status == DeliveryStatus.PENDING.value)
            .order_by(hc.c.txid, hc.c.id).limit(1).correlate(webhook_deliveries).scalar_subquery())
    q = (
        select(D.id).join(webhook_endpoints, E.id == D.endpoint_id).join(change_log, C.id == D.change_id)
        .where(D.status == DeliveryStatus.PENDING.value, D.next_attempt_at <= now,
               E.status == EndpointStatus.ACTIVE.value, D.id == head)
        .order_by(D.id).limit(limit)
    )
    async with write_transaction(engine) as conn:
        if not is_sqlite(str(engine.url)):
            q = q.where(C.txid < VISIBLE).with_for_update(of=webhook_deliveries, skip_locked=True)
        ids = [r.id for r in await conn.execute(q)]
        if not ids:
            return []
        await conn.execute(update(webhook_deliveries).where(D.id.in_(ids))
                           .values(next_attempt_at=now + lease, attempts=D.attempts + 1))
        rows = await conn.execute(
            select(D.id, D.endpoint_id, E.org_id, organisations.c.cvr, E.url, E.secret_sealed, D.attempts,
                   D.event_type, D.change_id, C.occurred_at, C.entity_type, C.entity_id, C.kind)
            .join(webhook_endpoints, E.id == D.endpoint_id).join(organisations, organisations.c.id == E.org_id)
            .join(change_log, C.id == D.change_id).where(D.id.in_(ids)).order_by(D.id)
        )
        return [DueDelivery(*r) for r in rows]


async def pending_count(conn: AsyncConnection) -> int:
    q = select(func.count()).select_from(webhook_deliveries).where(D.status == DeliveryStatus.PENDING.value)
    return int((await conn.execute(q)).scalar_one())
