"""The import job board of one process: the runner's limits, its wake-up signal and the progress of
running jobs (kept in memory for `bulkJob` to show). The runner itself is a worker
(app/entrypoints/workers/bulk_runner.py)."""

from __future__ import annotations

import asyncio
import contextlib
import uuid
from dataclasses import dataclass, field

from app.domain.bulk.jobs import BulkLimits


@dataclass
class JobBoard:
    limits: BulkLimits
    progress: dict[uuid.UUID, tuple[int, int | None]] = field(default_factory=dict)
    _wake: asyncio.Event = field(default_factory=asyncio.Event, repr=False)

    def wake(self) -> None:
        self._wake.set()

    async def wait(self, seconds: float) -> None:
        """Until woken or `seconds` have passed."""
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self._wake.wait(), seconds)
        self._wake.clear()
