"""`seed-demo`: two organisations a newcomer can try everything on.

"Demo ApS" (CVR 12345674) and its partner "Partner Revision A/S" (CVR 11223346), each with two
P-units, an SE-number, one person in each role and a few dozen users in every status."""

from __future__ import annotations

import datetime as dt
import uuid
from dataclasses import dataclass

from sqlalchemy import func, select

from app.adapters.pki import pki_for
from app.bootstrap import Services
from app.domain.common.organisation import OrganisationSettings, PUnit, SeNumber
from app.domain.common.principal import Actor, Role
from app.domain.users import lifecycle as uc
from app.domain.users.deactivation import deactivate_user, delete_user
from app.domain.users.model import UserStatus
from app.domain.users.rules import NewUser
from app.persistence.db import write_transaction
from app.persistence.organisations import create_organisation
from app.persistence.tables.organisations import organisations

FIRST = ["Anne", "Bo", "Camilla", "Dennis", "Emma", "Frederik", "Gitte", "Henrik", "Ida", "Jonas",
         "Karen", "Lars", "Mette", "Niels", "Olivia", "Peter", "Rikke", "Søren", "Tove", "Ulrik"]
LAST = ["Hansen", "Jensen", "Nielsen", "Pedersen", "Andersen", "Christensen", "Larsen", "Sørensen",
        "Rasmussen", "Jørgensen", "Petersen", "Madsen", "Kristensen", "Olsen", "Thomsen"]


@dataclass(frozen=True)
class DemoOrg:
    cvr: str
    name: str
    domain: str
    p_units: tuple[PUnit, ...]
    se_number: SeNumber


DEMO = DemoOrg(
    "12345674", "Demo ApS", "demo.dk",
    (PUnit("1000000001", "Demo ApS, København", "Vesterbrogade 1, 1620 København V"),
     PUnit("1000000002", "Demo ApS, Aarhus", "Søndergade 2, 8000 Aarhus C")),
    SeNumber("12345674", "Demo ApS"),
)
PARTNER = DemoOrg(
    "11223346", "Partner Revision A/S", "partner-revision.dk",
    (PUnit("2000000001", "Partner Revision, Odense", "Vestergade 3, 5000 Odense C"),
     PUnit("2000000002", "Partner Revision, Aalborg", "Boulevarden 4, 9000 Aalborg")),
    SeNumber("11223346", "Partner Revision A/S"),
)

PEOPLE = [
    ("Olga", "Organisation", Role.ORGANISATION_ADMINISTRATOR),
    ("Ulla", "Useradmin", Role.USER_ADMINISTRATOR),
    ("Rasmus", "Rightsadmin", Role.RIGHTS_ADMINISTRATOR),
    ("Preben", "Plainuser", Role.USER),
]
STATUSES = [UserStatus.CREATED, UserStatus.PENDING_ACTIVATION, UserStatus.ACTIVE, UserStatus.DEACTIVATED,
            UserStatus.DELETED]


async def database_is_empty(services: Services) -> bool:
    async with services.engine.connect() as conn:
        return int((await conn.execute(select(func.count()).select_from(organisations))).scalar_one()) == 0


async def seed_demo(services: Services, users_per_status: int = 8) -> None:
    for index, org in enumerate((DEMO, PARTNER)):
        await _seed_org(services, org, index, users_per_status)
    await _seed_relations(services)


async def _seed_relations(services: Services) -> None:
    """What ties the two together: a custom group of Demo with a Partner accountant in it, a power
    of attorney from Demo to Partner, and Demo's billing by NemHandel."""
    from app.domain.billing import changes as billing
    from app.domain.powers_of_attorney import lifecycle as powers_of_attorney
    from app.domain.user_groups import external as group_externals
    from app.domain.user_groups import lifecycle as user_groups
    from app.domain.user_groups import members as group_members

    async with services.engine.connect() as conn:
        demo_id = (await conn.execute(select(organisations.c.id).where(organisations.c.cvr == DEMO.cvr))).scalar_one()
    oa = await person_with_role(services, DEMO.cvr, Role.ORGANISATION_ADMINISTRATOR)
    ua = await person_with_role(services, DEMO.cvr, Role.USER_ADMINISTRATOR)
    accountant = await person_with_role(services, PARTNER.cvr, Role.USER_ADMINISTRATOR)
    assert oa and ua and accountant
    async with services.unit_of_work(Actor(demo_id, DEMO.cvr, oa, frozenset({Role.ORGANISATION_ADMINISTRATOR}))) as uow:
        group = await user_groups.create_user_group(uow, user_groups.GroupInput(
            name="Bogholderi", description="Moms, refusion og årsrapport", rights=["SKAT.MOMS", "SKAT.REFUSION",
                                                                                 "ERST.REGNSKAB"],
        ))
        await powers_of_attorney.create_power_of_attorney(uow, powers_of_attorney.NewPowerOfAttorney(
            receiving_cvr=PARTNER.cvr, name="Revision og moms", rights=["SKAT.MOMS", "ERST.REGNSKAB"],
        ))
        await billing.update_billing(uow, "NEMHANDEL", ean="5790000000005", ean_name="Demo ApS bogholderi",
                                     attention="Att. Olga", po_reference=None, email=None)
        await uow.commit()
    async with services.unit_of_work(Actor(demo_id, DEMO.cvr, ua, frozenset({Role.USER_ADMINISTRATOR}))) as uow:
        await group_members.add_users_to_group(uow, group.id, [ua])
        # Through the search, as a client must: its handle is the only id the group accepts.
        found = await group_externals.find_external_users(uow, PARTNER.cvr, f"ulla@{PARTNER.domain}")
        assert [f.user.id for f in found] == [accountant]
        await group_externals.add_external_user_to_group(uow, group.id, found[0].handle)
        await uow.commit()


async def _seed_org(services: Services, org: DemoOrg, index: int, per_status: int) -> None:
    now = dt.datetime.now(dt.UTC)
    settings = OrganisationSettings(
        anonymity_allowed=True, default_p_number=org.p_units[0].p_number, default_se_number=org.se_number.se_number
    )
    async with write_transaction(services.engine) as conn:
        org_id = await create_organisation(
            conn, cvr=org.cvr, name=org.name, p_units=list(org.p_units), se_numbers=[org.se_number],
            settings=settings, now=now,
        )
    system = Actor(org_id, org.cvr, None, frozenset())
    async with services.unit_of_work(system) as uow:
        for first, last, role in PEOPLE:
            created = await uc.create_user(
                uow,
                NewUser(first_name=first, last_name=last, email=f"{first.lower()}@{org.domain}",
                           date_of_birth=f"19{70 + len(first)}-0{1 + index}-1{len(last) % 10}",
                           authenticators=["MITID_APP"]),
                send=False,
            )
            await activate_directly(uow, created.user, now)
            await uow.users.set_roles(created.user.id, [role])
        n = 0
        for status in STATUSES:
            for _ in range(per_status):
                first, last = FIRST[n % len(FIRST)], LAST[(n * 7 + index) % len(LAST)]
                use_cpr = n % 2 == 0
                day, month, year = 1 + n % 28, 1 + n % 12, 60 + n % 35
                created = await uc.create_user(
                    uow,
                    NewUser(
                        first_name=first, last_name=last,
                        email=f"{first.lower()}.{last.lower()}.{n}@{org.domain}".replace("ø", "oe"),
                        cpr=f"{day:02d}{month:02d}{year:02d}-{1000 + n * 3 + index:04d}" if use_cpr else None,
                        date_of_birth=None if use_cpr else f"19{year:02d}-{month:02d}-{day:02d}",
                        authenticators=["MITID_APP"] if n % 3 else ["PRIVATE_MITID", "CODE_DISPLAY"],
                        p_number=org.p_units[n % 2].p_number,
                        phone=f"+45 {20000000 + n:08d}" if n % 4 else None,
                        reference=f"EMP-{1000 + n}",
                    ),
                    send=False,
                )
                user = created.user
                if status is not UserStatus.CREATED:
                    await uc.send_for_activation(uow, user)
                if status in (UserStatus.ACTIVE, UserStatus.DEACTIVATED, UserStatus.DELETED):
                    await activate_directly(uow, user, now)
                if status is UserStatus.DEACTIVATED:
                    until = (now + dt.timedelta(days=30 + n)).date().isoformat() if n % 2 else None
                    await deactivate_user(uow, user.id, None, until)
                if status is UserStatus.DELETED:
                    await delete_user(uow, pki_for(services.settings), user.id)
                n += 1
        await uow.commit()


async def activate_directly(uow, user, now: dt.datetime) -> None:  # type: ignore[no-untyped-def]
    """The demo skips the person's own first login."""
    fresh = await uow.users.get(user.id)
    fresh.status = UserStatus.ACTIVE
    fresh.activated_at = fresh.last_login_at = now
    await uow.users.set_activation(user.id, token_hash=None, code_hash=None, expires_at=None)
    await uow.users.save(fresh)
    user.status, user.version = fresh.status, fresh.version


async def person_with_role(services: Services, cvr: str, role: Role) -> uuid.UUID | None:
    from app.persistence.tables.users import user_roles, users

    async with services.engine.connect() as conn:
        q = (
            select(users.c.id)
            .join(organisations, organisations.c.id == users.c.org_id)
            .join(user_roles, user_roles.c.user_id == users.c.id)
            .where(organisations.c.cvr == cvr, user_roles.c.role == role.value, users.c.status != "DELETED")
            .order_by(users.c.created_at)
            .limit(1)
        )
        return (await conn.execute(q)).scalar()
