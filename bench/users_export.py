"""Users export benchmark (issue 17): `GET /exports/users.csv` on the scale-1 data set.

    .venv/bin/python -m bench.users_export --reuse                     # SQLite + PostgreSQL, reusing the data
    .venv/bin/python -m bench.users_export --db postgresql --reuse --repeat 5
    .venv/bin/python -m bench.users_export --db postgresql --url postgresql+asyncpg://postgres@127.0.0.1:5432/bench_x

The data set is bench.data's organisation (10k users at scale 1, ~15k authenticators, 200 groups with
30k memberships, 50k certificates, 1M history entries): `bench_dashboard_<scale>` on BENCH_POSTGRES_URL
and `var/bench/dashboard-<scale>.db`, generated afresh unless `--reuse` finds one of this scale (on
PostgreSQL `--reuse` also looks in the server's other `bench*` databases, e.g. bench_reporting_1).
It is migrated to head; PostgreSQL's tables are ANALYZEd.

The real app runs under uvicorn in a child process (background tasks off; a fresh one per variant)
and this process streams the export over a socket with httpx as the data set's user administrator (a
bearer token, as clients do), `--repeat` times after a warm-up request: the whole export (the
organisation's users that are not DELETED), `?status=ACTIVE`, `?status=CREATED` (one page: memory
should not grow with the number of pages) and `?right=<the right most groups give>` (held directly,
through a custom group or the P-unit's system group). Reported: rows/s (median), MB/s, the row count
(checked against a COUNT of the same filter), and the serving process's resident memory sampled every
10 ms: the peak growth over its idle RSS (first run / any run) and what it keeps after the last run;
then one more export from a server under tracemalloc: the peak of Python's allocations during it.

The export reads keyset pages of 1000 users in id order (app/persistence/users/export.py), each page
with its rights, authenticators and groups in one statement each. On PostgreSQL those four statements
are run under EXPLAIN (ANALYZE, BUFFERS, FORMAT JSON) for the first page and for the last page (after
the id of the last full page's last user): the scan nodes and indexes are printed. Exit status 1 when
the unfiltered keyset page reads `users` by a sequential scan, or an export returns the wrong rows.
On SQLite the page statement's EXPLAIN QUERY PLAN is printed for information.

The data set holds one organisation, so walking `pk_users` in id order finds only its users. With
`--crowd N` (default 90,000; 0 skips it) PostgreSQL's plan of the page statement is also shown in a
scratch `bench_<random>` database (dropped afterwards) where 10,000 users of ours share the table with
N users of another organisation, ids interleaved: without and with an index on users (org_id, id)
created there (shared buffers read tell the difference). For information: it does not set the exit status.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import tracemalloc
import uuid
from pathlib import Path
from typing import Any

from bench.data import DEFAULT_PG_SERVER, Dataset, default_url, ensure, find_dataset

ROOT = Path(__file__).resolve().parent.parent
SCANS = {"Seq Scan", "Index Scan", "Index Only Scan", "Bitmap Index Scan", "Bitmap Heap Scan"}
PAGE_NAMES = ("users page", "rights", "authenticators", "groups")


# --- the data set ------------------------------------------------------------------------------------------


async def _pg_candidates(server: str) -> list[str]:
    import asyncpg

    admin = await asyncpg.connect(server.replace("postgresql+asyncpg://", "postgresql://") + "/postgres", timeout=5)
    try:
        rows = await admin.fetch("SELECT datname FROM pg_database WHERE datname LIKE 'bench%' ORDER BY datname")
    finally:
        await admin.close()
    return [f"{server}/{r['datname']}" for r in rows]


async def _found(url: str, scale: float) -> Dataset | None:
    try:
        return await find_dataset(url, scale)
    except Exception:  # noqa: BLE001 - no such database
        return None


async def _dataset(db: str, url: str | None, server: str, scale: float, reuse: bool) -> Dataset:
    if url is None:
        url = default_url(db, scale)
        if db == "postgresql" and reuse and await _found(url, scale) is None:
            for candidate in await _pg_candidates(server):
                if candidate != url and await _found(candidate, scale) is not None:
                    url = candidate
                    break
    return await ensure(url, scale, reuse)


async def _prepare(ds: Dataset) -> dict[str, Any]:
    """Migrate, ANALYZE (PostgreSQL), pick the filters' values and count what each variant must return."""
    from sqlalchemy import func, select, text

    from app.domain.users.model import UserFilter, UserStatus
    from app.persistence.db import make_engine
    from app.persistence.migrate import upgrade
    from app.persistence.tables.user_groups import user_group_rights, user_groups
    from app.persistence.tables.users import users
    from app.persistence.users.reads import _filtered

    engine = make_engine(ds.url)
    try:
        await upgrade(engine)
        if ds.db == "postgresql":
            async with engine.connect() as conn:
                await conn.execution_options(isolation_level="AUTOCOMMIT")
                for table in ("users", "user_rights", "user_authenticators", "user_group_members", "user_groups"):
                    await conn.execute(text(f"ANALYZE {table}"))
        async with engine.connect() as conn:
            right = (await conn.execute(
                select(user_group_rights.c.code).join(user_groups, user_groups.c.id == user_group_rights.c.group_id)
                .where(user_groups.c.org_id == ds.org_id).group_by(user_group_rights.c.code)
                .order_by(func.count().desc(), user_group_rights.c.code).limit(1))).scalar()
            filters = {
                "all": ({}, UserFilter()),
                "status=ACTIVE": ({"status": "ACTIVE"}, UserFilter(status=UserStatus.ACTIVE)),
                "status=CREATED": ({"status": "CREATED"}, UserFilter(status=UserStatus.CREATED)),
            }
            if right:
                filters[f"right={right}"] = ({"right": right}, UserFilter(right=right))
            variants = []
            for name, (params, f) in filters.items():
                count = (await conn.execute(_filtered(select(func.count()).select_from(users), ds.org_id, f))).scalar_one()
                variants.append({"name": name, "params": params, "expected": int(count)})
            # the keyset position of the last page: after the last user of the last full page
            total = variants[0]["expected"]
            deep_at = max(0, (total - 1) // 1000 * 1000)
            deep_after = None
            if deep_at:
                deep_after = (await conn.execute(
                    _filtered(select(users.c.id), ds.org_id, UserFilter()).order_by(users.c.id)
                    .offset(deep_at - 1).limit(1))).scalar_one()
    finally:
        await engine.dispose()
    return {"variants": variants, "deep_after": deep_after, "deep_page": deep_at // 1000 + 1}


# --- the server (a child process) --------------------------------------------------------------------------


def _serve(info: dict[str, Any]) -> None:
    import uvicorn

    from app.config import Settings
    from app.entrypoints.http.app import create_app

    settings = Settings.from_env({}, database_url=info["url"], background_tasks=False, graphiql=False)
    app = create_app(settings)
    if not info.get("traced"):
        uvicorn.run(app, host="127.0.0.1", port=info["port"], log_level="warning")
        return
    tracemalloc.start()

    async def traced(scope: Any, receive: Any, send: Any) -> None:
        """The app, plus GET /__bench/tracemalloc[?reset]: Python's allocations (bytes) now and at the peak."""
        if scope["type"] == "http" and scope["path"] == "/__bench/tracemalloc":
            current, peak = tracemalloc.get_traced_memory()
            if scope["query_string"] == b"reset":
                tracemalloc.reset_peak()
            await send({"type": "http.response.start", "status": 200,
                        "headers": [(b"content-type", b"application/json")]})
            await send({"type": "http.response.body", "body": json.dumps({"current": current, "peak": peak}).encode()})
            return
        await app(scope, receive, send)

    uvicorn.run(traced, host="127.0.0.1", port=info["port"], log_level="warning")


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _rss_mb(pid: int) -> float:
    with open(f"/proc/{pid}/statm") as f:
        return int(f.read().split()[1]) * os.sysconf("SC_PAGE_SIZE") / 2**20


class Server:
    def __init__(self, url: str, traced: bool = False) -> None:
        self.port = _free_port()
        self.log = tempfile.TemporaryFile("w+")  # the server's stderr, shown when something fails
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "bench.users_export", "--serve", json.dumps({"url": url, "port": self.port, "traced": traced})],
            cwd=ROOT, stdout=subprocess.DEVNULL, stderr=self.log, text=True,
        )
        deadline = time.monotonic() + 60
        while True:
            if self.proc.poll() is not None:
                raise RuntimeError(f"the server exited ({self.proc.returncode}): {self.stderr()}")
            with socket.socket() as s:
                if s.connect_ex(("127.0.0.1", self.port)) == 0:
                    break
            if time.monotonic() > deadline:
                self.stop()
                raise RuntimeError("the server did not start within 60 s")
            time.sleep(0.05)

    def stderr(self) -> str:
        self.log.seek(0)
        return self.log.read()[-3000:]

    def rss_mb(self) -> float:
        return _rss_mb(self.proc.pid)

    def stop(self) -> None:
        self.proc.terminate()
        try:
            self.proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()
        self.log.close()


def _stream(client: Any, server: Server, url: str, params: dict[str, str], idle: float) -> dict[str, Any]:
    peak = server.rss_mb()
    stop = threading.Event()

    def sample() -> None:
        nonlocal peak
        while not stop.wait(0.01):
            peak = max(peak, server.rss_mb())

    sampler = threading.Thread(target=sample, daemon=True)
    sampler.start()
    lines = size = 0
    started = time.perf_counter()
    try:
        with client.stream("GET", url, params=params) as response:
            if response.status_code != 200:
                raise RuntimeError(f"HTTP {response.status_code}: {response.read()[:300]!r}")
            for chunk in response.iter_bytes():
                size += len(chunk)
                lines += chunk.count(b"\n")  # no exported value holds a newline in the data set
        elapsed = time.perf_counter() - started
    finally:
        stop.set()
        sampler.join()
    rows = lines - 1
    return {"rows": rows, "seconds": elapsed, "rows_per_s": rows / elapsed, "mb": size / 2**20,
            "growth_mb": peak - idle}


def _traced_peak(token: str, db_url: str, params: dict[str, str]) -> float:
    """One export from a server under tracemalloc: the peak of Python's allocations over those before it."""
    import httpx

    server = Server(db_url, traced=True)
    base = f"http://127.0.0.1:{server.port}"
    try:
        with httpx.Client(timeout=600, headers={"Authorization": f"Bearer {token}"}) as client:
            client.get(f"{base}/exports/users.csv", params={"search": "no such user"}).raise_for_status()
            before = client.get(f"{base}/__bench/tracemalloc?reset").json()["current"]
            with client.stream("GET", f"{base}/exports/users.csv", params=params) as response:
                response.raise_for_status()
                for _ in response.iter_bytes():
                    pass
            peak = client.get(f"{base}/__bench/tracemalloc").json()["peak"]
    except Exception as exc:
        raise RuntimeError(f"the traced export failed: {exc!r}\n--- the server's stderr ---\n{server.stderr()}") from exc
    finally:
        server.stop()
    return float(peak - before) / 2**20


def _measure(ds: Dataset, variants: list[dict[str, Any]], repeat: int) -> list[dict[str, Any]]:
    import httpx

    from app.adapters.jwt import sign_token
    from app.config import Settings
    from app.domain.common.principal import Role

    settings = Settings.from_env({}, database_url=ds.url, background_tasks=False, graphiql=False)
    token = sign_token(settings, ds.admin_id, ds.cvr, [Role.USER_ADMINISTRATOR])
    out = []
    for v in variants:  # a fresh server per variant: its memory growth is its own
        server = Server(ds.url)
        url = f"http://127.0.0.1:{server.port}/exports/users.csv"
        try:
            with httpx.Client(timeout=600, headers={"Authorization": f"Bearer {token}"}) as client:
                warm = client.get(url, params={"search": "no such user"})
                if warm.status_code != 200:
                    raise RuntimeError(f"warm-up: HTTP {warm.status_code}: {warm.text[:300]}")
                time.sleep(0.3)
                idle = server.rss_mb()
                runs = [_stream(client, server, url, v["params"], idle) for _ in range(repeat)]
                time.sleep(0.3)
                kept = server.rss_mb() - idle
        except Exception as exc:
            raise RuntimeError(f"the export failed: {exc!r}\n--- the server's stderr ---\n{server.stderr()}") from exc
        finally:
            server.stop()
        traced = _traced_peak(token, ds.url, v["params"])
        by_speed = sorted(runs, key=lambda r: r["rows_per_s"])
        out.append({**v, "traced_mb": traced, **by_speed[len(by_speed) // 2], "rows_per_s": statistics.median(r["rows_per_s"] for r in runs),
                    "growth_mb": max(r["growth_mb"] for r in runs), "first_growth_mb": runs[0]["growth_mb"],
                    "idle_mb": idle, "kept_mb": kept, "rows_seen": sorted({r["rows"] for r in runs})})
    return out


# --- the plans ---------------------------------------------------------------------------------------------


def _walk(plan: dict[str, Any]) -> list[tuple[str, str | None, str | None]]:
    found = []
    if plan.get("Node Type") in SCANS:
        found.append((plan["Node Type"], plan.get("Relation Name"), plan.get("Index Name")))
    for child in plan.get("Plans", []):
        found += _walk(child)
    return found


def _buffers(plan: dict[str, Any]) -> int:
    return int(plan.get("Shared Hit Blocks", 0)) + int(plan.get("Shared Read Blocks", 0))


async def _explain(ds: Dataset, after: uuid.UUID | None) -> list[dict[str, Any]]:
    """The export page's statements as the export runs them (captured), then under EXPLAIN."""
    from sqlalchemy import event

    from app.domain.users.model import UserFilter
    from app.persistence.db import make_engine
    from app.persistence.users.export import export_page

    engine = make_engine(ds.url)
    captured: list[tuple[str, Any]] = []

    def capture(conn: Any, cursor: Any, statement: str, parameters: Any, context: Any, executemany: bool) -> None:
        if statement.lstrip().upper().startswith(("SELECT", "WITH")):
            captured.append((statement, parameters))

    out = []
    try:
        async with engine.connect() as conn:
            event.listen(engine.sync_engine, "before_cursor_execute", capture)
            try:
                page = await export_page(conn, ds.org_id, UserFilter(), after, 1000)
            finally:
                event.remove(engine.sync_engine, "before_cursor_execute", capture)
            for name, (statement, parameters) in zip(PAGE_NAMES, captured, strict=False):
                if ds.db == "postgresql":
                    raw = (await conn.exec_driver_sql(
                        f"EXPLAIN (ANALYZE, BUFFERS, FORMAT JSON) {statement}", parameters)).scalar()
                    doc = (json.loads(raw) if isinstance(raw, str) else raw)[0]
                    out.append({"name": name, "scans": _walk(doc["Plan"]), "ms": doc.get("Execution Time"),
                                "rows": len(page), "buffers": _buffers(doc["Plan"])})
                else:
                    plan = (await conn.exec_driver_sql(f"EXPLAIN QUERY PLAN {statement}", parameters)).all()
                    out.append({"name": name, "plan": [str(r[-1]) for r in plan], "rows": len(page)})
            await conn.rollback()
    finally:
        await engine.dispose()
    return out


async def _crowded(server: str, ours: int, others: int) -> tuple[int, list[tuple[str, list[dict[str, Any]]]]]:
    """The unfiltered page statement's plans when the table also holds other organisations' users.

    The data set has one organisation, so `pk_users` walked in id order finds only ours; in a shared
    database it also walks everybody else's. A fresh `bench_<random>` database (dropped afterwards):
    `ours` users of one organisation and `others` of another, ids interleaved at random, ANALYZEd."""
    import datetime as dt

    import asyncpg
    from sqlalchemy import insert, text

    from app.domain.common.organisation import OrganisationSettings, PUnit, SeNumber
    from app.persistence.db import make_engine
    from app.persistence.migrate import upgrade
    from app.persistence.organisations import create_organisation
    from app.persistence.tables.users import users

    admin = await asyncpg.connect(server.replace("postgresql+asyncpg://", "postgresql://") + "/postgres", timeout=5)
    name = f"bench_{uuid.uuid4().hex[:10]}"
    await admin.execute(f'CREATE DATABASE "{name}"')
    url = f"{server}/{name}"
    try:
        engine = make_engine(url)
        try:
            await upgrade(engine)
            now = dt.datetime.now(dt.UTC)
            async with engine.begin() as conn:
                org_ids = [await create_organisation(
                    conn, cvr=cvr, name=f"Crowd {cvr}", p_units=[PUnit(f"100000000{i}", "Unit")],
                    se_numbers=[SeNumber(cvr, "Crowd")], settings=OrganisationSettings(), now=now,
                ) for i, cvr in enumerate(("12345674", "23456781"))]
                owners = [org_ids[0]] * ours + [org_ids[1]] * others
                for start in range(0, len(owners), 20_000):
                    await conn.execute(insert(users), [
                        {"id": uuid.uuid4(), "org_id": owner, "first_name": "Crowd", "last_name": f"U{n}",
                         "email": f"u{n}@crowd.dk", "email_lower": f"u{n}@crowd.dk", "identification": "DATE_OF_BIRTH",
                         "status": "ACTIVE", "created_at": now}
                        for n, owner in enumerate(owners[start:start + 20_000], start)
                    ])
            async with engine.connect() as conn:
                await conn.execution_options(isolation_level="AUTOCOMMIT")
                await conn.execute(text("ANALYZE users"))
                deep_at = (ours - 1) // 1000 * 1000
                deep_after = (await conn.execute(text(
                    "SELECT id FROM users WHERE org_id = :o ORDER BY id OFFSET :n LIMIT 1"), {"o": org_ids[0], "n": deep_at - 1}
                )).scalar_one()
        finally:
            await engine.dispose()
        ds = Dataset(url=url, org_id=org_ids[0], cvr="12345674", name="crowd", scale=0, admin_id=uuid.uuid4(),
                     hot_user_id=uuid.uuid4(), hot_entries=0)
        deep = f"page {deep_at // 1000 + 1}"
        plans = [("page 1", (await _explain(ds, None))[:1]), (deep, (await _explain(ds, deep_after))[:1])]
        engine = make_engine(url)
        try:  # what an index on (org_id, id) would do (only in this scratch database)
            async with engine.connect() as conn:
                await conn.execution_options(isolation_level="AUTOCOMMIT")
                await conn.execute(text("CREATE INDEX ix_bench_users_org_id ON users (org_id, id)"))
                await conn.execute(text("ANALYZE users"))
        finally:
            await engine.dispose()
        plans += [("+(org_id,id) page 1", (await _explain(ds, None))[:1]),
                  (f"+(org_id,id) {deep}", (await _explain(ds, deep_after))[:1])]
    finally:
        await admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        await admin.close()
    return org_ids[0], plans


# --- the report --------------------------------------------------------------------------------------------


def _run(db: str, args: argparse.Namespace) -> int:
    if db == "postgresql" and args.url is None:
        try:
            asyncio.run(_pg_candidates(args.pg_server))
        except Exception as exc:  # noqa: BLE001 - any failure to reach the server skips it
            print(f"\n== postgresql: skipped, not reachable at {args.pg_server}: {exc}")
            return 0
    url = args.url if args.url else None
    ds = asyncio.run(_dataset(db, url, args.pg_server, args.scale, args.reuse))
    print(f"\n== {db}: {ds.url} ({ds.rows.get('users', 0):,} users in the organisation, scale {ds.scale:g})", flush=True)
    prep = asyncio.run(_prepare(ds))
    variants = prep["variants"] if args.filters else prep["variants"][:1]
    results = _measure(ds, variants, args.repeat)
    failed = 0
    print(f"export over a socket, median of {args.repeat}; the serving process's resident memory over its idle "
          f"RSS ({results[0]['idle_mb']:.0f} MB): peak growth (the first run / any run), kept after the last run; "
          f"traced = tracemalloc peak of one export in another server")
    print(f"{'variant':<28} {'rows':>7} {'rows/s':>9} {'s':>6} {'MB':>6} {'MB/s':>6} {'growth MB':>12} {'kept MB':>8} {'traced MB':>9}")
    for r in results:
        wrong = r["rows_seen"] != [r["expected"]]
        failed += wrong
        note = f"  WRONG ROW COUNT {r['rows_seen']} (expected {r['expected']})" if wrong else ""
        print(f"{r['name']:<28} {r['rows']:>7,} {r['rows_per_s']:>9,.0f} {r['seconds']:>6.2f} {r['mb']:>6.1f} "
              f"{r['mb'] / r['seconds']:>6.1f} {r['first_growth_mb']:>5.1f} / {r['growth_mb']:<4.1f} {r['kept_mb']:>8.1f} {r['traced_mb']:>9.2f}{note}")
    pages = [("page 1", None), (f"page {prep['deep_page']}", prep["deep_after"])] if prep["deep_after"] else [("page 1", None)]
    if db == "postgresql":
        print(f"\n{'EXPLAIN ANALYZE (unfiltered)':<28} {'SQL ms':>7}  scans (index used)")
    else:
        print("\nEXPLAIN QUERY PLAN (unfiltered keyset page statement)")
    for label, after in pages:
        for e in asyncio.run(_explain(ds, after)):
            if db != "postgresql":
                if e["name"] == "users page":
                    print(f"  {label}: " + "; ".join(e["plan"]))
                continue
            scans = e["scans"]
            seq = sorted({rel or "?" for kind, rel, _ in scans if kind == "Seq Scan"})
            shown = ", ".join(f"{rel}: {idx}" if rel and idx else (f"{rel}: {kind}" if rel else f"({kind} {idx})")
                              for kind, rel, idx in scans)
            bad = e["name"] == "users page" and "users" in seq
            failed += bad
            print(f"{label + ' ' + e['name']:<28} {e['ms'] or 0:>7.1f}  {shown}"
                  f"{'  <- SEQUENTIAL SCAN OF users' if bad else ''}")
    if db == "postgresql" and args.crowd:
        _, crowded = asyncio.run(_crowded(args.pg_server, 10_000, args.crowd))
        print(f"\nthe same page statement, 10,000 users of ours among {args.crowd:,} of another organisation "
              "(a scratch database; for information, not checked; `+(org_id,id)`: with an index on users (org_id, id) added there):")
        for label, plans in crowded:
            for e in plans:
                print(f"{label + ' ' + e['name']:<32} {e['ms'] or 0:>7.1f}  " + ", ".join(
                    f"{rel}: {idx}" if rel and idx else (f"{rel}: {kind}" if rel else f"({kind} {idx})")
                    for kind, rel, idx in e["scans"]) + f"  ({e['buffers']} buffers)")
    return 1 if failed else 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.users_export", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--db", choices=["sqlite", "postgresql", "both"], default="both")
    parser.add_argument("--url", help="the data set's database (default: bench.data's for --db and --scale)")
    parser.add_argument("--pg-server", default=DEFAULT_PG_SERVER, help="PostgreSQL server URL without database")
    parser.add_argument("--scale", type=float, default=1.0, help="bench.data's scale (1.0 = 10k users)")
    parser.add_argument("--reuse", action="store_true", help="reuse a generated data set of this scale")
    parser.add_argument("--repeat", type=int, default=3, help="exports per variant; the median is reported")
    parser.add_argument("--no-filters", dest="filters", action="store_false", help="only the whole export")
    parser.add_argument("--crowd", type=int, default=90_000, metavar="N",
                        help="PostgreSQL: also EXPLAIN the page among N other organisations' users (0: skip)")
    parser.add_argument("--serve", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.serve:
        _serve(json.loads(args.serve))
        return 0
    if args.url:
        kinds = ["sqlite" if args.url.startswith("sqlite") else "postgresql"]
    else:
        kinds = ["sqlite", "postgresql"] if args.db == "both" else [args.db]
    print(f"Python {sys.version.split()[0]}, {os.cpu_count()} CPUs; GET /exports/users.csv, uvicorn child + httpx")
    return max(_run(kind, args) for kind in kinds)


if __name__ == "__main__":
    sys.exit(main())
