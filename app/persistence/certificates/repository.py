"""The certificate authority's store and the certificates' write repository of one organisation."""

from __future__ import annotations

import datetime as dt
import uuid
from collections.abc import Sequence
from typing import Any

from sqlalchemy import and_, delete, insert, select, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.ext.asyncio import AsyncConnection

from app.domain.certificates.authority import SerialStatus
from app.domain.certificates.model import (
    AuthorityRecord,
    Certificate,
    CertificateProfile,
    CertificateStatus,
    Revocation,
    RevocationReason,
)
from app.persistence.base import utc_now
from app.persistence.certificates.reads import system_rights_by_certificate
from app.persistence.certificates.rows import (
    AUTHORITY_ID,
    COLUMNS,
    authority_from_row,
    c,
    certificate_from_row,
    certificate_values,
    profile_from_row,
)
from app.persistence.tables.certificates import (
    certificate_authority,
    certificate_profiles,
    certificate_system_rights,
    certificates,
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
        return authority_from_row(row) if row else None

    async def add_authority(self, record: AuthorityRecord) -> AuthorityRecord:
        """Insert unless a concurrent first use got there first; either way, the stored one wins."""
        values = {
            "id": AUTHORITY_ID, "certificate_pem": record.certificate_pem,
            "encrypted_key_pem": record.encrypted_key_pem, "created_at": record.created_at,
            "crl_number": record.crl_number, "crl_pem": record.crl_pem, "crl_updated_at": record.created_at,
            "crl_next_update": record.crl_next_update, **_hierarchy_values(record),
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

    async def save_hierarchy(self, record: AuthorityRecord) -> None:
        """The issuing CA's certificate under the root, the root's, its CRL, the responder."""
        await self._conn.execute(
            update(certificate_authority)
            .where(certificate_authority.c.id == AUTHORITY_ID)
            .values(certificate_pem=record.certificate_pem, **_hierarchy_values(record))
        )

    async def save_root_revocation_list(self, pem: str, next_update: dt.datetime) -> None:
        await self._conn.execute(
            update(certificate_authority)
            .where(certificate_authority.c.id == AUTHORITY_ID)
            .values(root_crl_pem=pem, root_crl_next_update=next_update)
        )

    async def save_responder(self, certificate_pem: str, key_pem: str, not_after: dt.datetime) -> None:
        await self._conn.execute(
            update(certificate_authority)
            .where(certificate_authority.c.id == AUTHORITY_ID)
            .values(responder_certificate_pem=certificate_pem, responder_key_pem=key_pem,
                    responder_not_after=not_after)
        )

    async def serial_status(self, serial_number: str) -> SerialStatus | None:
        """What OCSP says of a serial: one indexed read (uq_certificates_serial_number)."""
        q = select(c.status, c.revoked_at, c.revocation_reason).where(c.serial_number == serial_number)
        row = (await self._conn.execute(q)).first()
        if row is None:
            return None
        reason = RevocationReason(row.revocation_reason) if row.revocation_reason else None
        return SerialStatus(CertificateStatus(row.status), row.revoked_at, reason)

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


def _hierarchy_values(record: AuthorityRecord) -> dict[str, Any]:
    return {
        "root_certificate_pem": record.root_certificate_pem, "root_crl_pem": record.root_crl_pem,
        "root_crl_next_update": record.root_crl_next_update,
        "responder_certificate_pem": record.responder_certificate_pem,
        "responder_key_pem": record.responder_key_pem, "responder_not_after": record.responder_not_after,
        "legacy_certificate_pem": record.legacy_certificate_pem,
    }


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

    async def of_holders(self, user_ids: Sequence[uuid.UUID], *, for_update: bool = False) -> list[Certificate]:
        """These people's user certificates in every state, oldest order first."""
        if not user_ids:
            return []
        q = (
            select(*COLUMNS)
            .where(c.org_id == self._org_id, c.user_id.in_(list(user_ids)))
            .order_by(c.ordered_at, c.id)
        )
        if for_update and self._lock_rows:
            q = q.with_for_update()
        return [certificate_from_row(r) for r in await self._conn.execute(q)]

    async def add(self, certificate: Certificate) -> None:
        assert certificate.org_id == self._org_id
        await self._conn.execute(insert(certificates).values(
            id=certificate.id, org_id=self._org_id, updated_at=certificate.ordered_at, **certificate_values(certificate)
        ))
        certificate.updated_at = certificate.ordered_at

    async def save(self, certificate: Certificate) -> None:
        now = utc_now()
        await self._conn.execute(
            update(certificates).where(self._own(certificate.id)).values(updated_at=now, **certificate_values(certificate))
        )
        certificate.updated_at = now

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
        # The system rights are the certificate's: a change of them is a change of it (`updated_at`).
        await self._conn.execute(update(certificates).where(self._own(certificate_id)).values(updated_at=utc_now()))

    async def get_profile(self, profile_id: uuid.UUID) -> CertificateProfile | None:
        p = certificate_profiles.c
        row = (
            await self._conn.execute(
                select(certificate_profiles).where(p.id == profile_id, p.org_id == self._org_id)
            )
        ).first()
        return profile_from_row(row) if row else None

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
