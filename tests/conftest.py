"""Fixtures: every API test runs against SQLite and PostgreSQL, through HTTP against the ASGI app,
with a real local SMTP server. Each test makes its own organisation(s), so tests never share data."""

from __future__ import annotations

import asyncio
import contextlib
import contextvars
import json
import os
import socket
import uuid
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass, field
from email import message_from_bytes
from email.message import Message
from pathlib import Path
from typing import Any

import httpx
import pytest
import pytest_asyncio
from aiosmtpd.controller import Controller
from sqlalchemy import event, func, select

from app.adapters.jwt import sign_token
from app.bootstrap import Services, build_services
from app.config import Settings
from app.domain.common.principal import Role
from app.entrypoints.http.app import create_app
from app.persistence.db import RAW_STATEMENT_LISTENERS
from app.persistence.migrate import upgrade
from app.schema.runtime.plans import MISMATCHES, VERIFYING
from tests.factories import OrgFixture, make_org

_COUNTING: contextvars.ContextVar[bool] = contextvars.ContextVar("counting_statements", default=False)
PG_URL = os.environ.get("TEST_POSTGRES_URL", "postgresql+asyncpg://postgres@127.0.0.1:5432/test")
REQUIRE_PG = os.environ.get("REQUIRE_POSTGRES") == "1"


# --- a real SMTP server ---------------------------------------------------------------------------


class MailSink:
    def __init__(self) -> None:
        self.messages: list[Message] = []

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        self.messages.append(message_from_bytes(envelope.content))
        return "250 Message accepted"

    def to(self, address: str) -> list[Message]:
        return [m for m in self.messages if m["To"] == address]

    async def wait_for(self, address: str, count: int = 1, timeout: float = 10.0) -> list[Message]:
        deadline = asyncio.get_running_loop().time() + timeout
        while asyncio.get_running_loop().time() < deadline:
            found = self.to(address)
            if len(found) >= count:
                return found
            await asyncio.sleep(0.05)
        raise AssertionError(f"no mail ({count} expected) to {address} within {timeout}s; got {len(self.to(address))}")


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.fixture(scope="session")
def smtp() -> Iterator[tuple[MailSink, int]]:
    sink = MailSink()
    port = _free_port()
    controller = Controller(sink, hostname="127.0.0.1", port=port)
    controller.start()
    yield sink, port
    controller.stop()


# --- databases ------------------------------------------------------------------------------------


@contextlib.asynccontextmanager
async def _postgres_database() -> AsyncIterator[str]:
    import asyncpg

    base = PG_URL.replace("postgresql+asyncpg://", "postgresql://")
    try:
        admin = await asyncpg.connect(base, timeout=5)
    except (OSError, asyncpg.PostgresError) as exc:
        if REQUIRE_PG:
            raise RuntimeError(f"PostgreSQL is required (REQUIRE_POSTGRES=1) but unreachable: {exc}") from exc
        pytest.skip(f"PostgreSQL not reachable at {PG_URL}: skipped the PostgreSQL half")
    name = f"gw_test_{uuid.uuid4().hex[:12]}"
    await admin.execute(f'CREATE DATABASE "{name}"')
    try:
        yield PG_URL.rsplit("/", 1)[0] + "/" + name
    finally:
        await admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        await admin.close()


@dataclass
class Env:
    backend: str
    settings: Settings
    services: Services
    client: httpx.AsyncClient
    mail: MailSink
    statements: list[str] = field(default_factory=list)
    last_extensions: dict[str, Any] | None = None

    @property
    def engine(self):  # type: ignore[no-untyped-def]
        return self.services.engine

    async def gql(
        self, query: str, variables: dict[str, Any] | None = None, *, token: str | None = None, raw: bool = False
    ) -> dict[str, Any]:
        """data/errors of a response; the response's `extensions` (the query cost) are kept on
        `self.last_extensions` unless `raw` asks for the whole body."""
        headers = {"Authorization": f"Bearer {token}"} if token else {}
        response = await self.client.post("/graphql", json={"query": query, "variables": variables or {}}, headers=headers)
        assert response.status_code == 200, response.text
        body = response.json()
        self.last_extensions = body.get("extensions") if isinstance(body, dict) else None
        if not raw and isinstance(body, dict):
            body.pop("extensions", None)
        return body

    async def upload(
        self, query: str, variables: dict[str, Any], file_variable: str, content: bytes, *, token: str | None,
        file_name: str = "users.csv",
    ) -> httpx.Response:
        """A GraphQL multipart request (the file goes where `file_variable` points in the variables)."""
        operations = json.dumps({"query": query, "variables": variables})
        file_map = json.dumps({"0": [f"variables.{file_variable}"]})
        headers = {"Authorization": f"Bearer {token}"} if token else {}
        return await self.client.post(
            "/graphql", data={"operations": operations, "map": file_map},
            files={"0": (file_name, content, "text/csv")}, headers=headers,
        )

    async def count_rows(self, table: Any, *where: Any) -> int:
        async with self.engine.connect() as conn:
            return int((await conn.execute(select(func.count()).select_from(table).where(*where))).scalar_one())

    @contextlib.contextmanager
    def count_statements(self) -> Iterator[list[str]]:
        """Statements run on behalf of this test's requests only: the app runs in the test's own
        task (ASGI transport), so a context variable tells them from the background jobs'."""
        seen: list[str] = []

        def before(conn: Any, cursor: Any, statement: str, *args: Any) -> None:
            if _COUNTING.get() and not VERIFYING.get():  # not the verification run of a compiled plan
                seen.append(statement)

        def raw(statement: str) -> None:  # the ones app.persistence.db.fetch_rows sends to asyncpg itself
            before(None, None, statement)

        token = _COUNTING.set(True)
        event.listen(self.engine.sync_engine, "before_cursor_execute", before)
        RAW_STATEMENT_LISTENERS.append(raw)
        try:
            yield seen
        finally:
            event.remove(self.engine.sync_engine, "before_cursor_execute", before)
            RAW_STATEMENT_LISTENERS.remove(raw)
            _COUNTING.reset(token)


@pytest_asyncio.fixture(scope="session", params=["sqlite", "postgresql"])
async def env(request: pytest.FixtureRequest, smtp: tuple[MailSink, int], tmp_path_factory: pytest.TempPathFactory) -> AsyncIterator[Env]:
    sink, port = smtp
    async with contextlib.AsyncExitStack() as stack:
        if request.param == "sqlite":
            url = f"sqlite+aiosqlite:///{tmp_path_factory.mktemp('db') / 'test.db'}"
        else:
            url = await stack.enter_async_context(_postgres_database())
        settings = Settings.from_env(
            {},
            database_url=url,
            smtp_url=f"smtp://127.0.0.1:{port}",
            public_base_url="http://testserver",
            outbox_interval_seconds=0.1,
            scheduler_interval_seconds=0.2,
            mail_dir=str(tmp_path_factory.mktemp("mail")),
            upload_dir=str(tmp_path_factory.mktemp("uploads")),
            bulk_poll_seconds=0.1,
            compiled_operations="verify",  # every query of the suite: its plan's answer == the executor's
        )
        services = build_services(settings)
        await upgrade(services.engine)
        app = create_app(settings, services)
        await stack.enter_async_context(app.router.lifespan_context(app))
        client = await stack.enter_async_context(
            httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://testserver")
        )
        yield Env(request.param, settings, services, client, sink)


@pytest.fixture(autouse=True)
def plans_agree() -> Iterator[None]:
    """COMPILED_OPERATIONS=verify (the `env` app): a test fails when a compiled plan's answer to one of
    its queries was not the general executor's (the executor's answer was returned)."""
    MISMATCHES.clear()
    yield
    found, MISMATCHES[:] = list(MISMATCHES), []
    assert not found, f"compiled plan differs from the general executor: {found}"


@pytest_asyncio.fixture
async def org(env: Env) -> OrgFixture:
    """A fresh organisation with one active person in each role."""
    return await make_org(env.services)


@pytest_asyncio.fixture
async def other_org(env: Env) -> OrgFixture:
    """A second, foreign organisation."""
    return await make_org(env.services, name="Fremmed A/S")


def token_for(env: Env, org: OrgFixture, role: Role) -> str:
    return sign_token(env.settings, org.people[role], org.cvr, [role])


__all__ = ["Env", "OrgFixture", "Path", "token_for"]
