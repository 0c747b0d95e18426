"""Faults: SMTP down, an import job interrupted mid-way, many clients editing one user and group."""

from __future__ import annotations

import asyncio
import contextlib
import datetime as dt
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from aiosmtpd.controller import Controller
from sqlalchemy import func, select, update

from app.adapters.jwt import sign_token
from app.bootstrap import Services, build_services
from app.config import Settings
from app.domain.bulk import jobs as bulk
from app.domain.bulk.csv_file import BulkOperation
from app.domain.bulk.model import BulkJobStatus
from app.domain.common.principal import Role
from app.entrypoints.http.app import create_app
from app.entrypoints.workers.bulk_runner import BulkRunner
from app.persistence.migrate import upgrade
from app.persistence.tables.activity import activities
from app.persistence.tables.bulk import bulk_jobs
from app.persistence.tables.outbox import outbox
from app.persistence.tables.user_groups import user_group_members
from app.persistence.tables.users import users
from tests.conftest import Env, MailSink, _free_port, _postgres_database, token_for
from tests.factories import OrgFixture, make_org
from tests.test_bulk_import import csv_file, person

CREATE_CPR = """
mutation($e: String!, $c: String!) { createUser(input: {firstName: "Post", lastName: "Kasse", email: $e, cpr: $c}) {
  user { id } userErrors { code } } }
"""


@contextlib.asynccontextmanager
async def own_database(env: Env, tmp: Path) -> AsyncIterator[str]:
    if env.backend == "postgresql":
        async with _postgres_database() as url:
            yield url
    else:
        yield f"sqlite+aiosqlite:///{tmp / 'own.db'}"


async def test_mail_waits_in_the_outbox_while_smtp_is_down_and_is_delivered_once_when_it_returns(
    env: Env, tmp_path: Path
) -> None:
    port = _free_port()  # nothing listens here yet: SMTP is down
    async with own_database(env, tmp_path) as url:
        settings = Settings.from_env({}, database_url=url, smtp_url=f"smtp://127.0.0.1:{port}",
                                     outbox_interval_seconds=0.1, outbox_retry_base_seconds=0.2,
                                     scheduler_interval_seconds=60, upload_dir=str(tmp_path / "up"))
        services = build_services(settings)
        await upgrade(services.engine)
        org = await make_org(services)
        app = create_app(settings, services)
        token = sign_token(settings, org.people[Role.USER_ADMINISTRATOR], org.cvr, [Role.USER_ADMINISTRATOR])
        async with app.router.lifespan_context(app), httpx.AsyncClient(
            transport=httpx.ASGITransport(app=app), base_url="http://testserver"
        ) as client:
            body = (await client.post("/graphql", json={"query": CREATE_CPR, "variables": {
                "e": "postkasse@example.dk", "c": "010203-4567"}}, headers={"Authorization": f"Bearer {token}"})).json()
            assert body["data"]["createUser"]["userErrors"] == []
            for _ in range(50):
                async with services.engine.connect() as conn:
                    row = (await conn.execute(select(outbox.c.attempts, outbox.c.sent_at, outbox.c.last_error)
                                              .where(outbox.c.recipient == "postkasse@example.dk"))).one()
                if row.attempts >= 2:
                    break
                await asyncio.sleep(0.1)
            assert row.attempts >= 2 and row.sent_at is None and row.last_error

            sink = MailSink()
            controller = Controller(sink, hostname="127.0.0.1", port=port)
            controller.start()
            try:
                await sink.wait_for("postkasse@example.dk", timeout=15)
                await asyncio.sleep(1.0)
                assert len(sink.to("postkasse@example.dk")) == 1
                async with services.engine.connect() as conn:
                    sent = (await conn.execute(select(outbox.c.sent_at, outbox.c.last_error)
                                               .where(outbox.c.recipient == "postkasse@example.dk"))).one()
                assert sent.sent_at is not None and sent.last_error is None
            finally:
                controller.stop()


@contextlib.asynccontextmanager
async def _import_services(env: Env, tmp_path: Path, batch_size: int) -> AsyncIterator[tuple[Services, OrgFixture]]:
    """Services on a database of their own (no background runner), migrated, with one organisation."""
    async with own_database(env, tmp_path) as url:
        settings = Settings.from_env({}, database_url=url, background_tasks=False, upload_dir=str(tmp_path / "up"),
                                     bulk_lease_seconds=60)
        services = build_services(settings)
        services.bulk.limits = bulk.BulkLimits(batch_size=batch_size)
        await upgrade(services.engine)
        try:
            yield services, await make_org(services)
        finally:
            await services.engine.dispose()


async def _queue_import(services: Services, org: OrgFixture, path: Path, rows: int, *, dry_run: bool) -> Any:
    path.write_bytes(csv_file([person(i) for i in range(rows)]))
    async with services.unit_of_work(org.actor(Role.USER_ADMINISTRATOR)) as uow:
        job = await bulk.queue_import(uow, operation=BulkOperation.CREATE, dry_run=dry_run, file_name="x.csv",
                                      file_path=str(path), file_size=path.stat().st_size, limits=services.bulk.limits)
        await uow.commit()
    return job


async def _cancel(runner: asyncio.Task[Any]) -> None:
    runner.cancel()
    with contextlib.suppress(asyncio.CancelledError):
        await runner


async def test_an_import_interrupted_mid_way_writes_nothing_and_is_taken_up_again(env: Env, tmp_path: Path) -> None:
    async with _import_services(env, tmp_path, batch_size=100) as (services, org):
        before = await _users(services, org)
        job = await _queue_import(services, org, tmp_path / "import.csv", 600, dry_run=False)

        runner = asyncio.create_task(BulkRunner(services).run_pending())
        for _ in range(500):  # cancel once some batches are written (inside the open transaction)
            if services.bulk.progress.get(job.id, (0, None))[0] >= 200:
                break
            await asyncio.sleep(0.005)
        await _cancel(runner)
        assert await _users(services, org) == before  # nothing half-written
        assert await _job_status(services, job.id) == BulkJobStatus.RUNNING.value

        # The lease of the dead runner runs out; the next runner takes the job up and finishes it.
        async with services.engine.begin() as conn:
            await conn.execute(update(bulk_jobs).where(bulk_jobs.c.id == job.id)
                               .values(claimed_until=dt.datetime.now(dt.UTC) - dt.timedelta(seconds=1)))
        assert await BulkRunner(services).run_pending() == 1
        assert await _job_status(services, job.id) == BulkJobStatus.SUCCEEDED.value
        assert await _users(services, org) == before + 600
        async with services.engine.connect() as conn:
            created = (await conn.execute(select(func.count()).select_from(activities).where(
                activities.c.org_id == org.org_id, activities.c.type == "USER_CREATED"))).scalar_one()
        assert created == before + 600  # one entry per user, none left from the interrupted run


async def test_a_runner_cancelled_at_any_moment_leaves_the_database_writable(env: Env, tmp_path: Path) -> None:
    """Cancelled inside a statement, aiosqlite left it open and a zombie connection kept SQLite's
    write lock until the interpreter freed it. The runner now stops only at a batch boundary:
    whenever it is cancelled (30 moments), a writer gets in at once."""
    if env.backend != "sqlite":
        pytest.skip("SQLite's file lock; PostgreSQL rolls a cancelled session back itself")
    import sqlite3

    def writable(db: str) -> bool:
        conn = sqlite3.connect(db, timeout=0.5)
        try:
            conn.execute("BEGIN IMMEDIATE")
            conn.execute("ROLLBACK")
            return True
        except sqlite3.OperationalError:
            return False
        finally:
            conn.close()

    async with _import_services(env, tmp_path, batch_size=50) as (services, org):
        db = str(services.engine.url.database)
        for delay in (i * 0.0035 for i in range(30)):  # from before the first batch to past the last
            await _queue_import(services, org, tmp_path / "import.csv", 300, dry_run=True)
            runner = asyncio.create_task(BulkRunner(services).run_pending())
            await asyncio.sleep(delay)
            await _cancel(runner)
            assert await asyncio.to_thread(writable, db), f"write lock still held after a cancel at {delay:.4f} s"
            async with services.engine.begin() as conn:  # the job is left RUNNING: let it go
                await conn.execute(update(bulk_jobs).values(status=BulkJobStatus.FAILED.value))


async def _users(services: Services, org: OrgFixture) -> int:
    async with services.engine.connect() as conn:
        return int((await conn.execute(select(func.count()).select_from(users).where(users.c.org_id == org.org_id)))
                   .scalar_one())


async def _job_status(services: Services, job_id: Any) -> str:
    async with services.engine.connect() as conn:
        return str((await conn.execute(select(bulk_jobs.c.status).where(bulk_jobs.c.id == job_id))).scalar_one())


async def test_many_clients_editing_one_user_lose_no_update(env: Env, org: OrgFixture) -> None:
    """Each edit locks the user's row (PostgreSQL: SELECT … FOR UPDATE; SQLite: one writer at a
    time) and bumps its version, so concurrent edits apply one after another."""
    token = token_for(env, org, Role.USER_ADMINISTRATOR)
    target = org.people[Role.USER]
    from app.schema.runtime.base import to_global_id

    gid = to_global_id("User", target)
    async with env.engine.connect() as conn:
        version = (await conn.execute(select(users.c.version).where(users.c.id == target))).scalar_one()
    mutation = "mutation($id: ID!, $p: String!) { updateUser(input: {userId: $id, phone: $p}) { userErrors { code } } }"
    results = await asyncio.gather(*[
        env.gql(mutation, {"id": gid, "p": f"+45 2000{i:04d}"}, token=token) for i in range(12)
    ])
    assert all(r["data"]["updateUser"]["userErrors"] == [] for r in results), results
    async with env.engine.connect() as conn:
        after = (await conn.execute(select(users.c.version).where(users.c.id == target))).scalar_one()
        entries = (await conn.execute(select(func.count()).select_from(activities).where(
            activities.c.target_user_id == target, activities.c.type == "USER_UPDATED"))).scalar_one()
    assert after == version + 12
    assert entries == 12


async def test_many_clients_adding_the_same_members_create_no_duplicates(env: Env, org: OrgFixture) -> None:
    from app.schema.runtime.base import to_global_id

    oa = token_for(env, org, Role.ORGANISATION_ADMINISTRATOR)
    ua = token_for(env, org, Role.USER_ADMINISTRATOR)
    group = (await env.gql('mutation { createUserGroup(input: {name: "Samtidig"}) { group { id } } }', token=oa))[
        "data"]["createUserGroup"]["group"]["id"]
    members = [to_global_id("User", org.people[r]) for r in (Role.USER, Role.RIGHTS_ADMINISTRATOR)]
    add = "mutation($g: ID!, $u: [ID!]!) { addUsersToGroup(input: {groupId: $g, userIds: $u}) { userErrors { code } } }"
    results = await asyncio.gather(*[env.gql(add, {"g": group, "u": members}, token=ua) for _ in range(10)])
    codes = [e["code"] for r in results for e in r["data"]["addUsersToGroup"]["userErrors"]]
    assert set(codes) <= {"CONFLICT"}, results  # a loser of the race is told to retry, never a 500
    assert "errors" not in str(results)
    async with env.engine.connect() as conn:
        rows = (await conn.execute(select(func.count()).select_from(user_group_members).where(
            user_group_members.c.user_id.in_([org.people[Role.USER], org.people[Role.RIGHTS_ADMINISTRATOR]])))).scalar_one()
    assert rows == 2
