"""GraphiQL in a real headless Chromium (Debian's package, driven by playwright), with the network
off: the page, its scripts, styles and fonts come from the gateway itself, under its
Content-Security-Policy, a query with a bearer token returns data, a subscription's WebSocket is
accepted, and no token is left in the browser's storage.

The browser reaches nothing but the gateway: every request to another host is aborted (and
recorded: the test fails on any), and Chromium resolves no other host name. GraphiQL's files are
the pinned npm packages that `make graphiql-assets` installs into var/graphiql (`make test` and
.ci/run do it); without them, Chromium or playwright the test is skipped, saying which."""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import shutil
import signal
import subprocess
import sys
from pathlib import Path
from urllib.parse import urlsplit

import httpx
import pytest

from app.adapters.jwt import sign_token
from app.bootstrap import build_services
from app.config import Settings
from app.domain.common.principal import Role
from app.entrypoints.http.graphiql import CSP, GraphiQLPage
from app.persistence.migrate import upgrade
from tests.conftest import _free_port
from tests.factories import make_org

ROOT = Path(__file__).resolve().parent.parent
CHROMIUM = os.environ.get("CHROMIUM", shutil.which("chromium") or "/usr/bin/chromium")
ASSETS = Path(os.environ.get("GRAPHIQL_ASSETS", ROOT / "var" / "graphiql" / "node_modules"))
# No other host resolves (the request interception below is the first wall, this the second).
ARGS = ["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run", "--disable-background-networking",
        "--disable-component-update", "--disable-sync", "--host-resolver-rules=MAP * ~NOTFOUND, EXCLUDE 127.0.0.1"]
# Recorded in the page before any of its own scripts runs (an init script is not subject to the CSP).
RECORD_VIOLATIONS = """
    window.__cspViolations = [];
    document.addEventListener('securitypolicyviolation', e => window.__cspViolations.push(
        {directive: e.violatedDirective, blocked: e.blockedURI, sample: e.sample}));
"""
SET_EDITORS = """(args) => {
    const query = document.querySelector('.graphiql-query-editor .CodeMirror');
    query.CodeMirror.setValue(args.query);
    const headers = document.querySelector('.graphiql-editor-tool .graphiql-editor:not(.hidden) .CodeMirror');
    headers.CodeMirror.setValue(JSON.stringify({Authorization: 'Bearer ' + args.token}));
}"""
RESULT = "() => document.querySelector('.result-window').innerText"
STORAGE = "() => JSON.stringify(Object.fromEntries(Object.entries(localStorage)))"


def _missing() -> str | None:
    if not Path(CHROMIUM).exists():
        return f"Chromium is not installed ({CHROMIUM}); .ci/run installs Debian's chromium package"
    try:
        import playwright  # noqa: F401
    except ImportError:
        return "the playwright package is not installed (pip install -e '.[test]')"
    if GraphiQLPage(ASSETS).manifest() is None:
        return f"GraphiQL's files are not installed in {ASSETS} (`make graphiql-assets`, which needs npm)"
    return None


async def test_graphiql_works_offline_under_its_csp_and_keeps_no_token(tmp_path: Path) -> None:
    if (reason := _missing()) is not None:
        pytest.skip(reason)
    from playwright.async_api import ConsoleMessage, Route, WebSocket, async_playwright

    settings = Settings.from_env({}, database_url=f"sqlite+aiosqlite:///{tmp_path / 'ui.db'}", background_tasks=False)
    services = build_services(settings)
    await upgrade(services.engine)
    org = await make_org(services)
    await services.engine.dispose()
    token = sign_token(settings, org.people[Role.USER_ADMINISTRATOR], org.cvr, [Role.USER_ADMINISTRATOR])
    port = _free_port()
    origin = f"http://127.0.0.1:{port}"
    env = {**os.environ, "DATABASE_URL": settings.database_url, "BACKGROUND_TASKS": "0", "GRAPHIQL": "1",
           "GRAPHIQL_ASSETS": str(ASSETS)}
    server = subprocess.Popen(
        [sys.executable, "-m", "uvicorn", "app.entrypoints.http.app:create_app", "--factory", "--host", "127.0.0.1", "--port",
         str(port), "--log-level", "warning"], cwd=ROOT, env=env, start_new_session=True,
    )
    elsewhere: list[str] = []  # requests the browser tried to send to another host
    local: list[str] = []
    console_errors: list[str] = []
    page_errors: list[str] = []
    sockets: list[str] = []
    acks: list[str] = []
    try:
        async with httpx.AsyncClient() as client:
            for _ in range(100):
                with contextlib.suppress(httpx.HTTPError):
                    if (await client.get(f"{origin}/healthz")).status_code == 200:
                        break
                await asyncio.sleep(0.1)

        async def network_off(route: Route) -> None:
            parts = urlsplit(route.request.url)
            if parts.scheme in ("http", "https") and parts.netloc == f"127.0.0.1:{port}":
                local.append(route.request.url)
                await route.continue_()
            elif parts.scheme == "data":
                await route.continue_()
            else:
                elsewhere.append(route.request.url)
                await route.abort("internetdisconnected")

        def on_console(message: ConsoleMessage) -> None:
            if message.type in ("error", "warning"):
                console_errors.append(message.text)

        def on_websocket(ws: WebSocket) -> None:
            sockets.append(ws.url)
            ws.on("framereceived", lambda payload: acks.append(str(payload)) if "connection_ack" in str(payload)
                  else None)

        async with async_playwright() as p:
            browser = await p.chromium.launch(executable_path=CHROMIUM, args=ARGS)
            context = await browser.new_context(service_workers="block")
            await context.route("**/*", network_off)
            await context.add_init_script(RECORD_VIOLATIONS)
            page = await context.new_page()
            page.on("console", on_console)
            page.on("pageerror", lambda error: page_errors.append(str(error)))
            page.on("websocket", on_websocket)

            response = await page.goto(f"{origin}/graphql")
            assert response is not None and response.status == 200
            assert response.headers["content-security-policy"] == CSP
            await page.wait_for_selector(".graphiql-query-editor .CodeMirror", timeout=20_000)

            # What an older GraphiQL page (Strawberry's persisted headers) may have left: gone on load.
            await page.evaluate(
                """token => {
                    localStorage.setItem('graphiql:headers', JSON.stringify({Authorization: 'Bearer ' + token}));
                    localStorage.setItem('graphiql:shouldPersistHeaders', 'true');
                    localStorage.setItem('graphiql:tabState', JSON.stringify({activeTabIndex: 0, tabs: [{id: 'x',
                        hash: null, title: 'old', query: '{ viewer { roles } }', variables: null,
                        headers: JSON.stringify({Authorization: 'Bearer ' + token}), operationName: null,
                        response: null}]}));
                }""",
                token,
            )
            await page.reload()
            await page.wait_for_selector(".graphiql-query-editor .CodeMirror", timeout=20_000)
            assert token not in await page.evaluate(STORAGE)

            await page.get_by_role("button", name="Headers").click()
            await page.evaluate(SET_EDITORS, {"query": "{ viewer { roles } organisation { cvr name } }",
                                              "token": token})
            await page.get_by_role("button", name="Execute query (Ctrl-Enter)").click()
            await page.wait_for_function(
                "cvr => document.querySelector('.result-window').innerText.includes(cvr)", arg=org.cvr,
                timeout=20_000,
            )
            result = await page.evaluate(RESULT)

            # A subscription goes over graphql-transport-ws to the same origin, the headers editor's
            # token in connection_init: the gateway acknowledges it (no event is awaited).
            await page.evaluate(SET_EDITORS, {"query": "subscription Watch { notifications { id } }", "token": token})
            await page.wait_for_function(
                "() => document.querySelector('.graphiql-query-editor .CodeMirror').CodeMirror.documentAST"
                "?.definitions[0]?.operation === 'subscription'"
            )  # GraphiQL parses the editor's text 100 ms after a change; its fetcher picks HTTP or WS from that
            await page.get_by_role("button", name="Execute query (Ctrl-Enter)").click()
            for _ in range(100):
                if acks:
                    break
                await page.wait_for_timeout(100)
            await page.get_by_role("button", name="Stop query (Ctrl-Enter)").click()

            # The parts that inject styles or render the schema: the settings dialog (a <style>
            # element, hence style-src-elem's 'unsafe-inline'), the documentation, the explorer.
            await page.get_by_role("button", name="Open settings dialog").click()
            await page.wait_for_selector(".graphiql-dialog", timeout=10_000)
            await page.keyboard.press("Escape")
            await page.get_by_role("button", name="Show Documentation Explorer").click()
            await page.wait_for_selector(".graphiql-doc-explorer", timeout=10_000)
            await page.wait_for_timeout(700)  # GraphiQL stores its tabs 500 ms after a change
            stored = json.loads(await page.evaluate(STORAGE))
            violations = await page.evaluate("() => window.__cspViolations")
            await page.screenshot(path=str(tmp_path / "graphiql.png"))
            # After a reload the headers editor is empty: the token lived in the page only.
            await page.reload()
            await page.wait_for_selector(".graphiql-query-editor .CodeMirror", timeout=20_000)
            headers_after_reload = await page.evaluate(
                "() => [...document.querySelectorAll('.graphiql-editor-tool .CodeMirror')]"
                ".map(e => e.CodeMirror.getValue()).join('|')"
            )
            stored_after_reload = await page.evaluate(STORAGE)
            await browser.close()

        assert elsewhere == [], f"the page tried to reach other hosts: {elsewhere}"
        assert any("/graphiql/assets/graphiql@" in url for url in local)
        assert '"USER_ADMINISTRATOR"' in result and org.name in result
        assert violations == [], f"Content-Security-Policy violations: {violations}"
        assert console_errors == [], console_errors  # a CSP refusal is also reported there
        assert page_errors == [], page_errors
        assert sockets and all(urlsplit(url).netloc == f"127.0.0.1:{port}" for url in sockets), sockets
        assert acks, "the subscription's WebSocket was not acknowledged"
        # GraphiQL did keep its state (the history holds the query) — with no header in it.
        assert "organisation { cvr name }" in stored.get("graphiql:queries", ""), stored
        assert "graphiql:headers" not in stored and "graphiql:shouldPersistHeaders" not in stored
        assert token not in json.dumps(stored) and "Bearer" not in json.dumps(stored), stored
        assert token not in headers_after_reload and token not in stored_after_reload
    finally:
        os.killpg(server.pid, signal.SIGTERM)
        server.wait(timeout=10)
