"""The activity log (history)."""

from __future__ import annotations

from sqlalchemy import (
    Column,
    ForeignKey,
    Index,
    String,
    Table,
)

from app.persistence.base import UUID, BigId, JSONType, UTCDateTime, metadata

activities = Table(
    "activities",
    metadata,
    Column("id", BigId, primary_key=True, autoincrement=True),
    Column("org_id", ForeignKey("organisations.id", ondelete="CASCADE"), nullable=False),
    Column("occurred_at", UTCDateTime, nullable=False),
    Column("actor_id", UUID),
    Column("actor_name", String(200)),
    Column("type", String(50), nullable=False),
    Column("target_user_id", UUID),
    Column("target_group_id", UUID),
    Column("target_name", String(200)),
    Column("summary", String(500), nullable=False),
    Column("details", JSONType, nullable=False),
    # Issue 17: the gateway's request id (X-Request-ID) of the request that wrote the entry (null for
    # the background jobs and entries older than 0009); the outcome of the recorded change.
    Column("request_id", String(100)),
    Column("outcome", String(20), nullable=False, server_default="SUCCEEDED"),
    Column("target_certificate_id", UUID),
    Column("target_power_of_attorney_id", UUID),
    Index("ix_activities_org_id", "org_id", "id"),
    Index("ix_activities_org_target", "org_id", "target_user_id", "id"),
    Index("ix_activities_org_type", "org_id", "type", "id"),
    Index("ix_activities_org_group", "org_id", "target_group_id", "id"),
    Index("ix_activities_org_certificate", "org_id", "target_certificate_id", "id"),
    Index("ix_activities_org_power_of_attorney", "org_id", "target_power_of_attorney_id", "id"),
)
