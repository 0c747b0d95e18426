"""The HTTP entrypoint: one ASGI app (GraphQL over HTTP and WebSocket, activation, PKI, exports,
health, metrics) over the container that app/bootstrap.py builds."""

from __future__ import annotations

import contextlib
import gc
import logging
from collections.abc import AsyncIterator

from sqlalchemy import text
from starlette.applications import Starlette
from starlette.middleware import Middleware
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route, WebSocketRoute

from app.bootstrap import Services, build_services
from app.config import Settings
from app.domain.bulk.csv_file import BulkOperation, template
from app.entrypoints.http.account_requests import account_request_routes
from app.entrypoints.http.activation import activation_routes
from app.entrypoints.http.console import console_routes
from app.entrypoints.http.exports import export_routes
from app.entrypoints.http.gateway import GatewayGraphQL
from app.entrypoints.http.graphiql import GraphiQLPage
from app.entrypoints.http.pki import certificate_routes
from app.entrypoints.http.uploads import UploadGuard
from app.entrypoints.http.user_export import user_export_routes
from app.entrypoints.workers.background import background_tasks
from app.entrypoints.workers.listener import notification_listener
from app.observability import PROMETHEUS_CONTENT_TYPE, RequestContext
from app.persistence.outbox import queue_depths

log = logging.getLogger("app.web")


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


def create_app(settings: Settings | None = None, services: Services | None = None) -> Starlette:
    settings = settings or Settings.from_env()
    services = services or build_services(settings)
    # Not in the allow-list mode: nothing GraphiQL sends (its own introspection included) is registered.
    ide = GraphiQLPage(settings.graphiql_assets) \
        if settings.graphiql and settings.persisted_documents != "allow-list" else None
    graphql_app = GatewayGraphQL(services, ide)

    async def healthz(request: Request) -> Response:
        try:
            async with services.engine.connect() as conn:
                await conn.execute(text("SELECT 1"))
        except Exception as exc:  # any driver error means: not ready
            log.warning("health check: database unreachable: %s", exc)
            return JSONResponse({"status": "unavailable", "database": "unreachable"}, status_code=503)
        return JSONResponse({"status": "ok", "database": "ok"})

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
            *activation_routes(services),  # /activate
            *account_request_routes(services),  # /account-requests/confirm
            Route("/templates/users-{operation}.csv", csv_template),
            *export_routes(services),  # /exports/activities.csv
            *user_export_routes(services),  # /exports/users.csv
            *certificate_routes(services),  # /pki/ca.pem, /pki/crl.pem, /exports/certificates.csv
            *(ide.routes() if ide else []),  # /graphiql/…: the files of GraphiQL (its page: GET /graphql)
            *console_routes(),  # /console: the admin console (var/console, `make console-assets`)
        ],
        lifespan=lifespan,
    )
    app.state.services = services
    return app
