"""Two gateway processes over one PostgreSQL behave as one: a subscriber on instance A hears of a
notification created on instance B (LISTEN/NOTIFY), and mail queued through either is delivered
exactly once although both run outbox senders (SELECT … FOR UPDATE SKIP LOCKED)."""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import signal
import subprocess
import sys
from collections.abc import AsyncIterator
from pathlib import Path

import httpx
import pytest
import websockets

from app.adapters.jwt import sign_token
from app.bootstrap import build_services
from app.config import Settings
from app.domain.common.principal import Role
from app.persistence.migrate import upgrade
from tests.conftest import Env, MailSink, _free_port, _postgres_database
from tests.factories import make_org

ROOT = Path(__file__).resolve().parent.parent


@contextlib.asynccontextmanager
async def gateway(database: str, smtp_port: int, tmp: Path) -> AsyncIterator[str]:
    port = _free_port()
    env = {
        **os.environ, "DATABASE_URL": database, "SMTP_URL": f"smtp://127.0.0.1:{smtp_port}",
        "OUTBOX_INTERVAL_SECONDS": "0.1", "BACKGROUND_TASKS": "1", "UPLOAD_DIR": str(tmp / f"up{port}"),
        "PUBLIC_BASE_URL": f"http://127.0.0.1:{port}",
    }
    process = subprocess.Popen(
        [sys.executable, "-m", "uvicorn", "app.entrypoints.http.app:create_app", "--factory", "--host", "127.0.0.1",
         "--port", str(port), "--log-level", "warning"],
        cwd=ROOT, env=env, start_new_session=True,
    )
    base = f"http://127.0.0.1:{port}"
    try:
        async with httpx.AsyncClient() as client:
            for _ in range(100):
                with contextlib.suppress(httpx.HTTPError):
                    if (await client.get(f"{base}/healthz")).status_code == 200:
                        break
                await asyncio.sleep(0.1)
            else:
                raise AssertionError("gateway did not start")
        yield base
    finally:
        os.killpg(process.pid, signal.SIGTERM)
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)


async def test_two_instances_share_notifications_and_deliver_mail_exactly_once(
    env: Env, smtp: tuple[MailSink, int], tmp_path: Path
) -> None:
    if env.backend != "postgresql":
        pytest.skip("scale-out runs on PostgreSQL")
    sink, smtp_port = smtp
    async with _postgres_database() as database:
        settings = Settings.from_env({}, database_url=database)
        services = build_services(settings)
        await upgrade(services.engine)
        org = await make_org(services)
        await services.engine.dispose()
        ua = sign_token(settings, org.people[Role.USER_ADMINISTRATOR], org.cvr, [Role.USER_ADMINISTRATOR])
        user = sign_token(settings, org.people[Role.USER], org.cvr, [Role.USER])

        async with gateway(database, smtp_port, tmp_path) as a, gateway(database, smtp_port, tmp_path) as b:
            ws_url = a.replace("http://", "ws://") + "/graphql"
            async with websockets.connect(ws_url, subprotocols=["graphql-transport-ws"]) as ws:
                await ws.send(json.dumps({"type": "connection_init", "payload": {"Authorization": f"Bearer {ua}"}}))
                assert json.loads(await ws.recv())["type"] == "connection_ack"
                await ws.send(json.dumps({"type": "subscribe", "id": "1",
                                          "payload": {"query": "subscription { notifications { kind title } }"}}))
                await asyncio.sleep(0.3)  # the subscription is registered
                async with httpx.AsyncClient() as client:
                    created = await client.post(
                        f"{b}/graphql", headers={"Authorization": f"Bearer {user}"},
                        json={"query": 'mutation { requestAnonymity(input: {reason: "b"}) { userErrors { code } } }'},
                    )
                    assert created.json()["data"]["requestAnonymity"]["userErrors"] == []
                    message = json.loads(await asyncio.wait_for(ws.recv(), 10))
                    assert message["type"] == "next", message
                    assert message["payload"]["data"]["notifications"]["kind"] == "ANONYMITY_REQUESTED"

                    # Mail queued through both instances; both deliver; none twice.
                    addresses = [f"scale{i}.{org.cvr}@example.dk" for i in range(12)]
                    for i, address in enumerate(addresses):
                        response = await client.post(
                            f"{(a, b)[i % 2]}/graphql", headers={"Authorization": f"Bearer {ua}"},
                            json={"query": """mutation($e: String!, $c: String!) { createUser(input: {firstName: "S",
                                  lastName: "Scale", email: $e, cpr: $c}) { userErrors { code } } }""",
                                  "variables": {"e": address, "c": f"{10 + i:02d}0290-{1100 + i}"}},
                        )
                        assert response.json()["data"]["createUser"]["userErrors"] == [], response.text
            for address in addresses:
                await sink.wait_for(address, 1, timeout=15)
            await asyncio.sleep(1.0)  # give a duplicate every chance to arrive
            assert {address: len(sink.to(address)) for address in addresses} == {address: 1 for address in addresses}
