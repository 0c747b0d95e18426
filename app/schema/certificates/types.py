"""The Certificate and CertificateProfile types: scalars are plain attributes, relations go through
the request's loaders."""

from __future__ import annotations

import datetime as dt
import uuid as uuid_mod
from collections.abc import Awaitable
from typing import TYPE_CHECKING, Annotated, Any

import strawberry
from strawberry.types import Info

from app.domain.certificates.model import (
    Certificate as DomainCertificate,
)
from app.domain.certificates.model import (
    CertificateFilter,
    CertificateIssuance,
    CertificateKind,
    CertificateOrderField,
    CertificatePurpose,
    CertificateStatus,
    CertificateType,
    RevocationReason,
    status_as_of,
)
from app.domain.certificates.model import (
    CertificateProfile as DomainProfile,
)
from app.domain.common.policy import Action, can_view_certificates_of, is_allowed
from app.persistence.certificates import reads as certificates_sql
from app.schema.certificates.loaders import (
    CERTIFICATE_BY_ID,
    CERTIFICATE_PEM,
    CERTIFICATE_PROFILE_BY_ID,
    CERTIFICATES_OF_USER,
    SYSTEM_RIGHTS,
)
from app.schema.certificates.reading import reading_of
from app.schema.runtime.base import (
    DomainView,
    Node,
    PageInfo,
    domain_view,
    encode_cursor,
    page_info_of,
    to_global_id,
    uuid_of,
)
from app.schema.runtime.loaders import now_or_later
from app.schema.runtime.plans import row_form

if TYPE_CHECKING:
    from app.schema.runtime.context import Context
    from app.schema.users.types import User

strawberry.enum(CertificateKind, name="CertificateKind")
strawberry.enum(CertificateType, name="CertificateType")
strawberry.enum(
    CertificateStatus, name="CertificateStatus",
    description="EXPIRED is derived: an ISSUED certificate past its notAfter.",
)
strawberry.enum(CertificateIssuance, name="CertificateIssuance")
strawberry.enum(CertificatePurpose, name="CertificatePurpose")
strawberry.enum(RevocationReason, name="RevocationReason")
strawberry.enum(CertificateOrderField, name="CertificateOrderField")

UserRef = Annotated["User", strawberry.lazy("app.schema.users.types")]


def now_of(info: Info) -> dt.datetime:
    ctx: Context = info.context
    return ctx.services.platform.now()


@strawberry.type(name="CertificateProfile", description="What an organisation certificate says and whom to contact.")
class CertificateProfileNode(Node):
    id: strawberry.ID
    uuid: uuid_mod.UUID
    name: str
    email: str
    contact_name: str
    contact_email: str
    p_number: str | None
    se_number: str | None
    created_at: dt.datetime

    @classmethod
    def of(cls, p: DomainProfile) -> CertificateProfileNode:
        return cls(
            id=to_global_id("CertificateProfile", p.id), uuid=p.id, name=p.name, email=p.email,
            contact_name=p.contact_name, contact_email=p.contact_email, p_number=p.p_number,
            se_number=p.se_number, created_at=p.created_at,
        )

    @classmethod
    async def resolve_node(cls, info: Info, id: str) -> CertificateProfileNode | None:
        """node(id:): as `certificateProfiles`, certificate viewers only."""
        ctx: Context = info.context
        profile_id = uuid_of(id, "CertificateProfile")
        if profile_id is None or ctx.principal is None or not is_allowed(ctx.principal.roles, Action.VIEW_CERTIFICATES):
            return None
        p = await ctx.loaders[CERTIFICATE_PROFILE_BY_ID].load(profile_id)
        return cls.of(p) if p is not None else None


PEM_NOT_READ = object()


@strawberry.type(name="Certificate")
class CertificateNode(DomainView, Node):
    id: strawberry.ID
    uuid: uuid_mod.UUID
    kind: CertificateKind
    type: CertificateType
    qualified: bool
    status: CertificateStatus
    issuance: CertificateIssuance | None = strawberry.field(
        description="SOFTWARE: generated key in a PKCS#12; HARDWARE: from the holder's CSR"
    )
    purposes: list[CertificatePurpose]
    name: str = strawberry.field(description="The holder's name (a user's UUID if anonymous) or the profile's")
    email: str | None
    contact_name: str | None
    contact_email: str | None
    p_number: str | None
    se_number: str | None
    serial_number: str | None = strawberry.field(description="Upper-case hex")
    subject: str | None = strawberry.field(description="RFC 4514")
    not_before: dt.datetime | None
    not_after: dt.datetime | None
    fingerprint_sha256: str | None
    can_seal: bool
    allow_user_signing: bool
    ordered_at: dt.datetime
    issued_at: dt.datetime | None
    cancelled_at: dt.datetime | None
    revoked_at: dt.datetime | None
    revocation_reason: RevocationReason | None
    updated_at: dt.datetime = strawberry.field(description="The latest change of the certificate or its system rights")
    _user_id: strawberry.Private[uuid_mod.UUID | None]
    _ordered_by: strawberry.Private[uuid_mod.UUID | None]
    _profile_id: strawberry.Private[uuid_mod.UUID | None]
    _predecessor_id: strawberry.Private[uuid_mod.UUID | None]
    _successor_id: strawberry.Private[uuid_mod.UUID | None]
    _pem: strawberry.Private[Any]  # the PEM, or PEM_NOT_READ (a user's list of certificates omits it)

    @classmethod
    def of(cls, c: DomainCertificate, now: dt.datetime, *, pem_read: bool = True) -> CertificateNode:
        """A view of `c` (see DomainView) with its status as of `now`."""
        return cls.view(c, _now=now, _pem=c.certificate_pem if pem_read else PEM_NOT_READ)

    @classmethod
    async def resolve_node(cls, info: Info, id: str) -> CertificateNode | None:
        """node(id:): as `certificate(id:)` (certificate viewers: the organisation's; others: their own)."""
        return await load_certificate(info, uuid_of(id, "Certificate"))

    @strawberry.field
    def certificate_pem(self, info: Info) -> str | None:
        if self._pem is not PEM_NOT_READ:
            return self._pem
        return now_or_later(info.context.loaders[CERTIFICATE_PEM], self.uuid)

    @strawberry.field(description="Organisation certificates: the rights catalogue codes it may use")
    async def system_rights(self, info: Info) -> list[str]:
        if self.kind is not CertificateKind.ORGANISATION:
            return []
        return list(await info.context.loaders[SYSTEM_RIGHTS].load(self.uuid))

    @strawberry.field(description="The holder of a user certificate")
    async def user(self, info: Info) -> UserRef | None:
        from app.schema.users.types import load_user

        return await load_user(info, self._user_id)

    @strawberry.field
    async def ordered_by(self, info: Info) -> UserRef | None:
        from app.schema.users.types import load_user

        return await load_user(info, self._ordered_by)

    @strawberry.field
    async def profile(self, info: Info) -> CertificateProfileNode | None:
        if self._profile_id is None:
            return None
        p = await info.context.loaders[CERTIFICATE_PROFILE_BY_ID].load(self._profile_id)
        return CertificateProfileNode.of(p) if p is not None else None

    @strawberry.field(description="The certificate this one renewed")
    async def predecessor(self, info: Info) -> CertificateNode | None:
        return await load_certificate(info, self._predecessor_id)

    @strawberry.field(description="The certificate that renews this one")
    async def successor(self, info: Info) -> CertificateNode | None:
        return await load_certificate(info, self._successor_id)


domain_view(CertificateNode, same=(
    "kind", "type", "qualified", "issuance", "name", "email", "contact_name", "contact_email", "p_number",
    "se_number", "serial_number", "subject", "not_before", "not_after", "fingerprint_sha256", "can_seal",
    "allow_user_signing", "ordered_at", "issued_at", "cancelled_at", "revoked_at", "revocation_reason",
), derived={
    "id": lambda n: to_global_id("Certificate", n._domain.id),
    "uuid": lambda n: n._domain.id,
    "status": lambda n: n._domain.status_at(n._now),
    "updated_at": lambda n: n._domain.updated_at or n._domain.ordered_at,
    "purposes": lambda n: list(n._domain.purposes),
    "_user_id": lambda n: n._domain.user_id,
    "_ordered_by": lambda n: n._domain.ordered_by,
    "_profile_id": lambda n: n._domain.profile_id,
    "_predecessor_id": lambda n: n._domain.predecessor_id,
    "_successor_id": lambda n: n._domain.successor_id,
})


def _purposes(value: str | None) -> list[Any] | None:
    convert = certificates_sql.stored_value("purposes")
    return None if value is None else list(convert(value))


def _status(status: str | None, not_after: dt.datetime | None, now: dt.datetime) -> Any:
    stored = certificates_sql.stored_value("status")(status)
    return None if stored is None else status_as_of(stored, not_after, now)


# A user's certificates in a compiled plan (app/schema/runtime/plans.py): rows of the columns the
# selection reads (certificates_sql.reading_columns, the loaders' narrowed read), each field as
# partial_certificate and the view above make it. (`qualified` and `updatedAt` are properties of
# the certificate: a selection with them reads certificates.)
row_form("Certificate", (), {
    "id": ("id", lambda id_: to_global_id("Certificate", id_)),
    "uuid": ("id", None),
    "status": (("status", "not_after"), _status, "now"),
    "purposes": ("purposes", _purposes),
    **{field: (column, certificates_sql.stored_value(column)) for field, column in {
        "kind": "kind", "type": "type", "issuance": "issuance", "name": "name", "email": "email",
        "contactName": "contact_name", "contactEmail": "contact_email", "pNumber": "p_number",
        "seNumber": "se_number", "serialNumber": "serial_number", "subject": "subject",
        "notBefore": "not_before", "notAfter": "not_after", "fingerprintSha256": "fingerprint_sha256",
        "canSeal": "can_seal", "allowUserSigning": "allow_user_signing", "orderedAt": "ordered_at",
        "issuedAt": "issued_at", "cancelledAt": "cancelled_at", "revokedAt": "revoked_at",
        "revocationReason": "revocation_reason",
    }.items()},
})

async def load_certificate(info: Info, certificate_id: uuid_mod.UUID | None) -> CertificateNode | None:
    """A certificate the caller may see (certificate viewers: the organisation's; others: their own)."""
    ctx: Context = info.context
    if certificate_id is None or ctx.principal is None:
        return None
    cert = await ctx.loaders[CERTIFICATE_BY_ID].load(certificate_id)
    if cert is None or not can_view_certificates_of(ctx.principal, cert.user_id):
        return None
    return CertificateNode.of(cert, now_of(info))


def certificates_of_user(info: Info, user_id: uuid_mod.UUID) -> list[CertificateNode] | Awaitable[list[CertificateNode]]:
    """`User.certificates`: one batched statement for a whole page of users (ready when prefetched),
    reading the columns its selection needs."""
    ctx: Context = info.context
    if ctx.principal is None or not can_view_certificates_of(ctx.principal, user_id):
        return []
    now = now_of(info)
    # Each marked with its holder: a partial certificate may not have read its user column, and the
    # policy's "own" (a holder's own certificates) is decided from it (app/schema/runtime/authorization.py).
    return now_or_later(ctx.loaders[CERTIFICATES_OF_USER], (user_id, reading_of(info)),
                        lambda cs: [CertificateNode.view(c, _now=now, _pem=PEM_NOT_READ, _holder=user_id)
                                    for c in cs])


@strawberry.type
class CertificateEdge:
    cursor: str
    node: CertificateNode


@strawberry.type
class CertificateConnection:
    edges: list[CertificateEdge]
    page_info: PageInfo
    _filter: strawberry.Private[CertificateFilter]
    _now: strawberry.Private[dt.datetime]

    @strawberry.field
    async def total_count(self, info: Info) -> int:
        return await info.context.reader.run(certificates_sql.count_certificates, self._filter, self._now)

    @classmethod
    def of(
        cls, rows: list[DomainCertificate], offset: int, limit: int, f: CertificateFilter, now: dt.datetime, info: Info
    ) -> CertificateConnection:
        page = rows[:limit]
        loader = info.context.loaders[CERTIFICATE_BY_ID]
        for cert in page:
            loader.prime(cert.id, cert)
        edges = [
            CertificateEdge(cursor=encode_cursor("Offset", offset + i + 1), node=CertificateNode.of(c, now))
            for i, c in enumerate(page)
        ]
        return cls(
            edges=edges,
            page_info=page_info_of(edges, has_next=len(rows) > limit, has_previous=offset > 0),
            _filter=f,
            _now=now,
        )


__all__ = [
    "CertificateConnection", "CertificateNode", "CertificateProfileNode", "certificates_of_user",
    "load_certificate", "now_of",
]
