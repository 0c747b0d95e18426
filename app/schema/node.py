"""`node(id:)`: any object by global id, under the same rules as its own query field."""

from __future__ import annotations

import strawberry
from strawberry.types import Info

from app.domain.common.policy import Action, can_view_user, is_allowed
from app.schema.activity import ActivityNode
from app.schema.bulk import load_bulk_job
from app.schema.certificates.types import certificate_node
from app.schema.notifications import NotificationNode
from app.schema.powers_of_attorney import load_power
from app.schema.runtime.base import Node, from_global_id, int_of, requires, uuid_of
from app.schema.runtime.context import Context
from app.schema.user_groups import load_group
from app.schema.users.types import load_user


@strawberry.type
class NodeQueries:
    @strawberry.field(permission_classes=requires(None))
    async def node(self, info: Info, id: strawberry.ID) -> Node | None:
        ctx: Context = info.context
        principal = ctx.principal
        assert principal is not None
        parsed = from_global_id(id)
        if parsed is None:
            return None
        kind = parsed[0]
        if kind == "User":
            user_id = uuid_of(id, "User")
            if user_id is None or not can_view_user(principal, user_id):
                return None
            return await load_user(info, user_id)
        if kind == "Activity":
            activity_id = int_of(id, "Activity")
            if activity_id is None or not is_allowed(principal.roles, Action.VIEW_ACTIVITIES):
                return None
            a = await ctx.reader.activity_by_id(activity_id)
            return ActivityNode.of(a) if a else None
        if kind == "Notification":
            n_id = int_of(id, "Notification")
            if n_id is None:
                return None
            n = await ctx.reader.notification_by_id(principal.user_id, n_id)
            return NotificationNode.of(n) if n else None
        if kind == "BulkJob":
            if not is_allowed(principal.roles, Action.VIEW_BULK_JOBS):
                return None
            return await load_bulk_job(info, uuid_of(id, "BulkJob"))
        if kind == "PowerOfAttorney":
            if not is_allowed(principal.roles, Action.VIEW_POWERS_OF_ATTORNEY):
                return None
            return await load_power(info, id)
        if kind == "UserGroup":
            if not is_allowed(principal.roles, Action.VIEW_USER_GROUPS):
                return None
            return await load_group(info, uuid_of(id, "UserGroup"))
        if kind in ("Certificate", "CertificateProfile"):
            return await certificate_node(info, kind, id)
        return None
