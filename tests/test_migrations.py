"""The Alembic migrations build exactly the tables the code declares."""

from __future__ import annotations

from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext

import app.persistence.tables  # noqa: F401  (every area's tables on the metadata)
from app.persistence.base import metadata
from tests.conftest import Env


async def test_migrations_match_the_declared_tables(env: Env) -> None:
    def diff(sync_conn):  # type: ignore[no-untyped-def]
        context = MigrationContext.configure(sync_conn, opts={"compare_type": False})
        return compare_metadata(context, metadata)

    async with env.engine.connect() as conn:
        changes = await conn.run_sync(diff)
    assert changes == [], changes


def test_the_tables_package_registers_every_areas_module() -> None:
    import pkgutil

    import app.persistence.tables as tables

    modules = {m.name for m in pkgutil.iter_modules(tables.__path__)}
    assert {"users", "certificates", "user_groups", "budgets"} <= modules
    assert {t.name for t in metadata.sorted_tables} >= {"users", "certificates", "cost_budgets", "outbox"}
