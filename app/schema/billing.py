"""Billing: organisation administrators change it; user administrators only view it."""

from __future__ import annotations

import strawberry
from strawberry.types import Info

from app.domain.billing import changes as uc
from app.domain.billing.model import Billing as DomainBilling
from app.domain.billing.model import BillingCounts as DomainCounts
from app.domain.billing.model import BillingMethod as DomainMethod
from app.domain.common.policy import Action
from app.persistence import billing as billing_sql
from app.persistence import organisations as organisations_sql
from app.schema.runtime.area import Area
from app.schema.runtime.base import UserError, in_unit_of_work, requires

BillingMethod = strawberry.enum(DomainMethod, name="BillingMethod")


@strawberry.type
class NemHandelDetails:
    ean: str | None
    name: str | None
    attention: str | None
    po_reference: str | None


@strawberry.type
class BillingCounts:
    users: int
    billable_users: int = strawberry.field(description="Users beyond the first three")
    separate_authenticators: int
    user_certificates: int
    organisation_certificates: int
    qualified_certificates: int

    @classmethod
    def of(cls, c: DomainCounts) -> BillingCounts:
        return cls(
            users=c.users, billable_users=c.billable_users, separate_authenticators=c.separate_authenticators,
            user_certificates=c.user_certificates, organisation_certificates=c.organisation_certificates,
            qualified_certificates=c.qualified_certificates,
        )


@strawberry.type
class Billing:
    method: BillingMethod
    nemhandel: NemHandelDetails | None
    email: str | None
    fixed_to_nemhandel: bool = strawberry.field(description="Public organisations are always invoiced via NemHandel")

    @strawberry.field(description="The counts that drive the price, from live data")
    async def counts(self, info: Info) -> BillingCounts:
        return BillingCounts.of(await info.context.reader.run(billing_sql.billing_counts))

    @classmethod
    def of(cls, b: DomainBilling, is_public: bool) -> Billing:
        nemhandel = None
        if b.method is DomainMethod.NEMHANDEL:
            nemhandel = NemHandelDetails(ean=b.ean, name=b.ean_name, attention=b.attention,
                                         po_reference=b.po_reference)
        return cls(method=b.method, nemhandel=nemhandel, email=b.email, fixed_to_nemhandel=is_public)


@strawberry.input
class UpdateBillingInput:
    method: BillingMethod
    ean: str | None = None
    ean_name: str | None = None
    attention: str | None = None
    po_reference: str | None = None
    email: str | None = None


@strawberry.type
class BillingPayload:
    billing: Billing | None
    user_errors: list[UserError]


@strawberry.type
class BillingQueries:
    @strawberry.field(permission_classes=requires(Action.VIEW_BILLING))
    async def billing(self, info: Info) -> Billing:
        reader = info.context.reader
        org = await reader.run(organisations_sql.load_organisation)
        return Billing.of(await reader.run(billing_sql.load_billing), org.is_public)


@strawberry.type
class BillingMutations:
    @strawberry.mutation(permission_classes=requires(Action.UPDATE_BILLING))
    async def update_billing(self, info: Info, input: UpdateBillingInput) -> BillingPayload:
        result, errors = await in_unit_of_work(
            info,
            lambda uow: uc.update_billing(
                uow, input.method.value, ean=input.ean, ean_name=input.ean_name, attention=input.attention,
                po_reference=input.po_reference, email=input.email,
            ),
        )
        if result is None:
            return BillingPayload(billing=None, user_errors=errors)
        org = await info.context.reader.run(organisations_sql.load_organisation)
        return BillingPayload(billing=Billing.of(result, org.is_public), user_errors=[])


AREA = Area(queries=(BillingQueries,), mutations=(BillingMutations,))
