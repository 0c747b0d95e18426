"""GraphiQL served by the gateway itself: no CDN, a strict Content-Security-Policy, no token kept.

The browser files are npm packages pinned by `web/graphiql/package-lock.json` and installed into
`var/graphiql` by `make graphiql-assets` (which `make run` and `make test` run). Only the files of
`_FILES` are served, at `/graphiql/assets/<package>@<installed version>/<file>`: the URL changes with
the version, so they are cached for a year. The page has no inline script (`script-src 'self'`):
its start-up code is `GRAPHIQL_JS`, served at `/graphiql/gateway.<hash>.js`. That code gives
GraphiQL a storage that never keeps request headers (GraphiQL's tabs, history and favourites each
carry them, whatever `shouldPersistHeaders` says), so a pasted bearer token lives in the page only.

Without the installed files the page says, in plain HTML, how to install them (503); the API is
unaffected.
"""

from __future__ import annotations

import gzip
import hashlib
import html
import json
from collections.abc import Mapping
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

from starlette.requests import Request
from starlette.responses import HTMLResponse, Response
from starlette.routing import Route

PREFIX = "/graphiql"
INSTALL_HINT = "make graphiql-assets"

# (npm package, file inside it, media type): the only files served.
_FILES: tuple[tuple[str, str, str], ...] = (
    ("react", "umd/react.production.min.js", "text/javascript; charset=utf-8"),
    ("react-dom", "umd/react-dom.production.min.js", "text/javascript; charset=utf-8"),
    ("graphiql", "graphiql.min.js", "text/javascript; charset=utf-8"),
    ("graphiql", "graphiql.min.css", "text/css; charset=utf-8"),
    ("@graphiql/plugin-explorer", "dist/index.umd.js", "text/javascript; charset=utf-8"),
    ("@graphiql/plugin-explorer", "dist/style.css", "text/css; charset=utf-8"),
)
_SCRIPTS = (
    ("react", "umd/react.production.min.js"),
    ("react-dom", "umd/react-dom.production.min.js"),
    ("graphiql", "graphiql.min.js"),
    ("@graphiql/plugin-explorer", "dist/index.umd.js"),
)
_STYLES = (("graphiql", "graphiql.min.css"), ("@graphiql/plugin-explorer", "dist/style.css"))

# What GraphiQL needs, and nothing else (each source checked in Chromium by
# tests/test_graphiql_browser.py, which fails on any violation):
# - script-src 'self': its scripts and the start-up code, all files of this origin (no inline
#   script, no eval);
# - style-src 'self': its style sheets; style-src-elem adds 'unsafe-inline' for the <style>
#   elements its dialogs inject (react-remove-scroll-bar, whose text varies with the scrollbar's
#   width, so no hash); inline style="" attributes stay refused (it sets styles through the DOM);
# - img-src and font-src data:: its CSS embeds its fonts and icons (the favicon is data: too);
# - connect-src 'self': POST /graphql, and the WebSocket of subscriptions to the same host
#   ('self' covers ws:/wss: of the page's host in CSP Level 3);
# - no plugin, frame, form, worker, manifest or base URL; no framing of the page.
CSP = (
    "default-src 'none'; script-src 'self'; style-src 'self'; style-src-elem 'self' 'unsafe-inline'; "
    "img-src data:; font-src data:; connect-src 'self'; base-uri 'none'; form-action 'none'; "
    "frame-ancestors 'none'"
)
PAGE_HEADERS: Mapping[str, str] = {
    "Content-Security-Policy": CSP,
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",
    "X-Frame-Options": "DENY",
    "Cache-Control": "no-store",
}
_ASSET_CACHE = "public, max-age=31536000, immutable"

GRAPHIQL_JS = r"""// The gateway's GraphiQL (app/entrypoints/http/graphiql.py): served from the gateway, no inline
// script, and no request header kept in the browser's storage.
(function () {
  "use strict";
  var PREFIX = "graphiql:";
  // Never kept: the headers editor and the "persist headers" switch of GraphiQL's settings.
  var NEVER = { "graphiql:headers": true, "graphiql:shouldPersistHeaders": true };

  // GraphiQL's tabs, history and favourites are JSON whose entries each carry the request's
  // headers (an Authorization token): keep them, with every "headers" emptied.
  function withoutHeaders(value) {
    if (Array.isArray(value)) return value.map(withoutHeaders);
    if (value === null || typeof value !== "object") return value;
    var out = {};
    Object.keys(value).forEach(function (key) {
      out[key] = key === "headers" ? null : withoutHeaders(value[key]);
    });
    return out;
  }
  function cleaned(key, value) {
    if (NEVER[key]) return null;
    try {
      return JSON.stringify(withoutHeaders(JSON.parse(value)));
    } catch (e) {
      return value; // not JSON (a theme name, a plugin title)
    }
  }

  var backing;
  try {
    backing = window.localStorage;
    backing.getItem(PREFIX + "probe");
  } catch (e) {
    backing = null; // storage refused (privacy settings): keep the session's state in memory
  }
  var memory = {};
  var raw = backing || {
    getItem: function (k) { return Object.prototype.hasOwnProperty.call(memory, k) ? memory[k] : null; },
    setItem: function (k, v) { memory[k] = String(v); },
    removeItem: function (k) { delete memory[k]; },
  };
  function ownKeys() {
    var keys = [];
    if (backing) {
      for (var i = 0; i < backing.length; i++) {
        var k = backing.key(i);
        if (k && k.indexOf(PREFIX) === 0) keys.push(k);
      }
    } else {
      keys = Object.keys(memory);
    }
    return keys;
  }
  var storage = {
    getItem: function (key) { return raw.getItem(key); },
    setItem: function (key, value) {
      var kept = cleaned(key, String(value));
      if (kept === null) raw.removeItem(key);
      else raw.setItem(key, kept);
    },
    removeItem: function (key) { raw.removeItem(key); },
    clear: function () { ownKeys().forEach(function (k) { raw.removeItem(k); }); },
    get length() { return ownKeys().length; },
  };
  // What an earlier page (Strawberry's built-in one persisted headers) left in this origin's storage.
  ownKeys().forEach(function (k) { storage.setItem(k, raw.getItem(k)); });

  var url = window.location.origin + window.location.pathname;
  var ws = new URL(url);
  ws.protocol = ws.protocol === "https:" ? "wss:" : "ws:";
  // Subscriptions over graphql-transport-ws; the headers editor's JSON is sent as connection_init's
  // payload, where the gateway reads {"Authorization": "Bearer ..."}.
  var fetcher = GraphiQL.createFetcher({ url: url, subscriptionUrl: ws.toString() });

  var DEFAULT_QUERY =
    "# The gateway's GraphiQL. Paste a token into the Headers tab below, e.g.\n" +
    '#   {"Authorization": "Bearer eyJ..."}\n' +
    "# (`make run` prints one per demo role). Headers are not kept in this browser's storage:\n" +
    "# after a reload, paste the token again.\n" +
    "{\n  viewer { roles user { name } organisation { name cvr } }\n}\n";

  var root = ReactDOM.createRoot(document.getElementById("graphiql"));
  root.render(
    React.createElement(GraphiQL, {
      fetcher: fetcher,
      storage: storage,
      defaultQuery: DEFAULT_QUERY,
      defaultEditorToolsVisibility: true,
      isHeadersEditorEnabled: true,
      shouldPersistHeaders: false,
      inputValueDeprecation: true,
      plugins: [GraphiQLPluginExplorer.explorerPlugin()],
    })
  );
})();
"""
_JS_BYTES = GRAPHIQL_JS.encode()
_JS_NAME = f"gateway.{hashlib.sha256(_JS_BYTES).hexdigest()[:12]}.js"
_PAGE_CSS = b"html, body { height: 100%; margin: 0; }\n#graphiql { height: 100vh; }\n"
_CSS_NAME = f"gateway.{hashlib.sha256(_PAGE_CSS).hexdigest()[:12]}.css"


@dataclass(frozen=True)
class _Asset:
    path: Path
    media_type: str
    url: str


def _version(package_dir: Path) -> str | None:
    try:
        version = json.loads((package_dir / "package.json").read_text(encoding="utf-8")).get("version")
    except (OSError, ValueError):
        return None
    return version if isinstance(version, str) and version else None


def _manifest(assets_dir: Path) -> dict[tuple[str, str], _Asset] | None:
    """Each allow-listed (package, file) → the installed file and its URL; None when one is
    missing (not installed, or a partial install)."""
    found: dict[tuple[str, str], _Asset] = {}
    for package, file, media_type in _FILES:
        version = _version(assets_dir / package)
        path = assets_dir / package / file
        if version is None or not path.is_file():
            return None
        found[package, file] = _Asset(path, media_type, f"{PREFIX}/assets/{package}@{version}/{file}")
    return found


@lru_cache(maxsize=16)
def _compressed(path: Path, mtime_ns: int, size: int) -> bytes:
    return gzip.compress(path.read_bytes(), compresslevel=6, mtime=0)


class GraphiQLPage:
    """The IDE page (answer of GET /graphql for a browser) and the routes of its files."""

    def __init__(self, assets_dir: Path | str) -> None:
        self.assets_dir = Path(assets_dir)
        self._found: dict[tuple[str, str], _Asset] | None = None
        self._by_url: dict[str, _Asset] = {}

    def manifest(self) -> dict[tuple[str, str], _Asset] | None:
        # Looked up until found, so `make graphiql-assets` while the server runs needs no restart.
        if self._found is None:
            self._found = _manifest(self.assets_dir)
            self._by_url = {a.url: a for a in (self._found or {}).values()}
        return self._found

    def response(self) -> Response:
        manifest = self.manifest()
        if manifest is None:
            return HTMLResponse(self._missing_html(), status_code=503, headers=dict(PAGE_HEADERS))
        styles = "".join(
            f'<link rel="stylesheet" href="{html.escape(manifest[k].url)}">' for k in _STYLES
        )
        scripts = "".join(f'<script src="{html.escape(manifest[k].url)}"></script>' for k in _SCRIPTS)
        body = (
            "<!doctype html><html lang=\"en\"><head><meta charset=\"utf-8\">"
            "<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">"
            "<title>GraphiQL · MitID Erhverv gateway</title>"
            "<link rel=\"icon\" href=\"data:,\">"
            f"{styles}<link rel=\"stylesheet\" href=\"{PREFIX}/{_CSS_NAME}\"></head>"
            "<body><div id=\"graphiql\">Loading GraphiQL…"
            "<noscript> GraphiQL needs JavaScript.</noscript></div>"
            f"{scripts}<script src=\"{PREFIX}/{_JS_NAME}\"></script></body></html>"
        )
        return HTMLResponse(body, headers=dict(PAGE_HEADERS))

    def _missing_html(self) -> str:
        where = html.escape(str(self.assets_dir))
        return (
            "<!doctype html><html lang=\"en\"><head><meta charset=\"utf-8\">"
            "<title>GraphiQL is not installed</title></head><body>"
            "<h1>GraphiQL's files are not installed</h1>"
            f"<p>The gateway serves GraphiQL from <code>{where}</code>, which has no complete install. "
            f"Install the pinned files (needs Node.js' <code>npm</code>) from the repository's root:</p>"
            f"<pre>{INSTALL_HINT}</pre>"
            "<p>(<code>make run</code> and <code>make test</code> do it too.) Then reload this page; "
            "no restart is needed. <code>GRAPHIQL_ASSETS</code> names another folder; "
            "<code>GRAPHIQL=0</code> turns the page off.</p>"
            "<p>The API itself works without them: <code>POST /graphql</code> with a JSON body.</p>"
            "</body></html>"
        )

    async def _asset(self, request: Request) -> Response:
        self.manifest()
        asset = self._by_url.get(f"{PREFIX}/assets/{request.path_params['path']}")
        if asset is None:
            return Response("Not Found", status_code=404, media_type="text/plain")
        try:
            stat = asset.path.stat()
            if "gzip" in request.headers.get("accept-encoding", ""):
                content = _compressed(asset.path, stat.st_mtime_ns, stat.st_size)
                encoding: dict[str, str] = {"Content-Encoding": "gzip"}
            else:
                content, encoding = asset.path.read_bytes(), {}
        except OSError:  # removed since: look again on the next page load
            self._found, self._by_url = None, {}
            return Response("Not Found", status_code=404, media_type="text/plain")
        headers = {"Cache-Control": _ASSET_CACHE, "X-Content-Type-Options": "nosniff", "Vary": "Accept-Encoding",
                   **encoding}
        return Response(content, media_type=asset.media_type, headers=headers)

    async def _own(self, request: Request) -> Response:
        name = request.path_params["name"]
        if name == _JS_NAME:
            content, media_type = _JS_BYTES, "text/javascript; charset=utf-8"
        elif name == _CSS_NAME:
            content, media_type = _PAGE_CSS, "text/css; charset=utf-8"
        else:
            return Response("Not Found", status_code=404, media_type="text/plain")
        return Response(content, media_type=media_type,
                        headers={"Cache-Control": _ASSET_CACHE, "X-Content-Type-Options": "nosniff"})

    def routes(self) -> list[Route]:
        return [
            Route(f"{PREFIX}/assets/{{path:path}}", self._asset, methods=["GET", "HEAD"]),
            Route(f"{PREFIX}/{{name}}", self._own, methods=["GET", "HEAD"]),
        ]
