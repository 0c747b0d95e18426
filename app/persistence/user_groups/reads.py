"""User groups' reads: lists, counts and the batched reads behind the loaders (each
`query(conn, org_id, ...)`)."""

from __future__ import annotations

import uuid
from collections import defaultdict
from collections.abc import Sequence
from typing import Any

from sqlalchemy import and_, bindparam, func, literal, select, union_all
from sqlalchemy.ext.asyncio import AsyncConnection

from app.domain.user_groups.model import (
    ExternalMembership,
    GroupKind,
    GroupMember,
    UserGroup,
    UserGroupFilter,
)
from app.domain.users.model import UserStatus
from app.persistence.db import Statements, any_of, fetch_rows
from app.persistence.tables.organisations import organisations
from app.persistence.tables.user_groups import user_group_members, user_group_rights, user_groups
from app.persistence.tables.users import users
from app.persistence.user_groups.rows import GROUP_COLUMNS, group_from_row

G = user_groups
M = user_group_members
R = user_group_rights


def _group_filter(q: Any, org_id: int, f: UserGroupFilter) -> Any:
    q = q.where(G.c.org_id == org_id)
    if f.kind is not None:
        q = q.where(G.c.kind == f.kind.value)
    if f.search and f.search.strip():
        q = q.where(G.c.name_lower.like(f"%{f.search.strip().lower().replace('%', '').replace('_', '')}%"))
    return q


async def list_groups(conn: AsyncConnection, org_id: int, f: UserGroupFilter, offset: int, limit: int) -> list[UserGroup]:
    q = _group_filter(select(*GROUP_COLUMNS), org_id, f).order_by(G.c.kind, G.c.name_lower, G.c.id)
    return [group_from_row(r) for r in await conn.execute(q.offset(offset).limit(limit))]


async def count_groups(conn: AsyncConnection, org_id: int, f: UserGroupFilter) -> int:
    return int((await conn.execute(_group_filter(select(func.count()).select_from(G), org_id, f))).scalar_one())


async def groups_by_ids(conn: AsyncConnection, org_id: int, ids: Sequence[uuid.UUID]) -> dict[uuid.UUID, UserGroup]:
    rows = await conn.execute(select(*GROUP_COLUMNS).where(G.c.org_id == org_id, G.c.id.in_(list(ids))))
    return {r.id: group_from_row(r) for r in rows}


async def rights_by_group(conn: AsyncConnection, org_id: int, ids: Sequence[uuid.UUID]) -> dict[uuid.UUID, list[str]]:
    q = (
        select(R.c.group_id, R.c.code)
        .join(G, G.c.id == R.c.group_id)
        .where(G.c.org_id == org_id, R.c.group_id.in_(list(ids)))
        .order_by(R.c.group_id, R.c.code)
    )
    out: dict[uuid.UUID, list[str]] = defaultdict(list)
    for r in await conn.execute(q):
        out[r.group_id].append(r.code)
    return {i: out.get(i, []) for i in ids}


def _member_rows(org_id: int, group_ids: Sequence[uuid.UUID]) -> Any:
    """Members of custom groups (stored) and of system groups (the unit's live users), as one set."""
    member_org = organisations.alias("member_org")
    custom = (
        select(M.c.group_id, users.c.id.label("user_id"), M.c.external, users.c.first_name, users.c.last_name,
               users.c.anonymous, member_org.c.cvr, member_org.c.name.label("org_name"), users.c.p_number,
               M.c.added_at)
        .join(G, G.c.id == M.c.group_id)
        .join(users, users.c.id == M.c.user_id)
        .join(member_org, member_org.c.id == users.c.org_id)
        .where(G.c.org_id == org_id, G.c.id.in_(list(group_ids)), users.c.status != UserStatus.DELETED.value)
    )
    system = (
        select(G.c.id.label("group_id"), users.c.id.label("user_id"), literal(False).label("external"),
               users.c.first_name, users.c.last_name, users.c.anonymous, member_org.c.cvr,
               member_org.c.name.label("org_name"), users.c.p_number, literal(None).label("added_at"))
        .join(users, and_(users.c.org_id == G.c.org_id, users.c.p_number == G.c.p_number))
        .join(member_org, member_org.c.id == users.c.org_id)
        .where(G.c.org_id == org_id, G.c.id.in_(list(group_ids)), G.c.kind == GroupKind.SYSTEM.value,
               users.c.status != UserStatus.DELETED.value)
    )
    return union_all(custom, system).subquery()


async def members_by_group(
    conn: AsyncConnection, org_id: int, group_ids: Sequence[uuid.UUID], offset: int, limit: int
) -> dict[uuid.UUID, list[GroupMember]]:
    """A page of each group's members (by name) in one statement."""
    rows = _member_rows(org_id, group_ids)
    ranked = select(
        rows,
        func.row_number().over(partition_by=rows.c.group_id,
                               order_by=(rows.c.last_name, rows.c.first_name, rows.c.user_id)).label("rn"),
    ).subquery()
    q = select(ranked).where(ranked.c.rn > offset, ranked.c.rn <= offset + limit).order_by(ranked.c.group_id, ranked.c.rn)
    out: dict[uuid.UUID, list[GroupMember]] = defaultdict(list)
    for r in await conn.execute(q):
        out[r.group_id].append(GroupMember(
            group_id=r.group_id, user_id=r.user_id, external=bool(r.external), first_name=r.first_name,
            last_name=r.last_name, anonymous=bool(r.anonymous), org_cvr=r.cvr, org_name=r.org_name,
            p_number=r.p_number, added_at=r.added_at,
        ))
    return {g: out.get(g, []) for g in group_ids}


async def member_counts(conn: AsyncConnection, org_id: int, group_ids: Sequence[uuid.UUID]) -> dict[uuid.UUID, int]:
    rows = _member_rows(org_id, group_ids)
    q = select(rows.c.group_id, func.count()).group_by(rows.c.group_id)
    counts = {r[0]: int(r[1]) for r in await conn.execute(q)}
    return {g: counts.get(g, 0) for g in group_ids}


def _user_group_links(dialect: str) -> Any:
    """(user, group) for the users `:ids` of organisation `:org`: stored memberships of its groups and
    each user's P-unit's system group."""
    custom = (
        select(M.c.user_id, G.c.id.label("group_id"))
        .join(G, G.c.id == M.c.group_id)
        .where(G.c.org_id == bindparam("org"), any_of(M.c.user_id, "ids", dialect))
    )
    system = (
        select(users.c.id.label("user_id"), G.c.id.label("group_id"))
        .join(G, and_(G.c.org_id == users.c.org_id, G.c.p_number == users.c.p_number,
                      G.c.kind == GroupKind.SYSTEM.value))
        .where(users.c.org_id == bindparam("org"), any_of(users.c.id, "ids", dialect))
    )
    return union_all(custom, system).subquery()


def _groups_by_user_statement(dialect: str, columns: tuple[str, ...] | None = None) -> Any:
    links = _user_group_links(dialect)
    return (
        select(links.c.user_id, *(GROUP_COLUMNS if columns is None else [G.c[name] for name in columns]))
        .join(G, G.c.id == links.c.group_id)
        .order_by(links.c.user_id, G.c.kind, G.c.name_lower)
    )


def _group_rights_by_user_statement(dialect: str) -> Any:
    links = _user_group_links(dialect)
    return select(links.c.user_id, R.c.code).join(R, R.c.group_id == links.c.group_id).distinct()


_GROUPS_BY_USER = Statements(_groups_by_user_statement)
_GROUP_RIGHTS_BY_USER = Statements(_group_rights_by_user_statement)


async def groups_by_user(
    conn: AsyncConnection, org_id: int, user_ids: Sequence[uuid.UUID]
) -> dict[uuid.UUID, list[UserGroup]]:
    """Each user's groups (custom memberships and the P-unit's system group), by kind and name."""
    found = await group_rows_by_user(conn, org_id, user_ids)
    return {u: [group_from_row(r) for r in rows] for u, rows in found.items()}


_GROUP_NAMES = frozenset(c.name for c in GROUP_COLUMNS)


def group_columns(needed: frozenset[str]) -> tuple[str, ...]:
    """The columns of a narrowed group_rows_by_user read: `needed` (of GROUP_COLUMNS), in name order."""
    unknown = needed - _GROUP_NAMES
    if unknown:
        raise ValueError(f"not group columns: {sorted(unknown)}")
    return tuple(sorted(needed)) or ("id",)


async def group_rows_by_user(
    conn: AsyncConnection, org_id: int, user_ids: Sequence[uuid.UUID], columns: tuple[str, ...] | None = None
) -> dict[uuid.UUID, list[Any]]:
    """groups_by_user as rows of GROUP_COLUMNS, or of `columns` (group_columns: what a compiled plan's
    selection reads; it makes no groups)."""
    out: dict[uuid.UUID, list[Any]] = defaultdict(list)
    for r in await fetch_rows(conn, _GROUPS_BY_USER.get(conn, columns), {"org": org_id, "ids": list(user_ids)}):
        out[r[0]].append(r[1:])
    return {u: out.get(u, []) for u in user_ids}


async def group_rights_by_user(
    conn: AsyncConnection, org_id: int, user_ids: Sequence[uuid.UUID]
) -> dict[uuid.UUID, list[str]]:
    out: dict[uuid.UUID, set[str]] = defaultdict(set)
    for user_id, code in await conn.execute(_GROUP_RIGHTS_BY_USER.get(conn), {"org": org_id, "ids": list(user_ids)}):
        out[user_id].add(code)
    return {u: sorted(out.get(u, set())) for u in user_ids}


async def external_memberships(
    conn: AsyncConnection, org_id: int, offset: int, limit: int
) -> tuple[list[ExternalMembership], int]:
    """The partner view: where OUR users are external members of other organisations' groups."""
    owner = organisations.alias("owner")
    base = (
        select(M.c.group_id, G.c.name, owner.c.cvr, owner.c.name.label("owner_name"), M.c.user_id, M.c.added_at)
        .join(G, G.c.id == M.c.group_id)
        .join(owner, owner.c.id == G.c.org_id)
        .join(users, users.c.id == M.c.user_id)
        .where(M.c.member_org_id == org_id, M.c.external.is_(True), G.c.org_id != org_id,
               users.c.org_id == org_id)
    )
    rows = await conn.execute(base.order_by(M.c.added_at.desc(), M.c.group_id, M.c.user_id).offset(offset).limit(limit))
    total = (await conn.execute(select(func.count()).select_from(base.subquery()))).scalar_one()
    return [
        ExternalMembership(r.group_id, r.name, r.cvr, r.owner_name, r.user_id, r.added_at) for r in rows
    ], int(total)
