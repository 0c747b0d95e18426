"""reporting: history request id and outcome, indexes for filters and aggregates (issue 17)

Revision ID: 0009
Revises: 0008

A reserved step of the chain (session 6): filled in by the work named above; empty until then.
"""
from __future__ import annotations

revision = "0009"
down_revision = "0008"
branch_labels = None
depends_on = None


def upgrade() -> None:
    pass


def downgrade() -> None:
    pass
