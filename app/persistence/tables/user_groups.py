"""User groups, their rights and members (ours and partners')."""

from __future__ import annotations

from sqlalchemy import (
    Boolean,
    Column,
    ForeignKey,
    Index,
    Integer,
    String,
    Table,
)

from app.persistence.base import UUID, UTCDateTime, metadata, updated_at_column

user_groups = Table(
    "user_groups",
    metadata,
    Column("id", UUID, primary_key=True),
    Column("org_id", ForeignKey("organisations.id", ondelete="CASCADE"), nullable=False),
    Column("kind", String(10), nullable=False),  # SYSTEM / CUSTOM
    Column("name", String(200), nullable=False),
    Column("name_lower", String(200), nullable=False),
    Column("description", String(1000)),
    Column("p_number", String(10)),
    Column("se_number", String(8)),
    Column("created_at", UTCDateTime, nullable=False),
    updated_at_column(),
    Column("version", Integer, nullable=False, server_default="1"),
    Index("uq_user_groups_org_name", "org_id", "name_lower", unique=True),
    Index("ix_user_groups_org_kind", "org_id", "kind"),
)

user_group_rights = Table(
    "user_group_rights",
    metadata,
    Column("group_id", ForeignKey("user_groups.id", ondelete="CASCADE"), primary_key=True),
    Column("code", ForeignKey("rights_catalogue.code"), primary_key=True),
)

user_group_members = Table(
    "user_group_members",
    metadata,
    Column("group_id", ForeignKey("user_groups.id", ondelete="CASCADE"), primary_key=True),
    Column("user_id", ForeignKey("users.id", ondelete="CASCADE"), primary_key=True),
    Column("member_org_id", ForeignKey("organisations.id", ondelete="CASCADE"), nullable=False),
    Column("external", Boolean, nullable=False),
    Column("added_at", UTCDateTime, nullable=False),
    Column("added_by", UUID),
    Index("ix_user_group_members_user", "user_id"),
    Index("ix_user_group_members_member_org", "member_org_id", "external"),
)
