"""Billing details and the live counts that drive the price."""

from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy import func, insert, select, update
from sqlalchemy.ext.asyncio import AsyncConnection

from app.domain.billing.changes import billable_users
from app.domain.billing.model import Billing, BillingCounts, BillingMethod
from app.domain.common.organisation import SEPARATE_AUTHENTICATORS
from app.persistence.tables.billing import billing_accounts
from app.persistence.tables.certificates import certificates
from app.persistence.tables.users import user_authenticators, users

B = billing_accounts


def _from_row(r: Any) -> Billing:
    return Billing(
        method=BillingMethod(r.method), ean=r.ean, ean_name=r.ean_name, attention=r.attention,
        po_reference=r.po_reference, email=r.email,
    )


async def load_billing(conn: AsyncConnection, org_id: int) -> Billing:
    row = (await conn.execute(select(B).where(B.c.org_id == org_id))).first()
    return _from_row(row) if row else Billing()


class SqlBillingRepository:
    def __init__(self, conn: AsyncConnection, org_id: int) -> None:
        self._conn = conn
        self._org_id = org_id

    async def get(self) -> Billing:
        return await load_billing(self._conn, self._org_id)

    async def save(self, billing: Billing) -> None:
        values = {
            "method": billing.method.value, "ean": billing.ean, "ean_name": billing.ean_name,
            "attention": billing.attention, "po_reference": billing.po_reference, "email": billing.email,
        }
        result = await self._conn.execute(update(B).where(B.c.org_id == self._org_id).values(**values))
        if result.rowcount == 0:
            await self._conn.execute(insert(B).values(org_id=self._org_id, **values))


async def billing_counts(conn: AsyncConnection, org_id: int) -> BillingCounts:
    live = (users.c.org_id == org_id) & (users.c.status != "DELETED")
    user_count = int((await conn.execute(select(func.count()).select_from(users).where(live))).scalar_one())
    separate = int((await conn.execute(
        select(func.count())
        .select_from(user_authenticators.join(users, users.c.id == user_authenticators.c.user_id))
        .where(live, user_authenticators.c.kind.in_(sorted(SEPARATE_AUTHENTICATORS)))
    )).scalar_one())
    user_certs, org_certs, qualified = await _certificate_counts(conn, org_id)
    return BillingCounts(
        users=user_count, billable_users=billable_users(user_count), separate_authenticators=separate,
        user_certificates=user_certs, organisation_certificates=org_certs, qualified_certificates=qualified,
    )


async def _certificate_counts(conn: AsyncConnection, org_id: int) -> tuple[int, int, int]:
    """Issued, unexpired, unrevoked certificates by kind."""
    c = certificates.c
    q = (
        select(c.kind, c.type, func.count())
        .where(c.org_id == org_id, c.status == "ISSUED", c.not_after > dt.datetime.now(dt.UTC))
        .group_by(c.kind, c.type)
    )
    user_certs = org_certs = qualified = 0
    for kind, cert_type, n in await conn.execute(q):
        if kind == "USER":
            user_certs += n
        else:
            org_certs += n
        if cert_type == "QUALIFIED":
            qualified += n
    return user_certs, org_certs, qualified
