"""Notifications to administrators, delivered in-app, by email or both as each one chose."""

from __future__ import annotations

import uuid
from collections.abc import Sequence

from app.domain.common.mail import OutgoingMail
from app.domain.common.ports import UnitOfWork
from app.domain.common.principal import Role
from app.domain.users.model import NotificationChannel, User, UserStatus

# Who hears of a partner organisation's user joining or leaving one of our groups.
PARTNER_ADMINISTRATORS = (Role.ORGANISATION_ADMINISTRATOR, Role.USER_ADMINISTRATOR)


async def _deliver(uow: UnitOfWork, org_id: int, user: User, kind: str, title: str, body: str) -> None:
    """On the person's chosen channel; `org_id` is theirs, which may be a partner's."""
    channel = user.notification_channel
    if channel in (NotificationChannel.IN_APP, NotificationChannel.BOTH):
        if org_id == uow.actor.org_id:
            await uow.notifications.add(user.id, kind, title, body, uow.platform.now())
        else:
            await uow.notifications.add_for_partner(org_id, user.id, kind, title, body, uow.platform.now())
    if channel in (NotificationChannel.EMAIL, NotificationChannel.BOTH):
        await uow.outbox.add(OutgoingMail(org_id, user.email, title, body))


async def notify_person(uow: UnitOfWork, user_id: uuid.UUID, kind: str, title: str, body: str) -> bool:
    """Notify one person of the actor's organisation on the channel they chose."""
    user = await uow.users.get(user_id)
    if user is None or user.status is UserStatus.DELETED:
        return False
    await _deliver(uow, uow.actor.org_id, user, kind, title, body)
    return True


async def notify_role(uow: UnitOfWork, role: Role, kind: str, title: str, body: str) -> int:
    """Notify every live holder of `role` in the actor's organisation. Returns how many."""
    count = 0
    for user_id in await uow.users.ids_with_role(role):
        count += await notify_person(uow, user_id, kind, title, body)
    return count


async def notify_administrators_of(uow: UnitOfWork, org_id: int, kind: str, title: str, body: str) -> int:
    """Notify the organisation and user administrators of organisation `org_id` — a partner's,
    told what we did with their user, or our own — in this transaction. The actor is not told of
    their own action. Returns how many."""
    count = 0
    for user in await uow.users.administrators_of(org_id, PARTNER_ADMINISTRATORS):
        if user.id != uow.actor.user_id:
            await _deliver(uow, org_id, user, kind, title, body)
            count += 1
    return count


async def mark_notifications_read(uow: UnitOfWork, ids: Sequence[int] | None) -> int:
    assert uow.actor.user_id is not None
    return await uow.notifications.mark_read(uow.actor.user_id, ids, uow.platform.now())
