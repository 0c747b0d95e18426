"""The read path of one request: one pooled connection, used by one loader batch at a time
(an AsyncConnection must never run two statements at once), every read scoped to one organisation."""

from __future__ import annotations

import asyncio
import datetime as dt
import uuid
from collections.abc import Sequence
from typing import Any

from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from app.domain.activity.model import Activity, ActivityFilter
from app.domain.billing.model import Billing, BillingCounts
from app.domain.bulk.model import BulkJob
from app.domain.certificates.model import Certificate, CertificateFilter, CertificateOrder, CertificateProfile
from app.domain.common.organisation import Organisation, OrganisationSettings
from app.domain.common.rights import Right
from app.domain.notifications.model import Notification
from app.domain.powers_of_attorney.model import PowerOfAttorney
from app.domain.user_groups.model import ExternalMembership, GroupMember, UserGroup, UserGroupFilter
from app.domain.users.model import (
    AnonymityRequest,
    AnonymityRequestStatus,
    User,
    UserFilter,
    UserOrder,
    UserStatus,
)
from app.persistence import (
    activity,
    billing,
    bulk,
    notifications,
    organisations,
    powers_of_attorney,
    rights,
    user_groups,
)
from app.persistence import certificates as certificates_sql
from app.persistence import users as users_sql


class Reader:
    def __init__(self, engine: AsyncEngine, org_id: int) -> None:
        self._engine = engine
        self.org_id = org_id
        self._conn: AsyncConnection | None = None
        self._lock = asyncio.Lock()

    async def _connection(self) -> AsyncConnection:
        if self._conn is None:
            conn = await self._engine.connect()
            if conn.dialect.name == "postgresql":
                # READ COMMITTED (the default) gives each statement its own snapshot, transaction or
                # not: a transaction around a request's reads would only add BEGIN and ROLLBACK round
                # trips. (SQLite keeps its read transaction: one WAL snapshot for the request.)
                await conn.execution_options(isolation_level="AUTOCOMMIT")
            self._conn = conn
        return self._conn

    async def close(self) -> None:
        if self._conn is not None:
            conn, self._conn = self._conn, None
            await conn.rollback()
            await conn.close()

    async def user_status(self, user_id: uuid.UUID) -> UserStatus | None:
        async with self._lock:
            return await users_sql.status_of_user(await self._connection(), self.org_id, user_id)

    async def organisation(self) -> Organisation:
        async with self._lock:
            return await organisations.load_organisation(await self._connection(), self.org_id)

    async def settings(self) -> OrganisationSettings:
        async with self._lock:
            return await organisations.load_settings(await self._connection(), self.org_id)

    async def users_by_ids(self, ids: Sequence[uuid.UUID]) -> dict[uuid.UUID, User]:
        async with self._lock:
            return await users_sql.users_by_ids(await self._connection(), self.org_id, ids)

    async def authenticators_by_user(self, ids: Sequence[uuid.UUID]) -> dict[uuid.UUID, list[str]]:
        async with self._lock:
            return await users_sql.authenticators_by_user(await self._connection(), self.org_id, ids)

    async def rights_by_user(self, ids: Sequence[uuid.UUID]) -> dict[uuid.UUID, list[str]]:
        async with self._lock:
            return await users_sql.rights_by_user(await self._connection(), self.org_id, ids)

    async def roles_by_user(self, ids: Sequence[uuid.UUID]) -> dict[uuid.UUID, list[str]]:
        async with self._lock:
            return await users_sql.roles_by_user(await self._connection(), self.org_id, ids)

    async def list_users(self, f: UserFilter, order: UserOrder, offset: int, limit: int) -> list[User]:
        async with self._lock:
            return await users_sql.list_users(await self._connection(), self.org_id, f, order, offset, limit)

    async def count_users(self, f: UserFilter) -> int:
        async with self._lock:
            return await users_sql.count_users(await self._connection(), self.org_id, f)

    async def anonymity_requests(self, status: AnonymityRequestStatus | None) -> list[AnonymityRequest]:
        async with self._lock:
            return await users_sql.anonymity_requests_of_org(await self._connection(), self.org_id, status)

    async def list_activities(self, f: ActivityFilter, before_id: int | None, limit: int) -> list[Activity]:
        async with self._lock:
            return await activity.list_activities(await self._connection(), self.org_id, f, before_id, limit)

    async def count_activities(self, f: ActivityFilter) -> int:
        async with self._lock:
            return await activity.count_activities(await self._connection(), self.org_id, f)

    async def latest_activities_by_user(
        self, ids: Sequence[uuid.UUID], f: ActivityFilter, before_id: int | None, limit: int
    ) -> dict[uuid.UUID, list[Activity]]:
        async with self._lock:
            return await activity.latest_activities_by_user(
                await self._connection(), self.org_id, ids, f, before_id, limit
            )

    async def activity_details(self, ids: Sequence[int]) -> dict[int, dict[str, Any]]:
        async with self._lock:
            return await activity.activity_details(await self._connection(), self.org_id, ids)

    async def count_activities_by_user(self, ids: Sequence[uuid.UUID], f: ActivityFilter) -> dict[uuid.UUID, int]:
        async with self._lock:
            return await activity.count_activities_by_user(await self._connection(), self.org_id, ids, f)

    async def notifications(
        self, recipient: uuid.UUID, unread_only: bool, before_id: int | None, limit: int
    ) -> list[Notification]:
        async with self._lock:
            return await notifications.list_notifications(
                await self._connection(), self.org_id, recipient, unread_only, before_id, limit
            )

    async def count_notifications(self, recipient: uuid.UUID, unread_only: bool) -> int:
        async with self._lock:
            return await notifications.count_notifications(await self._connection(), self.org_id, recipient, unread_only)

    async def activity_by_id(self, activity_id: int) -> Activity | None:
        async with self._lock:
            return await activity.activity_by_id(await self._connection(), self.org_id, activity_id)

    async def notification_by_id(self, recipient: uuid.UUID, notification_id: int) -> Notification | None:
        async with self._lock:
            return await notifications.notification_by_id(
                await self._connection(), self.org_id, recipient, notification_id
            )

    async def bulk_job(self, job_id: uuid.UUID) -> BulkJob | None:
        async with self._lock:
            return await bulk.job_by_id(await self._connection(), self.org_id, job_id)

    async def rights_catalogue(self) -> list[Right]:
        async with self._lock:
            return await rights.all_rights(await self._connection())

    # --- user groups ---

    async def list_groups(self, f: UserGroupFilter, offset: int, limit: int) -> list[UserGroup]:
        async with self._lock:
            return await user_groups.list_groups(await self._connection(), self.org_id, f, offset, limit)

    async def count_groups(self, f: UserGroupFilter) -> int:
        async with self._lock:
            return await user_groups.count_groups(await self._connection(), self.org_id, f)

    async def groups_by_ids(self, ids: Sequence[uuid.UUID]) -> dict[uuid.UUID, UserGroup]:
        async with self._lock:
            return await user_groups.groups_by_ids(await self._connection(), self.org_id, ids)

    async def rights_by_group(self, ids: Sequence[uuid.UUID]) -> dict[uuid.UUID, list[str]]:
        async with self._lock:
            return await user_groups.rights_by_group(await self._connection(), self.org_id, ids)

    async def members_by_group(
        self, ids: Sequence[uuid.UUID], offset: int, limit: int
    ) -> dict[uuid.UUID, list[GroupMember]]:
        async with self._lock:
            return await user_groups.members_by_group(await self._connection(), self.org_id, ids, offset, limit)

    async def member_counts(self, ids: Sequence[uuid.UUID]) -> dict[uuid.UUID, int]:
        async with self._lock:
            return await user_groups.member_counts(await self._connection(), self.org_id, ids)

    async def groups_by_user(self, ids: Sequence[uuid.UUID]) -> dict[uuid.UUID, list[UserGroup]]:
        async with self._lock:
            return await user_groups.groups_by_user(await self._connection(), self.org_id, ids)

    async def group_rights_by_user(self, ids: Sequence[uuid.UUID]) -> dict[uuid.UUID, list[str]]:
        async with self._lock:
            return await user_groups.group_rights_by_user(await self._connection(), self.org_id, ids)

    async def external_memberships(self, offset: int, limit: int) -> tuple[list[ExternalMembership], int]:
        async with self._lock:
            return await user_groups.external_memberships(await self._connection(), self.org_id, offset, limit)

    # --- billing and powers of attorney ---

    async def billing(self) -> Billing:
        async with self._lock:
            return await billing.load_billing(await self._connection(), self.org_id)

    async def billing_counts(self) -> BillingCounts:
        async with self._lock:
            return await billing.billing_counts(await self._connection(), self.org_id)

    async def powers_of_attorney(
        self, org_cvr: str, received: bool, offset: int, limit: int
    ) -> tuple[list[PowerOfAttorney], int]:
        async with self._lock:
            return await powers_of_attorney.list_powers(
                await self._connection(), self.org_id, org_cvr, received, offset, limit
            )

    async def power_of_attorney(self, org_cvr: str, poa_id: uuid.UUID) -> PowerOfAttorney | None:
        async with self._lock:
            return await powers_of_attorney.power_by_id(await self._connection(), self.org_id, org_cvr, poa_id)

    # --- certificates ---

    async def certificates_by_ids(self, ids: Sequence[uuid.UUID]) -> dict[uuid.UUID, Certificate]:
        async with self._lock:
            return await certificates_sql.certificates_by_ids(await self._connection(), self.org_id, ids)

    async def certificates_by_user(
        self, ids: Sequence[uuid.UUID], reading: frozenset[str] | None = None
    ) -> dict[uuid.UUID, list[Certificate]]:
        async with self._lock:
            return await certificates_sql.certificates_by_user(await self._connection(), self.org_id, ids, reading)

    async def certificate_pems(self, ids: Sequence[uuid.UUID]) -> dict[uuid.UUID, str | None]:
        async with self._lock:
            return await certificates_sql.certificate_pems(await self._connection(), self.org_id, ids)

    async def system_rights_by_certificate(self, ids: Sequence[uuid.UUID]) -> dict[uuid.UUID, list[str]]:
        async with self._lock:
            return await certificates_sql.system_rights_by_certificate(await self._connection(), self.org_id, ids)

    async def certificate_profiles_by_ids(self, ids: Sequence[uuid.UUID]) -> dict[uuid.UUID, CertificateProfile]:
        async with self._lock:
            return await certificates_sql.profiles_by_ids(await self._connection(), self.org_id, ids)

    async def certificate_profiles(self) -> list[CertificateProfile]:
        async with self._lock:
            return await certificates_sql.list_profiles(await self._connection(), self.org_id)

    async def list_certificates(
        self, f: CertificateFilter, order: CertificateOrder, offset: int, limit: int, now: dt.datetime
    ) -> list[Certificate]:
        async with self._lock:
            return await certificates_sql.list_certificates(
                await self._connection(), self.org_id, f, order, offset, limit, now
            )

    async def count_certificates(self, f: CertificateFilter, now: dt.datetime) -> int:
        async with self._lock:
            return await certificates_sql.count_certificates(await self._connection(), self.org_id, f, now)
