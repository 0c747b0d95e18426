"""employee requests for a user account (issue 16)

Revision ID: 0007
Revises: 0006

A reserved step of the chain (session 6): filled in by the work named above; empty until then.
"""
from __future__ import annotations

revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None


def upgrade() -> None:
    pass


def downgrade() -> None:
    pass
