"""History: every change is recorded in the same transaction as the change itself."""

from __future__ import annotations

import enum
from typing import Any

from app.domain.activity.model import Activity
from app.domain.common.ports import UnitOfWork
from app.domain.user_groups.model import ExternalUser, UserGroup
from app.domain.users.model import User


class ActivityType(enum.StrEnum):
    USER_CREATED = "USER_CREATED"
    USER_UPDATED = "USER_UPDATED"
    AUTHENTICATORS_CHANGED = "AUTHENTICATORS_CHANGED"
    ORGANISATION_UNIT_CHANGED = "ORGANISATION_UNIT_CHANGED"
    ACTIVATION_EMAIL_SENT = "ACTIVATION_EMAIL_SENT"
    ACTIVATION_CODE_GENERATED = "ACTIVATION_CODE_GENERATED"
    USER_ACTIVATED = "USER_ACTIVATED"
    USER_DEACTIVATED = "USER_DEACTIVATED"
    DEACTIVATION_SCHEDULED = "DEACTIVATION_SCHEDULED"
    USER_REACTIVATED = "USER_REACTIVATED"
    USER_DELETED = "USER_DELETED"
    ANONYMITY_REQUESTED = "ANONYMITY_REQUESTED"
    ANONYMITY_APPROVED = "ANONYMITY_APPROVED"
    ANONYMITY_REJECTED = "ANONYMITY_REJECTED"
    NOTIFICATION_SETTINGS_CHANGED = "NOTIFICATION_SETTINGS_CHANGED"
    BULK_IMPORT_COMPLETED = "BULK_IMPORT_COMPLETED"
    CERTIFICATE_ORDERED = "CERTIFICATE_ORDERED"
    CERTIFICATE_ISSUED = "CERTIFICATE_ISSUED"
    CERTIFICATE_RENEWED = "CERTIFICATE_RENEWED"
    CERTIFICATE_REVOKED = "CERTIFICATE_REVOKED"
    CERTIFICATE_RIGHTS_CHANGED = "CERTIFICATE_RIGHTS_CHANGED"
    CERTIFICATE_ORDER_CANCELLED = "CERTIFICATE_ORDER_CANCELLED"
    CERTIFICATE_DELETED = "CERTIFICATE_DELETED"
    SETTINGS_CHANGED = "SETTINGS_CHANGED"
    BILLING_CHANGED = "BILLING_CHANGED"
    POWER_OF_ATTORNEY_CREATED = "POWER_OF_ATTORNEY_CREATED"
    POWER_OF_ATTORNEY_REVOKED = "POWER_OF_ATTORNEY_REVOKED"
    GROUP_CREATED = "GROUP_CREATED"
    GROUP_UPDATED = "GROUP_UPDATED"
    GROUP_DELETED = "GROUP_DELETED"
    GROUP_MEMBER_ADDED = "GROUP_MEMBER_ADDED"
    GROUP_MEMBER_REMOVED = "GROUP_MEMBER_REMOVED"
    EXTERNAL_MEMBER_ADDED = "EXTERNAL_MEMBER_ADDED"
    EXTERNAL_MEMBER_REMOVED = "EXTERNAL_MEMBER_REMOVED"
    ROLE_ASSIGNED = "ROLE_ASSIGNED"
    ROLE_REMOVED = "ROLE_REMOVED"
    USER_ACCOUNT_REQUESTED = "USER_ACCOUNT_REQUESTED"
    USER_ACCOUNT_REQUEST_APPROVED = "USER_ACCOUNT_REQUEST_APPROVED"
    USER_ACCOUNT_REQUEST_REJECTED = "USER_ACCOUNT_REQUEST_REJECTED"


async def record(
    uow: UnitOfWork,
    type_: ActivityType,
    summary: str,
    *,
    target: User | ExternalUser | None = None,
    group: UserGroup | None = None,
    details: dict[str, Any] | None = None,
    org_id: int | None = None,
) -> None:
    """Write one history entry for the current actor. Anonymous targets are named by UUID only.
    `org_id` other than the actor's writes to a partner organisation's log (external membership)."""
    target_name = None
    if target is not None:
        full = f"{target.first_name} {target.last_name}"
        target_name = str(target.id) if target.anonymous else full
    elif group is not None:
        target_name = group.name
    activity = Activity(
        org_id=org_id if org_id is not None else uow.actor.org_id,
        occurred_at=uow.platform.now(),
        actor_id=uow.actor.user_id,
        actor_name=await uow.actor_name(),
        type=type_.value,
        target_user_id=target.id if target is not None else None,
        target_name=target_name,
        summary=summary,
        details=details or {},
        target_group_id=group.id if group is not None else None,
    )
    if activity.org_id == uow.actor.org_id:
        await uow.activities.add(activity)
    else:
        await uow.activities.add_to_partner_log(activity)
