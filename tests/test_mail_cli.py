"""A newcomer's mail: links in the Maildir files work as they stand, seeded and served mails link
to the served address, and `mitid-gateway mail` lists them with their links."""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import datetime as dt
import os
import re
import signal
import subprocess
import sys
from collections.abc import AsyncIterator
from email.header import decode_header, make_header
from pathlib import Path

import httpx
import pytest

from app.adapters.jwt import sign_token
from app.adapters.smtp import build_message, deliver
from app.bootstrap import build_services
from app.config import Settings
from app.domain.common.principal import Role
from app.entrypoints.cli.main import main, served_base_url
from app.entrypoints.workers.outbox import deliver_due
from app.persistence.migrate import upgrade
from app.persistence.outbox import PendingMail
from tests.conftest import MailSink, _free_port, _postgres_database
from tests.factories import make_org

ROOT = Path(__file__).resolve().parent.parent
LONG_LINK = "http://127.0.0.1:8123/activate?token=" + "Zk9_-" * 12  # 97 characters
DANISH = PendingMail(
    id=7, recipient="soeren@demo.dk", subject="Aktivér din bruger",
    body=f"Kære Søren Ærø-Åberg,\n\nAktivér din bruger her:\n\n{LONG_LINK}\n\nLinket gælder i 30 dage.\n",
    attempts=1,
)
CREATE_CPR_USER = """mutation($email: String!) { createUser(input: {firstName: "Åse", lastName: "Ørsted",
  email: $email, cpr: "0101901234"}) { userErrors { code } } }"""


def cli(*args: str, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    """`mitid-gateway …` in a fresh process, as a user types it."""
    done = subprocess.run([sys.executable, "-m", "app.entrypoints.cli.main", *args], cwd=ROOT, env=env,
                          capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr
    return done


def user_env(tmp: Path, database: str, **extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k not in ("SMTP_URL", "PUBLIC_BASE_URL")}
    return {**env, "DATABASE_URL": database, "MAIL_DIR": str(tmp / "mail"), "UPLOAD_DIR": str(tmp / "up"), **extra}


@contextlib.asynccontextmanager
async def database(backend: str, tmp: Path) -> AsyncIterator[str]:
    if backend == "sqlite":
        yield f"sqlite+aiosqlite:///{tmp / 'gateway.db'}"
    else:
        async with _postgres_database() as url:
            yield url


def raw_files(mail_dir: Path) -> list[bytes]:
    return [p.read_bytes() for p in sorted((mail_dir / "new").iterdir())]


async def test_a_danish_mail_keeps_its_long_link_verbatim_on_one_line_of_the_maildir_file(tmp_path: Path) -> None:
    settings = Settings.from_env({}, mail_dir=str(tmp_path / "mail"), smtp_url=None)
    await deliver(settings, build_message(settings, DANISH))
    [raw] = raw_files(tmp_path / "mail")
    assert LONG_LINK.encode() in raw.splitlines()
    assert b"Content-Transfer-Encoding: 8bit" in raw
    assert "Kære Søren Ærø-Åberg,".encode() in raw  # UTF-8 as written: no =C3=A6, no =\n, no =3D
    assert b"=3D" not in raw and b"=\n" not in raw


async def test_an_ascii_mail_with_a_long_link_goes_as_7bit_with_the_link_on_one_line(tmp_path: Path) -> None:
    settings = Settings.from_env({}, mail_dir=str(tmp_path / "mail"), smtp_url=None)
    ascii_mail = PendingMail(8, "bo@demo.dk", "Activate", f"Dear Bo,\n\n{LONG_LINK}\n", 1)
    await deliver(settings, build_message(settings, ascii_mail))
    [raw] = raw_files(tmp_path / "mail")
    assert LONG_LINK.encode() in raw.splitlines()
    assert b"Content-Transfer-Encoding: 7bit" in raw


async def test_a_danish_mail_arrives_intact_over_smtp(smtp: tuple[MailSink, int]) -> None:
    sink, port = smtp
    settings = Settings.from_env({}, smtp_url=f"smtp://127.0.0.1:{port}")
    mail = PendingMail(9, f"soeren.{port}@demo.dk", DANISH.subject, DANISH.body, 1)
    await deliver(settings, build_message(settings, mail))
    [received] = await sink.wait_for(mail.recipient)
    assert received["Content-Transfer-Encoding"] == "8bit"  # the server offered 8BITMIME; nothing re-encoded
    assert str(make_header(decode_header(received["Subject"]))) == "Aktivér din bruger"  # RFC 2047, as headers must
    assert received.get_payload(decode=True).decode().replace("\r\n", "\n") == DANISH.body  # SMTP lines end CRLF


@pytest.mark.parametrize("backend", ["sqlite", "postgresql"])
async def test_seed_demo_mails_link_to_public_base_url_and_mail_lists_them_newest_first(
    backend: str, tmp_path: Path
) -> None:
    async with database(backend, tmp_path) as url:
        env = user_env(tmp_path, url, PUBLIC_BASE_URL="http://127.0.0.1:8123")
        await asyncio.to_thread(cli, "migrate", env=env)
        await asyncio.to_thread(cli, "seed-demo", env=env)
        # What a running `serve` does every OUTBOX_INTERVAL_SECONDS: deliver the outbox to the Maildir.
        settings = Settings.from_env(env)
        services = build_services(settings)
        try:
            while await deliver_due(settings, services.engine):
                pass
        finally:
            await services.engine.dispose()

        files = raw_files(tmp_path / "mail")
        links = [line for raw in files for line in raw.splitlines() if b"/activate?token=" in line]
        assert len(links) == 32  # the demo's CPR users sent for activation, 16 per organisation
        assert all(re.fullmatch(rb"http://127\.0\.0\.1:8123/activate\?token=[\w-]{43}", line) for line in links)

        shown = (await asyncio.to_thread(cli, "mail", "--last", "0", env=env)).stdout
        assert shown.splitlines()[0] == f"{tmp_path / 'mail'}: {len(files)} mails, newest first"
        entries = [entry.strip("\n").split("\n") for entry in shown.split("\n\n")[1:]]
        assert len(entries) == len(files)
        assert all(re.fullmatch(r"\d{4}-\d\d-\d\d \d\d:\d\d:\d\d  \S+@(demo|partner-revision)\.dk", e[0]) for e in entries)
        # Newest first: the seed's last step adds a Partner accountant to a Demo group, told to Partner's admins.
        assert [e[1] for e in entries[:2]] == ["  One of your users was added to a group of Demo ApS"] * 2
        activations = [e for e in entries if e[1] == "  Activate your MitID Erhverv user"]
        assert len(activations) == 32
        assert sorted(e[2].strip().encode() for e in activations) == sorted(links)  # the link as written, decoded

        first = (await asyncio.to_thread(cli, "mail", "--last", "3", env=env)).stdout
        assert first.splitlines()[0] == f"{tmp_path / 'mail'}: {len(files)} mails, the newest 3 shown (--last 0 for all)"
        assert first.split("\n\n")[1:] == [*shown.split("\n\n")[1:3], shown.split("\n\n")[3] + "\n"]

        address = activations[0][0].split("  ")[1]
        only = (await asyncio.to_thread(cli, "mail", "--to", address.upper(), env=env)).stdout
        assert only.splitlines()[0] == f"{tmp_path / 'mail'}: 1 mail to {address.upper()}, newest first"
        assert only.split("\n\n")[1] == "\n".join(activations[0]) + "\n"


@pytest.mark.parametrize("backend", ["sqlite", "postgresql"])
async def test_serve_without_public_base_url_links_mails_to_the_address_it_serves(backend: str, tmp_path: Path) -> None:
    async with database(backend, tmp_path) as url:
        settings = Settings.from_env({}, database_url=url)
        services = build_services(settings)
        await upgrade(services.engine)
        org = await make_org(services)
        await services.engine.dispose()
        admin = sign_token(settings, org.people[Role.USER_ADMINISTRATOR], org.cvr, [Role.USER_ADMINISTRATOR])
        port = _free_port()
        env = user_env(tmp_path, url, OUTBOX_INTERVAL_SECONDS="0.1")
        log = tmp_path / "serve.log"
        with log.open("w") as log_file:
            server = subprocess.Popen(
                [sys.executable, "-m", "app.entrypoints.cli.main", "serve", "--port", str(port)],
                cwd=ROOT, env=env, start_new_session=True, stderr=log_file,
            )
        base = f"http://127.0.0.1:{port}"
        try:
            async with httpx.AsyncClient(base_url=base) as client:
                for _ in range(200):
                    with contextlib.suppress(httpx.HTTPError):
                        if (await client.get("/healthz")).status_code == 200:
                            break
                    await asyncio.sleep(0.1)
                else:
                    raise AssertionError("serve did not start")
                created = await client.post("/graphql", headers={"Authorization": f"Bearer {admin}"},
                                            json={"query": CREATE_CPR_USER, "variables": {"email": "aase@demo.dk"}})
                assert created.json()["data"]["createUser"]["userErrors"] == [], created.text
                for _ in range(100):
                    shown = (await asyncio.to_thread(cli, "mail", "--to", "aase@demo.dk", env=env)).stdout
                    if "/activate?token=" in shown:
                        break
                    await asyncio.sleep(0.1)
                [link] = [line.strip() for line in shown.splitlines() if "/activate?token=" in line]
                assert link.startswith(f"{base}/activate?token=")

                # The link as printed is the one the person follows.
                assert (await client.get(link)).status_code == 200
                token = link.split("token=", 1)[1]
                activated = await client.post("/activate", data={"token": token})
                assert activated.status_code == 200 and "activated" in activated.text
        finally:
            os.killpg(server.pid, signal.SIGTERM)
            try:
                server.wait(timeout=10)
            except subprocess.TimeoutExpired:
                os.killpg(server.pid, signal.SIGKILL)
                server.wait()
        assert f"PUBLIC_BASE_URL not set: links in mails point to {base}" in log.read_text()


def test_served_base_url_is_the_listening_address_with_wildcards_as_loopback() -> None:
    assert served_base_url("127.0.0.1", 8123) == "http://127.0.0.1:8123"
    assert served_base_url("0.0.0.0", 8000) == "http://127.0.0.1:8000"
    assert served_base_url("::", 8000) == "http://127.0.0.1:8000"
    assert served_base_url("::1", 9000) == "http://[::1]:9000"
    assert served_base_url("gateway.local", 80) == "http://gateway.local:80"


def test_mail_says_plainly_when_there_is_no_maildir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                                     capsys: pytest.CaptureFixture[str]) -> None:
    monkeypatch.delenv("SMTP_URL", raising=False)
    monkeypatch.setenv("MAIL_DIR", str(tmp_path / "mail"))
    main(["mail"])
    out = capsys.readouterr().out
    assert out.splitlines()[0] == f"No mail: {tmp_path / 'mail'} does not exist."
    assert "running `mitid-gateway serve`" in out


async def test_mail_says_plainly_when_the_maildir_has_nothing_for_the_address(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    settings = Settings.from_env({}, mail_dir=str(tmp_path / "mail"), smtp_url=None)
    await deliver(settings, build_message(settings, DANISH))
    monkeypatch.delenv("SMTP_URL", raising=False)
    monkeypatch.setenv("MAIL_DIR", str(tmp_path / "mail"))
    main(["mail", "--to", "nobody@demo.dk"])
    assert capsys.readouterr().out.splitlines()[0] == f"No mail to nobody@demo.dk in {tmp_path / 'mail'}."
    main(["mail"])
    shown = capsys.readouterr().out
    assert shown.splitlines()[0] == f"{tmp_path / 'mail'}: 1 mail, newest first"
    assert shown.splitlines()[3:] == ["  Aktivér din bruger", f"  {LONG_LINK}"]


def test_mail_says_plainly_when_smtp_url_is_set_and_hides_its_password(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("SMTP_URL", "smtp://mailer:s3cret@smtp.example.dk:2525")
    monkeypatch.setenv("MAIL_DIR", str(tmp_path / "mail"))
    main(["mail"])
    out = capsys.readouterr().out
    assert out.splitlines() == [
        f"SMTP_URL is set: mail is sent to smtp.example.dk:2525, not written to {tmp_path / 'mail'}. "
        f"Shown below is what {tmp_path / 'mail'} holds from earlier runs.",
        f"No mail: {tmp_path / 'mail'} does not exist.",
    ]
    assert "s3cret" not in out



async def test_mail_shows_a_subjects_escape_sequences_as_text(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """A Maildir may hold mail from elsewhere, whose subject carries terminal escape sequences
    (ours are made one plain line by build_message): shown, not obeyed."""
    from email.message import EmailMessage

    settings = Settings.from_env({}, mail_dir=str(tmp_path / "mail"), smtp_url=None)
    hostile = EmailMessage()
    hostile["To"], hostile["Subject"] = "aase@demo.dk", "Certifikat 'X\x1b]0;pwned\x07' er klar"
    hostile["Date"] = "Wed, 02 Dec 2026 07:00:00 +0000"
    hostile.set_content("Hej")
    await deliver(settings, hostile)
    monkeypatch.delenv("SMTP_URL", raising=False)
    monkeypatch.setenv("MAIL_DIR", str(tmp_path / "mail"))
    main(["mail"])
    shown = capsys.readouterr().out
    assert "\x1b" not in shown and "\x07" not in shown
    assert "  Certifikat 'X\\x1b]0;pwned\\x07' er klar" in shown.splitlines()


async def test_a_mail_that_cannot_be_built_holds_up_no_other_mail(tmp_path: Path) -> None:
    """The outbox is shared by every organisation: one row that cannot become a mail (here a recipient
    with a line break) is retried later, and the mails after it go out now. A subject with a line
    break (a name written into it) goes as one line, with no header of its own."""
    from sqlalchemy import insert, select

    from app.persistence.tables.outbox import outbox

    settings = Settings.from_env({}, database_url=f"sqlite+aiosqlite:///{tmp_path / 'o.db'}",
                                 mail_dir=str(tmp_path / "mail"), smtp_url=None)
    services = build_services(settings)
    await upgrade(services.engine)
    now = dt.datetime.now(dt.UTC)
    row = {"subject": "Hej", "body": "x", "created_at": now, "next_attempt_at": now}
    async with services.engine.begin() as conn:
        await conn.execute(insert(outbox), [
            {**row, "recipient": "a@demo.dk\nBcc: evil@example.com"},
            {**row, "recipient": "b@demo.dk", "subject": "Certifikat 'Løn\nBcc: evil@example.com' er klar"},
        ])
    try:
        assert await deliver_due(settings, services.engine) == 1
        async with services.engine.connect() as conn:
            rows = (await conn.execute(select(outbox.c.recipient, outbox.c.sent_at, outbox.c.last_error)
                                       .order_by(outbox.c.id))).all()
    finally:
        await services.engine.dispose()
    assert rows[0].sent_at is None and rows[0].last_error == "ValueError"
    assert rows[1].sent_at is not None
    [sent] = list((tmp_path / "mail" / "new").iterdir())
    raw = sent.read_bytes().decode()
    assert not any(line.startswith("Bcc:") for line in raw.splitlines())


def test_a_body_line_over_smtps_limit_goes_quoted_printable_and_others_as_written() -> None:
    settings = Settings.from_env({}, smtp_url=None)
    long_line = dataclasses.replace(DANISH, body="Filen " + "x" * 1500 + ".csv er indlæst")
    assert build_message(settings, long_line)["Content-Transfer-Encoding"] == "quoted-printable"
    assert build_message(settings, DANISH)["Content-Transfer-Encoding"] == "8bit"
