"""Billing accounts."""

from __future__ import annotations

from sqlalchemy import (
    Column,
    ForeignKey,
    String,
    Table,
)

from app.persistence.base import metadata

billing_accounts = Table(
    "billing_accounts",
    metadata,
    Column("org_id", ForeignKey("organisations.id", ondelete="CASCADE"), primary_key=True),
    Column("method", String(20), nullable=False),
    Column("ean", String(13)),
    Column("ean_name", String(200)),
    Column("attention", String(200)),
    Column("po_reference", String(100)),
    Column("email", String(254)),
)
