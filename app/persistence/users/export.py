"""The users export's reads: keyset pages in id order (no OFFSET, so page 1000 costs what page 1
costs) under the same filter as the `users` field, and each page's rights, authenticators and groups
in one statement each."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncConnection

from app.domain.users.model import User, UserFilter
from app.persistence.tables.users import users
from app.persistence.user_groups.reads import groups_by_user
from app.persistence.users.reads import authenticators_by_user, filtered, rights_by_user
from app.persistence.users.rows import USER_COLUMNS, user_from_row


@dataclass(frozen=True, slots=True)
class ExportedUser:
    user: User
    rights: list[str]
    authenticators: list[str]
    groups: list[str]


async def export_page(
    conn: AsyncConnection, org_id: int, f: UserFilter, after: uuid.UUID | None, limit: int
) -> list[ExportedUser]:
    q = filtered(select(*USER_COLUMNS), org_id, f)
    if after is not None:
        q = q.where(users.c.id > after)
    page = [user_from_row(r) for r in await conn.execute(q.order_by(users.c.id).limit(limit))]
    if not page:
        return []
    ids: Sequence[uuid.UUID] = [u.id for u in page]
    rights = await rights_by_user(conn, org_id, ids)
    authenticators = await authenticators_by_user(conn, org_id, ids)
    groups = await groups_by_user(conn, org_id, ids)
    return [
        ExportedUser(u, sorted(rights.get(u.id, [])), sorted(authenticators.get(u.id, [])),
                     [g.name for g in groups.get(u.id, [])])
        for u in page
    ]
