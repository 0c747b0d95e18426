"""Business powers of attorney, as the granting and as the receiving organisation sees them."""

from __future__ import annotations

import datetime as dt
import enum

import strawberry
from strawberry.types import Info

from app.domain.common.policy import Action, is_allowed
from app.domain.powers_of_attorney import lifecycle as uc
from app.domain.powers_of_attorney.model import PowerOfAttorney as DomainPower
from app.domain.powers_of_attorney.model import PowerOfAttorneyStatus as DomainStatus
from app.persistence import powers_of_attorney as powers_of_attorney_sql
from app.schema.runtime.area import Area
from app.schema.runtime.base import (
    Node,
    PageInfo,
    UserError,
    decode_cursor,
    encode_cursor,
    in_unit_of_work,
    not_found,
    page_info_of,
    page_size,
    requires,
    to_global_id,
    uuid_of,
)
from app.schema.runtime.context import Context
from app.schema.user_groups.external import ExternalOrganisation
from app.schema.user_groups.types import RightNode, rights_named

PowerOfAttorneyStatus = strawberry.enum(DomainStatus, name="PowerOfAttorneyStatus")


@strawberry.enum
class PowerOfAttorneyDirection(enum.Enum):
    GRANTED = "GRANTED"
    RECEIVED = "RECEIVED"


@strawberry.type(name="PowerOfAttorney")
class PowerOfAttorneyNode(Node):
    id: strawberry.ID
    name: str
    granted_by: ExternalOrganisation
    granted_to: ExternalOrganisation = strawberry.field(description="Name is null when not registered here")
    p_number: str | None
    se_number: str | None
    valid_from: dt.date | None
    valid_until: dt.date | None
    status: PowerOfAttorneyStatus
    created_at: dt.datetime
    revoked_at: dt.datetime | None
    updated_at: dt.datetime = strawberry.field(description="The latest change (a revocation)")
    _rights: strawberry.Private[list[str]]

    @strawberry.field
    async def rights(self, info: Info) -> list[RightNode]:
        return await rights_named(info, self._rights)

    @classmethod
    async def resolve_node(cls, info: Info, id: str) -> PowerOfAttorneyNode | None:
        """node(id:): viewers of powers of attorney, one our organisation granted or received."""
        principal = info.context.principal
        if principal is None or not is_allowed(principal.roles, Action.VIEW_POWERS_OF_ATTORNEY):
            return None
        return await load_power(info, id)

    @classmethod
    def of(cls, p: DomainPower, today: dt.date) -> PowerOfAttorneyNode:
        return cls(
            id=to_global_id("PowerOfAttorney", p.id), name=p.name,
            granted_by=ExternalOrganisation(cvr=p.granting_cvr, name=p.granting_name),
            granted_to=ExternalOrganisation(cvr=p.receiving_cvr, name=p.receiving_name or ""),
            p_number=p.p_number, se_number=p.se_number, valid_from=p.valid_from, valid_until=p.valid_until,
            status=p.status(today), created_at=p.created_at, revoked_at=p.revoked_at,
            updated_at=p.updated_at or p.created_at, _rights=list(p.rights),
        )


@strawberry.type
class PowerOfAttorneyEdge:
    cursor: str
    node: PowerOfAttorneyNode


@strawberry.type
class PowerOfAttorneyConnection:
    edges: list[PowerOfAttorneyEdge]
    page_info: PageInfo
    total_count: int


@strawberry.input
class CreatePowerOfAttorneyInput:
    receiving_cvr: str
    name: str
    rights: list[str]
    p_number: str | None = None
    se_number: str | None = None
    valid_from: str | None = strawberry.field(default=None, description="ISO date")
    valid_until: str | None = strawberry.field(default=None, description="ISO date (inclusive)")


@strawberry.input
class RevokePowerOfAttorneyInput:
    power_of_attorney_id: strawberry.ID


@strawberry.type
class PowerOfAttorneyPayload:
    power_of_attorney: PowerOfAttorneyNode | None
    user_errors: list[UserError]


def _today(info: Info) -> dt.date:
    return info.context.services.platform.now().date()


async def load_power(info: Info, raw_id: str) -> PowerOfAttorneyNode | None:
    ctx: Context = info.context
    poa_id = uuid_of(raw_id, "PowerOfAttorney")
    if poa_id is None or ctx.actor is None:
        return None
    p = await ctx.reader.run(powers_of_attorney_sql.power_by_id, ctx.actor.org_cvr, poa_id)
    return PowerOfAttorneyNode.of(p, _today(info)) if p else None


@strawberry.type
class PowerOfAttorneyQueries:
    @strawberry.field(permission_classes=requires(Action.VIEW_POWERS_OF_ATTORNEY))
    async def powers_of_attorney(
        self, info: Info, direction: PowerOfAttorneyDirection = PowerOfAttorneyDirection.GRANTED,
        first: int | None = None, after: str | None = None,
    ) -> PowerOfAttorneyConnection:
        ctx: Context = info.context
        assert ctx.actor is not None
        limit = page_size(first)
        offset = decode_cursor(after, "Offset") or 0
        rows, total = await ctx.reader.run(powers_of_attorney_sql.list_powers, 
            ctx.actor.org_cvr, direction is PowerOfAttorneyDirection.RECEIVED, offset, limit
        )
        today = _today(info)
        edges = [PowerOfAttorneyEdge(cursor=encode_cursor("Offset", offset + i + 1),
                                     node=PowerOfAttorneyNode.of(p, today)) for i, p in enumerate(rows)]
        return PowerOfAttorneyConnection(
            edges=edges, total_count=total,
            page_info=page_info_of(edges, has_next=offset + len(rows) < total, has_previous=offset > 0),
        )


@strawberry.type
class PowerOfAttorneyMutations:
    @strawberry.mutation(permission_classes=requires(Action.MANAGE_POWERS_OF_ATTORNEY))
    async def create_power_of_attorney(self, info: Info, input: CreatePowerOfAttorneyInput) -> PowerOfAttorneyPayload:
        data = uc.NewPowerOfAttorney(
            receiving_cvr=input.receiving_cvr, name=input.name, rights=input.rights, p_number=input.p_number,
            se_number=input.se_number, valid_from=input.valid_from, valid_until=input.valid_until,
        )
        poa, errors = await in_unit_of_work(info, lambda uow: uc.create_power_of_attorney(uow, data))
        return PowerOfAttorneyPayload(
            power_of_attorney=await load_power(info, to_global_id("PowerOfAttorney", poa.id)) if poa else None,
            user_errors=errors,
        )

    @strawberry.mutation(permission_classes=requires(Action.MANAGE_POWERS_OF_ATTORNEY))
    async def revoke_power_of_attorney(self, info: Info, input: RevokePowerOfAttorneyInput) -> PowerOfAttorneyPayload:
        poa_id = uuid_of(input.power_of_attorney_id, "PowerOfAttorney")
        if poa_id is None:
            return PowerOfAttorneyPayload(power_of_attorney=None,
                                          user_errors=not_found("powerOfAttorneyId", "Power of attorney"))
        poa, errors = await in_unit_of_work(info, lambda uow: uc.revoke_power_of_attorney(uow, poa_id))
        return PowerOfAttorneyPayload(
            power_of_attorney=PowerOfAttorneyNode.of(poa, _today(info)) if poa else None, user_errors=errors
        )


AREA = Area(queries=(PowerOfAttorneyQueries,), mutations=(PowerOfAttorneyMutations,), types=(PowerOfAttorneyNode,))
