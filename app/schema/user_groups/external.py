"""Partners: users of other organisations (found by the search, or as members of our groups) and the
partner view of where our users are members of other organisations' groups."""

from __future__ import annotations

import datetime as dt
import uuid

import strawberry
from strawberry.types import Info

from app.domain.common.policy import Action, is_allowed
from app.domain.user_groups.external import get_external_user
from app.domain.user_groups.model import ExternalMembership, ExternalUser, GroupMember
from app.schema.runtime.base import Node, PageInfo, encode_cursor, from_global_id, page_info_of, to_global_id
from app.schema.runtime.context import Context
from app.schema.users.types import User, load_user


@strawberry.type
class ExternalOrganisation:
    cvr: str
    name: str


def external_raw(value: str) -> str:
    """The raw part of an ExternalUser id (a handle or a UUID, the domain tells which); anything
    else is "" and behaves as an unknown user."""
    parsed = from_global_id(value)
    return parsed[1] if parsed is not None and parsed[0] == "ExternalUser" else ""


@strawberry.type(name="ExternalUser", description="A user of another organisation (name, organisation and "
                 "P-unit; an anonymous one shows only its UUID)")
class ExternalUserNode(Node):
    id: strawberry.ID = strawberry.field(description=(
        "From externalUsers: a handle bound to the searching organisation, valid "
        "EXTERNAL_USER_HANDLE_SECONDS (15 minutes by default) — the only id addExternalUserToGroup accepts. "
        "On a group member (UserGroup.members): the member's plain id, for removeExternalUserFromGroup."
    ))
    uuid: uuid.UUID
    anonymous: bool
    first_name: str | None
    last_name: str | None
    name: str | None
    email: str | None
    organisation: ExternalOrganisation | None
    p_number: str | None

    @classmethod
    def of(
        cls, u: ExternalUser | GroupMember, *, email: str | None = None, handle: str | None = None
    ) -> ExternalUserNode:
        """A search result carries its signed `handle` as id; a group member its plain UUID."""
        user_id = u.id if isinstance(u, ExternalUser) else u.user_id
        hide = u.anonymous
        return cls(
            id=to_global_id("ExternalUser", handle or user_id), uuid=user_id, anonymous=u.anonymous,
            first_name=None if hide else u.first_name, last_name=None if hide else u.last_name,
            name=None if hide else f"{u.first_name} {u.last_name}", email=None if hide else email,
            organisation=None if hide else ExternalOrganisation(cvr=u.org_cvr, name=u.org_name),
            p_number=None if hide else u.p_number,
        )

    @classmethod
    async def resolve_node(cls, info: Info, id: str) -> ExternalUserNode | None:
        """node(id:) for both ids the API hands out, each under its own field's rule: a search handle
        (FIND_EXTERNAL_USERS, as `externalUsers`: this organisation's, not expired, the user still
        ACTIVE) shows what the search shows; a member's plain id (VIEW_USER_GROUPS, as
        `UserGroup.members`: a partner's user in one of our groups) what the members list shows.
        A UUID read elsewhere (a certificate subject) names no member and is null."""
        ctx: Context = info.context
        principal = ctx.principal
        raw = external_raw(id)
        if principal is None or not raw or not is_allowed(principal.roles, Action.VIEW_USER_GROUPS):
            return None
        async with ctx.unit_of_work() as uow:
            found = await get_external_user(uow, raw)
        if found is None:
            return None
        if found.handle is None:
            return cls.of(found.user)
        if not is_allowed(principal.roles, Action.FIND_EXTERNAL_USERS):
            return None
        return cls.of(found.user, email=found.user.email, handle=found.handle)


@strawberry.type(name="ExternalMembership", description="One of our users in another organisation's group")
class ExternalMembershipNode:
    id: strawberry.ID
    group_name: str
    organisation: ExternalOrganisation
    added_at: dt.datetime
    _user_id: strawberry.Private[uuid.UUID]

    @strawberry.field
    async def user(self, info: Info) -> User | None:
        return await load_user(info, self._user_id)

    @classmethod
    def of(cls, m: ExternalMembership) -> ExternalMembershipNode:
        return cls(
            id=to_global_id("ExternalMembership", f"{m.group_id}/{m.user_id}"), group_name=m.group_name,
            organisation=ExternalOrganisation(cvr=m.group_org_cvr, name=m.group_org_name), added_at=m.added_at,
            _user_id=m.user_id,
        )


@strawberry.type
class ExternalMembershipEdge:
    cursor: str
    node: ExternalMembershipNode


@strawberry.type
class ExternalMembershipConnection:
    edges: list[ExternalMembershipEdge]
    nodes: list[ExternalMembershipNode] = strawberry.field(description="The nodes of `edges`, in order")
    total_count: int
    page_info: PageInfo

    @classmethod
    def of(cls, rows: list[ExternalMembership], offset: int, total: int) -> ExternalMembershipConnection:
        """A page at `offset`; cursors are positions, as `after` reads them (the other lists' way)."""
        nodes = [ExternalMembershipNode.of(m) for m in rows]
        edges = [ExternalMembershipEdge(cursor=encode_cursor("Offset", offset + i + 1), node=n)
                 for i, n in enumerate(nodes)]
        return cls(
            edges=edges, nodes=nodes, total_count=total,
            page_info=page_info_of(edges, has_next=offset + len(rows) < total, has_previous=offset > 0),
        )
