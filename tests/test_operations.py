"""Operations: request ids, structured logs without secrets, Prometheus metrics, and the database
going away and coming back (PostgreSQL through a loopback proxy that the test switches off)."""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
from collections.abc import AsyncIterator

import httpx
import pytest

from app.adapters.jwt import sign_token
from app.bootstrap import build_services
from app.config import Settings
from app.domain.common.principal import Role
from app.entrypoints.http.app import create_app
from app.observability import JsonFormatter
from app.persistence.migrate import upgrade
from tests.conftest import Env, _postgres_database, token_for
from tests.factories import OrgFixture, make_org

CREATE = """
mutation($input: CreateUserInput!) { createUser(input: $input) { user { id cprMasked } userErrors { code } } }
"""


async def test_every_response_carries_a_request_id_and_keeps_a_given_one(env: Env, org: OrgFixture) -> None:
    token = token_for(env, org, Role.USER)
    fresh = await env.client.post("/graphql", json={"query": "{ viewer { roles } }"},
                                  headers={"Authorization": f"Bearer {token}"})
    assert len(fresh.headers["x-request-id"]) == 32
    given = await env.client.get("/healthz", headers={"X-Request-ID": "trace-123"})
    assert given.headers["x-request-id"] == "trace-123"


async def test_structured_logs_name_the_operation_and_principal_but_never_the_cpr(
    env: Env, org: OrgFixture, caplog: pytest.LogCaptureFixture
) -> None:
    token = token_for(env, org, Role.USER_ADMINISTRATOR)
    with caplog.at_level(logging.INFO, logger="app.access"):
        body = await env.gql(CREATE, {"input": {"firstName": "Log", "lastName": "Linje", "email": "log@example.dk",
                                                "cpr": "170385-4417"}}, token=token)
    assert body["data"]["createUser"]["userErrors"] == []
    lines = [JsonFormatter().format(r) for r in caplog.records if r.name == "app.access"]
    entry = json.loads(lines[-1])
    assert entry["operation"] == "mutation:createUser"
    assert entry["principal"] == str(org.people[Role.USER_ADMINISTRATOR])
    assert entry["organisation"] == org.cvr
    assert entry["codes"] == [] and entry["durationMs"] >= 0
    assert "1703854417" not in "".join(lines) and "170385-4417" not in "".join(lines)


async def test_metrics_count_operations_errors_and_queues(env: Env, org: OrgFixture) -> None:
    token = token_for(env, org, Role.USER)
    await env.gql("query Mine { viewer { roles } }", token=token)
    await env.gql("{ users { totalCount } }", token=token)  # FORBIDDEN for a plain user
    text = (await env.client.get("/metrics")).text
    # Labelled by the root field (bounded by the schema), not the client-chosen operation name
    assert 'gateway_graphql_requests_total{operation="query:viewer",outcome="ok"}' in text
    assert "Mine" not in text
    assert 'gateway_graphql_errors_total{code="FORBIDDEN"}' in text
    assert 'gateway_graphql_seconds_bucket{le="0.005",operation="query:viewer"}' in text
    for gauge in ("gateway_outbox_pending", "gateway_bulk_jobs_waiting", "gateway_db_pool_checked_out"):
        assert gauge in text


class Proxy:
    """A loopback TCP proxy to PostgreSQL that can cut every connection and refuse new ones."""

    def __init__(self, target_port: int = 5432) -> None:
        self.target_port = target_port
        self.server: asyncio.base_events.Server | None = None
        self.port = 0
        self.writers: set[asyncio.StreamWriter] = set()

    async def start(self) -> None:
        self.server = await asyncio.start_server(self._serve, "127.0.0.1", self.port)
        self.port = self.server.sockets[0].getsockname()[1]

    async def stop(self) -> None:
        assert self.server is not None
        self.server.close()
        for w in list(self.writers):
            w.close()
        await self.server.wait_closed()
        self.server = None

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        up_reader, up_writer = await asyncio.open_connection("127.0.0.1", self.target_port)
        self.writers |= {writer, up_writer}

        async def pipe(src: asyncio.StreamReader, dst: asyncio.StreamWriter) -> None:
            with contextlib.suppress(Exception):
                while data := await src.read(65536):
                    dst.write(data)
                    await dst.drain()
            dst.close()

        await asyncio.gather(pipe(reader, up_writer), pipe(up_reader, writer))


@contextlib.asynccontextmanager
async def app_through(proxy: Proxy, database: str) -> AsyncIterator[tuple[httpx.AsyncClient, str]]:
    url = database.replace("127.0.0.1:5432", f"127.0.0.1:{proxy.port}")
    settings = Settings.from_env({}, database_url=url, background_tasks=False)
    services = build_services(settings)
    await upgrade(services.engine)
    org = await make_org(services)
    token = sign_token(settings, org.people[Role.USER], org.cvr, [Role.USER])
    app = create_app(settings, services)
    async with app.router.lifespan_context(app), httpx.AsyncClient(
        transport=httpx.ASGITransport(app=app), base_url="http://testserver"
    ) as client:
        yield client, token


async def test_the_database_going_away_gives_503_and_service_unavailable_and_the_gateway_recovers(env: Env) -> None:
    if env.backend != "postgresql":
        pytest.skip("the database is taken away through a TCP proxy: PostgreSQL only")
    proxy = Proxy()
    await proxy.start()
    async with _postgres_database() as database, app_through(proxy, database) as (client, token):
        auth = {"Authorization": f"Bearer {token}"}
        query = {"query": "{ organisation { cvr } }"}
        assert (await client.get("/healthz")).status_code == 200
        assert "errors" not in (await client.post("/graphql", json=query, headers=auth)).json()

        await proxy.stop()
        assert (await client.get("/healthz")).status_code == 503
        down = await client.post("/graphql", json=query, headers=auth)
        assert down.status_code == 200
        assert down.json()["errors"][0]["extensions"]["code"] == "SERVICE_UNAVAILABLE"

        await proxy.start()  # same port: the database is back
        for _ in range(50):
            if (await client.get("/healthz")).status_code == 200:
                break
            await asyncio.sleep(0.1)
        assert (await client.get("/healthz")).status_code == 200
        back = (await client.post("/graphql", json=query, headers=auth)).json()
        assert "errors" not in back, back
    if proxy.server is not None:
        await proxy.stop()
