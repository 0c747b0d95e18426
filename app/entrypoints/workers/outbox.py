"""Delivering the outbox: claim what is due, send it (app/adapters/smtp.py), mark it sent or
retry it later with backoff."""

from __future__ import annotations

import datetime as dt
import logging

from sqlalchemy.ext.asyncio import AsyncEngine

from app.adapters.smtp import SendError, build_message, deliver
from app.config import Settings
from app.entrypoints.workers.worker import every
from app.persistence.outbox import claim_due, mark_failed, mark_sent

log = logging.getLogger("app.mail")
LEASE = dt.timedelta(minutes=5)


def backoff(attempts: int, base: float = 5.0) -> dt.timedelta:
    """Exponential, capped at an hour: SMTP being down costs retries, not lost mail."""
    return dt.timedelta(seconds=min(3600.0, base * 2 ** min(attempts - 1, 10)))


async def deliver_due(settings: Settings, engine: AsyncEngine, limit: int = 50) -> int:
    """Send what is due; a failure is retried later with backoff. Returns how many were sent. One
    mail that cannot be built or sent never holds up the others (of any organisation)."""
    now = dt.datetime.now(dt.UTC)
    sent = 0
    for mail in await claim_due(engine, now, limit, LEASE):
        retry_at = dt.datetime.now(dt.UTC) + backoff(mail.attempts, settings.outbox_retry_base_seconds)
        try:
            await deliver(settings, build_message(settings, mail))
        except SendError as exc:
            log.warning("mail %s to outbox recipient failed (attempt %s): %s", mail.id, mail.attempts, exc)
            await mark_failed(engine, mail.id, retry_at, str(exc))
            continue
        except Exception as exc:  # our bug (a mail we cannot build): logged, retried, the rest goes on
            log.exception("mail %s could not be built or sent (attempt %s)", mail.id, mail.attempts)
            await mark_failed(engine, mail.id, retry_at, type(exc).__name__)
            continue
        await mark_sent(engine, mail.id, dt.datetime.now(dt.UTC))
        sent += 1
    return sent


WORKER = every("outbox", lambda s: s.outbox_interval_seconds, lambda services: deliver_due(services.settings, services.engine))
