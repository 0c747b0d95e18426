"""The Alembic migrations build exactly the tables the code declares."""

from __future__ import annotations

from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext

from app.persistence.base import metadata
from tests.conftest import Env


async def test_migrations_match_the_declared_tables(env: Env) -> None:
    def diff(sync_conn):  # type: ignore[no-untyped-def]
        context = MigrationContext.configure(sync_conn, opts={"compare_type": False})
        return compare_metadata(context, metadata)

    async with env.engine.connect() as conn:
        changes = await conn.run_sync(diff)
    assert changes == [], changes
