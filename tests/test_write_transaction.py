"""The one way to open a write transaction (app/persistence/db.py): on SQLite the write lock is taken
at BEGIN (BEGIN IMMEDIATE), so read-then-write transactions running at once queue instead of failing
with "database is locked"; a block that ends commits, one that raises writes nothing."""

from __future__ import annotations

import asyncio
import uuid

import pytest
from sqlalchemy import select, update

from app.persistence.db import write_transaction
from app.persistence.tables.organisations import organisations
from tests.conftest import Env
from tests.factories import OrgFixture


async def name_of(env: Env, org: OrgFixture) -> str:
    async with env.engine.connect() as conn:
        return str((await conn.execute(select(organisations.c.name).where(organisations.c.id == org.org_id))).scalar_one())


async def test_a_write_transaction_commits_when_its_block_ends(env: Env, org: OrgFixture) -> None:
    name = f"Omdøbt {uuid.uuid4().hex[:6]}"

    async with write_transaction(env.engine) as conn:
        await conn.execute(update(organisations).where(organisations.c.id == org.org_id).values(name=name))

    assert await name_of(env, org) == name


async def test_a_write_transaction_whose_block_raises_writes_nothing(env: Env, org: OrgFixture) -> None:
    before = await name_of(env, org)

    with pytest.raises(RuntimeError):
        async with write_transaction(env.engine) as conn:
            await conn.execute(update(organisations).where(organisations.c.id == org.org_id).values(name="Aldrig"))
            raise RuntimeError("the block fails after its write")

    assert await name_of(env, org) == before


async def test_on_sqlite_the_write_lock_is_taken_at_begin(env: Env, org: OrgFixture) -> None:
    with env.count_statements() as seen:
        async with write_transaction(env.engine) as conn:
            await conn.execute(select(organisations.c.name).where(organisations.c.id == org.org_id))

    if env.backend == "sqlite":
        assert seen[0] == "BEGIN IMMEDIATE"
    else:
        assert not any("IMMEDIATE" in s for s in seen)


async def test_read_then_write_transactions_at_once_all_commit(env: Env, org: OrgFixture) -> None:
    """Deferred SQLite transactions would both read, then one would fail to upgrade its lock."""
    async with write_transaction(env.engine) as conn:
        await conn.execute(update(organisations).where(organisations.c.id == org.org_id).values(name="0"))

    async def increment() -> None:
        async with write_transaction(env.engine) as conn:
            q = select(organisations.c.name).where(organisations.c.id == org.org_id)
            if env.backend != "sqlite":
                q = q.with_for_update()
            current = int((await conn.execute(q)).scalar_one())
            await asyncio.sleep(0.05)  # the others read meanwhile, unless they wait at BEGIN
            await conn.execute(
                update(organisations).where(organisations.c.id == org.org_id).values(name=str(current + 1))
            )

    await asyncio.gather(*(increment() for _ in range(4)))

    assert await name_of(env, org) == "4"
