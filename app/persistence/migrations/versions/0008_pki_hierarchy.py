"""root and issuing CA, OCSP responder (issue 15)

Revision ID: 0008
Revises: 0007

A reserved step of the chain (session 6): filled in by the work named above; empty until then.
"""
from __future__ import annotations

revision = "0008"
down_revision = "0007"
branch_labels = None
depends_on = None


def upgrade() -> None:
    pass


def downgrade() -> None:
    pass
