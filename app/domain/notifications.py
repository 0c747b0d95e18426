"""Notifications to administrators, delivered in-app, by email or both as each one chose."""

from __future__ import annotations

from collections.abc import Sequence

from app.domain.model import NotificationChannel, OutgoingMail
from app.domain.ports import UnitOfWork
from app.domain.principal import Role


async def notify_role(uow: UnitOfWork, role: Role, kind: str, title: str, body: str) -> int:
    """Notify every live holder of `role` in the actor's organisation. Returns how many."""
    recipients = await uow.users.ids_with_role(role)
    now = uow.platform.now()
    count = 0
    for user_id in recipients:
        user = await uow.users.get(user_id)
        if user is None:
            continue
        channel = user.notification_channel
        if channel in (NotificationChannel.IN_APP, NotificationChannel.BOTH):
            await uow.notifications.add(user_id, kind, title, body, now)
        if channel in (NotificationChannel.EMAIL, NotificationChannel.BOTH):
            await uow.outbox.add(OutgoingMail(uow.actor.org_id, user.email, title, body))
        count += 1
    return count


async def mark_notifications_read(uow: UnitOfWork, ids: Sequence[int] | None) -> int:
    assert uow.actor.user_id is not None
    return await uow.notifications.mark_read(uow.actor.user_id, ids, uow.platform.now())
