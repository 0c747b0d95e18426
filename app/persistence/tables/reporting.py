"""Indexes for the reports (issue 17): the aggregates (`userStats`, `certificateStats`) and the
filters on users and certificates. The tables are their areas'; what these indexes serve is here
(migration 0009 builds them; bench/reporting.py checks with EXPLAIN that PostgreSQL uses them)."""

from sqlalchemy import Index

from app.persistence.tables.certificates import certificates
from app.persistence.tables.users import user_authenticators, user_rights, users

C = certificates.c

REPORTING_INDEXES = (
    # userStats: status x identification x P-unit of the organisation's users, from the index alone.
    Index("ix_users_org_report", users.c.org_id, users.c.status, users.c.identification, users.c.p_number),
    # users(filter: {createdFrom, createdTo})
    Index("ix_users_org_created", users.c.org_id, users.c.created_at),
    # users(filter: {right}) and users(filter: {authenticator}): from the value to the users.
    Index("ix_user_rights_code", user_rights.c.code, user_rights.c.user_id),
    Index("ix_user_authenticators_kind", user_authenticators.c.kind, user_authenticators.c.user_id),
    # certificateStats: kind x status x notAfter (EXPIRED and expiring soon), from the index alone.
    Index("ix_certificates_org_report", C.org_id, C.kind, C.status, C.not_after),
    # certificates(filter: {pNumber, seNumber, issuedFrom/To, revokedFrom/To})
    Index("ix_certificates_org_p_number", C.org_id, C.p_number),
    Index("ix_certificates_org_se_number", C.org_id, C.se_number),
    Index("ix_certificates_org_issued", C.org_id, C.issued_at),
    Index("ix_certificates_org_revoked_at", C.org_id, C.revoked_at),
)
