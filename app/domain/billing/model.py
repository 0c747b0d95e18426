"""Billing: plain data, no ORM, no GraphQL."""

from __future__ import annotations

import enum
from dataclasses import dataclass


class BillingMethod(enum.StrEnum):
    NEMHANDEL = "NEMHANDEL"
    DIGITAL_POST = "DIGITAL_POST"
    EMAIL = "EMAIL"


@dataclass(slots=True)
class Billing:
    method: BillingMethod = BillingMethod.DIGITAL_POST
    ean: str | None = None
    ean_name: str | None = None
    attention: str | None = None
    po_reference: str | None = None
    email: str | None = None


@dataclass(slots=True, frozen=True)
class BillingCounts:
    """What drives the price, counted from live data."""

    users: int
    billable_users: int  # users beyond the first three
    separate_authenticators: int
    user_certificates: int
    organisation_certificates: int
    qualified_certificates: int
