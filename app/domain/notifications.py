"""Notifications to administrators, delivered in-app, by email or both as each one chose."""

from __future__ import annotations

import uuid
from collections.abc import Sequence

from app.domain.model import NotificationChannel, OutgoingMail, UserStatus
from app.domain.ports import UnitOfWork
from app.domain.principal import Role


async def notify_person(uow: UnitOfWork, user_id: uuid.UUID, kind: str, title: str, body: str) -> bool:
    """Notify one person of the actor's organisation on the channel they chose."""
    user = await uow.users.get(user_id)
    if user is None or user.status is UserStatus.DELETED:
        return False
    channel = user.notification_channel
    if channel in (NotificationChannel.IN_APP, NotificationChannel.BOTH):
        await uow.notifications.add(user_id, kind, title, body, uow.platform.now())
    if channel in (NotificationChannel.EMAIL, NotificationChannel.BOTH):
        await uow.outbox.add(OutgoingMail(uow.actor.org_id, user.email, title, body))
    return True


async def notify_role(uow: UnitOfWork, role: Role, kind: str, title: str, body: str) -> int:
    """Notify every live holder of `role` in the actor's organisation. Returns how many."""
    count = 0
    for user_id in await uow.users.ids_with_role(role):
        count += await notify_person(uow, user_id, kind, title, body)
    return count


async def mark_notifications_read(uow: UnitOfWork, ids: Sequence[int] | None) -> int:
    assert uow.actor.user_id is not None
    return await uow.notifications.mark_read(uow.actor.user_id, ids, uow.platform.now())
