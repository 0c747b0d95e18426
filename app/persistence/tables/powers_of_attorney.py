"""Powers of attorney and their rights."""

from __future__ import annotations

from sqlalchemy import (
    Column,
    Date,
    ForeignKey,
    Index,
    String,
    Table,
)

from app.persistence.base import UUID, UTCDateTime, metadata, updated_at_column

powers_of_attorney = Table(
    "powers_of_attorney",
    metadata,
    Column("id", UUID, primary_key=True),
    Column("granting_org_id", ForeignKey("organisations.id", ondelete="CASCADE"), nullable=False),
    Column("receiving_cvr", String(8), nullable=False),
    Column("name", String(200), nullable=False),
    Column("p_number", String(10)),
    Column("se_number", String(8)),
    Column("valid_from", Date),
    Column("valid_until", Date),
    Column("created_at", UTCDateTime, nullable=False),
    Column("revoked_at", UTCDateTime),
    updated_at_column(),
    Index("ix_powers_of_attorney_granting", "granting_org_id", "created_at"),
    Index("ix_powers_of_attorney_receiving", "receiving_cvr", "created_at"),
)

power_of_attorney_rights = Table(
    "power_of_attorney_rights",
    metadata,
    Column("poa_id", ForeignKey("powers_of_attorney.id", ondelete="CASCADE"), primary_key=True),
    Column("code", ForeignKey("rights_catalogue.code"), primary_key=True),
)
