"""Use cases for the members of a custom group from our own organisation (a system group's members
are the users attached to its P-unit)."""

from __future__ import annotations

import uuid
from collections.abc import Sequence

from app.domain.activity.history import ActivityType, record
from app.domain.common.errors import DomainError, NotFound, ValidationFailed
from app.domain.common.ports import UnitOfWork
from app.domain.user_groups.lifecycle import G, custom_only, get_group
from app.domain.user_groups.model import UserGroup
from app.domain.users.model import UserStatus


async def add_users_to_group(uow: UnitOfWork, group_id: uuid.UUID, user_ids: Sequence[uuid.UUID]) -> UserGroup:
    """All or nothing; users already in the group are left as they are (idempotent)."""
    group = await get_group(uow, group_id)
    custom_only(group, "adding members by hand")
    unique = list(dict.fromkeys(user_ids))
    users, _, _ = await uow.users.find_many(unique, [], [])
    problems: list[DomainError] = []
    for i, user_id in enumerate(user_ids):
        user = users.get(user_id)
        if user is None:
            problems.append(DomainError("NOT_FOUND", "User not found", ["userIds", str(i)]))
        elif user.status is UserStatus.ACTIVE:
            continue
        elif user.activated_at is None:
            problems.append(DomainError(
                G.USER_NOT_ACTIVATED, f"{user.full_name} has not activated their user yet", ["userIds", str(i)]
            ))
        else:
            problems.append(DomainError(
                G.USER_NOT_ACTIVE, f"{user.full_name} is {user.status.value.lower()}; only active users join groups",
                ["userIds", str(i)],
            ))
    if problems:
        raise ValidationFailed(problems)
    existing = await uow.user_groups.member_ids(group.id, unique)
    new = [users[u] for u in unique if u not in existing]
    if new:
        await uow.user_groups.add_members(
            group.id, [(u.id, uow.actor.org_id, False) for u in new], uow.platform.now(), uow.actor.user_id
        )
        for user in new:
            await record(uow, ActivityType.GROUP_MEMBER_ADDED, f"Added to group '{group.name}'", target=user,
                         group=group)
    return group


async def remove_user_from_group(uow: UnitOfWork, group_id: uuid.UUID, user_id: uuid.UUID) -> UserGroup:
    group = await get_group(uow, group_id)
    custom_only(group, "removing members by hand")
    user = await uow.users.get(user_id)
    if user is None:
        raise NotFound("User", ["userId"])
    if not await uow.user_groups.remove_member(group.id, user.id, external=False):
        raise DomainError(G.NOT_A_MEMBER, "The user is not a member of the group", ["userId"])
    await record(uow, ActivityType.GROUP_MEMBER_REMOVED, f"Removed from group '{group.name}'", target=user,
                 group=group)
    return group
