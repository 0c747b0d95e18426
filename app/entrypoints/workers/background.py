"""Work no request does, started by the HTTP app's lifespan: every worker module of this package
that declares a `WORKER` (worker.py) runs in its own task (the outbox, the deactivation schedule, the
bulk runner, …). A new worker is a new module here; nothing else changes."""

from __future__ import annotations

import asyncio
import contextlib
import importlib
import pkgutil
import sys
from collections.abc import AsyncIterator

from app.bootstrap import Services
from app.entrypoints.workers.worker import Worker


def find_workers() -> list[Worker]:
    package = sys.modules[__package__ or "app.entrypoints.workers"]
    workers: list[Worker] = []
    for info in sorted(pkgutil.iter_modules(package.__path__), key=lambda i: i.name):
        worker = getattr(importlib.import_module(f"{package.__name__}.{info.name}"), "WORKER", None)
        if isinstance(worker, Worker):
            workers.append(worker)
    return workers


@contextlib.asynccontextmanager
async def background_tasks(services: Services) -> AsyncIterator[None]:
    tasks = [asyncio.create_task(w.run(services), name=f"worker:{w.name}") for w in find_workers()]
    try:
        yield
    finally:
        for t in tasks:
            t.cancel()
        for t in tasks:
            with contextlib.suppress(asyncio.CancelledError):
                await t
