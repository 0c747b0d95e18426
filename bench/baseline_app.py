"""The baseline of the dashboard benchmark (issue 7): the practical limit for the same page.

A hand-written Starlette endpoint, no GraphQL: `POST /dashboard` with `{"first": N}` and the same
bearer token as the gateway returns what the gateway's `users(first: N)` dashboard query returns
(bench/dashboard.py's QUERY), as the same JSON value, serialised with orjson. It does the work the
gateway must do and no more:

* the token verified (the gateway's own TokenVerifier: PyJWT, HS256), the organisation looked up
  once per process, the person's status read per request (a token is only as good as its person),
  the roles checked (VIEW_USERS; VIEW_CERTIFICATES for the certificates; identities revealed to
  administrators);
* six statements on one pooled connection, no transaction: the status, the page of users (only
  the selected columns), authenticators, groups (custom memberships and the P-unit's system group),
  certificates (expiry derived as the gateway does) and the latest five history entries per user.

PostgreSQL: raw asyncpg (a pool per worker, statements prepared and cached by asyncpg), `= ANY($n)`
lists, the latest entries per user by `LATERAL (... ORDER BY id DESC LIMIT 5)` (5 index entries per
user, whatever the user's history length). SQLite: the gateway's engine (SQLAlchemy Core over
aiosqlite, the same driver), plain SQL, the latest entries per user by a correlated `LIMIT 5`.

Run (bench/dashboard.py does it): `uvicorn bench.baseline_app:create_app --factory`, env DATABASE_URL.
"""

from __future__ import annotations

import base64
import contextlib
import datetime as dt
import uuid
from collections import defaultdict
from collections.abc import AsyncIterator
from typing import Any

import orjson
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from app.adapters.jwt import AuthError, TokenVerifier, bearer_token
from app.config import Settings

ADMIN_ROLES = frozenset({"ORGANISATION_ADMINISTRATOR", "USER_ADMINISTRATOR", "RIGHTS_ADMINISTRATOR"})
VIEW_USERS = ADMIN_ROLES
VIEW_CERTIFICATES = frozenset({"ORGANISATION_ADMINISTRATOR", "USER_ADMINISTRATOR"})
HISTORY = 5
MAX_PAGE = 500


def gid(type_name: str, raw: Any) -> str:
    return base64.urlsafe_b64encode(f"{type_name}:{raw}".encode()).decode().rstrip("=")


def _error(status: int, code: str, message: str) -> Response:
    body = {"data": None, "errors": [{"message": message, "extensions": {"code": code}}]}
    return Response(orjson.dumps(body), status_code=status, media_type="application/json")


# --- PostgreSQL: raw asyncpg ------------------------------------------------------------------------

PG_STATUS = "SELECT status FROM users WHERE org_id = $1 AND id = $2"
PG_ORG = "SELECT id FROM organisations WHERE cvr = $1"
PG_USERS = """
SELECT id, first_name, last_name, email, phone, reference, cpr_masked, date_of_birth, identification, anonymous,
       status, p_number, se_number, can_sign, created_at, last_login_at
FROM users WHERE org_id = $1 AND status <> 'DELETED'
ORDER BY last_name, first_name, id LIMIT $2"""
PG_AUTHENTICATORS = """
SELECT a.user_id, a.kind FROM user_authenticators a JOIN users u ON u.id = a.user_id
WHERE u.org_id = $1 AND a.user_id = ANY($2::uuid[]) ORDER BY a.user_id, a.kind"""
PG_GROUPS = """
SELECT l.user_id, g.name, g.kind FROM (
    SELECT m.user_id, m.group_id FROM user_group_members m JOIN user_groups g ON g.id = m.group_id
    WHERE g.org_id = $1 AND m.user_id = ANY($2::uuid[])
    UNION ALL
    SELECT u.id, g.id FROM users u
    JOIN user_groups g ON g.org_id = u.org_id AND g.p_number = u.p_number AND g.kind = 'SYSTEM'
    WHERE u.org_id = $1 AND u.id = ANY($2::uuid[])
) l JOIN user_groups g ON g.id = l.group_id
ORDER BY l.user_id, g.kind, g.name_lower"""
PG_CERTIFICATES = """
SELECT user_id, serial_number, status, not_after FROM certificates
WHERE org_id = $1 AND user_id = ANY($2::uuid[]) ORDER BY user_id, ordered_at DESC, id"""
PG_HISTORY = f"""
SELECT u.id AS user_id, a.type, a.occurred_at, a.actor_name
FROM unnest($2::uuid[]) AS u(id)
CROSS JOIN LATERAL (
    SELECT type, occurred_at, actor_name FROM activities
    WHERE org_id = $1 AND target_user_id = u.id ORDER BY id DESC LIMIT {HISTORY}
) a"""


class PgBackend:
    def __init__(self, url: str) -> None:
        self.dsn = url.replace("postgresql+asyncpg://", "postgresql://")
        self.pool: Any = None

    async def start(self) -> None:
        import asyncpg

        self.pool = await asyncpg.create_pool(self.dsn, min_size=4, max_size=10)

    async def stop(self) -> None:
        await self.pool.close()

    async def org_id(self, cvr: str) -> int | None:
        return await self.pool.fetchval(PG_ORG, cvr)

    async def page(self, org_id: int, person: uuid.UUID, first: int, certificates_for: Any) -> tuple[Any, ...] | None:
        async with self.pool.acquire() as conn:
            status = await conn.fetchval(PG_STATUS, org_id, person)
            if status is None or status in ("DELETED", "DEACTIVATED"):
                return None
            users = await conn.fetch(PG_USERS, org_id, first + 1)
            ids = [r[0] for r in users[:first]]
            auth = await conn.fetch(PG_AUTHENTICATORS, org_id, ids)
            groups = await conn.fetch(PG_GROUPS, org_id, ids)
            cert_ids = [i for i in ids if certificates_for(i)]
            certs = await conn.fetch(PG_CERTIFICATES, org_id, cert_ids) if cert_ids else []
            history = await conn.fetch(PG_HISTORY, org_id, ids)
        return users, auth, groups, certs, history


# --- SQLite: SQLAlchemy Core over aiosqlite (the gateway's engine) ----------------------------------


class SqliteBackend:
    def __init__(self, url: str) -> None:
        self.url = url
        self.engine: Any = None

    async def start(self) -> None:
        from sqlalchemy import Boolean, Date, String, Uuid, bindparam, text

        from app.persistence.base import UTCDateTime
        from app.persistence.db import make_engine

        self.engine = make_engine(self.url)
        ids = bindparam("ids", expanding=True, type_=Uuid())
        self.q_status = text("SELECT status FROM users WHERE org_id = :org AND id = :person").bindparams(
            bindparam("person", type_=Uuid()))
        self.q_org = text("SELECT id FROM organisations WHERE cvr = :cvr")
        self.q_users = text(
            "SELECT id, first_name, last_name, email, phone, reference, cpr_masked, date_of_birth, identification, "
            "anonymous, status, p_number, se_number, can_sign, created_at, last_login_at FROM users "
            "WHERE org_id = :org AND status <> 'DELETED' ORDER BY last_name, first_name, id LIMIT :limit"
        ).columns(id=Uuid(), date_of_birth=Date(), anonymous=Boolean(), can_sign=Boolean(),
                  created_at=UTCDateTime(), last_login_at=UTCDateTime())
        self.q_auth = text(
            "SELECT a.user_id, a.kind FROM user_authenticators a JOIN users u ON u.id = a.user_id "
            "WHERE u.org_id = :org AND a.user_id IN :ids ORDER BY a.user_id, a.kind"
        ).bindparams(ids).columns(user_id=Uuid(), kind=String())
        self.q_groups = text(
            "SELECT l.user_id, g.name, g.kind FROM ("
            " SELECT m.user_id AS user_id, m.group_id AS group_id FROM user_group_members m"
            " JOIN user_groups g ON g.id = m.group_id WHERE g.org_id = :org AND m.user_id IN :ids"
            " UNION ALL"
            " SELECT u.id, g.id FROM users u JOIN user_groups g"
            " ON g.org_id = u.org_id AND g.p_number = u.p_number AND g.kind = 'SYSTEM'"
            " WHERE u.org_id = :org AND u.id IN :ids"
            ") l JOIN user_groups g ON g.id = l.group_id ORDER BY l.user_id, g.kind, g.name_lower"
        ).bindparams(ids).columns(user_id=Uuid(), name=String(), kind=String())
        self.q_certs = text(
            "SELECT user_id, serial_number, status, not_after FROM certificates "
            "WHERE org_id = :org AND user_id IN :ids ORDER BY user_id, ordered_at DESC, id"
        ).bindparams(ids).columns(user_id=Uuid(), serial_number=String(), status=String(), not_after=UTCDateTime())
        # driven by the page's ids (json_each): per user, the newest five ids from the
        # (org_id, target_user_id, id) index, then those rows by primary key
        self.q_history = text(
            "SELECT j.value AS user_id, a.type, a.occurred_at, a.actor_name FROM json_each(:ids_json) j "
            "JOIN activities a ON a.id IN (SELECT x.id FROM activities x WHERE x.org_id = :org "
            f"AND x.target_user_id = j.value ORDER BY x.id DESC LIMIT {HISTORY}) ORDER BY j.key, a.id DESC"
        ).columns(user_id=Uuid(), type=String(), occurred_at=UTCDateTime(), actor_name=String())

    async def stop(self) -> None:
        await self.engine.dispose()

    async def org_id(self, cvr: str) -> int | None:
        async with self.engine.connect() as conn:
            return (await conn.execute(self.q_org, {"cvr": cvr})).scalar()

    async def page(self, org_id: int, person: uuid.UUID, first: int, certificates_for: Any) -> tuple[Any, ...] | None:
        async with self.engine.connect() as conn:
            status = (await conn.execute(self.q_status, {"org": org_id, "person": person})).scalar()
            if status is None or status in ("DELETED", "DEACTIVATED"):
                return None
            users = (await conn.execute(self.q_users, {"org": org_id, "limit": first + 1})).all()
            ids = [r[0] for r in users[:first]]
            if not ids:
                return users, [], [], [], []
            auth = (await conn.execute(self.q_auth, {"org": org_id, "ids": ids})).all()
            groups = (await conn.execute(self.q_groups, {"org": org_id, "ids": ids})).all()
            cert_ids = [i for i in ids if certificates_for(i)]
            certs = (await conn.execute(self.q_certs, {"org": org_id, "ids": cert_ids})).all() if cert_ids else []
            history = (await conn.execute(self.q_history, {"org": org_id, "ids_json": orjson.dumps([i.hex for i in ids]).decode()})).all()
        return users, auth, groups, certs, history


# --- the endpoint -----------------------------------------------------------------------------------


def render(first: int, rows: tuple[Any, ...], reveal_all: bool, viewer: uuid.UUID, now: dt.datetime) -> dict[str, Any]:
    """The GraphQL response's `data`, built by hand in the query's field order."""
    users, auth, groups, certs, history = rows
    by_auth: dict[Any, list[str]] = defaultdict(list)
    for user_id, kind in auth:
        by_auth[user_id].append(kind)
    by_group: dict[Any, list[dict[str, str]]] = defaultdict(list)
    for user_id, name, kind in groups:
        by_group[user_id].append({"name": name, "kind": kind})
    by_cert: dict[Any, list[dict[str, Any]]] = defaultdict(list)
    for user_id, serial, status, not_after in certs:
        if status == "ISSUED" and not_after is not None and not_after <= now:
            status = "EXPIRED"
        by_cert[user_id].append({"serialNumber": serial, "status": status, "notAfter": not_after})
    by_history: dict[Any, list[dict[str, Any]]] = defaultdict(list)
    for user_id, type_, occurred_at, actor_name in history:
        by_history[user_id].append({"node": {"type": type_, "occurredAt": occurred_at, "actorName": actor_name or ""}})
    page = users[:first]
    edges = []
    for (uid, first_name, last_name, email, phone, reference, cpr_masked, born, identification, anonymous, status,
         p_number, se_number, can_sign, created_at, last_login_at) in page:
        reveal = not anonymous or reveal_all or uid == viewer
        edges.append({"node": {
            "id": gid("User", uid), "uuid": str(uid),
            "firstName": first_name if reveal else None, "lastName": last_name if reveal else None,
            "email": email if reveal else None, "phone": phone if reveal else None,
            "reference": reference if reveal else None, "cprMasked": cpr_masked if reveal else None,
            "dateOfBirth": born if reveal else None, "identification": identification, "status": status,
            "pNumber": p_number if reveal else None, "seNumber": se_number if reveal else None, "canSign": can_sign,
            "createdAt": created_at, "lastLoginAt": last_login_at,
            "authenticators": by_auth.get(uid, []), "groups": by_group.get(uid, []),
            "certificates": by_cert.get(uid, []), "history": {"edges": by_history.get(uid, [])},
        }})
    return {"users": {
        "pageInfo": {"hasNextPage": len(users) > first, "endCursor": gid("Offset", len(page)) if page else None},
        "edges": edges,
    }}


def create_app() -> Starlette:
    settings = Settings.from_env()
    url = settings.database_url
    backend: PgBackend | SqliteBackend = SqliteBackend(url) if url.startswith("sqlite") else PgBackend(url)
    verifier = TokenVerifier(settings)
    org_ids: dict[str, int] = {}

    async def dashboard(request: Request) -> Response:
        token = bearer_token(request.headers.get("authorization"))
        if token is None:
            return _error(401, "UNAUTHENTICATED", "Authentication required")
        try:
            principal = verifier.verify(token)
        except AuthError as exc:
            return _error(401, "UNAUTHENTICATED", exc.message)
        roles = {r.value for r in principal.roles}
        if not roles & VIEW_USERS:
            return _error(403, "FORBIDDEN", "Your roles do not allow VIEW_USERS")
        body = orjson.loads(await request.body() or b"{}")
        first = int(body.get("first", 50))
        if not 0 <= first <= MAX_PAGE:
            return _error(400, "BAD_USER_INPUT", f"`first` must be between 0 and {MAX_PAGE}")
        org_id = org_ids.get(principal.org_cvr)
        if org_id is None:
            org_id = await backend.org_id(principal.org_cvr)
            if org_id is None:
                return _error(401, "UNAUTHENTICATED", "The token's organisation is not known here")
            org_ids[principal.org_cvr] = org_id
        sees_all_certificates = bool(roles & VIEW_CERTIFICATES)
        viewer = principal.user_id
        rows = await backend.page(org_id, viewer, first,
                                  (lambda _u: True) if sees_all_certificates else (lambda u: u == viewer))
        if rows is None:
            return _error(401, "UNAUTHENTICATED", "Your user is not active in this organisation")
        data = render(first, rows, bool(roles & ADMIN_ROLES), viewer, dt.datetime.now(dt.UTC))
        return Response(orjson.dumps({"data": data}), media_type="application/json")

    @contextlib.asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        await backend.start()
        try:
            yield
        finally:
            await backend.stop()

    return Starlette(routes=[Route("/dashboard", dashboard, methods=["POST"])], lifespan=lifespan)
