"""What a background worker is: a name and a loop that runs until cancelled. Each worker module of
app/entrypoints/workers declares one `WORKER = Worker(...)`; background.py starts every one found."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from app.bootstrap import Services
    from app.config import Settings

log = logging.getLogger("app.background")


@dataclass(frozen=True)
class Worker:
    name: str
    run: Callable[[Services], Awaitable[None]]  # runs until cancelled


def every(
    name: str, seconds: Callable[[Settings], float], job: Callable[[Services], Awaitable[object]]
) -> Worker:
    """A worker that runs `job` every `seconds(settings)`; a failed round is logged and retried."""

    async def run(services: Services) -> None:
        interval = seconds(services.settings)
        while True:
            try:
                await job(services)
            except asyncio.CancelledError:
                raise
            except Exception:
                log.exception("background job %s failed; retrying in %.1fs", name, interval)
            await asyncio.sleep(interval)

    return Worker(name, run)
