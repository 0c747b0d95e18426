"""billing and powers of attorney

Revision ID: 0005
Revises: 0004
"""
from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "billing_accounts",
        sa.Column("org_id", sa.Integer(), nullable=False),
        sa.Column("method", sa.String(length=20), nullable=False),
        sa.Column("ean", sa.String(length=13), nullable=True),
        sa.Column("ean_name", sa.String(length=200), nullable=True),
        sa.Column("attention", sa.String(length=200), nullable=True),
        sa.Column("po_reference", sa.String(length=100), nullable=True),
        sa.Column("email", sa.String(length=254), nullable=True),
        sa.ForeignKeyConstraint(["org_id"], ["organisations.id"], name=op.f("fk_billing_accounts_org_id_organisations"),
                                ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("org_id", name=op.f("pk_billing_accounts")),
    )
    op.create_table(
        "powers_of_attorney",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("granting_org_id", sa.Integer(), nullable=False),
        sa.Column("receiving_cvr", sa.String(length=8), nullable=False),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("p_number", sa.String(length=10), nullable=True),
        sa.Column("se_number", sa.String(length=8), nullable=True),
        sa.Column("valid_from", sa.Date(), nullable=True),
        sa.Column("valid_until", sa.Date(), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("revoked_at", sa.DateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(["granting_org_id"], ["organisations.id"],
                                name=op.f("fk_powers_of_attorney_granting_org_id_organisations"), ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_powers_of_attorney")),
    )
    with op.batch_alter_table("powers_of_attorney", schema=None) as batch_op:
        batch_op.create_index("ix_powers_of_attorney_granting", ["granting_org_id", "created_at"], unique=False)
        batch_op.create_index("ix_powers_of_attorney_receiving", ["receiving_cvr", "created_at"], unique=False)
    op.create_table(
        "power_of_attorney_rights",
        sa.Column("poa_id", sa.Uuid(), nullable=False),
        sa.Column("code", sa.String(length=64), nullable=False),
        sa.ForeignKeyConstraint(["code"], ["rights_catalogue.code"],
                                name=op.f("fk_power_of_attorney_rights_code_rights_catalogue")),
        sa.ForeignKeyConstraint(["poa_id"], ["powers_of_attorney.id"],
                                name=op.f("fk_power_of_attorney_rights_poa_id_powers_of_attorney"), ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("poa_id", "code", name=op.f("pk_power_of_attorney_rights")),
    )


def downgrade() -> None:
    op.drop_table("power_of_attorney_rights")
    with op.batch_alter_table("powers_of_attorney", schema=None) as batch_op:
        batch_op.drop_index("ix_powers_of_attorney_receiving")
        batch_op.drop_index("ix_powers_of_attorney_granting")
    op.drop_table("powers_of_attorney")
    op.drop_table("billing_accounts")
