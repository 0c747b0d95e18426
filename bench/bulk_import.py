"""Bulk CSV import benchmark (issue 3, "Speed"): the real GraphQL import against a raw bulk INSERT.

    .venv/bin/python -m bench.bulk_import                       # 10k + 100k rows, SQLite + PostgreSQL
    .venv/bin/python -m bench.bulk_import --rows 10000          # the quick run
    .venv/bin/python -m bench.bulk_import --db sqlite --profile # plus a cProfile of one import

For each database and file size it measures, each in a fresh child process (so the peak-memory
figures of one measurement do not hide in memory the allocator kept from another):

* gateway import  - a GraphQL multipart POST of `importUsers(input: {file, operation: CREATE})` to the
  real app (in-process via httpx.ASGITransport: no socket, no uvicorn), then `bulkJob` polled until
  SUCCEEDED; wall time from the start of the upload to SUCCEEDED seen by the client.
* baseline executemany - the same rows parsed with the csv module (no validation), the column values
  the import stores (incl. the CPR HMAC and AES-GCM ciphertext), `conn.execute(insert(users), batch)`
  in batches of 1000 in one transaction: SQLAlchemy Core, the app's engine and driver.
* baseline COPY (PostgreSQL) - the same values through asyncpg's `copy_records_to_table`.

Every measurement gets its own organisation in one database per backend; afterwards the organisation
is deleted again (cascade) and the database checkpointed, so each starts from the same table state.
"""

from __future__ import annotations

import argparse
import asyncio
import codecs
import contextlib
import csv
import datetime as dt
import gc
import json
import os
import platform as pyplatform
import resource
import shutil
import sqlite3
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
DEFAULT_PG = os.environ.get("BENCH_POSTGRES_URL", "postgresql+asyncpg://postgres@127.0.0.1:5432")
RESULT_MARK = "BENCH_RESULT "
BATCH = 1000
TARGET = 0.30

IMPORT = """mutation($file: Upload!) {
  importUsers(input: {file: $file, operation: CREATE}) { job { id status } userErrors { field code message } }
}"""
JOB = """query($id: ID!) {
  bulkJob(id: $id) {
    status errorCount progress { processed total } result { created }
    rowErrors(first: 5) { line column code message }
  }
}"""

# --- 1. the files ------------------------------------------------------------------------------------

FIRST = ["Søren", "Åse", "Jørgen", "Mette", "Bjørn", "Ærø", "Lærke", "Østen", "Anne", "Mads", "Frederik", "Sofie"]
LAST = ["Sørensen", "Møller", "Ågård", "Kjær", "Hansen", "Bækgaard", "Lærkesen", "Østergaard", "Nielsen", "Jensen"]
_ASCII = str.maketrans({"æ": "ae", "ø": "oe", "å": "aa", "Æ": "Ae", "Ø": "Oe", "Å": "Aa"})
_FIRST_DAY = dt.date(1940, 1, 1)
_DAYS = (dt.date(1999, 12, 31) - _FIRST_DAY).days + 1  # 21914 = 2 × 10957; 7919 is coprime to it


def _cpr(k: int) -> str:
    """The k-th CPR number: a real date 1940-1999 and a serial whose 7th digit (0-3) says 1900s.
    (day, serial) is a bijection of k for k < 4000 × _DAYS, so every number is unique."""
    day = (k * 7919) % _DAYS
    serial = ((k // _DAYS) * 1013 + day * 37) % 4000
    d = _FIRST_DAY + dt.timedelta(days=day)
    return f"{d.day:02d}{d.month:02d}{d.year % 100:02d}-{serial:04d}"


def generate_csv(path: Path, rows: int) -> None:
    """A valid create file: BOM, the template's header, `;`, CRLF; half CPR users, half date of birth."""
    from app.domain.bulk.csv_file import COLUMNS

    with path.open("w", encoding="utf-8", newline="") as f:
        f.write(codecs.BOM_UTF8.decode("utf-8"))
        w = csv.writer(f, delimiter=";", lineterminator="\r\n")
        w.writerow(COLUMNS)
        for i in range(rows):
            first, last = FIRST[i % len(FIRST)], LAST[(i // len(FIRST)) % len(LAST)]
            email = f"{first.translate(_ASCII).lower()}.{last.translate(_ASCII).lower()}.{i}@bench{rows}.dk"
            cpr = _cpr(i // 2) if i % 2 == 0 else ""
            born = "" if cpr else (_FIRST_DAY + dt.timedelta(days=(i * 31) % _DAYS)).strftime("%d-%m-%Y")
            phone = f"+45 {20000000 + i}" if i % 3 == 0 else ""
            reference = f"Afd. {i % 7}; løn {i}" if i % 5 == 0 else (f"EMP-{i}" if i % 2 else "")  # some quoted
            private = "Ja" if i % 4 in (0, 1) else "Nej"
            w.writerow(["", first, last, cpr, born, email, phone, reference, "", "", "Nej", private, "", "Nej", "Nej"])


# --- 2./3. the measurements (in a child process) ------------------------------------------------------


class PeakRss:
    """Samples the process's resident set size every few ms in a thread; peak growth over the start."""

    def __init__(self, interval: float = 0.005) -> None:
        self.interval = interval
        self.page = os.sysconf("SC_PAGE_SIZE")
        self._fd = os.open("/proc/self/statm", os.O_RDONLY)
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)
        self.start_rss = self.peak = 0
        self.maxrss_before = 0

    def rss(self) -> int:
        return int(os.pread(self._fd, 200, 0).split()[1]) * self.page

    def _run(self) -> None:
        while not self._stop.wait(self.interval):
            self.peak = max(self.peak, self.rss())

    def __enter__(self) -> PeakRss:
        gc.collect()
        self.start_rss = self.peak = self.rss()
        self.maxrss_before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join()
        self.peak = max(self.peak, self.rss())
        maxrss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024
        if maxrss > self.maxrss_before:  # the kernel saw a higher peak than we sampled
            self.peak = max(self.peak, maxrss)
        os.close(self._fd)

    @property
    def growth_mb(self) -> float:
        return (self.peak - self.start_rss) / 2**20


# The users columns the import writes (SqlUserRepository.add_many), in COPY order.
USER_COLUMNS = (
    "id", "org_id", "first_name", "last_name", "email", "email_lower", "phone", "reference", "identification",
    "cpr_hash", "cpr_encrypted", "cpr_masked", "date_of_birth", "anonymous", "status", "p_number", "se_number",
    "can_sign", "can_create_seal", "deactivated_from", "deactivated_until", "created_at", "activated_at",
    "last_login_at", "deleted_at", "notification_channel", "version",
)


def raw_rows(csv_path: Path, org_id: int, p_default: str, se_default: str, platform: Any) -> Iterator[tuple[Any, ...]]:
    """The baseline's rows: csv module, no validation; values as the import would store them."""
    now = dt.datetime.now(dt.UTC)
    uuid4, date = uuid.uuid4, dt.date
    hash_cpr, encrypt_cpr = platform.hash_cpr, platform.encrypt_cpr
    with csv_path.open(encoding="utf-8-sig", newline="") as f:
        reader = csv.reader(f, delimiter=";")
        next(reader)
        for c in reader:
            cpr, email, phone = c[3], c[5], c[6]
            if cpr:
                cpr10 = cpr[:6] + cpr[7:]
                yy, s7 = int(cpr[4:6]), int(cpr[7])
                century = 1900 if s7 <= 3 else (2000 if yy <= (36 if s7 in (4, 9) else 57) else (1900 if s7 in (4, 9) else 1800))
                born = date(century + yy, int(cpr[2:4]), int(cpr[:2]))
                ident, cpr_hash, cpr_enc, masked = "CPR", hash_cpr(cpr10), encrypt_cpr(cpr10), cpr[:6] + "-****"
            else:
                b = c[4]
                born = date(int(b[6:]), int(b[3:5]), int(b[:2]))
                ident, cpr_hash, cpr_enc, masked = "DATE_OF_BIRTH", None, None, None
            yield (
                uuid4(), org_id, c[1], c[2], email, email.lower(), phone.replace(" ", "") or None, c[7] or None, ident,
                cpr_hash, cpr_enc, masked, born, c[10] == "Ja", "CREATED", c[8] or p_default, c[9] or se_default,
                c[13] == "Ja", c[14] == "Ja", None, None, now, None, None, None, "BOTH", 1,
            )


async def _measure_import(services: Any, org: Any, spec: dict[str, Any]) -> dict[str, Any]:
    import httpx

    from app.adapters.jwt import sign_token
    from app.domain.common.principal import Role
    from app.entrypoints.http.app import create_app

    settings = services.settings
    csv_path = Path(spec["csv"])
    app = create_app(settings, services)
    token = sign_token(settings, org.people[Role.USER_ADMINISTRATOR], org.cvr, [Role.USER_ADMINISTRATOR])
    headers = {"Authorization": f"Bearer {token}"}
    committed = _watch_runner(services)
    snapshot = _watch_memory() if spec.get("tracemalloc") else None
    profiler = None
    if spec.get("profile"):
        import cProfile

        profiler = cProfile.Profile()
    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://bench", timeout=None) as client:

            async def gql(query: str, variables: dict[str, Any]) -> dict[str, Any]:
                r = await client.post("/graphql", json={"query": query, "variables": variables}, headers=headers)
                body = r.json()
                if r.status_code != 200 or body.get("errors"):
                    raise RuntimeError(f"GraphQL error: {r.status_code} {body}")
                return body["data"]

            await gql("{ viewer { roles } }", {})  # warm-up: schema, auth, first statement of each kind
            operations = json.dumps({"query": IMPORT, "variables": {"file": None}})
            file_map = json.dumps({"0": ["variables.file"]})
            polls = 0
            with PeakRss() as mem:
                if snapshot is not None:
                    import tracemalloc

                    tracemalloc.start(1)
                if profiler:
                    profiler.enable()
                t0 = time.perf_counter()
                with csv_path.open("rb") as f:  # streamed from disk by httpx's multipart encoder
                    r = await client.post(
                        "/graphql", data={"operations": operations, "map": file_map},
                        files={"0": (csv_path.name, f, "text/csv")}, headers=headers,
                    )
                uploaded = time.perf_counter() - t0
                body = r.json()
                payload = (body.get("data") or {}).get("importUsers") or {}
                if r.status_code != 200 or body.get("errors") or payload.get("userErrors") or not payload.get("job"):
                    raise RuntimeError(f"importUsers refused the file: {r.status_code} {body}")
                job_id = payload["job"]["id"]
                deadline = t0 + spec["timeout"]
                while True:
                    # ≥ 0.2 s apart (a poll costs the event loop the import runs on a few ms); the
                    # measurement ends at the commit anyway, the poll only has to see it
                    await asyncio.sleep(min(2.0, max(0.2, 0.1 * (time.perf_counter() - t0))))
                    job = (await gql(JOB, {"id": job_id}))["bulkJob"]
                    polls += 1
                    if job["status"] in ("SUCCEEDED", "FAILED"):
                        break
                    if time.perf_counter() > deadline:
                        job["status"] = "TIMEOUT"
                        break
                observed = time.perf_counter() - t0
                if profiler:
                    profiler.disable()
                if snapshot is not None:
                    import tracemalloc

                    snapshot["peak_mb"] = tracemalloc.get_traced_memory()[1] / 2**20
                    tracemalloc.stop()
    # The job is SUCCEEDED the moment the runner's transaction commits; the client sees it at its next poll.
    done = (committed[0] - t0) if committed and job["status"] != "TIMEOUT" else observed
    out: dict[str, Any] = {
        "method": "import", "seconds": done, "observed_seconds": observed, "upload_seconds": uploaded,
        "polls": polls, "status": job["status"], "created": (job.get("result") or {}).get("created"),
        "progress": job.get("progress"), "row_errors": job.get("rowErrors"), "error_count": job.get("errorCount"),
        "peak_mb": mem.growth_mb, "rss_start_mb": mem.start_rss / 2**20, "end": "commit" if committed else "poll",
    }
    if profiler:
        out["profile"] = _profile_report(profiler)
    if snapshot is not None:
        out["tracemalloc"] = _tracemalloc_report(snapshot)
    return out


def _watch_runner(services: Any) -> list[float]:
    """Note when the runner is done with a job (after its commit), by wrapping - not changing - the
    BulkRunner's completion step (the runner is made by the app's background tasks). Without that
    hook the client's poll marks the end."""
    from app.entrypoints.workers.bulk_runner import BulkRunner

    committed: list[float] = []
    finished = BulkRunner._finished

    def _finished(self: Any, job: Any) -> None:
        committed.append(time.perf_counter())
        finished(self, job)

    BulkRunner._finished = _finished  # type: ignore[method-assign]
    return committed


def _watch_memory() -> dict[str, Any]:
    """For --tracemalloc: a snapshot of the Python heap when the import has gone through every row
    (just before it records the job's history entry), i.e. with everything it kept per row."""
    import tracemalloc

    from app.domain.bulk import importer as bulk

    state: dict[str, Any] = {}
    original = getattr(bulk, "record", None)
    if original is None:
        return state

    async def record(*args: Any, **kwargs: Any) -> Any:
        if tracemalloc.is_tracing() and "snapshot" not in state:
            state["snapshot"] = tracemalloc.take_snapshot()
            state["current_mb"] = tracemalloc.get_traced_memory()[0] / 2**20
        return await original(*args, **kwargs)

    bulk.record = record  # type: ignore[assignment]
    return state


def _tracemalloc_report(state: dict[str, Any], top: int = 12) -> str:
    lines = [f"Python heap peak during the import (tracemalloc): {state.get('peak_mb', 0):.1f} MB"]
    snap = state.get("snapshot")
    if snap is None:
        return "\n".join(lines)
    lines.append(f"held after the last row, before the commit: {state['current_mb']:.1f} MB; largest allocation sites:")
    for stat in snap.statistics("lineno")[:top]:
        frame = stat.traceback[0]
        where = frame.filename.replace(str(ROOT) + "/", "")
        if "site-packages/" in where:
            where = where.split("site-packages/", 1)[1]
        elif "/lib/python3" in where:
            where = "stdlib/" + where.split("/lib/python3", 1)[1].split("/", 1)[1]
        lines.append(f"  {stat.size / 2**20:7.1f} MB {stat.count:8d} blocks  {where}:{frame.lineno}  {_source(frame)}")
    return "\n".join(lines)


def _source(frame: Any) -> str:
    import linecache

    return linecache.getline(frame.filename, frame.lineno).strip()[:70]


async def _measure_executemany(services: Any, org: Any, spec: dict[str, Any]) -> dict[str, Any]:
    from sqlalchemy import insert

    from app.persistence.db import write_transaction
    from app.persistence.tables.users import users

    rows = raw_rows(Path(spec["csv"]), org.org_id, org.p_numbers[0], org.cvr, services.platform)
    count = 0
    with PeakRss() as mem:
        t0 = time.perf_counter()
        async with write_transaction(services.engine) as conn:  # as the import's unit of work
            batch: list[dict[str, Any]] = []
            for values in rows:
                batch.append(dict(zip(USER_COLUMNS, values, strict=True)))
                if len(batch) >= BATCH:
                    await conn.execute(insert(users), batch)
                    count += len(batch)
                    batch = []
            if batch:
                await conn.execute(insert(users), batch)
                count += len(batch)
        elapsed = time.perf_counter() - t0
    return {"method": "executemany", "seconds": elapsed, "created": count, "status": "SUCCEEDED",
            "peak_mb": mem.growth_mb}


async def _measure_copy(services: Any, org: Any, spec: dict[str, Any]) -> dict[str, Any]:
    import asyncpg

    conn = await asyncpg.connect(spec["url"].replace("postgresql+asyncpg://", "postgresql://"))
    try:
        rows = raw_rows(Path(spec["csv"]), org.org_id, org.p_numbers[0], org.cvr, services.platform)
        with PeakRss() as mem:
            t0 = time.perf_counter()
            async with conn.transaction():
                status = await conn.copy_records_to_table("users", records=rows, columns=USER_COLUMNS)
            elapsed = time.perf_counter() - t0
    finally:
        await conn.close()
    return {"method": "copy", "seconds": elapsed, "created": int(status.split()[-1]), "status": "SUCCEEDED",
            "peak_mb": mem.growth_mb}


async def _child(spec: dict[str, Any]) -> dict[str, Any]:
    from sqlalchemy import delete, func, select

    from app.bootstrap import build_services
    from app.config import Settings
    from app.persistence.tables.organisations import organisations
    from app.persistence.tables.users import users
    from tests.factories import make_org

    tmp = Path(spec["tmp"])
    (tmp / "mail").mkdir(exist_ok=True)  # the Maildir of the job's notification mail must exist
    settings = Settings.from_env(
        {}, database_url=spec["url"], upload_dir=str(tmp / "uploads"), mail_dir=str(tmp / "mail"),
        import_max_rows=max(200_000, spec["rows"]), import_max_bytes=max(50 * 2**20, 4 * spec["bytes"]),
        background_tasks=True, bulk_poll_seconds=0.1,
    )
    services = build_services(settings)
    measure = {"import": _measure_import, "executemany": _measure_executemany, "copy": _measure_copy}[spec["method"]]
    try:
        org = await make_org(services, name="Bench ApS")
        try:
            sql_times = _time_statements(services.engine) if spec["method"] == "import" else None
            result = await measure(services, org, spec)
            if sql_times is not None:
                _stop_timing(services.engine)
            async with services.engine.connect() as conn:
                result["rows_in_db"] = (await conn.execute(
                    select(func.count()).select_from(users).where(users.c.org_id == org.org_id, users.c.status == "CREATED")
                )).scalar_one()
            if sql_times is not None:
                result["sql"] = _sql_report(sql_times)
        finally:  # every measurement starts from the same table state
            async with services.engine.begin() as conn:
                await conn.execute(delete(organisations).where(organisations.c.id == org.org_id))
    finally:
        await services.engine.dispose()
    return result


_LISTENERS: list[tuple[str, Any]] = []


def _stop_timing(engine: Any) -> None:
    from sqlalchemy import event

    for name, fn in _LISTENERS:
        event.remove(engine.sync_engine, name, fn)
    _LISTENERS.clear()


def _time_statements(engine: Any) -> dict[str, list[float]]:
    """Wall time per SQL statement shape as the app's coroutines see it (driver + database + any
    waiting for the event loop), for the import's whole run including the client's polls."""
    from sqlalchemy import event

    times: dict[str, list[float]] = {}

    def _before(conn: Any, cursor: Any, statement: str, params: Any, context: Any, executemany: bool) -> None:
        conn.info.setdefault("bench_t0", []).append(time.perf_counter())

    def _after(conn: Any, cursor: Any, statement: str, params: Any, context: Any, executemany: bool) -> None:
        t = time.perf_counter() - conn.info["bench_t0"].pop()
        shape = " ".join(statement.split())
        shape = shape[: shape.find(" (")] if shape.startswith("INSERT") else shape[:90]
        n = len(params) if executemany else 1
        entry = times.setdefault(("executemany " if executemany else "") + shape, [0.0, 0, 0])
        entry[0] += t
        entry[1] += 1
        entry[2] += n

    for name, fn in (("before_cursor_execute", _before), ("after_cursor_execute", _after)):
        event.listen(engine.sync_engine, name, fn)
        _LISTENERS.append((name, fn))
    return times


def _sql_report(times: dict[str, list[float]]) -> str:
    total = sum(t for t, _, _ in times.values())
    lines = [f"SQL time as the app's coroutines awaited it (overlapping: the job, polls, background tasks; "
             f"on SQLite BEGIN IMMEDIATE = others waiting for the job's write lock): {total:.2f} s; largest:"]
    for shape, (t, calls, rows) in sorted(times.items(), key=lambda kv: -kv[1][0])[:6]:
        lines.append(f"  {t:7.2f} s {calls:5d} calls {rows:7d} rows  {shape}")
    return "\n".join(lines)


def _profile_report(profiler: Any, top: int = 15) -> str:
    """cProfile of the main thread (the event loop: HTTP, GraphQL, the runner). Time the database
    spends (PostgreSQL server, or aiosqlite's worker thread) shows as waiting in epoll."""
    import io
    import pstats

    stats = pstats.Stats(profiler)
    buckets: dict[str, float] = {}
    total = 0.0
    for (file, _line, name), (_cc, _nc, tt, _ct, _callers) in stats.stats.items():  # type: ignore[attr-defined]
        total += tt
        key = _bucket(file, name)
        buckets[key] = buckets.get(key, 0.0) + tt
    lines = [f"own time by area (main thread, {total:.2f} s under the profiler):"]
    for key, t in sorted(buckets.items(), key=lambda kv: -kv[1])[:14]:
        lines.append(f"  {t:6.2f} s {100 * t / total:5.1f} %  {key}")
    for title, order, restriction in (
        ("functions by own time", "tottime", ()),
        ("the app's functions by cumulative time", "cumulative", (r"app/(domain|persistence|bulk_runner)",)),
    ):
        buf = io.StringIO()
        pstats.Stats(profiler, stream=buf).sort_stats(order).print_stats(*restriction, top)
        table = buf.getvalue().splitlines()
        start = next((i for i, ln in enumerate(table) if ln.strip().startswith("ncalls")), 0)
        lines.append(f"{title}:")
        lines.extend(ln.replace(str(ROOT) + "/", "").replace(sys.prefix + "/lib/python3.11/site-packages/", "")
                     for ln in table[start:] if ln.strip())
    return "\n".join(lines)


def _bucket(file: str, name: str) -> str:
    if file == "~":
        if "poll" in name and ("epoll" in name or "select" in name):
            return "waiting in epoll (database / other threads)"
        if "sqlite3" in name:
            return "sqlite3 (C)"
        if "_csv" in name:
            return "csv (C)"
        if "hmac" in name or "openssl" in name or "_hashlib" in name:
            return "hashing (C)"
        if "builtins" in name or "method" in name or "built-in" in name:
            return "builtins (C)"
        return "other C"
    for marker, label in (
        ("/app/domain/bulk", "app.domain.bulk*"), ("/app/domain/users", "app.domain.users (rules)"),
        ("/app/domain/identifiers", "app.domain.common.identifiers"), ("/app/domain", "app.domain (other)"),
        ("/app/persistence", "app.persistence"), ("/app/schema", "app.schema"), ("/app/", "app (other)"),
        ("email_validator", "email_validator"), ("/idna/", "idna"), ("cryptography", "cryptography"),
        ("sqlalchemy", "sqlalchemy"), ("asyncpg", "asyncpg"), ("aiosqlite", "aiosqlite"),
        ("strawberry", "strawberry"), ("graphql", "graphql-core"), ("starlette", "starlette"),
        ("multipart", "python-multipart"), ("httpx", "httpx"), ("/asyncio/", "asyncio"),
        ("/json/", "json"), ("/uuid.py", "uuid"), ("/re/", "re"), ("/codecs.py", "codecs"),
        ("/dataclasses.py", "dataclasses"), ("/enum.py", "enum"), ("/threading.py", "threading"),
    ):
        if marker in file:
            return label
    return "other Python (" + Path(file).name + ")"


# --- the parent: files, databases, children, the table ----------------------------------------------


def run_child(spec: dict[str, Any], timeout: float) -> dict[str, Any]:
    cmd = [sys.executable, "-m", "bench.bulk_import", "--child", json.dumps(spec)]
    try:
        proc = subprocess.run(cmd, cwd=ROOT, stdout=subprocess.PIPE, text=True, timeout=timeout)
    except subprocess.TimeoutExpired:
        return {"method": spec["method"], "status": "TIMEOUT", "error": f"child killed after {timeout:.0f} s"}
    for line in proc.stdout.splitlines():
        if line.startswith(RESULT_MARK):
            return json.loads(line[len(RESULT_MARK):])
    return {"method": spec["method"], "status": "ERROR", "error": f"child exited {proc.returncode}: {proc.stdout[-2000:]}"}


async def _pg_create(server: str) -> tuple[str, str] | str:
    import asyncpg

    try:
        admin = await asyncpg.connect(server.replace("postgresql+asyncpg://", "postgresql://") + "/postgres", timeout=5)
    except (OSError, asyncpg.PostgresError) as exc:
        return f"{type(exc).__name__}: {exc}"
    try:
        name = f"bench_{uuid.uuid4().hex[:12]}"
        await admin.execute(f'CREATE DATABASE "{name}"')
        version = await admin.fetchval("SHOW server_version")
    finally:
        await admin.close()
    return f"{server}/{name}", version


async def _pg_drop(url: str) -> None:
    import asyncpg

    server, name = url.rsplit("/", 1)
    admin = await asyncpg.connect(server.replace("postgresql+asyncpg://", "postgresql://") + "/postgres", timeout=5)
    try:
        await admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    finally:
        await admin.close()


async def _migrate(url: str) -> None:
    from app.persistence.db import make_engine
    from app.persistence.migrate import upgrade

    engine = make_engine(url)
    try:
        await upgrade(engine)
    finally:
        await engine.dispose()


async def _settle(db: str, url: str) -> None:
    """Between measurements: reclaim the deleted rows and flush dirty pages, so none of that work
    lands inside the next measurement."""
    if db == "sqlite":
        with contextlib.closing(sqlite3.connect(url.split(":///", 1)[1])) as conn:
            conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
        return
    import asyncpg

    conn = await asyncpg.connect(url.replace("postgresql+asyncpg://", "postgresql://"))
    try:
        await conn.execute("VACUUM ANALYZE")
        await conn.execute("CHECKPOINT")
    finally:
        await conn.close()


METHOD_LABEL = {"import": "gateway import (GraphQL)", "executemany": "baseline executemany", "copy": "baseline COPY"}


def _median(runs: list[dict[str, Any]]) -> dict[str, Any]:
    """Of repeated measurements, the one with the median time (all must have succeeded)."""
    if any(r.get("status") != "SUCCEEDED" for r in runs):
        return next(r for r in runs if r.get("status") != "SUCCEEDED")
    ranked = sorted(runs, key=lambda r: r["seconds"])
    chosen = dict(ranked[len(ranked) // 2])
    if len(runs) > 1:
        chosen["all_seconds"] = [round(r["seconds"], 2) for r in runs]
    return chosen


def print_table(results: list[dict[str, Any]]) -> None:
    head = (f"{'db':<10} {'rows':>7}  {'method':<25} {'seconds':>8} {'rows/s':>8} {'% of executemany':>17} "
            f"{'peak MB':>8}")
    print(head)
    print("-" * len(head))
    base = {(r["db"], r["rows"]): r for r in results if r["method"] == "executemany" and r.get("status") == "SUCCEEDED"}
    for r in results:
        label = METHOD_LABEL[r["method"]]
        b = base.get((r["db"], r["rows"]))
        b_rate = b["rows"] / b["seconds"] if b else None
        if r.get("status") == "TIMEOUT" and r.get("seconds"):  # an upper bound
            rate = r["rows"] / r["seconds"]
            pct = f"< {100 * rate / b_rate:.1f} %" if b_rate else "-"
            done = (r.get("progress") or {}).get("processed")
            print(f"{r['db']:<10} {r['rows']:>7}  {label:<25} {'>' + format(r['seconds'], '.0f'):>8} "
                  f"{'<' + format(rate, '.0f'):>8} {pct:>17} {r['peak_mb']:>8.1f}  TIMEOUT ({done} rows processed)")
            continue
        if r.get("status") != "SUCCEEDED" or "seconds" not in r:
            detail = r.get("error") or r.get("row_errors") or ""
            print(f"{r['db']:<10} {r['rows']:>7}  {label:<25} {r.get('status', '?')}: {detail}")
            continue
        rate = r["rows"] / r["seconds"]
        pct = f"{100 * rate / b_rate:.1f} %" if b_rate else "-"
        spread = f"  (runs: {', '.join(map(str, r['all_seconds']))} s)" if r.get("all_seconds") else ""
        print(f"{r['db']:<10} {r['rows']:>7}  {label:<25} {r['seconds']:>8.2f} {rate:>8.0f} {pct:>17} "
              f"{r['peak_mb']:>8.1f}{spread}")
    print(f"target: import >= {TARGET:.0%} of baseline rows/s (baseline = executemany, same database and driver)")


def _progress_line(db: str, n: int, r: dict[str, Any]) -> str:
    label = METHOD_LABEL[r["method"]]
    if "seconds" not in r:
        return f"{db:<10} {n:>7} {label:<25} {r.get('status')}: {r.get('error')}"
    line = (f"{db:<10} {n:>7} {label:<25} {r['status']:<9} {r['seconds']:7.2f} s {n / r['seconds']:7.0f} rows/s"
            f"  peak +{r['peak_mb']:.1f} MB")
    if r["method"] == "import":
        line += (f"  (upload {r['upload_seconds']:.2f} s; SUCCEEDED seen by the client at "
                 f"{r['observed_seconds']:.2f} s after {r['polls']} polls)")
    return line


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.bulk_import", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--rows", type=int, nargs="+", default=[10_000, 100_000], help="file sizes (default 10000 100000)")
    parser.add_argument("--db", nargs="+", choices=["sqlite", "postgresql"], default=["sqlite", "postgresql"])
    parser.add_argument("--pg-url", default=DEFAULT_PG, help=f"PostgreSQL server, no database (default {DEFAULT_PG})")
    parser.add_argument("--timeout", type=float, default=300.0, help="give up on one import after this many seconds (300)")
    parser.add_argument("--repeat", type=int, default=1, help="measure each case N times, report the median (1)")
    parser.add_argument("--profile", action="store_true",
                        help="also profile one import of the smallest file per database (cProfile; not in the table)")
    parser.add_argument("--tracemalloc", action="store_true",
                        help="also trace Python allocations in one import of each size per database (not in the table)")
    parser.add_argument("--child", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.child:
        result = asyncio.run(_child(json.loads(args.child)))
        print(RESULT_MARK + json.dumps(result, default=str), flush=True)
        return 0

    sizes = sorted(set(args.rows))
    started = time.perf_counter()
    tmp = Path(tempfile.mkdtemp(prefix="bench-bulk-"))
    print(f"bulk import benchmark - Python {pyplatform.python_version()}, {os.cpu_count()} CPUs, "
          f"SQLite {sqlite3.sqlite_version}; files and SQLite database in {tmp}")
    print("the app runs in-process: httpx.AsyncClient over ASGITransport (no socket, no uvicorn), lifespan "
          "started, the job runs in the app's background runner; each measurement in a fresh child process")
    results: list[dict[str, Any]] = []
    extras: list[tuple[str, str]] = []
    failed = False
    try:
        files: dict[int, Path] = {}
        for n in sizes:
            path = tmp / f"users-create-{n}.csv"
            t = time.perf_counter()
            generate_csv(path, n)
            files[n] = path
            print(f"generated {path.name}: {n} rows, {path.stat().st_size / 2**20:.1f} MB in "
                  f"{time.perf_counter() - t:.2f} s")
        for db in args.db:
            if db == "sqlite":
                url, note = f"sqlite+aiosqlite:///{tmp / 'bench.db'}", "SQLite file (WAL), aiosqlite"
            else:
                created = asyncio.run(_pg_create(args.pg_url))
                if isinstance(created, str):
                    print(f"\npostgresql: SKIPPED - not reachable at {args.pg_url} ({created})")
                    continue
                url, version = created
                note = f"PostgreSQL {version}, database {url.rsplit('/', 1)[1]}, asyncpg"
            print(f"\n== {db}: {note}")

            def measure(spec: dict[str, Any], db: str = db, url: str = url) -> dict[str, Any]:
                asyncio.run(_settle(db, url))
                return run_child(spec, args.timeout + 120)

            try:
                try:
                    asyncio.run(_migrate(url))
                except Exception as exc:  # e.g. two Alembic heads while migrations are being written
                    print(f"{db}: SKIPPED - migrating the database failed: {type(exc).__name__}: {exc}")
                    results.append({"db": db, "rows": sizes[0], "method": "import", "status": "NOT MIGRATED",
                                    "error": str(exc)[:200]})
                    failed = True
                    continue
                previous: tuple[int, float] | None = None
                for n in sizes:
                    spec = {"url": url, "csv": str(files[n]), "rows": n, "bytes": files[n].stat().st_size,
                            "tmp": str(tmp), "timeout": args.timeout}
                    if previous is not None and previous[1] * n / previous[0] > args.timeout:
                        predicted = previous[1] * n / previous[0]
                        print(f"{db:<10} {n:>7} SKIPPED: predicted {predicted:.0f} s from the {previous[0]}-row import "
                              f"exceeds --timeout {args.timeout:.0f} s")
                        results.append({"db": db, "rows": n, "method": "import", "status": "SKIPPED",
                                        "error": f"predicted {predicted:.0f} s > --timeout {args.timeout:.0f} s"})
                        continue
                    for method in ["import", "executemany"] + (["copy"] if db == "postgresql" else []):
                        runs = []
                        for _ in range(max(1, args.repeat)):
                            runs.append(measure({**spec, "method": method}))
                            if runs[-1].get("status") != "SUCCEEDED":
                                break
                        r = _median(runs)
                        r.update(db=db, rows=n)
                        ok = r.get("status") == "SUCCEEDED" and r.get("created") == n and r.get("rows_in_db") == n
                        if not ok and r.get("status") == "SUCCEEDED":
                            r["status"] = "WRONG COUNT"
                            r["error"] = f"created {r.get('created')}, in the database {r.get('rows_in_db')}, expected {n}"
                        failed |= not ok
                        results.append(r)
                        print(_progress_line(db, n, r), flush=True)
                        if r.get("sql"):
                            print("           " + r["sql"].replace("\n", "\n           "), flush=True)
                        if method == "import":
                            if r.get("status") == "SUCCEEDED":
                                previous = (n, r["seconds"])
                            elif r.get("status") == "TIMEOUT":
                                previous = (n, args.timeout * 10)  # do not try bigger files
                    if args.tracemalloc:
                        r = measure({**spec, "method": "import", "tracemalloc": True})
                        extras.append((f"tracemalloc: {db}, {n} rows ({r.get('status')}, {r.get('seconds', 0):.1f} s "
                                       "under tracemalloc)", r.get("tracemalloc") or str(r)))
                if args.profile:
                    n = sizes[0]
                    r = measure({"url": url, "csv": str(files[n]), "rows": n, "bytes": files[n].stat().st_size,
                                 "tmp": str(tmp), "timeout": args.timeout, "method": "import", "profile": True})
                    extras.append((f"profile: {db}, {n} rows, one import under cProfile ({r.get('status')}, "
                                   f"{r.get('seconds', 0):.2f} s, slower than unprofiled)", r.get("profile") or str(r)))
            finally:
                if db == "postgresql":
                    asyncio.run(_pg_drop(url))
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    for title, text in extras:
        print(f"\n== {title}\n{text}")
    print()
    print_table(results)
    print("seconds: import = upload start -> the job's SUCCEEDED committed (the client saw it at its next poll, "
          "see above); baselines = file open -> commit.")
    print("peak MB = peak growth of the process's resident set during the measurement (sampled every 5 ms, and "
          "ru_maxrss) over the RSS just before it; the importing process also holds the client and the upload.")
    print(f"total benchmark time {time.perf_counter() - started:.0f} s")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
