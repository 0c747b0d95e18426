"""Employees' requests for a user account."""

from __future__ import annotations

from sqlalchemy import Column, ForeignKey, Index, String, Table, Text

from app.persistence.base import UUID, UTCDateTime, metadata

user_account_requests = Table(
    "user_account_requests",
    metadata,
    Column("id", UUID, primary_key=True),
    Column("org_id", ForeignKey("organisations.id", ondelete="CASCADE"), nullable=False),
    Column("first_name", String(100), nullable=False),
    Column("last_name", String(100), nullable=False),
    Column("email", String(254), nullable=False),
    Column("message", Text),
    Column("status", String(30), nullable=False),
    Column("created_at", UTCDateTime, nullable=False),
    # SHA-256 of the confirmation link's token (never the token); cleared once it is used.
    Column("token_hash", String(64)),
    Column("token_expires_at", UTCDateTime),
    Column("confirmed_at", UTCDateTime),
    Column("decided_at", UTCDateTime),
    Column("decided_by", UUID),
    Column("reject_reason", Text),
    Column("user_id", UUID),
    Index("ix_user_account_requests_org_status", "org_id", "status", "created_at"),
    Index("ix_user_account_requests_token_hash", "token_hash", unique=True),
)
