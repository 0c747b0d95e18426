"""Fuzzing: schemathesis generates queries and mutations for every root field from the schema and
sends them to the ASGI app with a valid token of each role. Whatever it sends, the gateway answers
without a server error: every error carries a code and none is INTERNAL."""

from __future__ import annotations

import asyncio
import tempfile
from pathlib import Path
from typing import Any

import pytest
import schemathesis
from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from schemathesis.graphql import nodes

from app.auth import sign_token
from app.config import Settings
from app.domain.principal import Role
from app.persistence.migrate import upgrade
from app.web import build_services, create_app
from tests.factories import make_org

schemathesis.graphql.scalar("JSON", st.just(nodes.Object(fields=[])))
schemathesis.graphql.scalar("Upload", st.just(nodes.Null))

_DIR = Path(tempfile.mkdtemp(prefix="fuzz-"))
SETTINGS = Settings.from_env({}, database_url=f"sqlite+aiosqlite:///{_DIR / 'fuzz.db'}", background_tasks=False,
                             upload_dir=str(_DIR / "uploads"), mail_dir=str(_DIR / "mail"),
                             cost_budget_per_minute=10**9)


async def _prepare() -> dict[Role, str]:
    services = build_services(SETTINGS)
    try:
        await upgrade(services.engine)
        org = await make_org(services)
    finally:
        await services.engine.dispose()
    return {role: sign_token(SETTINGS, org.people[role], org.cvr, [role]) for role in Role}


TOKENS = asyncio.run(_prepare())
schema = schemathesis.graphql.from_asgi("/graphql", create_app(SETTINGS))


@schemathesis.check
def every_error_is_coded_and_none_is_internal(ctx: Any, response: Any, case: Any) -> None:
    assert response.status_code < 500, (response.status_code, response.text)
    for error in response.json().get("errors") or []:
        code = (error.get("extensions") or {}).get("code")
        assert code and code != "INTERNAL", error


@schema.parametrize()
@pytest.mark.parametrize("role", list(Role), ids=[r.value for r in Role])
@settings(max_examples=8, deadline=None, suppress_health_check=list(HealthCheck), derandomize=True)
def test_no_generated_operation_causes_a_server_error(case: Any, role: Role) -> None:
    case.call_and_validate(headers={"Authorization": f"Bearer {TOKENS[role]}"},
                           checks=[every_error_is_coded_and_none_is_internal])
