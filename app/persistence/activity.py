"""History entries: written by every use case, read per user (batched) and organisation-wide."""

from __future__ import annotations

import uuid
from collections import defaultdict
from collections.abc import Sequence
from typing import Any

from sqlalchemy import Select, bindparam, func, insert, literal, or_, select
from sqlalchemy.dialects.postgresql import ARRAY
from sqlalchemy.ext.asyncio import AsyncConnection

from app.domain.model import Activity, ActivityFilter
from app.persistence.base import UUID
from app.persistence.db import insert_many
from app.persistence.tables import activities

COLUMNS = [
    activities.c.id, activities.c.org_id, activities.c.occurred_at, activities.c.actor_id,
    activities.c.actor_name, activities.c.type, activities.c.target_user_id, activities.c.target_group_id,
    activities.c.target_name,
    activities.c.summary, activities.c.details,
]
# A user's history in a page of users: without the JSON details (the last column; decoding them is
# most of a row's cost, and a list rarely shows them); `activity_details` reads them when asked.
SUMMARY_COLUMNS = COLUMNS[:-1]


def activity_from_row(r: Any) -> Activity:
    """An entry from a row of COLUMNS, or of SUMMARY_COLUMNS (then `details` is empty); by position."""
    (id_, org_id, occurred_at, actor_id, actor_name, type_, target_user_id, target_group_id, target_name,
     summary) = r[:10]
    return Activity(
        id=id_, org_id=org_id, occurred_at=occurred_at, actor_id=actor_id, actor_name=actor_name or "",
        type=type_, target_user_id=target_user_id, target_name=target_name, summary=summary,
        details=(r[10] if len(r) > 10 else None) or {}, target_group_id=target_group_id,
    )


class SqlActivityRepository:
    def __init__(self, conn: AsyncConnection, org_id: int) -> None:
        self._conn = conn
        self._org_id = org_id

    async def add(self, activity: Activity) -> None:
        assert activity.org_id == self._org_id
        await self._insert(activity)

    async def add_to_partner_log(self, activity: Activity) -> None:
        """The one write into another organisation's log: an entry about its own user's external
        membership of one of our groups."""
        assert activity.org_id != self._org_id and activity.target_user_id is not None
        await self._insert(activity)

    async def _insert(self, activity: Activity) -> None:
        await self._conn.execute(
            insert(activities).values(
                org_id=activity.org_id, occurred_at=activity.occurred_at, actor_id=activity.actor_id,
                actor_name=activity.actor_name, type=activity.type, target_user_id=activity.target_user_id,
                target_group_id=activity.target_group_id, target_name=activity.target_name,
                summary=activity.summary, details=activity.details,
            )
        )


    async def add_many(self, items: Sequence[Activity]) -> None:
        await insert_many(self._conn, activities, [
            {"org_id": self._org_id, "occurred_at": a.occurred_at, "actor_id": a.actor_id, "actor_name": a.actor_name,
             "type": a.type, "target_user_id": a.target_user_id, "target_group_id": a.target_group_id,
             "target_name": a.target_name, "summary": a.summary, "details": a.details}
            for a in items
        ])


def _filtered(q: Select[Any], org_id: int, f: ActivityFilter) -> Select[Any]:
    q = q.where(activities.c.org_id == org_id)
    if f.target_user_id is not None:
        q = q.where(activities.c.target_user_id == f.target_user_id)
    if f.target_group_id is not None:
        q = q.where(activities.c.target_group_id == f.target_group_id)
    if f.actor_id is not None:
        q = q.where(activities.c.actor_id == f.actor_id)
    if f.from_ is not None:
        q = q.where(activities.c.occurred_at >= f.from_)
    if f.to is not None:
        q = q.where(activities.c.occurred_at < f.to)
    if f.types:
        q = q.where(activities.c.type.in_(f.types))
    if f.search and f.search.strip():
        like = f"%{f.search.strip().lower().replace('%', '').replace('_', '')}%"
        q = q.where(
            or_(
                func.lower(activities.c.summary).like(like),
                func.lower(activities.c.actor_name).like(like),
                func.lower(activities.c.target_name).like(like),
                func.lower(activities.c.type).like(like),
            )
        )
    return q


async def list_activities(
    conn: AsyncConnection, org_id: int, f: ActivityFilter, before_id: int | None, limit: int
) -> list[Activity]:
    """Newest first, keyset-paginated on the id: page 1000 costs what page 1 costs."""
    q = _filtered(select(*COLUMNS), org_id, f)
    if before_id is not None:
        q = q.where(activities.c.id < before_id)
    rows = await conn.execute(q.order_by(activities.c.id.desc()).limit(limit))
    return [activity_from_row(r) for r in rows]


async def count_activities(conn: AsyncConnection, org_id: int, f: ActivityFilter) -> int:
    q = _filtered(select(func.count()).select_from(activities), org_id, f)
    return int((await conn.execute(q)).scalar_one())


async def latest_activities_by_user(
    conn: AsyncConnection, org_id: int, user_ids: Sequence[uuid.UUID], f: ActivityFilter,
    before_id: int | None, limit: int,
) -> dict[uuid.UUID, list[Activity]]:
    """The newest `limit` entries of each user, in one statement.

    PostgreSQL: a LATERAL index walk per user (`ORDER BY id DESC LIMIT n` on (org_id,
    target_user_id, id)), so a user with 60,000 entries costs what one with 60 does. SQLite: a
    window per user (it reads each listed user's entries; fine at embedded sizes). Without the
    details (SUMMARY_COLUMNS)."""
    if not user_ids:
        return {}
    ids = list(dict.fromkeys(user_ids))
    if conn.dialect.name == "postgresql":
        wanted = func.unnest(bindparam("ids", ids, type_=ARRAY(UUID))).table_valued("id").render_derived(name="wanted")
        one = _filtered(select(*SUMMARY_COLUMNS), org_id, f).where(activities.c.target_user_id == wanted.c.id)
        if before_id is not None:
            one = one.where(activities.c.id < before_id)
        walk = one.order_by(activities.c.id.desc()).limit(limit).lateral("walk")
        q = select(walk).select_from(wanted).join(walk, literal(True))
    else:
        base = _filtered(select(*SUMMARY_COLUMNS), org_id, f).where(activities.c.target_user_id.in_(ids))
        if before_id is not None:
            base = base.where(activities.c.id < before_id)
        ranked = base.add_columns(
            func.row_number().over(partition_by=activities.c.target_user_id, order_by=activities.c.id.desc())
            .label("rn")
        ).subquery()
        q = select(*(ranked.c[col.name] for col in SUMMARY_COLUMNS)).where(ranked.c.rn <= limit)
    out: dict[uuid.UUID, list[Activity]] = defaultdict(list)
    for r in await conn.execute(q):
        out[r.target_user_id].append(activity_from_row(r))
    for rows in out.values():
        rows.sort(key=lambda a: a.id or 0, reverse=True)
    return {i: out.get(i, []) for i in user_ids}


async def count_activities_by_user(
    conn: AsyncConnection, org_id: int, user_ids: Sequence[uuid.UUID], f: ActivityFilter
) -> dict[uuid.UUID, int]:
    q = (
        _filtered(select(activities.c.target_user_id, func.count()), org_id, f)
        .where(activities.c.target_user_id.in_(user_ids))
        .group_by(activities.c.target_user_id)
    )
    counts = {r[0]: int(r[1]) for r in await conn.execute(q)}
    return {i: counts.get(i, 0) for i in user_ids}


async def activity_details(conn: AsyncConnection, org_id: int, ids: Sequence[int]) -> dict[int, dict[str, Any]]:
    rows = await conn.execute(
        select(activities.c.id, activities.c.details).where(activities.c.org_id == org_id, activities.c.id.in_(ids))
    )
    return {r.id: r.details or {} for r in rows}


async def activity_by_id(conn: AsyncConnection, org_id: int, activity_id: int) -> Activity | None:
    q = select(*COLUMNS).where(activities.c.org_id == org_id, activities.c.id == activity_id)
    row = (await conn.execute(q)).first()
    return activity_from_row(row) if row else None
