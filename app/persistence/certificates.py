"""Certificates: the write repository (scoped to one organisation), the CA's record, the batched
reads and the streamed export."""

from __future__ import annotations

import datetime as dt
import uuid
from collections import defaultdict
from collections.abc import AsyncIterator, Sequence
from typing import Any

from sqlalchemy import Select, and_, bindparam, delete, func, insert, or_, select, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.ext.asyncio import AsyncConnection

from app.domain.certificates.model import (
    AuthorityRecord,
    Certificate,
    CertificateFilter,
    CertificateIssuance,
    CertificateKind,
    CertificateOrder,
    CertificateOrderField,
    CertificateProfile,
    CertificatePurpose,
    CertificateStatus,
    CertificateType,
    Revocation,
    RevocationReason,
)
from app.persistence.db import Statements, any_of
from app.persistence.tables import (
    certificate_authority,
    certificate_profiles,
    certificate_system_rights,
    certificates,
)

AUTHORITY_ID = 1
c = certificates.c

COLUMNS = [
    c.id, c.org_id, c.kind, c.type, c.status, c.issuance, c.purposes, c.user_id, c.profile_id, c.name, c.email,
    c.contact_name, c.contact_email, c.p_number, c.se_number, c.serial_number, c.subject, c.not_before,
    c.not_after, c.fingerprint_sha256, c.can_seal, c.allow_user_signing, c.ordered_at,
    c.ordered_by, c.issued_at, c.cancelled_at, c.revoked_at, c.revocation_reason, c.revoked_by,
    c.predecessor_id, c.successor_id, c.certificate_pem,
]
# A user's list of certificates (a page of users shows them): everything but the PEM (the last
# column), which a list rarely shows and which is most of a row's bytes; `certificate_pems` reads
# it when asked.
SUMMARY_COLUMNS = COLUMNS[:-1]

_KIND = {m.value: m for m in CertificateKind}
_TYPE = {m.value: m for m in CertificateType}
_STATUS = {m.value: m for m in CertificateStatus}
_PURPOSE = {m.value: m for m in CertificatePurpose}
_ISSUANCE = {m.value: m for m in CertificateIssuance}
_REASON = {m.value: m for m in RevocationReason}


def _purposes(value: str) -> tuple[CertificatePurpose, ...]:
    return tuple(_PURPOSE[p] for p in value.split(",") if p)


def _issuance(value: str | None) -> CertificateIssuance | None:
    return _ISSUANCE[value] if value else None


def _reason(value: str | None) -> RevocationReason | None:
    return _REASON[value] if value else None


def certificate_from_row(r: Any) -> Certificate:
    """A certificate from a row of COLUMNS, or of SUMMARY_COLUMNS (then `certificate_pem` is None).
    Unpacked by position (COLUMNS' order): per-name access on a Row costs more than the rest."""
    (id_, org_id, kind, type_, status, issuance, purposes, user_id, profile_id, name, email, contact_name,
     contact_email, p_number, se_number, serial_number, subject, not_before, not_after, fingerprint, can_seal,
     allow_user_signing, ordered_at, ordered_by, issued_at, cancelled_at, revoked_at, reason, revoked_by,
     predecessor_id, successor_id) = r[:31]
    return Certificate(
        id=id_, org_id=org_id, kind=_KIND[kind], type=_TYPE[type_], status=_STATUS[status],
        purposes=_purposes(purposes),
        name=name, ordered_at=ordered_at, ordered_by=ordered_by,
        issuance=_issuance(issuance), user_id=user_id,
        profile_id=profile_id, email=email, contact_name=contact_name, contact_email=contact_email,
        p_number=p_number, se_number=se_number, serial_number=serial_number, subject=subject,
        not_before=not_before, not_after=not_after, certificate_pem=r[31] if len(r) > 31 else None,
        fingerprint_sha256=fingerprint, can_seal=can_seal, allow_user_signing=allow_user_signing,
        issued_at=issued_at, cancelled_at=cancelled_at, revoked_at=revoked_at,
        revocation_reason=_reason(reason),
        revoked_by=revoked_by, predecessor_id=predecessor_id, successor_id=successor_id,
    )


def _values(cert: Certificate) -> dict[str, Any]:
    return {
        "kind": cert.kind.value, "type": cert.type.value, "status": cert.status.value,
        "issuance": cert.issuance.value if cert.issuance else None,
        "purposes": ",".join(p.value for p in cert.purposes), "user_id": cert.user_id,
        "profile_id": cert.profile_id, "name": cert.name, "name_lower": cert.name.lower(), "email": cert.email,
        "contact_name": cert.contact_name, "contact_email": cert.contact_email, "p_number": cert.p_number,
        "se_number": cert.se_number, "serial_number": cert.serial_number, "subject": cert.subject,
        "not_before": cert.not_before, "not_after": cert.not_after, "certificate_pem": cert.certificate_pem,
        "fingerprint_sha256": cert.fingerprint_sha256, "can_seal": cert.can_seal,
        "allow_user_signing": cert.allow_user_signing, "ordered_at": cert.ordered_at, "ordered_by": cert.ordered_by,
        "issued_at": cert.issued_at, "cancelled_at": cert.cancelled_at, "revoked_at": cert.revoked_at,
        "revocation_reason": cert.revocation_reason.value if cert.revocation_reason else None,
        "revoked_by": cert.revoked_by, "predecessor_id": cert.predecessor_id, "successor_id": cert.successor_id,
    }


def _profile_from_row(r: Any) -> CertificateProfile:
    return CertificateProfile(
        id=r.id, org_id=r.org_id, name=r.name, email=r.email, contact_name=r.contact_name,
        contact_email=r.contact_email, p_number=r.p_number, se_number=r.se_number, created_at=r.created_at,
        created_by=r.created_by,
    )


def _authority_from_row(r: Any) -> AuthorityRecord:
    return AuthorityRecord(
        certificate_pem=r.certificate_pem, encrypted_key_pem=r.encrypted_key_pem, created_at=r.created_at,
        crl_number=int(r.crl_number), crl_pem=r.crl_pem, crl_next_update=r.crl_next_update,
    )


class SqlAuthorityStore:
    """The CA's record: the one thing here that belongs to the installation, not an organisation."""

    def __init__(self, conn: AsyncConnection, *, lock_rows: bool) -> None:
        self._conn = conn
        self._lock_rows = lock_rows

    async def authority(self, *, for_update: bool = False) -> AuthorityRecord | None:
        q = select(certificate_authority).where(certificate_authority.c.id == AUTHORITY_ID)
        if for_update and self._lock_rows:
            q = q.with_for_update()
        row = (await self._conn.execute(q)).first()
        return _authority_from_row(row) if row else None

    async def add_authority(self, record: AuthorityRecord) -> AuthorityRecord:
        """Insert unless a concurrent first use got there first; either way, the stored one wins."""
        values = {
            "id": AUTHORITY_ID, "certificate_pem": record.certificate_pem,
            "encrypted_key_pem": record.encrypted_key_pem, "created_at": record.created_at,
            "crl_number": record.crl_number, "crl_pem": record.crl_pem, "crl_updated_at": record.created_at,
            "crl_next_update": record.crl_next_update,
        }
        dialect = postgresql if self._conn.dialect.name == "postgresql" else sqlite
        await self._conn.execute(dialect.insert(certificate_authority).values(**values).on_conflict_do_nothing())
        stored = await self.authority()
        assert stored is not None
        return stored

    async def save_revocation_list(self, number: int, pem: str, next_update: dt.datetime, now: dt.datetime) -> None:
        await self._conn.execute(
            update(certificate_authority)
            .where(certificate_authority.c.id == AUTHORITY_ID)
            .values(crl_number=number, crl_pem=pem, crl_updated_at=now, crl_next_update=next_update)
        )

    async def revocations(self) -> list[Revocation]:
        """Every organisation's revoked serials: a CRL is the CA's, and lists nothing else."""
        q = (
            select(c.serial_number, c.revoked_at, c.revocation_reason)
            .where(c.status == CertificateStatus.REVOKED.value, c.serial_number.is_not(None))
            .order_by(c.revoked_at, c.serial_number)
        )
        return [
            Revocation(r.serial_number, r.revoked_at, RevocationReason(r.revocation_reason))
            for r in await self._conn.execute(q)
        ]


class SqlCertificateRepository(SqlAuthorityStore):
    """Every certificate and profile statement is scoped by the organisation given at construction."""

    def __init__(self, conn: AsyncConnection, org_id: int, *, lock_rows: bool) -> None:
        super().__init__(conn, lock_rows=lock_rows)
        self._org_id = org_id

    def _own(self, certificate_id: uuid.UUID) -> Any:
        return and_(c.id == certificate_id, c.org_id == self._org_id)

    async def get(self, certificate_id: uuid.UUID, *, for_update: bool = False) -> Certificate | None:
        q = select(*COLUMNS).where(self._own(certificate_id))
        if for_update and self._lock_rows:
            q = q.with_for_update()
        row = (await self._conn.execute(q)).first()
        return certificate_from_row(row) if row else None

    async def add(self, certificate: Certificate) -> None:
        assert certificate.org_id == self._org_id
        await self._conn.execute(insert(certificates).values(id=certificate.id, org_id=self._org_id, **_values(certificate)))

    async def save(self, certificate: Certificate) -> None:
        await self._conn.execute(update(certificates).where(self._own(certificate.id)).values(**_values(certificate)))

    async def delete(self, certificate_id: uuid.UUID) -> None:
        await self._conn.execute(delete(certificates).where(self._own(certificate_id)))

    async def system_rights(self, certificate_id: uuid.UUID) -> list[str]:
        return (await system_rights_by_certificate(self._conn, self._org_id, [certificate_id]))[certificate_id]

    async def set_system_rights(self, certificate_id: uuid.UUID, codes: Sequence[str]) -> None:
        if (await self._conn.execute(select(c.id).where(self._own(certificate_id)))).first() is None:
            return
        r = certificate_system_rights.c
        await self._conn.execute(delete(certificate_system_rights).where(r.certificate_id == certificate_id))
        if codes:
            await self._conn.execute(
                insert(certificate_system_rights), [{"certificate_id": certificate_id, "code": code} for code in codes]
            )

    async def get_profile(self, profile_id: uuid.UUID) -> CertificateProfile | None:
        p = certificate_profiles.c
        row = (
            await self._conn.execute(
                select(certificate_profiles).where(p.id == profile_id, p.org_id == self._org_id)
            )
        ).first()
        return _profile_from_row(row) if row else None

    async def profile_name_taken(self, name: str) -> bool:
        p = certificate_profiles.c
        q = select(p.id).where(p.org_id == self._org_id, p.name_lower == name.lower()).limit(1)
        return (await self._conn.execute(q)).first() is not None

    async def add_profile(self, profile: CertificateProfile) -> None:
        assert profile.org_id == self._org_id
        await self._conn.execute(
            insert(certificate_profiles).values(
                id=profile.id, org_id=self._org_id, name=profile.name, name_lower=profile.name.lower(),
                email=profile.email, contact_name=profile.contact_name, contact_email=profile.contact_email,
                p_number=profile.p_number, se_number=profile.se_number, created_at=profile.created_at,
                created_by=profile.created_by,
            )
        )


# --- batched reads (dataloaders) and lists ----------------------------------------------------------------


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
    "kind": _KIND.__getitem__, "type": _TYPE.__getitem__, "status": _STATUS.__getitem__,
    "issuance": _issuance, "revocation_reason": _reason, "purposes": _purposes,
}
_READABLE = frozenset(col.name for col in SUMMARY_COLUMNS)

_BY_USER_READING = Statements(
    lambda dialect, names: select(c.user_id, *(c[n] for n in names))
    .where(c.org_id == bindparam("org"), any_of(c.user_id, "ids", dialect))
    .order_by(c.user_id, c.ordered_at.desc(), c.id)
)


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
        unknown = reading - _READABLE
        if unknown:
            raise ValueError(f"not certificate columns: {sorted(unknown)}")
        names = tuple(sorted(reading | {"id"}))
        for r in await conn.execute(_BY_USER_READING.get(conn, names), params):
            out[r[0]].append(partial_certificate(names, r[1:]))
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
    return {r.id: _profile_from_row(r) for r in rows}


async def list_profiles(conn: AsyncConnection, org_id: int) -> list[CertificateProfile]:
    p = certificate_profiles.c
    rows = await conn.execute(select(certificate_profiles).where(p.org_id == org_id).order_by(p.name_lower, p.id))
    return [_profile_from_row(r) for r in rows]


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
