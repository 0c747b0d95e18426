"""Roles held by the gateway: `assignRole` and `removeRole` (organisation administrators). The roles
a person holds are `User.roles` (the users area); what a request may do follows them at once."""

from __future__ import annotations

import strawberry
from strawberry.types import Info

from app.domain.common.policy import Action
from app.domain.users import roles as uc
from app.schema.runtime.area import Area
from app.schema.runtime.base import in_unit_of_work, not_found, requires, uuid_of
from app.schema.runtime.enums import Role
from app.schema.users.mutations import UserPayload
from app.schema.users.types import User


@strawberry.input(description="ORGANISATION_ADMINISTRATOR, USER_ADMINISTRATOR or RIGHTS_ADMINISTRATOR (every "
                              "active user holds USER); assigning a role already held changes nothing")
class AssignRoleInput:
    user_id: strawberry.ID
    role: Role


@strawberry.input(description="Removing a role the user does not hold changes nothing; the organisation keeps "
                              "at least one active organisation administrator")
class RemoveRoleInput:
    user_id: strawberry.ID
    role: Role


@strawberry.type
class RoleMutations:
    @strawberry.mutation(permission_classes=requires(Action.ASSIGN_ROLE),
                         description="Give an active user of the organisation a role; the person is notified")
    async def assign_role(self, info: Info, input: AssignRoleInput) -> UserPayload:
        user_id = uuid_of(input.user_id, "User")
        if user_id is None:
            return UserPayload(user=None, user_errors=not_found("userId", "User"))
        user, errors = await in_unit_of_work(info, lambda uow: uc.assign_role(uow, user_id, input.role))
        return UserPayload(user=User.of(user, info) if user else None, user_errors=errors)

    @strawberry.mutation(permission_classes=requires(Action.REMOVE_ROLE),
                         description="Take a role from a user of the organisation; the person is notified")
    async def remove_role(self, info: Info, input: RemoveRoleInput) -> UserPayload:
        user_id = uuid_of(input.user_id, "User")
        if user_id is None:
            return UserPayload(user=None, user_errors=not_found("userId", "User"))
        user, errors = await in_unit_of_work(info, lambda uow: uc.remove_role(uow, user_id, input.role))
        return UserPayload(user=User.of(user, info) if user else None, user_errors=errors)


AREA = Area(mutations=(RoleMutations,))
