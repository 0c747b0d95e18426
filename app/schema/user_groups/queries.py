"""User group queries: the rights catalogue, the organisation's groups, the partner search and the
partner view."""

from __future__ import annotations

import strawberry
from strawberry.types import Info

from app.domain.common.errors import DomainError
from app.domain.common.policy import Action
from app.domain.user_groups.external import find_external_users
from app.domain.user_groups.model import GroupKind, UserGroupFilter
from app.persistence import rights as rights_sql
from app.persistence.user_groups import reads as user_groups_sql
from app.schema.runtime.base import (
    bad_input,
    decode_cursor,
    encode_cursor,
    page_info_of,
    page_size,
    requires,
    uuid_of,
)
from app.schema.runtime.context import Context
from app.schema.runtime.enums import GroupKindEnum
from app.schema.runtime.text_inputs import search_text
from app.schema.user_groups.external import ExternalMembershipConnection, ExternalUserNode
from app.schema.user_groups.loaders import GROUP_BY_ID
from app.schema.user_groups.types import (
    RightNode,
    UserGroupConnection,
    UserGroupEdge,
    UserGroupNode,
    load_group,
)


@strawberry.input
class UserGroupFilterInput:
    kind: GroupKindEnum | None = None
    search: str | None = None


@strawberry.type
class UserGroupQueries:
    @strawberry.field(permission_classes=requires(Action.VIEW_RIGHTS_CATALOGUE))
    async def rights_catalogue(self, info: Info) -> list[RightNode]:
        return [RightNode.of(r) for r in await info.context.reader.run_shared(rights_sql.all_rights)]

    @strawberry.field(permission_classes=requires(Action.VIEW_USER_GROUPS))
    async def user_groups(
        self, info: Info, first: int | None = None, after: str | None = None, filter: UserGroupFilterInput | None = None
    ) -> UserGroupConnection:
        ctx: Context = info.context
        limit = page_size(first)
        offset = decode_cursor(after, "Offset") or 0
        f = UserGroupFilter(kind=GroupKind(filter.kind.value) if filter and filter.kind else None,
                            search=search_text(filter.search) if filter else None)
        rows = await ctx.reader.run(user_groups_sql.list_groups, f, offset, limit + 1)
        for g in rows:
            ctx.loaders[GROUP_BY_ID].prime(g.id, g)
        edges = [UserGroupEdge(cursor=encode_cursor("Offset", offset + i + 1), node=UserGroupNode.of(g))
                 for i, g in enumerate(rows[:limit])]
        return UserGroupConnection(
            edges=edges,
            page_info=page_info_of(edges, has_next=len(rows) > limit, has_previous=offset > 0),
            _filter=f,
        )

    @strawberry.field(permission_classes=requires(Action.VIEW_USER_GROUPS))
    async def user_group(self, info: Info, id: strawberry.ID) -> UserGroupNode | None:
        return await load_group(info, uuid_of(id, "UserGroup"))

    @strawberry.field(
        permission_classes=requires(Action.FIND_EXTERNAL_USERS),
        description="Exact match only: an ACTIVE user of another organisation with this CVR and email. Its id "
        "is a short-lived handle for this organisation's addExternalUserToGroup",
    )
    async def external_users(self, info: Info, cvr: str, email: str) -> list[ExternalUserNode]:
        ctx: Context = info.context
        try:
            async with ctx.unit_of_work() as uow:
                found = await find_external_users(uow, cvr, email)
        except DomainError as exc:
            raise bad_input(exc.message, (exc.field or ["cvr"])[0]) from exc
        return [ExternalUserNode.of(f.user, email=f.user.email, handle=f.handle) for f in found]

    @strawberry.field(
        permission_classes=requires(Action.VIEW_EXTERNAL_MEMBERSHIPS),
        description="Partner view: where our users are external members of other organisations' groups",
    )
    async def external_memberships(
        self, info: Info, first: int | None = None, after: str | None = None
    ) -> ExternalMembershipConnection:
        limit = page_size(first)
        offset = decode_cursor(after, "Offset") or 0
        rows, total = await info.context.reader.run(user_groups_sql.external_memberships, offset, limit)
        return ExternalMembershipConnection.of(rows, offset, total)
