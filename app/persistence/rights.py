"""The rights catalogue (seeded by migrations): the same for every organisation."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncConnection

from app.domain.common.rights import Right, RightKind
from app.persistence.tables.rights import rights_catalogue


async def all_rights(conn: AsyncConnection) -> list[Right]:
    rows = await conn.execute(select(rights_catalogue).order_by(rights_catalogue.c.code))
    return [Right(r.code, r.name, r.description, RightKind(r.kind), r.service) for r in rows]


class SqlRightsCatalogue:
    def __init__(self, conn: AsyncConnection) -> None:
        self._conn = conn
        self._codes: frozenset[str] | None = None

    async def all(self) -> list[Right]:
        return await all_rights(self._conn)

    async def codes(self) -> frozenset[str]:
        if self._codes is None:
            self._codes = frozenset((await self._conn.execute(select(rights_catalogue.c.code))).scalars())
        return self._codes
