"""cost budgets shared by the processes of a deployment

Revision ID: 0006
Revises: 0005
"""
from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "cost_budgets",
        sa.Column("key", sa.String(length=80), nullable=False),
        sa.Column("level", sa.Float(), nullable=False),
        sa.Column("granted", sa.Float(), nullable=False),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("key", name=op.f("pk_cost_budgets")),
    )


def downgrade() -> None:
    op.drop_table("cost_budgets")
