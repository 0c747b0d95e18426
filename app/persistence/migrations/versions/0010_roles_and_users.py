"""user edits, roles held in the gateway (issue 16)

Revision ID: 0010
Revises: 0009

A reserved step of the chain (session 6): filled in by the work named above; empty until then.
"""
from __future__ import annotations

revision = "0010"
down_revision = "0009"
branch_labels = None
depends_on = None


def upgrade() -> None:
    pass


def downgrade() -> None:
    pass
