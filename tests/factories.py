"""Test data made through the same code paths the gateway uses."""

from __future__ import annotations

import datetime as dt
import itertools
import random
import uuid
from dataclasses import dataclass, field

from app.bootstrap import Services
from app.domain.common.organisation import OrganisationSettings, PUnit, SeNumber
from app.domain.common.principal import Actor, Role
from app.domain.users import lifecycle as uc
from app.domain.users.rules import NewUser
from app.entrypoints.cli.seed import activate_directly
from app.persistence.organisations import create_organisation

_WEIGHTS = (2, 7, 6, 5, 4, 3, 2, 1)
_counter = itertools.count(1)
# CVRs handed out by this process: ~9M valid numbers, and a session's database holds thousands of
# organisations, so random draws alone collide (the birthday bound) and fail a test at random.
_drawn: set[str] = {"12345674", "11223346"}  # also the demo's fixed ones


def fresh_cvr() -> str:
    """A valid CVR not handed out before in this process."""
    while (cvr := valid_cvr()) in _drawn:
        pass
    _drawn.add(cvr)
    return cvr


def valid_cvr(rng: random.Random | None = None) -> str:
    """A random 8-digit number passing the modulus-11 check (CVR and SE-numbers)."""
    rng = rng or random.Random()
    while True:
        head = [rng.randint(1, 9)] + [rng.randint(0, 9) for _ in range(6)]
        rest = sum(d * w for d, w in zip(head, _WEIGHTS, strict=False)) % 11
        check = (11 - rest) % 11
        if check < 10:
            return "".join(map(str, head)) + str(check)


@dataclass
class OrgFixture:
    org_id: int
    cvr: str
    name: str
    p_numbers: list[str]
    se_numbers: list[str]
    people: dict[Role, uuid.UUID] = field(default_factory=dict)
    emails: dict[Role, str] = field(default_factory=dict)

    def actor(self, role: Role | None = None) -> Actor:
        if role is None:
            return Actor(self.org_id, self.cvr, None, frozenset())
        return Actor(self.org_id, self.cvr, self.people[role], frozenset({role}))


async def make_org(
    services: Services, *, name: str = "Test ApS", settings: OrganisationSettings | None = None
) -> OrgFixture:
    n = next(_counter)
    cvr, se = fresh_cvr(), fresh_cvr()
    p_numbers = [f"{random.randint(1, 9)}{random.randint(0, 10**9 - 1):09d}" for _ in range(2)]
    settings = settings or OrganisationSettings(anonymity_allowed=True, default_p_number=p_numbers[0], default_se_number=cvr)
    async with services.engine.begin() as conn:
        org_id = await create_organisation(
            conn, cvr=cvr, name=f"{name} {n}",
            p_units=[PUnit(p, f"Unit {p}") for p in p_numbers],
            se_numbers=[SeNumber(cvr, name), SeNumber(se, f"{name} afdeling")],
            settings=settings, now=dt.datetime.now(dt.UTC),
        )
    fixture = OrgFixture(org_id, cvr, f"{name} {n}", p_numbers, [cvr, se])
    async with services.unit_of_work(fixture.actor()) as uow:
        for role in Role:
            email = f"{role.value.lower()}.{cvr}@example.dk"
            created = await uc.create_user(
                uow,
                NewUser(first_name=role.value.title().split("_")[0], last_name=f"Person{n}", email=email,
                           date_of_birth="1980-01-01"),
                send=False,
            )
            await activate_directly(uow, created.user, dt.datetime.now(dt.UTC))
            await uow.users.set_roles(created.user.id, [role])
            fixture.people[role] = created.user.id
            fixture.emails[role] = email
        await uow.commit()
    return fixture
