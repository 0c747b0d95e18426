"""Roles held by the gateway: organisation administrators assign and remove them (the policy gates
who may call these use cases). Every active person is a user (USER is implied, never stored by
these use cases); the administrator roles are what can be given and taken away.

Decisions:
- only ACTIVE users receive a role; a role can be taken from anyone not deleted (also a
  deactivated administrator's); a deleted user is USER_DELETED, as for every change of a user;
- assigning a role already held, or removing one not held, succeeds and writes nothing (no history,
  no notification): the request says what the person should end up with;
- the organisation keeps at least one ACTIVE organisation administrator. The check runs after the
  organisation's role changes are locked, so two administrators removing each other at the same
  time leave one of them."""

from __future__ import annotations

import enum
import uuid

from app.domain.activity.history import ActivityType, record
from app.domain.common.errors import DomainError
from app.domain.common.ports import UnitOfWork
from app.domain.common.principal import Role
from app.domain.notifications.delivery import notify_person
from app.domain.users.lifecycle import get_editable_user
from app.domain.users.model import User, UserStatus


class RoleErrorCode(enum.StrEnum):
    ROLE_NOT_ASSIGNABLE = "ROLE_NOT_ASSIGNABLE"
    INVALID_STATUS = "INVALID_STATUS"
    LAST_ORGANISATION_ADMINISTRATOR = "LAST_ORGANISATION_ADMINISTRATOR"


E = RoleErrorCode

# USER is what every active person is; it is neither given nor taken.
ASSIGNABLE_ROLES = frozenset({Role.ORGANISATION_ADMINISTRATOR, Role.USER_ADMINISTRATOR, Role.RIGHTS_ADMINISTRATOR})

ROLE_NAMES = {
    Role.ORGANISATION_ADMINISTRATOR: "organisation administrator",
    Role.USER_ADMINISTRATOR: "user administrator",
    Role.RIGHTS_ADMINISTRATOR: "rights administrator",
    Role.USER: "user",
}


# --- pure rules -----------------------------------------------------------------------------------


def check_assignable(role: Role) -> None:
    if role not in ASSIGNABLE_ROLES:
        raise DomainError(E.ROLE_NOT_ASSIGNABLE, "Every active user holds USER; it cannot be assigned or removed",
                          ["role"])


def check_may_receive(user: User) -> None:
    if user.status is not UserStatus.ACTIVE:
        raise DomainError(E.INVALID_STATUS, f"Only active users can be given a role (is {user.status})", ["userId"])


def check_removal_keeps_an_organisation_administrator(user: User, role: Role, active_holders: int) -> None:
    """`active_holders`: the organisation's ACTIVE organisation administrators, `user` included if
    they are one. Taking the role from a person who is not active does not lower that number."""
    if role is Role.ORGANISATION_ADMINISTRATOR and user.status is UserStatus.ACTIVE and active_holders <= 1:
        raise DomainError(
            E.LAST_ORGANISATION_ADMINISTRATOR,
            "The organisation must keep an active organisation administrator; assign the role to someone else first",
            ["userId"],
        )


def effective_roles(held: frozenset[Role] | set[Role] | list[Role], status: UserStatus) -> list[Role]:
    """What `User.roles` shows: the roles held, and USER for an active person (as `viewer.roles`)."""
    roles = set(held)
    if status is UserStatus.ACTIVE:
        roles.add(Role.USER)
    return sorted(roles)


# --- use cases ------------------------------------------------------------------------------------


async def assign_role(uow: UnitOfWork, user_id: uuid.UUID, role: Role) -> User:
    check_assignable(role)
    await uow.roles.lock_role_changes()  # first, as remove_role does: one lock order, no deadlock
    user = await get_editable_user(uow, user_id)
    check_may_receive(user)
    if role in await uow.roles.of(user.id):
        return user
    await uow.roles.add(user.id, role)
    await record(uow, ActivityType.ROLE_ASSIGNED, f"Role assigned: {ROLE_NAMES[role]}", target=user,
                 details={"role": role.value})
    await _tell(uow, user, ActivityType.ROLE_ASSIGNED, f"You are now {_a(role)}",
                f"{await uow.actor_name()} has made you {_a(role)}. The role applies from your next request.\n")
    return user


async def remove_role(uow: UnitOfWork, user_id: uuid.UUID, role: Role) -> User:
    check_assignable(role)
    await uow.roles.lock_role_changes()
    user = await get_editable_user(uow, user_id)
    if role not in await uow.roles.of(user.id):
        return user
    check_removal_keeps_an_organisation_administrator(user, role, await uow.roles.count_active_holders(role))
    await uow.roles.remove(user.id, role)
    await record(uow, ActivityType.ROLE_REMOVED, f"Role removed: {ROLE_NAMES[role]}", target=user,
                 details={"role": role.value})
    await _tell(uow, user, ActivityType.ROLE_REMOVED, f"You are no longer {_a(role)}",
                f"{await uow.actor_name()} has removed your role as {ROLE_NAMES[role]}. It no longer "
                "applies, from your next request on.\n")
    return user


async def check_leaves_an_organisation_administrator(uow: UnitOfWork, user_id: uuid.UUID) -> None:
    """For the use cases that take a person out of service (deactivate, delete): refuse with
    LAST_ORGANISATION_ADMINISTRATOR when they are the organisation's last active organisation
    administrator. Call it before locking the person's row (the order assign/remove_role use)."""
    await uow.roles.lock_role_changes()
    user = await uow.users.get(user_id)
    if user is not None and Role.ORGANISATION_ADMINISTRATOR in await uow.roles.of(user_id):
        check_removal_keeps_an_organisation_administrator(
            user, Role.ORGANISATION_ADMINISTRATOR, await uow.roles.count_active_holders(Role.ORGANISATION_ADMINISTRATOR)
        )


def _a(role: Role) -> str:
    name = ROLE_NAMES[role]
    return f"{'an' if name[0] in 'aeiou' else 'a'} {name}"


async def _tell(uow: UnitOfWork, user: User, kind: ActivityType, title: str, body: str) -> None:
    """The person hears of it on the channel they chose; an administrator changing their own roles
    knows already."""
    if user.id != uow.actor.user_id:
        await notify_person(uow, user.id, kind.value, title, body)
