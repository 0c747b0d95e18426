"""root and issuing CA, OCSP responder (issue 15)

Revision ID: 0008
Revises: 0007

The issuing CA's row gains the root's certificate and CRL (the root's key stays outside the
database), the delegated OCSP responder's certificate and encrypted key, and the self-signed
certificate of a CA from before the hierarchy (its key and subject carry on, certified by the root).
"""
from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0008"
down_revision = "0007"
branch_labels = None
depends_on = None

COLUMNS = [
    ("root_certificate_pem", sa.Text),
    ("root_crl_pem", sa.Text),
    ("root_crl_next_update", lambda: sa.DateTime(timezone=True)),
    ("responder_certificate_pem", sa.Text),
    ("responder_key_pem", sa.Text),
    ("responder_not_after", lambda: sa.DateTime(timezone=True)),
    ("legacy_certificate_pem", sa.Text),
]


def upgrade() -> None:
    with op.batch_alter_table("certificate_authority") as batch:
        for name, kind in COLUMNS:
            batch.add_column(sa.Column(name, kind(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("certificate_authority") as batch:
        for name, _ in reversed(COLUMNS):
            batch.drop_column(name)
