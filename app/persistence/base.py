"""Table metadata shared by all areas, with a naming convention Alembic can rely on."""

from __future__ import annotations

import datetime as dt
import uuid
from typing import Any

from sqlalchemy import JSON, BigInteger, Column, DateTime, Integer, MetaData, TypeDecorator, Uuid, func
from sqlalchemy.engine import Dialect

metadata = MetaData(
    naming_convention={
        "ix": "ix_%(table_name)s_%(column_0_N_name)s",
        "uq": "uq_%(table_name)s_%(column_0_N_name)s",
        "ck": "ck_%(table_name)s_%(constraint_name)s",
        "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
        "pk": "pk_%(table_name)s",
    }
)


class UTCDateTime(TypeDecorator[dt.datetime]):
    """Timezone-aware UTC datetimes on every backend (SQLite drops the offset otherwise)."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: dt.datetime | None, dialect: Dialect) -> dt.datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime given to a UTC column")
        return value.astimezone(dt.UTC)

    def result_processor(self, dialect: Dialect, coltype: Any) -> Any:
        if dialect.name == "postgresql" and dialect.driver == "asyncpg":
            return None  # asyncpg reads timestamptz as datetimes in UTC already (one call per value saved)
        return super().result_processor(dialect, coltype)

    def process_result_value(self, value: dt.datetime | None, dialect: Dialect) -> dt.datetime | None:
        if value is None:
            return None
        return value.replace(tzinfo=dt.UTC) if value.tzinfo is None else value.astimezone(dt.UTC)


UUID = Uuid(as_uuid=True)
JSONType = JSON().with_variant(JSON(none_as_null=True), "postgresql")


def new_uuid() -> uuid.UUID:
    return uuid.uuid4()


# BigInteger ids that still autoincrement on SQLite.
BigId = BigInteger().with_variant(Integer(), "sqlite")


def utc_now() -> dt.datetime:
    """The default and `onupdate` of the `updated_at` columns: every insert or `update(table)` that
    does not set the column stamps it with the current time."""
    return dt.datetime.now(dt.UTC)


def updated_at_column() -> Column[dt.datetime]:
    """A table's `updated_at`: set on insert and by every `update(table)` that does not set it itself
    (SQLAlchemy Core's `onupdate`); the server default covers rows written outside SQLAlchemy
    (bulk COPY)."""
    return Column("updated_at", UTCDateTime, nullable=False, default=utc_now, onupdate=utc_now, server_default=func.now())
