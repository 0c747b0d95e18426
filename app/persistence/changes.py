"""The change feed: one row per history entry, written by the activity repository in the same
transaction (so a rolled-back change leaves none), and the webhook deliveries it fans out to the
organisation's active endpoints subscribed to its event type (the webhooks' outbox)."""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import delete, insert, literal_column, select, text, union_all
from sqlalchemy.ext.asyncio import AsyncConnection

from app.domain.activity.model import Activity
from app.domain.webhooks.events import ChangeKind, change_of
from app.domain.webhooks.rules import DeliveryStatus, EndpointStatus
from app.persistence.db import insert_many
from app.persistence.tables.webhooks import (
    change_log,
    webhook_deliveries,
    webhook_endpoints,
    webhook_subscriptions,
)

# PostgreSQL: the id of the transaction writing (xid8 as a number); the feed's ordering key.
_TXID = "SELECT pg_current_xact_id()::text::bigint"
# Only changes of transactions older than every one still running in this database: no change can
# then commit later with a smaller position. Transactions running at the statement's snapshot count
# unless pg_stat_activity shows them in another database (a long transaction elsewhere on the
# cluster does not hold the feed back; one of ours, e.g. a large import, does until it ends). A
# transaction that ends between the snapshot and that look is counted: never too few.
VISIBLE = literal_column(
    "(SELECT coalesce(min(x.v), pg_snapshot_xmax(pg_current_snapshot())::text::bigint)"
    " FROM (SELECT xip::text::bigint AS v FROM pg_snapshot_xip(pg_current_snapshot()) AS xip) AS x"
    " WHERE x.v % 4294967296 NOT IN (SELECT a.backend_xid::text::bigint FROM pg_stat_activity AS a"
    " WHERE a.datname IS DISTINCT FROM current_database() AND a.backend_xid IS NOT NULL))"
)


async def record_changes(conn: AsyncConnection, items: Sequence[Activity], org_id: int | None = None) -> None:
    """The change of each history entry (of `org_id` when given), and a pending delivery per
    subscribed active endpoint."""
    changes = [(a, c) for a in items if (c := change_of(a, org_id)) is not None]
    if not changes:
        return
    txid = int((await conn.execute(text(_TXID))).scalar_one()) if conn.dialect.name == "postgresql" else 0
    rows = [
        {"org_id": c.org_id, "txid": txid, "occurred_at": a.occurred_at, "event_type": c.event_type,
         "entity_type": c.entity_type, "entity_id": c.entity_id, "kind": c.kind.value}
        for a, c in changes
    ]
    orgs = {c.org_id for _, c in changes}
    types = {c.event_type for _, c in changes}
    subscribed = list(await conn.execute(
        select(webhook_subscriptions.c.org_id, webhook_subscriptions.c.event_type, webhook_subscriptions.c.endpoint_id)
        .join(webhook_endpoints, webhook_endpoints.c.id == webhook_subscriptions.c.endpoint_id)
        .where(webhook_subscriptions.c.org_id.in_(orgs), webhook_subscriptions.c.event_type.in_(types),
               webhook_endpoints.c.status == EndpointStatus.ACTIVE.value)
    ))
    if not subscribed:  # the usual case: no delivery to write, so no ids needed
        if len(rows) > 100:  # an import's entries: COPY on PostgreSQL
            await insert_many(conn, change_log, rows)
        else:
            await conn.execute(insert(change_log), rows)
        return
    ids = [r[0] for r in await conn.execute(
        insert(change_log).returning(change_log.c.id, sort_by_parameter_order=True), rows
    )]
    endpoints: dict[tuple[int, str], list[Any]] = {}
    for org_id, event_type, endpoint_id in subscribed:
        endpoints.setdefault((org_id, event_type), []).append(endpoint_id)
    now = changes[0][0].occurred_at
    deliveries = [
        {"endpoint_id": endpoint_id, "change_id": change_id, "event_type": row["event_type"],
         "status": DeliveryStatus.PENDING.value, "attempts": 0, "created_at": now, "next_attempt_at": now}
        for change_id, row in zip(ids, rows, strict=True)
        for endpoint_id in endpoints.get((row["org_id"], row["event_type"]), ())
    ]
    if deliveries:
        await conn.execute(insert(webhook_deliveries), deliveries)


@dataclass(slots=True, frozen=True)
class ChangeRow:
    id: int
    txid: int
    occurred_at: dt.datetime
    event_type: str
    entity_type: str
    entity_id: str
    kind: ChangeKind


async def list_changes(
    conn: AsyncConnection, org_id: int, after: tuple[int, int] | None, limit: int
) -> list[ChangeRow]:
    """The organisation's changes after the position (txid, id), oldest first. The position is only
    a place in the order: the organisation filter is this query's."""
    c = change_log.c
    cols = (c.id, c.txid, c.occurred_at, c.event_type, c.entity_type, c.entity_id, c.kind)
    if after is None:
        q = select(*cols).where(c.org_id == org_id).order_by(c.txid, c.id).limit(limit)
    else:
        # Two ranges of the (org_id, txid, id) index, each read in order up to the limit: the rest of
        # the cursor's transaction, then the later ones. Page 1000 of the feed costs what page 1 costs,
        # also inside one large transaction (an import's 100,000 entries share its txid).
        txid, id_ = after
        rest = select(*cols).where(c.org_id == org_id, c.txid == txid, c.id > id_).order_by(c.id).limit(limit)
        later = select(*cols).where(c.org_id == org_id, c.txid > txid).order_by(c.txid, c.id).limit(limit)
        both = union_all(select(rest.subquery()), select(later.subquery())).subquery("after_cursor")
        q = select(both).order_by(both.c.txid, both.c.id).limit(limit)
    if conn.dialect.name == "postgresql":
        # The feed's order is by transaction, so what is not yet visible comes after what is: the
        # page's visible prefix (outside the limited scan, so the planner still reads the index).
        page = q.subquery("page")
        q = select(page).where(page.c.txid < VISIBLE).order_by(page.c.txid, page.c.id)
    rows = await conn.execute(q)
    return [ChangeRow(r.id, r.txid, r.occurred_at, r.event_type, r.entity_type, r.entity_id, ChangeKind(r.kind))
            for r in rows]


async def prune_changes(conn: AsyncConnection, older_than: dt.datetime, slice_size: int = 5000) -> int:
    """Retention, one slice: up to `slice_size` changes older than `older_than` and their deliveries.
    The caller commits each slice on its own, so a large backlog never holds one long lock."""
    ids = select(change_log.c.id).where(change_log.c.occurred_at < older_than).limit(slice_size).scalar_subquery()
    await conn.execute(delete(webhook_deliveries).where(webhook_deliveries.c.change_id.in_(ids)))
    result = await conn.execute(delete(change_log).where(change_log.c.id.in_(ids)))
    return result.rowcount or 0


