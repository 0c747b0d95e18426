"""Runs CSV import jobs in the background: claims a queued job, runs it in one transaction,
records the outcome. Progress of running jobs is kept in memory for `bulkJob` to show."""

from __future__ import annotations

import asyncio
import contextlib
import datetime as dt
import logging
import uuid
from pathlib import Path
from typing import TYPE_CHECKING, BinaryIO

from app.domain.bulk import BulkLimits, ImportFailed, finish_job, run_import
from app.domain.model import BulkJob, RowError
from app.domain.principal import Actor
from app.persistence.bulk import claim_next_job

if TYPE_CHECKING:
    from app.services import Services

log = logging.getLogger("app.bulk")


class BulkRunner:
    def __init__(self, services: Services, limits: BulkLimits) -> None:
        self.services = services
        self.limits = limits
        self.progress: dict[uuid.UUID, tuple[int, int | None]] = {}
        self._wake = asyncio.Event()

    def wake(self) -> None:
        self._wake.set()

    async def run_pending(self) -> int:
        """Run every claimable job now; returns how many ran."""
        ran = 0
        lease = dt.timedelta(seconds=self.services.settings.bulk_lease_seconds)
        while (claimed := await claim_next_job(self.services.engine, dt.datetime.now(dt.UTC), lease)) is not None:
            await self.run_job(*claimed)
            ran += 1
        return ran

    async def run_forever(self, poll_seconds: float) -> None:
        while True:
            try:
                await self.run_pending()
            except asyncio.CancelledError:
                raise
            except Exception:
                log.exception("bulk runner failed; retrying")
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._wake.wait(), poll_seconds)
            self._wake.clear()

    async def run_job(self, job: BulkJob, cvr: str) -> None:
        actor = Actor(job.org_id, cvr, job.created_by, frozenset())
        path = Path(job.file_path or "")

        def open_file() -> BinaryIO:
            return path.open("rb")

        def progress(processed: int, total: int | None) -> None:
            self.progress[job.id] = (processed, total)

        result = None
        failure: ImportFailed | None = None
        try:
            async with self.services.unit_of_work(actor) as uow:
                await uow.tune_for_bulk()
                result = await run_import(uow, job, open_file, self.limits, progress)
                if job.dry_run:
                    await uow.rollback()
                    result = {**result, "dryRun": True}
                else:
                    job.total = result["total"]
                    await finish_job(uow, job, result=result, failure=None)
                    await uow.commit()
                    self._finished(job)
                    return
        except ImportFailed as exc:
            failure = exc
        except FileNotFoundError:
            failure = ImportFailed([RowError(None, None, "FILE_MISSING", "The uploaded file is gone")], 1, None)
        except Exception as exc:  # any other fault: the job fails visibly, nothing was written
            ref = uuid.uuid4().hex
            log.exception("bulk job %s failed unexpectedly (%s)", job.id, ref)
            message = f"The import failed unexpectedly (reference {ref}); nothing was changed"
            if getattr(exc, "code", None) == "CONFLICT":
                message = "A concurrent change conflicts with this import; nothing was changed. Try again."
            failure = ImportFailed([RowError(None, None, "INTERNAL", message)], 1, job.total)
        async with self.services.unit_of_work(actor) as uow:
            await finish_job(uow, job, result=result, failure=failure)
            await uow.commit()
        self._finished(job)

    def _finished(self, job: BulkJob) -> None:
        self.progress.pop(job.id, None)
        if job.file_path:
            with contextlib.suppress(OSError):
                Path(job.file_path).unlink()
