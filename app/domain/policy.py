"""The one table of who may do what. Enforced by the API layer before any use case runs."""

from __future__ import annotations

import enum
import uuid

from app.domain.principal import Principal, Role

OA = Role.ORGANISATION_ADMINISTRATOR
UA = Role.USER_ADMINISTRATOR
RA = Role.RIGHTS_ADMINISTRATOR
U = Role.USER
EVERYONE = frozenset(Role)


class Action(enum.StrEnum):
    VIEW_ORGANISATION = "VIEW_ORGANISATION"
    VIEW_USERS = "VIEW_USERS"
    VIEW_ACTIVITIES = "VIEW_ACTIVITIES"
    VIEW_OWN_PROFILE = "VIEW_OWN_PROFILE"
    CREATE_USER = "CREATE_USER"
    UPDATE_USER = "UPDATE_USER"
    SET_USER_AUTHENTICATORS = "SET_USER_AUTHENTICATORS"
    SET_USER_ORGANISATION_UNIT = "SET_USER_ORGANISATION_UNIT"
    SEND_ACTIVATION = "SEND_ACTIVATION"
    DEACTIVATE_USER = "DEACTIVATE_USER"
    REACTIVATE_USER = "REACTIVATE_USER"
    DELETE_USER = "DELETE_USER"
    REQUEST_ANONYMITY = "REQUEST_ANONYMITY"
    VIEW_ANONYMITY_REQUESTS = "VIEW_ANONYMITY_REQUESTS"
    DECIDE_ANONYMITY_REQUEST = "DECIDE_ANONYMITY_REQUEST"
    MANAGE_OWN_NOTIFICATIONS = "MANAGE_OWN_NOTIFICATIONS"
    IMPORT_USERS = "IMPORT_USERS"
    VIEW_RIGHTS_CATALOGUE = "VIEW_RIGHTS_CATALOGUE"
    VIEW_USER_GROUPS = "VIEW_USER_GROUPS"
    MANAGE_USER_GROUPS = "MANAGE_USER_GROUPS"
    MANAGE_GROUP_MEMBERS = "MANAGE_GROUP_MEMBERS"
    FIND_EXTERNAL_USERS = "FIND_EXTERNAL_USERS"
    VIEW_EXTERNAL_MEMBERSHIPS = "VIEW_EXTERNAL_MEMBERSHIPS"
    LEAVE_EXTERNAL_GROUP = "LEAVE_EXTERNAL_GROUP"
    VIEW_BULK_JOBS = "VIEW_BULK_JOBS"


POLICY: dict[Action, frozenset[Role]] = {
    Action.VIEW_ORGANISATION: EVERYONE,
    Action.VIEW_USERS: frozenset({OA, UA, RA}),
    Action.VIEW_ACTIVITIES: frozenset({OA, UA}),
    Action.VIEW_OWN_PROFILE: EVERYONE,
    Action.CREATE_USER: frozenset({UA}),
    Action.UPDATE_USER: frozenset({UA}),
    Action.SET_USER_AUTHENTICATORS: frozenset({UA}),
    Action.SET_USER_ORGANISATION_UNIT: frozenset({UA}),
    Action.SEND_ACTIVATION: frozenset({UA}),
    Action.DEACTIVATE_USER: frozenset({UA}),
    Action.REACTIVATE_USER: frozenset({UA}),
    Action.DELETE_USER: frozenset({UA}),
    Action.REQUEST_ANONYMITY: EVERYONE,
    Action.VIEW_ANONYMITY_REQUESTS: frozenset({UA}),
    Action.DECIDE_ANONYMITY_REQUEST: frozenset({UA}),
    Action.MANAGE_OWN_NOTIFICATIONS: EVERYONE,
    Action.IMPORT_USERS: frozenset({UA}),
    Action.VIEW_RIGHTS_CATALOGUE: EVERYONE,
    Action.VIEW_USER_GROUPS: frozenset({OA, UA, RA}),
    Action.MANAGE_USER_GROUPS: frozenset({OA}),
    Action.MANAGE_GROUP_MEMBERS: frozenset({UA, RA}),
    Action.FIND_EXTERNAL_USERS: frozenset({UA, RA}),
    Action.VIEW_EXTERNAL_MEMBERSHIPS: frozenset({OA, UA, RA}),
    Action.LEAVE_EXTERNAL_GROUP: frozenset({OA, UA, RA}),
    Action.VIEW_BULK_JOBS: frozenset({UA}),
}


def is_allowed(roles: frozenset[Role], action: Action) -> bool:
    return bool(roles & POLICY[action])


def can_view_user(principal: Principal, user_id: uuid.UUID) -> bool:
    """Administrators see the organisation's users; everyone sees themself."""
    return is_allowed(principal.roles, Action.VIEW_USERS) or principal.user_id == user_id


def reveals_identity(principal: Principal, user_id: uuid.UUID) -> bool:
    """Anonymous users show only their UUID to non-administrators (themselves excepted)."""
    return principal.is_administrator or principal.user_id == user_id
