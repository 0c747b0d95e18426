"""The rights catalogue every organisation shares."""

from __future__ import annotations

from sqlalchemy import (
    Column,
    String,
    Table,
)

from app.persistence.base import metadata

rights_catalogue = Table(
    "rights_catalogue",
    metadata,
    Column("code", String(64), primary_key=True),
    Column("name", String(200), nullable=False),
    Column("description", String(1000), nullable=False),
    Column("kind", String(10), nullable=False),  # INTERNAL / EXTERNAL
    Column("service", String(200), nullable=False),
)
