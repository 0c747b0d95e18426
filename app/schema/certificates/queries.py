"""Certificate queries: the organisation's certificates (search, filters, order), one certificate,
the profiles. The CSV export (`GET /exports/certificates.csv`) parses its query string into the very
same filter and order."""

from __future__ import annotations

import enum
import uuid
from collections.abc import Mapping
from typing import TypeVar

import strawberry
from strawberry.types import Info

from app.domain.certificates.model import (
    CertificateFilter,
    CertificateKind,
    CertificateOrder,
    CertificateOrderField,
    CertificateStatus,
)
from app.domain.common.errors import DomainError
from app.domain.common.identifiers import IdentifierError, normalise_p_number, normalise_se_number
from app.domain.common.policy import Action
from app.domain.common.validation import parse_moment
from app.domain.reporting import moment_range
from app.persistence.certificates import reads as certificates_sql
from app.schema.certificates.types import (
    CertificateConnection,
    CertificateNode,
    CertificateProfileNode,
    load_certificate,
    now_of,
)
from app.schema.runtime.base import bad_input, decode_cursor, page_size, requires, uuid_of
from app.schema.runtime.context import Context
from app.schema.runtime.text_inputs import search_text
from app.schema.users.queries import OrderDirection

E = TypeVar("E", bound=enum.Enum)


@strawberry.input(name="CertificateFilter")
class CertificateFilterInput:
    search: str | None = strawberry.field(
        default=None, description="Certificate or holder UUID, name, contact person, email, serial number"
    )
    kind: CertificateKind | None = None
    status: CertificateStatus | None = None
    qualified: bool | None = None
    expires_before: str | None = strawberry.field(
        default=None, description="ISO date or date-time: notAfter before it (an 'expiring soon' report)"
    )
    user_id: strawberry.ID | None = strawberry.field(default=None, description="The holder of user certificates")
    p_number: str | None = strawberry.field(default=None, description="Certificates of this P-unit")
    se_number: str | None = strawberry.field(default=None, description="Certificates of this SE-number")
    issued_from: str | None = strawberry.field(default=None, description="ISO date or date-time: issued at or after")
    issued_to: str | None = strawberry.field(default=None, description="ISO date (inclusive) or date-time: issued before")
    revoked_from: str | None = strawberry.field(default=None, description="ISO date or date-time: revoked at or after")
    revoked_to: str | None = strawberry.field(default=None, description="ISO date (inclusive) or date-time: revoked before")


@strawberry.input
class CertificateOrderInput:
    field: CertificateOrderField = CertificateOrderField.ORDERED_AT
    direction: OrderDirection = OrderDirection.DESC


def certificate_filter(
    *, search: str | None = None, kind: CertificateKind | None = None, status: CertificateStatus | None = None,
    qualified: bool | None = None, expires_before: str | None = None, user_id: str | None = None,
    p_number: str | None = None, se_number: str | None = None, issued_from: str | None = None,
    issued_to: str | None = None, revoked_from: str | None = None, revoked_to: str | None = None,
) -> CertificateFilter:
    try:
        expires = parse_moment(expires_before, "expiresBefore", end_of_day=False) if expires_before else None
    except DomainError as exc:
        raise bad_input(exc.message, "expiresBefore") from exc
    try:
        p = normalise_p_number(p_number) if p_number else None
    except IdentifierError as exc:
        raise bad_input(exc.message, "pNumber") from exc
    try:
        se = normalise_se_number(se_number) if se_number else None
    except IdentifierError as exc:
        raise bad_input(exc.message, "seNumber") from exc
    try:
        issued = moment_range(issued_from, issued_to, "issuedFrom", "issuedTo")
        revoked = moment_range(revoked_from, revoked_to, "revokedFrom", "revokedTo")
    except DomainError as exc:
        raise bad_input(exc.message, exc.field[0] if exc.field else "issuedFrom") from exc
    holder = None
    if user_id:
        # An id of another type or organisation simply matches nothing.
        holder = uuid_of(user_id, "User") or uuid.UUID(int=0)
    return CertificateFilter(
        search=search_text(search), kind=kind, status=status, qualified=qualified, expires_before=expires,
        user_id=holder, p_number=p, se_number=se, issued_from=issued.start, issued_to=issued.end,
        revoked_from=revoked.start, revoked_to=revoked.end,
    )


def certificate_order(field: CertificateOrderField, direction: OrderDirection) -> CertificateOrder:
    return CertificateOrder(field=field, descending=direction is OrderDirection.DESC)


def _enum(kind: type[E], raw: str | None, name: str) -> E | None:
    if raw is None or raw == "":
        return None
    try:
        return kind(raw.strip().upper())
    except ValueError as exc:
        choices = ", ".join(str(m.value) for m in kind)
        raise bad_input(f"`{name}` must be one of {choices}", name) from exc


def _boolean(raw: str | None, name: str) -> bool | None:
    if raw is None or raw == "":
        return None
    value = raw.strip().lower()
    if value in ("true", "1", "yes"):
        return True
    if value in ("false", "0", "no"):
        return False
    raise bad_input(f"`{name}` must be true or false", name)


def filter_from_query(params: Mapping[str, str]) -> tuple[CertificateFilter, CertificateOrder]:
    """The export's query string: the GraphQL filter's and orderBy's names (`search`, `kind`,
    `status`, `qualified`, `expiresBefore`, `userId`, `pNumber`, `seNumber`, `issuedFrom`, `issuedTo`,
    `revokedFrom`, `revokedTo`, `orderBy`, `direction`)."""
    f = certificate_filter(
        search=params.get("search") or None,
        kind=_enum(CertificateKind, params.get("kind"), "kind"),
        status=_enum(CertificateStatus, params.get("status"), "status"),
        qualified=_boolean(params.get("qualified"), "qualified"),
        expires_before=params.get("expiresBefore") or None,
        user_id=params.get("userId") or None,
        p_number=params.get("pNumber") or None, se_number=params.get("seNumber") or None,
        issued_from=params.get("issuedFrom") or None, issued_to=params.get("issuedTo") or None,
        revoked_from=params.get("revokedFrom") or None, revoked_to=params.get("revokedTo") or None,
    )
    field = _enum(CertificateOrderField, params.get("orderBy"), "orderBy") or CertificateOrderField.ORDERED_AT
    direction = _enum(OrderDirection, params.get("direction"), "direction") or OrderDirection.DESC
    return f, certificate_order(field, direction)


@strawberry.type
class CertificateQueries:
    @strawberry.field(permission_classes=requires(Action.VIEW_CERTIFICATES))
    async def certificates(
        self,
        info: Info,
        first: int | None = None,
        after: str | None = None,
        filter: CertificateFilterInput | None = None,
        order_by: CertificateOrderInput | None = None,
    ) -> CertificateConnection:
        ctx: Context = info.context
        offset, limit = (decode_cursor(after, "Offset") or 0), page_size(first)
        fi = filter or CertificateFilterInput()
        f = certificate_filter(
            search=fi.search, kind=fi.kind, status=fi.status, qualified=fi.qualified,
            expires_before=fi.expires_before, user_id=fi.user_id, p_number=fi.p_number, se_number=fi.se_number,
            issued_from=fi.issued_from, issued_to=fi.issued_to, revoked_from=fi.revoked_from,
            revoked_to=fi.revoked_to,
        )
        o = order_by or CertificateOrderInput()
        now = now_of(info)
        rows = await ctx.reader.run(certificates_sql.list_certificates, f, certificate_order(o.field, o.direction), offset, limit + 1, now)
        return CertificateConnection.of(rows, offset, limit, f, now, info)

    @strawberry.field(
        permission_classes=requires(Action.VIEW_OWN_CERTIFICATES),
        description="A certificate of the organisation (administrators) or the caller's own.",
    )
    async def certificate(self, info: Info, id: strawberry.ID) -> CertificateNode | None:
        return await load_certificate(info, uuid_of(id, "Certificate"))

    @strawberry.field(permission_classes=requires(Action.VIEW_CERTIFICATES))
    async def certificate_profiles(self, info: Info) -> list[CertificateProfileNode]:
        ctx: Context = info.context
        return [CertificateProfileNode.of(p) for p in await ctx.reader.run(certificates_sql.list_profiles)]
