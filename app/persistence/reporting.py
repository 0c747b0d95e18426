"""The aggregates of issue 17, each ONE statement scoped to the organisation (through
ReadSession.run): `user_stats` and `certificate_stats`. Portable SQL (GROUP BY, UNION ALL, CASE):
the same statement on SQLite and PostgreSQL, served by the indexes of tables/reporting.py."""

from __future__ import annotations

import datetime as dt
from collections import Counter
from typing import Any

from sqlalchemy import bindparam, case, func, literal, null, select, union_all
from sqlalchemy.ext.asyncio import AsyncConnection

from app.domain.certificates.model import CertificateStatus
from app.domain.reporting import CertificateStats, UserStats, buckets
from app.domain.users.model import UserStatus
from app.persistence.db import Statements
from app.persistence.tables.certificates import certificates
from app.persistence.tables.organisations import p_units
from app.persistence.tables.users import user_authenticators, users

_DELETED = UserStatus.DELETED.value
_ISSUED = CertificateStatus.ISSUED.value


def _user_stats_statement(_dialect: str) -> Any:
    """Rows (part, status, identification, p_number, authenticator or name, n): part 'u' is the users'
    status x identification x P-unit cross-tab (all statuses), part 'a' the live users per
    authenticator, part 'p' the organisation's P-units with their names."""
    u = users.c
    cross = (
        select(literal("u").label("part"), u.status, u.identification, u.p_number,
               null().label("authenticator"), func.count().label("n"))
        .where(u.org_id == bindparam("org"))
        .group_by(u.status, u.identification, u.p_number)
    )
    a = user_authenticators.c
    by_authenticator = (
        select(literal("a"), null(), null(), null(), a.kind, func.count())
        .select_from(user_authenticators.join(users, u.id == a.user_id))
        .where(u.org_id == bindparam("org"), u.status != _DELETED)
        .group_by(a.kind)
    )
    units = select(literal("p"), null(), null(), p_units.c.p_number, p_units.c.name, literal(0)).where(
        p_units.c.org_id == bindparam("org")
    )
    return union_all(cross, by_authenticator, units)


_USER_STATS = Statements(_user_stats_statement)


async def user_stats(conn: AsyncConnection, org_id: int) -> UserStats:
    status: Counter[str | None] = Counter()
    identification: Counter[str | None] = Counter()
    unit: Counter[str | None] = Counter()
    authenticator: Counter[str | None] = Counter()
    names: dict[str, str] = {}
    for part, st, ident, p_number, kind, n in await conn.execute(_USER_STATS.get(conn), {"org": org_id}):
        if part == "a":
            authenticator[kind] += n
            continue
        if part == "p":
            names[p_number] = kind
            unit[p_number] += 0
            continue
        status[st] += n
        if st != _DELETED:
            identification[ident] += n
            unit[p_number] += n
    return UserStats(
        total=sum(n for s, n in status.items() if s != _DELETED),
        by_status=buckets(dict(status)), by_identification=buckets(dict(identification)),
        by_authenticator=buckets(dict(authenticator)), by_organisation_unit=buckets(dict(unit), names),
    )


def _certificate_stats_statement(_dialect: str) -> Any:
    """Rows (kind, status as read, n, expiring soon): EXPIRED derived from notAfter at `:now` as the
    certificates list does; expiring soon = ISSUED with `:now` < notAfter <= `:soon`."""
    c = certificates.c
    now, soon = bindparam("now", type_=c.not_after.type), bindparam("soon", type_=c.not_after.type)
    read_status = case((c.status == _ISSUED, case((c.not_after <= now, CertificateStatus.EXPIRED.value),
                                                  else_=_ISSUED)), else_=c.status).label("read_status")
    expiring = func.sum(case(((c.status == _ISSUED) & (c.not_after > now) & (c.not_after <= soon), 1), else_=0))
    return (
        select(c.kind, read_status, func.count().label("n"), expiring.label("expiring"))
        .where(c.org_id == bindparam("org"))
        .group_by(c.kind, read_status)
    )


_CERTIFICATE_STATS = Statements(_certificate_stats_statement)


async def certificate_stats(
    conn: AsyncConnection, org_id: int, now: dt.datetime, days: int, soon: dt.datetime
) -> CertificateStats:
    kind: Counter[str | None] = Counter()
    status: Counter[str | None] = Counter()
    expiring = 0
    rows = await conn.execute(_CERTIFICATE_STATS.get(conn), {"org": org_id, "now": now, "soon": soon})
    for k, st, n, soon_n in rows:
        kind[k] += n
        status[st] += n
        expiring += int(soon_n or 0)
    return CertificateStats(
        total=sum(kind.values()), by_kind=buckets(dict(kind)), by_status=buckets(dict(status)),
        expiring_soon=expiring, expiring_within_days=days,
    )
