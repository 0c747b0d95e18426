"""The read path of one request: one pooled connection, used by one statement at a time (an
AsyncConnection must never run two at once), every read scoped to one organisation.

A read is a query function of an area's persistence module, `query(conn, org_id, *args)`, run
through the session: `await session.run(users.count_users, user_filter)`. The session adds the
connection and the organisation; the query function is the one place its statement is written."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from typing import Concatenate, ParamSpec, TypeVar

from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

P = ParamSpec("P")
T = TypeVar("T")


class SessionClosed(RuntimeError):
    """A read after the request's operation ended: work it abandoned (a loader's batch still running
    when a sibling root field failed) must not open a connection nobody would return."""


class ReadSession:
    def __init__(self, engine: AsyncEngine, org_id: int) -> None:
        self._engine = engine
        self.org_id = org_id
        self._conn: AsyncConnection | None = None
        self._lock = asyncio.Lock()
        self._closed = False

    async def run(
        self, query: Callable[Concatenate[AsyncConnection, int, P], Awaitable[T]], *args: P.args, **kwargs: P.kwargs
    ) -> T:
        """`query(conn, org_id, *args)` on the request's connection, scoped to its organisation."""
        async with self._lock:
            return await query(await self._connection(), self.org_id, *args, **kwargs)

    async def run_shared(
        self, query: Callable[Concatenate[AsyncConnection, P], Awaitable[T]], *args: P.args, **kwargs: P.kwargs
    ) -> T:
        """A read of data every organisation shares (the rights catalogue): no organisation to scope by."""
        async with self._lock:
            return await query(await self._connection(), *args, **kwargs)

    def bind(
        self, query: Callable[Concatenate[AsyncConnection, int, P], Awaitable[T]]
    ) -> Callable[P, Awaitable[T]]:
        """`query` as a function of its own arguments (what a loader's batch function calls)."""

        def bound(*args: P.args, **kwargs: P.kwargs) -> Awaitable[T]:
            return self.run(query, *args, **kwargs)

        return bound

    async def _connection(self) -> AsyncConnection:
        if self._closed:
            raise SessionClosed("the request's read session is closed")
        if self._conn is None:
            conn = await self._engine.connect()
            if conn.dialect.name == "postgresql":
                # READ COMMITTED (the default) gives each statement its own snapshot, transaction or
                # not: a transaction around a request's reads would only add BEGIN and ROLLBACK round
                # trips. (SQLite keeps its read transaction: one WAL snapshot for the request.)
                await conn.execution_options(isolation_level="AUTOCOMMIT")
            self._conn = conn
        return self._conn

    async def close(self) -> None:
        """Return the connection; a statement still running finishes first (under the lock: closing
        under it broke the connection, "another operation is in progress"), and later reads fail."""
        self._closed = True
        async with self._lock:
            if self._conn is not None:
                conn, self._conn = self._conn, None
                await conn.rollback()
                await conn.close()
