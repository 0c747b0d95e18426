"""Without SMTP_URL, mail is written to a local Maildir a developer can read."""

from __future__ import annotations

import mailbox
from email.message import EmailMessage
from pathlib import Path

from app.adapters.smtp import deliver
from app.config import Settings


async def test_mail_without_smtp_lands_in_a_maildir(tmp_path: Path) -> None:
    target = tmp_path / "var" / "mail"
    target.mkdir(parents=True)  # an existing, empty folder must work too
    settings = Settings.from_env({}, mail_dir=str(target), smtp_url=None)
    msg = EmailMessage()
    msg["To"], msg["Subject"] = "anne@example.dk", "Activate your MitID Erhverv user"
    msg.set_content("http://127.0.0.1:8000/activate?token=abc")
    await deliver(settings, msg)
    box = mailbox.Maildir(str(target), create=False)
    messages = list(box)
    assert len(messages) == 1
    assert messages[0]["Subject"] == "Activate your MitID Erhverv user"
    assert "activate?token=abc" in messages[0].get_payload()


async def test_mail_without_smtp_creates_the_maildir_when_missing(tmp_path: Path) -> None:
    target = tmp_path / "not" / "there"
    settings = Settings.from_env({}, mail_dir=str(target), smtp_url=None)
    msg = EmailMessage()
    msg["To"], msg["Subject"] = "bo@example.dk", "Hej"
    msg.set_content("x")
    await deliver(settings, msg)
    assert len(list(mailbox.Maildir(str(target), create=False))) == 1
