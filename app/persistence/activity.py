"""History entries: written by every use case, read per user (batched) and organisation-wide."""

from __future__ import annotations

import json
import uuid
from collections import defaultdict
from collections.abc import Sequence
from typing import Any

from sqlalchemy import Select, bindparam, func, insert, literal, or_, select, text
from sqlalchemy.dialects.postgresql import ARRAY
from sqlalchemy.ext.asyncio import AsyncConnection

from app.domain.activity.model import Activity, ActivityFilter, ActivityOutcome
from app.domain.activity.subjects import subjects_of
from app.observability import request_id_var
from app.persistence.base import UUID
from app.persistence.changes import record_changes
from app.persistence.db import Statements, fetch_rows, insert_many
from app.persistence.tables.activity import activities

COLUMNS = [
    activities.c.id, activities.c.org_id, activities.c.occurred_at, activities.c.actor_id,
    activities.c.actor_name, activities.c.type, activities.c.target_user_id, activities.c.target_group_id,
    activities.c.target_name,
    activities.c.summary, activities.c.request_id, activities.c.outcome, activities.c.target_certificate_id,
    activities.c.target_power_of_attorney_id, activities.c.details,
]
# A user's history in a page of users: without the JSON details (the last column; decoding them is
# most of a row's cost, and a list rarely shows them); `activity_details` reads them when asked.
SUMMARY_COLUMNS = COLUMNS[:-1]


def activity_from_row(r: Any) -> Activity:
    """An entry from a row of COLUMNS, or of SUMMARY_COLUMNS (then `details` is empty); by position."""
    (id_, org_id, occurred_at, actor_id, actor_name, type_, target_user_id, target_group_id, target_name,
     summary, request_id, outcome, certificate_id, power_id) = r[:14]
    return Activity(
        id=id_, org_id=org_id, occurred_at=occurred_at, actor_id=actor_id, actor_name=actor_name or "",
        type=type_, target_user_id=target_user_id, target_name=target_name, summary=summary,
        details=(r[14] if len(r) > 14 else None) or {}, target_group_id=target_group_id,
        request_id=request_id, outcome=outcome_of(outcome), target_certificate_id=certificate_id,
        target_power_of_attorney_id=power_id,
    )


_OUTCOME = {m.value: m for m in ActivityOutcome}


def outcome_of(value: str) -> ActivityOutcome:
    return _OUTCOME[value]


def _row_of(a: Activity) -> dict[str, Any]:
    """The columns of a new entry: its subjects from the details (app/domain/activity/subjects.py) and
    the id of the request writing it (set by app.observability.RequestContext), unless given."""
    certificate, power = subjects_of(a.type, a.details)
    return {
        "org_id": a.org_id, "occurred_at": a.occurred_at, "actor_id": a.actor_id, "actor_name": a.actor_name,
        "type": a.type, "target_user_id": a.target_user_id, "target_group_id": a.target_group_id,
        "target_name": a.target_name, "summary": a.summary, "details": a.details,
        "request_id": a.request_id or request_id_var.get(), "outcome": a.outcome.value,
        "target_certificate_id": a.target_certificate_id or certificate,
        "target_power_of_attorney_id": a.target_power_of_attorney_id or power,
    }


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
        await self._conn.execute(insert(activities).values(**_row_of(activity)))
        await record_changes(self._conn, [activity])  # the change feed and webhooks, same transaction


    async def add_many(self, items: Sequence[Activity]) -> None:
        await insert_many(self._conn, activities, [{**_row_of(a), "org_id": self._org_id} for a in items])
        await record_changes(self._conn, items, org_id=self._org_id)


def _filtered(q: Select[Any], org_id: Any, f: ActivityFilter) -> Select[Any]:
    q = q.where(activities.c.org_id == org_id)
    if f.target_user_id is not None:
        q = q.where(activities.c.target_user_id == f.target_user_id)
    if f.target_group_id is not None:
        q = q.where(activities.c.target_group_id == f.target_group_id)
    if f.target_certificate_id is not None:
        q = q.where(activities.c.target_certificate_id == f.target_certificate_id)
    if f.target_power_of_attorney_id is not None:
        q = q.where(activities.c.target_power_of_attorney_id == f.target_power_of_attorney_id)
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
    conn: AsyncConnection, org_id: int, f: ActivityFilter, before_id: int | None, limit: int,
    *, ascending: bool = False,
) -> list[Activity]:
    """Newest first (oldest first when `ascending`), keyset-paginated on the id: page 1000 costs what
    page 1 costs. `before_id` is the cursor's id: entries past it in the order asked for."""
    q = _filtered(select(*COLUMNS), org_id, f)
    if before_id is not None:
        q = q.where(activities.c.id > before_id if ascending else activities.c.id < before_id)
    rows = await conn.execute(q.order_by(activities.c.id.asc() if ascending else activities.c.id.desc()).limit(limit))
    return [activity_from_row(r) for r in rows]


async def count_activities(conn: AsyncConnection, org_id: int, f: ActivityFilter) -> int:
    q = _filtered(select(func.count()).select_from(activities), org_id, f)
    return int((await conn.execute(q)).scalar_one())


_NO_FILTER = ActivityFilter()


def _latest_statement(dialect: str, paged: bool, f: ActivityFilter = _NO_FILTER,
                      columns: tuple[str, ...] | None = None) -> Any:
    """The newest `:limit` entries of each of `:ids` (org `:org`; below id `:before` when paged), as
    rows of SUMMARY_COLUMNS or of `columns` (summary_columns)."""
    cols = SUMMARY_COLUMNS if columns is None else [activities.c[name] for name in columns]
    if dialect == "postgresql":
        wanted = func.unnest(bindparam("ids", type_=ARRAY(UUID))).table_valued("id").render_derived(name="wanted")
        one = _filtered(select(*cols), bindparam("org"), f).where(activities.c.target_user_id == wanted.c.id)
        if paged:
            one = one.where(activities.c.id < bindparam("before"))
        walk = one.order_by(activities.c.id.desc()).limit(bindparam("limit")).lateral("walk")
        return select(walk).select_from(wanted).join(walk, literal(True))
    if f == _NO_FILTER:
        # SQLite has no LATERAL; a correlated `id IN (... ORDER BY id DESC LIMIT n)` per listed user
        # (`:ids` a JSON array of hex ids) walks the same index, n entries per user.
        names = ", ".join(f"a.{col.name}" for col in cols)
        return text(
            f"SELECT {names} FROM json_each(:ids) AS j JOIN activities AS a ON a.id IN ("
            " SELECT x.id FROM activities AS x WHERE x.org_id = :org AND x.target_user_id = j.value"
            + (" AND x.id < :before" if paged else "")
            + " ORDER BY x.id DESC LIMIT :limit)"
        ).columns(*cols)
    base = _filtered(select(*cols), bindparam("org"), f).where(
        activities.c.target_user_id.in_(bindparam("ids", expanding=True))
    )
    if paged:
        base = base.where(activities.c.id < bindparam("before"))
    ranked = base.add_columns(
        func.row_number().over(partition_by=activities.c.target_user_id, order_by=activities.c.id.desc()).label("rn")
    ).subquery()
    return select(*(ranked.c[col.name] for col in cols)).where(ranked.c.rn <= bindparam("limit"))


_SUMMARY_NAMES = frozenset(col.name for col in SUMMARY_COLUMNS)


def summary_columns(needed: frozenset[str]) -> tuple[str, ...]:
    """The columns of a narrowed latest_activity_rows_by_user read: `id` and `target_user_id` first
    (paging and grouping), then `needed` (columns of SUMMARY_COLUMNS) in name order."""
    unknown = needed - _SUMMARY_NAMES
    if unknown:
        raise ValueError(f"not summary columns of activities: {sorted(unknown)}")
    return ("id", "target_user_id", *sorted(needed - {"id", "target_user_id"}))


_LATEST = Statements(_latest_statement)


async def latest_activities_by_user(
    conn: AsyncConnection, org_id: int, user_ids: Sequence[uuid.UUID], f: ActivityFilter,
    before_id: int | None, limit: int,
) -> dict[uuid.UUID, list[Activity]]:
    """The newest `limit` entries of each user, in one statement (latest_activity_rows_by_user)."""
    found = await latest_activity_rows_by_user(conn, org_id, user_ids, f, before_id, limit)
    return {i: [activity_from_row(r) for r in rows] for i, rows in found.items()}


async def latest_activity_rows_by_user(
    conn: AsyncConnection, org_id: int, user_ids: Sequence[uuid.UUID], f: ActivityFilter,
    before_id: int | None, limit: int, columns: tuple[str, ...] | None = None,
) -> dict[uuid.UUID, list[Any]]:
    """The newest `limit` entries of each user, in one statement, as rows of SUMMARY_COLUMNS or of
    `columns` (summary_columns: what a compiled plan's selection reads; it makes no entries), newest first.

    PostgreSQL: a LATERAL index walk per user (`ORDER BY id DESC LIMIT n` on (org_id,
    target_user_id, id)), so a user with 60,000 entries costs what one with 60 does. SQLite: without
    a filter, a correlated `ORDER BY id DESC LIMIT n` per user on the same index; with one, a window
    per user (it reads each listed user's entries). Without the details (SUMMARY_COLUMNS); the
    unfiltered statements are built once per dialect."""
    if not user_ids:
        return {}
    ids = list(dict.fromkeys(user_ids))
    params: dict[str, Any] = {"ids": ids, "org": org_id, "limit": limit}
    if before_id is not None:
        params["before"] = before_id
    if f == _NO_FILTER:  # the usual case (a dashboard's latest entries): built once
        q = _LATEST.get(conn, before_id is not None, _NO_FILTER, columns)
        if conn.dialect.name != "postgresql":
            params["ids"] = json.dumps([i.hex for i in ids])
    else:
        q = _latest_statement(conn.dialect.name, before_id is not None, f, columns)
    user = 6 if columns is None else columns.index("target_user_id")
    out: dict[uuid.UUID, list[Any]] = defaultdict(list)
    for r in await fetch_rows(conn, q, params):
        out[r[user]].append(r)
    for rows in out.values():
        rows.sort(key=_newest_first)
    return {i: out.get(i, []) for i in user_ids}


def _newest_first(r: Any) -> int:
    return -(r[0] or 0)


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
