"""Fuzzing: schemathesis generates queries and mutations for every root field from the schema and
sends them to the ASGI app with a valid token of each role. Whatever it sends, the gateway answers
without a server error: every error carries a code and none is INTERNAL."""

from __future__ import annotations

import asyncio
import atexit
import tempfile
import uuid
from pathlib import Path
from typing import Any

import pytest
import schemathesis
from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from schemathesis.graphql import nodes

from app.adapters.jwt import sign_token
from app.bootstrap import build_services
from app.config import Settings
from app.domain.common.principal import Role
from app.entrypoints.http.app import create_app
from app.persistence.migrate import upgrade
from tests.conftest import PG_URL, REQUIRE_PG
from tests.factories import make_org

schemathesis.graphql.scalar("JSON", st.just(nodes.Object(fields=[])))
schemathesis.graphql.scalar("Upload", st.just(nodes.Null))

_DIR = Path(tempfile.mkdtemp(prefix="fuzz-"))


def _settings(url: str) -> Settings:
    return Settings.from_env({}, database_url=url, background_tasks=False, upload_dir=str(_DIR / "uploads"),
                             mail_dir=str(_DIR / "mail"), cost_budget_per_minute=10**9)


async def _prepare(settings: Settings) -> dict[Role, str]:
    services = build_services(settings)
    try:
        await upgrade(services.engine)
        org = await make_org(services)
    finally:
        await services.engine.dispose()
    return {role: sign_token(settings, org.people[role], org.cvr, [role]) for role in Role}


async def _postgres() -> str | None:
    """A database of its own on the test PostgreSQL (dropped at exit), or None when unreachable."""
    import asyncpg

    base = PG_URL.replace("postgresql+asyncpg://", "postgresql://")
    try:
        admin = await asyncpg.connect(base, timeout=5)
    except (OSError, asyncpg.PostgresError):
        if REQUIRE_PG:
            raise
        return None
    name = f"fuzz_{uuid.uuid4().hex[:12]}"
    await admin.execute(f'CREATE DATABASE "{name}"')
    await admin.close()

    async def drop() -> None:
        conn = await asyncpg.connect(base, timeout=5)
        await conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        await conn.close()

    atexit.register(lambda: asyncio.run(drop()))
    return PG_URL.rsplit("/", 1)[0] + "/" + name


SQLITE = _settings(f"sqlite+aiosqlite:///{_DIR / 'fuzz.db'}")
SQLITE_TOKENS = asyncio.run(_prepare(SQLITE))
sqlite_schema = schemathesis.graphql.from_asgi("/graphql", create_app(SQLITE))
_pg_url = asyncio.run(_postgres())
PG = _settings(_pg_url) if _pg_url else None
PG_TOKENS = asyncio.run(_prepare(PG)) if PG else {}
pg_schema = schemathesis.graphql.from_asgi("/graphql", create_app(PG)) if PG else sqlite_schema


@schemathesis.check
def every_error_is_coded_and_none_is_internal(ctx: Any, response: Any, case: Any) -> None:
    assert response.status_code < 500, (response.status_code, response.text)
    for error in response.json().get("errors") or []:
        code = (error.get("extensions") or {}).get("code")
        assert code and code != "INTERNAL", error


FUZZ = settings(max_examples=8, deadline=None, suppress_health_check=list(HealthCheck), derandomize=True)


@sqlite_schema.parametrize()
@pytest.mark.parametrize("role", list(Role), ids=[r.value for r in Role])
@FUZZ
def test_no_generated_operation_causes_a_server_error_on_sqlite(case: Any, role: Role) -> None:
    case.call_and_validate(headers={"Authorization": f"Bearer {SQLITE_TOKENS[role]}"},
                           checks=[every_error_is_coded_and_none_is_internal])


@pg_schema.parametrize()
@pytest.mark.parametrize("role", list(Role), ids=[r.value for r in Role])
@FUZZ
def test_no_generated_operation_causes_a_server_error_on_postgresql(case: Any, role: Role) -> None:
    if PG is None:
        pytest.skip("PostgreSQL not reachable")
    case.call_and_validate(headers={"Authorization": f"Bearer {PG_TOKENS[role]}"},
                           checks=[every_error_is_coded_and_none_is_internal])
