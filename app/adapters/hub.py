"""In-process fan-out of new notifications to subscribed WebSocket clients.

One process: events are published after the creating transaction commits. (Several processes
behind a load balancer need a shared channel — PostgreSQL LISTEN/NOTIFY — see the README.)"""

from __future__ import annotations

import asyncio
import uuid
from collections import defaultdict
from collections.abc import AsyncIterator


class NotificationHub:
    def __init__(self, queue_size: int = 100) -> None:
        self._subscribers: dict[uuid.UUID, set[asyncio.Queue[int]]] = defaultdict(set)
        self._queue_size = queue_size

    def publish(self, recipient_id: uuid.UUID, notification_id: int) -> None:
        for queue in list(self._subscribers.get(recipient_id, ())):
            if queue.full():
                # A client that does not read loses its oldest events, not the server's memory.
                queue.get_nowait()
            queue.put_nowait(notification_id)

    async def subscribe(self, recipient_id: uuid.UUID) -> AsyncIterator[int]:
        queue: asyncio.Queue[int] = asyncio.Queue(self._queue_size)
        self._subscribers[recipient_id].add(queue)
        try:
            while True:
                yield await queue.get()
        finally:
            self._subscribers[recipient_id].discard(queue)
            if not self._subscribers[recipient_id]:
                del self._subscribers[recipient_id]

    def subscriber_count(self, recipient_id: uuid.UUID) -> int:
        return len(self._subscribers.get(recipient_id, ()))
