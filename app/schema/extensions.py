"""Schema extensions: every error carries a code; unexpected ones are masked and logged; the
request's read connection is returned to the pool when the operation ends."""

from __future__ import annotations

import logging
import uuid
from collections.abc import AsyncIterator

from graphql import GraphQLError
from strawberry.extensions import SchemaExtension

log = logging.getLogger("app.graphql")


class ErrorCodes(SchemaExtension):
    async def on_operation(self) -> AsyncIterator[None]:  # type: ignore[override]
        try:
            yield
        finally:
            ctx = self.execution_context.context
            close = getattr(ctx, "close", None)
            if close is not None:
                await close()
        result = self.execution_context.result
        if result is None or not getattr(result, "errors", None):
            return
        result.errors = [self._coded(e) for e in result.errors]

    @staticmethod
    def _coded(error: GraphQLError) -> GraphQLError:
        if error.extensions and "code" in error.extensions:
            return error
        original = error.original_error
        if original is None:
            # Parse and validation errors: the client's query is wrong.
            return GraphQLError(
                error.message, nodes=error.nodes, source=error.source, positions=error.positions,
                path=error.path, extensions={"code": "GRAPHQL_VALIDATION_FAILED"},
            )
        if isinstance(original, GraphQLError) and original.extensions and "code" in original.extensions:
            return GraphQLError(
                original.message, nodes=error.nodes, path=error.path, extensions=original.extensions
            )
        if _database_unavailable(original):
            log.warning("database unavailable at %s: %s", error.path, original)
            return GraphQLError(
                "The service is temporarily unavailable; try again shortly", nodes=error.nodes, path=error.path,
                extensions={"code": "SERVICE_UNAVAILABLE"},
            )
        correlation = uuid.uuid4().hex
        log.error("unexpected error %s at %s", correlation, error.path, exc_info=original)
        return GraphQLError(
            "Internal server error", nodes=error.nodes, path=error.path,
            extensions={"code": "INTERNAL", "correlationId": correlation},
        )


def _database_unavailable(exc: BaseException) -> bool:
    """Connection-level failures (the database is down or unreachable), not query bugs."""
    from sqlalchemy.exc import DBAPIError, InterfaceError, OperationalError

    seen: set[int] = set()
    current: BaseException | None = exc
    while current is not None and id(current) not in seen:
        seen.add(id(current))
        if isinstance(current, (ConnectionError, TimeoutError, InterfaceError, OperationalError)):
            return True
        if isinstance(current, DBAPIError) and current.connection_invalidated:
            return True
        if isinstance(current, OSError) and current.errno is not None:
            return True
        current = current.__cause__ or current.__context__
    return False
