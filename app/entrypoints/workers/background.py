"""Work no request does: delivering the outbox and starting/ending deactivation periods."""

from __future__ import annotations

import asyncio
import contextlib
import datetime as dt
import logging
from collections.abc import AsyncIterator, Awaitable, Callable

from app.adapters.smtp import deliver_due
from app.bootstrap import Services
from app.domain.common.errors import DomainError
from app.domain.common.principal import Actor
from app.domain.users.lifecycle import apply_deactivation_schedule
from app.entrypoints.workers.bulk_runner import BulkRunner
from app.persistence.notifications import listen
from app.persistence.users import orgs_with_due_deactivation_changes

log = logging.getLogger("app.background")


async def run_deactivation_schedule(services: Services) -> int:
    async with services.engine.connect() as conn:
        orgs = await orgs_with_due_deactivation_changes(conn, dt.datetime.now(dt.UTC))
    changed = 0
    for org_id, cvr in orgs:
        try:
            async with services.unit_of_work(Actor(org_id, cvr, None, frozenset())) as uow:
                changed += await apply_deactivation_schedule(uow)
                await uow.commit()
        except DomainError as exc:  # a concurrent edit: the next round picks it up
            log.info("deactivation schedule for org %s deferred: %s", org_id, exc.message)
    return changed


async def _every(seconds: float, name: str, job: Callable[[], Awaitable[object]]) -> None:
    while True:
        try:
            await job()
        except asyncio.CancelledError:
            raise
        except Exception:
            log.exception("background job %s failed; retrying in %.1fs", name, seconds)
        await asyncio.sleep(seconds)


@contextlib.asynccontextmanager
async def background_tasks(services: Services) -> AsyncIterator[None]:
    s = services.settings
    tasks = [
        asyncio.create_task(_every(s.outbox_interval_seconds, "outbox", lambda: deliver_due(s, services.engine))),
        asyncio.create_task(
            _every(s.scheduler_interval_seconds, "deactivation", lambda: run_deactivation_schedule(services))
        ),
        asyncio.create_task(BulkRunner(services).run_forever(s.bulk_poll_seconds)),
    ]

    try:
        yield
    finally:
        for t in tasks:
            t.cancel()
        for t in tasks:
            with contextlib.suppress(asyncio.CancelledError):
                await t


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
