"""The composition root: wires settings, engine, platform and schema into one ASGI app."""

from __future__ import annotations

import contextlib
import gc
import html
import logging
from collections.abc import AsyncIterator
from typing import Any

from sqlalchemy import text
from starlette.applications import Starlette
from starlette.middleware import Middleware
from starlette.requests import Request
from starlette.responses import HTMLResponse, JSONResponse, Response
from starlette.routing import Route, WebSocketRoute
from starlette.types import ASGIApp, Receive, Scope, Send
from strawberry.exceptions import ConnectionRejectionError
from strawberry.subscriptions import GRAPHQL_TRANSPORT_WS_PROTOCOL
from strawberry.types.unset import UNSET, UnsetType

from app.auth import AuthError, TokenVerifier, bearer_token
from app.background import background_tasks, notification_listener
from app.certificates_http import certificate_routes
from app.config import Settings
from app.domain.bulk_csv import BulkOperation, template
from app.domain.principal import Principal
from app.exports import export_routes
from app.graphql_http import SpecGraphQL
from app.observability import PROMETHEUS_CONTENT_TYPE, RequestContext
from app.persistence.db import make_engine
from app.persistence.outbox import queue_depths
from app.platform import SystemPlatform
from app.schema import schema
from app.schema.context import Context
from app.services import Services
from app.ws import GatewayTransportWS

log = logging.getLogger("app.web")


class GatewayGraphQL(SpecGraphQL):
    """The gateway's GraphQL endpoint; its HTTP edge (media types, status codes) is SpecGraphQL's."""

    def __init__(self, services: Services) -> None:
        super().__init__(
            schema,
            graphql_ide="graphiql" if services.settings.graphiql else None,
            multipart_uploads_enabled=True,
        )
        self.services = services

    def _authenticate(self, header: str | None) -> tuple[Principal | None, str | None]:
        token = bearer_token(header)
        if token is not None:
            try:
                return self.services.verifier.verify(token), None
            except AuthError as exc:
                return None, exc.message
        return None, ("Authorization header must be 'Bearer <token>'" if header else None)

    async def get_context(self, request: Any, response: Any = None) -> Context:  # type: ignore[override]
        principal, error = self._authenticate(request.headers.get("authorization"))
        return Context(self.services, principal, auth_error=error, request=request, response=response)

    # graphql-transport-ws only (the legacy graphql-ws protocol has no session re-checks here).
    protocols = (GRAPHQL_TRANSPORT_WS_PROTOCOL,)
    graphql_transport_ws_handler_class = GatewayTransportWS

    async def on_ws_connect(self, context: Context) -> UnsetType | dict[str, object] | None:  # type: ignore[override]
        """WebSocket clients authenticate in connection_init's payload (`{"Authorization":
        "Bearer …"}`); a bad or missing token closes the socket (4403). The session then ends with
        the token or the person (app/ws.py: 4401, 4403)."""
        params = context.connection_params or {}
        header = params.get("Authorization") or params.get("authorization")
        principal, _error = self._authenticate(header if isinstance(header, str) else None)
        org_id = await self.services.org_id_for_cvr(principal.org_cvr) if principal else None
        if principal is None or org_id is None or not await self.services.person_may_act(org_id, principal.user_id):
            raise ConnectionRejectionError({"code": "UNAUTHENTICATED"})
        context.principal, context.auth_error = principal, None
        return UNSET


class UploadGuard:
    """Multipart requests (file uploads) must be authenticated by header, which no cross-site form
    can send (CSRF), with a token that verifies (signature and claims: the app's TokenVerifier,
    found on `app.state.services`), and no larger than the import cap; all refused before the body
    is read. (The person's status is checked by the operation itself: no database here.)"""

    def __init__(self, app: ASGIApp, max_bytes: int) -> None:
        self.app = app
        self.max_bytes = max_bytes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http" and scope["method"] == "POST":
            headers = {k.decode("latin-1").lower(): v.decode("latin-1") for k, v in scope["headers"]}
            if headers.get("content-type", "").startswith("multipart/"):
                refusal = self._refusal(scope, headers)
                if refusal is not None:
                    await _error(scope, receive, send, *refusal)
                    return
        await self.app(scope, receive, send)

    def _refusal(self, scope: Scope, headers: dict[str, str]) -> tuple[int, str, str] | None:
        token = bearer_token(headers.get("authorization"))
        if token is None:
            return 401, "UNAUTHENTICATED", "Uploads need an Authorization header"
        try:
            scope["app"].state.services.verifier.verify(token)
        except AuthError as exc:
            return 401, "UNAUTHENTICATED", exc.message
        length = headers.get("content-length", "")
        if length.isdigit() and int(length) > self.max_bytes + 64 * 1024:
            return 413, "FILE_TOO_LARGE", f"The upload is larger than {self.max_bytes // (1024 * 1024)} MB"
        return None


async def _error(scope: Scope, receive: Receive, send: Send, status: int, code: str, message: str) -> None:
    body = {"data": None, "errors": [{"message": message, "extensions": {"code": code}}]}
    await JSONResponse(body, status_code=status)(scope, receive, send)


async def refresh_gauges(services: Services) -> None:
    """Gauges read at scrape time: the pool, the outbox, the import queue."""
    m = services.metrics
    pool = services.engine.pool
    checked_out = getattr(pool, "checkedout", None)
    size = getattr(pool, "size", None)
    if callable(checked_out):
        m.pool_checked_out.set(checked_out())
    if callable(size):
        m.pool_size.set(size())
    try:
        async with services.engine.connect() as conn:
            pending, waiting = await queue_depths(conn)
        m.outbox_pending.set(pending)
        m.jobs_queued.set(waiting)
    except Exception as exc:  # the database being away must not break the scrape
        log.warning("metrics: queue depths unavailable: %s", exc)


def build_services(settings: Settings) -> Services:
    return Services(
        settings=settings,
        engine=make_engine(settings.database_url),
        platform=SystemPlatform(settings),
        verifier=TokenVerifier(settings),
    )


def create_app(settings: Settings | None = None, services: Services | None = None) -> Starlette:
    settings = settings or Settings.from_env()
    services = services or build_services(settings)

    async def healthz(request: Request) -> Response:
        try:
            async with services.engine.connect() as conn:
                await conn.execute(text("SELECT 1"))
        except Exception as exc:  # any driver error means: not ready
            log.warning("health check: database unreachable: %s", exc)
            return JSONResponse({"status": "unavailable", "database": "unreachable"}, status_code=503)
        return JSONResponse({"status": "ok", "database": "ok"})

    async def activate_page(request: Request) -> Response:
        """The activation email's link: a page that activates on a deliberate POST."""
        if request.method == "GET":
            token = html.escape(request.query_params.get("token", ""))
            return HTMLResponse(
                "<!doctype html><title>Activate your MitID Erhverv user</title>"
                "<h1>Activate your MitID Erhverv user</h1>"
                f'<form method="post"><input type="hidden" name="token" value="{token}">'
                "<button>Log in with private MitID and activate</button></form>"
            )
        form = await request.form()
        user = await services.activate(token=str(form.get("token", "")), user_id=None, code=None)
        if user is None:
            return HTMLResponse("<h1>The link is invalid or has expired</h1>", status_code=400)
        return HTMLResponse("<h1>Your user is activated</h1>")

    async def csv_template(request: Request) -> Response:
        try:
            operation = BulkOperation(request.path_params["operation"].upper())
        except ValueError:
            return JSONResponse({"error": "unknown template", "code": "NOT_FOUND"}, status_code=404)
        name = f"users-{operation.value.lower()}.csv"
        return Response(
            template(operation),
            media_type="text/csv; charset=utf-8",
            headers={"Content-Disposition": f'attachment; filename="{name}"'},
        )

    async def metrics(request: Request) -> Response:
        await refresh_gauges(services)
        return Response(services.metrics.render(), media_type=PROMETHEUS_CONTENT_TYPE)

    @contextlib.asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        # Everything built at start-up lives for the process: keep it out of the collector's scans,
        # and collect less often (a response allocates many short-lived objects).
        gc.collect()
        gc.freeze()
        gc.set_threshold(50_000, 20, 100)
        try:
            async with notification_listener(services):
                if settings.background_tasks:
                    async with background_tasks(services):
                        yield
                else:
                    yield
        finally:
            await services.engine.dispose()

    graphql_app = GatewayGraphQL(services)
    app = Starlette(
        middleware=[
            Middleware(RequestContext, metrics=services.metrics),
            Middleware(UploadGuard, max_bytes=settings.import_max_bytes),
        ],
        routes=[
            Route("/graphql", graphql_app),  # other methods: the view's 405 (JSON, Allow: GET, POST)
            WebSocketRoute("/graphql", graphql_app),
            Route("/healthz", healthz),
            Route("/metrics", metrics),
            Route("/activate", activate_page, methods=["GET", "POST"]),
            Route("/templates/users-{operation}.csv", csv_template),
            *export_routes(services),  # /exports/activities.csv
            *certificate_routes(services),  # /pki/ca.pem, /pki/crl.pem, /exports/certificates.csv
        ],
        lifespan=lifespan,
    )
    app.state.services = services
    return app
