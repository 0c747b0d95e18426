"""`mitid-gateway mail`: the local Maildir (MAIL_DIR) newest first, with the links of each mail
decoded, so a developer can follow an activation link without opening the raw files."""

from __future__ import annotations

import datetime as dt
import email
import email.policy
import os
import re
from collections.abc import Iterator
from dataclasses import dataclass
from email.message import EmailMessage
from email.utils import getaddresses
from pathlib import Path
from urllib.parse import urlparse

from app.config import Settings

LINK = re.compile(r"https?://[^\s<>\"']+")
MAILBOX_NAME = re.compile(r"(?P<s>\d+)\.M(?P<us>\d+)P\d+Q(?P<q>\d+)\.")


@dataclass(frozen=True, slots=True)
class Mail:
    date: dt.datetime
    recipient: str
    subject: str
    links: list[str]

    def addressed_to(self, address: str) -> bool:
        return address.lower() in (a.lower() for _, a in getaddresses([self.recipient]))


def _delivered(name: str, mtime_ns: int) -> tuple[float, int]:
    """When a file was delivered: Python's mailbox (our Maildir writer) names it
    `<seconds>.M<microseconds>P<pid>Q<count>.<host>`, finer than a file's mtime, which many file
    systems keep to a clock tick; other writers' files fall back to the mtime."""
    named = MAILBOX_NAME.match(name)
    if named is None:
        return mtime_ns / 1e9, 0
    return int(named["s"]) + int(named["us"]) / 1e6, int(named["q"])


def _files(mail_dir: Path) -> Iterator[tuple[tuple[float, int], str, Path]]:
    for sub in ("new", "cur"):  # tmp/ holds mail still being written
        folder = mail_dir / sub
        if not folder.is_dir():
            continue
        with os.scandir(folder) as entries:
            for entry in entries:
                if entry.is_file() and not entry.name.startswith("."):
                    yield _delivered(entry.name, entry.stat().st_mtime_ns), entry.name, Path(entry.path)


def read_mail(path: Path, delivered: tuple[float, int]) -> Mail:
    with path.open("rb") as f:
        msg = email.message_from_binary_file(f, policy=email.policy.default)
    assert isinstance(msg, EmailMessage)
    body = msg.get_body(preferencelist=("plain", "html"))
    try:
        text = body.get_content() if body is not None else ""
    except LookupError:  # a charset Python does not know: show the mail without its links
        text = ""
    date_header = msg["Date"]
    when = getattr(date_header, "datetime", None) if date_header is not None else None
    if when is None:
        when = dt.datetime.fromtimestamp(delivered[0], dt.UTC)
    links = [m.group(0).rstrip(".,;:)]") for m in LINK.finditer(text)]
    return Mail(when, str(msg["To"] or ""), str(msg["Subject"] or ""), links)


def newest(mail_dir: Path, last: int, to: str | None) -> tuple[list[Mail], int]:
    """The `last` newest mails (all when 0), and how many there are in all (after the filter)."""
    files = sorted(_files(mail_dir), reverse=True)
    if to is None:
        return [read_mail(path, when) for when, _, path in (files[:last] if last else files)], len(files)
    found = [m for m in (read_mail(path, when) for when, _, path in files) if m.addressed_to(to)]
    return (found[:last] if last else found), len(found)


def printable(text: str) -> str:
    """Text for a terminal: control characters (escape sequences a client's text may carry) shown
    as escapes, not obeyed."""
    return "".join(c if c.isprintable() else ascii(c)[1:-1] for c in text)


def render(settings: Settings, last: int, to: str | None) -> str:
    mail_dir = Path(settings.mail_dir)
    lines: list[str] = []
    if settings.smtp_url:
        url = urlparse(settings.smtp_url)  # host and port only: the URL may carry a password
        lines.append(f"SMTP_URL is set: mail is sent to {url.hostname}:{url.port or 'default port'}, "
                     f"not written to {mail_dir}. Shown below is what {mail_dir} holds from earlier runs.")
    mails, total = newest(mail_dir, last, to)
    if not mails:
        if not mail_dir.is_dir():
            lines.append(f"No mail: {mail_dir} does not exist.")
        else:
            lines.append(f"No mail{f' to {to}' if to else ''} in {mail_dir}.")
        if not settings.smtp_url:
            lines.append("Mail is written there by the outbox of a running `mitid-gateway serve` (every "
                         f"{settings.outbox_interval_seconds:g} s); seeded activation mails wait in the outbox until then.")
        return "\n".join(lines) + "\n"
    shown = "newest first" if len(mails) == total else f"the newest {len(mails)} shown (--last 0 for all)"
    lines.append(f"{mail_dir}: {total} mail{'s' if total != 1 else ''}{f' to {to}' if to else ''}, {shown}")
    for mail in mails:
        lines.append("")
        lines.append(f"{mail.date.astimezone():%Y-%m-%d %H:%M:%S}  {printable(mail.recipient)}")
        lines.append(f"  {printable(mail.subject)}")
        lines.extend(f"  {printable(link)}" for link in mail.links)
    return "\n".join(lines) + "\n"
