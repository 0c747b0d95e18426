"""User groups: the scoped repository, the two explicit cross-organisation operations, and the
batched reads behind the loaders."""

from __future__ import annotations

import datetime as dt
import uuid
from collections import defaultdict
from collections.abc import Sequence
from typing import Any

from sqlalchemy import and_, bindparam, delete, func, insert, literal, select, union_all, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncConnection

from app.domain.common.errors import DomainError
from app.domain.user_groups.model import (
    ExternalMembership,
    ExternalUser,
    GroupKind,
    GroupMember,
    UserGroup,
    UserGroupFilter,
)
from app.domain.users.model import UserStatus
from app.persistence.db import Statements, any_of
from app.persistence.tables import organisations, user_group_members, user_group_rights, user_groups, users

G = user_groups
M = user_group_members
R = user_group_rights
GROUP_COLUMNS = [G.c.id, G.c.org_id, G.c.kind, G.c.name, G.c.description, G.c.p_number, G.c.se_number,
                 G.c.created_at, G.c.version]


_KIND = {m.value: m for m in GroupKind}


def group_from_row(r: Any, start: int = 0) -> UserGroup:
    """A group from GROUP_COLUMNS at `start` in the row, by position (cheaper than by name)."""
    id_, org_id, kind, name, description, p_number, se_number, created_at, version = r[start:start + 9]
    return UserGroup(
        id=id_, org_id=org_id, kind=_KIND[kind], name=name, description=description,
        p_number=p_number, se_number=se_number, created_at=created_at, version=version,
    )


def _external_from_row(r: Any) -> ExternalUser:
    return ExternalUser(
        id=r.id, org_id=r.org_id, org_cvr=r.cvr, org_name=r.org_name, first_name=r.first_name,
        last_name=r.last_name, email=r.email, p_number=r.p_number, anonymous=r.anonymous,
    )


_EXTERNAL_COLUMNS = [users.c.id, users.c.org_id, organisations.c.cvr, organisations.c.name.label("org_name"),
                     users.c.first_name, users.c.last_name, users.c.email, users.c.p_number, users.c.anonymous]


def _activated_elsewhere(org_id: int) -> Any:
    """A partner's user that may be (or have been) a member: removal still finds a deactivated one."""
    return and_(users.c.org_id != org_id, users.c.activated_at.is_not(None), users.c.status != "DELETED")


def _active_elsewhere(org_id: int) -> Any:
    """A partner's user that may be found or added: ACTIVE only (not pending, deactivated or deleted)."""
    return and_(users.c.org_id != org_id, users.c.status == UserStatus.ACTIVE.value)


class SqlUserGroupRepository:
    def __init__(self, conn: AsyncConnection, org_id: int) -> None:
        self._conn = conn
        self._org_id = org_id

    def _own(self, group_id: uuid.UUID) -> Any:
        return and_(G.c.id == group_id, G.c.org_id == self._org_id)

    async def get(self, group_id: uuid.UUID) -> UserGroup | None:
        row = (await self._conn.execute(select(*GROUP_COLUMNS).where(self._own(group_id)))).first()
        return group_from_row(row) if row else None

    async def add(self, group: UserGroup) -> None:
        try:
            await self._conn.execute(insert(G).values(
                id=group.id, org_id=self._org_id, kind=group.kind.value, name=group.name,
                name_lower=group.name.lower(), description=group.description, p_number=group.p_number,
                se_number=group.se_number, created_at=group.created_at, version=group.version,
            ))
        except IntegrityError as exc:
            raise DomainError("DUPLICATE_NAME", "Another group already has this name", ["name"]) from exc

    async def save(self, group: UserGroup) -> None:
        try:
            result = await self._conn.execute(
                update(G).where(self._own(group.id), G.c.version == group.version).values(
                    name=group.name, name_lower=group.name.lower(), description=group.description,
                    p_number=group.p_number, se_number=group.se_number, version=group.version + 1,
                )
            )
        except IntegrityError as exc:
            raise DomainError("DUPLICATE_NAME", "Another group already has this name", ["name"]) from exc
        if result.rowcount != 1:
            raise DomainError("CONFLICT", "The group was changed by someone else; try again", ["groupId"])
        group.version += 1

    async def delete(self, group_id: uuid.UUID) -> None:
        if await self.get(group_id) is None:
            return
        await self._conn.execute(delete(M).where(M.c.group_id == group_id))
        await self._conn.execute(delete(R).where(R.c.group_id == group_id))
        await self._conn.execute(delete(G).where(self._own(group_id)))

    async def name_taken(self, name_lower: str, *, except_id: uuid.UUID | None) -> bool:
        q = select(G.c.id).where(G.c.org_id == self._org_id, G.c.name_lower == name_lower)
        if except_id is not None:
            q = q.where(G.c.id != except_id)
        return (await self._conn.execute(q)).first() is not None

    async def rights(self, group_id: uuid.UUID) -> list[str]:
        return (await rights_by_group(self._conn, self._org_id, [group_id]))[group_id]

    async def set_rights(self, group_id: uuid.UUID, codes: Sequence[str]) -> None:
        if await self.get(group_id) is None:
            return
        await self._conn.execute(delete(R).where(R.c.group_id == group_id))
        if codes:
            await self._conn.execute(insert(R), [{"group_id": group_id, "code": c} for c in codes])

    async def member_ids(self, group_id: uuid.UUID, user_ids: Sequence[uuid.UUID]) -> set[uuid.UUID]:
        q = (
            select(M.c.user_id)
            .join(G, G.c.id == M.c.group_id)
            .where(G.c.org_id == self._org_id, M.c.group_id == group_id, M.c.user_id.in_(list(user_ids)))
        )
        return set((await self._conn.execute(q)).scalars())

    async def add_members(
        self, group_id: uuid.UUID, members: Sequence[tuple[uuid.UUID, int, bool]], now: dt.datetime,
        added_by: uuid.UUID | None,
    ) -> None:
        if not members or await self.get(group_id) is None:
            return
        try:
            await self._conn.execute(insert(M), [
                {"group_id": group_id, "user_id": u, "member_org_id": o, "external": ext, "added_at": now,
                 "added_by": added_by}
                for u, o, ext in members
            ])
        except IntegrityError as exc:
            raise DomainError("CONFLICT", "The members changed meanwhile; try again", ["groupId"]) from exc

    async def remove_member(self, group_id: uuid.UUID, user_id: uuid.UUID, *, external: bool) -> bool:
        if await self.get(group_id) is None:
            return False
        result = await self._conn.execute(
            delete(M).where(M.c.group_id == group_id, M.c.user_id == user_id, M.c.external == external)
        )
        return result.rowcount > 0

    async def find_external_user(self, cvr: str, email_lower: str) -> ExternalUser | None:
        q = (
            select(*_EXTERNAL_COLUMNS)
            .join(organisations, organisations.c.id == users.c.org_id)
            .where(organisations.c.cvr == cvr, users.c.email_lower == email_lower, _active_elsewhere(self._org_id))
        )
        row = (await self._conn.execute(q)).first()
        return _external_from_row(row) if row else None

    async def external_user(self, user_id: uuid.UUID, *, active: bool = False) -> ExternalUser | None:
        """A partner's user by UUID; `active` asks for an ACTIVE one (adding), otherwise any
        activated, not deleted one (removing a member who has been deactivated since)."""
        where = _active_elsewhere(self._org_id) if active else _activated_elsewhere(self._org_id)
        q = (
            select(*_EXTERNAL_COLUMNS)
            .join(organisations, organisations.c.id == users.c.org_id)
            .where(users.c.id == user_id, where)
        )
        row = (await self._conn.execute(q)).first()
        return _external_from_row(row) if row else None

    async def external_member(self, user_id: uuid.UUID) -> ExternalUser | None:
        """A partner's user who is an external member of one of OUR groups (not deleted, as
        UserGroup.members shows them); anyone else is None, whatever their UUID."""
        q = (
            select(*_EXTERNAL_COLUMNS)
            .join(organisations, organisations.c.id == users.c.org_id)
            .join(M, M.c.user_id == users.c.id)
            .join(G, G.c.id == M.c.group_id)
            .where(users.c.id == user_id, users.c.org_id != self._org_id, users.c.status != UserStatus.DELETED.value,
                   G.c.org_id == self._org_id, M.c.external.is_(True))
            .limit(1)
        )
        row = (await self._conn.execute(q)).first()
        return _external_from_row(row) if row else None

    async def external_members(self, group_id: uuid.UUID) -> list[ExternalUser]:
        """The partner users in one of OUR groups (whose organisations are told when it goes)."""
        q = (
            select(*_EXTERNAL_COLUMNS)
            .join(organisations, organisations.c.id == users.c.org_id)
            .join(M, M.c.user_id == users.c.id)
            .join(G, G.c.id == M.c.group_id)
            .where(self._own(group_id), M.c.external.is_(True), users.c.status != UserStatus.DELETED.value)
            .order_by(users.c.id)
        )
        return [_external_from_row(r) for r in await self._conn.execute(q)]

    async def remove_own_user_from_foreign_group(
        self, group_id: uuid.UUID, user_id: uuid.UUID
    ) -> tuple[int, str, str] | None:
        """Only a membership of one of OUR users, as an external member of ANOTHER org's group."""
        q = (
            select(G.c.org_id, organisations.c.cvr, G.c.name)
            .join(M, M.c.group_id == G.c.id)
            .join(organisations, organisations.c.id == G.c.org_id)
            .where(M.c.group_id == group_id, M.c.user_id == user_id, M.c.member_org_id == self._org_id,
                   M.c.external.is_(True), G.c.org_id != self._org_id)
        )
        row = (await self._conn.execute(q)).first()
        if row is None:
            return None
        await self._conn.execute(delete(M).where(M.c.group_id == group_id, M.c.user_id == user_id))
        return row.org_id, row.cvr, row.name


# --- reads ---------------------------------------------------------------------------------------


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


def _groups_by_user_statement(dialect: str) -> Any:
    links = _user_group_links(dialect)
    return (
        select(links.c.user_id, *GROUP_COLUMNS)
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
    out: dict[uuid.UUID, list[UserGroup]] = defaultdict(list)
    for r in await conn.execute(_GROUPS_BY_USER.get(conn), {"org": org_id, "ids": list(user_ids)}):
        out[r[0]].append(group_from_row(r, 1))
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
