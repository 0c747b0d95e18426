"""Runs CSV import jobs in the background: claims a queued job, runs it in one transaction,
records the outcome. Progress of running jobs goes to the process's job board (app/adapters/jobs.py)
for `bulkJob` to show."""

from __future__ import annotations

import asyncio
import contextlib
import datetime as dt
import logging
import uuid
from pathlib import Path
from typing import TYPE_CHECKING, Any, BinaryIO

from app.adapters.pki import pki_for
from app.domain.bulk.importer import run_import
from app.domain.bulk.jobs import ImportFailed, finish_job
from app.domain.bulk.model import BulkJob, RowError
from app.domain.common.principal import Actor
from app.entrypoints.workers.worker import Worker
from app.persistence.bulk import claim_next_job

if TYPE_CHECKING:
    from app.bootstrap import Services

log = logging.getLogger("app.bulk")


class _Stopped(Exception):
    """Raised at a batch boundary of a job whose runner is being cancelled."""


async def _finish_before_cancelling(task: asyncio.Task[Any], stop: asyncio.Event | None = None) -> Any:
    """Await `task`; when the caller is cancelled, ask the task to stop (`stop`) and let it reach a
    clean point before the cancellation goes on. Cancelling a database call mid-statement can leave
    the driver's statement open (aiosqlite: the SQLite write lock stays held by a zombie connection
    until the interpreter frees it), so a runner is never cancelled inside one."""
    try:
        return await asyncio.shield(task)
    except asyncio.CancelledError:
        if stop is not None:
            stop.set()
        with contextlib.suppress(_Stopped, asyncio.CancelledError):
            await task
        raise


class BulkRunner:
    def __init__(self, services: Services) -> None:
        self.services = services
        self.board = services.bulk

    async def run_pending(self) -> int:
        """Run every claimable job now; returns how many ran."""
        ran = 0
        lease = dt.timedelta(seconds=self.services.settings.bulk_lease_seconds)
        while True:
            claim = asyncio.ensure_future(claim_next_job(self.services.engine, dt.datetime.now(dt.UTC), lease))
            claimed = await _finish_before_cancelling(claim)
            if claimed is None:
                return ran
            await self.run_job(*claimed)
            ran += 1

    async def run_forever(self, poll_seconds: float) -> None:
        while True:
            try:
                await self.run_pending()
            except asyncio.CancelledError:
                raise
            except Exception:
                log.exception("bulk runner failed; retrying")
            await self.board.wait(poll_seconds)

    async def run_job(self, job: BulkJob, cvr: str) -> None:
        """Run one claimed job. Cancelled, it stops at the next batch boundary and rolls back; the job
        stays RUNNING until its lease runs out and another runner takes it up."""
        stop = asyncio.Event()
        await _finish_before_cancelling(asyncio.ensure_future(self._run_job(job, cvr, stop)), stop)

    async def _run_job(self, job: BulkJob, cvr: str, stop: asyncio.Event) -> None:
        actor = Actor(job.org_id, cvr, job.created_by, frozenset())
        path = Path(job.file_path or "")

        def open_file() -> BinaryIO:
            return path.open("rb")

        def progress(processed: int, total: int | None) -> None:
            if stop.is_set():
                raise _Stopped
            self.board.progress[job.id] = (processed, total)

        result = None
        failure: ImportFailed | None = None
        try:
            async with self.services.unit_of_work(actor) as uow:
                await uow.tune_for_bulk()
                ca = pki_for(self.services.settings)
                result = await run_import(uow, ca, job, open_file, self.board.limits, progress)
                if job.dry_run:
                    await uow.rollback()
                    result = {**result, "dryRun": True}
                else:
                    job.total = result["total"]
                    await finish_job(uow, job, result=result, failure=None)
                    await uow.commit()
                    self._finished(job)
                    return
        except _Stopped:
            raise
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
        self.board.progress.pop(job.id, None)
        if job.file_path:
            with contextlib.suppress(OSError):
                Path(job.file_path).unlink()


WORKER = Worker("bulk", lambda services: BulkRunner(services).run_forever(services.settings.bulk_poll_seconds))
