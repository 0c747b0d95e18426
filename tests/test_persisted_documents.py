"""Persisted documents (issue 18, part A): Apollo's `extensions.persistedQuery` over POST, GET and
the WebSocket, the APQ store's bounds, registered documents from a manifest (Apollo's format and
`{hash: document}`), a bad manifest refusing start, the allow-list mode, the logs, and Apollo
Client's own persisted-queries link (npm `@apollo/client`, pinned by tests/persisted_queries/
package-lock.json, installed into var/apollo-apq) against the gateway served by uvicorn."""

from __future__ import annotations

import asyncio
import contextlib
import filecmp
import hashlib
import json
import logging
import os
import shutil
import subprocess
import sys
import uuid
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
import pytest_asyncio
from starlette.testclient import TestClient
from starlette.websockets import WebSocketDisconnect

from app.adapters.jwt import sign_token
from app.bootstrap import build_services
from app.config import Settings
from app.domain.common.principal import Role
from app.entrypoints.http.app import create_app
from app.persistence.migrate import upgrade
from app.schema.runtime.persisted import InvalidManifest, PersistedDocuments
from tests.conftest import Env, token_for
from tests.factories import OrgFixture, make_org
from tests.loopback import serve

ROOT = Path(__file__).resolve().parent.parent
PINNED = ROOT / "tests" / "persisted_queries"
INSTALLED = ROOT / "var" / "apollo-apq"
GRAPHQL_RESPONSE = "application/graphql-response+json"
NOT_FOUND = {"message": "PersistedQueryNotFound", "extensions": {"code": "PERSISTED_QUERY_NOT_FOUND"}}

VIEWER = "query PersistedViewer { viewer { roles } }"
TYPENAME = "query PersistedTypename { __typename }"


def sha(text: str) -> str:
    return hashlib.sha256(text.encode()).hexdigest()


def pq(digest: str, version: object = 1) -> dict[str, Any]:
    return {"persistedQuery": {"version": version, "sha256Hash": digest}}


def unique(query: str = "{ __typename }") -> str:
    """A document no other test sent: the APQ store lives as long as the session's app."""
    return f"query Q{uuid.uuid4().hex} {query.removeprefix('query')}" if query.startswith("query") else \
        f"query Q{uuid.uuid4().hex} {query}"


def code_of(response: httpx.Response) -> str:
    return str(response.json()["errors"][0]["extensions"]["code"])


async def post(client: httpx.AsyncClient, body: dict[str, Any], accept: str | None = None,
               token: str | None = None) -> httpx.Response:
    headers = {"Accept": accept} if accept else {}
    if token:
        headers["Authorization"] = f"Bearer {token}"
    return await client.post("/graphql", json=body, headers=headers)


# --- automatic persisted queries (open mode) --------------------------------------------------------


async def test_apq_round_trip_unknown_hash_then_registration_then_the_hash_alone(env: Env, org: OrgFixture) -> None:
    token = token_for(env, org, Role.USER_ADMINISTRATOR)
    query = unique("{ viewer { roles } }")
    ext = pq(sha(query))

    missing = await post(env.client, {"extensions": ext}, token=token)
    assert missing.status_code == 200
    assert missing.json() == {"errors": [NOT_FOUND]}
    assert missing.headers["cache-control"] == "private, no-cache, must-revalidate"

    registered = await post(env.client, {"query": query, "extensions": ext}, token=token)
    assert registered.status_code == 200
    assert registered.json()["data"] == {"viewer": {"roles": ["USER_ADMINISTRATOR"]}}

    hit = await post(env.client, {"extensions": ext, "variables": {}}, token=token)
    assert hit.status_code == 200
    assert hit.json()["data"] == {"viewer": {"roles": ["USER_ADMINISTRATOR"]}}


async def test_an_unknown_hash_is_200_under_graphql_response_json_too(env: Env) -> None:
    """Apollo Server's status: the protocol's 'send the text too', which Apollo Client 3's older
    default and its ports would take as 'persisted queries unsupported' were it a 400."""
    misses = env.services.metrics.errors.labels("PERSISTED_QUERY_NOT_FOUND")
    before = misses._value.get()
    response = await post(env.client, {"extensions": pq(sha(unique()))}, accept=GRAPHQL_RESPONSE)
    assert response.status_code == 200
    assert response.headers["content-type"].startswith(GRAPHQL_RESPONSE)
    assert response.json() == {"errors": [NOT_FOUND]}
    assert misses._value.get() == before + 1  # counted in /metrics
    assert 'gateway_graphql_errors_total{code="PERSISTED_QUERY_NOT_FOUND"}' in (await env.client.get("/metrics")).text


async def test_a_hash_that_is_not_the_texts_sha256_is_400_and_nothing_is_stored(env: Env) -> None:
    query, claimed = unique(), sha(unique())
    response = await post(env.client, {"query": query, "extensions": pq(claimed)})
    assert response.status_code == 400
    assert code_of(response) == "PERSISTED_QUERY_HASH_MISMATCH"
    assert "data" not in response.json()
    for digest in (claimed, sha(query)):
        assert (await post(env.client, {"extensions": pq(digest)})).json() == {"errors": [NOT_FOUND]}


@pytest.mark.parametrize("version", [2, 0, "1", True, 1.5, None])
async def test_a_version_other_than_1_is_400_with_its_own_code(env: Env, version: object) -> None:
    query = unique()
    response = await post(env.client, {"query": query, "extensions": pq(sha(query), version)})
    assert response.status_code == 400
    assert code_of(response) == "PERSISTED_QUERY_VERSION_UNSUPPORTED"
    assert (await post(env.client, {"extensions": pq(sha(query))})).json() == {"errors": [NOT_FOUND]}


@pytest.mark.parametrize("extensions", [
    {"persistedQuery": "abc"},
    {"persistedQuery": [1]},
    {"persistedQuery": {"version": 1}},
    {"persistedQuery": {"version": 1, "sha256Hash": "abc"}},
    {"persistedQuery": {"version": 1, "sha256Hash": "g" * 64}},
    {"persistedQuery": {"version": 1, "sha256Hash": 12345}},
    {"persistedQuery": {"version": 1, "sha256Hash": "a" * 65}},
    [{"persistedQuery": {"version": 1}}],
    "persistedQuery",
])
@pytest.mark.parametrize("accept", [None, GRAPHQL_RESPONSE])
async def test_malformed_extension_values_are_400_bad_request_never_500(
    env: Env, extensions: object, accept: str | None
) -> None:
    response = await post(env.client, {"query": "{ __typename }", "extensions": extensions}, accept=accept)
    assert response.status_code == 400, response.text
    assert code_of(response) == "BAD_REQUEST"
    assert response.json()["errors"][0]["message"]


async def test_get_carries_the_extension_as_a_json_query_parameter(env: Env) -> None:
    query = unique()
    ext = json.dumps(pq(sha(query)))
    # Accept */* (Apollo Client's) and text/html: a hash without text is an API request, not GraphiQL.
    for accept in ("*/*", "text/html,application/json"):
        missing = await env.client.get("/graphql", params={"extensions": ext}, headers={"Accept": accept})
        assert missing.status_code == 200
        assert missing.json() == {"errors": [NOT_FOUND]}
    registered = await env.client.get("/graphql", params={"query": query, "extensions": ext})
    assert registered.json()["data"] == {"__typename": "Query"}
    hit = await env.client.get("/graphql", params={"extensions": ext})
    assert hit.status_code == 200
    assert hit.json()["data"] == {"__typename": "Query"}
    bad = await env.client.get("/graphql", params={"extensions": "{not json"})
    assert bad.status_code == 400
    assert code_of(bad) == "BAD_REQUEST"


async def test_a_stored_mutation_named_by_hash_over_get_is_405(env: Env) -> None:
    mutation = f"mutation M{uuid.uuid4().hex} {{ __typename }}"
    assert (await post(env.client, {"query": mutation, "extensions": pq(sha(mutation))})).json()["data"] == {
        "__typename": "Mutation"}
    response = await env.client.get("/graphql", params={"extensions": json.dumps(pq(sha(mutation)))})
    assert response.status_code == 405


async def test_a_document_that_does_not_parse_is_not_stored(env: Env) -> None:
    broken = f"query Q{uuid.uuid4().hex} {{ __typename"
    response = await post(env.client, {"query": broken, "extensions": pq(sha(broken))})
    assert code_of(response) == "GRAPHQL_PARSE_FAILED"
    assert (await post(env.client, {"extensions": pq(sha(broken))})).json() == {"errors": [NOT_FOUND]}


async def test_a_document_over_the_token_limit_is_not_stored(env: Env) -> None:
    limit = env.settings.max_query_tokens
    big = f"query Q{uuid.uuid4().hex} {{ " + " ".join(f"a{i}: __typename" for i in range(limit // 3 + 1)) + " }"
    response = await post(env.client, {"query": big, "extensions": pq(sha(big))})
    assert code_of(response) == "QUERY_TOO_LARGE"
    assert (await post(env.client, {"extensions": pq(sha(big))})).json() == {"errors": [NOT_FOUND]}


def test_the_apq_store_is_a_bounded_lru() -> None:
    persisted = PersistedDocuments({}, allow_list=False, cache_size=3, max_tokens=5000)
    docs = [f"query Q{i} {{ __typename }}" for i in range(5)]
    for doc in docs[:3]:
        persisted.resolve(doc, pq(sha(doc)))
    assert persisted.resolve(None, pq(sha(docs[0]))) == docs[0]  # used: now the most recent
    for doc in docs[3:]:
        persisted.resolve(doc, pq(sha(doc)))
    assert len(persisted.cache) == 3
    assert persisted.resolve(None, pq(sha(docs[0]))) == docs[0]
    for evicted in docs[1:3]:
        with pytest.raises(Exception, match="PersistedQueryNotFound"):
            persisted.resolve(None, pq(sha(evicted)))


def test_the_default_store_holds_1000_documents() -> None:
    assert Settings.from_env({}).persisted_query_cache_size == 1000
    assert Settings.from_env({"PERSISTED_QUERY_CACHE_SIZE": "25"}).persisted_query_cache_size == 25


# --- manifests and the allow-list mode ----------------------------------------------------------------


def apollo_manifest(*documents: tuple[str, str]) -> dict[str, Any]:
    return {"format": "apollo-persisted-query-manifest", "version": 1, "operations": [
        {"id": sha(body), "name": name, "type": "query", "body": body} for name, body in documents]}


@contextlib.asynccontextmanager
async def app_with(env: Env, tmp_path: Path, manifest: object, **overrides: object) -> AsyncIterator[httpx.AsyncClient]:
    """A second app on the session's database with a manifest and settings of its own."""
    path = tmp_path / f"manifest-{uuid.uuid4().hex}.json"
    path.write_text(json.dumps(manifest))
    settings = Settings.from_env({}, database_url=env.settings.database_url, background_tasks=False,
                                 persisted_documents_file=str(path), **overrides)
    services = build_services(settings)
    try:
        app = create_app(settings, services)
        async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://testserver") as client:
            yield client
    finally:
        await services.engine.dispose()


@pytest.mark.parametrize("shape", ["apollo", "map"])
async def test_both_manifest_formats_register_their_documents(
    env: Env, org: OrgFixture, tmp_path: Path, shape: str
) -> None:
    manifest = apollo_manifest(("PersistedViewer", VIEWER)) if shape == "apollo" else {sha(VIEWER): VIEWER}
    token = token_for(env, org, Role.USER)
    async with app_with(env, tmp_path, manifest) as client:
        response = await post(client, {"extensions": pq(sha(VIEWER))}, token=token)
    assert response.status_code == 200
    assert response.json()["data"] == {"viewer": {"roles": ["USER"]}}


@pytest.mark.parametrize(("manifest", "named"), [
    (apollo_manifest(("Fine", TYPENAME), ("Broken", "query Broken { __typename")), "operations[1] (Broken): does not parse"),
    (apollo_manifest(("Unknown", "query Unknown { noSuchField }")), "operations[0] (Unknown): does not validate"),
    ({"format": "apollo-persisted-query-manifest", "version": 1, "operations": [
        {"id": sha("query Other { __typename }"), "name": "Liar", "type": "query", "body": TYPENAME}]},
     "operations[0] (Liar): the id is not the SHA-256 of its document"),
    ({"not-a-hash": TYPENAME}, "entry 'not-a-hash': the id must be a SHA-256 hash"),
    ({sha(TYPENAME): 42}, "the document must be a string"),
    ({"format": "apollo-persisted-query-manifest", "version": 2, "operations": []}, "`version` 1"),
    ([TYPENAME], "a manifest is a JSON object"),
])
def test_a_bad_manifest_refuses_start_naming_the_entry(tmp_path: Path, manifest: object, named: str) -> None:
    path = tmp_path / "manifest.json"
    path.write_text(json.dumps(manifest))
    settings = Settings.from_env({}, database_url=f"sqlite+aiosqlite:///{tmp_path / 'x.db'}",
                                 persisted_documents_file=str(path))
    with pytest.raises(InvalidManifest) as refused:
        build_services(settings)
    assert named in str(refused.value)
    assert str(path) in str(refused.value)


def test_a_missing_or_unreadable_manifest_refuses_start(tmp_path: Path) -> None:
    (tmp_path / "bad.json").write_text("{not json")
    for name in ("missing.json", "bad.json"):
        settings = Settings.from_env({}, database_url=f"sqlite+aiosqlite:///{tmp_path / 'x.db'}",
                                     persisted_documents_file=str(tmp_path / name))
        with pytest.raises(InvalidManifest, match=name):
            build_services(settings)


def test_allow_list_mode_needs_a_manifest_and_the_mode_must_be_known() -> None:
    with pytest.raises(ValueError, match="PERSISTED_DOCUMENTS_FILE"):
        Settings.from_env({"PERSISTED_DOCUMENTS": "allow-list"})
    with pytest.raises(ValueError, match="PERSISTED_DOCUMENTS must be one of"):
        Settings.from_env({"PERSISTED_DOCUMENTS": "closed"})


async def test_allow_list_mode_runs_registered_documents_only(env: Env, org: OrgFixture, tmp_path: Path) -> None:
    token = token_for(env, org, Role.USER)
    other = unique()
    introspection = "query Schema { __schema { queryType { name } } }"
    async with app_with(env, tmp_path, apollo_manifest(("PersistedViewer", VIEWER)),
                        persisted_documents="allow-list") as client:
        by_hash = await post(client, {"extensions": pq(sha(VIEWER))}, token=token)
        by_text = await post(client, {"query": VIEWER}, token=token)
        by_both = await post(client, {"query": VIEWER, "extensions": pq(sha(VIEWER))}, token=token)
        unregistered = await post(client, {"query": other}, token=token)
        unregistered_strict = await post(client, {"query": other}, accept=GRAPHQL_RESPONSE, token=token)
        registration = await post(client, {"query": other, "extensions": pq(sha(other))}, token=token)
        after_registration = await post(client, {"extensions": pq(sha(other))}, token=token)
        schema = await post(client, {"query": introspection}, token=token)
        graphiql = await client.get("/graphql", headers={"Accept": "text/html"})
    for response in (by_hash, by_text, by_both):
        assert response.status_code == 200
        assert response.json()["data"] == {"viewer": {"roles": ["USER"]}}
    assert (unregistered.status_code, code_of(unregistered)) == (200, "PERSISTED_QUERY_NOT_IN_LIST")
    assert (unregistered_strict.status_code, code_of(unregistered_strict)) == (400, "PERSISTED_QUERY_NOT_IN_LIST")
    assert "data" not in unregistered.json()
    assert code_of(registration) == "PERSISTED_QUERY_NOT_IN_LIST"  # APQ registration is off
    assert after_registration.json() == {"errors": [NOT_FOUND]}
    assert code_of(schema) == "PERSISTED_QUERY_NOT_IN_LIST"  # introspection too, unless registered
    assert graphiql.status_code == 404  # GraphiQL is off: nothing it sends could run


async def test_open_mode_answers_registered_hashes_without_apq_registration(env: Env, tmp_path: Path) -> None:
    async with app_with(env, tmp_path, {sha(TYPENAME): TYPENAME}) as client:
        hit = await post(client, {"extensions": pq(sha(TYPENAME))})
        anything = await post(client, {"query": "{ __typename }"})
    assert hit.json()["data"] == {"__typename": "Query"}
    assert anything.json()["data"] == {"__typename": "Query"}


# --- logs ---------------------------------------------------------------------------------------------


async def test_refusals_log_no_text_no_variables_no_stack_and_nothing_at_error(
    env: Env, caplog: pytest.LogCaptureFixture
) -> None:
    secret = f"Secret{uuid.uuid4().hex}"
    query = f'query {secret} {{ __typename }}'
    caplog.set_level(logging.DEBUG)
    await post(env.client, {"extensions": pq(sha(query)), "variables": {"cpr": secret}})
    await post(env.client, {"query": query, "extensions": pq(sha(secret)), "variables": {"cpr": secret}})
    await post(env.client, {"query": query, "extensions": pq(sha(query), 7)})
    server = [r for r in caplog.records if not r.name.startswith(("httpx", "httpcore"))]
    lines = "\n".join(f"{r.name} {r.levelname} {r.getMessage()} {r.__dict__}" for r in server)
    assert "PERSISTED_QUERY_NOT_FOUND" in lines and "PERSISTED_QUERY_HASH_MISMATCH" in lines  # logged, by code
    assert secret not in lines and sha(query) not in lines
    assert [r for r in server if r.levelno >= logging.WARNING] == []
    assert [r for r in server if r.exc_info] == []


# --- the WebSocket ------------------------------------------------------------------------------------


@pytest.fixture
def ws_client(tmp_path: Path) -> Iterator[tuple[TestClient, str]]:
    """Its own app and SQLite database: the test client runs the app on its own event loop."""
    settings = Settings.from_env({}, database_url=f"sqlite+aiosqlite:///{tmp_path / 'ws.db'}", background_tasks=False)

    async def prepare() -> str:
        services = build_services(settings)
        await upgrade(services.engine)
        org = await make_org(services)
        await services.engine.dispose()
        return sign_token(settings, org.people[Role.USER], org.cvr, [Role.USER])

    token = asyncio.run(prepare())
    with TestClient(create_app(settings)) as client:
        yield client, token


def test_the_websocket_honours_the_extension_and_refuses_with_an_error_message(ws_client: tuple[TestClient, str]) -> None:
    client, token = ws_client
    query, roles = "query WsViewer { viewer { roles } }", {"viewer": {"roles": ["USER"]}}
    with client.websocket_connect("/graphql", subprotocols=["graphql-transport-ws"]) as ws:
        ws.send_json({"type": "connection_init", "payload": {"Authorization": f"Bearer {token}"}})
        assert ws.receive_json()["type"] == "connection_ack"
        ws.send_json({"type": "subscribe", "id": "1", "payload": {"extensions": pq(sha(query))}})
        assert ws.receive_json() == {"id": "1", "type": "error", "payload": [NOT_FOUND]}
        ws.send_json({"type": "subscribe", "id": "2", "payload": {"query": query, "extensions": pq(sha(unique()))}})
        mismatch = ws.receive_json()
        assert (mismatch["type"], mismatch["payload"][0]["extensions"]["code"]) == (
            "error", "PERSISTED_QUERY_HASH_MISMATCH")
        ws.send_json({"type": "subscribe", "id": "3", "payload": {"query": query, "extensions": {"persistedQuery": 1}}})
        assert ws.receive_json()["payload"][0]["extensions"]["code"] == "BAD_REQUEST"
        ws.send_json({"type": "subscribe", "id": "4", "payload": {"query": query, "extensions": pq(sha(query))}})
        registered = ws.receive_json()
        assert (registered["id"], registered["type"], registered["payload"]["data"]) == ("4", "next", roles)
        assert ws.receive_json() == {"id": "4", "type": "complete"}
        # graphql-ws must send a `query` string: "" beside a hash is no text.
        ws.send_json({"type": "subscribe", "id": "5", "payload": {"query": "", "extensions": pq(sha(query))}})
        hit = ws.receive_json()
        assert (hit["id"], hit["type"], hit["payload"]["data"]) == ("5", "next", roles)
        assert ws.receive_json() == {"id": "5", "type": "complete"}
        ws.send_json({"type": "subscribe", "id": "6"})  # no payload at all: Strawberry's 4400, as before
        with pytest.raises(WebSocketDisconnect) as closed:
            ws.receive_json()
        assert closed.value.code == 4400


# --- a real client: Apollo Client's persisted-queries link ------------------------------------------


def _ensure_installed(npm: str) -> None:
    """The pinned packages in var/apollo-apq (`npm ci`, again only when the lock changed)."""
    lock = INSTALLED / "package-lock.json"
    if (INSTALLED / "node_modules" / "@apollo" / "client").is_dir() and lock.exists() and \
            filecmp.cmp(lock, PINNED / "package-lock.json", shallow=False):
        return
    INSTALLED.mkdir(parents=True, exist_ok=True)
    for name in ("package.json", "package-lock.json"):
        shutil.copy(PINNED / name, INSTALLED / name)
    subprocess.run([npm, "ci", "--silent", "--no-audit", "--no-fund"], cwd=INSTALLED, check=True, timeout=300)


@pytest_asyncio.fixture
async def apollo_node() -> str:
    npm, node = shutil.which("npm"), shutil.which("node")
    if npm is None or node is None:
        pytest.skip("npm/node not installed: Apollo Client's persisted-queries link needs them")
    try:
        await asyncio.to_thread(_ensure_installed, npm)
    except (subprocess.SubprocessError, OSError) as exc:
        pytest.skip(f"npm could not install @apollo/client into {INSTALLED}: {exc}")
    return node


@pytest.mark.parametrize("mode", ["post", "get"])
async def test_apollo_clients_persisted_queries_link_gets_data_by_hash_alone_the_second_time(
    env: Env, org: OrgFixture, apollo_node: str, mode: str
) -> None:
    token = token_for(env, org, Role.USER_ADMINISTRATOR)
    name = f"Apollo{mode.title()}{uuid.uuid4().hex[:12]}"  # a document this session's store has not seen
    async with serve(env.client._transport.app) as base:  # type: ignore[attr-defined]
        process = await asyncio.create_subprocess_exec(
            apollo_node, str(PINNED / "apq.cjs"), f"{base}/graphql", token, mode, name,
            env={**os.environ, "NODE_PATH": str(INSTALLED / "node_modules")},
            stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE,
        )
        out, err = await asyncio.wait_for(process.communicate(), 60)
    assert process.returncode == 0, err.decode()
    report = json.loads(out)
    roles = {"viewer": {"__typename": "Viewer", "roles": ["USER_ADMINISTRATOR"]}}
    assert report["first"] == report["second"] == roles
    exchanges = report["exchanges"]
    hashed = "GET" if mode == "get" else "POST"
    # First query: the hash alone (not found), then hash and text; second query: the hash alone.
    assert [(e["method"], "query" in e["sent"], e["status"]) for e in exchanges] == [
        (hashed, False, 200), ("POST", True, 200), (hashed, False, 200)], exchanges
    digests = {e["sent"]["extensions"]["persistedQuery"]["sha256Hash"] for e in exchanges}
    assert digests == {sha(exchanges[1]["sent"]["query"])}


# --- the console's own documents --------------------------------------------------------------------

CONSOLE_MANIFEST = Path(os.environ.get("CONSOLE_ASSETS", ROOT / "var" / "console")) / "persisted-documents.json"
ANONYMITY = 'mutation AskAnonymity { requestAnonymity(input: {reason: "x"}) { userErrors { code } } }'


def test_the_console_build_registers_every_document_it_sends() -> None:
    """`make console-assets` writes graphql-codegen's manifest into the build: every entry must be
    the SHA-256 of its text and validate against today's schema (a stale one would be skipped)."""
    if not CONSOLE_MANIFEST.is_file():
        pytest.skip(f"the console is not built ({CONSOLE_MANIFEST}; `make console-assets`, which needs npm)")
    from app.schema import schema
    from app.schema.runtime.persisted import read_manifest

    documents = read_manifest(str(CONSOLE_MANIFEST), schema._schema)
    assert len(documents) >= 40
    assert any(text.startswith("subscription LiveNotifications") for text in documents.values())


def test_a_stale_console_manifest_is_logged_and_skipped_not_fatal(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    gone = "query Gone { noLongerAField }"
    (tmp_path / "persisted-documents.json").write_text(json.dumps({f"sha256:{sha(TYPENAME)}": TYPENAME,
                                                                   f"sha256:{sha(gone)}": gone}))
    settings = Settings.from_env({}, database_url=f"sqlite+aiosqlite:///{tmp_path / 'x.db'}",
                                 console_assets=str(tmp_path))
    caplog.set_level(logging.WARNING)
    persisted = build_services(settings).persisted
    assert persisted.resolve(None, pq(sha(TYPENAME))) == TYPENAME
    assert sha(gone) not in persisted.registered
    assert any("does not validate" in r.getMessage() and r.levelno == logging.WARNING for r in caplog.records)


async def test_the_console_works_in_allow_list_mode_by_hashes_alone(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """The console in Chromium against a gateway that runs only registered documents: sign-in, the
    dashboard, the users list and a live notification over the WebSocket, every request by hash."""
    from tests.test_console_browser import ARGS, CHROMIUM, Browser, _missing, _server

    if (reason := _missing()) is not None:
        pytest.skip(reason)
    if not CONSOLE_MANIFEST.is_file():
        pytest.skip(f"the console was built without its manifest ({CONSOLE_MANIFEST})")
    from playwright.async_api import async_playwright

    url = f"sqlite+aiosqlite:///{tmp_path / 'allow.db'}"
    settings = Settings.from_env({}, database_url=url, background_tasks=False)
    services = build_services(settings)
    await upgrade(services.engine)
    org = await make_org(services)
    await services.engine.dispose()
    ua = sign_token(settings, org.people[Role.USER_ADMINISTRATOR], org.cvr, [Role.USER_ADMINISTRATOR])
    plain = sign_token(settings, org.people[Role.USER], org.cvr, [Role.USER])
    manifest = tmp_path / "allowed.json"
    manifest.write_text(json.dumps({sha(ANONYMITY): ANONYMITY}))  # the test's own mutation; the console's: its build
    monkeypatch.setenv("PERSISTED_DOCUMENTS", "allow-list")
    monkeypatch.setenv("PERSISTED_DOCUMENTS_FILE", str(manifest))
    sent: list[dict[str, Any]] = []
    refused: list[str] = []
    frames: list[dict[str, Any]] = []

    async def record(response: Any) -> None:
        if response.url.endswith("/graphql") and response.request.method == "POST":
            sent.append(json.loads(response.request.post_data or "{}"))
            with contextlib.suppress(Exception):
                refused.extend(e["extensions"]["code"] for e in (await response.json()).get("errors", []))

    async with _server(url) as origin, async_playwright() as p:
        browser = await p.chromium.launch(executable_path=CHROMIUM, args=ARGS)
        try:
            page = await browser.new_page()
            page.on("response", lambda r: asyncio.ensure_future(record(r)))
            page.on("websocket", lambda ws: ws.on("framereceived", lambda f: frames.append(json.loads(f))))
            b = Browser(page, origin, tmp_path)
            await page.goto(f"{origin}/console")
            await b.sign_in(ua)
            await b.heading("Overblik")
            await page.get_by_role("link", name="Brugere").first.click()
            await b.heading("Brugere")
            async with httpx.AsyncClient() as client:
                asked = await client.post(f"{origin}/graphql", json={"extensions": pq(sha(ANONYMITY))},
                                          headers={"Authorization": f"Bearer {plain}"})
            assert asked.json()["data"]["requestAnonymity"]["userErrors"] == []
            for _ in range(100):
                if any(f.get("type") == "next" for f in frames):
                    break
                await asyncio.sleep(0.1)
        finally:
            await browser.close()
    assert len(sent) >= 4 and all("query" not in body and body["extensions"]["persistedQuery"] for body in sent), sent
    assert refused == []
    assert [f for f in frames if f.get("type") == "error"] == []
    assert any(f.get("type") == "next" and f["payload"]["data"]["notifications"]["kind"] == "ANONYMITY_REQUESTED"
               for f in frames), frames


def test_serve_with_a_bad_manifest_exits_2_naming_the_entry(tmp_path: Path) -> None:
    path = tmp_path / "manifest.json"
    path.write_text(json.dumps(apollo_manifest(("Broken", "query Broken { __typename"))))
    env = {**os.environ, "PERSISTED_DOCUMENTS_FILE": str(path), "DATABASE_URL": f"sqlite+aiosqlite:///{tmp_path / 'x.db'}",
           "PYTHONPATH": str(ROOT)}
    done = subprocess.run([sys.executable, "-m", "app.entrypoints.cli.main", "serve", "--port", "1"], env=env,
                          capture_output=True, text=True, timeout=60, cwd=tmp_path)
    assert done.returncode == 2, done.stderr
    assert "operations[0] (Broken): does not parse" in done.stderr


def test_a_console_rebuilt_while_the_gateway_runs_is_registered_at_its_first_new_hash(tmp_path: Path) -> None:
    manifest = tmp_path / "persisted-documents.json"
    manifest.write_text(json.dumps({f"sha256:{sha(TYPENAME)}": TYPENAME}))
    settings = Settings.from_env({}, database_url=f"sqlite+aiosqlite:///{tmp_path / 'x.db'}",
                                 console_assets=str(tmp_path), persisted_documents="allow-list",
                                 persisted_documents_file=str(manifest))
    persisted = build_services(settings).persisted
    with pytest.raises(Exception, match="PersistedQueryNotFound"):
        persisted.resolve(None, pq(sha(VIEWER)))
    manifest.write_text(json.dumps({f"sha256:{sha(TYPENAME)}": TYPENAME, f"sha256:{sha(VIEWER)}": VIEWER}))
    assert persisted.resolve(None, pq(sha(VIEWER))) == VIEWER


async def test_a_stored_document_runs_with_the_callers_rights_not_the_registrants(env: Env, org: OrgFixture) -> None:
    query = unique("{ activities(first: 5) { totalCount } }")
    admin, plain = token_for(env, org, Role.USER_ADMINISTRATOR), token_for(env, org, Role.USER)
    registered = await post(env.client, {"query": query, "extensions": pq(sha(query))}, token=admin)
    assert "errors" not in registered.json(), registered.text
    hit = await post(env.client, {"extensions": pq(sha(query))}, token=plain)
    assert [e["extensions"]["code"] for e in hit.json()["errors"]] == ["FORBIDDEN"]
    assert not (hit.json().get("data") or {}).get("activities")
