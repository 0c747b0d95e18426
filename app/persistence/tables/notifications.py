"""Notifications to people."""

from __future__ import annotations

from sqlalchemy import (
    Column,
    ForeignKey,
    Index,
    String,
    Table,
    Text,
)

from app.persistence.base import BigId, UTCDateTime, metadata

notifications = Table(
    "notifications",
    metadata,
    Column("id", BigId, primary_key=True, autoincrement=True),
    Column("org_id", ForeignKey("organisations.id", ondelete="CASCADE"), nullable=False),
    Column("recipient_id", ForeignKey("users.id", ondelete="CASCADE"), nullable=False),
    Column("kind", String(50), nullable=False),
    Column("title", String(200), nullable=False),
    Column("body", Text, nullable=False),
    Column("created_at", UTCDateTime, nullable=False),
    Column("read_at", UTCDateTime),
    Index("ix_notifications_recipient", "recipient_id", "id"),
)
