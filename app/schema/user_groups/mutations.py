"""User group mutations: groups, their members (ours and partners'), and leaving a partner's group."""

from __future__ import annotations

import uuid

import strawberry
from strawberry.types import Info

from app.domain.common.policy import Action
from app.domain.user_groups import external, lifecycle, members
from app.schema.runtime.base import UserError, from_global_id, in_unit_of_work, not_found, requires, uuid_of
from app.schema.user_groups.external import external_raw
from app.schema.user_groups.types import UserGroupNode


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
        data = lifecycle.GroupInput(name=input.name, description=input.description, rights=input.rights,
                             p_number=input.p_number, se_number=input.se_number)
        group, errors = await in_unit_of_work(info, lambda uow: lifecycle.create_user_group(uow, data))
        return UserGroupPayload(group=UserGroupNode.of(group) if group else None, user_errors=errors)

    @strawberry.mutation(permission_classes=requires(Action.MANAGE_USER_GROUPS))
    async def update_user_group(self, info: Info, input: UpdateUserGroupInput) -> UserGroupPayload:
        data = lifecycle.GroupInput(name=input.name, description=input.description, rights=input.rights,
                             p_number=input.p_number, se_number=input.se_number)
        return await _group_mutation(info, input.group_id, lambda uow, gid: lifecycle.update_user_group(uow, gid, data))

    @strawberry.mutation(permission_classes=requires(Action.MANAGE_USER_GROUPS))
    async def delete_user_group(self, info: Info, input: GroupIdInput) -> DeleteUserGroupPayload:
        group_id = _group_id(input.group_id)
        if group_id is None:
            return DeleteUserGroupPayload(deleted_group_id=None, user_errors=not_found("groupId", "User group"))
        group, errors = await in_unit_of_work(info, lambda uow: lifecycle.delete_user_group(uow, group_id))
        return DeleteUserGroupPayload(deleted_group_id=input.group_id if group else None, user_errors=errors)

    @strawberry.mutation(permission_classes=requires(Action.MANAGE_GROUP_MEMBERS))
    async def add_users_to_group(self, info: Info, input: AddUsersToGroupInput) -> UserGroupPayload:
        # Ids of other types or organisations behave as missing users.
        ids = [uuid_of(raw, "User") or uuid.UUID(int=0) for raw in input.user_ids]
        return await _group_mutation(info, input.group_id, lambda uow, gid: members.add_users_to_group(uow, gid, ids))

    @strawberry.mutation(permission_classes=requires(Action.MANAGE_GROUP_MEMBERS))
    async def remove_user_from_group(self, info: Info, input: RemoveUserFromGroupInput) -> UserGroupPayload:
        user_id = uuid_of(input.user_id, "User") or uuid.UUID(int=0)
        return await _group_mutation(
            info, input.group_id, lambda uow, gid: members.remove_user_from_group(uow, gid, user_id)
        )

    @strawberry.mutation(
        permission_classes=requires(Action.MANAGE_GROUP_MEMBERS),
        description="Only with an id from this organisation's externalUsers search, not expired, of a user "
        "still ACTIVE (USER_NOT_ACTIVE otherwise); any other id is NOT_FOUND. The partner's administrators "
        "are notified",
    )
    async def add_external_user_to_group(self, info: Info, input: ExternalMemberInput) -> UserGroupPayload:
        handle = external_raw(input.external_user_id)
        return await _group_mutation(
            info, input.group_id, lambda uow, gid: external.add_external_user_to_group(uow, gid, handle)
        )

    @strawberry.mutation(
        permission_classes=requires(Action.MANAGE_GROUP_MEMBERS),
        description="By the member's id (UserGroup.members); the partner's administrators are notified",
    )
    async def remove_external_user_from_group(self, info: Info, input: ExternalMemberInput) -> UserGroupPayload:
        member = external_raw(input.external_user_id)
        return await _group_mutation(
            info, input.group_id, lambda uow, gid: external.remove_external_user_from_group(uow, gid, member)
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
        done, errors = await in_unit_of_work(info, lambda uow: external.leave_external_group(uow, group_id, user_id))
        return LeaveExternalGroupPayload(removed_membership_id=None if errors else input.membership_id,
                                         user_errors=errors)
