"""The cost budgets shared by every process of a deployment (PostgreSQL)."""

from __future__ import annotations

from sqlalchemy import Column, DateTime, Float, String, Table

from app.persistence.base import metadata

cost_budgets = Table(
    "cost_budgets",
    metadata,
    Column("key", String(80), primary_key=True),
    Column("level", Float, nullable=False),
    Column("granted", Float, nullable=False),
    Column("at", DateTime(timezone=True), nullable=False),
)
