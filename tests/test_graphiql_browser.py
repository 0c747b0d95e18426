"""GraphiQL in a real headless Chromium (Debian's package, driven by playwright): the page loads
and a query with a bearer token returns data.

GraphiQL's page loads React and GraphiQL from unpkg.com; the test serves those same files from the
npm registry's packages (installed by .ci/run into var/graphiql-assets) so it needs no internet."""

from __future__ import annotations

import asyncio
import contextlib
import os
import re
import shutil
import signal
import subprocess
import sys
from pathlib import Path

import httpx
import pytest

from app.adapters.jwt import sign_token
from app.config import Settings
from app.domain.common.principal import Role
from app.bootstrap import build_services
from app.persistence.migrate import upgrade
from tests.conftest import _free_port
from tests.factories import make_org

ROOT = Path(__file__).resolve().parent.parent
CHROMIUM = os.environ.get("CHROMIUM", shutil.which("chromium") or "/usr/bin/chromium")
ASSETS = Path(os.environ.get("GRAPHIQL_ASSETS", ROOT / "var" / "graphiql-assets" / "node_modules"))
ARGS = ["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run", "--disable-background-networking",
        "--disable-component-update", "--disable-sync"]


def _missing() -> str | None:
    if not Path(CHROMIUM).exists():
        return f"Chromium is not installed ({CHROMIUM}); .ci/run installs Debian's chromium package"
    try:
        import playwright  # noqa: F401
    except ImportError:
        return "the playwright package is not installed (pip install -e '.[test]')"
    if not (ASSETS / "graphiql").exists():
        return f"GraphiQL's assets are not installed in {ASSETS} (.ci/run installs them with npm)"
    return None


async def test_graphiql_loads_in_chromium_and_runs_a_query_with_a_bearer_token(tmp_path: Path) -> None:
    if (reason := _missing()) is not None:
        pytest.skip(reason)
    from playwright.async_api import Route, async_playwright

    settings = Settings.from_env({}, database_url=f"sqlite+aiosqlite:///{tmp_path / 'ui.db'}", background_tasks=False)
    services = build_services(settings)
    await upgrade(services.engine)
    org = await make_org(services)
    await services.engine.dispose()
    token = sign_token(settings, org.people[Role.USER_ADMINISTRATOR], org.cvr, [Role.USER_ADMINISTRATOR])
    port = _free_port()
    env = {**os.environ, "DATABASE_URL": settings.database_url, "BACKGROUND_TASKS": "0"}
    server = subprocess.Popen(
        [sys.executable, "-m", "uvicorn", "app.entrypoints.http.app:create_app", "--factory", "--host", "127.0.0.1", "--port",
         str(port), "--log-level", "warning"], cwd=ROOT, env=env, start_new_session=True,
    )
    try:
        async with httpx.AsyncClient() as client:
            for _ in range(100):
                with contextlib.suppress(httpx.HTTPError):
                    if (await client.get(f"http://127.0.0.1:{port}/healthz")).status_code == 200:
                        break
                await asyncio.sleep(0.1)

        async def unpkg(route: Route) -> None:
            match = re.match(r"https://unpkg\.com/((?:@[^/]+/)?[^@/]+)@[^/]+/(.*)", route.request.url)
            path = ASSETS / match.group(1) / match.group(2) if match else None
            if path is None or not path.exists():
                await route.abort()
                return
            await route.fulfill(path=str(path), content_type="text/css" if path.suffix == ".css"
                                else "application/javascript")

        async with async_playwright() as p:
            browser = await p.chromium.launch(executable_path=CHROMIUM, args=ARGS)
            page = await browser.new_page()
            await page.route("https://unpkg.com/**", unpkg)
            await page.goto(f"http://127.0.0.1:{port}/graphql")
            await page.wait_for_selector(".graphiql-container", timeout=20_000)
            await page.get_by_role("button", name="Headers").click()
            await page.evaluate(
                """(args) => {
                    const query = document.querySelector('.graphiql-editor .CodeMirror');
                    query.CodeMirror.setValue(args.query);
                    const headers = [...document.querySelectorAll('.graphiql-editor:not(.hidden) .CodeMirror')].pop();
                    headers.CodeMirror.setValue(JSON.stringify({Authorization: 'Bearer ' + args.token}));
                }""",
                {"query": "{ viewer { roles } organisation { cvr name } }", "token": token},
            )
            await page.get_by_role("button", name="Execute query (Ctrl-Enter)").click()
            await page.wait_for_function(
                "cvr => document.querySelector('.result-window').innerText.includes(cvr)", arg=org.cvr,
                timeout=20_000,
            )
            result = await page.evaluate("() => document.querySelector('.result-window').innerText")
            await page.screenshot(path=str(tmp_path / "graphiql.png"))
            await browser.close()
        assert '"USER_ADMINISTRATOR"' in result and org.name in result
    finally:
        os.killpg(server.pid, signal.SIGTERM)
        server.wait(timeout=10)
