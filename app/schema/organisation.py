"""The caller and their organisation."""

from __future__ import annotations

import strawberry
from strawberry.types import Info

from app.domain.common.organisation import Organisation as DomainOrganisation
from app.domain.common.policy import Action, is_allowed
from app.persistence import organisations as organisations_sql
from app.schema.runtime.area import Area
from app.schema.runtime.base import Node, from_global_id, requires, to_global_id
from app.schema.runtime.context import Context
from app.schema.runtime.enums import Role
from app.schema.users.types import User, load_user


@strawberry.type
class PUnit:
    p_number: str
    name: str
    address: str | None


@strawberry.type
class SeNumber:
    se_number: str
    name: str


@strawberry.type
class Organisation(Node):
    id: strawberry.ID
    cvr: str
    name: str
    is_public: bool
    p_units: list[PUnit]
    se_numbers: list[SeNumber]

    @classmethod
    def of(cls, o: DomainOrganisation) -> Organisation:
        return cls(
            id=to_global_id("Organisation", o.cvr), cvr=o.cvr, name=o.name, is_public=o.is_public,
            p_units=[PUnit(p_number=p.p_number, name=p.name, address=p.address) for p in o.p_units],
            se_numbers=[SeNumber(se_number=s.se_number, name=s.name) for s in o.se_numbers],
        )

    @classmethod
    async def resolve_node(cls, info: Info, id: str) -> Organisation | None:
        """node(id:): as `organisation`, the caller's own; any other organisation's id is missing."""
        ctx: Context = info.context
        parsed = from_global_id(id)
        principal, actor = ctx.principal, ctx.actor
        if parsed is None or parsed[0] != "Organisation" or principal is None or actor is None:
            return None
        if parsed[1] != actor.org_cvr or not is_allowed(principal.roles, Action.VIEW_ORGANISATION):
            return None
        return cls.of(await ctx.reader.run(organisations_sql.load_organisation))


@strawberry.type
class Viewer:
    roles: list[Role]

    @strawberry.field
    async def user(self, info: Info) -> User | None:
        ctx: Context = info.context
        assert ctx.principal is not None
        return await load_user(info, ctx.principal.user_id)

    @strawberry.field
    async def organisation(self, info: Info) -> Organisation:
        return Organisation.of(await info.context.reader.run(organisations_sql.load_organisation))


@strawberry.type
class OrganisationQueries:
    @strawberry.field(permission_classes=requires(None))
    async def viewer(self, info: Info) -> Viewer:
        ctx: Context = info.context
        assert ctx.principal is not None
        return Viewer(roles=sorted(ctx.principal.roles))

    @strawberry.field(permission_classes=requires(Action.VIEW_ORGANISATION))
    async def organisation(self, info: Info) -> Organisation:
        return Organisation.of(await info.context.reader.run(organisations_sql.load_organisation))


AREA = Area(queries=(OrganisationQueries,))
