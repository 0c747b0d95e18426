"""Users: the write repository (scoped to one organisation) and the batched reads."""

from __future__ import annotations

import datetime as dt
import uuid
from collections import defaultdict
from collections.abc import Sequence
from typing import Any

from sqlalchemy import Select, and_, bindparam, delete, func, insert, or_, select, text, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncConnection

from app.domain.common.errors import DomainError
from app.domain.common.principal import Role
from app.domain.users.model import (
    AnonymityRequest,
    AnonymityRequestStatus,
    Identification,
    NotificationChannel,
    User,
    UserFilter,
    UserInsert,
    UserOrder,
    UserOrderField,
    UserStatus,
)
from app.persistence.db import Statements, any_of, insert_many
from app.persistence.tables import anonymity_requests, user_authenticators, user_rights, user_roles, users


def _duplicate(exc: IntegrityError) -> DomainError:
    """A concurrent request took the email or CPR between our check and our write: the unique
    index catches it (PostgreSQL names the index, SQLite the columns)."""
    text = str(exc.orig)
    if "uq_users_org_email_live" in text or "users.email_lower" in text:
        return DomainError("DUPLICATE_EMAIL", "Another user already has this email address", ["email"])
    if "uq_users_org_cpr_live" in text or "users.cpr_hash" in text:
        return DomainError("DUPLICATE_CPR", "Another user already has this CPR number", ["cpr"])
    return DomainError("CONFLICT", "A concurrent change conflicts with this one; try again")


# Written as SQL text, not a bound parameter, so that PostgreSQL's generic plans (asyncpg prepares
# statements) still match the partial unique indexes on live users' email and CPR.
LIVE = text("users.status != 'DELETED'")

USER_COLUMNS = [
    users.c.id, users.c.org_id, users.c.first_name, users.c.last_name, users.c.email, users.c.phone,
    users.c.reference, users.c.identification, users.c.cpr_masked, users.c.date_of_birth, users.c.anonymous,
    users.c.status, users.c.p_number, users.c.se_number, users.c.can_sign, users.c.can_create_seal,
    users.c.created_at, users.c.deactivated_from, users.c.deactivated_until, users.c.activated_at,
    users.c.last_login_at, users.c.deleted_at, users.c.notification_channel, users.c.version,
]


_IDENTIFICATION = {m.value: m for m in Identification}
_STATUS = {m.value: m for m in UserStatus}
_CHANNEL = {m.value: m for m in NotificationChannel}


def user_from_row(r: Any) -> User:
    """A user from a row starting with USER_COLUMNS (by position: cheaper than by name)."""
    (id_, org_id, first_name, last_name, email, phone, reference, identification, cpr_masked, date_of_birth,
     anonymous, status, p_number, se_number, can_sign, can_create_seal, created_at, deactivated_from,
     deactivated_until, activated_at, last_login_at, deleted_at, channel, version) = r[:24]
    return User(
        id=id_, org_id=org_id, first_name=first_name, last_name=last_name, email=email,
        phone=phone, reference=reference, identification=_IDENTIFICATION[identification],
        cpr_masked=cpr_masked, date_of_birth=date_of_birth, anonymous=anonymous,
        status=_STATUS[status], p_number=p_number, se_number=se_number, can_sign=can_sign,
        can_create_seal=can_create_seal, created_at=created_at, deactivated_from=deactivated_from,
        deactivated_until=deactivated_until, activated_at=activated_at, last_login_at=last_login_at,
        deleted_at=deleted_at, notification_channel=_CHANNEL[channel], version=version,
    )


def _user_values(u: User) -> dict[str, Any]:
    return {
        "first_name": u.first_name, "last_name": u.last_name, "email": u.email, "email_lower": u.email.lower(),
        "phone": u.phone, "reference": u.reference, "identification": u.identification.value,
        "cpr_masked": u.cpr_masked, "date_of_birth": u.date_of_birth, "anonymous": u.anonymous,
        "status": u.status.value, "p_number": u.p_number, "se_number": u.se_number, "can_sign": u.can_sign,
        "can_create_seal": u.can_create_seal, "deactivated_from": u.deactivated_from,
        "deactivated_until": u.deactivated_until, "activated_at": u.activated_at,
        "last_login_at": u.last_login_at, "deleted_at": u.deleted_at,
        "notification_channel": u.notification_channel.value,
    }


def _request_from_row(r: Any) -> AnonymityRequest:
    return AnonymityRequest(
        id=r.id, org_id=r.org_id, user_id=r.user_id, reason=r.reason,
        status=AnonymityRequestStatus(r.status), requested_at=r.requested_at, decided_at=r.decided_at,
        decided_by=r.decided_by, new_user_id=r.new_user_id,
    )


class SqlUserRepository:
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
                    cpr_hash=cpr_hash, cpr_encrypted=cpr_encrypted, **_user_values(user),
                )
            )
        except IntegrityError as exc:
            raise _duplicate(exc) from exc

    async def save(self, user: User) -> None:
        """Optimistic concurrency: the row must still have the version we read."""
        try:
            result = await self._conn.execute(
                update(users)
                .where(self._own(user.id), users.c.version == user.version)
                .values(version=user.version + 1, **_user_values(user))
            )
        except IntegrityError as exc:
            raise _duplicate(exc) from exc
        if result.rowcount != 1:
            raise DomainError("CONFLICT", "The user was changed by someone else; try again", ["userId"])
        user.version += 1

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

    async def rights(self, user_id: uuid.UUID) -> list[str]:
        return (await rights_by_user(self._conn, self._org_id, [user_id]))[user_id]

    async def set_rights(self, user_id: uuid.UUID, codes: Sequence[str]) -> None:
        if not await self._owned_id(user_id):
            return
        await self._conn.execute(delete(user_rights).where(user_rights.c.user_id == user_id))
        if codes:
            await self._conn.execute(insert(user_rights), [{"user_id": user_id, "code": c} for c in codes])

    async def set_roles(self, user_id: uuid.UUID, roles: Sequence[Role]) -> None:
        if not await self._owned_id(user_id):
            return
        await self._conn.execute(delete(user_roles).where(user_roles.c.user_id == user_id))
        if roles:
            await self._conn.execute(insert(user_roles), [{"user_id": user_id, "role": r.value} for r in roles])

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
        return _request_from_row(row) if row else None

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
        return _request_from_row(row) if row else None


    # --- batches (CSV import) -----------------------------------------------------------------------

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
                 "cpr_hash": r.cpr_hash, "cpr_encrypted": r.cpr_encrypted, **_user_values(r.user),
                 "activation_token_hash": None, "activation_code_hash": None, "activation_expires_at": None}
                for r in rows
            ])
        except IntegrityError as exc:
            raise _duplicate(exc) from exc
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
            for chunk in _chunks(values):
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
        for chunk in _chunks(list(ids)):
            out.update(await authenticators_by_user(self._conn, self._org_id, chunk))
        return out

    async def rights_of(self, ids: Sequence[uuid.UUID]) -> dict[uuid.UUID, list[str]]:
        out: dict[uuid.UUID, list[str]] = {}
        for chunk in _chunks(list(ids)):
            out.update(await rights_by_user(self._conn, self._org_id, chunk))
        return out

    async def save_many(self, changed: Sequence[User]) -> None:
        """Batch update; the rows were locked when read (find_many), so versions cannot race."""
        if not changed:
            return
        stmt = (
            update(users)
            .where(users.c.id == bindparam("b_id"), users.c.org_id == self._org_id)
            .values(version=bindparam("b_version"), **{k: bindparam(k) for k in _user_values(changed[0])})
        )
        try:
            await self._conn.execute(
                stmt, [{"b_id": u.id, "b_version": u.version + 1, **_user_values(u)} for u in changed]
            )
        except IntegrityError as exc:
            raise _duplicate(exc) from exc
        for u in changed:
            u.version += 1

    async def replace_authenticators_many(self, kinds: dict[uuid.UUID, list[str]], now: dt.datetime) -> None:
        ids = list(kinds)
        for chunk in _chunks(ids):
            await self._conn.execute(delete(user_authenticators).where(user_authenticators.c.user_id.in_(chunk)))
        rows = [{"user_id": u, "kind": k, "added_at": now} for u, ks in kinds.items() for k in ks]
        if rows:
            await self._conn.execute(insert(user_authenticators), rows)

    async def replace_rights_many(self, rights: dict[uuid.UUID, list[str]]) -> None:
        for chunk in _chunks(list(rights)):
            await self._conn.execute(delete(user_rights).where(user_rights.c.user_id.in_(chunk)))
        rows = [{"user_id": u, "code": c} for u, cs in rights.items() for c in cs]
        if rows:
            await self._conn.execute(insert(user_rights), rows)

    async def ids_in_status(self, status: UserStatus) -> list[uuid.UUID]:
        q = (
            select(users.c.id)
            .where(users.c.org_id == self._org_id, users.c.status == status.value)
            .order_by(users.c.created_at, users.c.id)
        )
        return list((await self._conn.execute(q)).scalars())


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


def _chunks(values: list[Any], size: int = 500) -> list[list[Any]]:
    """IN lists stay below SQLite's and asyncpg's parameter limits."""
    return [values[i : i + size] for i in range(0, len(values), size)]


# --- batched reads (dataloaders) ------------------------------------------------------------------


async def users_by_ids(conn: AsyncConnection, org_id: int, ids: Sequence[uuid.UUID]) -> dict[uuid.UUID, User]:
    rows = await conn.execute(select(*USER_COLUMNS).where(users.c.org_id == org_id, users.c.id.in_(ids)))
    return {r.id: user_from_row(r) for r in rows}


_VALUES_BY_USER = Statements(
    lambda dialect, table, column: select(table.c.user_id, column)
    .join(users, users.c.id == table.c.user_id)
    .where(users.c.org_id == bindparam("org"), any_of(table.c.user_id, "ids", dialect))
    .order_by(table.c.user_id, column)
)


async def _values_by_user(
    conn: AsyncConnection, org_id: int, ids: Sequence[uuid.UUID], table: Any, column: Any
) -> dict[uuid.UUID, list[str]]:
    """One statement: a per-user list of `column` of `table`, only for users of `org_id`."""
    q = _VALUES_BY_USER.get(conn, table, column)
    out: dict[uuid.UUID, list[str]] = defaultdict(list)
    for user_id, value in await conn.execute(q, {"org": org_id, "ids": list(ids)}):
        out[user_id].append(value)
    return {i: out.get(i, []) for i in ids}


async def authenticators_by_user(
    conn: AsyncConnection, org_id: int, ids: Sequence[uuid.UUID]
) -> dict[uuid.UUID, list[str]]:
    return await _values_by_user(conn, org_id, ids, user_authenticators, user_authenticators.c.kind)


async def rights_by_user(conn: AsyncConnection, org_id: int, ids: Sequence[uuid.UUID]) -> dict[uuid.UUID, list[str]]:
    return await _values_by_user(conn, org_id, ids, user_rights, user_rights.c.code)


async def roles_by_user(conn: AsyncConnection, org_id: int, ids: Sequence[uuid.UUID]) -> dict[uuid.UUID, list[str]]:
    return await _values_by_user(conn, org_id, ids, user_roles, user_roles.c.role)


_ALL = UserFilter()


def _filtered(q: Select[Any], org_id: Any, f: UserFilter) -> Select[Any]:
    q = q.where(users.c.org_id == org_id)
    if f.status is not None:
        q = q.where(users.c.status == f.status.value)
    else:
        q = q.where(users.c.status != UserStatus.DELETED.value)
    if f.p_number:
        q = q.where(users.c.p_number == f.p_number)
    if f.se_number:
        q = q.where(users.c.se_number == f.se_number)
    if f.identification is not None:
        q = q.where(users.c.identification == f.identification.value)
    if f.group_id is not None:
        from app.persistence.tables import user_group_members, user_groups

        # The group must be ours: a partner's administrator filtering by one of our groups' ids
        # (they show in external membership ids) must see what an unknown id shows.
        in_custom = (
            select(user_group_members.c.user_id)
            .join(user_groups, user_groups.c.id == user_group_members.c.group_id)
            .where(user_group_members.c.group_id == f.group_id, user_groups.c.org_id == org_id)
        )
        system_unit = (
            select(user_groups.c.p_number)
            .where(user_groups.c.id == f.group_id, user_groups.c.org_id == org_id, user_groups.c.kind == "SYSTEM")
            .scalar_subquery()
        )
        q = q.where(or_(users.c.id.in_(in_custom), users.c.p_number == system_unit))
    if f.search and f.search.strip():
        term = f.search.strip().lower()
        like = f"%{term.replace('%', '').replace('_', '')}%"
        conds = [
            func.lower(users.c.first_name + " " + users.c.last_name).like(like),
            users.c.email_lower.like(like),
        ]
        try:
            conds.append(users.c.id == uuid.UUID(term))
        except ValueError:
            pass
        q = q.where(or_(*conds))
    return q


_ORDER = {
    UserOrderField.NAME: (users.c.last_name, users.c.first_name),
    UserOrderField.EMAIL: (users.c.email_lower,),
    UserOrderField.CREATED_AT: (users.c.created_at,),
    UserOrderField.STATUS: (users.c.status,),
}


def _list_statement(_dialect: str, order: UserOrder, f: UserFilter = _ALL) -> Any:
    cols = [*_ORDER[order.field], users.c.id]
    q = _filtered(select(*USER_COLUMNS), bindparam("org"), f).order_by(*(c.desc() if order.descending else c for c in cols))
    return q.offset(bindparam("offset")).limit(bindparam("limit"))


_LIST = Statements(_list_statement)


async def list_users(
    conn: AsyncConnection, org_id: int, f: UserFilter, order: UserOrder, offset: int, limit: int
) -> list[User]:
    """A page of users; without a filter (a dashboard's usual page) the statement is built once per order."""
    q = _LIST.get(conn, order) if f == _ALL else _list_statement(conn.dialect.name, order, f)
    rows = await conn.execute(q, {"org": org_id, "offset": offset, "limit": limit})
    return [user_from_row(r) for r in rows]


async def count_users(conn: AsyncConnection, org_id: int, f: UserFilter) -> int:
    q = _filtered(select(func.count()).select_from(users), org_id, f)
    return int((await conn.execute(q)).scalar_one())


async def anonymity_requests_of_org(
    conn: AsyncConnection, org_id: int, status: AnonymityRequestStatus | None
) -> list[AnonymityRequest]:
    q = select(anonymity_requests).where(anonymity_requests.c.org_id == org_id)
    if status is not None:
        q = q.where(anonymity_requests.c.status == status.value)
    rows = await conn.execute(q.order_by(anonymity_requests.c.requested_at.desc()))
    return [_request_from_row(r) for r in rows]


async def find_pending_activation(
    conn: AsyncConnection, *, token_hash: str | None = None, user_id: uuid.UUID | None = None
) -> tuple[uuid.UUID, int] | None:
    """The one unscoped lookup: the activating person has no organisation context yet."""
    q = select(users.c.id, users.c.org_id).where(users.c.status == UserStatus.PENDING_ACTIVATION.value)
    if token_hash is not None:
        q = q.where(users.c.activation_token_hash == token_hash)
    elif user_id is not None:
        q = q.where(users.c.id == user_id)
    else:
        return None
    row = (await conn.execute(q)).first()
    return (row.id, row.org_id) if row else None


async def orgs_with_due_deactivation_changes(conn: AsyncConnection, now: dt.datetime) -> list[tuple[int, str]]:
    """System-wide: which organisations have deactivation periods starting or ending now."""
    from app.persistence.tables import organisations

    q = (
        select(organisations.c.id, organisations.c.cvr)
        .where(
            select(users.c.id)
            .where(
                users.c.org_id == organisations.c.id,
                or_(
                    and_(users.c.status.in_(["ACTIVE", "DEACTIVATED"]), users.c.deactivated_until <= now),
                    and_(users.c.status == "ACTIVE", users.c.deactivated_from <= now),
                ),
            )
            .exists()
        )
        .order_by(organisations.c.id)
    )
    return [(r.id, r.cvr) for r in await conn.execute(q)]


_STATUS_OF_USER = Statements(
    lambda _dialect: select(users.c.status).where(users.c.org_id == bindparam("org"), users.c.id == bindparam("id"))
)


async def status_of_user(conn: AsyncConnection, org_id: int, user_id: uuid.UUID) -> UserStatus | None:
    """The caller's own status: every request asks (built once; bound parameters)."""
    value = (await conn.execute(_STATUS_OF_USER.get(conn), {"org": org_id, "id": user_id})).scalar()
    return UserStatus(value) if value is not None else None
