"""Organisations, their P-units and SE numbers, and their settings."""

from __future__ import annotations

from sqlalchemy import (
    Boolean,
    Column,
    ForeignKey,
    Integer,
    String,
    Table,
)

from app.persistence.base import JSONType, UTCDateTime, metadata

organisations = Table(
    "organisations",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("cvr", String(8), nullable=False, unique=True),
    Column("name", String(200), nullable=False),
    Column("is_public", Boolean, nullable=False, server_default="0"),
    Column("created_at", UTCDateTime, nullable=False),
)

p_units = Table(
    "p_units",
    metadata,
    Column("org_id", ForeignKey("organisations.id", ondelete="CASCADE"), primary_key=True),
    Column("p_number", String(10), primary_key=True),
    Column("name", String(200), nullable=False),
    Column("address", String(300)),
)

se_numbers = Table(
    "se_numbers",
    metadata,
    Column("org_id", ForeignKey("organisations.id", ondelete="CASCADE"), primary_key=True),
    Column("se_number", String(8), primary_key=True),
    Column("name", String(200), nullable=False),
)

# --- settings ------------------------------------------------------------------------------------
organisation_settings = Table(
    "organisation_settings",
    metadata,
    Column("org_id", ForeignKey("organisations.id", ondelete="CASCADE"), primary_key=True),
    Column("employees_may_request_user", Boolean, nullable=False, server_default="0"),
    Column("anonymity_allowed", Boolean, nullable=False, server_default="0"),
    Column("required_fields", JSONType, nullable=False),
    Column("private_mitid_allowed", Boolean, nullable=False, server_default="1"),
    Column("allowed_authenticators", JSONType, nullable=False),
    Column("user_certificates_allowed", Boolean, nullable=False, server_default="1"),
    Column("organisation_certificates_allowed", Boolean, nullable=False, server_default="1"),
    Column("qualified_certificates_allowed", Boolean, nullable=False, server_default="0"),
    Column("default_p_number", String(10)),
    Column("default_se_number", String(8)),
)
