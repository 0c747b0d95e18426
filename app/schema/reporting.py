"""Reporting (issue 17): `userStats` and `certificateStats`, counts for reporting tools (the peers:
Microsoft Graph's $count, Keycloak's /users/count). Each is one SQL statement scoped to the
caller's organisation; counts only, so no person (anonymous or not) is revealed by them."""

from __future__ import annotations

import strawberry
from strawberry.types import Info

from app.domain.certificates.model import CertificateKind, CertificateStatus
from app.domain.common.errors import DomainError
from app.domain.common.organisation import Authenticator
from app.domain.common.policy import Action
from app.domain.reporting import Bucket, expiring_window
from app.domain.reporting import CertificateStats as DomainCertificateStats
from app.domain.reporting import UserStats as DomainUserStats
from app.domain.users.model import Identification, UserStatus
from app.persistence import reporting as reporting_sql
from app.schema.certificates.types import now_of
from app.schema.runtime.area import Area
from app.schema.runtime.base import bad_input, requires
from app.schema.runtime.context import Context


@strawberry.type(description="Users in one status.")
class UserStatusCount:
    key: UserStatus
    count: int


@strawberry.type(description="Users identified one way (CPR or date of birth).")
class IdentificationCount:
    key: Identification
    count: int


@strawberry.type(description="Users (not deleted) holding one kind of authenticator.")
class AuthenticatorCount:
    key: Authenticator
    count: int


@strawberry.type(description="Users (not deleted) of one P-unit (every P-unit of the organisation, 0 when empty); "
                 "`key` null: users without a P-unit.")
class OrganisationUnitCount:
    key: str | None = strawberry.field(description="The P-number")
    name: str | None = strawberry.field(description="The P-unit's name")
    count: int


@strawberry.type(description="Certificates of one kind.")
class CertificateKindCount:
    key: CertificateKind
    count: int


@strawberry.type(description="Certificates in one status as read (ISSUED past notAfter is EXPIRED).")
class CertificateStatusCount:
    key: CertificateStatus
    count: int


@strawberry.type(description="The organisation's users counted. `total` and every breakdown but `byStatus` count "
                 "what `users` lists by default (everyone not DELETED); `byStatus` also has DELETED. A user with "
                 "several authenticators counts once under each.")
class UserStats:
    total: int
    by_status: list[UserStatusCount]
    by_identification: list[IdentificationCount]
    by_authenticator: list[AuthenticatorCount]
    by_organisation_unit: list[OrganisationUnitCount]

    @classmethod
    def of(cls, s: DomainUserStats) -> UserStats:
        return cls(
            total=s.total,
            by_status=[UserStatusCount(key=UserStatus(b.key), count=b.count) for b in s.by_status],
            by_identification=[IdentificationCount(key=Identification(b.key), count=b.count)
                               for b in s.by_identification],
            by_authenticator=[AuthenticatorCount(key=Authenticator(b.key), count=b.count)
                              for b in _known(s.by_authenticator, Authenticator)],
            by_organisation_unit=[OrganisationUnitCount(key=b.key, name=b.name, count=b.count) for b in s.by_organisation_unit],
        )


@strawberry.type(description="The organisation's certificates counted (every status, as `certificates` lists them).")
class CertificateStats:
    total: int
    by_kind: list[CertificateKindCount]
    by_status: list[CertificateStatusCount]
    expiring_soon: int = strawberry.field(
        description="ISSUED certificates, not yet expired, whose notAfter is within `expiringWithinDays`")
    expiring_within_days: int

    @classmethod
    def of(cls, s: DomainCertificateStats) -> CertificateStats:
        return cls(
            total=s.total,
            by_kind=[CertificateKindCount(key=CertificateKind(b.key), count=b.count) for b in s.by_kind],
            by_status=[CertificateStatusCount(key=CertificateStatus(b.key), count=b.count) for b in s.by_status],
            expiring_soon=s.expiring_soon, expiring_within_days=s.expiring_within_days,
        )


def _known(items: tuple[Bucket, ...], kind: type[Authenticator]) -> list[Bucket]:
    """Only values the API names (a stored value no longer offered is left out, not an error)."""
    names = {m.value for m in kind}
    return [b for b in items if b.key in names]


@strawberry.type
class ReportingQueries:
    @strawberry.field(permission_classes=requires(Action.VIEW_USERS),
                      description="Counts of the organisation's users by status, identification, authenticator "
                                  "and P-unit (one statement).")
    async def user_stats(self, info: Info) -> UserStats:
        ctx: Context = info.context
        return UserStats.of(await ctx.reader.run(reporting_sql.user_stats))

    @strawberry.field(permission_classes=requires(Action.VIEW_CERTIFICATES),
                      description="Counts of the organisation's certificates by kind and status, and how many "
                                  "expire within `expiringWithinDays` (default 30, 1 to 3650; one statement).")
    async def certificate_stats(self, info: Info, expiring_within_days: int | None = None) -> CertificateStats:
        ctx: Context = info.context
        now = now_of(info)
        try:
            days, soon = expiring_window(expiring_within_days, now)
        except DomainError as exc:
            raise bad_input(exc.message, "expiringWithinDays") from exc
        return CertificateStats.of(await ctx.reader.run(reporting_sql.certificate_stats, now, days, soon))


AREA = Area(queries=(ReportingQueries,))
