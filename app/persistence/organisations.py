"""Organisations, their P-units, SE-numbers and settings."""

from __future__ import annotations

import datetime as dt
import uuid

from sqlalchemy import insert, select, update
from sqlalchemy.ext.asyncio import AsyncConnection

from app.domain.common.organisation import Organisation, OrganisationSettings, PUnit, SeNumber
from app.persistence.tables.organisations import organisation_settings, organisations, p_units, se_numbers
from app.persistence.tables.user_groups import user_groups

p_units_t, se_numbers_t = p_units, se_numbers


async def load_organisation(conn: AsyncConnection, org_id: int) -> Organisation:
    row = (await conn.execute(select(organisations).where(organisations.c.id == org_id))).one()
    units = await conn.execute(
        select(p_units.c.p_number, p_units.c.name, p_units.c.address)
        .where(p_units.c.org_id == org_id)
        .order_by(p_units.c.p_number)
    )
    ses = await conn.execute(
        select(se_numbers.c.se_number, se_numbers.c.name)
        .where(se_numbers.c.org_id == org_id)
        .order_by(se_numbers.c.se_number)
    )
    return Organisation(
        id=row.id,
        cvr=row.cvr,
        name=row.name,
        is_public=row.is_public,
        p_units=[PUnit(r.p_number, r.name, r.address) for r in units],
        se_numbers=[SeNumber(r.se_number, r.name) for r in ses],
    )


async def load_settings(conn: AsyncConnection, org_id: int) -> OrganisationSettings:
    row = (
        await conn.execute(select(organisation_settings).where(organisation_settings.c.org_id == org_id))
    ).one_or_none()
    if row is None:
        return OrganisationSettings()
    return OrganisationSettings(
        employees_may_request_user=row.employees_may_request_user,
        anonymity_allowed=row.anonymity_allowed,
        required_fields=list(row.required_fields or []),
        private_mitid_allowed=row.private_mitid_allowed,
        allowed_authenticators=list(row.allowed_authenticators or []),
        user_certificates_allowed=row.user_certificates_allowed,
        organisation_certificates_allowed=row.organisation_certificates_allowed,
        qualified_certificates_allowed=row.qualified_certificates_allowed,
        default_p_number=row.default_p_number,
        default_se_number=row.default_se_number,
    )


def _settings_values(settings: OrganisationSettings) -> dict[str, object]:
    return {
        "employees_may_request_user": settings.employees_may_request_user,
        "anonymity_allowed": settings.anonymity_allowed,
        "required_fields": list(settings.required_fields),
        "private_mitid_allowed": settings.private_mitid_allowed,
        "allowed_authenticators": list(settings.allowed_authenticators),
        "user_certificates_allowed": settings.user_certificates_allowed,
        "organisation_certificates_allowed": settings.organisation_certificates_allowed,
        "qualified_certificates_allowed": settings.qualified_certificates_allowed,
        "default_p_number": settings.default_p_number,
        "default_se_number": settings.default_se_number,
    }


async def org_id_for_cvr(conn: AsyncConnection, cvr: str) -> int | None:
    return (await conn.execute(select(organisations.c.id).where(organisations.c.cvr == cvr))).scalar()


class SqlOrganisationRepository:
    """Scoped to one organisation: it cannot be asked about another."""

    def __init__(self, conn: AsyncConnection, org_id: int) -> None:
        self._conn = conn
        self._org_id = org_id

    async def get(self) -> Organisation:
        return await load_organisation(self._conn, self._org_id)

    async def get_settings(self) -> OrganisationSettings:
        return await load_settings(self._conn, self._org_id)

    async def save_settings(self, settings: OrganisationSettings) -> None:
        values = _settings_values(settings)
        result = await self._conn.execute(
            update(organisation_settings).where(organisation_settings.c.org_id == self._org_id).values(**values)
        )
        if result.rowcount == 0:
            await self._conn.execute(insert(organisation_settings).values(org_id=self._org_id, **values))


async def create_organisation(
    conn: AsyncConnection,
    *,
    cvr: str,
    name: str,
    p_units: list[PUnit],
    se_numbers: list[SeNumber],
    settings: OrganisationSettings,
    is_public: bool = False,
    now: dt.datetime,
) -> int:
    """Organisations come from the business register; this registers one here (seed, tests)."""
    org_id = (
        await conn.execute(
            insert(organisations)
            .values(cvr=cvr, name=name, is_public=is_public, created_at=now)
            .returning(organisations.c.id)
        )
    ).scalar_one()
    if p_units:
        await conn.execute(
            insert(p_units_t), [{"org_id": org_id, "p_number": p.p_number, "name": p.name, "address": p.address} for p in p_units]
        )
    if se_numbers:
        await conn.execute(
            insert(se_numbers_t), [{"org_id": org_id, "se_number": s.se_number, "name": s.name} for s in se_numbers]
        )
    await conn.execute(insert(organisation_settings).values(org_id=org_id, **_settings_values(settings)))
    if p_units:
        # Every P-unit has its system group; its members are the users attached to the unit.
        await conn.execute(insert(user_groups), [
            {"id": uuid.uuid4(), "org_id": org_id, "kind": "SYSTEM", "name": f"P-enhed {p.p_number}",
             "name_lower": f"p-enhed {p.p_number}", "description": f"Alle brugere i {p.name}", "p_number": p.p_number,
             "created_at": now}
            for p in p_units
        ])
    return int(org_id)
