"""The change feed (one row per history entry, written with it) and webhooks: endpoints, the event
types each subscribes to, and one delivery per endpoint and change (its outbox)."""

from __future__ import annotations

from sqlalchemy import (
    BigInteger,
    Column,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    String,
    Table,
)

from app.persistence.base import UUID, BigId, UTCDateTime, metadata

# `txid` is the writing transaction's id on PostgreSQL (pg_current_xact_id), 0 on SQLite: the feed
# is ordered by (txid, id) and shows only transactions older than every one still running, so a
# cursor never passes a change that commits later with a smaller id.
change_log = Table(
    "change_log",
    metadata,
    Column("id", BigId, primary_key=True, autoincrement=True),
    Column("org_id", ForeignKey("organisations.id", ondelete="CASCADE"), nullable=False),
    Column("txid", BigInteger, nullable=False),
    Column("occurred_at", UTCDateTime, nullable=False),
    Column("event_type", String(60), nullable=False),
    Column("entity_type", String(40), nullable=False),
    Column("entity_id", String(40), nullable=False),
    Column("kind", String(10), nullable=False),
    Index("ix_change_log_org_position", "org_id", "txid", "id"),
    Index("ix_change_log_occurred_at", "occurred_at"),
)

webhook_endpoints = Table(
    "webhook_endpoints",
    metadata,
    Column("id", UUID, primary_key=True),
    Column("org_id", ForeignKey("organisations.id", ondelete="CASCADE"), nullable=False),
    Column("url", String(2000), nullable=False),
    Column("description", String(200), nullable=False),
    Column("secret_sealed", LargeBinary, nullable=False),  # AES-GCM under a key derived from DATA_KEY
    Column("status", String(10), nullable=False),
    Column("consecutive_failures", Integer, nullable=False),
    Column("created_at", UTCDateTime, nullable=False),
    Column("disabled_at", UTCDateTime),
    Index("ix_webhook_endpoints_org", "org_id", "created_at"),
)

webhook_subscriptions = Table(
    "webhook_subscriptions",
    metadata,
    Column("endpoint_id", ForeignKey("webhook_endpoints.id", ondelete="CASCADE"), primary_key=True),
    Column("event_type", String(60), primary_key=True),
    Column("org_id", ForeignKey("organisations.id", ondelete="CASCADE"), nullable=False),
    Index("ix_webhook_subscriptions_org_type", "org_id", "event_type"),
)

webhook_deliveries = Table(
    "webhook_deliveries",
    metadata,
    Column("id", BigId, primary_key=True, autoincrement=True),
    Column("endpoint_id", ForeignKey("webhook_endpoints.id", ondelete="CASCADE"), nullable=False),
    Column("change_id", ForeignKey("change_log.id", ondelete="CASCADE"), nullable=False),
    Column("event_type", String(60), nullable=False),
    Column("status", String(10), nullable=False),
    Column("attempts", Integer, nullable=False),
    Column("created_at", UTCDateTime, nullable=False),
    Column("next_attempt_at", UTCDateTime),
    Column("delivered_at", UTCDateTime),
    Column("last_response_code", Integer),
    Column("last_error", String(300)),
    Index("ix_webhook_deliveries_endpoint", "endpoint_id", "status", "id"),
    Index("ix_webhook_deliveries_due", "status", "next_attempt_at"),
    Index("ix_webhook_deliveries_change", "change_id"),
)
