"""reporting: history request id and outcome, indexes for filters and aggregates (issue 17)

Revision ID: 0009
Revises: 0008

Each history entry gains the id of the request that wrote it, its outcome, and the certificate or
power of attorney it is about (backfilled from the details the use cases always wrote: a
certificate entry's `certificateId`, a power of attorney entry's `id`); indexes for the new
activity filters, the user and certificate filters and the two aggregates
(app/persistence/tables/reporting.py).
"""
from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0009"
down_revision = "0008"
branch_labels = None
depends_on = None

_UUID = sa.Uuid()

_INDEXES = [
    ("ix_activities_org_certificate", "activities", ["org_id", "target_certificate_id", "id"]),
    ("ix_activities_org_power_of_attorney", "activities", ["org_id", "target_power_of_attorney_id", "id"]),
    ("ix_users_org_report", "users", ["org_id", "status", "identification", "p_number"]),
    ("ix_users_org_created", "users", ["org_id", "created_at"]),
    ("ix_user_rights_code", "user_rights", ["code", "user_id"]),
    ("ix_user_authenticators_kind", "user_authenticators", ["kind", "user_id"]),
    ("ix_certificates_org_report", "certificates", ["org_id", "kind", "status", "not_after"]),
    ("ix_certificates_org_p_number", "certificates", ["org_id", "p_number"]),
    ("ix_certificates_org_se_number", "certificates", ["org_id", "se_number"]),
    ("ix_certificates_org_issued", "certificates", ["org_id", "issued_at"]),
    ("ix_certificates_org_revoked_at", "certificates", ["org_id", "revoked_at"]),
]


def _backfill() -> None:
    """Subjects of existing entries from their details (well-formed UUIDs only)."""
    if op.get_bind().dialect.name == "postgresql":
        uuid_re = "'^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$'"
        op.execute(
            "UPDATE activities SET target_certificate_id = CAST(details->>'certificateId' AS uuid)"
            f" WHERE details->>'certificateId' ~ {uuid_re}"
        )
        op.execute(
            "UPDATE activities SET target_power_of_attorney_id = CAST(details->>'id' AS uuid)"
            f" WHERE type LIKE 'POWER\\_OF\\_ATTORNEY\\_%' AND details->>'id' ~ {uuid_re}"
        )
    else:
        # SQLite keeps UUIDs as 32 hex digits (SQLAlchemy's Uuid without a native type).
        h = "[0-9a-fA-F]"
        uuid_glob = f"'{h * 8}-{h * 4}-{h * 4}-{h * 4}-{h * 12}'"
        op.execute(
            "UPDATE activities SET target_certificate_id = lower(replace(json_extract(details, '$.certificateId'), '-', ''))"
            f" WHERE json_extract(details, '$.certificateId') GLOB {uuid_glob}"
        )
        op.execute(
            "UPDATE activities SET target_power_of_attorney_id = lower(replace(json_extract(details, '$.id'), '-', ''))"
            f" WHERE type LIKE 'POWER_OF_ATTORNEY_%' AND json_extract(details, '$.id') GLOB {uuid_glob}"
        )


def upgrade() -> None:
    with op.batch_alter_table("activities") as batch:
        batch.add_column(sa.Column("request_id", sa.String(length=100), nullable=True))
        batch.add_column(sa.Column("outcome", sa.String(length=20), nullable=False, server_default="SUCCEEDED"))
        batch.add_column(sa.Column("target_certificate_id", _UUID, nullable=True))
        batch.add_column(sa.Column("target_power_of_attorney_id", _UUID, nullable=True))
    _backfill()
    for name, table, columns in _INDEXES:
        op.create_index(name, table, columns)


def downgrade() -> None:
    for name, table, _columns in reversed(_INDEXES):
        op.drop_index(name, table_name=table)
    with op.batch_alter_table("activities") as batch:
        for column in ("target_power_of_attorney_id", "target_certificate_id", "outcome", "request_id"):
            batch.drop_column(column)
