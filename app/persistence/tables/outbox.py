"""The transactional outbox of mail."""

from __future__ import annotations

from sqlalchemy import (
    Column,
    ForeignKey,
    Index,
    Integer,
    String,
    Table,
    Text,
)

from app.persistence.base import BigId, UTCDateTime, metadata

outbox = Table(
    "outbox",
    metadata,
    Column("id", BigId, primary_key=True, autoincrement=True),
    Column("org_id", ForeignKey("organisations.id", ondelete="CASCADE")),
    Column("recipient", String(254), nullable=False),
    Column("subject", String(300), nullable=False),
    Column("body", Text, nullable=False),
    Column("created_at", UTCDateTime, nullable=False),
    Column("attempts", Integer, nullable=False, server_default="0"),
    Column("next_attempt_at", UTCDateTime, nullable=False),
    Column("sent_at", UTCDateTime),
    Column("last_error", String(500)),
    Index("ix_outbox_pending", "sent_at", "next_attempt_at"),
)
