"""Reporting benchmark (issue 17): `userStats`, `certificateStats` and the report filters through the
gateway on the scale-1 data (10k users, 50k certificates, 1M history entries), and PostgreSQL's plan
for each statement behind them: does it use an index?

    .venv/bin/python -m bench.data --db postgresql --scale 1 --reuse     # the data set (once)
    .venv/bin/python -m bench.reporting                                  # bench_dashboard_1
    .venv/bin/python -m bench.reporting --url postgresql+asyncpg://postgres@127.0.0.1:5432/bench_x --runs 50

The database is migrated to head first (migration 0009 adds the reporting indexes and, on a data set
generated before it, backfills the history's subjects), then ANALYZEd. Each query is sent over HTTP
to the real app under uvicorn in this process as the data set's user administrator (a bearer token,
as clients do): 3 warm-up requests, then `--runs` timed ones (p50 / p95 / max in ms). Then each
statement is run under `EXPLAIN (ANALYZE, BUFFERS, FORMAT JSON)` with the same parameters: the plan's
scan nodes, the indexes they use and the execution time. Exit status 1 when a statement uses no index.
"""

from __future__ import annotations

import argparse
import asyncio
import datetime as dt
import json
import socket
import statistics
import sys
import time
import uuid
from typing import Any

from bench.data import default_url, find_dataset

QUERIES: dict[str, tuple[str, dict[str, Any]]] = {
    "userStats": (
        "{ userStats { total byStatus { key count } byIdentification { key count } byAuthenticator { key count }"
        " byOrganisationUnit { key count } } }", {}),
    "certificateStats": (
        "query($d: Int) { certificateStats(expiringWithinDays: $d) { total byKind { key count }"
        " byStatus { key count } expiringSoon } }", {"d": 90}),
    "users(right, authenticator)": (
        "query($f: UserFilterInput) { users(first: 50, filter: $f) { totalCount edges { node { id name } } } }", {}),
    "users(createdFrom/To)": (
        "query($f: UserFilterInput) { users(first: 50, filter: $f) { totalCount edges { node { id name } } } }", {}),
    "certificates(pNumber, issuedFrom)": (
        "query($f: CertificateFilter) { certificates(first: 50, filter: $f) { totalCount edges { node { id name } } } }",
        {}),
    "activities(certificateId, ASC)": (
        "query($f: ActivityFilterInput) { activities(first: 50, filter: $f, order: ASC) { totalCount"
        " edges { node { id type requestId outcome } } } }", {}),
}
SCANS = {"Seq Scan", "Index Scan", "Index Only Scan", "Bitmap Index Scan", "Bitmap Heap Scan"}


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


async def _prepare(url: str) -> None:
    from sqlalchemy import inspect, text

    from app.persistence.db import make_engine
    from app.persistence.migrate import upgrade

    engine = make_engine(url)
    try:
        await upgrade(engine)
        async with engine.connect() as conn:
            columns = await conn.run_sync(lambda c: {col["name"] for col in inspect(c).get_columns("activities")})
        if "target_certificate_id" not in columns:
            raise SystemExit("the data set predates migration 0009 as recorded: regenerate it "
                             "(python -m bench.data --db postgresql --scale 1)")
        async with engine.connect() as conn:
            await conn.execution_options(isolation_level="AUTOCOMMIT")
            for table in ("users", "user_rights", "user_authenticators", "certificates", "activities"):
                await conn.execute(text(f"ANALYZE {table}"))
    finally:
        await engine.dispose()


async def _parameters(url: str, org_id: int) -> dict[str, Any]:
    """Realistic filter values from the data: a right some group gives, a P-unit, a certificate."""
    from sqlalchemy import func, select

    from app.persistence.db import make_engine
    from app.persistence.tables.certificates import certificates
    from app.persistence.tables.user_groups import user_group_rights, user_groups
    from app.persistence.tables.users import users

    engine = make_engine(url)
    try:
        async with engine.connect() as conn:
            right = (await conn.execute(
                select(user_group_rights.c.code).join(user_groups, user_groups.c.id == user_group_rights.c.group_id)
                .where(user_groups.c.org_id == org_id).group_by(user_group_rights.c.code)
                .order_by(func.count().desc()).limit(1))).scalar()
            p_number = (await conn.execute(
                select(users.c.p_number).where(users.c.org_id == org_id, users.c.p_number.is_not(None)).limit(1)
            )).scalar()
            cert = (await conn.execute(select(certificates.c.id).where(certificates.c.org_id == org_id).limit(1))).scalar()
    finally:
        await engine.dispose()
    return {"right": right, "p_number": p_number, "certificate_id": cert}


def _variables(name: str, p: dict[str, Any], now: dt.datetime) -> dict[str, Any]:
    from app.schema.runtime.base import to_global_id

    # "issued last month in this P-unit" (the P-unit alone is half the data set: no index helps there)
    month_ago = (now - dt.timedelta(days=30)).date().isoformat()
    year_ago = (now - dt.timedelta(days=365)).date().isoformat()
    return {
        "users(right, authenticator)": {"f": {"right": p["right"], "authenticator": "MITID_APP"}},
        "users(createdFrom/To)": {"f": {"createdFrom": year_ago, "createdTo": month_ago}},
        "certificates(pNumber, issuedFrom)": {"f": {"pNumber": p["p_number"], "issuedFrom": month_ago}},
        "activities(certificateId, ASC)": {"f": {"certificateId": str(to_global_id("Certificate", p["certificate_id"]))}},
    }.get(name, QUERIES[name][1])


async def _time_through_gateway(url: str, cvr: str, admin: uuid.UUID, params: dict[str, Any], runs: int) -> dict[str, Any]:
    import httpx
    import uvicorn

    from app.adapters.jwt import sign_token
    from app.config import Settings
    from app.domain.common.principal import Role
    from app.entrypoints.http.app import create_app

    settings = Settings.from_env({}, database_url=url, background_tasks=False, graphiql=False)
    token = sign_token(settings, admin, cvr, [Role.USER_ADMINISTRATOR])
    port = _free_port()
    server = uvicorn.Server(uvicorn.Config(create_app(settings), host="127.0.0.1", port=port, log_level="warning"))
    serving = asyncio.create_task(server.serve())
    while not server.started:
        await asyncio.sleep(0.01)
    out: dict[str, Any] = {}
    now = dt.datetime.now(dt.UTC)
    try:
        async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{port}", timeout=120,
                                     headers={"Authorization": f"Bearer {token}"}) as client:
            for name, (query, _) in QUERIES.items():
                body = {"query": query, "variables": _variables(name, params, now)}
                for _ in range(3):
                    answer = (await client.post("/graphql", json=body)).json()
                    assert "errors" not in answer, answer
                times = []
                for _ in range(runs):
                    started = time.perf_counter()
                    response = await client.post("/graphql", json=body)
                    times.append((time.perf_counter() - started) * 1000)
                    assert response.status_code == 200
                times.sort()
                out[name] = {"p50": statistics.median(times), "p95": times[int(0.95 * (len(times) - 1))],
                             "max": times[-1], "answer": answer["data"]}
    finally:
        server.should_exit = True
        await serving
    return out


def _statements(org_id: int, p: dict[str, Any], now: dt.datetime) -> dict[str, tuple[Any, dict[str, Any]]]:
    """The statements the resolvers run (built by the same functions), with their parameters."""
    from sqlalchemy import func, select

    from app.domain.activity.model import ActivityFilter
    from app.domain.certificates.model import CertificateFilter
    from app.domain.users.model import UserFilter
    from app.persistence import activity as activity_sql
    from app.persistence import reporting as reporting_sql
    from app.persistence.certificates import reads as certificates_sql
    from app.persistence.tables.activity import activities
    from app.persistence.tables.certificates import certificates
    from app.persistence.tables.users import users
    from app.persistence.users import reads as users_sql

    year_ago, month_ago = now - dt.timedelta(days=365), now - dt.timedelta(days=30)
    by_right = UserFilter(right=p["right"], authenticator="MITID_APP")
    by_created = UserFilter(created_from=year_ago, created_to=month_ago)
    by_unit = CertificateFilter(p_number=p["p_number"], issued_from=month_ago)
    by_cert = ActivityFilter(target_certificate_id=p["certificate_id"])
    count = select(func.count())
    return {
        "userStats": (reporting_sql._user_stats_statement("postgresql"), {"org": org_id}),
        "certificateStats": (reporting_sql._certificate_stats_statement("postgresql"),
                             {"org": org_id, "now": now, "soon": now + dt.timedelta(days=90)}),
        "users(right, authenticator)": (users_sql._filtered(count.select_from(users), org_id, by_right), {}),
        "users(createdFrom/To)": (users_sql._filtered(count.select_from(users), org_id, by_created), {}),
        "certificates(pNumber, issuedFrom)": (
            certificates_sql._filtered(count.select_from(certificates), org_id, by_unit, now), {}),
        "activities(certificateId, ASC)": (
            activity_sql._filtered(select(activities.c.id), org_id, by_cert).order_by(activities.c.id).limit(51), {}),
    }


def _walk(plan: dict[str, Any]) -> list[tuple[str, str | None, str | None]]:
    found = []
    if plan.get("Node Type") in SCANS:
        found.append((plan["Node Type"], plan.get("Relation Name"), plan.get("Index Name")))
    for child in plan.get("Plans", []):
        found += _walk(child)
    return found


async def _explain(url: str, org_id: int, p: dict[str, Any]) -> dict[str, Any]:
    from app.persistence.db import make_engine

    engine = make_engine(url)
    now = dt.datetime.now(dt.UTC)
    out: dict[str, Any] = {}
    try:
        async with engine.connect() as conn:
            for name, (stmt, params) in _statements(org_id, p, now).items():
                compiled = stmt.compile(dialect=engine.dialect)
                values = compiled.construct_params(params)
                positional = tuple(
                    compiled.binds[key].type.bind_processor(engine.dialect)(values[key])  # type: ignore[misc]
                    if compiled.binds[key].type.bind_processor(engine.dialect) else values[key]
                    for key in compiled.positiontup or []
                )
                raw = (await conn.exec_driver_sql(f"EXPLAIN (ANALYZE, BUFFERS, FORMAT JSON) {compiled}", positional)).scalar()
                doc = (json.loads(raw) if isinstance(raw, str) else raw)[0]
                scans = _walk(doc["Plan"])
                out[name] = {"scans": scans, "ms": doc.get("Execution Time"),
                             "index": any(idx for _, _, idx in scans)}
    finally:
        await engine.dispose()
    return out


async def run(url: str, runs: int) -> int:
    if url.startswith("sqlite"):
        raise SystemExit("the reporting benchmark's EXPLAIN check is for PostgreSQL")
    found = await find_dataset(url)
    if found is None:
        raise SystemExit(f"no data set in {url}: python -m bench.data --db postgresql --scale 1")
    print(f"data: {found.name} in {url} ({found.rows['users']:,} users, {found.rows['activities']:,} history entries)")
    await _prepare(url)
    params = await _parameters(url, found.org_id)
    print(f"filters: right={params['right']} pNumber={params['p_number']} certificate={params['certificate_id']}")
    timings = await _time_through_gateway(url, found.cvr, found.admin_id, params, runs)
    plans = await _explain(url, found.org_id, params)
    print(f"\n{'query':<36} {'p50 ms':>8} {'p95 ms':>8} {'max ms':>8} {'SQL ms':>8}  index used")
    failed = 0
    for name in QUERIES:
        t, plan = timings[name], plans[name]
        used = sorted({idx for _, _, idx in plan["scans"] if idx})
        seq = sorted({rel for kind, rel, _ in plan["scans"] if kind == "Seq Scan"})
        note = ("yes: " + ", ".join(used)) if used else "NO"
        if seq:
            note += f" (seq scan: {', '.join(seq)})"
        failed += not plan["index"]
        print(f"{name:<36} {t['p50']:8.1f} {t['p95']:8.1f} {t['max']:8.1f} {plan['ms'] or 0:8.1f}  {note}")
    stats = timings["userStats"]["answer"]["userStats"]
    certs = timings["certificateStats"]["answer"]["certificateStats"]
    print(f"\nuserStats: total {stats['total']:,}; certificateStats: total {certs['total']:,}, "
          f"expiring within 90 days {certs['expiringSoon']:,}")
    return 1 if failed else 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.reporting", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--url", default=default_url("postgresql", 1.0), help="the data set's database")
    parser.add_argument("--runs", type=int, default=30, help="timed requests per query")
    args = parser.parse_args(argv)
    return asyncio.run(run(args.url, args.runs))


if __name__ == "__main__":
    sys.exit(main())
