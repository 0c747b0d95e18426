"""User groups, the rights catalogue, external (partner) members and the partner view."""

from __future__ import annotations

import datetime as dt
import uuid
from typing import Annotated

import strawberry
from strawberry.types import Info

from app.domain.common.errors import DomainError
from app.domain.common.policy import Action
from app.domain.common.rights import Right
from app.domain.user_groups import lifecycle as uc
from app.domain.user_groups.model import (
    ExternalMembership,
    ExternalUser,
    GroupKind,
    GroupMember,
    UserGroupFilter,
)
from app.domain.user_groups.model import UserGroup as DomainGroup
from app.schema.runtime.base import (
    DomainView,
    Node,
    PageInfo,
    UserError,
    bad_input,
    decode_cursor,
    domain_view,
    encode_cursor,
    from_global_id,
    in_unit_of_work,
    not_found,
    page_info_of,
    page_size,
    requires,
    to_global_id,
    uuid_of,
)
from app.schema.runtime.context import Context
from app.schema.runtime.enums import GroupKindEnum, RightKindEnum
from app.schema.runtime.text_inputs import search_text
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
    catalogue = await info.context.loaders.catalogue.load("all")
    return [RightNode.of(catalogue[c]) for c in codes if c in catalogue]


@strawberry.type
class ExternalOrganisation:
    cvr: str
    name: str


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
        return int(await info.context.loaders.member_count_by_group.load(self._group_id))


@strawberry.type(name="UserGroup")
class UserGroupNode(DomainView, Node):
    id: strawberry.ID
    kind: GroupKindEnum
    name: str
    description: str | None
    p_number: str | None = strawberry.field(description="System group: its P-unit; custom group: optional limit")
    se_number: str | None
    created_at: dt.datetime
    _id: strawberry.Private[uuid.UUID]

    @classmethod
    def of(cls, g: DomainGroup) -> UserGroupNode:
        """A view of `g` (see DomainView)."""
        return cls.view(g)

    @strawberry.field
    async def rights(self, info: Info) -> list[RightNode]:
        return await rights_named(info, await info.context.loaders.rights_by_group.load(self._id))

    @strawberry.field(description="Users of the organisation and external users, by name (group viewers; null "
                      "with a FORBIDDEN error for anyone else)")
    async def members(
        self, info: Info, first: int | None = 50, after: str | None = None
    ) -> GroupMemberConnection | None:
        limit = page_size(first)
        offset = decode_cursor(after, "Offset") or 0
        rows = await info.context.loaders.members_by_group.load((self._id, offset, limit + 1))
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
            derived={"id": lambda n: to_global_id("UserGroup", n._domain.id), "_id": lambda n: n._domain.id})


async def load_group(info: Info, group_id: uuid.UUID | None) -> UserGroupNode | None:
    if group_id is None:
        return None
    g = await info.context.loaders.group_by_id.load(group_id)
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
        return await info.context.reader.count_groups(self._filter)


@strawberry.input
class UserGroupFilterInput:
    kind: GroupKindEnum | None = None
    search: str | None = None


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
class ExternalMembershipConnection:
    nodes: list[ExternalMembershipNode]
    total_count: int
    page_info: PageInfo


@strawberry.type
class UserGroupQueries:
    @strawberry.field(permission_classes=requires(Action.VIEW_RIGHTS_CATALOGUE))
    async def rights_catalogue(self, info: Info) -> list[RightNode]:
        return [RightNode.of(r) for r in await info.context.reader.rights_catalogue()]

    @strawberry.field(permission_classes=requires(Action.VIEW_USER_GROUPS))
    async def user_groups(
        self, info: Info, first: int | None = None, after: str | None = None, filter: UserGroupFilterInput | None = None
    ) -> UserGroupConnection:
        ctx: Context = info.context
        limit = page_size(first)
        offset = decode_cursor(after, "Offset") or 0
        f = UserGroupFilter(kind=GroupKind(filter.kind.value) if filter and filter.kind else None,
                            search=search_text(filter.search) if filter else None)
        rows = await ctx.reader.list_groups(f, offset, limit + 1)
        for g in rows:
            ctx.loaders.group_by_id.prime(g.id, g)
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
                found = await uc.find_external_users(uow, cvr, email)
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
        rows, total = await info.context.reader.external_memberships(offset, limit)
        return ExternalMembershipConnection(
            nodes=[ExternalMembershipNode.of(m) for m in rows], total_count=total,
            page_info=PageInfo(
                has_next_page=offset + len(rows) < total, has_previous_page=offset > 0,
                start_cursor=encode_cursor("Offset", offset + 1) if rows else None,
                end_cursor=encode_cursor("Offset", offset + len(rows)) if rows else None,
            ),
        )


@strawberry.input
class CreateUserGroupInput:
    name: str
    description: str | None = None
    rights: list[str] = strawberry.field(default_factory=list)
    p_number: str | None = None
    se_number: str | None = None


@strawberry.input
class UpdateUserGroupInput:
    group_id: strawberry.ID
    name: str | None = None
    description: str | None = None
    rights: list[str] | None = None
    p_number: str | None = strawberry.field(default=None, description="An empty string removes the limit")
    se_number: str | None = strawberry.field(default=None, description="An empty string removes the limit")


@strawberry.input
class GroupIdInput:
    group_id: strawberry.ID


@strawberry.input
class AddUsersToGroupInput:
    group_id: strawberry.ID
    user_ids: list[strawberry.ID]


@strawberry.input
class RemoveUserFromGroupInput:
    group_id: strawberry.ID
    user_id: strawberry.ID


@strawberry.input
class ExternalMemberInput:
    group_id: strawberry.ID
    external_user_id: strawberry.ID = strawberry.field(description=(
        "addExternalUserToGroup: the id externalUsers gave this organisation, within its validity; "
        "removeExternalUserFromGroup: the member's id from UserGroup.members (or that same handle)"
    ))


@strawberry.input
class LeaveExternalGroupInput:
    membership_id: strawberry.ID


@strawberry.type
class UserGroupPayload:
    group: UserGroupNode | None
    user_errors: list[UserError]


@strawberry.type
class DeleteUserGroupPayload:
    deleted_group_id: strawberry.ID | None
    user_errors: list[UserError]


@strawberry.type
class LeaveExternalGroupPayload:
    removed_membership_id: strawberry.ID | None
    user_errors: list[UserError]


def _group_id(raw: str) -> uuid.UUID | None:
    return uuid_of(raw, "UserGroup")


def _external_raw(value: str) -> str:
    """The raw part of an ExternalUser id (a handle or a UUID, the domain tells which); anything
    else is "" and behaves as an unknown user."""
    parsed = from_global_id(value)
    return parsed[1] if parsed is not None and parsed[0] == "ExternalUser" else ""


async def _group_mutation(info: Info, raw_group: str, use_case) -> UserGroupPayload:  # type: ignore[no-untyped-def]
    group_id = _group_id(raw_group)
    if group_id is None:
        return UserGroupPayload(group=None, user_errors=not_found("groupId", "User group"))
    group, errors = await in_unit_of_work(info, lambda uow: use_case(uow, group_id))
    return UserGroupPayload(group=UserGroupNode.of(group) if group else None, user_errors=errors)


@strawberry.type
class UserGroupMutations:
    @strawberry.mutation(permission_classes=requires(Action.MANAGE_USER_GROUPS))
    async def create_user_group(self, info: Info, input: CreateUserGroupInput) -> UserGroupPayload:
        data = uc.GroupInput(name=input.name, description=input.description, rights=input.rights,
                             p_number=input.p_number, se_number=input.se_number)
        group, errors = await in_unit_of_work(info, lambda uow: uc.create_user_group(uow, data))
        return UserGroupPayload(group=UserGroupNode.of(group) if group else None, user_errors=errors)

    @strawberry.mutation(permission_classes=requires(Action.MANAGE_USER_GROUPS))
    async def update_user_group(self, info: Info, input: UpdateUserGroupInput) -> UserGroupPayload:
        data = uc.GroupInput(name=input.name, description=input.description, rights=input.rights,
                             p_number=input.p_number, se_number=input.se_number)
        return await _group_mutation(info, input.group_id, lambda uow, gid: uc.update_user_group(uow, gid, data))

    @strawberry.mutation(permission_classes=requires(Action.MANAGE_USER_GROUPS))
    async def delete_user_group(self, info: Info, input: GroupIdInput) -> DeleteUserGroupPayload:
        group_id = _group_id(input.group_id)
        if group_id is None:
            return DeleteUserGroupPayload(deleted_group_id=None, user_errors=not_found("groupId", "User group"))
        group, errors = await in_unit_of_work(info, lambda uow: uc.delete_user_group(uow, group_id))
        return DeleteUserGroupPayload(deleted_group_id=input.group_id if group else None, user_errors=errors)

    @strawberry.mutation(permission_classes=requires(Action.MANAGE_GROUP_MEMBERS))
    async def add_users_to_group(self, info: Info, input: AddUsersToGroupInput) -> UserGroupPayload:
        # Ids of other types or organisations behave as missing users.
        ids = [uuid_of(raw, "User") or uuid.UUID(int=0) for raw in input.user_ids]
        return await _group_mutation(info, input.group_id, lambda uow, gid: uc.add_users_to_group(uow, gid, ids))

    @strawberry.mutation(permission_classes=requires(Action.MANAGE_GROUP_MEMBERS))
    async def remove_user_from_group(self, info: Info, input: RemoveUserFromGroupInput) -> UserGroupPayload:
        user_id = uuid_of(input.user_id, "User") or uuid.UUID(int=0)
        return await _group_mutation(
            info, input.group_id, lambda uow, gid: uc.remove_user_from_group(uow, gid, user_id)
        )

    @strawberry.mutation(
        permission_classes=requires(Action.MANAGE_GROUP_MEMBERS),
        description="Only with an id from this organisation's externalUsers search, not expired, of a user "
        "still ACTIVE (USER_NOT_ACTIVE otherwise); any other id is NOT_FOUND. The partner's administrators "
        "are notified",
    )
    async def add_external_user_to_group(self, info: Info, input: ExternalMemberInput) -> UserGroupPayload:
        handle = _external_raw(input.external_user_id)
        return await _group_mutation(
            info, input.group_id, lambda uow, gid: uc.add_external_user_to_group(uow, gid, handle)
        )

    @strawberry.mutation(
        permission_classes=requires(Action.MANAGE_GROUP_MEMBERS),
        description="By the member's id (UserGroup.members); the partner's administrators are notified",
    )
    async def remove_external_user_from_group(self, info: Info, input: ExternalMemberInput) -> UserGroupPayload:
        member = _external_raw(input.external_user_id)
        return await _group_mutation(
            info, input.group_id, lambda uow, gid: uc.remove_external_user_from_group(uow, gid, member)
        )

    @strawberry.mutation(
        permission_classes=requires(Action.LEAVE_EXTERNAL_GROUP),
        description="Partner side: remove one of our users from another organisation's group",
    )
    async def remove_own_user_from_external_group(
        self, info: Info, input: LeaveExternalGroupInput
    ) -> LeaveExternalGroupPayload:
        parsed = from_global_id(input.membership_id)
        group_id = user_id = None
        if parsed is not None and parsed[0] == "ExternalMembership" and "/" in parsed[1]:
            try:
                group_id, user_id = (uuid.UUID(p) for p in parsed[1].split("/", 1))
            except ValueError:
                group_id = user_id = None
        if group_id is None or user_id is None:
            return LeaveExternalGroupPayload(
                removed_membership_id=None, user_errors=not_found("membershipId", "External membership")
            )
        done, errors = await in_unit_of_work(info, lambda uow: uc.leave_external_group(uow, group_id, user_id))
        return LeaveExternalGroupPayload(removed_membership_id=None if errors else input.membership_id,
                                         user_errors=errors)
