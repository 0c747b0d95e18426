"""WebSocket clients authenticate at connection time (graphql-transport-ws connection_init)."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Iterator

import pytest
from starlette.testclient import TestClient
from starlette.websockets import WebSocketDisconnect

from app.adapters.jwt import sign_token
from app.bootstrap import build_services
from app.config import Settings
from app.domain.common.principal import Role
from app.entrypoints.http.app import create_app
from app.persistence.migrate import upgrade
from tests.factories import make_org

PROTOCOL = ["graphql-transport-ws"]


@pytest.fixture
def ws_app(tmp_path) -> Iterator[tuple[TestClient, str]]:  # type: ignore[no-untyped-def]
    """Its own app and SQLite database: the test client runs the app on its own event loop."""
    settings = Settings.from_env({}, database_url=f"sqlite+aiosqlite:///{tmp_path / 'ws.db'}", background_tasks=False)

    async def prepare() -> tuple[str, list[str]]:
        services = build_services(settings)
        await upgrade(services.engine)
        org = await make_org(services)
        await services.engine.dispose()
        people = [sign_token(settings, org.people[r], org.cvr, [r]) for r in (Role.USER, Role.RIGHTS_ADMINISTRATOR)]
        return sign_token(settings, org.people[Role.USER_ADMINISTRATOR], org.cvr, [Role.USER_ADMINISTRATOR]), people

    token, people = asyncio.run(prepare())
    app = create_app(settings)
    app.state.test_people = people
    with TestClient(app) as client:
        running = client.portal.call(_tasks)
        yield client, token
        client.portal.call(_settle, running)


async def _tasks() -> set[asyncio.Task[object]]:
    return set(asyncio.all_tasks())


async def _settle(running: set[asyncio.Task[object]], timeout: float = 5.0) -> None:
    """Let the server finish what the test started before the client's event loop is torn down.
    The teardown cancels every task left; one cancelled inside an aiosqlite call makes SQLAlchemy
    terminate the connection, and aiosqlite's close can then wait forever on a worker thread that
    already stopped (the loop never closes: a hang, seen about once in eight runs)."""
    me = asyncio.current_task()
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    while loop.time() < deadline and any(
        t is not me and t not in running and not t.done() for t in asyncio.all_tasks()
    ):
        await asyncio.sleep(0.01)


def test_websocket_with_a_valid_token_is_acknowledged_and_can_query(ws_app: tuple[TestClient, str]) -> None:
    client, token = ws_app
    with client.websocket_connect("/graphql", subprotocols=PROTOCOL) as ws:
        ws.send_json({"type": "connection_init", "payload": {"Authorization": f"Bearer {token}"}})
        assert ws.receive_json()["type"] == "connection_ack"
        ws.send_json({"type": "subscribe", "id": "1", "payload": {"query": "{ viewer { roles } }"}})
        message = ws.receive_json()
        assert message["type"] == "next", message
        assert message["payload"]["data"]["viewer"]["roles"] == ["USER_ADMINISTRATOR"]


@pytest.mark.parametrize("payload", [{}, {"Authorization": "Bearer not-a-jwt"}, {"Authorization": "Basic abc"}])
def test_websocket_without_a_valid_token_is_closed(ws_app: tuple[TestClient, str], payload: dict[str, str]) -> None:
    client, _ = ws_app
    with client.websocket_connect("/graphql", subprotocols=PROTOCOL) as ws:
        ws.send_json({"type": "connection_init", "payload": payload})
        with pytest.raises(WebSocketDisconnect) as closed:
            ws.receive_json()
        assert closed.value.code == 4403


def test_websocket_token_of_an_unknown_organisation_is_closed(ws_app: tuple[TestClient, str]) -> None:
    client, _ = ws_app
    token = sign_token(Settings.from_env({}), uuid.uuid4(), "11111111", [Role.USER])
    with client.websocket_connect("/graphql", subprotocols=PROTOCOL) as ws:
        ws.send_json({"type": "connection_init", "payload": {"Authorization": f"Bearer {token}"}})
        with pytest.raises(WebSocketDisconnect) as closed:
            ws.receive_json()
        assert closed.value.code == 4403


def test_a_subscriber_receives_a_notification_created_by_another_request(ws_app: tuple[TestClient, str]) -> None:
    """A user administrator subscribes; a plain user's anonymity request (another HTTP request)
    notifies every user administrator; the subscription delivers it."""
    client, token = ws_app
    person = client.app.state.test_people  # type: ignore[attr-defined]
    with client.websocket_connect("/graphql", subprotocols=PROTOCOL) as ws:
        ws.send_json({"type": "connection_init", "payload": {"Authorization": f"Bearer {token}"}})
        assert ws.receive_json()["type"] == "connection_ack"
        ws.send_json({"type": "subscribe", "id": "n", "payload": {"query": "subscription { notifications { kind title read } }"}})
        for attempt in range(2):
            response = client.post(
                "/graphql",
                json={"query": 'mutation { requestAnonymity(input: {reason: "x"}) { userErrors { code } } }'},
                headers={"Authorization": f"Bearer {person[attempt]}"},
            )
            assert response.json()["data"]["requestAnonymity"]["userErrors"] == []
            message = ws.receive_json()
            assert message["type"] == "next", message
            assert message["payload"]["data"]["notifications"] == {
                "kind": "ANONYMITY_REQUESTED", "title": "A user asks to be anonymous", "read": False,
            }
