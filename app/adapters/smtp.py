"""Delivering the outbox: SMTP (aiosmtplib) when SMTP_URL is set, else a local Maildir under
var/mail/ so a developer can read the activation emails."""

from __future__ import annotations

import datetime as dt
import logging
import mailbox
from email.message import EmailMessage
from email.utils import make_msgid
from pathlib import Path
from urllib.parse import unquote, urlparse

import aiosmtplib
from sqlalchemy.ext.asyncio import AsyncEngine

from app.config import Settings
from app.persistence.outbox import PendingMail, claim_due, mark_failed, mark_sent

log = logging.getLogger("app.mail")
LEASE = dt.timedelta(minutes=5)


def build_message(settings: Settings, mail: PendingMail) -> EmailMessage:
    msg = EmailMessage()
    msg["From"] = settings.mail_from
    msg["To"] = mail.recipient
    msg["Subject"] = mail.subject
    # A stable Message-ID per outbox row lets a receiver drop a duplicate after a crash.
    msg["Message-ID"] = make_msgid(idstring=f"outbox-{mail.id}", domain="mitid-gateway.local")
    msg.set_content(mail.body)
    return msg


async def deliver(settings: Settings, msg: EmailMessage) -> None:
    if not settings.smtp_url:
        for sub in ("tmp", "new", "cur"):
            (Path(settings.mail_dir) / sub).mkdir(parents=True, exist_ok=True)
        mailbox.Maildir(settings.mail_dir, create=False).add(msg)
        return
    url = urlparse(settings.smtp_url)
    await aiosmtplib.send(
        msg,
        hostname=url.hostname or "127.0.0.1",
        port=url.port or (465 if url.scheme == "smtps" else 25),
        username=unquote(url.username) if url.username else None,
        password=unquote(url.password) if url.password else None,
        use_tls=url.scheme == "smtps",
        start_tls=True if url.scheme == "smtp+starttls" else False,
        timeout=10,
    )


def backoff(attempts: int, base: float = 5.0) -> dt.timedelta:
    """Exponential, capped at an hour: SMTP being down costs retries, not lost mail."""
    return dt.timedelta(seconds=min(3600.0, base * 2 ** min(attempts - 1, 10)))


async def deliver_due(settings: Settings, engine: AsyncEngine, limit: int = 50) -> int:
    """Send what is due; a failure is retried later with backoff. Returns how many were sent."""
    now = dt.datetime.now(dt.UTC)
    sent = 0
    for mail in await claim_due(engine, now, limit, LEASE):
        try:
            await deliver(settings, build_message(settings, mail))
        except (OSError, aiosmtplib.SMTPException) as exc:
            log.warning("mail %s to outbox recipient failed (attempt %s): %s", mail.id, mail.attempts, exc)
            await mark_failed(engine, mail.id, dt.datetime.now(dt.UTC) + backoff(mail.attempts, settings.outbox_retry_base_seconds), str(exc))
            continue
        await mark_sent(engine, mail.id, dt.datetime.now(dt.UTC))
        sent += 1
    return sent
