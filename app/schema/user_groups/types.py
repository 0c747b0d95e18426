"""User groups, their members (our users and partners') and the rights catalogue."""

from __future__ import annotations

import datetime as dt
import uuid
from typing import Annotated

import strawberry
from strawberry.types import Info

from app.domain.common.policy import Action, is_allowed
from app.domain.common.rights import Right
from app.domain.user_groups.model import GroupMember, UserGroupFilter
from app.domain.user_groups.model import UserGroup as DomainGroup
from app.persistence.user_groups import reads as user_groups_sql
from app.persistence.user_groups.rows import GROUP_COLUMNS, group_kind_of
from app.schema.runtime.base import (
    DomainView,
    Node,
    PageInfo,
    decode_cursor,
    domain_view,
    encode_cursor,
    page_info_of,
    page_size,
    to_global_id,
    uuid_of,
)
from app.schema.runtime.enums import GroupKindEnum, RightKindEnum
from app.schema.runtime.plans import row_form
from app.schema.user_groups.external import ExternalOrganisation, ExternalUserNode
from app.schema.user_groups.loaders import CATALOGUE, GROUP_BY_ID, MEMBER_COUNT, MEMBERS, RIGHTS_OF_GROUP
from app.schema.users.types import User, load_user


@strawberry.type(name="Right", description="An entry of the rights catalogue")
class RightNode:
    code: str
    name: str
    description: str
    kind: RightKindEnum
    service: str

    @classmethod
    def of(cls, r: Right) -> RightNode:
        return cls(code=r.code, name=r.name, description=r.description, kind=r.kind, service=r.service)


async def rights_named(info: Info, codes: list[str]) -> list[RightNode]:
    catalogue = await info.context.loaders[CATALOGUE].load("all")
    return [RightNode.of(catalogue[c]) for c in codes if c in catalogue]


GroupMemberUnion = Annotated[User | ExternalUserNode, strawberry.union("GroupMember")]


@strawberry.type
class GroupMemberEdge:
    cursor: str
    external: bool
    name: str | None
    organisation: ExternalOrganisation | None
    p_number: str | None
    added_at: dt.datetime | None
    _member: strawberry.Private[GroupMember]

    @strawberry.field
    async def node(self, info: Info) -> GroupMemberUnion | None:
        if self._member.external:
            return ExternalUserNode.of(self._member)
        return await load_user(info, self._member.user_id)


@strawberry.type
class GroupMemberConnection:
    edges: list[GroupMemberEdge]
    page_info: PageInfo
    _group_id: strawberry.Private[uuid.UUID]

    @strawberry.field
    async def total_count(self, info: Info) -> int:
        return int(await info.context.loaders[MEMBER_COUNT].load(self._group_id))


@strawberry.type(name="UserGroup")
class UserGroupNode(DomainView, Node):
    id: strawberry.ID
    kind: GroupKindEnum
    name: str
    description: str | None
    p_number: str | None = strawberry.field(description="System group: its P-unit; custom group: optional limit")
    se_number: str | None
    created_at: dt.datetime
    updated_at: dt.datetime = strawberry.field(description="The latest change of the group, its rights or members")
    _id: strawberry.Private[uuid.UUID]

    @classmethod
    def of(cls, g: DomainGroup) -> UserGroupNode:
        """A view of `g` (see DomainView)."""
        return cls.view(g)

    @classmethod
    async def resolve_node(cls, info: Info, id: str) -> UserGroupNode | None:
        """node(id:): as `userGroup(id:)`, group viewers only (a member's own groups are reached
        through `User.groups`)."""
        principal = info.context.principal
        if principal is None or not is_allowed(principal.roles, Action.VIEW_USER_GROUPS):
            return None
        return await load_group(info, uuid_of(id, "UserGroup"))

    @strawberry.field
    async def rights(self, info: Info) -> list[RightNode]:
        return await rights_named(info, await info.context.loaders[RIGHTS_OF_GROUP].load(self._id))

    @strawberry.field(description="Users of the organisation and external users, by name (group viewers; null "
                      "with a FORBIDDEN error for anyone else)")
    async def members(
        self, info: Info, first: int | None = 50, after: str | None = None
    ) -> GroupMemberConnection | None:
        limit = page_size(first)
        offset = decode_cursor(after, "Offset") or 0
        rows = await info.context.loaders[MEMBERS].load((self._id, offset, limit + 1))
        page = rows[:limit]
        # The policy lets only group viewers (administrators) follow `members`; the anonymity rule is
        # applied here all the same, so it holds on this path whatever the table says.
        principal = info.context.principal
        reveal = principal is not None and principal.is_administrator
        edges = [
            GroupMemberEdge(
                cursor=encode_cursor("Offset", offset + i + 1), external=m.external,
                name=None if (m.anonymous and (m.external or not reveal)) else f"{m.first_name} {m.last_name}",
                organisation=None if (m.anonymous and m.external) else ExternalOrganisation(cvr=m.org_cvr, name=m.org_name),
                p_number=None if (m.anonymous and m.external) else m.p_number, added_at=m.added_at, _member=m,
            )
            for i, m in enumerate(page)
        ]
        return GroupMemberConnection(
            edges=edges,
            page_info=page_info_of(edges, has_next=len(rows) > limit, has_previous=offset > 0),
            _group_id=self._id,
        )


domain_view(UserGroupNode, same=("kind", "name", "description", "p_number", "se_number", "created_at"),
            derived={"id": lambda n: to_global_id("UserGroup", n._domain.id), "_id": lambda n: n._domain.id,
                     "updated_at": lambda n: n._domain.updated_at or n._domain.created_at})
# A user's groups in a compiled plan (app/schema/runtime/plans.py): rows of the columns of GROUP_COLUMNS
# its selection reads (user_groups_sql.group_columns), each field as
# group_from_row and the view above make it (`updatedAt` falls back to `createdAt` in the plan's fetch:
# a row form reads one column per field).
row_form("UserGroup", [c.name for c in GROUP_COLUMNS], {
    "id": ("id", lambda id_: to_global_id("UserGroup", id_)),
    "kind": ("kind", group_kind_of),
    "name": ("name", None),
    "description": ("description", None),
    "pNumber": ("p_number", None),
    "seNumber": ("se_number", None),
    "createdAt": ("created_at", None),
})


async def load_group(info: Info, group_id: uuid.UUID | None) -> UserGroupNode | None:
    if group_id is None:
        return None
    g = await info.context.loaders[GROUP_BY_ID].load(group_id)
    return UserGroupNode.of(g) if g else None


@strawberry.type
class UserGroupEdge:
    cursor: str
    node: UserGroupNode


@strawberry.type
class UserGroupConnection:
    edges: list[UserGroupEdge]
    page_info: PageInfo
    _filter: strawberry.Private[UserGroupFilter]

    @strawberry.field
    async def total_count(self, info: Info) -> int:
        return await info.context.reader.run(user_groups_sql.count_groups, self._filter)
