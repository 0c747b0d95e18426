"""History entries: a user's own history and the organisation-wide activity log."""

from __future__ import annotations

import dataclasses
import datetime as dt
import enum
import uuid
from typing import TYPE_CHECKING, Annotated, Any

import strawberry
from strawberry.scalars import JSON
from strawberry.types import Info

from app.domain.activity.model import Activity, ActivityFilter, ActivityOutcome
from app.domain.common.errors import DomainError
from app.domain.common.policy import Action, is_allowed
from app.domain.common.validation import parse_moment
from app.persistence import activity as activity_sql
from app.schema.runtime.area import Area
from app.schema.runtime.base import (
    DomainView,
    Node,
    PageInfo,
    bad_input,
    decode_cursor,
    domain_view,
    encode_cursor,
    int_of,
    page_info_of,
    page_size,
    requires,
    to_global_id,
    uuid_of,
)
from app.schema.runtime.enums import ActivityType
from app.schema.runtime.loaders import by_key, now_or_later
from app.schema.runtime.plans import row_form
from app.schema.runtime.text_inputs import search_text

if TYPE_CHECKING:
    from app.schema.runtime.context import Context
    from app.schema.users.types import User


DETAILS_NOT_READ = object()
ACTIVITY_DETAILS = by_key("activity_details_by_id", activity_sql.activity_details, {})  # id -> details (lists omit them)
_ACTIVITY_TYPE = {m.value: m for m in ActivityType}
ActivityOutcomeEnum = strawberry.enum(
    ActivityOutcome, name="ActivityOutcome",
    description="What became of the recorded change. Entries are written in the transaction of the change, "
                "so every entry is SUCCEEDED; a refused attempt writes none (the operation log has it, under "
                "its request id).",
)


@strawberry.enum(description="Order of history entries by when they were written.")
class ActivityOrder(enum.Enum):
    ASC = "ASC"
    DESC = "DESC"


@strawberry.type(name="Activity", description="One history entry: when, who, what, on whom.")
class ActivityNode(DomainView, Node):
    id: strawberry.ID
    occurred_at: dt.datetime
    type: ActivityType
    actor_name: str
    target_name: str | None
    summary: str
    request_id: str | None = strawberry.field(
        description="The id of the gateway request that wrote the entry (its X-Request-ID, as in the logs); "
                    "null for entries of background jobs and entries written before it was recorded")
    outcome: ActivityOutcome
    actor_id: strawberry.Private[uuid.UUID | None]
    target_user_id: strawberry.Private[uuid.UUID | None]
    _id: strawberry.Private[int]
    _details: strawberry.Private[Any]  # the details, or DETAILS_NOT_READ (a user's history list omits them)

    @classmethod
    def of(cls, a: Activity, *, details_read: bool = True) -> ActivityNode:
        """A view of `a` (see DomainView)."""
        return cls.view(a, _details=a.details if details_read else DETAILS_NOT_READ)

    @classmethod
    async def resolve_node(cls, info: Info, id: str) -> ActivityNode | None:
        """node(id:): as the activity log, its viewers only (a person's own entries are reached
        through their `history`)."""
        ctx: Context = info.context
        activity_id = int_of(id, "Activity")
        if activity_id is None or ctx.principal is None or not is_allowed(ctx.principal.roles, Action.VIEW_ACTIVITIES):
            return None
        a = await ctx.reader.run(activity_sql.activity_by_id, activity_id)
        return cls.of(a) if a else None

    @strawberry.field
    def details(self, info: Info) -> JSON:
        if self._details is not DETAILS_NOT_READ:
            return self._details
        return now_or_later(info.context.loaders[ACTIVITY_DETAILS], self._id)

    @strawberry.field
    async def actor(self, info: Info) -> Annotated[User, strawberry.lazy("app.schema.users.types")] | None:
        from app.schema.users.types import load_user

        return await load_user(info, self.actor_id)

    @strawberry.field
    async def target_user(self, info: Info) -> Annotated[User, strawberry.lazy("app.schema.users.types")] | None:
        from app.schema.users.types import load_user

        return await load_user(info, self.target_user_id)


domain_view(ActivityNode, same=("occurred_at", "actor_name", "target_name", "summary", "actor_id", "target_user_id",
                              "request_id", "outcome"),
            derived={
                "id": lambda n: to_global_id("Activity", n._domain.id),
                "type": lambda n: _ACTIVITY_TYPE[n._domain.type],
                "_id": lambda n: n._domain.id or 0,
            })


@strawberry.type
class ActivityEdge(DomainView):
    cursor: str
    node: ActivityNode


domain_view(ActivityEdge, same=(), derived={"cursor": lambda e: encode_cursor("Activity", e._domain.id or 0)})


def _activity_cursor(id_: int | None) -> str:
    return encode_cursor("Activity", id_ or 0)


# A user's history in a compiled plan (app/schema/runtime/plans.py) is read from rows of the columns of
# activity_sql.SUMMARY_COLUMNS its selection reads (`id` first): each field as activity_from_row and the
# view above make it.
_SUMMARY = [c.name for c in activity_sql.SUMMARY_COLUMNS]
row_form("Activity", _SUMMARY, {
    "id": ("id", lambda id_: to_global_id("Activity", id_)),
    "occurredAt": ("occurred_at", None),
    "type": ("type", _ACTIVITY_TYPE.__getitem__),
    "actorName": ("actor_name", lambda name: name or ""),
    "targetName": ("target_name", None),
    "summary": ("summary", None),
    "requestId": ("request_id", None),
    "outcome": ("outcome", activity_sql.outcome_of),
})
row_form("ActivityEdge", _SUMMARY, {"cursor": ("id", _activity_cursor)}, same_row={"node": "Activity"})


@strawberry.type
class ActivityConnection:
    edges: list[ActivityEdge]
    page_info: PageInfo
    _count: strawberry.Private[Any]

    @strawberry.field
    async def total_count(self) -> int:
        return int(await self._count())

    @classmethod
    def of_rows(cls, rows: list[Any], limit: int, after: int | None, count: Any) -> ActivityConnection:
        """For a compiled plan: the edges are rows of SUMMARY_COLUMNS (the plan reads them by the row
        forms above), not views."""
        page = rows[:limit]
        return cls(
            edges=page,
            page_info=PageInfo(
                has_next_page=len(rows) > limit, has_previous_page=after is not None,
                start_cursor=_activity_cursor(page[0][0]) if page else None,
                end_cursor=_activity_cursor(page[-1][0]) if page else None,
            ),
            _count=count,
        )

    @classmethod
    def of(
        cls, rows: list[Activity], limit: int, after: int | None, count: Any, *, details_read: bool = True
    ) -> ActivityConnection:
        page = rows[:limit]
        edges = [
            ActivityEdge.view(a, node=ActivityNode.of(a, details_read=details_read))
            for a in page
        ]
        return cls(
            edges=edges,
            page_info=page_info_of(edges, has_next=len(rows) > limit, has_previous=after is not None),
            _count=count,
        )


def activity_filter(
    *,
    from_: str | None,
    to: str | None,
    types: list[ActivityType] | None,
    search: str | None,
    actor_id: strawberry.ID | None = None,
    target_user_id: uuid.UUID | None = None,
) -> ActivityFilter:
    try:
        start = parse_moment(from_, "from", end_of_day=False) if from_ else None
        end = parse_moment(to, "to", end_of_day=True) if to else None
    except DomainError as exc:
        raise bad_input(exc.message, exc.field[0] if exc.field else "from") from exc
    actor = None
    if actor_id is not None:
        # An id of another type or organisation simply matches nothing.
        actor = uuid_of(actor_id, "User") or uuid.UUID(int=0)
    return ActivityFilter(
        from_=start, to=end, types=tuple(t.value for t in types or ()), actor_id=actor,
        target_user_id=target_user_id, search=search_text(search),
    )


@strawberry.input
class ActivityFilterInput:
    from_: str | None = strawberry.field(name="from", default=None, description="ISO date or date-time")
    to: str | None = strawberry.field(default=None, description="ISO date (inclusive) or date-time")
    types: list[ActivityType] | None = None
    actor_id: strawberry.ID | None = None
    target_user_id: strawberry.ID | None = None
    target_group_id: strawberry.ID | None = None
    certificate_id: strawberry.ID | None = strawberry.field(default=None, description="Entries about this certificate")
    power_of_attorney_id: strawberry.ID | None = strawberry.field(
        default=None, description="Entries about this power of attorney")
    search: str | None = None


@strawberry.type
class ActivityQueries:
    @strawberry.field(
        permission_classes=requires(Action.VIEW_ACTIVITIES),
        description="The organisation's history, newest first (`order: ASC`: oldest first) (reporting).",
    )
    async def activities(
        self, info: Info, first: int | None = None, after: str | None = None, filter: ActivityFilterInput | None = None,
        order: ActivityOrder = ActivityOrder.DESC,
    ) -> ActivityConnection:
        ctx: Context = info.context
        f = filter or ActivityFilterInput()
        target = None
        if f.target_user_id is not None:
            target = uuid_of(f.target_user_id, "User") or uuid.UUID(int=0)
        flt = activity_filter(
            from_=f.from_, to=f.to, types=f.types, search=f.search, actor_id=f.actor_id, target_user_id=target
        )
        if f.target_group_id is not None:
            group = uuid_of(f.target_group_id, "UserGroup") or uuid.UUID(int=0)
            flt = dataclasses.replace(flt, target_group_id=group)
        if f.certificate_id is not None:
            # An id of another type or organisation matches nothing (as the other ids do).
            flt = dataclasses.replace(flt, target_certificate_id=uuid_of(f.certificate_id, "Certificate") or uuid.UUID(int=0))
        if f.power_of_attorney_id is not None:
            power = uuid_of(f.power_of_attorney_id, "PowerOfAttorney") or uuid.UUID(int=0)
            flt = dataclasses.replace(flt, target_power_of_attorney_id=power)
        limit = page_size(first)
        before = decode_cursor(after, "Activity")
        rows = await ctx.reader.run(activity_sql.list_activities, flt, before, limit + 1,
                                    ascending=order is ActivityOrder.ASC)
        return ActivityConnection.of(rows, limit, before, lambda: ctx.reader.run(activity_sql.count_activities, flt))


AREA = Area(queries=(ActivityQueries,), types=(ActivityNode,))
