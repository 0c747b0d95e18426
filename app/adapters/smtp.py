"""Building and sending one mail: SMTP (aiosmtplib) when SMTP_URL is set, else a local Maildir under
var/mail/ so a developer can read the activation emails. The outbox loop that calls this is
app/entrypoints/workers/outbox.py."""

from __future__ import annotations

import datetime as dt
import mailbox
from email.message import EmailMessage
from email.utils import format_datetime, make_msgid
from pathlib import Path
from urllib.parse import unquote, urlparse

import aiosmtplib

from app.config import Settings
from app.domain.common.validation import CONTROL_CHARACTERS
from app.persistence.outbox import PendingMail

SendError = (OSError, aiosmtplib.SMTPException)


def build_message(settings: Settings, mail: PendingMail) -> EmailMessage:
    msg = EmailMessage()
    msg["From"] = settings.mail_from
    msg["To"] = mail.recipient
    msg["Subject"] = header_line(mail.subject)
    msg["Date"] = format_datetime(dt.datetime.now(dt.UTC))
    # A stable Message-ID per outbox row lets a receiver drop a duplicate after a crash.
    msg["Message-ID"] = make_msgid(idstring=f"outbox-{mail.id}", domain="mitid-gateway.local")
    # Left to itself, set_content picks quoted-printable for a line over 78 characters or a Danish
    # letter: an activation link then breaks at `=\n` and shows `=3D`, so one copied from the Maildir
    # file (or a plain-text viewer) does not work. The body goes as written instead: 7bit when ASCII,
    # else 8bit UTF-8, links on one line. aiosmtplib sends BODY=8BITMIME to servers that offer it
    # (every current one does); one that does not gets the text base64-encoded by aiosmtplib's
    # downgrade, still a correct mail.
    # SMTP refuses a line over 998 octets (RFC 5321 4.5.3.1.6): such a body goes quoted-printable.
    too_long = any(len(line.encode()) > MAX_LINE for line in mail.body.splitlines())
    cte = "quoted-printable" if too_long else "7bit" if mail.body.isascii() else "8bit"
    msg.set_content(mail.body, charset="utf-8", cte=cte)
    return msg


MAX_LINE = 998
def header_line(text: str) -> str:
    """A header value of one line: the control characters and line breaks that names refuse
    (validation.CONTROL_CHARACTERS; a name stored before that rule may carry them) become spaces,
    so no header is refused or injected."""
    return " ".join(CONTROL_CHARACTERS.sub(" ", text).split())


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
