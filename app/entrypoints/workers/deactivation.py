"""Starting and ending deactivation periods when they are due, one organisation at a time."""

from __future__ import annotations

import datetime as dt
import logging

from app.bootstrap import Services
from app.domain.common.errors import DomainError
from app.domain.common.principal import Actor
from app.domain.users.deactivation import apply_deactivation_schedule
from app.entrypoints.workers.worker import every
from app.persistence.users.reads import orgs_with_due_deactivation_changes

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


WORKER = every("deactivation", lambda s: s.scheduler_interval_seconds, run_deactivation_schedule)
