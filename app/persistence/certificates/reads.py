"""Certificates' reads: lists, counts, the batched reads behind the loaders and the streamed export."""

from __future__ import annotations

import datetime as dt
import uuid
from collections import defaultdict
from collections.abc import AsyncIterator, Sequence
from typing import Any

from sqlalchemy import Select, bindparam, func, or_, select
from sqlalchemy.ext.asyncio import AsyncConnection

from app.domain.certificates.model import (
    Certificate,
    CertificateFilter,
    CertificateOrder,
    CertificateOrderField,
    CertificateProfile,
    CertificateStatus,
    CertificateType,
)
from app.persistence.certificates.rows import (
    COLUMNS,
    KIND_BY_VALUE,
    STATUS_BY_VALUE,
    SUMMARY_COLUMNS,
    TYPE_BY_VALUE,
    c,
    certificate_from_row,
    issuance_of,
    profile_from_row,
    purposes_of,
    reason_of,
)
from app.persistence.db import Statements, any_of, fetch_rows
from app.persistence.tables.certificates import certificate_profiles, certificate_system_rights, certificates


async def certificates_by_ids(
    conn: AsyncConnection, org_id: int, ids: Sequence[uuid.UUID]
) -> dict[uuid.UUID, Certificate]:
    rows = await conn.execute(select(*COLUMNS).where(c.org_id == org_id, c.id.in_(ids)))
    return {r.id: certificate_from_row(r) for r in rows}


_BY_USER = Statements(
    lambda dialect: select(*SUMMARY_COLUMNS)
    .where(c.org_id == bindparam("org"), any_of(c.user_id, "ids", dialect))
    .order_by(c.user_id, c.ordered_at.desc(), c.id)
)


# certificate_from_row's conversions, by column, for narrower rows
_CONVERT: dict[str, Any] = {
    "kind": KIND_BY_VALUE.__getitem__, "type": TYPE_BY_VALUE.__getitem__, "status": STATUS_BY_VALUE.__getitem__,
    "issuance": issuance_of, "revocation_reason": reason_of, "purposes": purposes_of,
}
_READABLE = frozenset(col.name for col in SUMMARY_COLUMNS)

_BY_USER_READING = Statements(
    lambda dialect, names: select(c.user_id, *(c[n] for n in names))
    .where(c.org_id == bindparam("org"), any_of(c.user_id, "ids", dialect))
    .order_by(c.user_id, c.ordered_at.desc(), c.id)
)


def stored_value(name: str) -> Any:
    """The function partial_certificate applies to column `name`'s value (None stays None), or None."""
    convert = _CONVERT.get(name)
    if convert is None:
        return None
    return lambda value: None if value is None else convert(value)


def partial_certificate(names: Sequence[str], values: Sequence[Any]) -> Certificate:
    """A certificate holding only the attributes `names` (read from a narrower row): reading any
    other attribute raises AttributeError, so a caller that asked for too few columns fails loudly
    instead of seeing None."""
    cert = object.__new__(Certificate)
    for name, value in zip(names, values, strict=True):
        convert = _CONVERT.get(name)
        object.__setattr__(cert, name, convert(value) if convert is not None and value is not None else value)
    return cert


async def certificates_by_user(
    conn: AsyncConnection, org_id: int, user_ids: Sequence[uuid.UUID], reading: frozenset[str] | None = None
) -> dict[uuid.UUID, list[Certificate]]:
    """Each user's certificates, newest order first, without the PEM (SUMMARY_COLUMNS); with
    `reading` (attribute names), only those columns, as partial certificates (a list of a page's
    users shows a few of thirty: fewer columns to decode and convert per row)."""
    out: dict[uuid.UUID, list[Certificate]] = defaultdict(list)
    params = {"org": org_id, "ids": list(user_ids)}
    if reading is None:
        for r in await conn.execute(_BY_USER.get(conn), params):
            out[r[7]].append(certificate_from_row(r))
    else:
        names = reading_columns(reading)
        for user_id, rows in (await certificate_rows_by_user(conn, org_id, user_ids, names)).items():
            out[user_id] = [partial_certificate(names, r) for r in rows]
    return {i: out.get(i, []) for i in user_ids}


def reading_columns(reading: frozenset[str]) -> tuple[str, ...]:
    """The columns certificates_by_user reads for `reading`, in the order of its rows."""
    unknown = reading - _READABLE
    if unknown:
        raise ValueError(f"not certificate columns: {sorted(unknown)}")
    return tuple(sorted(reading | {"id"}))


async def certificate_rows_by_user(
    conn: AsyncConnection, org_id: int, user_ids: Sequence[uuid.UUID], names: tuple[str, ...]
) -> dict[uuid.UUID, list[Any]]:
    """Each user's certificates as rows of the columns `names` (reading_columns), newest order first,
    values as stored (a compiled plan reads them without making certificates)."""
    out: dict[uuid.UUID, list[Any]] = defaultdict(list)
    for r in await fetch_rows(conn, _BY_USER_READING.get(conn, names), {"org": org_id, "ids": list(user_ids)}):
        out[r[0]].append(r[1:])
    return {i: out.get(i, []) for i in user_ids}


async def certificate_pems(conn: AsyncConnection, org_id: int, ids: Sequence[uuid.UUID]) -> dict[uuid.UUID, str | None]:
    rows = await conn.execute(select(c.id, c.certificate_pem).where(c.org_id == org_id, c.id.in_(ids)))
    return {r.id: r.certificate_pem for r in rows}


async def system_rights_by_certificate(
    conn: AsyncConnection, org_id: int, ids: Sequence[uuid.UUID]
) -> dict[uuid.UUID, list[str]]:
    r = certificate_system_rights.c
    q = (
        select(r.certificate_id, r.code)
        .join(certificates, c.id == r.certificate_id)
        .where(c.org_id == org_id, r.certificate_id.in_(ids))
        .order_by(r.certificate_id, r.code)
    )
    out: dict[uuid.UUID, list[str]] = defaultdict(list)
    for row in await conn.execute(q):
        out[row.certificate_id].append(row.code)
    return {i: out.get(i, []) for i in ids}


async def profiles_by_ids(
    conn: AsyncConnection, org_id: int, ids: Sequence[uuid.UUID]
) -> dict[uuid.UUID, CertificateProfile]:
    p = certificate_profiles.c
    rows = await conn.execute(select(certificate_profiles).where(p.org_id == org_id, p.id.in_(ids)))
    return {r.id: profile_from_row(r) for r in rows}


async def list_profiles(conn: AsyncConnection, org_id: int) -> list[CertificateProfile]:
    p = certificate_profiles.c
    rows = await conn.execute(select(certificate_profiles).where(p.org_id == org_id).order_by(p.name_lower, p.id))
    return [profile_from_row(r) for r in rows]


def _filtered(q: Select[Any], org_id: int, f: CertificateFilter, now: dt.datetime) -> Select[Any]:
    q = q.where(c.org_id == org_id)
    if f.kind is not None:
        q = q.where(c.kind == f.kind.value)
    if f.status is CertificateStatus.EXPIRED:
        q = q.where(c.status == CertificateStatus.ISSUED.value, c.not_after <= now)
    elif f.status is CertificateStatus.ISSUED:
        q = q.where(c.status == CertificateStatus.ISSUED.value, c.not_after > now)
    elif f.status is not None:
        q = q.where(c.status == f.status.value)
    if f.qualified is not None:
        q = q.where(c.type == (CertificateType.QUALIFIED if f.qualified else CertificateType.STANDARD).value)
    if f.expires_before is not None:
        q = q.where(c.not_after < f.expires_before)
    if f.user_id is not None:
        q = q.where(c.user_id == f.user_id)
    if f.p_number is not None:
        q = q.where(c.p_number == f.p_number)
    if f.se_number is not None:
        q = q.where(c.se_number == f.se_number)
    for column, start, end in ((c.issued_at, f.issued_from, f.issued_to), (c.revoked_at, f.revoked_from, f.revoked_to)):
        if start is not None:
            q = q.where(column >= start)
        if end is not None:
            q = q.where(column < end)
    if f.search and f.search.strip():
        term = f.search.strip().lower()
        like = f"%{term.replace('%', '').replace('_', '')}%"
        conds = [
            c.name_lower.like(like),
            func.lower(c.email).like(like),
            func.lower(c.contact_name).like(like),
            func.lower(c.contact_email).like(like),
        ]
        serial = term.replace(":", "").upper()
        if serial and all(ch in "0123456789ABCDEF" for ch in serial) and len(serial) >= 8:
            conds.append(c.serial_number.like(f"%{serial}"))
        try:
            wanted = uuid.UUID(term)
            conds.extend([c.id == wanted, c.user_id == wanted])
        except ValueError:
            pass
        q = q.where(or_(*conds))
    return q


_ORDER = {
    CertificateOrderField.NAME: c.name_lower,
    CertificateOrderField.EXPIRES_AT: c.not_after,
    CertificateOrderField.ISSUED_AT: c.issued_at,
    CertificateOrderField.ORDERED_AT: c.ordered_at,
}


def _ordered(q: Select[Any], order: CertificateOrder) -> Select[Any]:
    """Certificates without the ordering value (not issued yet) come last either way."""
    column = _ORDER[order.field]
    first = column.desc() if order.descending else column.asc()
    tie = c.id.desc() if order.descending else c.id.asc()
    return q.order_by(first.nulls_last(), tie)


async def list_certificates(
    conn: AsyncConnection, org_id: int, f: CertificateFilter, order: CertificateOrder, offset: int, limit: int,
    now: dt.datetime,
) -> list[Certificate]:
    q = _ordered(_filtered(select(*COLUMNS), org_id, f, now), order)
    return [certificate_from_row(r) for r in await conn.execute(q.offset(offset).limit(limit))]


async def count_certificates(conn: AsyncConnection, org_id: int, f: CertificateFilter, now: dt.datetime) -> int:
    q = _filtered(select(func.count()).select_from(certificates), org_id, f, now)
    return int((await conn.execute(q)).scalar_one())


# --- the export ------------------------------------------------------------------------------------------


def _rights_aggregate() -> Any:
    r = certificate_system_rights.c
    return (
        select(func.aggregate_strings(r.code, ","))
        .where(r.certificate_id == c.id)
        .correlate(certificates)
        .scalar_subquery()
    )


# The export reads rows by position (app.entrypoints.http.pki.csv_cells): append, never reorder.
EXPORT_COLUMNS = [
    c.id, c.kind, c.type, c.status, c.name, c.email, c.contact_name, c.contact_email, c.user_id, c.p_number,
    c.se_number, c.serial_number, c.subject, c.not_before, c.not_after, c.ordered_at, c.issued_at,
    c.revoked_at, c.revocation_reason, c.can_seal, c.allow_user_signing, c.predecessor_id, c.successor_id,
    c.purposes, c.issuance,
]


async def stream_certificates(
    conn: AsyncConnection, org_id: int, f: CertificateFilter, order: CertificateOrder, now: dt.datetime,
    batch: int = 1000,
) -> AsyncIterator[Sequence[Any]]:
    """Rows for the CSV export, `batch` at a time through a server-side cursor (PostgreSQL) or
    SQLite's incremental fetch: memory stays flat however many rows there are."""
    q = _ordered(
        _filtered(select(*EXPORT_COLUMNS, _rights_aggregate().label("system_rights")), org_id, f, now),
        order,
    )
    result = await conn.stream(q.execution_options(yield_per=batch))
    async for rows in result.partitions():
        yield rows
