"""Domain enums exposed to GraphQL under their own names."""

from __future__ import annotations

import strawberry

from app.domain.activity.history import ActivityType
from app.domain.common.organisation import Authenticator
from app.domain.common.principal import Role
from app.domain.common.rights import RightKind
from app.domain.user_groups.model import GroupKind
from app.domain.users.model import (
    AnonymityRequestStatus,
    Identification,
    NotificationChannel,
    UserOrderField,
    UserStatus,
)

UserStatusEnum = strawberry.enum(UserStatus, name="UserStatus")
IdentificationEnum = strawberry.enum(Identification, name="Identification")
AuthenticatorEnum = strawberry.enum(Authenticator, name="Authenticator")
NotificationChannelEnum = strawberry.enum(NotificationChannel, name="NotificationChannel")
AnonymityRequestStatusEnum = strawberry.enum(AnonymityRequestStatus, name="AnonymityRequestStatus")
ActivityTypeEnum = strawberry.enum(ActivityType, name="ActivityType")
RoleEnum = strawberry.enum(Role, name="Role")
UserOrderFieldEnum = strawberry.enum(UserOrderField, name="UserOrderField")
GroupKindEnum = strawberry.enum(GroupKind, name="GroupKind")
RightKindEnum = strawberry.enum(RightKind, name="RightKind")
