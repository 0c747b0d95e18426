"""The caller's notifications and how they want to receive them."""

from __future__ import annotations

import datetime as dt
from collections.abc import AsyncGenerator
from typing import Any

import strawberry
from strawberry.types import Info

from app.domain.common.policy import Action, is_allowed
from app.domain.notifications import delivery as notif
from app.domain.notifications.model import Notification as DomainNotification
from app.domain.users import editing as user_editing
from app.persistence import notifications as notifications_sql
from app.schema.runtime.area import Area
from app.schema.runtime.base import (
    Node,
    PageInfo,
    UserError,
    decode_cursor,
    encode_cursor,
    in_unit_of_work,
    int_of,
    page_info_of,
    page_size,
    requires,
    to_global_id,
)
from app.schema.runtime.context import Context
from app.schema.runtime.enums import NotificationChannel
from app.schema.users.loaders import USER_BY_ID


@strawberry.type(name="Notification")
class NotificationNode(Node):
    id: strawberry.ID
    kind: str
    title: str
    body: str
    created_at: dt.datetime
    read_at: dt.datetime | None

    @strawberry.field
    def read(self) -> bool:
        return self.read_at is not None

    @classmethod
    async def resolve_node(cls, info: Info, id: str) -> NotificationNode | None:
        """node(id:): the caller's own notifications only (anyone else's is missing)."""
        ctx: Context = info.context
        principal = ctx.principal
        n_id = int_of(id, "Notification")
        if n_id is None or principal is None or not is_allowed(principal.roles, Action.MANAGE_OWN_NOTIFICATIONS):
            return None
        n = await ctx.reader.run(notifications_sql.notification_by_id, principal.user_id, n_id)
        return cls.of(n) if n else None

    @classmethod
    def of(cls, n: DomainNotification) -> NotificationNode:
        return cls(
            id=to_global_id("Notification", n.id), kind=n.kind, title=n.title, body=n.body,
            created_at=n.created_at, read_at=n.read_at,
        )


@strawberry.type
class NotificationEdge:
    cursor: str
    node: NotificationNode


@strawberry.type
class NotificationConnection:
    edges: list[NotificationEdge]
    page_info: PageInfo
    _count: strawberry.Private[Any]
    _unread: strawberry.Private[Any]

    @strawberry.field
    async def total_count(self) -> int:
        return int(await self._count())

    @strawberry.field
    async def unread_count(self) -> int:
        return int(await self._unread())


@strawberry.type
class NotificationSettings:
    channel: NotificationChannel


@strawberry.input
class UpdateNotificationSettingsInput:
    channel: NotificationChannel


@strawberry.type
class NotificationSettingsPayload:
    notification_settings: NotificationSettings | None
    user_errors: list[UserError]


@strawberry.input
class MarkNotificationsReadInput:
    ids: list[strawberry.ID] | None = strawberry.field(default=None, description="Omit to mark all as read")


MAX_MARKED = 1000


@strawberry.type
class MarkNotificationsReadPayload:
    marked: int
    user_errors: list[UserError]


@strawberry.type
class NotificationQueries:
    @strawberry.field(permission_classes=requires(Action.MANAGE_OWN_NOTIFICATIONS))
    async def notifications(
        self, info: Info, first: int | None = None, after: str | None = None, unread_only: bool = False
    ) -> NotificationConnection:
        ctx: Context = info.context
        assert ctx.principal is not None
        me = ctx.principal.user_id
        limit = page_size(first)
        before = decode_cursor(after, "Notification")
        rows = await ctx.reader.run(notifications_sql.list_notifications, me, unread_only, before, limit + 1)
        edges = [
            NotificationEdge(cursor=encode_cursor("Notification", n.id), node=NotificationNode.of(n))
            for n in rows[:limit]
        ]
        return NotificationConnection(
            edges=edges,
            page_info=page_info_of(edges, has_next=len(rows) > limit, has_previous=before is not None),
            _count=lambda: ctx.reader.run(notifications_sql.count_notifications, me, unread_only),
            _unread=lambda: ctx.reader.run(notifications_sql.count_notifications, me, True),
        )

    @strawberry.field(permission_classes=requires(Action.MANAGE_OWN_NOTIFICATIONS))
    async def notification_settings(self, info: Info) -> NotificationSettings:
        ctx: Context = info.context
        assert ctx.principal is not None
        me = await ctx.loaders[USER_BY_ID].load(ctx.principal.user_id)
        return NotificationSettings(channel=me.notification_channel if me else NotificationChannel.BOTH)


@strawberry.type
class NotificationMutations:
    @strawberry.mutation(permission_classes=requires(Action.MANAGE_OWN_NOTIFICATIONS))
    async def update_notification_settings(
        self, info: Info, input: UpdateNotificationSettingsInput
    ) -> NotificationSettingsPayload:
        user, errors = await in_unit_of_work(
            info, lambda uow: user_editing.update_notification_settings(uow, input.channel.value)
        )
        return NotificationSettingsPayload(
            notification_settings=NotificationSettings(channel=user.notification_channel) if user else None,
            user_errors=errors,
        )

    @strawberry.mutation(permission_classes=requires(Action.MANAGE_OWN_NOTIFICATIONS))
    async def mark_notifications_read(
        self, info: Info, input: MarkNotificationsReadInput | None = None
    ) -> MarkNotificationsReadPayload:
        ids = None
        if input is not None and input.ids is not None:
            if len(input.ids) > MAX_MARKED:
                # One statement binds every id: PostgreSQL takes at most 32,767 parameters.
                return MarkNotificationsReadPayload(marked=0, user_errors=[UserError(
                    field=["input", "ids"], code="TOO_MANY_IDS",
                    message=f"At most {MAX_MARKED} ids at a time (omit ids to mark all as read)")])
            # Ids of other types or people simply match nothing.
            ids = [i for i in (int_of(raw, "Notification") for raw in input.ids) if i is not None]
        marked, errors = await in_unit_of_work(info, lambda uow: notif.mark_notifications_read(uow, ids))
        return MarkNotificationsReadPayload(marked=marked or 0, user_errors=errors)


@strawberry.type
class NotificationSubscriptions:
    @strawberry.subscription(
        permission_classes=requires(Action.MANAGE_OWN_NOTIFICATIONS),
        description="The caller's new notifications as they happen (graphql-transport-ws)",
    )
    async def notifications(self, info: Info) -> AsyncGenerator[NotificationNode, None]:
        ctx: Context = info.context
        assert ctx.principal is not None
        me = ctx.principal.user_id
        async for notification_id in ctx.services.hub.subscribe(me):
            # Fresh loaders and a fresh connection per event: nothing cached from an earlier one.
            ctx.reset_loaders()
            # The token may have expired, the person been deleted or deactivated since the last one.
            if not await ctx.still_entitled():
                await ctx.close()
                return
            n = await ctx.reader.run(notifications_sql.notification_by_id, me, notification_id)
            await ctx.close()
            if n is not None:
                yield NotificationNode.of(n)


AREA = Area(queries=(NotificationQueries,), mutations=(NotificationMutations,),
            subscriptions=(NotificationSubscriptions,), types=(NotificationNode,))
