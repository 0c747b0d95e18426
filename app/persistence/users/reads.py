"""Users' reads: lists, counts and the batched reads behind the loaders (each `query(conn, org_id, ...)`)."""

from __future__ import annotations

import datetime as dt
import uuid
from collections import defaultdict
from collections.abc import Sequence
from typing import Any

from sqlalchemy import Select, and_, bindparam, func, or_, select
from sqlalchemy.ext.asyncio import AsyncConnection

from app.domain.common.principal import Role
from app.domain.users.model import (
    AnonymityRequest,
    AnonymityRequestStatus,
    User,
    UserFilter,
    UserOrder,
    UserOrderField,
    UserStatus,
)
from app.persistence.db import Statements, any_of, fetch_rows
from app.persistence.tables.users import (
    anonymity_requests,
    user_authenticators,
    user_rights,
    user_roles,
    users,
)
from app.persistence.users.rows import (
    USER_COLUMNS,
    request_from_row,
    user_from_row,
)


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
    for user_id, value in await fetch_rows(conn, q, {"org": org_id, "ids": list(ids)}):
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


def filtered(q: Select[Any], org_id: Any, f: UserFilter) -> Select[Any]:
    """`q` narrowed to the organisation and `f`: the one WHERE of the users list, its count and the export."""
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
        from app.persistence.tables.user_groups import user_group_members, user_groups

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
    if f.right is not None:
        q = q.where(_holds_right(org_id, f.right))
    if f.authenticator is not None:
        q = q.where(users.c.id.in_(
            select(user_authenticators.c.user_id).where(user_authenticators.c.kind == f.authenticator)
        ))
    if f.created_from is not None:
        q = q.where(users.c.created_at >= f.created_from)
    if f.created_to is not None:
        q = q.where(users.c.created_at < f.created_to)
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


def _holds_right(org_id: Any, code: str) -> Any:
    """The user holds `code` as `User.effectiveRights` shows it: their own, a custom group's of ours
    they are a member of, or the system group's of their P-unit."""
    from app.persistence.tables.user_groups import user_group_members, user_group_rights, user_groups

    own = select(user_rights.c.user_id).where(user_rights.c.code == code)
    via_custom = (
        select(user_group_members.c.user_id)
        .join(user_groups, user_groups.c.id == user_group_members.c.group_id)
        .join(user_group_rights, user_group_rights.c.group_id == user_groups.c.id)
        .where(user_groups.c.org_id == org_id, user_group_rights.c.code == code)
    )
    system_units = (
        select(user_groups.c.p_number)
        .join(user_group_rights, user_group_rights.c.group_id == user_groups.c.id)
        .where(user_groups.c.org_id == org_id, user_groups.c.kind == "SYSTEM", user_group_rights.c.code == code)
    )
    return or_(users.c.id.in_(own), users.c.id.in_(via_custom), users.c.p_number.in_(system_units))


_ORDER = {
    UserOrderField.NAME: (users.c.last_name, users.c.first_name),
    UserOrderField.EMAIL: (users.c.email_lower,),
    UserOrderField.CREATED_AT: (users.c.created_at,),
    UserOrderField.STATUS: (users.c.status,),
}


def _list_statement(_dialect: str, order: UserOrder, f: UserFilter = _ALL) -> Any:
    cols = [*_ORDER[order.field], users.c.id]
    q = filtered(select(*USER_COLUMNS), bindparam("org"), f).order_by(*(c.desc() if order.descending else c for c in cols))
    return q.offset(bindparam("offset")).limit(bindparam("limit"))


_LIST = Statements(_list_statement)


async def list_users(
    conn: AsyncConnection, org_id: int, f: UserFilter, order: UserOrder, offset: int, limit: int
) -> list[User]:
    """A page of users; without a filter (a dashboard's usual page) the statement is built once per order."""
    q = _LIST.get(conn, order) if f == _ALL else _list_statement(conn.dialect.name, order, f)
    rows = await fetch_rows(conn, q, {"org": org_id, "offset": offset, "limit": limit})
    return [user_from_row(r) for r in rows]


async def count_users(conn: AsyncConnection, org_id: int, f: UserFilter) -> int:
    q = filtered(select(func.count()).select_from(users), org_id, f)
    return int((await conn.execute(q)).scalar_one())


async def anonymity_requests_of_org(
    conn: AsyncConnection, org_id: int, status: AnonymityRequestStatus | None
) -> list[AnonymityRequest]:
    q = select(anonymity_requests).where(anonymity_requests.c.org_id == org_id)
    if status is not None:
        q = q.where(anonymity_requests.c.status == status.value)
    rows = await conn.execute(q.order_by(anonymity_requests.c.requested_at.desc()))
    return [request_from_row(r) for r in rows]


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
    from app.persistence.tables.organisations import organisations

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
    lambda _dialect: select(users.c.status, user_roles.c.role, users.c.last_seen_at)
    .select_from(users.outerjoin(user_roles, user_roles.c.user_id == users.c.id))
    .where(users.c.org_id == bindparam("org"), users.c.id == bindparam("id"))
)


async def status_of_user(
    conn: AsyncConnection, org_id: int, user_id: uuid.UUID
) -> tuple[UserStatus, frozenset[Role], dt.datetime | None] | None:
    """The caller's own status, the roles the gateway holds for them and when they were last seen,
    in one statement that every request runs (built once; bound parameters)."""
    rows = await fetch_rows(conn, _STATUS_OF_USER.get(conn), {"org": org_id, "id": user_id})
    if not rows:
        return None
    return UserStatus(rows[0][0]), frozenset(Role(r[1]) for r in rows if r[1] is not None), rows[0][2]
