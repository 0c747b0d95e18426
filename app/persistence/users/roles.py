"""The roles the gateway holds for people (`user_roles`): the unit of work's `roles`, scoped to one
organisation. Reads for the API (`User.roles`) are the users' batched reads (`roles_by_user`)."""

from __future__ import annotations

import uuid
from typing import Any

from sqlalchemy import Select, and_, delete, func, insert, literal, select, update
from sqlalchemy.ext.asyncio import AsyncConnection

from app.domain.common.principal import Role
from app.domain.users.model import UserStatus
from app.persistence.base import utc_now
from app.persistence.tables.organisations import organisations
from app.persistence.tables.users import user_roles, users


class SqlRoleRepository:
    """Every statement is scoped by the organisation given at construction: a user of another
    organisation has no roles here and gets none."""

    def __init__(self, conn: AsyncConnection, org_id: int, *, lock_rows: bool) -> None:
        self._conn = conn
        self._org_id = org_id
        self._lock_rows = lock_rows

    def _own_user(self) -> Select[Any]:
        return select(users.c.id).where(users.c.org_id == self._org_id)

    async def lock_role_changes(self) -> None:
        """Serialise role changes of the organisation until the transaction ends: on PostgreSQL a row
        lock on the organisation, so two administrators removing each other cannot both see the
        other one still there. FOR NO KEY UPDATE: it does not block (or deadlock with) the writes
        of other use cases, whose foreign keys to the organisation take FOR KEY SHARE. SQLite's
        writers are serialised already (BEGIN IMMEDIATE)."""
        if self._lock_rows:
            await self._conn.execute(
                select(organisations.c.id).where(organisations.c.id == self._org_id).with_for_update(key_share=True)
            )

    async def of(self, user_id: uuid.UUID) -> frozenset[Role]:
        q = select(user_roles.c.role).where(
            user_roles.c.user_id == user_id, user_roles.c.user_id.in_(self._own_user())
        )
        return frozenset(Role(r) for r in (await self._conn.execute(q)).scalars())

    async def add(self, user_id: uuid.UUID, role: Role) -> None:
        # INSERT ... SELECT: the row is written only for a user of this organisation.
        source = select(users.c.id, literal(role.value)).where(
            users.c.id == user_id, users.c.org_id == self._org_id
        )
        await self._conn.execute(insert(user_roles).from_select(["user_id", "role"], source))
        await self._touch(user_id)

    async def remove(self, user_id: uuid.UUID, role: Role) -> None:
        await self._conn.execute(
            delete(user_roles).where(
                and_(user_roles.c.user_id == user_id, user_roles.c.role == role.value),
                user_roles.c.user_id.in_(self._own_user()),
            )
        )
        await self._touch(user_id)

    async def _touch(self, user_id: uuid.UUID) -> None:
        """A role given or taken is a change of the user (`updated_at`)."""
        await self._conn.execute(
            update(users).where(users.c.id == user_id, users.c.org_id == self._org_id).values(updated_at=utc_now())
        )

    async def active_holders(self, role: Role) -> frozenset[uuid.UUID]:
        """The organisation's ACTIVE holders of `role` (a CSV delete batch checks them at once)."""
        q = (
            select(user_roles.c.user_id)
            .join(users, users.c.id == user_roles.c.user_id)
            .where(users.c.org_id == self._org_id, users.c.status == UserStatus.ACTIVE.value,
                   user_roles.c.role == role.value)
        )
        return frozenset((await self._conn.execute(q)).scalars())

    async def count_active_holders(self, role: Role) -> int:
        q = (
            select(func.count())
            .select_from(user_roles.join(users, users.c.id == user_roles.c.user_id))
            .where(
                users.c.org_id == self._org_id,
                users.c.status == UserStatus.ACTIVE.value,
                user_roles.c.role == role.value,
            )
        )
        return int((await self._conn.execute(q)).scalar_one())
