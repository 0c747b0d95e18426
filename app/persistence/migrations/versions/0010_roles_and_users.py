"""updatedAt on users, groups, certificates and powers of attorney; users' lastSeenAt (issue 17)

Revision ID: 0010
Revises: 0009

(The reserved step of the chain once named "user edits, roles held in the gateway"; that work needed
no schema change, so the step holds issue 17's `updated_at` / `last_seen_at` columns.)

`updated_at` (NOT NULL) on users, user_groups, certificates and powers_of_attorney, backfilled with
the latest time each row is known to have changed (a certificate's revocation, cancellation, issue
or order; a power of attorney's revocation or creation; a user's deletion, activation or creation;
a group's creation). `users.last_seen_at` (nullable): set by authenticated requests.

The column's server default is now() on PostgreSQL (rows written outside SQLAlchemy, such as the
benchmarks' COPY); SQLite adds a NOT NULL column only with a constant default, so there it is a
placeholder the backfill overwrites at once (the application always writes the column itself).
"""
from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0010"
down_revision = "0009"
branch_labels = None
depends_on = None

_BACKFILL = {
    "users": "COALESCE(deleted_at, activated_at, created_at)",
    "user_groups": "created_at",
    "certificates": "COALESCE(revoked_at, cancelled_at, issued_at, ordered_at)",
    "powers_of_attorney": "COALESCE(revoked_at, created_at)",
}

_SQLITE_PLACEHOLDER = "1970-01-01 00:00:00.000000"


def upgrade() -> None:
    sqlite = op.get_bind().dialect.name == "sqlite"
    # SQLite adds a column only with a constant default (the backfill overwrites it at once).
    default = sa.text(f"'{_SQLITE_PLACEHOLDER}'") if sqlite else sa.text("now()")
    for table, source in _BACKFILL.items():
        op.add_column(table, sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False, server_default=default))
        op.execute(f"UPDATE {table} SET updated_at = {source}")
    op.add_column("users", sa.Column("last_seen_at", sa.DateTime(timezone=True), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("users") as batch:
        batch.drop_column("last_seen_at")
    for table in reversed(list(_BACKFILL)):
        with op.batch_alter_table(table) as batch:
            batch.drop_column("updated_at")
