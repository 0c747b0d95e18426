"""webhooks, their deliveries and the change feed (issue 17)

Revision ID: 0011
Revises: 0010

A reserved step of the chain (session 6): filled in by the work named above; empty until then.
"""
from __future__ import annotations

revision = "0011"
down_revision = "0010"
branch_labels = None
depends_on = None


def upgrade() -> None:
    pass


def downgrade() -> None:
    pass
