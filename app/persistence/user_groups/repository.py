"""The user groups' write repository, scoped to one organisation (the unit of work's `user_groups`),
with the two explicit cross-organisation operations: finding a partner's user and a partner's user
leaving our group."""

from __future__ import annotations

import datetime as dt
import uuid
from collections.abc import Sequence
from typing import Any

from sqlalchemy import and_, delete, insert, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncConnection

from app.domain.common.errors import DomainError
from app.domain.user_groups.model import ExternalUser, UserGroup
from app.domain.users.model import UserStatus
from app.persistence.base import utc_now
from app.persistence.tables.organisations import organisations
from app.persistence.tables.user_groups import user_group_members, user_group_rights, user_groups
from app.persistence.tables.users import users
from app.persistence.user_groups.reads import rights_by_group
from app.persistence.user_groups.rows import (
    EXTERNAL_COLUMNS,
    GROUP_COLUMNS,
    external_from_row,
    group_from_row,
)
from app.persistence.users.rows import chunks

G = user_groups
M = user_group_members
R = user_group_rights


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

    async def _touch(self, group_id: uuid.UUID, org_id: int | None = None) -> None:
        """The group's `updated_at` is now (its rights or members changed); `org_id`: a partner's
        group our user leaves."""
        await self._conn.execute(
            update(G).where(G.c.id == group_id, G.c.org_id == (org_id or self._org_id)).values(updated_at=utc_now())
        )

    async def _touch_users(self, user_ids: Any) -> None:
        """Our users' `updated_at` is now (their groups changed): `user_ids` a list or a subquery. A
        partner's users are not ours to change (their organisation does not show our groups as theirs)."""
        for chunk in chunks(user_ids) if isinstance(user_ids, list) else [user_ids]:
            if isinstance(chunk, list) and not chunk:
                continue
            await self._conn.execute(
                update(users).where(users.c.org_id == self._org_id, users.c.id.in_(chunk)).values(updated_at=utc_now())
            )

    async def get(self, group_id: uuid.UUID) -> UserGroup | None:
        row = (await self._conn.execute(select(*GROUP_COLUMNS).where(self._own(group_id)))).first()
        return group_from_row(row) if row else None

    async def add(self, group: UserGroup) -> None:
        try:
            await self._conn.execute(insert(G).values(
                id=group.id, org_id=self._org_id, kind=group.kind.value, name=group.name,
                name_lower=group.name.lower(), description=group.description, p_number=group.p_number,
                se_number=group.se_number, created_at=group.created_at, version=group.version,
                updated_at=group.created_at,
            ))
        except IntegrityError as exc:
            raise DomainError("DUPLICATE_NAME", "Another group already has this name", ["name"]) from exc
        group.updated_at = group.created_at

    async def save(self, group: UserGroup) -> None:
        now = utc_now()
        try:
            result = await self._conn.execute(
                update(G).where(self._own(group.id), G.c.version == group.version).values(
                    name=group.name, name_lower=group.name.lower(), description=group.description,
                    p_number=group.p_number, se_number=group.se_number, version=group.version + 1,
                    updated_at=now,
                )
            )
        except IntegrityError as exc:
            raise DomainError("DUPLICATE_NAME", "Another group already has this name", ["name"]) from exc
        if result.rowcount != 1:
            raise DomainError("CONFLICT", "The group was changed by someone else; try again", ["groupId"])
        group.version += 1
        group.updated_at = now

    async def delete(self, group_id: uuid.UUID) -> None:
        if await self.get(group_id) is None:
            return
        await self._touch_users(select(M.c.user_id).where(M.c.group_id == group_id))
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
        await self._touch(group_id)

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
        await self._touch(group_id)
        await self._touch_users([u for u, _o, ext in members if not ext])

    async def remove_member(self, group_id: uuid.UUID, user_id: uuid.UUID, *, external: bool) -> bool:
        if await self.get(group_id) is None:
            return False
        result = await self._conn.execute(
            delete(M).where(M.c.group_id == group_id, M.c.user_id == user_id, M.c.external == external)
        )
        if result.rowcount == 0:
            return False
        await self._touch(group_id)
        if not external:
            await self._touch_users([user_id])
        return True

    async def find_external_user(self, cvr: str, email_lower: str) -> ExternalUser | None:
        q = (
            select(*EXTERNAL_COLUMNS)
            .join(organisations, organisations.c.id == users.c.org_id)
            .where(organisations.c.cvr == cvr, users.c.email_lower == email_lower, _active_elsewhere(self._org_id))
        )
        row = (await self._conn.execute(q)).first()
        return external_from_row(row) if row else None

    async def external_user(self, user_id: uuid.UUID, *, active: bool = False) -> ExternalUser | None:
        """A partner's user by UUID; `active` asks for an ACTIVE one (adding), otherwise any
        activated, not deleted one (removing a member who has been deactivated since)."""
        where = _active_elsewhere(self._org_id) if active else _activated_elsewhere(self._org_id)
        q = (
            select(*EXTERNAL_COLUMNS)
            .join(organisations, organisations.c.id == users.c.org_id)
            .where(users.c.id == user_id, where)
        )
        row = (await self._conn.execute(q)).first()
        return external_from_row(row) if row else None

    async def external_member(self, user_id: uuid.UUID) -> ExternalUser | None:
        """A partner's user who is an external member of one of OUR groups (not deleted, as
        UserGroup.members shows them); anyone else is None, whatever their UUID."""
        q = (
            select(*EXTERNAL_COLUMNS)
            .join(organisations, organisations.c.id == users.c.org_id)
            .join(M, M.c.user_id == users.c.id)
            .join(G, G.c.id == M.c.group_id)
            .where(users.c.id == user_id, users.c.org_id != self._org_id, users.c.status != UserStatus.DELETED.value,
                   G.c.org_id == self._org_id, M.c.external.is_(True))
            .limit(1)
        )
        row = (await self._conn.execute(q)).first()
        return external_from_row(row) if row else None

    async def external_members(self, group_id: uuid.UUID) -> list[ExternalUser]:
        """The partner users in one of OUR groups (whose organisations are told when it goes)."""
        q = (
            select(*EXTERNAL_COLUMNS)
            .join(organisations, organisations.c.id == users.c.org_id)
            .join(M, M.c.user_id == users.c.id)
            .join(G, G.c.id == M.c.group_id)
            .where(self._own(group_id), M.c.external.is_(True), users.c.status != UserStatus.DELETED.value)
            .order_by(users.c.id)
        )
        return [external_from_row(r) for r in await self._conn.execute(q)]

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
        await self._touch(group_id, row.org_id)
        return row.org_id, row.cvr, row.name
