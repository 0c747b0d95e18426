"""Reporting rules (issue 17): the date ranges of the report filters and the aggregates' inputs.
Pure functions; the counting itself is one SQL statement each (app/persistence/reporting.py)."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from app.domain.common.errors import DomainError
from app.domain.common.validation import parse_moment

INVALID_RANGE = "INVALID_RANGE"
OUT_OF_RANGE = "OUT_OF_RANGE"
DEFAULT_EXPIRING_WITHIN_DAYS = 30
MAX_EXPIRING_WITHIN_DAYS = 3650


@dataclass(slots=True, frozen=True)
class MomentRange:
    """[start, end): a `from` date counts from the start of its Danish day, a `to` date to its end."""

    start: dt.datetime | None = None
    end: dt.datetime | None = None


def moment_range(raw_from: str | None, raw_to: str | None, from_name: str, to_name: str) -> MomentRange:
    """Both ends optional (ISO dates or date-times); INVALID_DATE at the bad end, INVALID_RANGE at
    `to_name` when the range is empty (from after to)."""
    start = parse_moment(raw_from, from_name, end_of_day=False) if raw_from else None
    end = parse_moment(raw_to, to_name, end_of_day=True) if raw_to else None
    if start is not None and end is not None and start >= end:
        raise DomainError(INVALID_RANGE, f"`{from_name}` must not be after `{to_name}`", [to_name])
    return MomentRange(start, end)


def expiring_window(days: int | None, now: dt.datetime) -> tuple[int, dt.datetime]:
    """(days, the moment `days` from now): default 30 days, 1 to 3650 allowed (OUT_OF_RANGE)."""
    n = DEFAULT_EXPIRING_WITHIN_DAYS if days is None else days
    if not 1 <= n <= MAX_EXPIRING_WITHIN_DAYS:
        raise DomainError(OUT_OF_RANGE, f"`expiringWithinDays` must be between 1 and {MAX_EXPIRING_WITHIN_DAYS}",
                          ["expiringWithinDays"])
    return n, now + dt.timedelta(days=n)


@dataclass(slots=True, frozen=True)
class Bucket:
    key: str | None
    count: int
    name: str | None = None  # what the key names, where it has a name (a P-unit's)


@dataclass(slots=True, frozen=True)
class UserStats:
    """What `users` lists by default (everyone not DELETED) in `total` and every breakdown but
    `by_status`, which also has the DELETED users (as `users(filter: {status: DELETED})` lists them).
    A user with several authenticators counts once under each; every P-unit of the organisation has
    a bucket (0 when no one is in it), users without one are under None."""

    total: int
    by_status: tuple[Bucket, ...]
    by_identification: tuple[Bucket, ...]
    by_authenticator: tuple[Bucket, ...]
    by_organisation_unit: tuple[Bucket, ...]


@dataclass(slots=True, frozen=True)
class CertificateStats:
    """Every certificate of the organisation (as `certificates` lists them), by kind and by status
    as read (an ISSUED one past its notAfter is EXPIRED); `expiring_soon`: ISSUED, not expired, with
    notAfter within `expiring_within_days`."""

    total: int
    by_kind: tuple[Bucket, ...]
    by_status: tuple[Bucket, ...]
    expiring_soon: int
    expiring_within_days: int


def buckets(counts: dict[str | None, int], names: dict[str, str] | None = None) -> tuple[Bucket, ...]:
    """Largest first, then by key (None last): a stable order for reports."""
    names = names or {}
    return tuple(Bucket(k, n, names.get(k) if k is not None else None)
                 for k, n in sorted(counts.items(), key=lambda kv: (-kv[1], kv[0] is None, kv[0] or "")))
