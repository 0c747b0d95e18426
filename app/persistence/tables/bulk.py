"""CSV import jobs."""

from __future__ import annotations

from sqlalchemy import (
    BigInteger,
    Boolean,
    Column,
    ForeignKey,
    Index,
    Integer,
    String,
    Table,
)

from app.persistence.base import UUID, JSONType, UTCDateTime, metadata

bulk_jobs = Table(
    "bulk_jobs",
    metadata,
    Column("id", UUID, primary_key=True),
    Column("org_id", ForeignKey("organisations.id", ondelete="CASCADE"), nullable=False),
    Column("created_by", UUID, nullable=False),
    Column("operation", String(10), nullable=False),
    Column("dry_run", Boolean, nullable=False),
    Column("status", String(10), nullable=False),
    Column("file_name", String(255)),
    Column("file_path", String(500)),
    Column("file_size", BigInteger, nullable=False, server_default="0"),
    Column("total", Integer),
    Column("processed", Integer, nullable=False, server_default="0"),
    Column("error_count", Integer, nullable=False, server_default="0"),
    Column("row_errors", JSONType, nullable=False),
    Column("result", JSONType),
    Column("created_at", UTCDateTime, nullable=False),
    Column("started_at", UTCDateTime),
    Column("finished_at", UTCDateTime),
    Column("claimed_until", UTCDateTime),
    Index("ix_bulk_jobs_org_created", "org_id", "created_at"),
    Index("ix_bulk_jobs_status", "status"),
)
