"""The users' repository for a CSV import batch at a time: many rows per statement."""

from __future__ import annotations

import datetime as dt
import uuid
from collections.abc import Sequence

from sqlalchemy import and_, bindparam, delete, insert, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncConnection

from app.domain.activity.history import ActivityType
from app.domain.users.model import (
    User,
    UserInsert,
    UserStatus,
)
from app.persistence.base import utc_now
from app.persistence.db import Statements, any_of, insert_many
from app.persistence.tables.activity import activities
from app.persistence.tables.users import user_authenticators, user_rights, users
from app.persistence.users.reads import authenticators_by_user, rights_by_user
from app.persistence.users.rows import (
    LIVE,
    USER_COLUMNS,
    chunks,
    duplicate,
    user_from_row,
    user_values,
)


class UserBatches:
    """The many-row half of SqlUserRepository (it sets `_conn` and `_org_id`)."""

    _conn: AsyncConnection
    _org_id: int


    async def existing_emails(self, emails_lower: Sequence[str]) -> dict[str, uuid.UUID]:
        return await self._live_by(_BY_EMAIL, emails_lower)

    async def existing_cpr_hashes(self, hashes: Sequence[str]) -> dict[str, uuid.UUID]:
        return await self._live_by(_BY_CPR_HASH, hashes)

    async def _live_by(self, statements: Statements, values: Sequence[str]) -> dict[str, uuid.UUID]:
        """Live users of the organisation by one identifier, a bulk import batch at a time: one array
        parameter on PostgreSQL (planning a 500-value IN list per statement cost more than the probe)."""
        out: dict[str, uuid.UUID] = {}
        q = statements.get(self._conn)
        chunk = 1000 if self._conn.dialect.name == "postgresql" else 500
        unique = list(dict.fromkeys(values))
        for start in range(0, len(unique), chunk):
            rows = await self._conn.execute(q, {"org": self._org_id, "values": unique[start:start + chunk]})
            out.update({value: user_id for value, user_id in rows})
        return out

    async def add_many(self, rows: Sequence[UserInsert]) -> None:
        if not rows:
            return
        try:
            await insert_many(self._conn, users, [
                {"id": r.user.id, "org_id": self._org_id, "created_at": r.user.created_at, "version": r.user.version,
                 "updated_at": r.user.created_at,
                 "cpr_hash": r.cpr_hash, "cpr_encrypted": r.cpr_encrypted, **user_values(r.user),
                 "activation_token_hash": None, "activation_code_hash": None, "activation_expires_at": None}
                for r in rows
            ])
        except IntegrityError as exc:
            raise duplicate(exc) from exc
        await insert_many(self._conn, user_authenticators,
                          [{"user_id": r.user.id, "kind": k, "added_at": r.user.created_at}
                           for r in rows for k in r.authenticators])
        await insert_many(self._conn, user_rights, [{"user_id": r.user.id, "code": c} for r in rows for c in r.rights])

    async def find_many(
        self, ids: Sequence[uuid.UUID], cpr_hashes: Sequence[str], emails_lower: Sequence[str]
    ) -> tuple[dict[uuid.UUID, User], dict[str, User], dict[str, User]]:
        """Live users by any of three identifiers, locked for the rest of the transaction."""
        by_id: dict[uuid.UUID, User] = {}
        by_cpr: dict[str, User] = {}
        by_email: dict[str, User] = {}
        for column, values, out in (
            (users.c.id, list(ids), by_id), (users.c.cpr_hash, list(cpr_hashes), by_cpr),
            (users.c.email_lower, list(emails_lower), by_email),
        ):
            for chunk in chunks(values):
                q = select(*USER_COLUMNS, users.c.cpr_hash, users.c.email_lower).where(
                    users.c.org_id == self._org_id, column.in_(chunk), users.c.status != "DELETED"
                )
                if self._lock_rows:
                    q = q.with_for_update()
                for r in await self._conn.execute(q):
                    key = {"id": r.id, "cpr_hash": r.cpr_hash, "email_lower": r.email_lower}[column.name]
                    out[key] = user_from_row(r)  # type: ignore[index]
        # One object per user, whichever identifier found it, so edits are not lost.
        canonical = {**{u.id: u for u in by_email.values()}, **{u.id: u for u in by_cpr.values()}, **by_id}
        return (
            {k: canonical[u.id] for k, u in by_id.items()},
            {k: canonical[u.id] for k, u in by_cpr.items()},
            {k: canonical[u.id] for k, u in by_email.items()},
        )

    async def authenticators_of(self, ids: Sequence[uuid.UUID]) -> dict[uuid.UUID, list[str]]:
        out: dict[uuid.UUID, list[str]] = {}
        for chunk in chunks(list(ids)):
            out.update(await authenticators_by_user(self._conn, self._org_id, chunk))
        return out

    async def rights_of(self, ids: Sequence[uuid.UUID]) -> dict[uuid.UUID, list[str]]:
        out: dict[uuid.UUID, list[str]] = {}
        for chunk in chunks(list(ids)):
            out.update(await rights_by_user(self._conn, self._org_id, chunk))
        return out

    async def touch(self, user_ids: Sequence[uuid.UUID]) -> None:
        """The users' `updated_at` is now: a change held in a child table (rights, authenticators,
        roles, group memberships) is a change of the user. One statement for any number of users."""
        for chunk in chunks(list(dict.fromkeys(user_ids))):
            await self._conn.execute(
                update(users).where(users.c.org_id == self._org_id, users.c.id.in_(chunk)).values(updated_at=utc_now())
            )

    async def save_many(self, changed: Sequence[User]) -> None:
        """Batch update; the rows were locked when read (find_many), so versions cannot race."""
        if not changed:
            return
        stmt = (
            update(users)
            .where(users.c.id == bindparam("b_id"), users.c.org_id == self._org_id)
            .values(version=bindparam("b_version"), updated_at=bindparam("b_updated_at"),
                    **{k: bindparam(k) for k in user_values(changed[0])})
        )
        now = utc_now()
        try:
            await self._conn.execute(
                stmt, [{"b_id": u.id, "b_version": u.version + 1, "b_updated_at": now, **user_values(u)} for u in changed]
            )
        except IntegrityError as exc:
            raise duplicate(exc) from exc
        for u in changed:
            u.version += 1
            u.updated_at = now

    async def replace_authenticators_many(self, kinds: dict[uuid.UUID, list[str]], now: dt.datetime) -> None:
        ids = list(kinds)
        for chunk in chunks(ids):
            await self._conn.execute(delete(user_authenticators).where(user_authenticators.c.user_id.in_(chunk)))
        rows = [{"user_id": u, "kind": k, "added_at": now} for u, ks in kinds.items() for k in ks]
        if rows:
            await self._conn.execute(insert(user_authenticators), rows)
        await self.touch(ids)

    async def replace_rights_many(self, rights: dict[uuid.UUID, list[str]]) -> None:
        for chunk in chunks(list(rights)):
            await self._conn.execute(delete(user_rights).where(user_rights.c.user_id.in_(chunk)))
        rows = [{"user_id": u, "code": c} for u, cs in rights.items() for c in cs]
        if rows:
            await self._conn.execute(insert(user_rights), rows)
        await self.touch(list(rights))

    async def ids_in_status(self, status: UserStatus) -> list[uuid.UUID]:
        q = (
            select(users.c.id)
            .where(users.c.org_id == self._org_id, users.c.status == status.value)
            .order_by(users.c.created_at, users.c.id)
        )
        return list((await self._conn.execute(q)).scalars())

    async def ids_created_by_job(self, job_id: uuid.UUID, status: UserStatus) -> list[uuid.UUID]:
        """The users an import job created (its USER_CREATED history entries name the job) that are
        now in `status`, in the order they were created."""
        q = (
            select(users.c.id)
            .join(activities, and_(activities.c.target_user_id == users.c.id, activities.c.org_id == self._org_id))
            .where(
                users.c.org_id == self._org_id, users.c.status == status.value,
                activities.c.type == ActivityType.USER_CREATED.value,
                activities.c.details["bulkJob"].as_string() == str(job_id),
            )
            .order_by(users.c.created_at, users.c.id)
        )
        return list(dict.fromkeys((await self._conn.execute(q)).scalars()))


_BY_EMAIL = Statements(
    lambda dialect: select(users.c.email_lower, users.c.id).where(
        users.c.org_id == bindparam("org"), any_of(users.c.email_lower, "values", dialect), LIVE
    )
)
_BY_CPR_HASH = Statements(
    lambda dialect: select(users.c.cpr_hash, users.c.id).where(
        users.c.org_id == bindparam("org"), any_of(users.c.cpr_hash, "values", dialect), LIVE,
        users.c.cpr_hash.is_not(None),
    )
)
