"""What the certificate use cases need from a certificate authority (implemented by `app.adapters.pki`),
and the CA's published state: its certificate and the revocation list, created on first use."""

from __future__ import annotations

import datetime as dt
import uuid
from collections.abc import Sequence
from typing import Protocol

from app.domain.certificates.model import AuthorityRecord, CertificateSpec, IssuedMaterial, Revocation

# A CRL is regenerated on every revocation; one that nothing renewed is refreshed this long
# before its nextUpdate when it is fetched.
CRL_REFRESH_MARGIN = dt.timedelta(days=1)


class CertificateAuthority(Protocol):
    """Key generation, signing and CRL building. No storage: the CA's record comes from the store."""

    async def new_authority(self, now: dt.datetime) -> AuthorityRecord: ...

    async def issue(
        self, authority: AuthorityRecord, spec: CertificateSpec, *, csr_pem: str | None, password: str | None
    ) -> IssuedMaterial:
        """From a CSR (the holder keeps the key) or with a generated key returned in a PKCS#12
        protected by `password`. Raises DomainError (INVALID_CSR, WEAK_KEY) for a bad CSR."""
        ...

    async def revocation_list(
        self, authority: AuthorityRecord, revoked: Sequence[Revocation], number: int, now: dt.datetime
    ) -> tuple[str, dt.datetime]:
        """The signed CRL in PEM and its nextUpdate."""
        ...

    def retrieval_link(self, certificate_id: uuid.UUID) -> str: ...


class AuthorityStore(Protocol):
    """The CA's record. It belongs to the installation, not to an organisation; the revocations
    it publishes are every organisation's (serial numbers, dates and reasons only)."""

    async def authority(self, *, for_update: bool = False) -> AuthorityRecord | None: ...
    async def add_authority(self, record: AuthorityRecord) -> AuthorityRecord: ...
    async def save_revocation_list(self, number: int, pem: str, next_update: dt.datetime, now: dt.datetime) -> None: ...
    async def revocations(self) -> list[Revocation]: ...


async def current_authority(store: AuthorityStore, ca: CertificateAuthority, now: dt.datetime) -> AuthorityRecord:
    """The CA's record, created (key, self-signed certificate, empty CRL) the first time it is needed."""
    record = await store.authority()
    if record is None:
        record = await store.add_authority(await ca.new_authority(now))
    return record


async def publish_revocation_list(store: AuthorityStore, ca: CertificateAuthority, now: dt.datetime) -> str:
    """Rebuild the CRL from every revocation. The CA's row is locked before the revocations are
    read, so two concurrent revocations cannot each publish a list without the other's serial."""
    await current_authority(store, ca, now)
    record = await store.authority(for_update=True)
    assert record is not None
    number = record.crl_number + 1
    pem, next_update = await ca.revocation_list(record, await store.revocations(), number, now)
    await store.save_revocation_list(number, pem, next_update, now)
    return pem


async def published_revocation_list(store: AuthorityStore, ca: CertificateAuthority, now: dt.datetime) -> str:
    """The CRL to serve: the stored one, unless it is missing or close to its nextUpdate."""
    record = await current_authority(store, ca, now)
    if record.crl_pem and record.crl_next_update and record.crl_next_update - CRL_REFRESH_MARGIN > now:
        return record.crl_pem
    return await publish_revocation_list(store, ca, now)
