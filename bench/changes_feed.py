"""Change feed benchmark (issue 17): `changes(after, first: 50)` on page 1 and page 1000.

    .venv/bin/python -m bench.changes_feed                      # SQLite and PostgreSQL, 1000 pages of 50
    .venv/bin/python -m bench.changes_feed --db postgresql --pages 2000 --runs 50

Per database (a temp SQLite file; a fresh `bench_<random>` database on BENCH_POSTGRES_URL, dropped
afterwards, skipped when unreachable) one organisation gets `pages * 50` changes inserted straight
into `change_log` (plus as many of another organisation, interleaved, so the organisation filter has
work to do), as many transactions of 50 rows each (positions are (transaction id, id)). The real app
runs in-process (httpx over ASGITransport, background tasks off) and an organisation administrator
asks, `--runs` times each after 3 warm-up requests: page 1 (no cursor) and page N (the cursor of the
last change of page N-1, as a sync tool that walked there would send). On PostgreSQL the page-N
statement is also run under EXPLAIN (ANALYZE, BUFFERS): it should be one index range scan of
ix_change_log_org_position reading ~51 rows, whatever N is.
"""

from __future__ import annotations

import argparse
import asyncio
import datetime as dt
import os
import statistics
import tempfile
import time
import uuid
from typing import Any

DEFAULT_PG = os.environ.get("BENCH_POSTGRES_URL", "postgresql+asyncpg://postgres@127.0.0.1:5432")
PAGE = 50
QUERY = ("query($after: String) { changes(after: $after, first: 50) { edges { cursor node { entityType entityId kind"
         " eventType occurredAt } } pageInfo { hasNextPage endCursor } } }")


async def _pg_create(server: str) -> str | None:
    import asyncpg

    try:
        admin = await asyncpg.connect(server.replace("postgresql+asyncpg://", "postgresql://") + "/postgres", timeout=5)
    except (OSError, asyncpg.PostgresError) as exc:
        print(f"postgresql: skipped ({type(exc).__name__}: {exc})")
        return None
    name = f"bench_{uuid.uuid4().hex[:12]}"
    try:
        await admin.execute(f'CREATE DATABASE "{name}"')
    finally:
        await admin.close()
    return f"{server}/{name}"


async def _pg_drop(url: str) -> None:
    import asyncpg

    server, name = url.rsplit("/", 1)
    admin = await asyncpg.connect(server.replace("postgresql+asyncpg://", "postgresql://") + "/postgres", timeout=5)
    try:
        await admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    finally:
        await admin.close()


async def _fill(services: Any, org_ids: list[int], pages: int) -> None:
    from app.persistence.db import insert_many, write_transaction
    from app.persistence.tables.webhooks import change_log

    start = dt.datetime.now(dt.UTC) - dt.timedelta(days=1)
    n = 0
    for page in range(pages):
        async with write_transaction(services.engine) as conn:
            txid = page if conn.dialect.name == "postgresql" else 0  # below every running transaction's id
            rows = []
            for _ in range(PAGE):
                for org_id in org_ids:
                    n += 1
                    rows.append({"org_id": org_id, "txid": txid, "occurred_at": start + dt.timedelta(milliseconds=n),
                                 "event_type": "user.updated", "entity_type": "User", "entity_id": str(uuid.uuid4()),
                                 "kind": "UPDATED"})
            await insert_many(conn, change_log, rows)
    async with services.engine.connect() as conn:
        if conn.dialect.name == "postgresql":
            await conn.exec_driver_sql("ANALYZE change_log")


async def _cursor_before_page(services: Any, org_id: int, page: int) -> str | None:
    """The cursor a client holds after reading pages 1..page-1: that of the last change it saw."""
    from sqlalchemy import select

    from app.persistence.changes import ChangeRow
    from app.persistence.tables.webhooks import change_log
    from app.schema.changes import encode_change_cursor

    if page <= 1:
        return None
    c = change_log.c
    async with services.engine.connect() as conn:
        r = (await conn.execute(select(c.id, c.txid, c.occurred_at, c.event_type, c.entity_type, c.entity_id, c.kind)
                                .where(c.org_id == org_id).order_by(c.txid, c.id)
                                .offset((page - 1) * PAGE - 1).limit(1))).one()
    return encode_change_cursor(ChangeRow(r.id, r.txid, r.occurred_at, r.event_type, r.entity_type, r.entity_id,
                                          r.kind))


async def _explain(services: Any, org_id: int, cursor: str) -> str:
    from sqlalchemy.dialects import postgresql

    from app.persistence.changes import list_changes
    from app.schema.changes import decode_change_cursor

    txid, id_, _ = decode_change_cursor(cursor)
    captured: dict[str, Any] = {}

    class Capture:
        dialect = postgresql.dialect()

        async def execute(self, q: Any) -> list[Any]:
            captured["q"] = q
            return []

    await list_changes(Capture(), org_id, (txid, id_), PAGE + 1)  # type: ignore[arg-type]
    sql = str(captured["q"].compile(dialect=postgresql.dialect(), compile_kwargs={"literal_binds": True}))
    async with services.engine.connect() as conn:
        plan = (await conn.exec_driver_sql("EXPLAIN (ANALYZE, BUFFERS) " + sql.replace("%%", "%"))).scalars().all()
    return "\n".join("      " + line for line in plan)


async def _run(url: str, pages: int, runs: int) -> None:
    import httpx

    from app.adapters.jwt import sign_token
    from app.bootstrap import build_services
    from app.config import Settings
    from app.domain.common.principal import Role
    from app.entrypoints.http.app import create_app
    from app.persistence.migrate import upgrade
    from tests.factories import make_org

    settings = Settings.from_env({}, database_url=url, background_tasks=False, graphiql=False)
    services = build_services(settings)
    await upgrade(services.engine)
    org, other = await make_org(services), await make_org(services, name="Other")
    began = time.perf_counter()
    await _fill(services, [org.org_id, other.org_id], pages)
    print(f"  {2 * pages * PAGE:,} changes inserted in {time.perf_counter() - began:.1f} s")
    app = create_app(settings, services)
    token = sign_token(settings, org.people[Role.ORGANISATION_ADMINISTRATOR], org.cvr, [Role.ORGANISATION_ADMINISTRATOR])
    headers = {"Authorization": f"Bearer {token}"}
    async with app.router.lifespan_context(app):
        async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://bench") as client:
            for page in (1, pages):
                after = await _cursor_before_page(services, org.org_id, page)
                times = []
                for i in range(3 + runs):
                    t0 = time.perf_counter()
                    r = await client.post("/graphql", json={"query": QUERY, "variables": {"after": after}},
                                          headers=headers)
                    elapsed = (time.perf_counter() - t0) * 1000
                    body = r.json()
                    assert "errors" not in body, body
                    edges = body["data"]["changes"]["edges"]
                    assert len(edges) == PAGE, len(edges)
                    if i >= 3:
                        times.append(elapsed)
                times.sort()
                p95 = times[min(len(times) - 1, int(len(times) * 0.95))]
                print(f"  page {page:>5}: p50 {statistics.median(times):6.2f} ms   p95 {p95:6.2f} ms   "
                      f"max {times[-1]:6.2f} ms   ({runs} runs, 50 changes each)")
            if services.engine.dialect.name == "postgresql":
                for page in (2, pages):
                    cursor = await _cursor_before_page(services, org.org_id, page)
                    assert cursor is not None
                    print(f"  EXPLAIN of page {page}'s statement:")
                    print(await _explain(services, org.org_id, cursor))
    await services.engine.dispose()


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--db", choices=["sqlite", "postgresql", "both"], default="both")
    parser.add_argument("--pages", type=int, default=1000)
    parser.add_argument("--runs", type=int, default=30)
    parser.add_argument("--pg-url", default=DEFAULT_PG)
    args = parser.parse_args()
    if args.db in ("sqlite", "both"):
        with tempfile.TemporaryDirectory() as tmp:
            print("sqlite:")
            await _run(f"sqlite+aiosqlite:///{tmp}/bench.db", args.pages, args.runs)
    if args.db in ("postgresql", "both"):
        url = await _pg_create(args.pg_url)
        if url is not None:
            print("postgresql:")
            try:
                await _run(url, args.pages, args.runs)
            finally:
                await _pg_drop(url)


if __name__ == "__main__":
    asyncio.run(main())
