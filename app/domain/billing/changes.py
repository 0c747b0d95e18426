"""Billing: how the organisation is invoiced. Organisation administrators change it; public
organisations are always invoiced through NemHandel."""

from __future__ import annotations

from app.domain.activity.history import ActivityType, record
from app.domain.billing.model import Billing, BillingMethod
from app.domain.common import identifiers as ids
from app.domain.common.errors import DomainError
from app.domain.common.ports import UnitOfWork
from app.domain.common.validation import Errors, optional

FREE_USERS = 3


def ean_is_valid(ean: str) -> bool:
    """13 digits with a GS1 (mod-10, weights 3 and 1 from the right) check digit."""
    if len(ean) != 13 or not ean.isascii() or not ean.isdigit():
        return False
    digits = [int(c) for c in ean]
    total = sum(d * (3 if i % 2 == 0 else 1) for i, d in enumerate(reversed(digits[:-1])))
    return (10 - total % 10) % 10 == digits[-1]


def billable_users(users: int) -> int:
    return max(0, users - FREE_USERS)


async def update_billing(
    uow: UnitOfWork, method: str, *, ean: str | None, ean_name: str | None, attention: str | None,
    po_reference: str | None, email: str | None,
) -> Billing:
    org = await uow.organisations.get()
    errors = Errors()
    try:
        chosen = BillingMethod(method)
    except ValueError as exc:
        raise DomainError("INVALID_METHOD", "Choose NEMHANDEL, DIGITAL_POST or EMAIL", ["method"]) from exc
    if org.is_public and chosen is not BillingMethod.NEMHANDEL:
        errors.add("PUBLIC_ORGANISATION", "Public organisations are invoiced through NemHandel", "method")
    billing = Billing(method=chosen)
    if chosen is BillingMethod.NEMHANDEL:
        billing.ean = optional(ean)
        billing.ean_name = optional(ean_name)
        billing.attention = optional(attention)
        billing.po_reference = optional(po_reference)
        if not billing.ean:
            errors.add("REQUIRED", "NemHandel needs an EAN number", "ean")
        elif not ean_is_valid(billing.ean):
            errors.add("INVALID_EAN", "An EAN number is 13 digits with a valid check digit", "ean")
        if not billing.ean_name:
            errors.add("REQUIRED", "NemHandel needs a name for the EAN number", "eanName")
    elif chosen is BillingMethod.EMAIL:
        billing.email = errors.check("email", ids.normalise_email, email or "")
    errors.raise_if_any()
    before = await uow.billing.get()
    if before != billing:
        await uow.billing.save(billing)
        await record(uow, ActivityType.BILLING_CHANGED, f"Billing method set to {chosen.value}",
                     details={"from": before.method.value, "to": chosen.value})
    return billing
