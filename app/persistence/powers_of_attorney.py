"""Powers of attorney: written by the granting organisation, read by both the granting and the
receiving one (by its CVR) — the receiving side's read is the explicit cross-organisation one."""

from __future__ import annotations

import uuid
from collections import defaultdict
from collections.abc import Sequence
from typing import Any

from sqlalchemy import delete, func, insert, select, update
from sqlalchemy.ext.asyncio import AsyncConnection

from app.domain.powers_of_attorney.model import PowerOfAttorney
from app.persistence.base import utc_now
from app.persistence.tables.organisations import organisations
from app.persistence.tables.powers_of_attorney import power_of_attorney_rights, powers_of_attorney

P = powers_of_attorney
PR = power_of_attorney_rights
granting = organisations.alias("granting")
receiving = organisations.alias("receiving")
COLUMNS = [P.c.id, P.c.granting_org_id, granting.c.cvr.label("granting_cvr"), granting.c.name.label("granting_name"),
           P.c.receiving_cvr, receiving.c.name.label("receiving_name"), P.c.name, P.c.p_number, P.c.se_number,
           P.c.valid_from, P.c.valid_until, P.c.created_at, P.c.revoked_at, P.c.updated_at]


def _base() -> Any:
    return (
        select(*COLUMNS)
        .join(granting, granting.c.id == P.c.granting_org_id)
        .outerjoin(receiving, receiving.c.cvr == P.c.receiving_cvr)
    )


def _from_row(r: Any, rights: list[str]) -> PowerOfAttorney:
    return PowerOfAttorney(
        id=r.id, granting_org_id=r.granting_org_id, granting_cvr=r.granting_cvr, granting_name=r.granting_name,
        receiving_cvr=r.receiving_cvr, receiving_name=r.receiving_name, name=r.name, rights=rights,
        p_number=r.p_number, se_number=r.se_number, valid_from=r.valid_from, valid_until=r.valid_until,
        created_at=r.created_at, revoked_at=r.revoked_at, updated_at=r.updated_at,
    )


async def _rights(conn: AsyncConnection, ids: Sequence[uuid.UUID]) -> dict[uuid.UUID, list[str]]:
    out: dict[uuid.UUID, list[str]] = defaultdict(list)
    if ids:
        q = select(PR.c.poa_id, PR.c.code).where(PR.c.poa_id.in_(list(ids))).order_by(PR.c.poa_id, PR.c.code)
        for r in await conn.execute(q):
            out[r.poa_id].append(r.code)
    return out


class SqlPowerOfAttorneyRepository:
    """Granted powers of attorney of one organisation."""

    def __init__(self, conn: AsyncConnection, org_id: int) -> None:
        self._conn = conn
        self._org_id = org_id

    async def add(self, poa: PowerOfAttorney) -> None:
        await self._conn.execute(insert(P).values(
            id=poa.id, granting_org_id=self._org_id, receiving_cvr=poa.receiving_cvr, name=poa.name,
            p_number=poa.p_number, se_number=poa.se_number, valid_from=poa.valid_from, valid_until=poa.valid_until,
            created_at=poa.created_at, revoked_at=poa.revoked_at, updated_at=poa.created_at,
        ))
        poa.updated_at = poa.created_at
        if poa.rights:
            await self._conn.execute(insert(PR), [{"poa_id": poa.id, "code": c} for c in poa.rights])

    async def get(self, poa_id: uuid.UUID) -> PowerOfAttorney | None:
        row = (await self._conn.execute(_base().where(P.c.id == poa_id, P.c.granting_org_id == self._org_id))).first()
        if row is None:
            return None
        return _from_row(row, (await _rights(self._conn, [row.id]))[row.id])

    async def save(self, poa: PowerOfAttorney) -> None:
        """The row and its rights; the row's update stamps `updated_at` (a change of either)."""
        now = utc_now()
        await self._conn.execute(
            update(P).where(P.c.id == poa.id, P.c.granting_org_id == self._org_id)
            .values(revoked_at=poa.revoked_at, updated_at=now)
        )
        poa.updated_at = now
        await self._conn.execute(delete(PR).where(PR.c.poa_id == poa.id))
        if poa.rights:
            await self._conn.execute(insert(PR), [{"poa_id": poa.id, "code": c} for c in poa.rights])

    async def receiving_organisation_id(self, cvr: str) -> int | None:
        """The one read past our organisation here: the organisation a power of attorney is given to,
        if it uses this gateway, so its administrators can be told (its id only; nothing else)."""
        found = (await self._conn.execute(select(organisations.c.id).where(organisations.c.cvr == cvr))).scalar()
        return None if found == self._org_id else found


async def list_powers(
    conn: AsyncConnection, org_id: int, org_cvr: str, received: bool, offset: int, limit: int
) -> tuple[list[PowerOfAttorney], int]:
    """GRANTED: ours. RECEIVED: those naming our CVR, whoever granted them."""
    where = P.c.receiving_cvr == org_cvr if received else P.c.granting_org_id == org_id
    rows = list(await conn.execute(_base().where(where).order_by(P.c.created_at.desc(), P.c.id).offset(offset).limit(limit)))
    total = int((await conn.execute(select(func.count()).select_from(P).where(where))).scalar_one())
    rights = await _rights(conn, [r.id for r in rows])
    return [_from_row(r, rights[r.id]) for r in rows], total


async def power_by_id(conn: AsyncConnection, org_id: int, org_cvr: str, poa_id: uuid.UUID) -> PowerOfAttorney | None:
    row = (await conn.execute(
        _base().where(P.c.id == poa_id, (P.c.granting_org_id == org_id) | (P.c.receiving_cvr == org_cvr))
    )).first()
    return _from_row(row, (await _rights(conn, [row.id]))[row.id]) if row else None
