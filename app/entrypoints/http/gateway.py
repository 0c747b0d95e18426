"""The gateway's GraphQL endpoint (HTTP and WebSocket): who is calling, the per-request context."""

from __future__ import annotations

from typing import Any

from cross_web import AsyncHTTPRequestAdapter
from starlette.requests import Request
from starlette.responses import Response
from strawberry.exceptions import ConnectionRejectionError
from strawberry.http import GraphQLRequestData
from strawberry.subscriptions import GRAPHQL_TRANSPORT_WS_PROTOCOL
from strawberry.types.unset import UNSET, UnsetType

from app.adapters.actors import NotActing
from app.bootstrap import Services
from app.entrypoints.http.graphiql import GraphiQLPage
from app.entrypoints.http.graphql import SpecGraphQL
from app.entrypoints.http.persisted import resolve_request
from app.entrypoints.http.ws import GatewayTransportWS
from app.schema import schema
from app.schema.runtime.context import Context


class GatewayGraphQL(SpecGraphQL):
    """The gateway's GraphQL endpoint; its HTTP edge (media types, status codes) is SpecGraphQL's."""

    def __init__(self, services: Services, ide: GraphiQLPage | None = None) -> None:
        super().__init__(
            schema,
            graphql_ide="graphiql" if ide is not None else None,  # None: GET /graphql in a browser is 404
            multipart_uploads_enabled=True,
        )
        self.services = services
        self.ide = ide

    async def render_graphql_ide(self, request: Request) -> Response:  # type: ignore[override]
        """GET /graphql from a browser: the gateway's own GraphiQL page (app/entrypoints/http/graphiql.py),
        not Strawberry's, which loads its files from a CDN."""
        assert self.ide is not None  # Strawberry renders the IDE only when graphql_ide is set
        return self.ide.response()

    async def parse_http_body(self, request: AsyncHTTPRequestAdapter) -> GraphQLRequestData:  # type: ignore[override]
        """The request, its document named by a persisted-query hash where it carries one
        (app/entrypoints/http/persisted.py: a refusal is answered before anything executes)."""
        return resolve_request(self.services.persisted, await super().parse_http_body(request),
                               self.services.metrics)

    async def get_context(self, request: Any, response: Any = None) -> Context:  # type: ignore[override]
        principal, error = self.services.actors.principal(request.headers.get("authorization"))
        return Context(self.services, principal, auth_error=error, request=request, response=response)

    # graphql-transport-ws only (the legacy graphql-ws protocol has no session re-checks here).
    protocols = (GRAPHQL_TRANSPORT_WS_PROTOCOL,)
    graphql_transport_ws_handler_class = GatewayTransportWS

    async def on_ws_connect(self, context: Context) -> UnsetType | dict[str, object] | None:  # type: ignore[override]
        """WebSocket clients authenticate in connection_init's payload (`{"Authorization":
        "Bearer …"}`); a bad or missing token closes the socket (4403). The session then ends with
        the token or the person (app/entrypoints/http/ws.py: 4401, 4403)."""
        params = context.connection_params or {}
        header = params.get("Authorization") or params.get("authorization")
        principal, _error = self.services.actors.principal(header if isinstance(header, str) else None)
        if principal is None:
            raise ConnectionRejectionError({"code": "UNAUTHENTICATED"})
        try:
            await self.services.actors.actor(principal)
        except NotActing:
            raise ConnectionRejectionError({"code": "UNAUTHENTICATED"}) from None
        context.principal, context.auth_error = principal, None
        return UNSET
