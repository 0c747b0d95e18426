"""The change feed: what changed in the organisation since a cursor (entity, kind of change, time),
oldest first, for sync tools. Built on the history: every history entry is one change, written in
its transaction (app/persistence/changes.py). Positions are kept CHANGE_FEED_RETENTION_DAYS; an
older cursor is refused (CURSOR_EXPIRED) rather than silently skipping what was pruned."""

from __future__ import annotations

import datetime as dt
import enum

import strawberry
from graphql import GraphQLError
from strawberry.types import Info

from app.domain.common.policy import Action
from app.domain.webhooks.events import EVENT_NAMES
from app.domain.webhooks.events import ChangeKind as DomainChangeKind
from app.persistence import changes as changes_sql
from app.schema.runtime.area import Area
from app.schema.runtime.base import (
    PageInfo,
    bad_input,
    from_global_id,
    page_info_of,
    page_size,
    requires,
    to_global_id,
)
from app.schema.runtime.context import Context

ChangeKind = strawberry.enum(DomainChangeKind, name="ChangeKind", description="How the entity changed")


def _member(name: str) -> str:
    return name.replace(".", "_").upper()


_EVENTS = enum.Enum("WebhookEventType", {_member(n): n for n in sorted(EVENT_NAMES)})  # type: ignore[misc]
WebhookEventType = strawberry.enum(
    _EVENTS, name="WebhookEventType",
    description="What the history records, as events: USER_CREATED is `user.created` in a webhook's payload",
)
EVENT_BY_NAME = {m.value: m for m in _EVENTS}


@strawberry.type(description="One change: which entity (its global id and type), how, and when.")
class Change:
    entity_type: str = strawberry.field(description="The GraphQL type of the entity (User, Certificate, ...)")
    entity_id: strawberry.ID = strawberry.field(description="The entity's global id (node(id:) finds it while it exists)")
    kind: ChangeKind
    event_type: WebhookEventType  # type: ignore[valid-type]
    occurred_at: dt.datetime


@strawberry.type
class ChangeEdge:
    cursor: str
    node: Change


@strawberry.type
class ChangeConnection:
    edges: list[ChangeEdge]
    page_info: PageInfo


# --- cursors: a position in the feed, opaque to clients --------------------------------------------
# base64url("Change:<txid>.<id>.<unix seconds of the entry>"). The time lets an expired position be
# told from a valid one without keeping what was pruned.

_MAX = 2**63 - 1
_LAST_SECOND = 253402300799  # 9999-12-31T23:59:59Z: a cursor's time must be one a datetime can hold


def encode_change_cursor(row: changes_sql.ChangeRow) -> str:
    return str(to_global_id("Change", f"{row.txid}.{row.id}.{int(row.occurred_at.timestamp())}"))


def decode_change_cursor(cursor: str) -> tuple[int, int, int]:
    parsed = from_global_id(cursor)
    parts = parsed[1].split(".") if parsed is not None and parsed[0] == "Change" else []
    if len(parts) != 3 or not all(p.isascii() and p.isdigit() and len(p) <= 19 for p in parts):
        raise bad_input("Invalid cursor", "after")
    txid, id_, at = (int(p) for p in parts)
    if max(txid, id_) > _MAX or at > _LAST_SECOND:
        raise bad_input("Invalid cursor", "after")
    return txid, id_, at


def change_of(row: changes_sql.ChangeRow, org_cvr: str) -> Change:
    return Change(
        entity_type=row.entity_type, entity_id=to_global_id(row.entity_type, row.entity_id or org_cvr),
        kind=ChangeKind(row.kind.value), event_type=EVENT_BY_NAME[row.event_type], occurred_at=row.occurred_at,
    )


@strawberry.type
class ChangeQueries:
    @strawberry.field(
        permission_classes=requires(Action.VIEW_CHANGES),
        description="What changed in the organisation after the cursor `after` (none: from the oldest kept), "
        "oldest first. Resume from pageInfo.endCursor (on an empty page keep the cursor you sent). A change "
        "appears once every transaction begun before it has ended, so a cursor never passes one that commits "
        "later. Kept CHANGE_FEED_RETENTION_DAYS (30); an older cursor is CURSOR_EXPIRED.",
    )
    async def changes(self, info: Info, after: str | None = None, first: int | None = None) -> ChangeConnection:
        ctx: Context = info.context
        assert ctx.actor is not None
        limit = page_size(first)
        position = None
        if after is not None:
            txid, id_, at = decode_change_cursor(after)
            retention = dt.timedelta(days=ctx.services.settings.change_feed_retention_days)
            if dt.datetime.fromtimestamp(at, dt.UTC) < ctx.services.platform.now() - retention:
                raise GraphQLError(
                    "The cursor is older than the change feed keeps; start again without `after`",
                    extensions={"code": "CURSOR_EXPIRED", "field": "after"},
                )
            position = (txid, id_)
        rows = await ctx.reader.run(changes_sql.list_changes, position, limit + 1)
        page = rows[:limit]
        edges = [ChangeEdge(cursor=encode_change_cursor(r), node=change_of(r, ctx.actor.org_cvr)) for r in page]
        return ChangeConnection(
            edges=edges, page_info=page_info_of(edges, has_next=len(rows) > limit, has_previous=after is not None),
        )


AREA = Area(queries=(ChangeQueries,))
