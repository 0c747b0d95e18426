"""The gateway's own GraphiQL page (issue 14) without a browser: its headers (CSP), the allow-list
of the files it serves, the page when the files are not installed, GRAPHIQL=0.
(tests/test_graphiql_browser.py runs it in Chromium with the network off.)"""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import httpx
import pytest

from app.config import Settings
from app.entrypoints.http.app import create_app
from app.entrypoints.http.graphiql import _FILES, CSP, GraphiQLPage

ROOT = Path(__file__).resolve().parent.parent
LOCK = ROOT / "web" / "graphiql" / "package-lock.json"
HTML = {"Accept": "text/html"}
VERSIONS = {"react": "18.2.0", "react-dom": "18.2.0", "graphiql": "3.8.3", "@graphiql/plugin-explorer": "3.2.5"}


def fake_install(root: Path) -> Path:
    """node_modules with the allow-listed files (and some that are not)."""
    modules = root / "node_modules"
    for package, version in VERSIONS.items():
        (modules / package).mkdir(parents=True, exist_ok=True)
        (modules / package / "package.json").write_text(json.dumps({"name": package, "version": version}))
    for package, file, _media in _FILES:
        path = modules / package / file
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(f"/* {package}/{file} */\n" * 200)
    (modules / "graphiql" / "dist").mkdir(exist_ok=True)
    (modules / "graphiql" / "dist" / "index.js").write_text("not served")
    return modules


def app_for(tmp_path: Path, **overrides: Any) -> httpx.AsyncClient:
    settings = Settings.from_env({}, database_url=f"sqlite+aiosqlite:///{tmp_path / 'page.db'}",
                                 background_tasks=False, **overrides)
    return httpx.AsyncClient(transport=httpx.ASGITransport(app=create_app(settings)), base_url="http://gw")


async def raw_get(client: httpx.AsyncClient, path: str) -> int:
    """The status for `path` exactly as sent (httpx would remove dot segments)."""
    app = client._transport.app  # type: ignore[attr-defined]
    scope = {"type": "http", "asgi": {"version": "3.0"}, "http_version": "1.1", "method": "GET", "scheme": "http",
             "path": path, "raw_path": path.encode(), "root_path": "", "query_string": b"", "headers": [],
             "client": ("127.0.0.1", 1), "server": ("gw", 80)}
    sent: list[dict[str, Any]] = []

    async def receive() -> dict[str, Any]:
        return {"type": "http.request", "body": b"", "more_body": False}

    async def send(message: dict[str, Any]) -> None:
        sent.append(message)

    await app(scope, receive, send)
    return int(sent[0]["status"])


def page_urls(body: str) -> list[str]:
    return re.findall(r'(?:src|href)="([^"]+)"', body)


async def test_the_page_has_its_csp_no_inline_script_and_only_same_origin_files(tmp_path: Path) -> None:
    async with app_for(tmp_path, graphiql_assets=str(fake_install(tmp_path))) as client:
        page = await client.get("/graphql", headers=HTML)
    assert page.status_code == 200 and page.headers["content-type"].startswith("text/html")
    assert page.headers["content-security-policy"] == CSP
    directives = dict(d.strip().split(" ", 1) for d in CSP.split(";"))
    assert directives["default-src"] == "'none'" and directives["script-src"] == "'self'"
    assert directives["frame-ancestors"] == "'none'" and directives["base-uri"] == "'none'"
    assert page.headers["x-content-type-options"] == "nosniff"
    assert page.headers["referrer-policy"] == "no-referrer"
    assert page.headers["cache-control"] == "no-store"
    # Every script is a file of this origin (script-src 'self'): none inline, none elsewhere.
    assert re.findall(r"<script(?![^>]*\ssrc=)[^>]*>", page.text) == []
    urls = page_urls(page.text)
    assert [u for u in urls if not (u.startswith("/graphiql/") or u == "data:,")] == []
    for package, version in VERSIONS.items():
        assert f"/graphiql/assets/{package}@{version}/" in page.text


async def test_the_files_are_served_with_long_caching_gzip_and_their_media_type(tmp_path: Path) -> None:
    modules = fake_install(tmp_path)
    async with app_for(tmp_path, graphiql_assets=str(modules)) as client:
        urls = [u for u in page_urls((await client.get("/graphql", headers=HTML)).text) if u.startswith("/graphiql/")]
        assert len(urls) == len(_FILES) + 2  # the npm files, the start-up script and the page's CSS
        for url in urls:
            response = await client.get(url)
            assert response.status_code == 200, url
            assert response.headers["cache-control"] == "public, max-age=31536000, immutable"
            assert response.headers["x-content-type-options"] == "nosniff"
            kind = "text/css" if url.endswith(".css") else "text/javascript"
            assert response.headers["content-type"] == f"{kind}; charset=utf-8", url
        graphiql = "/graphiql/assets/graphiql@3.8.3/graphiql.min.js"
        plain = await client.get(graphiql, headers={"Accept-Encoding": "identity"})
        zipped = await client.get(graphiql, headers={"Accept-Encoding": "gzip"})
    on_disk = (modules / "graphiql" / "graphiql.min.js").read_bytes()
    assert plain.content == on_disk and "content-encoding" not in plain.headers
    assert zipped.headers["content-encoding"] == "gzip" and zipped.headers["vary"] == "Accept-Encoding"
    assert zipped.content == on_disk  # httpx decodes it
    assert int(zipped.headers["content-length"]) < len(on_disk)


async def test_only_the_allow_listed_files_are_served_and_no_path_escapes(tmp_path: Path) -> None:
    modules = fake_install(tmp_path)
    (tmp_path / "secret.txt").write_text("secret")
    async with app_for(tmp_path, graphiql_assets=str(modules)) as client:
        for path in (
            "/graphiql/assets/graphiql@3.8.3/package.json",  # installed, not on the list
            "/graphiql/assets/graphiql@3.8.3/dist/index.js",
            "/graphiql/assets/graphiql@3.8.2/graphiql.min.js",  # not the installed version
            "/graphiql/assets/graphiql/graphiql.min.js",
            "/graphiql/assets/left-pad@1.0.0/index.js",
            "/graphiql/gateway.0000.js",
            "/graphiql/assets/",
        ):
            assert (await client.get(path)).status_code == 404, path
        assert await raw_get(client, "/graphiql/assets/graphiql@3.8.3/graphiql.min.js") == 200
        for path in (
            "/graphiql/assets/graphiql@3.8.3/../../../secret.txt",
            "/graphiql/assets/graphiql@3.8.3/../graphiql/package.json",
            "/graphiql/assets/../../secret.txt",
            "/graphiql/assets/graphiql@3.8.3/%2e%2e/package.json",
            "/graphiql/assets//etc/passwd",
            "/graphiql/../secret.txt",
        ):
            assert await raw_get(client, path) == 404, path


async def test_without_the_files_the_page_says_how_to_install_them(tmp_path: Path) -> None:
    empty = tmp_path / "nothing-installed"
    async with app_for(tmp_path, graphiql_assets=str(empty)) as client:
        page = await client.get("/graphql", headers=HTML)
        api = await client.post("/graphql", json={"query": "{ __typename }"})
        asset = await client.get("/graphiql/assets/graphiql@3.8.3/graphiql.min.js")
    assert page.status_code == 503 and page.headers["content-type"].startswith("text/html")
    assert "make graphiql-assets" in page.text and str(empty) in page.text
    assert "<script" not in page.text and page.headers["content-security-policy"] == CSP
    assert api.status_code == 200 and api.json()["data"] == {"__typename": "Query"}
    assert asset.status_code == 404


async def test_a_partial_install_counts_as_missing_and_a_later_install_needs_no_restart(tmp_path: Path) -> None:
    modules = fake_install(tmp_path)
    (modules / "react-dom" / "umd" / "react-dom.production.min.js").unlink()
    page = GraphiQLPage(modules)
    assert page.response().status_code == 503
    fake_install(tmp_path)
    assert page.response().status_code == 200


async def test_graphiql_off_serves_no_page_and_no_files(tmp_path: Path) -> None:
    async with app_for(tmp_path, graphiql=False, graphiql_assets=str(fake_install(tmp_path))) as client:
        page = await client.get("/graphql", headers=HTML)
        asset = await client.get("/graphiql/assets/graphiql@3.8.3/graphiql.min.js")
    assert page.status_code == 404 and "<html" not in page.text
    assert asset.status_code == 404
    assert Settings.from_env({"GRAPHIQL": "0"}).graphiql is False
    assert Settings.from_env({"GRAPHIQL_ASSETS": "/opt/ide"}).graphiql_assets == "/opt/ide"
    assert Settings.from_env({}).graphiql_assets == "var/graphiql/node_modules"


def test_the_npm_packages_are_pinned_exactly_by_the_lock() -> None:
    manifest = json.loads((LOCK.parent / "package.json").read_text())
    lock = json.loads(LOCK.read_text())
    assert manifest["dependencies"] == VERSIONS  # exact versions, no ranges
    assert lock["packages"][""]["dependencies"] == VERSIONS
    for package, version in VERSIONS.items():
        entry = lock["packages"][f"node_modules/{package}"]
        assert entry["version"] == version and entry["integrity"].startswith("sha512-")
    assert {package for package, _file, _media in _FILES} == set(VERSIONS)


def test_the_installed_files_are_the_locked_versions() -> None:
    installed = ROOT / "var" / "graphiql" / "node_modules"
    page = GraphiQLPage(installed)
    if page.manifest() is None:
        pytest.skip(f"GraphiQL's files are not installed in {installed} (`make graphiql-assets`, needs npm)")
    body = bytes(page.response().body).decode()
    for package, version in VERSIONS.items():
        assert f"/graphiql/assets/{package}@{version}/" in body
