"""Schema extensions: every error carries a code; unexpected ones are masked and logged; the
request's read connection is returned to the pool when the operation ends.

Codes of request errors: GRAPHQL_PARSE_FAILED (the document does not parse),
GRAPHQL_VALIDATION_FAILED (it does not validate), BAD_USER_INPUT (a variable's value cannot be
coerced to its type: graphql-core reports it without a code, with the scalar's own error inside,
which was taken for our bug and masked as INTERNAL)."""

from __future__ import annotations

import logging
import uuid
from collections.abc import AsyncIterator, Iterator

from graphql import GraphQLError, GraphQLSyntaxError
from strawberry.extensions import ParserCache, SchemaExtension

log = logging.getLogger("app.graphql")


class ParseCache(ParserCache):
    """Strawberry's ParserCache, except that a document which does not parse is left to Strawberry's
    own parse. ParserCache raises the syntax error inside its hook, outside the `try` that turns it
    into a result: the error then skipped every on_operation hook (no code, no log line, no metric)."""

    def on_parse(self) -> Iterator[None]:
        ec = self.execution_context
        try:
            ec.graphql_document = self.cached_parse_document(ec.query, **ec.parse_options)
        except GraphQLError:
            ec.graphql_document = None  # parsed again by Strawberry, which reports the error
        yield


class ErrorCodes(SchemaExtension):
    _validated = False  # the document was valid: an error without a path comes from variable coercion

    def on_validate(self) -> Iterator[None]:  # type: ignore[override]
        yield
        # Exited after the hooks listed later (QueryLimits validates): their errors are in by now.
        self._validated = not self.execution_context.pre_execution_errors

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
        result.errors = [self._coded(e, self._validated) for e in result.errors]

    @staticmethod
    def _coded(error: GraphQLError, validated: bool = False) -> GraphQLError:
        if error.extensions and "code" in error.extensions:
            return error
        original = error.original_error
        if isinstance(error, GraphQLSyntaxError):
            return _recoded(error, "GRAPHQL_PARSE_FAILED")
        if validated and error.path is None:
            # A valid document that did not start executing: a variable's value does not fit its type.
            return _recoded(error, "BAD_USER_INPUT")
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


def _recoded(error: GraphQLError, code: str) -> GraphQLError:
    return GraphQLError(error.message, nodes=error.nodes, source=error.source, positions=error.positions,
                        path=error.path, extensions={"code": code})


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
