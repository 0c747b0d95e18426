"""`seed-demo` builds the documented demo: two organisations, a person per role, users in every status."""

from __future__ import annotations

from pathlib import Path

from sqlalchemy import func, select

from app.adapters.jwt import sign_token
from app.bootstrap import build_services
from app.config import Settings
from app.domain.common.principal import Role
from app.entrypoints.cli.seed import DEMO, PARTNER, database_is_empty, person_with_role, seed_demo
from app.persistence.migrate import upgrade
from app.persistence.tables.organisations import organisations
from app.persistence.tables.powers_of_attorney import powers_of_attorney
from app.persistence.tables.user_groups import user_group_members
from app.persistence.tables.users import users


async def test_seed_demo_creates_the_documented_organisations_people_and_relations(tmp_path: Path) -> None:
    settings = Settings.from_env({}, database_url=f"sqlite+aiosqlite:///{tmp_path / 'demo.db'}",
                                 mail_dir=str(tmp_path / "mail"))
    services = build_services(settings)
    try:
        await upgrade(services.engine)
        assert await database_is_empty(services)
        await seed_demo(services)
        assert not await database_is_empty(services)
        async with services.engine.connect() as conn:
            cvrs = sorted((await conn.execute(select(organisations.c.cvr))).scalars())
            statuses = dict((await conn.execute(
                select(users.c.status, func.count()).join(organisations, organisations.c.id == users.c.org_id)
                .where(organisations.c.cvr == DEMO.cvr).group_by(users.c.status)
            )).all())
            assert (await conn.execute(select(func.count()).select_from(user_group_members))).scalar_one() == 2
            assert (await conn.execute(select(powers_of_attorney.c.receiving_cvr))).scalar_one() == PARTNER.cvr
        assert cvrs == sorted([DEMO.cvr, PARTNER.cvr])
        assert set(statuses) == {"CREATED", "PENDING_ACTIVATION", "ACTIVE", "DEACTIVATED", "DELETED"}
        assert all(n >= 8 for n in statuses.values())
        for role in Role:
            person = await person_with_role(services, DEMO.cvr, role)
            assert person is not None
            assert services.verifier.verify(sign_token(settings, person, DEMO.cvr, [role])).roles == {role}
    finally:
        await services.engine.dispose()
