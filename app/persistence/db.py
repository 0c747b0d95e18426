"""Engine creation for SQLite (embedded default) and PostgreSQL (production)."""

from __future__ import annotations

import collections
import json
from collections.abc import AsyncIterator, Callable, Sequence
from contextlib import asynccontextmanager
from typing import Any

from sqlalchemy import any_, bindparam, event, insert
from sqlalchemy.dialects.postgresql import ARRAY
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine, create_async_engine


def is_sqlite(url: str) -> bool:
    return url.startswith("sqlite")


def make_engine(url: str, **kwargs: Any) -> AsyncEngine:
    if is_sqlite(url):
        engine = create_async_engine(url, connect_args={"timeout": 30}, **kwargs)

        @event.listens_for(engine.sync_engine, "connect")
        def _sqlite_pragmas(dbapi_conn: Any, _record: Any) -> None:
            cur = dbapi_conn.cursor()
            cur.execute("PRAGMA foreign_keys=ON")
            cur.execute("PRAGMA journal_mode=WAL")
            cur.execute("PRAGMA busy_timeout=30000")
            cur.close()
            # Let SQLAlchemy, not the sqlite3 module, decide when transactions begin.
            dbapi_conn.isolation_level = None

        @event.listens_for(engine.sync_engine, "begin")
        def _sqlite_begin(conn: Any) -> None:
            # `begin_write` asks for BEGIN IMMEDIATE (see there); everything else begins deferred.
            mode = conn.get_execution_options().get("sqlite_begin", "")
            conn.exec_driver_sql(f"BEGIN {mode}".strip())

        return engine
    kwargs.setdefault("pool_size", 10)
    kwargs.setdefault("max_overflow", 10)
    kwargs.setdefault("pool_pre_ping", True)
    return create_async_engine(url, **kwargs)


async def begin_write(engine: AsyncEngine) -> AsyncConnection:
    """A new connection in a write transaction; the caller commits (or rolls back) and closes it.
    On SQLite the write lock is taken at BEGIN (BEGIN IMMEDIATE): a deferred transaction that reads
    and then writes fails with "database is locked" when another writer commits in between, where an
    immediate one waits its turn (busy_timeout). PostgreSQL begins as usual (row locks, SKIP LOCKED
    and the unique constraints order its writers)."""
    conn = await engine.connect()
    try:
        await conn.execution_options(sqlite_begin="IMMEDIATE")
        await conn.begin()
    except BaseException:
        await conn.close()
        raise
    return conn


@asynccontextmanager
async def write_transaction(engine: AsyncEngine) -> AsyncIterator[AsyncConnection]:
    """`begin_write` as a block: committed when the block ends, rolled back if it raises."""
    conn = await begin_write(engine)
    try:
        yield conn
        await conn.commit()
    finally:
        await conn.close()  # rolls back whatever was not committed


async def insert_many(conn: Any, table: Any, rows: list[dict[str, Any]]) -> None:
    """Insert many rows in the connection's transaction: PostgreSQL's COPY (several times faster
    than a batch of INSERTs), elsewhere an executemany."""
    if not rows:
        return
    if conn.dialect.name != "postgresql":
        await _executemany(conn, table, rows)
        return

    from sqlalchemy import JSON

    columns = list(rows[0])
    json_columns = {c for c in columns if isinstance(table.c[c].type, JSON) or "JSON" in type(table.c[c].type).__name__}
    records = [
        tuple(json.dumps(r[c]) if c in json_columns and r[c] is not None else r[c] for c in columns) for r in rows
    ]
    raw = await conn.get_raw_connection()
    driver = raw.driver_connection
    try:
        await driver.copy_records_to_table(table.name, records=records, columns=columns)
    except Exception as exc:  # asyncpg's own errors: make them SQLAlchemy's, as an INSERT would
        from sqlalchemy.exc import IntegrityError

        if type(exc).__name__ in ("UniqueViolationError", "ForeignKeyViolationError", "NotNullViolationError"):
            raise IntegrityError("COPY", None, exc) from exc
        raise


async def _executemany(conn: Any, table: Any, rows: list[dict[str, Any]]) -> None:
    """One executemany at the driver with positional parameters, each converted by its column type's
    own bind processor (what SQLAlchemy's executemany does per row and per dict key, without the
    per-row bookkeeping: several times faster for a batch of thousands)."""
    columns = list(rows[0])
    compiled = insert(table).values({c: bindparam(c) for c in columns}).compile(dialect=conn.dialect)
    order = compiled.positiontup
    if order is None or set(order) != set(columns):  # not a positional dialect: SQLAlchemy's own way
        await conn.execute(insert(table), rows)
        return
    processors = [table.c[name].type._cached_bind_processor(conn.dialect) for name in order]
    pairs = list(zip(order, processors, strict=True))
    params = [tuple(p(r[name]) if p is not None else r[name] for name, p in pairs) for r in rows]
    await conn.exec_driver_sql(compiled.string, params)


def any_of(column: Any, name: str, dialect: str) -> Any:
    """`column` is one of the bound list `name`: `= ANY(:name)` with one array parameter on
    PostgreSQL (one statement text and plan whatever the list's length), an expanding IN elsewhere."""
    if dialect == "postgresql":
        return column == any_(bindparam(name, type_=ARRAY(column.type)))
    return column.in_(bindparam(name, expanding=True))


# Called with each statement fetch_rows sends to asyncpg itself (SQLAlchemy's before_cursor_execute does
# not see those): the tests' and the benchmark's statement counts listen here too.
RAW_STATEMENT_LISTENERS: list[Callable[[str], None]] = []
_RAW: dict[int, tuple[Any, str, tuple[str, ...], list[Any], Any]] = {}
_HOT: dict[int, Any] = {}  # statements Statements built (kept: their ids stay theirs); others go SQLAlchemy's way


async def fetch_rows(conn: AsyncConnection, statement: Any, params: dict[str, Any]) -> Sequence[Any]:
    """The rows of a built hot-path statement (Statements): on PostgreSQL compiled once and sent to
    the asyncpg connection itself, its rows asyncpg's records (index and slice like rows; a UUID is
    asyncpg's subclass of uuid.UUID); SQLAlchemy's execution costs more than asyncpg's for a page of
    related rows (measured: 1.9 vs 0.7 ms CPU for a page's history). Bind values go through each
    parameter's bind processor as SQLAlchemy's would. Elsewhere SQLAlchemy's rows."""
    if conn.dialect.name != "postgresql" or conn.dialect.driver != "asyncpg" or id(statement) not in _HOT:
        return (await conn.execute(statement, params)).all()
    cached = _RAW.get(id(statement))
    if cached is None or cached[0] is not statement:
        compiled = statement.compile(dialect=conn.dialect)
        order = tuple(compiled.positiontup or ())
        processors = [compiled._bind_processors.get(name) for name in order]
        cached = _RAW[id(statement)] = (statement, compiled.string, order, processors, compiled)
    _, sql, order, processors, compiled = cached
    values = compiled.construct_params(params)
    args = [v if p is None else p(v) for v, p in zip((values[n] for n in order), processors, strict=True)]
    for listener in RAW_STATEMENT_LISTENERS:
        listener(sql)
    raw = await conn.get_raw_connection()
    return await raw.driver_connection.fetch(sql, *args)


class Statements:
    """Statements of the hot read path, built once per dialect and key with bind parameters for every
    value: building and cache-keying a Core statement costs more than running it on a warm connection."""

    MAX = 256  # per builder: keys come from selections (a certificate list's columns), which clients choose

    def __init__(self, build: Any) -> None:
        self._build = build
        self._built: collections.OrderedDict[Any, Any] = collections.OrderedDict()

    def get(self, conn: Any, *key: Any) -> Any:
        full = (conn.dialect.name, *key)
        stmt = self._built.get(full)
        if stmt is None:
            stmt = self._built[full] = self._build(*full)
            _HOT[id(stmt)] = stmt
            if len(self._built) > self.MAX:
                _, old = self._built.popitem(last=False)
                _HOT.pop(id(old), None)
                _RAW.pop(id(old), None)
        return stmt
