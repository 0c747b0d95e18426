"""Hearing of notifications created by other gateway processes (PostgreSQL LISTEN/NOTIFY)."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator

from app.bootstrap import Services
from app.persistence.notifications import listen


@contextlib.asynccontextmanager
async def notification_listener(services: Services) -> AsyncIterator[None]:
    """On PostgreSQL every serving process follows LISTEN/NOTIFY, so a subscriber connected here
    hears of notifications created by any process. (SQLite: one process, published in-process.)"""
    if services.engine.dialect.name != "postgresql":
        yield
        return
    stop = asyncio.Event()
    url = services.engine.url.render_as_string(hide_password=False)
    task = asyncio.create_task(listen(url, services.hub.publish, stop))
    try:
        yield
    finally:
        stop.set()
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task
