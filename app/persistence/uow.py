"""The unit of work: one transaction per use case; leaving without commit rolls back."""

from __future__ import annotations

import uuid
from collections.abc import Callable
from typing import Any

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from app.domain.common.errors import DomainError
from app.domain.common.ports import Platform
from app.domain.common.principal import Actor
from app.persistence.account_requests import SqlAccountRequestRepository
from app.persistence.activity import SqlActivityRepository
from app.persistence.billing import SqlBillingRepository
from app.persistence.bulk import SqlBulkJobRepository
from app.persistence.certificates.repository import SqlCertificateRepository
from app.persistence.db import begin_write, is_sqlite
from app.persistence.notifications import SqlNotificationRepository
from app.persistence.organisations import SqlOrganisationRepository
from app.persistence.outbox import SqlOutbox
from app.persistence.powers_of_attorney import SqlPowerOfAttorneyRepository
from app.persistence.rights import SqlRightsCatalogue
from app.persistence.tables.users import users
from app.persistence.user_groups.repository import SqlUserGroupRepository
from app.persistence.users.repository import SqlUserRepository
from app.persistence.users.roles import SqlRoleRepository
from app.persistence.webhooks import SqlWebhookRepository


class SqlUnitOfWork:
    def __init__(
        self, engine: AsyncEngine, actor: Actor, platform: Platform,
        on_notifications: Callable[[list[tuple[uuid.UUID, int]]], None] | None = None,
    ) -> None:
        self._engine = engine
        self._on_notifications = on_notifications
        self.actor = actor
        self.platform = platform
        self._conn: AsyncConnection | None = None
        self._actor_name: str | None = None

    async def __aenter__(self) -> SqlUnitOfWork:
        self._conn = await begin_write(self._engine)
        conn, org = self._conn, self.actor.org_id
        self.organisations = SqlOrganisationRepository(conn, org)
        self.users = SqlUserRepository(conn, org, lock_rows=not is_sqlite(str(self._engine.url)))
        self.roles = SqlRoleRepository(conn, org, lock_rows=not is_sqlite(str(self._engine.url)))
        self.activities = SqlActivityRepository(conn, org)
        self.notifications = SqlNotificationRepository(conn, org)
        self.outbox = SqlOutbox(conn, self.platform.now())
        self.bulk_jobs = SqlBulkJobRepository(conn, org)
        self.rights = SqlRightsCatalogue(conn)
        self.certificates = SqlCertificateRepository(conn, org, lock_rows=not is_sqlite(str(self._engine.url)))
        self.user_groups = SqlUserGroupRepository(conn, org)
        self.billing = SqlBillingRepository(conn, org)
        self.powers_of_attorney = SqlPowerOfAttorneyRepository(conn, org)
        self.webhooks = SqlWebhookRepository(conn, org)
        self.account_requests = SqlAccountRequestRepository(conn, org, lock_rows=not is_sqlite(str(self._engine.url)))
        return self

    async def __aexit__(self, exc_type: Any, exc: Any, tb: Any) -> None:
        assert self._conn is not None
        try:
            if self._conn.in_transaction():
                await self._conn.rollback()
        finally:
            await self._conn.close()
            self._conn = None

    async def commit(self) -> None:
        assert self._conn is not None
        try:
            await self._conn.commit()
        except IntegrityError as exc:
            raise DomainError("CONFLICT", "A concurrent change conflicts with this one; try again") from exc
        if self._on_notifications is not None and self.notifications.added:
            self._on_notifications(list(self.notifications.added))
        self.notifications.added.clear()

    async def rollback(self) -> None:
        assert self._conn is not None
        await self._conn.rollback()

    async def tune_for_bulk(self) -> None:
        """A long import inserts many rows in this one transaction, so statistics taken before it
        are wrong; plan each lookup for its actual values (PostgreSQL) instead of reusing a generic
        plan that scans the organisation's rows (quadratic over a 100k-row file)."""
        assert self._conn is not None
        if self._conn.dialect.name == "postgresql":
            await self._conn.exec_driver_sql("SET LOCAL plan_cache_mode = force_custom_plan")

    async def actor_name(self) -> str:
        if self._actor_name is None:
            if self.actor.user_id is None:
                self._actor_name = "System"
            else:
                assert self._conn is not None
                row = (
                    await self._conn.execute(
                        select(users.c.first_name, users.c.last_name, users.c.anonymous).where(
                            users.c.id == self.actor.user_id, users.c.org_id == self.actor.org_id
                        )
                    )
                ).first()
                if row is None:
                    self._actor_name = str(self.actor.user_id)
                else:
                    self._actor_name = str(self.actor.user_id) if row.anonymous else f"{row.first_name} {row.last_name}"
        return self._actor_name
