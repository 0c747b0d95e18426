"""Webhooks (issue 17) end to end: an organisation administrator registers an endpoint, mutations
write its deliveries in their transaction, the worker signs them (Standard Webhooks) and sends them
to a local receiver that verifies every signature — one that fails and recovers gets each event
once, in order; a rolled-back change sends nothing; repeated failure disables the endpoint and tells
the administrators; private and loopback addresses are refused unless allowed."""

from __future__ import annotations

import asyncio
import dataclasses
import datetime as dt
import ipaddress
import json
import socket
import threading
import time
import uuid
from collections.abc import AsyncIterator, Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import httpx
import pytest
import pytest_asyncio
from sqlalchemy import select
from standardwebhooks import Webhook

from app.config import Settings
from app.domain.common.principal import Role
from app.domain.users.lifecycle import create_user
from app.domain.users.rules import NewUser
from app.domain.webhooks.rules import (
    RetryPolicy,
    backoff,
    new_secret,
    parse_destination,
    refused_address,
)
from app.entrypoints.workers.webhooks import deliver_due
from app.persistence.tables.webhooks import webhook_deliveries, webhook_endpoints
from app.schema.runtime.base import to_global_id
from tests.conftest import Env, OrgFixture, token_for
from tests.test_bulk_import import csv_file, person, run_job

CREATE = """
mutation ($input: CreateWebhookEndpointInput!) {
  createWebhookEndpoint(input: $input) {
    webhookEndpoint { id url description eventTypes status consecutiveFailures }
    signingSecret
    userErrors { field code message }
  }
}
"""
DELETE = """
mutation ($id: ID!) {
  deleteWebhookEndpoint(input: {webhookEndpointId: $id}) { deletedWebhookEndpointId userErrors { field code } }
}
"""
ENDPOINTS = """
query { webhookEndpoints { totalCount edges { node {
  id url status consecutiveFailures disabledAt
  deliveries(first: 50) { edges { node { messageId eventType status attempts lastResponseCode lastError } } }
} } } }
"""
NODE = "query ($id: ID!) { node(id: $id) { ... on WebhookEndpoint { id url } } }"
CREATE_USER = """
mutation ($input: CreateUserInput!) { createUser(input: $input) { user { id } userErrors { field code } } }
"""
NOTIFICATIONS = "query { notifications(first: 20) { edges { node { kind title body } } } }"


# --- a local receiver that verifies signatures -----------------------------------------------------


@dataclasses.dataclass
class Receiver:
    port: int
    secret: str | None = None
    fail_next: int = 0  # answer 500 to this many requests first
    always_fail: bool = False
    delay: float = 0.0  # seconds before answering
    accepted: list[dict[str, Any]] = dataclasses.field(default_factory=list)
    requests: int = 0
    bad_signatures: int = 0

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}/hooks"


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    state = Receiver(port=0)
    lock = threading.Lock()

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:  # noqa: N802 (http.server's name)
            body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
            if state.delay:
                time.sleep(state.delay)
            with lock:
                state.requests += 1
                try:
                    assert state.secret is not None
                    Webhook(state.secret).verify(body, dict(self.headers.items()))
                except Exception:
                    state.bad_signatures += 1
                    self.send_response(401)
                    self.end_headers()
                    return
                if state.always_fail or state.fail_next > 0:
                    state.fail_next = max(0, state.fail_next - 1)
                    self.send_response(500)
                    self.end_headers()
                    self.wfile.write(b"down for maintenance " * 50)
                    return
                state.accepted.append({"id": self.headers["webhook-id"], "body": json.loads(body),
                                       "host": self.headers["Host"]})
            self.send_response(204)
            self.end_headers()

        def log_message(self, *args: Any) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    state.port = server.server_address[1]
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield state
    server.shutdown()
    server.server_close()


@pytest.fixture
def private_allowed(env: Env, monkeypatch: pytest.MonkeyPatch) -> Env:
    """WEBHOOK_ALLOW_PRIVATE_ADDRESSES=1 (the receiver is on loopback) and quick retries."""
    settings = dataclasses.replace(
        env.services.settings, webhook_allow_private_addresses=True, webhook_retry_base_seconds=0.05,
        webhook_max_attempts=20, webhook_disable_after_failures=50,
    )
    monkeypatch.setattr(env.services, "settings", settings)
    return env


@pytest_asyncio.fixture
async def client() -> AsyncIterator[httpx.AsyncClient]:
    async with httpx.AsyncClient(follow_redirects=False, trust_env=False) as c:
        yield c


def vm_is_loopback() -> bool:
    try:
        return socket.gethostbyname("vm") == "127.0.0.1"
    except OSError:
        return False


def oa(env: Env, org: OrgFixture) -> str:
    return token_for(env, org, Role.ORGANISATION_ADMINISTRATOR)


async def register(
    env: Env, org: OrgFixture, receiver: Receiver, types: list[str] | None = None, url: str | None = None,
) -> dict[str, Any]:
    body = await env.gql(CREATE, {"input": {"url": url or receiver.url, "eventTypes": types or ["USER_CREATED"],
                                            "description": "sync"}}, token=oa(env, org))
    assert "errors" not in body, body
    payload = body["data"]["createWebhookEndpoint"]
    assert payload["userErrors"] == [], payload
    receiver.secret = payload["signingSecret"]
    return payload


async def new_user(env: Env, org: OrgFixture, first_name: str = "Karen") -> str:
    body = await env.gql(CREATE_USER, {"input": {
        "firstName": first_name, "lastName": "Hooksen", "email": f"{uuid.uuid4().hex[:10]}@example.dk",
        "dateOfBirth": "1985-04-12",
    }}, token=token_for(env, org, Role.USER_ADMINISTRATOR))
    assert body["data"]["createUser"]["userErrors"] == [], body
    return str(body["data"]["createUser"]["user"]["id"])


async def deliver_until(env: Env, client: httpx.AsyncClient, done: Any, timeout: float = 15.0) -> None:
    """Run delivery rounds (the background worker runs too) until `done()` holds."""
    deadline = asyncio.get_running_loop().time() + timeout
    while not done():
        assert asyncio.get_running_loop().time() < deadline, "deliveries did not arrive in time"
        await deliver_due(env.services, client)
        await asyncio.sleep(0.05)


async def all_delivered(env: Env, org: OrgFixture, count: int, timeout: float = 10.0) -> list[dict[str, Any]]:
    """The endpoint's deliveries once `count` are DELIVERED (a sender records the outcome just after
    the receiver answered)."""
    deadline = asyncio.get_running_loop().time() + timeout
    while True:
        deliveries = [d["node"] for d in (await endpoint_view(env, org))["deliveries"]["edges"]]
        if [d["status"] for d in deliveries].count("DELIVERED") >= count:
            return deliveries
        assert asyncio.get_running_loop().time() < deadline, deliveries
        await asyncio.sleep(0.05)


async def endpoint_view(env: Env, org: OrgFixture) -> dict[str, Any]:
    body = await env.gql(ENDPOINTS, token=oa(env, org))
    assert "errors" not in body, body
    return body["data"]["webhookEndpoints"]["edges"][0]["node"]


# --- end to end --------------------------------------------------------------------------------------


async def test_an_endpoint_receives_each_change_signed_in_order_without_names(
    private_allowed: Env, org: OrgFixture, receiver: Receiver, client: httpx.AsyncClient,
) -> None:
    env = private_allowed
    created = await register(env, org, receiver, ["USER_CREATED", "USER_DELETED"])
    assert created["signingSecret"].startswith("whsec_") and len(created["signingSecret"]) >= 6 + 32
    assert created["webhookEndpoint"]["eventTypes"] == ["USER_CREATED", "USER_DELETED"]
    ids = [await new_user(env, org, "Zebulonia"), await new_user(env, org, "Zebulonia")]
    await deliver_until(env, client, lambda: len(receiver.accepted) >= 2)
    assert receiver.bad_signatures == 0
    bodies = [m["body"] for m in receiver.accepted]
    assert [b["type"] for b in bodies] == ["user.created", "user.created"]
    assert [b["data"]["id"] for b in bodies] == ids
    assert all(b["data"]["organisation"] == org.cvr and b["data"]["kind"] == "CREATED" for b in bodies)
    assert "Zebulonia" not in json.dumps(bodies) and "Hooksen" not in json.dumps(bodies)
    deliveries = await all_delivered(env, org, 2)
    assert [d["status"] for d in deliveries] == ["DELIVERED", "DELIVERED"]
    assert {d["messageId"] for d in deliveries} == {m["id"] for m in receiver.accepted}
    # The secret is shown once: no field reads it back, and it is stored sealed.
    assert created["signingSecret"] not in json.dumps(await env.gql(ENDPOINTS, token=oa(env, org)))
    async with env.engine.connect() as conn:
        sealed = (await conn.execute(select(webhook_endpoints.c.secret_sealed))).scalars().all()
    assert all(created["signingSecret"].encode() not in bytes(s) for s in sealed)


async def test_a_receiver_that_fails_then_recovers_gets_each_event_once_in_order(
    private_allowed: Env, org: OrgFixture, receiver: Receiver, client: httpx.AsyncClient,
) -> None:
    env = private_allowed
    await register(env, org, receiver)
    receiver.fail_next = 3
    ids = [await new_user(env, org) for _ in range(3)]
    await deliver_until(env, client, lambda: len(receiver.accepted) >= 3)
    await asyncio.sleep(0.3)
    await deliver_due(env.services, client)
    assert [m["body"]["data"]["id"] for m in receiver.accepted] == ids  # once each, in order
    assert len({m["id"] for m in receiver.accepted}) == 3
    assert receiver.requests == 6 and receiver.bad_signatures == 0
    deliveries = await all_delivered(env, org, 3)
    assert sorted(d["attempts"] for d in deliveries) == [1, 1, 4]
    assert all(d["status"] == "DELIVERED" and d["lastResponseCode"] == 204 for d in deliveries)


async def test_a_rolled_back_change_sends_nothing(
    private_allowed: Env, org: OrgFixture, receiver: Receiver, client: httpx.AsyncClient,
) -> None:
    env = private_allowed
    await register(env, org, receiver)
    async with env.services.unit_of_work(org.actor(Role.USER_ADMINISTRATOR)) as uow:
        await create_user(uow, NewUser(first_name="Rolled", last_name="Back", email="rolled.back@example.dk",
                                       date_of_birth="1985-04-12"))
        await uow.rollback()  # the history entry and its delivery were written, then rolled back
    refused = await env.gql(CREATE_USER, {"input": {"firstName": "A", "lastName": "B", "email": "not-an-email",
                                                    "dateOfBirth": "1985-04-12"}},
                            token=token_for(env, org, Role.USER_ADMINISTRATOR))
    assert refused["data"]["createUser"]["userErrors"]
    await deliver_due(env.services, client)
    assert receiver.requests == 0
    assert (await endpoint_view(env, org))["deliveries"]["edges"] == []


async def test_repeated_failure_disables_the_endpoint_and_tells_the_administrators(
    private_allowed: Env, org: OrgFixture, receiver: Receiver, client: httpx.AsyncClient,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    env = private_allowed
    monkeypatch.setattr(env.services, "settings", dataclasses.replace(
        env.services.settings, webhook_max_attempts=2, webhook_disable_after_failures=3))
    secret_path = "/hooks?token=receiver-secret-123"  # receivers often put their token in the URL
    await register(env, org, receiver, url=receiver.url + secret_path.removeprefix("/hooks"))
    receiver.always_fail = True
    await new_user(env, org)
    await new_user(env, org)

    async def status() -> str:
        return str((await endpoint_view(env, org))["status"])

    deadline = asyncio.get_running_loop().time() + 15
    while await status() != "DISABLED":
        assert asyncio.get_running_loop().time() < deadline
        await deliver_due(env.services, client)
        await asyncio.sleep(0.05)
    assert receiver.requests == 3
    view = await endpoint_view(env, org)
    assert view["disabledAt"] and view["consecutiveFailures"] == 3
    first, second = sorted((d["node"] for d in view["deliveries"]["edges"]), key=lambda d: d["messageId"])
    assert (first["status"], first["attempts"]) == ("FAILED", 2)  # given up: the next one went
    assert (second["status"], second["attempts"]) == ("PENDING", 1)
    assert first["lastResponseCode"] == 500 and len(first["lastError"]) <= 300
    notes = await env.gql(NOTIFICATIONS, token=oa(env, org))
    kinds = [n["node"]["kind"] for n in notes["data"]["notifications"]["edges"]]
    mails = [m for m in env.mail.messages if "webhook endpoint" in str(m["Subject"]).lower()]
    assert "WEBHOOK_ENDPOINT_DISABLED" in kinds or mails
    told = [n["node"]["body"] for n in notes["data"]["notifications"]["edges"]] + [str(m) for m in mails]
    assert told and not any("receiver-secret-123" in t or "?token=" in t for t in told)  # host and description only
    assert any("127.0.0.1 (sync)" in t for t in told), told
    receiver.always_fail = False
    await new_user(env, org)
    await asyncio.sleep(0.2)
    await deliver_due(env.services, client)
    assert receiver.requests == 3  # a disabled endpoint is sent nothing


async def test_a_deleted_endpoint_is_sent_nothing_more(
    private_allowed: Env, org: OrgFixture, receiver: Receiver, client: httpx.AsyncClient,
) -> None:
    env = private_allowed
    created = await register(env, org, receiver)
    await new_user(env, org)
    body = await env.gql(DELETE, {"id": created["webhookEndpoint"]["id"]}, token=oa(env, org))
    assert body["data"]["deleteWebhookEndpoint"] == {
        "deletedWebhookEndpointId": created["webhookEndpoint"]["id"], "userErrors": []}
    # The session app's own webhook worker (every second) may have sent the entry before the delete:
    # what counts is that nothing goes out after it.
    sent_before = receiver.requests
    assert sent_before <= 1
    await deliver_due(env.services, client)
    await asyncio.sleep(1.2)  # a round of the background worker too
    assert receiver.requests == sent_before
    assert await env.count_rows(webhook_deliveries, webhook_deliveries.c.endpoint_id == uuid.UUID(int=0)) == 0
    again = await env.gql(DELETE, {"id": created["webhookEndpoint"]["id"]}, token=oa(env, org))
    assert again["data"]["deleteWebhookEndpoint"]["userErrors"] == [{"field": ["webhookEndpointId"], "code": "NOT_FOUND"}]


async def test_an_address_allowed_at_registration_is_checked_again_at_delivery(
    private_allowed: Env, org: OrgFixture, receiver: Receiver, client: httpx.AsyncClient,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    env = private_allowed
    await register(env, org, receiver)
    monkeypatch.setattr(env.services, "settings", dataclasses.replace(
        env.services.settings, webhook_allow_private_addresses=False))
    await new_user(env, org)
    await deliver_due(env.services, client)
    assert receiver.requests == 0
    delivery = (await endpoint_view(env, org))["deliveries"]["edges"][0]["node"]
    assert delivery["status"] == "PENDING" and delivery["attempts"] == 1
    assert "HTTPS_REQUIRED" in delivery["lastError"] or "ADDRESS_NOT_ALLOWED" in delivery["lastError"]


# --- registration: validation, server-side request forgery, authorization ----------------------------


@pytest.mark.parametrize("url, code", [
    ("http://example.com/hook", "HTTPS_REQUIRED"),
    ("https://127.0.0.1/hook", "ADDRESS_NOT_ALLOWED"),
    ("https://10.1.2.3/hook", "ADDRESS_NOT_ALLOWED"),
    ("https://169.254.169.254/latest/meta-data", "ADDRESS_NOT_ALLOWED"),
    ("https://[::1]/hook", "ADDRESS_NOT_ALLOWED"),
    ("https://[::ffff:127.0.0.1]/hook", "ADDRESS_NOT_ALLOWED"),
    ("https://localhost/hook", "ADDRESS_NOT_ALLOWED"),
    ("https://vm/hook", "ADDRESS_NOT_ALLOWED"),  # a name /etc/hosts resolves to 127.0.0.1
    ("https://user:pw@example.com/hook", "INVALID_URL"),
    ("not a url", "INVALID_URL"),
])
async def test_private_loopback_and_plain_http_endpoints_are_refused(
    env: Env, org: OrgFixture, url: str, code: str,
) -> None:
    assert env.services.settings.webhook_allow_private_addresses is False
    if "//vm/" in url and not vm_is_loopback():
        pytest.skip("this machine's /etc/hosts does not name vm as 127.0.0.1")
    body = await env.gql(CREATE, {"input": {"url": url, "eventTypes": ["USER_CREATED"]}}, token=oa(env, org))
    assert "errors" not in body, body
    payload = body["data"]["createWebhookEndpoint"]
    assert payload["signingSecret"] is None and payload["webhookEndpoint"] is None
    assert [(e["field"], e["code"]) for e in payload["userErrors"]] == [(["url"], code)]
    assert (await env.gql(ENDPOINTS, token=oa(env, org)))["data"]["webhookEndpoints"]["totalCount"] == 0


async def test_bad_event_types_and_descriptions_are_user_errors(private_allowed: Env, org: OrgFixture) -> None:
    env = private_allowed
    body = await env.gql(CREATE, {"input": {"url": "http://127.0.0.1:9/x", "eventTypes": [],
                                            "description": "two\nlines"}}, token=oa(env, org))
    errors = [(e["field"], e["code"]) for e in body["data"]["createWebhookEndpoint"]["userErrors"]]
    assert errors == [(["eventTypes"], "REQUIRED"), (["description"], "INVALID_CHARACTERS")]
    for hostile in ("line\u2028separator", "csi\x9b[31m"):  # not only C0: what the domain's rule refuses
        body = await env.gql(CREATE, {"input": {"url": "http://127.0.0.1:9/x", "eventTypes": ["USER_CREATED"],
                                                "description": hostile}}, token=oa(env, org))
        errors = [(e["field"], e["code"]) for e in body["data"]["createWebhookEndpoint"]["userErrors"]]
        assert errors == [(["description"], "INVALID_CHARACTERS")], (hostile, body)
    unknown = await env.gql(CREATE, {"input": {"url": "http://127.0.0.1:9/x", "eventTypes": ["USER_EXPLODED"]}},
                            token=oa(env, org))
    assert unknown["errors"][0]["extensions"]["code"] in ("BAD_USER_INPUT", "GRAPHQL_VALIDATION_FAILED")


async def test_only_organisation_administrators_manage_webhooks_and_only_their_own(
    private_allowed: Env, org: OrgFixture, other_org: OrgFixture, receiver: Receiver,
) -> None:
    env = private_allowed
    created = await register(env, org, receiver)
    endpoint_id = created["webhookEndpoint"]["id"]
    for role in (Role.USER_ADMINISTRATOR, Role.RIGHTS_ADMINISTRATOR, Role.USER):
        token = token_for(env, org, role)
        listed = await env.gql(ENDPOINTS, token=token)
        assert listed["errors"][0]["extensions"]["code"] == "FORBIDDEN", (role, listed)
        made = await env.gql(CREATE, {"input": {"url": receiver.url, "eventTypes": ["USER_CREATED"]}}, token=token)
        assert made["errors"][0]["extensions"]["code"] == "FORBIDDEN"
        node = await env.gql(NODE, {"id": endpoint_id}, token=token)
        assert node["data"]["node"] is None
    assert (await env.gql(ENDPOINTS))["errors"][0]["extensions"]["code"] == "UNAUTHENTICATED"
    foreign = oa(env, other_org)
    assert (await env.gql(ENDPOINTS, token=foreign))["data"]["webhookEndpoints"]["totalCount"] == 0
    assert (await env.gql(NODE, {"id": endpoint_id}, token=foreign))["data"]["node"] is None
    deleted = await env.gql(DELETE, {"id": endpoint_id}, token=foreign)
    assert deleted["data"]["deleteWebhookEndpoint"]["userErrors"] == [{"field": ["webhookEndpointId"], "code": "NOT_FOUND"}]
    mine = await env.gql(NODE, {"id": endpoint_id}, token=oa(env, org))
    assert mine["data"]["node"] == {"id": endpoint_id, "url": receiver.url}


# --- rules --------------------------------------------------------------------------------------------


def test_addresses_that_are_not_public_are_refused() -> None:
    for text in ("127.0.0.1", "10.0.0.1", "172.16.5.4", "192.168.1.1", "169.254.169.254", "100.64.0.1", "0.0.0.0",
                 "224.0.0.1", "240.0.0.1", "::1", "fe80::1", "fc00::1", "::ffff:10.0.0.1", "2002:7f00:1::1", "::"):
        assert refused_address(ipaddress.ip_address(text)), text
    for text in ("8.8.8.8", "1.1.1.1", "2a00:1450:4001:80b::200e"):
        assert not refused_address(ipaddress.ip_address(text)), text


def test_destinations_keep_their_port_and_path() -> None:
    d = parse_destination("https://Hooks.Example.com:8443/in?x=1", allow_private=False)
    assert (d.scheme, d.host, d.port, d.target) == ("https", "hooks.example.com", 8443, "/in?x=1")
    assert parse_destination("https://example.com", allow_private=False).target == "/"


def test_secrets_are_standard_webhooks_secrets_and_sign() -> None:
    secret = new_secret()
    assert secret.startswith("whsec_") and secret != new_secret()
    hook = Webhook(secret)
    now = dt.datetime.now(dt.UTC)
    signature = hook.sign("msg_1", now, '{"a":1}')
    headers = {"webhook-id": "msg_1", "webhook-timestamp": str(int(now.timestamp())), "webhook-signature": signature}
    assert hook.verify('{"a":1}', headers) == {"a": 1}


def test_back_off_grows_and_is_capped() -> None:
    policy = RetryPolicy(base_seconds=5, max_seconds=3600)
    steps = [backoff(n, policy).total_seconds() for n in range(1, 15)]
    assert 2.5 <= steps[0] <= 5 and 10 <= steps[2] <= 20 and all(s <= 3600 for s in steps)


async def test_an_import_sends_one_event_per_user_and_one_for_the_job_without_cpr_numbers(
    private_allowed: Env, org: OrgFixture, receiver: Receiver, client: httpx.AsyncClient,
) -> None:
    env = private_allowed
    await register(env, org, receiver, ["USER_CREATED", "BULK_JOB_COMPLETED"])
    rows = [person(i + 700) for i in range(3)]
    job = await run_job(env, org, csv_file(rows))
    assert job["status"] == "SUCCEEDED", job
    await deliver_until(env, client, lambda: len(receiver.accepted) >= 4)
    bodies = [m["body"] for m in receiver.accepted]
    assert sorted(b["type"] for b in bodies) == ["bulk_job.completed"] + ["user.created"] * 3
    assert [b["data"]["id"] for b in bodies if b["type"] == "bulk_job.completed"] == [job["id"]]
    text = json.dumps(bodies)
    for row in rows:
        assert row["CPR-nummer"] not in text and row["CPR-nummer"].replace("-", "") not in text
        assert row["Fornavn"] not in text and row["E-mail"] not in text


async def test_concurrent_senders_deliver_each_event_once_in_order(
    private_allowed: Env, org: OrgFixture, receiver: Receiver, client: httpx.AsyncClient,
) -> None:
    """Several claimers at once (as several processes would: each on its own connection; on
    PostgreSQL FOR UPDATE SKIP LOCKED): one endpoint's events go one at a time, each once."""
    env = private_allowed
    await register(env, org, receiver)
    receiver.fail_next = 2
    ids = [await new_user(env, org) for _ in range(6)]
    deadline = asyncio.get_running_loop().time() + 20
    while len(receiver.accepted) < 6:
        assert asyncio.get_running_loop().time() < deadline
        await asyncio.gather(*(deliver_due(env.services, client) for _ in range(4)))
        await asyncio.sleep(0.02)
    assert [m["body"]["data"]["id"] for m in receiver.accepted] == ids
    assert len({m["id"] for m in receiver.accepted}) == 6 and receiver.requests == 8


async def test_a_named_host_is_resolved_and_the_checked_address_connected_with_the_name_as_host(
    private_allowed: Env, org: OrgFixture, receiver: Receiver, client: httpx.AsyncClient,
) -> None:
    env = private_allowed
    if not vm_is_loopback():
        pytest.skip("this machine's /etc/hosts does not name vm as 127.0.0.1")
    await register(env, org, receiver, url=f"http://vm:{receiver.port}/hooks")  # /etc/hosts: vm is 127.0.0.1
    await new_user(env, org)
    await deliver_until(env, client, lambda: len(receiver.accepted) >= 1)
    assert receiver.accepted[0]["host"] == f"vm:{receiver.port}" and receiver.bad_signatures == 0


def test_production_refuses_private_webhook_addresses() -> None:
    allowed = Settings.from_env({"GATEWAY_ENV": "production", "WEBHOOK_ALLOW_PRIVATE_ADDRESSES": "1"})
    assert allowed.webhook_allow_private_addresses is True
    assert any("WEBHOOK_ALLOW_PRIVATE_ADDRESSES" in p for p in allowed.production_problems())
    default = Settings.from_env({"GATEWAY_ENV": "production"})
    assert default.webhook_allow_private_addresses is False
    assert not any("WEBHOOK" in p for p in default.production_problems())


async def test_a_receiver_slower_than_the_timeout_is_a_failed_attempt_retried_later(
    private_allowed: Env, org: OrgFixture, receiver: Receiver, client: httpx.AsyncClient,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    env = private_allowed
    monkeypatch.setattr(env.services, "settings", dataclasses.replace(
        env.services.settings, webhook_timeout_seconds=0.3, webhook_retry_base_seconds=60))
    await register(env, org, receiver)
    receiver.delay = 1.5
    await new_user(env, org)
    started = time.monotonic()
    deadline = asyncio.get_running_loop().time() + 10
    while True:
        await deliver_due(env.services, client)
        delivery = (await endpoint_view(env, org))["deliveries"]["edges"][0]["node"]
        if delivery["attempts"] >= 1 and delivery["lastError"]:
            break
        assert asyncio.get_running_loop().time() < deadline
        await asyncio.sleep(0.05)
    assert time.monotonic() - started < 5
    assert (delivery["status"], delivery["lastError"], delivery["lastResponseCode"]) == ("PENDING", "timeout", None)


async def test_an_event_of_an_older_transaction_committing_later_is_not_overtaken(
    private_allowed: Env, org: OrgFixture, receiver: Receiver, client: httpx.AsyncClient,
) -> None:
    """PostgreSQL: an endpoint's events go in the change feed's order, also when the transaction of
    the earlier change commits after a later one's."""
    env = private_allowed
    if env.backend != "postgresql":
        pytest.skip("SQLite has one writer at a time: deliveries are in commit order there")
    await register(env, org, receiver)
    async with env.services.unit_of_work(org.actor(Role.USER_ADMINISTRATOR)) as uow:
        early = await create_user(uow, NewUser(first_name="Early", last_name="Bird",
                                               email=f"{uuid.uuid4().hex[:10]}@example.dk", date_of_birth="1985-04-12"))
        late = await new_user(env, org)  # begins after, commits first
        await deliver_due(env.services, client)
        assert receiver.requests == 0  # held back behind the open, older transaction
        await uow.commit()
    await deliver_until(env, client, lambda: len(receiver.accepted) >= 2)
    assert [m["body"]["data"]["id"] for m in receiver.accepted] == [
        str(to_global_id("User", early.user.id)), late]
