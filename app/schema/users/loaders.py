"""The users area's loaders, and the relations of a page of users that are prefetched with them."""

from __future__ import annotations

import uuid
from collections.abc import Hashable
from dataclasses import dataclass
from typing import Any

from graphql import FieldNode
from sqlalchemy.ext.asyncio import AsyncConnection
from strawberry.types import Info

from app.domain.activity.model import Activity, ActivityFilter
from app.persistence import activity as activity_sql
from app.persistence.users import reads as users_sql
from app.schema.activity import activity_filter
from app.schema.runtime.base import decode_cursor, page_size
from app.schema.runtime.enums import ActivityType
from app.schema.runtime.loaders import by_key, by_key_and_shape
from app.schema.runtime.prefetch import prefetched
from app.schema.user_groups.loaders import GROUPS_OF_USER

HISTORY_DEFAULT = 200


@dataclass(frozen=True, slots=True)
class HistoryArgs:
    filter: ActivityFilter
    before_id: int | None
    limit: int


def history_args(
    first: int | None, after: str | None, from_: str | None, to: str | None,
    types: list[ActivityType] | None, search: str | None,
) -> HistoryArgs:
    """The history loader's key for `User.history(...)`'s arguments (raises the field's typed errors)."""
    flt = activity_filter(from_=from_, to=to, types=types, search=search, target_user_id=None)
    return HistoryArgs(flt, decode_cursor(after, "Activity"), page_size(first) + 1)


async def _history(
    conn: AsyncConnection, org_id: int, ids: list[uuid.UUID], args: HistoryArgs
) -> dict[uuid.UUID, list[Activity]]:
    """One windowed statement per distinct argument set."""
    return await activity_sql.latest_activities_by_user(conn, org_id, ids, args.filter, args.before_id, args.limit)


USER_BY_ID = by_key("user_by_id", users_sql.users_by_ids)  # uuid -> User | None
AUTHENTICATORS = by_key("authenticators_by_user", users_sql.authenticators_by_user, [])  # uuid -> [kind]
RIGHTS = by_key("rights_by_user", users_sql.rights_by_user, [])  # uuid -> [right code]
ROLES = by_key("roles_by_user", users_sql.roles_by_user, [])  # uuid -> [role]
HISTORY = by_key_and_shape("history_by_user", _history, [])  # (uuid, HistoryArgs) -> [Activity]
HISTORY_COUNT = by_key_and_shape("history_count_by_user", activity_sql.count_activities_by_user, 0)  # (uuid, filter)


def _history_shape(info: Info, field: FieldNode, a: dict[str, Any]) -> tuple[Hashable, ...]:
    return (history_args(a.get("first", HISTORY_DEFAULT), a.get("after"), a.get("from"), a.get("to"),
                         a.get("types"), a.get("search")),)


prefetched("User", "authenticators", AUTHENTICATORS)
prefetched("User", "rights", RIGHTS)
prefetched("User", "roles", ROLES)
prefetched("User", "groups", GROUPS_OF_USER)
prefetched("User", "history", HISTORY, _history_shape)
