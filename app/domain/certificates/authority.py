"""What the certificate use cases need from a certificate authority (implemented by `app.adapters.pki`),
and the CA's published state: the issuing CA's certificate (signed by a root kept outside the
database) and revocation list, the root's certificate and CRL, and the delegated OCSP responder,
created on first use; a CA from before the hierarchy is certified by the root on first use."""

from __future__ import annotations

import datetime as dt
import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Protocol

from app.domain.certificates.model import (
    AuthorityRecord,
    CertificateSpec,
    CertificateStatus,
    IssuedMaterial,
    Revocation,
    RevocationReason,
)

# A CRL is regenerated on every revocation; one that nothing renewed is refreshed this long
# before its nextUpdate when it is fetched.
CRL_REFRESH_MARGIN = dt.timedelta(days=1)
ROOT_CRL_REFRESH_MARGIN = dt.timedelta(days=30)


@dataclass(frozen=True, slots=True)
class SerialStatus:
    """A serial number's certificate as OCSP reports it."""

    status: CertificateStatus
    revoked_at: dt.datetime | None
    reason: RevocationReason | None


class CertificateAuthority(Protocol):
    """Key generation, signing and CRL building. No storage: the CA's record comes from the store."""

    async def new_authority(self, now: dt.datetime) -> AuthorityRecord:
        """A new issuing CA, certified by the root, with the root's CRL and an OCSP responder."""
        ...

    async def under_root(self, legacy: AuthorityRecord, now: dt.datetime) -> AuthorityRecord:
        """A CA from before the hierarchy (self-signed), certified by the root: same key and subject."""
        ...

    async def root_revocation_list(self, authority: AuthorityRecord, now: dt.datetime) -> tuple[str, dt.datetime]:
        """The root's CRL afresh (needs the root's key)."""
        ...

    async def new_responder(self, authority: AuthorityRecord, now: dt.datetime) -> tuple[str, str, dt.datetime]:
        """A delegated OCSP responder's certificate, its encrypted key (PEM both) and its notAfter."""
        ...

    def responder_renewal(self) -> dt.timedelta:
        """How long before its notAfter the responder's certificate is replaced."""
        ...

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
    async def save_hierarchy(self, record: AuthorityRecord) -> None: ...
    async def save_root_revocation_list(self, pem: str, next_update: dt.datetime) -> None: ...
    async def save_responder(self, certificate_pem: str, key_pem: str, not_after: dt.datetime) -> None: ...
    async def serial_status(self, serial_number: str) -> SerialStatus | None: ...


async def current_authority(store: AuthorityStore, ca: CertificateAuthority, now: dt.datetime) -> AuthorityRecord:
    """The CA's record, created (key, certificate from the root, empty CRLs, OCSP responder) the first
    time it is needed; a CA from before the hierarchy is certified by the root (under the row's lock)."""
    record = await store.authority()
    if record is None:
        record = await store.add_authority(await ca.new_authority(now))
    if record.root_certificate_pem is None:
        locked = await store.authority(for_update=True)
        assert locked is not None
        if locked.root_certificate_pem is None:
            await store.save_hierarchy(await ca.under_root(locked, now))
        record = await store.authority()
        assert record is not None
    return record


def needs_writing(record: AuthorityRecord | None) -> bool:
    """Whether serving the hierarchy's documents would write: no CA yet, one from before the root."""
    return record is None or record.root_certificate_pem is None


def root_list_is_fresh(record: AuthorityRecord, now: dt.datetime) -> bool:
    return bool(record.root_crl_pem and record.root_crl_next_update
                and record.root_crl_next_update - ROOT_CRL_REFRESH_MARGIN > now)


def responder_is_fresh(record: AuthorityRecord, ca: CertificateAuthority, now: dt.datetime) -> bool:
    return bool(record.responder_certificate_pem and record.responder_key_pem and record.responder_not_after
                and record.responder_not_after - ca.responder_renewal() > now)


async def published_root_revocation_list(store: AuthorityStore, ca: CertificateAuthority, now: dt.datetime) -> str:
    """The root's CRL: the stored one, re-signed (root key needed) when close to its nextUpdate."""
    record = await current_authority(store, ca, now)
    if root_list_is_fresh(record, now):
        assert record.root_crl_pem is not None
        return record.root_crl_pem
    pem, next_update = await ca.root_revocation_list(record, now)
    await store.save_root_revocation_list(pem, next_update)
    return pem


async def current_responder(store: AuthorityStore, ca: CertificateAuthority, now: dt.datetime) -> AuthorityRecord:
    """The CA's record with a responder certificate valid for longer than its renewal margin: a new
    one is issued (under the row's lock, so one at a time) when it is missing or about to expire."""
    record = await current_authority(store, ca, now)
    if responder_is_fresh(record, ca, now):
        return record
    locked = await store.authority(for_update=True)
    assert locked is not None
    if not responder_is_fresh(locked, ca, now):
        await store.save_responder(*await ca.new_responder(locked, now))
    record = await store.authority()
    assert record is not None
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
