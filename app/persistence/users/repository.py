"""The users' write repository, scoped to one organisation (the unit of work's `users`)."""

from __future__ import annotations

import datetime as dt
import uuid
from collections.abc import Sequence
from typing import Any

from sqlalchemy import and_, delete, insert, or_, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from app.domain.common.errors import DomainError
from app.domain.common.principal import Role
from app.domain.users.model import (
    AnonymityRequest,
    AnonymityRequestStatus,
    User,
    UserStatus,
)
from app.persistence.base import utc_now
from app.persistence.tables.users import (
    anonymity_requests,
    user_authenticators,
    user_rights,
    user_roles,
    users,
)
from app.persistence.users.batches import UserBatches
from app.persistence.users.reads import authenticators_by_user, rights_by_user
from app.persistence.users.rows import (
    LIVE,
    USER_COLUMNS,
    duplicate,
    request_from_row,
    user_from_row,
    user_values,
)


class SqlUserRepository(UserBatches):
    """Every statement is scoped by the organisation given at construction."""

    def __init__(self, conn: AsyncConnection, org_id: int, *, lock_rows: bool) -> None:
        self._conn = conn
        self._org_id = org_id
        self._lock_rows = lock_rows

    def _own(self, user_id: uuid.UUID) -> Any:
        return and_(users.c.id == user_id, users.c.org_id == self._org_id)

    async def _owned_id(self, user_id: uuid.UUID) -> bool:
        return (await self._conn.execute(select(users.c.id).where(self._own(user_id)))).first() is not None

    async def get(self, user_id: uuid.UUID, *, for_update: bool = False) -> User | None:
        q = select(*USER_COLUMNS).where(self._own(user_id))
        if for_update and self._lock_rows:
            q = q.with_for_update()
        row = (await self._conn.execute(q)).first()
        return user_from_row(row) if row else None

    async def add(self, user: User, *, cpr_hash: str | None, cpr_encrypted: bytes | None) -> None:
        assert user.org_id == self._org_id
        try:
            await self._conn.execute(
                insert(users).values(
                    id=user.id, org_id=self._org_id, created_at=user.created_at, version=user.version,
                    updated_at=user.created_at, cpr_hash=cpr_hash, cpr_encrypted=cpr_encrypted, **user_values(user),
                )
            )
        except IntegrityError as exc:
            raise duplicate(exc) from exc
        user.updated_at = user.created_at

    async def save(self, user: User) -> None:
        """Optimistic concurrency: the row must still have the version we read."""
        now = utc_now()
        try:
            result = await self._conn.execute(
                update(users)
                .where(self._own(user.id), users.c.version == user.version)
                .values(version=user.version + 1, updated_at=now, **user_values(user))
            )
        except IntegrityError as exc:
            raise duplicate(exc) from exc
        if result.rowcount != 1:
            raise DomainError("CONFLICT", "The user was changed by someone else; try again", ["userId"])
        user.version += 1
        user.updated_at = now

    async def email_taken(self, email: str, *, except_user: uuid.UUID | None = None) -> bool:
        q = select(users.c.id).where(users.c.org_id == self._org_id, users.c.email_lower == email.lower(), LIVE)
        if except_user is not None:
            q = q.where(users.c.id != except_user)
        return (await self._conn.execute(q.limit(1))).first() is not None

    async def cpr_taken(self, cpr_hash: str) -> bool:
        q = select(users.c.id).where(
            users.c.org_id == self._org_id, users.c.cpr_hash == cpr_hash, LIVE, users.c.cpr_hash.is_not(None)
        )
        return (await self._conn.execute(q.limit(1))).first() is not None

    async def cpr_hash_of(self, user_id: uuid.UUID) -> tuple[str | None, bytes | None]:
        row = (
            await self._conn.execute(select(users.c.cpr_hash, users.c.cpr_encrypted).where(self._own(user_id)))
        ).first()
        return (row.cpr_hash, row.cpr_encrypted) if row else (None, None)

    async def authenticators(self, user_id: uuid.UUID) -> list[str]:
        return (await authenticators_by_user(self._conn, self._org_id, [user_id]))[user_id]

    async def set_authenticators(self, user_id: uuid.UUID, kinds: Sequence[str], now: dt.datetime) -> None:
        if not await self._owned_id(user_id):
            return
        await self._conn.execute(delete(user_authenticators).where(user_authenticators.c.user_id == user_id))
        if kinds:
            await self._conn.execute(
                insert(user_authenticators), [{"user_id": user_id, "kind": k, "added_at": now} for k in kinds]
            )
        await self.touch([user_id])

    async def rights(self, user_id: uuid.UUID) -> list[str]:
        return (await rights_by_user(self._conn, self._org_id, [user_id]))[user_id]

    async def set_rights(self, user_id: uuid.UUID, codes: Sequence[str]) -> None:
        if not await self._owned_id(user_id):
            return
        await self._conn.execute(delete(user_rights).where(user_rights.c.user_id == user_id))
        if codes:
            await self._conn.execute(insert(user_rights), [{"user_id": user_id, "code": c} for c in codes])
        await self.touch([user_id])

    async def set_roles(self, user_id: uuid.UUID, roles: Sequence[Role]) -> None:
        if not await self._owned_id(user_id):
            return
        await self._conn.execute(delete(user_roles).where(user_roles.c.user_id == user_id))
        if roles:
            await self._conn.execute(insert(user_roles), [{"user_id": user_id, "role": r.value} for r in roles])
        await self.touch([user_id])

    async def set_activation(
        self, user_id: uuid.UUID, *, token_hash: str | None, code_hash: str | None, expires_at: dt.datetime | None
    ) -> None:
        await self._conn.execute(
            update(users)
            .where(self._own(user_id))
            .values(activation_token_hash=token_hash, activation_code_hash=code_hash, activation_expires_at=expires_at)
        )

    async def activation_secret(self, user_id: uuid.UUID) -> tuple[str | None, str | None, dt.datetime | None]:
        row = (
            await self._conn.execute(
                select(users.c.activation_token_hash, users.c.activation_code_hash, users.c.activation_expires_at)
                .where(self._own(user_id))
            )
        ).first()
        return (row[0], row[1], row[2]) if row else (None, None, None)

    async def ids_with_role(self, role: Role) -> list[uuid.UUID]:
        q = (
            select(users.c.id)
            .join(user_roles, user_roles.c.user_id == users.c.id)
            .where(
                users.c.org_id == self._org_id,
                user_roles.c.role == role.value,
                users.c.status != UserStatus.DELETED.value,
            )
            .order_by(users.c.id)
        )
        return list((await self._conn.execute(q)).scalars())

    async def administrators_of(self, org_id: int, roles: Sequence[Role]) -> list[User]:
        """Live holders of any of `roles` in organisation `org_id`, which may be a partner's: the
        one cross-organisation read of people, for telling a partner's administrators what our
        organisation did with their users. Scoped by the org id given, never by ours."""
        holders = select(user_roles.c.user_id).where(user_roles.c.role.in_([r.value for r in roles]))
        q = (
            select(*USER_COLUMNS)
            .where(users.c.org_id == org_id, users.c.id.in_(holders), users.c.status != UserStatus.DELETED.value)
            .order_by(users.c.id)
        )
        return [user_from_row(r) for r in await self._conn.execute(q)]

    async def due_deactivation_changes(self, now: dt.datetime) -> list[uuid.UUID]:
        """Claimed by this transaction: another gateway process skips the rows we hold."""
        q = select(users.c.id).where(
            users.c.org_id == self._org_id,
            or_(
                and_(users.c.status.in_(["ACTIVE", "DEACTIVATED"]), users.c.deactivated_until <= now),
                and_(users.c.status == "ACTIVE", users.c.deactivated_from <= now),
            ),
        )
        if self._lock_rows:
            q = q.with_for_update(skip_locked=True)
        return list((await self._conn.execute(q)).scalars())

    async def add_anonymity_request(self, request: AnonymityRequest) -> None:
        await self._conn.execute(
            insert(anonymity_requests).values(
                id=request.id, org_id=self._org_id, user_id=request.user_id, reason=request.reason,
                status=request.status.value, requested_at=request.requested_at,
            )
        )

    async def get_anonymity_request(self, request_id: uuid.UUID) -> AnonymityRequest | None:
        q = select(anonymity_requests).where(
            anonymity_requests.c.id == request_id, anonymity_requests.c.org_id == self._org_id
        )
        row = (await self._conn.execute(q)).first()
        return request_from_row(row) if row else None

    async def save_anonymity_request(self, request: AnonymityRequest) -> None:
        await self._conn.execute(
            update(anonymity_requests)
            .where(anonymity_requests.c.id == request.id, anonymity_requests.c.org_id == self._org_id)
            .values(
                status=request.status.value, decided_at=request.decided_at, decided_by=request.decided_by,
                new_user_id=request.new_user_id,
            )
        )

    async def pending_anonymity_request_of(self, user_id: uuid.UUID) -> AnonymityRequest | None:
        q = select(anonymity_requests).where(
            anonymity_requests.c.user_id == user_id,
            anonymity_requests.c.org_id == self._org_id,
            anonymity_requests.c.status == AnonymityRequestStatus.PENDING.value,
        )
        row = (await self._conn.execute(q)).first()
        return request_from_row(row) if row else None


async def mark_seen(engine: AsyncEngine, org_id: int, user_id: uuid.UUID, now: dt.datetime, cutoff: dt.datetime) -> bool:
    """`users.last_seen_at` is `now` unless someone set it at or after `cutoff` meanwhile: one
    conditional UPDATE in its own short transaction, which leaves `updated_at` as it is (being seen
    is not a change of the user). Noting a visit must not hold up a request: on PostgreSQL a row
    another transaction has locked (a user being edited, an import batch) is skipped (SKIP LOCKED:
    the next request notes it); on SQLite it waits at most a second for the write lock instead of
    the usual 30, then fails (the caller logs it)."""
    row = users.alias("seen")  # not correlated with the UPDATE's own table
    free = (
        select(row.c.id)
        .where(row.c.id == user_id, row.c.org_id == org_id,
               or_(row.c.last_seen_at.is_(None), row.c.last_seen_at < cutoff))
        .with_for_update(skip_locked=True, key_share=True)
    )
    q = update(users).where(users.c.id.in_(free)).values(last_seen_at=now, updated_at=users.c.updated_at)
    async with engine.connect() as conn:
        usual = None
        if conn.dialect.name == "sqlite":
            usual = int((await conn.exec_driver_sql("PRAGMA busy_timeout")).scalar_one())
            await conn.exec_driver_sql("PRAGMA busy_timeout=1000")
        try:
            result = await conn.execute(q)
            await conn.commit()
        finally:
            if usual is not None:  # the pooled connection goes back as it came
                await conn.rollback()
                await conn.exec_driver_sql(f"PRAGMA busy_timeout={usual}")
                await conn.rollback()
    return bool(result.rowcount)
