"""Certificate export benchmark (issue 5): `GET /exports/certificates.csv` over 10k and 100k rows.

    .venv/bin/python -m bench.certificate_export                    # 10k + 100k, SQLite + PostgreSQL
    .venv/bin/python -m bench.certificate_export --db sqlite --rows 100000

Per database (a temp SQLite file; a fresh `bench_<random>` database on BENCH_POSTGRES_URL, dropped
afterwards, skipped when unreachable) one organisation gets certificate rows inserted straight into
the table (issuing 100k real certificates would measure RSA, not the export): a mix of user and
organisation certificates, issued, ordered, revoked, some with system rights and names that start
with `=`. Then, for each size, fresh child processes run the real app under uvicorn and stream the
export over a socket with httpx as a user administrator (the same bearer-token path clients use):

* timed run    - rows/s and MB/s from the first request byte to the last row; the process's resident
                 memory sampled every 10 ms, reported as growth over the idle server's;
* traced run   - the same export under tracemalloc: the peak of Python allocations while streaming.

"Flat memory" means the growth (and the traced peak) does not grow from 10k to 100k rows.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import datetime as dt
import json
import os
import random
import socket
import subprocess
import sys
import tempfile
import time
import tracemalloc
import uuid
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
DEFAULT_PG = os.environ.get("BENCH_POSTGRES_URL", "postgresql+asyncpg://postgres@127.0.0.1:5432")
RESULT_MARK = "BENCH_RESULT "
BATCH = 5000
SIZES = (10_000, 100_000)
RIGHTS = ["SKAT.MOMS", "VIRK.INDBERETNING", "SKAT.EINDKOMST", "ERST.REGNSKAB"]
NAMES = ["Lønsystem", "Fakturering", "=SUM(A1:A9)", "Indberetning", "Økonomi", "+45 Portal", "Lager", "@Backup"]


# --- the data -----------------------------------------------------------------------------------------


async def _prepare(url: str) -> dict[str, Any]:
    """Migrate, one organisation with a user administrator; returns what the children need."""
    from app.bootstrap import build_services
    from app.config import Settings
    from app.domain.common.organisation import OrganisationSettings, PUnit, SeNumber
    from app.domain.common.principal import Actor, Role
    from app.domain.users import lifecycle as uc
    from app.domain.users.rules import NewUser
    from app.entrypoints.cli.seed import activate_directly
    from app.persistence.migrate import upgrade
    from app.persistence.organisations import create_organisation

    settings = Settings.from_env({}, database_url=url, background_tasks=False)
    services = build_services(settings)
    try:
        await upgrade(services.engine)
        cvr, now = "12345674", dt.datetime.now(dt.UTC)
        async with services.engine.begin() as conn:
            org_id = await create_organisation(
                conn, cvr=cvr, name="Bench ApS", p_units=[PUnit("1000000001", "Bench")],
                se_numbers=[SeNumber(cvr, "Bench ApS")], settings=OrganisationSettings(), now=now,
            )
        people: list[str] = []
        async with services.unit_of_work(Actor(org_id, cvr, None, frozenset())) as uow:
            for i in range(20):
                created = await uc.create_user(
                    uow, NewUser(first_name=f"Holder{i}", last_name="Bench", email=f"holder{i}@bench.dk",
                                    date_of_birth="1980-01-01"),
                    send=False,
                )
                await activate_directly(uow, created.user, now)
                if i == 0:
                    await uow.users.set_roles(created.user.id, [Role.USER_ADMINISTRATOR])
                people.append(str(created.user.id))
            await uow.commit()
        return {"url": url, "org_id": org_id, "cvr": cvr, "admin": people[0], "people": people}
    finally:
        await services.engine.dispose()


def _rows(org_id: int, people: list[str], start: int, count: int, rng: random.Random) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    now = dt.datetime.now(dt.UTC).replace(microsecond=0)
    certs: list[dict[str, Any]] = []
    rights: list[dict[str, Any]] = []
    for n in range(start, start + count):
        cid = uuid.uuid4()
        user_kind = n % 2 == 0
        status = ("ISSUED", "ISSUED", "ISSUED", "ORDERED", "REVOKED")[n % 5]
        issued = status != "ORDERED"
        ordered_at = now - dt.timedelta(days=rng.randint(1, 1000), seconds=n % 86400)
        not_before = ordered_at + dt.timedelta(hours=1) if issued else None
        name = f"Holder{n % 20} Bench" if user_kind else f"{NAMES[n % len(NAMES)]} {n}"
        serial = f"{rng.getrandbits(159):040X}" if issued else None
        certs.append({
            "id": cid, "org_id": org_id, "kind": "USER" if user_kind else "ORGANISATION",
            "type": "QUALIFIED" if n % 7 == 0 else "STANDARD", "status": status,
            "issuance": ("SOFTWARE" if n % 3 else "HARDWARE") if issued or user_kind else None,
            "purposes": "AUTHENTICATION,SIGNING" if user_kind else "AUTHENTICATION,SEAL",
            "user_id": uuid.UUID(people[n % len(people)]) if user_kind else None, "profile_id": None,
            "name": name, "name_lower": name.lower(), "email": f"holder{n % 20}@bench.dk",
            "contact_name": None if user_kind else "Kim Kontakt", "contact_email": None if user_kind else "kim@bench.dk",
            "p_number": "1000000001", "se_number": "12345674", "serial_number": serial,
            "subject": f"C=DK,O=Bench ApS,CN={name},serialNumber=CVR:12345674-UID:{cid}" if issued else None,
            "not_before": not_before,
            "not_after": not_before + dt.timedelta(days=3 * 365) if not_before else None,
            "certificate_pem": None, "fingerprint_sha256": f"{rng.getrandbits(256):064X}" if issued else None,
            "can_seal": not user_kind and n % 3 == 0, "allow_user_signing": not user_kind and n % 4 == 0,
            "ordered_at": ordered_at, "ordered_by": uuid.UUID(people[0]), "issued_at": not_before,
            "cancelled_at": None, "revoked_at": now if status == "REVOKED" else None,
            "revocation_reason": "KEY_LOST" if status == "REVOKED" else None, "revoked_by": None,
            "predecessor_id": None, "successor_id": None,
        })
        if not user_kind and n % 2 == 1:
            rights.extend({"certificate_id": cid, "code": code} for code in RIGHTS[: 1 + n % len(RIGHTS)])
    return certs, rights


async def _insert(url: str, org_id: int, people: list[str], start: int, count: int) -> float:
    from sqlalchemy import insert

    from app.persistence.db import make_engine
    from app.persistence.tables.certificates import certificate_system_rights, certificates

    engine = make_engine(url)
    rng = random.Random(start)
    started = time.perf_counter()
    try:
        for offset in range(start, start + count, BATCH):
            certs, rights = _rows(org_id, people, offset, min(BATCH, start + count - offset), rng)
            async with engine.begin() as conn:
                await conn.execute(insert(certificates), certs)
                if rights:
                    await conn.execute(insert(certificate_system_rights), rights)
    finally:
        await engine.dispose()
    return time.perf_counter() - started


# --- one measurement (a child process) ----------------------------------------------------------------------


def _rss_mb() -> float:
    with open("/proc/self/statm") as f:
        return int(f.read().split()[1]) * os.sysconf("SC_PAGE_SIZE") / 2**20


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


async def _measure(info: dict[str, Any], traced: bool) -> dict[str, Any]:
    import httpx
    import uvicorn

    from app.adapters.jwt import sign_token
    from app.config import Settings
    from app.domain.common.principal import Role
    from app.entrypoints.http.app import create_app

    settings = Settings.from_env({}, database_url=info["url"], background_tasks=False, graphiql=False)
    token = sign_token(settings, uuid.UUID(info["admin"]), info["cvr"], [Role.USER_ADMINISTRATOR])
    port = _free_port()
    server = uvicorn.Server(uvicorn.Config(create_app(settings), host="127.0.0.1", port=port, log_level="warning"))
    serving = asyncio.create_task(server.serve())
    while not server.started:
        await asyncio.sleep(0.01)
    url = f"http://127.0.0.1:{port}/exports/certificates.csv"
    headers = {"Authorization": f"Bearer {token}"}
    try:
        async with httpx.AsyncClient(timeout=600) as client:
            warm = await client.get(url, headers=headers, params={"search": "no such certificate"})
            assert warm.status_code == 200, warm.text
            peak = baseline = _rss_mb()
            stop = asyncio.Event()

            async def sample() -> None:
                nonlocal peak
                while not stop.is_set():
                    peak = max(peak, _rss_mb())
                    await asyncio.sleep(0.01)

            sampler = asyncio.create_task(sample())
            if traced:
                tracemalloc.start()
            lines = size = 0
            started = time.perf_counter()
            async with client.stream("GET", url, headers=headers) as response:
                assert response.status_code == 200, await response.aread()
                async for chunk in response.aiter_bytes():
                    size += len(chunk)
                    lines += chunk.count(b"\n")  # no value holds a newline
            elapsed = time.perf_counter() - started
            traced_peak = tracemalloc.get_traced_memory()[1] / 2**20 if traced else None
            if traced:
                tracemalloc.stop()
            stop.set()
            await sampler
    finally:
        server.should_exit = True
        await serving
    return {
        "rows": lines - 1, "seconds": elapsed, "rows_per_s": (lines - 1) / elapsed, "mb": size / 2**20,
        "rss_baseline_mb": baseline, "rss_growth_mb": peak - baseline, "traced_peak_mb": traced_peak,
    }


def _child(info: dict[str, Any], traced: bool) -> dict[str, Any]:
    done = subprocess.run(
        [sys.executable, "-m", "bench.certificate_export", "--child", json.dumps(info)] + (["--traced"] if traced else []),
        cwd=ROOT, capture_output=True, text=True, timeout=1800,
    )
    for line in done.stdout.splitlines():
        if line.startswith(RESULT_MARK):
            return dict(json.loads(line[len(RESULT_MARK):]))
    raise RuntimeError(f"child failed ({done.returncode}):\n{done.stdout}\n{done.stderr}")


# --- the databases -----------------------------------------------------------------------------------------


@contextlib.asynccontextmanager
async def _database(kind: str, pg_url: str, tmp: Path):  # type: ignore[no-untyped-def]
    if kind == "sqlite":
        yield f"sqlite+aiosqlite:///{tmp / 'bench.db'}"
        return
    import asyncpg

    admin = await asyncpg.connect(pg_url.replace("postgresql+asyncpg://", "postgresql://") + "/postgres", timeout=5)
    name = f"bench_{uuid.uuid4().hex[:10]}"
    await admin.execute(f'CREATE DATABASE "{name}"')
    try:
        yield f"{pg_url}/{name}"
    finally:
        await admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        await admin.close()


async def _run(kind: str, sizes: list[int], pg_url: str, repeat: int) -> list[dict[str, Any]]:
    results = []
    with tempfile.TemporaryDirectory() as tmp:
        try:
            database = _database(kind, pg_url, Path(tmp))
            url = await database.__aenter__()
        except OSError as exc:
            print(f"[{kind}] skipped: {exc}")
            return []
        try:
            info = await _prepare(url)
            have = 0
            for size in sorted(sizes):
                seconds = await _insert(url, info["org_id"], info["people"], have, size - have)
                print(f"[{kind}] inserted {size - have:,} certificate rows in {seconds:.1f}s (now {size:,})", flush=True)
                have = size
                timed = sorted((_child(info, traced=False) for _ in range(repeat)), key=lambda r: r["rows_per_s"])
                best = timed[len(timed) // 2]
                traced = _child(info, traced=True)
                assert best["rows"] == size and traced["rows"] == size, (best, traced)
                result = {"db": kind, "rows": size, **best, "traced_peak_mb": traced["traced_peak_mb"]}
                results.append(result)
                print(
                    f"[{kind}] {size:>7,} rows: {best['rows_per_s']:>9,.0f} rows/s ({best['seconds']:.2f}s, "
                    f"{best['mb']:.1f} MB CSV, {best['mb'] / best['seconds']:.1f} MB/s); peak RSS growth "
                    f"{best['rss_growth_mb']:.1f} MB over {best['rss_baseline_mb']:.0f} MB; tracemalloc peak "
                    f"{traced['traced_peak_mb']:.2f} MB",
                    flush=True,
                )
        finally:
            await database.__aexit__(None, None, None)
    return results


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--db", choices=["sqlite", "postgresql", "both"], default="both")
    parser.add_argument("--rows", type=int, action="append", help="sizes to measure (default 10000 and 100000)")
    parser.add_argument("--repeat", type=int, default=3, help="timed runs per size; the median is reported")
    parser.add_argument("--pg-url", default=DEFAULT_PG, help="server URL without database name")
    parser.add_argument("--child", help=argparse.SUPPRESS)
    parser.add_argument("--traced", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        print(RESULT_MARK + json.dumps(asyncio.run(_measure(json.loads(args.child), args.traced))))
        return
    sizes = args.rows or list(SIZES)
    kinds = ["sqlite", "postgresql"] if args.db == "both" else [args.db]
    print(f"Python {sys.version.split()[0]}, {os.cpu_count()} CPUs; export streamed over a socket (uvicorn + httpx)")
    for kind in kinds:
        asyncio.run(_run(kind, sizes, args.pg_url, args.repeat))


if __name__ == "__main__":
    main()
