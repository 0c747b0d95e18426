"""The policy below the root holds on the WebSocket too: a query sent over graphql-transport-ws
meets the same gates as over HTTP (the subscription runs with the same executor)."""

from __future__ import annotations

from starlette.testclient import TestClient

from tests.test_websocket_auth import PROTOCOL, ws_app  # noqa: F401 - the fixture

HISTORY = "{ users(first: 50) { edges { node { uuid history(first: 1) { totalCount } } } } }"


def test_a_rights_administrator_cannot_read_others_history_over_the_websocket(
    ws_app: tuple[TestClient, str],  # noqa: F811
) -> None:
    client, _ = ws_app
    _user, rights_admin = client.app.state.test_people
    with client.websocket_connect("/graphql", subprotocols=PROTOCOL) as ws:
        ws.send_json({"type": "connection_init", "payload": {"Authorization": f"Bearer {rights_admin}"}})
        assert ws.receive_json()["type"] == "connection_ack"
        ws.send_json({"type": "subscribe", "id": "1", "payload": {"query": HISTORY}})
        message = ws.receive_json()
        assert message["type"] == "next", message
        errors = message["payload"].get("errors") or []
        edges = message["payload"]["data"]["users"]["edges"]
        assert len(edges) >= 4
        refused = [e["path"] for e in errors if e["extensions"]["code"] == "FORBIDDEN"]
        assert len(refused) == len(edges) - 1 and all(p[-1] == "history" for p in refused), errors
        assert sum(e["node"]["history"] is not None for e in edges) == 1  # their own
