"""Work no request does, started by the HTTP app's lifespan: the outbox (outbox.py), the deactivation
schedule (deactivation.py) and the bulk runner (bulk_runner.py), each in its own loop."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator, Awaitable, Callable

from app.bootstrap import Services
from app.entrypoints.workers.bulk_runner import BulkRunner
from app.entrypoints.workers.deactivation import run_deactivation_schedule
from app.entrypoints.workers.outbox import deliver_due

log = logging.getLogger("app.background")


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
