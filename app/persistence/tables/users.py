"""Users, their roles, authenticators and rights, and anonymity requests."""

from __future__ import annotations

from sqlalchemy import (
    Boolean,
    Column,
    Date,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    String,
    Table,
    text,
)

from app.persistence.base import UUID, UTCDateTime, metadata, updated_at_column

users = Table(
    "users",
    metadata,
    Column("id", UUID, primary_key=True),
    Column("org_id", ForeignKey("organisations.id", ondelete="CASCADE"), nullable=False),
    Column("first_name", String(100), nullable=False),
    Column("last_name", String(100), nullable=False),
    Column("email", String(254), nullable=False),
    Column("email_lower", String(254), nullable=False),
    Column("phone", String(20)),
    Column("reference", String(200)),
    Column("identification", String(20), nullable=False),
    Column("cpr_hash", String(64)),
    Column("cpr_encrypted", LargeBinary),
    Column("cpr_masked", String(11)),
    Column("date_of_birth", Date),
    Column("anonymous", Boolean, nullable=False, server_default="0"),
    Column("status", String(20), nullable=False),
    Column("p_number", String(10)),
    Column("se_number", String(8)),
    Column("can_sign", Boolean, nullable=False, server_default="0"),
    Column("can_create_seal", Boolean, nullable=False, server_default="0"),
    Column("deactivated_from", UTCDateTime),
    Column("deactivated_until", UTCDateTime),
    Column("created_at", UTCDateTime, nullable=False),
    Column("activated_at", UTCDateTime),
    Column("last_login_at", UTCDateTime),
    Column("deleted_at", UTCDateTime),
    updated_at_column(),
    Column("last_seen_at", UTCDateTime),
    Column("activation_token_hash", String(64)),
    Column("activation_code_hash", String(200)),
    Column("activation_expires_at", UTCDateTime),
    Column("notification_channel", String(10), nullable=False, server_default="BOTH"),
    Column("version", Integer, nullable=False, server_default="1"),
    Index("ix_users_org_status", "org_id", "status"),
    Index("ix_users_org_name", "org_id", "last_name", "first_name"),
    Index(
        "uq_users_org_email_live",
        "org_id",
        "email_lower",
        unique=True,
        sqlite_where=text("status != 'DELETED'"),
        postgresql_where=text("status != 'DELETED'"),
    ),
    Index(
        "uq_users_org_cpr_live",
        "org_id",
        "cpr_hash",
        unique=True,
        sqlite_where=text("status != 'DELETED' AND cpr_hash IS NOT NULL"),
        postgresql_where=text("status != 'DELETED' AND cpr_hash IS NOT NULL"),
    ),
    Index("ix_users_activation_token", "activation_token_hash"),
)

user_roles = Table(
    "user_roles",
    metadata,
    Column("user_id", ForeignKey("users.id", ondelete="CASCADE"), primary_key=True),
    Column("role", String(40), primary_key=True),
)

user_authenticators = Table(
    "user_authenticators",
    metadata,
    Column("user_id", ForeignKey("users.id", ondelete="CASCADE"), primary_key=True),
    Column("kind", String(30), primary_key=True),
    Column("added_at", UTCDateTime, nullable=False),
)

user_rights = Table(
    "user_rights",
    metadata,
    Column("user_id", ForeignKey("users.id", ondelete="CASCADE"), primary_key=True),
    Column("code", String(64), primary_key=True),
)

anonymity_requests = Table(
    "anonymity_requests",
    metadata,
    Column("id", UUID, primary_key=True),
    Column("org_id", ForeignKey("organisations.id", ondelete="CASCADE"), nullable=False),
    Column("user_id", ForeignKey("users.id", ondelete="CASCADE"), nullable=False),
    Column("reason", String(500)),
    Column("status", String(20), nullable=False),
    Column("requested_at", UTCDateTime, nullable=False),
    Column("decided_at", UTCDateTime),
    Column("decided_by", UUID),
    Column("new_user_id", UUID),
    Index("ix_anonymity_requests_org_status", "org_id", "status"),
)
