"""The benchmark organisation (issue 7): one realistic organisation, bulk-loaded fast.

    .venv/bin/python -m bench.data --db postgresql                   # bench_dashboard_1 on 127.0.0.1
    .venv/bin/python -m bench.data --db sqlite --scale 0.1           # var/bench/dashboard-0_1.db
    .venv/bin/python -m bench.data --db postgresql --url postgresql+asyncpg://postgres@127.0.0.1:5432/bench_x

At scale 1.0: 10k users (half CPR - hashed, encrypted and masked as the gateway stores them - half
date of birth; ACTIVE, PENDING_ACTIVATION, CREATED, DEACTIVATED and a few DELETED), ~15k
authenticators, 200 custom groups with ~30k memberships (plus the two P-units' system groups),
50k certificates (user and organisation; ISSUED, REVOKED, ORDERED; notAfter spread from two years ago
to three years ahead, so some read as EXPIRED; issued ones carry a PEM of realistic size) and 1M
history entries on users, one of whom (the "hot" user) has >= 50k of them for the keyset paging test.

The organisation and its four people (one per role) are made the gateway's way
(tests.factories.make_org); everything else goes in by bulk insert: asyncpg's `copy_records_to_table`
on PostgreSQL, `executemany` in batches of 50k in one transaction on SQLite. Then VACUUM ANALYZE /
ANALYZE. The database is created afresh when its name starts with `bench` (PostgreSQL: dropped and
created; SQLite: the file replaced); any other database only gets one more organisation.
`find_dataset()` lets the other benchmarks reuse a generated database.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import datetime as dt
import json
import os
import random
import sqlite3
import sys
import time
import uuid
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
DEFAULT_PG_SERVER = os.environ.get("BENCH_POSTGRES_URL", "postgresql+asyncpg://postgres@127.0.0.1:5432")
ORG_PREFIX = "Bench dashboard scale="
BATCH = 50_000

FIRST = ["Søren", "Åse", "Jørgen", "Mette", "Bjørn", "Lærke", "Anne", "Mads", "Frederik", "Sofie", "Ida", "Emil",
         "Karen", "Niels", "Freja", "Oliver", "Astrid", "Lars", "Maja", "Henrik", "Signe", "Rasmus", "Julie",
         "Kasper", "Line", "Thomas", "Camilla", "Peter", "Louise", "Morten"]
LAST = ["Sørensen", "Møller", "Ågård", "Kjær", "Hansen", "Bækgaard", "Østergaard", "Nielsen", "Jensen", "Pedersen",
        "Andersen", "Christensen", "Larsen", "Rasmussen", "Jørgensen", "Petersen", "Madsen", "Kristensen", "Olsen",
        "Thomsen", "Poulsen", "Johansen", "Knudsen", "Mortensen", "Holm", "Lund", "Dahl", "Friis", "Bach", "Vestergaard"]
DEPARTMENTS = ["Økonomi", "Løn", "Indkøb", "Salg", "IT-drift", "Jura", "HR", "Lager", "Kundeservice", "Marketing"]
_ASCII = str.maketrans({"æ": "ae", "ø": "oe", "å": "aa", "Æ": "Ae", "Ø": "Oe", "Å": "Aa"})
STATUSES = (("ACTIVE", 70), ("PENDING_ACTIVATION", 10), ("CREATED", 8), ("DEACTIVATED", 9), ("DELETED", 3))
AUTHENTICATORS = ("PRIVATE_MITID", "MITID_APP", "CODE_DISPLAY", "AUDIO_CODE_READER", "CHIP", "SHARED_AUTHENTICATOR")
ACTIVITY_TYPES = (
    ("USER_UPDATED", 30), ("AUTHENTICATORS_CHANGED", 10), ("ACTIVATION_EMAIL_SENT", 8), ("USER_ACTIVATED", 6),
    ("GROUP_MEMBER_ADDED", 10), ("GROUP_MEMBER_REMOVED", 4), ("CERTIFICATE_ORDERED", 8), ("CERTIFICATE_ISSUED", 8),
    ("CERTIFICATE_REVOKED", 2), ("USER_DEACTIVATED", 3), ("USER_REACTIVATED", 2), ("ORGANISATION_UNIT_CHANGED", 4),
    ("NOTIFICATION_SETTINGS_CHANGED", 3), ("USER_CREATED", 2),
)


def counts_for(scale: float) -> dict[str, int]:
    """Row counts of one data set; the hot user's history is ~6 % of all entries (60k at scale 1)."""
    users = max(100, round(10_000 * scale))
    return {
        "users": users,
        "groups": max(5, round(200 * scale)),
        "memberships": round(3 * users),
        "certificates": round(5 * users),
        "activities": max(10_000, round(1_000_000 * scale)),
        "hot_activities": max(5_000, round(60_000 * scale)),
    }


def scale_tag(scale: float) -> str:
    return f"{scale:g}".replace(".", "_")


def default_url(db: str, scale: float) -> str:
    if db == "sqlite":
        return f"sqlite+aiosqlite:///{ROOT / 'var' / 'bench' / f'dashboard-{scale_tag(scale)}.db'}"
    return f"{DEFAULT_PG_SERVER}/bench_dashboard_{scale_tag(scale)}"


@dataclass
class Dataset:
    """What the benchmarks need to know about a generated organisation."""

    url: str
    org_id: int
    cvr: str
    name: str
    scale: float
    admin_id: uuid.UUID  # the USER_ADMINISTRATOR person (token subject)
    hot_user_id: uuid.UUID  # the user with the longest history
    hot_entries: int
    rows: dict[str, int] = field(default_factory=dict)

    @property
    def db(self) -> str:
        return "sqlite" if self.url.startswith("sqlite") else "postgresql"


# --- database handling ------------------------------------------------------------------------------


def _pg_dsn(url: str) -> str:
    return url.replace("postgresql+asyncpg://", "postgresql://")


def _sqlite_path(url: str) -> Path:
    return Path(url.split(":///", 1)[1])


async def recreate_database(url: str) -> bool:
    """A fresh, migrated database when the name starts with `bench`; else only migrate. True if fresh."""
    from app.persistence.db import make_engine
    from app.persistence.migrate import upgrade

    fresh = False
    if url.startswith("sqlite"):
        path = _sqlite_path(url)
        if path.name.startswith(("bench", "dashboard")) or "bench" in path.parts:
            for suffix in ("", "-wal", "-shm"):
                with contextlib.suppress(FileNotFoundError):
                    Path(str(path) + suffix).unlink()
            fresh = True
        path.parent.mkdir(parents=True, exist_ok=True)
    else:
        import asyncpg

        server, name = url.rsplit("/", 1)
        if name.startswith("bench"):
            admin = await asyncpg.connect(_pg_dsn(server) + "/postgres", timeout=10)
            try:
                await admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
                await admin.execute(f'CREATE DATABASE "{name}"')
            finally:
                await admin.close()
            fresh = True
    engine = make_engine(url)
    try:
        await upgrade(engine)
    finally:
        await engine.dispose()
    return fresh


async def find_dataset(url: str, scale: float | None = None) -> Dataset | None:
    """The generated organisation in this database (of this scale), or None."""
    from sqlalchemy import func, select

    from app.persistence.db import make_engine
    from app.persistence.tables.activity import activities
    from app.persistence.tables.organisations import organisations
    from app.persistence.tables.users import user_roles, users

    if url.startswith("sqlite") and not _sqlite_path(url).exists():
        return None
    engine = make_engine(url)
    try:
        async with engine.connect() as conn:
            try:
                org = (await conn.execute(
                    select(organisations.c.id, organisations.c.cvr, organisations.c.name)
                    .where(organisations.c.name.like(ORG_PREFIX + "%")).order_by(organisations.c.id.desc())
                )).first()
            except Exception:  # no tables yet, or no database
                return None
            if org is None:
                return None
            found_scale = float(org.name[len(ORG_PREFIX):].split()[0])
            if scale is not None and abs(found_scale - scale) > 1e-9:
                return None
            admin = (await conn.execute(
                select(users.c.id).join(user_roles, user_roles.c.user_id == users.c.id)
                .where(users.c.org_id == org.id, user_roles.c.role == "USER_ADMINISTRATOR")
            )).scalar()
            hot = (await conn.execute(
                select(activities.c.target_user_id, func.count().label("n"))
                .where(activities.c.org_id == org.id, activities.c.target_user_id.is_not(None))
                .group_by(activities.c.target_user_id).order_by(func.count().desc()).limit(1)
            )).first()
            if admin is None or hot is None:
                return None
            expected = counts_for(found_scale)
            n_users = (await conn.execute(select(func.count()).select_from(users).where(users.c.org_id == org.id))).scalar_one()
            n_acts = (await conn.execute(
                select(func.count()).select_from(activities).where(activities.c.org_id == org.id)
            )).scalar_one()
            if n_users < expected["users"] or n_acts < expected["activities"]:
                return None  # an interrupted generation
            return Dataset(url=url, org_id=org.id, cvr=org.cvr, name=org.name, scale=found_scale, admin_id=admin,
                           hot_user_id=hot.target_user_id, hot_entries=int(hot.n),
                           rows={"users": int(n_users), "activities": int(n_acts)})
    finally:
        await engine.dispose()


# --- the rows ---------------------------------------------------------------------------------------


def _weighted(rng: random.Random, table: Sequence[tuple[str, int]]) -> Callable[[], str]:
    values = [v for v, _ in table]
    cum: list[int] = []
    total = 0
    for _, w in table:
        total += w
        cum.append(total)
    choices = rng.choices

    def pick() -> str:
        return choices(values, cum_weights=cum)[0]

    return pick


def _cpr(k: int) -> tuple[str, dt.date]:
    """The k-th CPR number (unique for k < 87M) and its birth date (born 1940-1999)."""
    from bench.bulk_import import _cpr as cpr_text

    text = cpr_text(k)
    yy = int(text[4:6])
    return text[:6] + text[7:], dt.date(1900 + yy, int(text[2:4]), int(text[:2]))


USER_COLUMNS = (
    "id", "org_id", "first_name", "last_name", "email", "email_lower", "phone", "reference", "identification",
    "cpr_hash", "cpr_encrypted", "cpr_masked", "date_of_birth", "anonymous", "status", "p_number", "se_number",
    "can_sign", "can_create_seal", "deactivated_from", "deactivated_until", "created_at", "activated_at",
    "last_login_at", "deleted_at", "notification_channel", "version",
)
AUTH_COLUMNS = ("user_id", "kind", "added_at")
GROUP_COLUMNS = ("id", "org_id", "kind", "name", "name_lower", "description", "p_number", "se_number", "created_at",
                 "version")
GROUP_RIGHT_COLUMNS = ("group_id", "code")
MEMBER_COLUMNS = ("group_id", "user_id", "member_org_id", "external", "added_at", "added_by")
CERT_COLUMNS = (
    "id", "org_id", "kind", "type", "status", "issuance", "purposes", "user_id", "profile_id", "name", "name_lower",
    "email", "contact_name", "contact_email", "p_number", "se_number", "serial_number", "subject", "not_before",
    "not_after", "certificate_pem", "fingerprint_sha256", "can_seal", "allow_user_signing", "ordered_at",
    "ordered_by", "issued_at", "cancelled_at", "revoked_at", "revocation_reason", "revoked_by", "predecessor_id",
    "successor_id",
)
ACTIVITY_COLUMNS = ("org_id", "occurred_at", "actor_id", "actor_name", "type", "target_user_id", "target_group_id",
                    "target_name", "summary", "details")


@dataclass
class _User:
    id: uuid.UUID
    name: str  # as history shows it (the UUID of an anonymous user)
    email: str
    status: str
    created_at: dt.datetime


class Generator:
    """Deterministic rows (seeded); tuples in the column orders above, Python values."""

    def __init__(self, org: Any, platform: Any, people: list[tuple[uuid.UUID, str]], scale: float, now: dt.datetime,
                 catalogue: list[str]) -> None:
        self.org, self.platform, self.people, self.now = org, platform, people, now
        self.n = counts_for(scale)
        self.rng = random.Random(7)
        self.users: list[_User] = []
        self.group_ids: list[uuid.UUID] = []
        self.catalogue = catalogue

    def _uuid(self) -> uuid.UUID:
        return uuid.UUID(int=self.rng.getrandbits(128), version=4)

    def _past(self, max_days: float) -> dt.datetime:
        return self.now - dt.timedelta(seconds=self.rng.uniform(60, max_days * 86400))

    def users_rows(self) -> Iterator[tuple[Any, ...]]:
        rng, org, now = self.rng, self.org, self.now
        status_of = _weighted(rng, STATUSES)
        hash_cpr, encrypt_cpr = self.platform.hash_cpr, self.platform.encrypt_cpr
        for i in range(self.n["users"]):
            uid = self._uuid()
            first, last = rng.choice(FIRST), rng.choice(LAST)
            email = f"{first.translate(_ASCII).lower()}.{last.translate(_ASCII).lower()}.{i}@bench-dashboard.dk"
            status = status_of()
            created = self._past(5 * 365)
            if i % 2 == 0:
                cpr10, born = _cpr(i + 1)
                ident, cpr_hash, cpr_enc, masked = "CPR", hash_cpr(cpr10), encrypt_cpr(cpr10), cpr10[:6] + "-****"
            else:
                born = dt.date(1940, 1, 1) + dt.timedelta(days=rng.randrange(21_900))
                ident, cpr_hash, cpr_enc, masked = "DATE_OF_BIRTH", None, None, None
            anonymous = rng.random() < 0.02
            lived = status in ("ACTIVE", "DEACTIVATED", "DELETED")
            activated = created + dt.timedelta(days=rng.uniform(0.1, 10)) if lived else None
            last_login = min(now, activated + dt.timedelta(days=rng.uniform(0, 600))) if activated else None
            d_from = d_until = None
            if status == "DEACTIVATED":
                d_from = now - dt.timedelta(days=rng.uniform(1, 200))
                d_until = d_from + dt.timedelta(days=400) if rng.random() < 0.3 else None
            elif status == "ACTIVE" and rng.random() < 0.02:
                d_from = now + dt.timedelta(days=rng.uniform(1, 60))
            deleted = now - dt.timedelta(days=rng.uniform(1, 300)) if status == "DELETED" else None
            self.users.append(_User(uid, str(uid) if anonymous else f"{first} {last}", email, status, created))
            yield (
                uid, org.org_id, first, last, email, email.lower(),
                f"+45{rng.randrange(20_000_000, 99_999_999)}" if rng.random() < 0.6 else None,
                f"EMP-{i:05d}" if rng.random() < 0.3 else None, ident, cpr_hash, cpr_enc, masked, born, anonymous,
                status, org.p_numbers[0] if rng.random() < 0.7 else org.p_numbers[1],
                org.se_numbers[0] if rng.random() < 0.8 else org.se_numbers[1],
                rng.random() < 0.3, rng.random() < 0.05, d_from, d_until, created, activated, last_login, deleted,
                rng.choice(("BOTH", "BOTH", "EMAIL", "IN_APP")), 1,
            )

    def authenticator_rows(self) -> Iterator[tuple[Any, ...]]:
        rng = self.rng
        for u in self.users:
            if u.status == "DELETED":
                continue
            kinds = ["PRIVATE_MITID" if rng.random() < 0.6 else rng.choice(AUTHENTICATORS[1:])]
            if rng.random() < 0.55:
                extra = rng.choice(AUTHENTICATORS)
                if extra not in kinds:
                    kinds.append(extra)
            for k in kinds:
                yield (u.id, k, u.created_at + dt.timedelta(minutes=5))

    def group_rows(self) -> Iterator[tuple[Any, ...]]:
        org = self.org
        for g in range(self.n["groups"]):
            gid = self._uuid()
            self.group_ids.append(gid)
            name = f"{DEPARTMENTS[g % len(DEPARTMENTS)]} {g // len(DEPARTMENTS) + 1}"
            unit = org.p_numbers[g % 2] if g % 5 == 0 else None
            yield (gid, org.org_id, "CUSTOM", name, name.lower(), f"Brugere i {name}" if g % 3 else None, unit,
                   None, self._past(3 * 365), 1)

    def group_right_rows(self) -> Iterator[tuple[Any, ...]]:
        if not self.catalogue:
            return
        for gid in self.group_ids:
            for code in self.rng.sample(self.catalogue, k=min(len(self.catalogue), self.rng.randint(1, 3))):
                yield (gid, code)

    def member_rows(self) -> Iterator[tuple[Any, ...]]:
        rng, org = self.rng, self.org
        live = [u for u in self.users if u.status != "DELETED"]
        seen: set[tuple[int, int]] = set()
        # group sizes are skewed: a few large groups, many small ones
        weights = [1.0 / (1 + g) ** 0.7 for g in range(len(self.group_ids))]
        target = self.n["memberships"]
        while len(seen) < target:
            for g in rng.choices(range(len(self.group_ids)), weights=weights, k=target - len(seen)):
                u = rng.randrange(len(live))
                if (g, u) in seen:
                    continue
                seen.add((g, u))
                yield (self.group_ids[g], live[u].id, org.org_id, False, self._past(700), self.people[0][0])

    def certificate_rows(self) -> Iterator[tuple[Any, ...]]:
        rng, org, now = self.rng, self.org, self.now
        holders = [u for u in self.users if u.status != "DELETED"]
        admin = self.people[0][0]
        status_of = _weighted(rng, (("ISSUED", 65), ("REVOKED", 15), ("ORDERED", 20)))
        pem_body = None
        for n in range(self.n["certificates"]):
            cid = self._uuid()
            user_kind = rng.random() < 0.8
            status = status_of()
            issued = status != "ORDERED"
            ordered_at = now - dt.timedelta(seconds=rng.uniform(3600, 4 * 365 * 86400))
            holder = rng.choice(holders) if user_kind else None
            name = holder.name if holder else f"{rng.choice(DEPARTMENTS)} system {n}"
            not_before = ordered_at + dt.timedelta(minutes=rng.uniform(1, 600)) if issued else None
            not_after = not_before + dt.timedelta(days=rng.choice((730, 1095))) if not_before else None
            serial = f"{rng.getrandbits(159):040X}" if issued else None
            if issued:
                if pem_body is None or n % 64 == 0:  # realistic size (~1.3 kB), cheap to make
                    pem_body = rng.randbytes(900).hex()
                pem = "-----BEGIN CERTIFICATE-----\n" + "\n".join(
                    pem_body[i:i + 64] for i in range(0, 1200, 64)) + "\n-----END CERTIFICATE-----\n"
            else:
                pem = None
            revoked = status == "REVOKED"
            yield (
                cid, org.org_id, "USER" if user_kind else "ORGANISATION",
                "QUALIFIED" if rng.random() < 0.1 else "STANDARD", status,
                ("SOFTWARE" if rng.random() < 0.7 else "HARDWARE") if issued else None,
                "AUTHENTICATION,SIGNING" if user_kind else "AUTHENTICATION,SEAL",
                holder.id if holder else None, None, name, name.lower(), holder.email if holder else "it@bench-dashboard.dk",
                None if user_kind else "Kim Kontakt", None if user_kind else "kim@bench-dashboard.dk",
                org.p_numbers[n % 2], org.se_numbers[0], serial,
                f"C=DK,O={org.name},CN={name},serialNumber=CVR:{org.cvr}-UID:{cid}" if issued else None,
                not_before, not_after, pem, f"{rng.getrandbits(256):064X}" if issued else None,
                not user_kind and rng.random() < 0.3, not user_kind and rng.random() < 0.2, ordered_at, admin,
                not_before, None,
                min(now, not_before + dt.timedelta(days=rng.uniform(1, 500))) if revoked and not_before else None,
                rng.choice(("KEY_LOST", "HOLDER_LEFT", "KEY_COMPROMISE_SUSPECTED")) if revoked else None,
                admin if revoked else None, None, None,
            )

    def activity_rows(self, hot: _User) -> Iterator[tuple[Any, ...]]:
        """Oldest first (ids ascend with time); the hot user's entries spread evenly through all."""
        rng, org = self.rng, self.org
        total, n_hot = self.n["activities"], self.n["hot_activities"]
        type_of = _weighted(rng, ACTIVITY_TYPES)
        start = self.now - dt.timedelta(days=3 * 365)
        step = dt.timedelta(days=3 * 365) / total
        users = self.users
        details_of = {
            "USER_UPDATED": '{"fields": ["phone"]}', "AUTHENTICATORS_CHANGED": '{"added": ["MITID_APP"]}',
            "GROUP_MEMBER_ADDED": '{"group": "Løn 1"}',
        }
        summaries = {t: t.replace("_", " ").capitalize() for t, _ in ACTIVITY_TYPES}
        people = self.people
        for k in range(total):
            target = hot if (k * n_hot) // total != ((k + 1) * n_hot) // total else users[rng.randrange(len(users))]
            t = type_of()
            actor_id, actor_name = people[k % len(people)]
            yield (
                org.org_id, start + step * k, actor_id, actor_name, t, target.id, None, target.name,
                f"{summaries[t]}: {target.name}", details_of.get(t, "{}"),
            )


# --- loading ----------------------------------------------------------------------------------------


class Progress:
    """tqdm when installed, else a printed percentage every 5 %."""

    def __init__(self, total: int) -> None:
        self.total, self.done, self._shown = total, 0, -5
        try:
            from tqdm import tqdm
        except ImportError:
            self._bar = None
        else:
            self._bar = tqdm(total=total, unit="rows", unit_scale=True, dynamic_ncols=True, file=sys.stderr)

    def table(self, name: str) -> None:
        if self._bar is not None:
            self._bar.set_description(name)

    def update(self, n: int) -> None:
        self.done += n
        if self._bar is not None:
            self._bar.update(n)
            return
        pct = int(100 * self.done / max(1, self.total))
        if pct >= self._shown + 5:
            self._shown = pct - pct % 5
            print(f"  {pct:3d} % ({self.done:,} of {self.total:,} rows)", flush=True)

    def close(self) -> None:
        if self._bar is not None:
            self._bar.close()


def _batches(rows: Iterable[tuple[Any, ...]], size: int = BATCH) -> Iterator[list[tuple[Any, ...]]]:
    batch: list[tuple[Any, ...]] = []
    for r in rows:
        batch.append(r)
        if len(batch) >= size:
            yield batch
            batch = []
    if batch:
        yield batch


def _sqlite_converters(table_name: str, columns: Sequence[str]) -> list[Callable[[Any], Any] | None]:
    """Values as SQLAlchemy stores them on SQLite: UUID as 32 hex digits, datetimes as
    'YYYY-MM-DD HH:MM:SS.ffffff' (UTC), dates ISO, booleans 0/1, JSON as text."""
    from sqlalchemy import JSON, Boolean, Date, Uuid

    from app.persistence.base import UTCDateTime, metadata

    table = metadata.tables[table_name]

    def moment(v: dt.datetime | None) -> str | None:
        if v is None:
            return None
        v = v.astimezone(dt.UTC)
        return f"{v.year:04d}-{v.month:02d}-{v.day:02d} {v.hour:02d}:{v.minute:02d}:{v.second:02d}.{v.microsecond:06d}"

    out: list[Callable[[Any], Any] | None] = []
    for name in columns:
        t = table.c[name].type
        base = t.impl if isinstance(t, UTCDateTime) else t
        if isinstance(t, UTCDateTime):
            out.append(moment)
        elif isinstance(base, Uuid):
            out.append(lambda v: None if v is None else v.hex)
        elif isinstance(base, JSON):
            out.append(lambda v: v if v is None or isinstance(v, str) else json.dumps(v))
        elif isinstance(base, Date):
            out.append(lambda v: None if v is None else v.isoformat())
        elif isinstance(base, Boolean):
            out.append(lambda v: None if v is None else int(v))
        else:
            out.append(None)
    return out


class _Loader:
    async def load(self, table: str, columns: Sequence[str], rows: Iterable[tuple[Any, ...]], progress: Progress) -> int:
        raise NotImplementedError

    async def finish(self) -> None:
        raise NotImplementedError


class _PgLoader(_Loader):
    def __init__(self, conn: Any) -> None:
        self.conn = conn

    async def load(self, table: str, columns: Sequence[str], rows: Iterable[tuple[Any, ...]], progress: Progress) -> int:
        n = 0
        for batch in _batches(rows):
            await self.conn.copy_records_to_table(table, records=batch, columns=list(columns))
            n += len(batch)
            progress.update(len(batch))
        return n


class _SqliteLoader(_Loader):
    def __init__(self, conn: sqlite3.Connection) -> None:
        self.conn = conn

    async def load(self, table: str, columns: Sequence[str], rows: Iterable[tuple[Any, ...]], progress: Progress) -> int:
        conv = _sqlite_converters(table, columns)
        idx = [(i, f) for i, f in enumerate(conv) if f is not None]
        sql = f"INSERT INTO {table} ({', '.join(columns)}) VALUES ({', '.join('?' * len(columns))})"
        n = 0
        for batch in _batches(rows):
            converted = []
            for r in batch:
                lst = list(r)
                for i, f in idx:
                    lst[i] = f(lst[i])
                converted.append(lst)
            self.conn.executemany(sql, converted)
            n += len(batch)
            progress.update(len(batch))
        return n


async def generate(url: str, scale: float = 1.0, *, quiet: bool = False) -> Dataset:
    """Create (or add to) the database at `url` and fill it; returns the data set."""
    from sqlalchemy import select

    from app.bootstrap import build_services
    from app.config import Settings
    from app.persistence.tables.rights import rights_catalogue
    from app.persistence.tables.users import users
    from tests.factories import make_org

    say = (lambda *a: None) if quiet else print
    started = time.perf_counter()
    fresh = await recreate_database(url)
    say(f"data: {'fresh' if fresh else 'existing'} database {url}")
    settings = Settings.from_env({}, database_url=url, background_tasks=False)
    services = build_services(settings)
    try:
        org = await make_org(services, name=f"{ORG_PREFIX}{scale:g}")
        async with services.engine.connect() as conn:
            people_rows = (await conn.execute(
                select(users.c.id, users.c.first_name, users.c.last_name).where(users.c.org_id == org.org_id)
            )).all()
            catalogue = list((await conn.execute(select(rights_catalogue.c.code).order_by(rights_catalogue.c.code))).scalars())
        from app.domain.common.principal import Role

        admin = org.people[Role.USER_ADMINISTRATOR]
        people = sorted(((r.id, f"{r.first_name} {r.last_name}") for r in people_rows), key=lambda p: p[0] != admin)
        gen = Generator(org, services.platform, people, scale, dt.datetime.now(dt.UTC), catalogue)
        n = gen.n
        total = (n["users"] + round(1.5 * n["users"]) + n["groups"] + 2 * n["groups"] + n["memberships"]
                 + n["certificates"] + n["activities"])
        say(f"data: organisation {org.name} (CVR {org.cvr}, id {org.org_id}); loading ~{total:,} rows: "
            f"{n['users']:,} users, ~{round(1.5 * n['users']):,} authenticators, {n['groups']} groups, "
            f"{n['memberships']:,} memberships, {n['certificates']:,} certificates, {n['activities']:,} history "
            f"entries ({n['hot_activities']:,} on one user)")
        progress = Progress(total)
        loaded: dict[str, int] = {}
        timings: dict[str, float] = {}

        async def run(loader: _Loader) -> None:
            for table, columns, rows in (
                ("users", USER_COLUMNS, gen.users_rows),
                ("user_authenticators", AUTH_COLUMNS, gen.authenticator_rows),
                ("user_groups", GROUP_COLUMNS, gen.group_rows),
                ("user_group_rights", GROUP_RIGHT_COLUMNS, gen.group_right_rows),
                ("user_group_members", MEMBER_COLUMNS, gen.member_rows),
                ("certificates", CERT_COLUMNS, gen.certificate_rows),
                ("activities", ACTIVITY_COLUMNS, lambda: gen.activity_rows(next(u for u in gen.users if u.status == "ACTIVE"))),
            ):
                progress.table(table)
                t = time.perf_counter()
                loaded[table] = await loader.load(table, columns, rows(), progress)
                timings[table] = time.perf_counter() - t

        load_started = time.perf_counter()
        if url.startswith("sqlite"):
            conn = sqlite3.connect(_sqlite_path(url), isolation_level=None)
            try:
                conn.execute("PRAGMA journal_mode=WAL")
                conn.execute("PRAGMA synchronous=OFF")
                conn.execute("BEGIN")
                await run(_SqliteLoader(conn))
                conn.execute("COMMIT")
                progress.close()
                t = time.perf_counter()
                conn.execute("ANALYZE")
                conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
                analyze = time.perf_counter() - t
            finally:
                conn.close()
        else:
            import asyncpg

            conn = await asyncpg.connect(_pg_dsn(url))
            try:
                async with conn.transaction():
                    await run(_PgLoader(conn))
                progress.close()
                t = time.perf_counter()
                await conn.execute("VACUUM ANALYZE")
                analyze = time.perf_counter() - t
            finally:
                await conn.close()
        load_seconds = time.perf_counter() - load_started
        for table, rows_n in loaded.items():
            say(f"  {table:<22} {rows_n:>9,} rows {timings[table]:7.2f} s {rows_n / max(timings[table], 1e-9):>10,.0f} rows/s")
        say(f"  {'VACUUM ANALYZE' if not url.startswith('sqlite') else 'ANALYZE + checkpoint':<22} {'':>14} {analyze:7.2f} s")
        all_rows = sum(loaded.values())
        say(f"data: {all_rows:,} rows in {load_seconds:.1f} s ({all_rows / load_seconds:,.0f} rows/s); "
            f"total with organisation and migrations {time.perf_counter() - started:.1f} s")
    finally:
        await services.engine.dispose()
    found = await find_dataset(url, scale)
    assert found is not None, "the generated data set is not found again"
    found.rows.update(loaded)
    return found


async def ensure(url: str, scale: float, reuse: bool, *, quiet: bool = False) -> Dataset:
    if reuse:
        found = await find_dataset(url, scale)
        if found is not None:
            if not quiet:
                print(f"data: reusing {found.name} in {url} ({found.rows['users']:,} users, "
                      f"{found.rows['activities']:,} history entries)")
            return found
    return await generate(url, scale, quiet=quiet)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.data", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--db", choices=["sqlite", "postgresql"], default="postgresql")
    parser.add_argument("--url", help="database URL (default: bench_dashboard_<scale> on BENCH_POSTGRES_URL, "
                                      "or var/bench/dashboard-<scale>.db)")
    parser.add_argument("--scale", type=float, default=1.0, help="1.0 = 10k users, 1M history entries")
    parser.add_argument("--reuse", action="store_true", help="keep an existing data set of this scale")
    args = parser.parse_args(argv)
    url = args.url or default_url(args.db, args.scale)
    ds = asyncio.run(ensure(url, args.scale, args.reuse))
    print(f"data set: org {ds.org_id} CVR {ds.cvr}; admin {ds.admin_id}; hot user {ds.hot_user_id} "
          f"({ds.hot_entries:,} history entries)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
