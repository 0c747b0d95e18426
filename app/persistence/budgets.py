"""Cost budgets: a token bucket of cost points per key (a principal, or an unauthenticated client's
address), refilled continuously up to its budget per minute.

`MemoryBudgets` keeps the buckets in process memory (SQLite: one process). `SharedBudgets` keeps
them in the `cost_budgets` table, shared by every process of a deployment on one PostgreSQL. So
that a request does not wait for the database each time, a process draws points from the shared
bucket in leases (at least a twentieth of the budget, or what the request needs) and spends them
locally; one upsert per lease, none for a request its lease covers. What a request's actual cost
differs from what was taken stays in the lease (refunded, or owed by the next request). The price:
each process may hold one unspent lease per key, so with N processes a key can exceed its budget
by N twentieths at most."""

from __future__ import annotations

import logging
import math
import time
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine

log = logging.getLogger("app.budgets")

MAX_KEYS = 10_000  # buckets a process remembers; the oldest is forgotten (it refills to full anyway)
LEASE_FRACTION = 20


@dataclass(frozen=True, slots=True)
class Verdict:
    allowed: bool
    remaining: float
    retry_after: int = 0


def _retry_after(missing: float, per_minute: int) -> int:
    return max(1, math.ceil(missing * 60.0 / per_minute))


def _remember(buckets: dict[Any, Any], key: Any, value: Any) -> None:
    buckets.pop(key, None)
    buckets[key] = value
    if len(buckets) > MAX_KEYS:
        buckets.pop(next(iter(buckets)))


@dataclass
class MemoryBudgets:
    """The buckets of one process."""

    _buckets: dict[Any, tuple[float, float]] = field(default_factory=dict)

    def _level(self, key: Any, per_minute: int, now: float) -> float:
        level, at = self._buckets.get(key, (float(per_minute), now))
        return min(float(per_minute), level + (now - at) * per_minute / 60.0)

    async def take(self, key: Any, cost: int, per_minute: int) -> Verdict:
        now = time.monotonic()
        level = self._level(key, per_minute, now)
        if cost > level:
            _remember(self._buckets, key, (level, now))
            return Verdict(False, level, _retry_after(cost - level, per_minute))
        _remember(self._buckets, key, (level - cost, now))
        return Verdict(True, level - cost)

    def settle(self, key: Any, refund: float, per_minute: int) -> float:
        """Give back `refund` points (negative: charge them); the level may go below zero, and the
        key then waits until it has refilled."""
        now = time.monotonic()
        level = min(float(per_minute), self._level(key, per_minute, now) + refund)
        _remember(self._buckets, key, (level, now))
        return level


# One statement: refill the row by the time since it was last touched, then grant the lease when
# the refilled level covers what the request needs (`need`), as much of `want` as it holds.
_P = {name: f"CAST(:{name} AS float8)" for name in ("need", "want", "cap", "rate")}
_REFILLED = "LEAST({cap}, cost_budgets.level + EXTRACT(EPOCH FROM now() - cost_budgets.at) * {rate})".format(**_P)
_GRANT = "CASE WHEN {r} >= {need} THEN LEAST({want}, {r}) ELSE 0 END".format(r=_REFILLED, **_P)
_FIRST_GRANT = "CASE WHEN {cap} >= {need} THEN LEAST({want}, {cap}) ELSE 0 END".format(**_P)
_LEASE = text(f"""
INSERT INTO cost_budgets AS cost_budgets (key, level, granted, at)
VALUES (:key, {_P["cap"]} - {_FIRST_GRANT}, {_FIRST_GRANT}, now())
ON CONFLICT (key) DO UPDATE SET granted = {_GRANT}, level = {_REFILLED} - {_GRANT}, at = now()
RETURNING level, granted
""")
_PRUNE = text("DELETE FROM cost_budgets WHERE at < now() - interval '10 minutes'")
PRUNE_EVERY = 1000  # leases between two prunes of rows untouched long enough to be full again


@dataclass
class SharedBudgets:
    """The buckets in the `cost_budgets` table (PostgreSQL), spent locally in leases."""

    engine: AsyncEngine
    _held: dict[Any, float] = field(default_factory=dict)
    _seen: dict[Any, float] = field(default_factory=dict)  # the shared level after our last lease
    leases: int = 0

    async def take(self, key: Any, cost: int, per_minute: int) -> Verdict:
        held = self._held.get(key, 0.0)
        if held < cost:
            need = cost - held
            try:
                level, granted = await self._lease(str(key), need, max(need, per_minute / LEASE_FRACTION), per_minute)
            except Exception as exc:  # the database away: the request's own reads will say so
                log.warning("cost budget unavailable, request let through: %s", type(exc).__name__)
                return Verdict(True, held)
            self._seen[key] = level
            held += granted
            if held < cost:
                _remember(self._held, key, held)
                return Verdict(False, level + held, _retry_after(cost - held - level, per_minute))
        _remember(self._held, key, held - cost)
        return Verdict(True, self._seen.get(key, 0.0) + held - cost)

    def settle(self, key: Any, refund: float, per_minute: int) -> float:
        held = self._held.get(key, 0.0) + refund
        _remember(self._held, key, held)
        return min(float(per_minute), self._seen.get(key, 0.0) + held)

    async def _lease(self, key: str, need: float, want: float, per_minute: int) -> tuple[float, float]:
        params = {"key": key, "need": float(need), "want": float(want), "cap": float(per_minute),
                  "rate": per_minute / 60.0}
        async with self.engine.connect() as conn:
            await conn.execution_options(isolation_level="AUTOCOMMIT")
            row = (await conn.execute(_LEASE, params)).one()
            self.leases += 1
            if self.leases % PRUNE_EVERY == 0:
                await conn.execute(_PRUNE)
        return float(row.level), float(row.granted)


def budget_store(engine: AsyncEngine) -> MemoryBudgets | SharedBudgets:
    """Shared buckets on PostgreSQL (several processes), the process's own on SQLite (one)."""
    return SharedBudgets(engine) if engine.dialect.name == "postgresql" else MemoryBudgets()
