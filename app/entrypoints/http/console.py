"""The reference admin console (issue 19), served by the gateway at /console.

The console is a browser client of the public GraphQL API only (POST /graphql with the signed-in
person's bearer token). Its sources are web/console (Vite + React + TypeScript, urql with a
normalized cache, operations typed from schema.graphql); `make console-assets` builds them into
`var/console` (`CONSOLE_ASSETS` names another folder). This module only serves that build:

- `/console` and `/console/<client route>`: the one page (`index.html`), never cached, under a
  strict Content-Security-Policy (scripts, styles and connections only from this origin; no inline
  script or style, no eval);
- `/console/assets/<file>`: the built files, whose names carry a content hash, cached for a year.

Without a build the page says, in plain HTML, how to make one (503); the API is unaffected.
"""

from __future__ import annotations

import gzip
import html
import os
from collections.abc import Mapping
from functools import lru_cache
from pathlib import Path

from starlette.requests import Request
from starlette.responses import HTMLResponse, Response
from starlette.routing import Route

PREFIX = "/console"
BUILD_HINT = "make console-assets"
DEFAULT_ASSETS = "var/console"

# - script-src / style-src 'self': the built module and style sheet (no inline script or style;
#   React sets styles through the DOM, which the CSP allows);
# - img-src data:: the page's empty favicon; connect-src 'self': POST /graphql and the WebSocket
#   of subscriptions to the same host ('self' covers ws:/wss: of the page's host in CSP Level 3);
# - no plugin, frame, form submission, worker, manifest or base URL; no framing of the page.
CSP = (
    "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; font-src 'self'; "
    "connect-src 'self'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'"
)
PAGE_HEADERS: Mapping[str, str] = {
    "Content-Security-Policy": CSP,
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",
    "X-Frame-Options": "DENY",
    "Cache-Control": "no-store",
}
_ASSET_CACHE = "public, max-age=31536000, immutable"
_MEDIA_TYPES = {
    ".js": "text/javascript; charset=utf-8",
    ".css": "text/css; charset=utf-8",
    ".svg": "image/svg+xml",
    ".png": "image/png",
    ".woff2": "font/woff2",
    ".json": "application/json",
}
_COMPRESSIBLE = {".js", ".css", ".svg", ".json"}


@lru_cache(maxsize=64)
def _compressed(path: Path, mtime_ns: int, size: int) -> bytes:
    return gzip.compress(path.read_bytes(), compresslevel=6, mtime=0)


def _not_found() -> Response:
    return Response("Not Found", status_code=404, media_type="text/plain")


class ConsolePage:
    """The console's page and its built files, from one build folder."""

    def __init__(self, build_dir: Path | str) -> None:
        self.build_dir = Path(build_dir)

    def _index(self) -> bytes | None:
        try:
            return (self.build_dir / "index.html").read_bytes()
        except OSError:
            return None

    async def page(self, request: Request) -> Response:
        # Read on each request (a few hundred bytes): a rebuild while the server runs needs no restart.
        index = self._index()
        if index is None:
            return HTMLResponse(self._missing_html(), status_code=503, headers=dict(PAGE_HEADERS))
        return Response(index, media_type="text/html; charset=utf-8", headers=dict(PAGE_HEADERS))

    async def asset(self, request: Request) -> Response:
        name = request.path_params["name"]
        # Only the flat, hashed files Vite writes into assets/: no sub-folder, no dot-file, no "..".
        if "/" in name or "\\" in name or name.startswith(".") or Path(name).suffix not in _MEDIA_TYPES:
            return _not_found()
        path = self.build_dir / "assets" / name
        try:
            stat = path.stat()
            suffix = path.suffix
            if suffix in _COMPRESSIBLE and "gzip" in request.headers.get("accept-encoding", ""):
                content = _compressed(path, stat.st_mtime_ns, stat.st_size)
                encoding: dict[str, str] = {"Content-Encoding": "gzip"}
            else:
                content, encoding = path.read_bytes(), {}
        except OSError:
            return _not_found()
        headers = {"Cache-Control": _ASSET_CACHE, "X-Content-Type-Options": "nosniff", "Vary": "Accept-Encoding",
                   **encoding}
        return Response(content, media_type=_MEDIA_TYPES[suffix], headers=headers)

    def _missing_html(self) -> str:
        where = html.escape(str(self.build_dir))
        return (
            "<!doctype html><html lang=\"da\"><head><meta charset=\"utf-8\">"
            "<title>Konsollen er ikke bygget</title></head><body>"
            "<h1>Konsollen er ikke bygget</h1>"
            f"<p>The gateway serves the admin console from <code>{where}</code>, which has no build. "
            "Build it (needs Node.js and <code>npm</code>) from the repository's root:</p>"
            f"<pre>{BUILD_HINT}</pre>"
            "<p>(<code>make run</code> and <code>make test</code> do it too.) Then reload this page; "
            "no restart is needed. <code>CONSOLE_ASSETS</code> names another folder.</p>"
            "<p>The API itself works without it: <code>POST /graphql</code>, or GraphiQL at "
            "<a href=\"/graphql\">/graphql</a>.</p>"
            "</body></html>"
        )

    def routes(self) -> list[Route]:
        return [
            Route(f"{PREFIX}/assets/{{name:path}}", self.asset, methods=["GET", "HEAD"]),
            Route(PREFIX, self.page, methods=["GET", "HEAD"]),
            Route(f"{PREFIX}/{{route:path}}", self.page, methods=["GET", "HEAD"]),
        ]


def console_routes(build_dir: Path | str | None = None) -> list[Route]:
    """/console, /console/<client route> and /console/assets/<file> (`CONSOLE_ASSETS`, default var/console)."""
    return ConsolePage(build_dir or os.environ.get("CONSOLE_ASSETS") or DEFAULT_ASSETS).routes()
