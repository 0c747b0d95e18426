"""Employees' requests for a user account: the organisation-scoped repository and reads, and the
two public steps, which start from what an anonymous caller gives (a CVR number, a confirmation
token): each finds its organisation first (the one unscoped lookup) and then runs scoped to it."""

from __future__ import annotations

import datetime as dt
import uuid
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from sqlalchemy import func, insert, select, update
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from app.domain.account_requests import lifecycle
from app.domain.account_requests.model import AccountRequest, AccountRequestStatus
from app.domain.account_requests.rules import ValidRequest
from app.domain.common.errors import DomainError
from app.domain.common.principal import Actor
from app.persistence.organisations import org_id_for_cvr
from app.persistence.tables.account_requests import user_account_requests
from app.persistence.tables.organisations import organisations

if TYPE_CHECKING:  # the unit of work builds this module's repository
    from app.persistence.uow import SqlUnitOfWork

R = user_account_requests
S = AccountRequestStatus
# What administrators see: a request the requester has confirmed (never one awaiting confirmation).
VISIBLE = (S.PENDING.value, S.APPROVED.value, S.REJECTED.value)


def _from_row(r: Any) -> AccountRequest:
    return AccountRequest(
        id=r.id, org_id=r.org_id, first_name=r.first_name, last_name=r.last_name, email=r.email, message=r.message,
        status=S(r.status), created_at=r.created_at, token_hash=r.token_hash, token_expires_at=r.token_expires_at,
        confirmed_at=r.confirmed_at, decided_at=r.decided_at, decided_by=r.decided_by, reject_reason=r.reject_reason,
        user_id=r.user_id,
    )


def _values(r: AccountRequest) -> dict[str, Any]:
    return {
        "first_name": r.first_name, "last_name": r.last_name, "email": r.email, "message": r.message,
        "status": r.status.value, "token_hash": r.token_hash, "token_expires_at": r.token_expires_at,
        "confirmed_at": r.confirmed_at, "decided_at": r.decided_at, "decided_by": r.decided_by,
        "reject_reason": r.reject_reason, "user_id": r.user_id,
    }


class SqlAccountRequestRepository:
    """The requests of one organisation."""

    def __init__(self, conn: AsyncConnection, org_id: int, *, lock_rows: bool = True) -> None:
        self._conn = conn
        self._org_id = org_id
        self._lock_rows = lock_rows

    async def add(self, request: AccountRequest) -> None:
        await self._conn.execute(insert(R).values(
            id=request.id, org_id=self._org_id, created_at=request.created_at, **_values(request)
        ))

    async def get(self, request_id: uuid.UUID, *, for_update: bool = False) -> AccountRequest | None:
        q = select(R).where(R.c.id == request_id, R.c.org_id == self._org_id)
        if for_update and self._lock_rows:
            q = q.with_for_update()
        row = (await self._conn.execute(q)).first()
        return _from_row(row) if row else None

    async def save(self, request: AccountRequest) -> None:
        await self._conn.execute(
            update(R).where(R.c.id == request.id, R.c.org_id == self._org_id).values(**_values(request))
        )

    async def open_request_for(self, email: str, now: dt.datetime) -> AccountRequest | None:
        q = select(R).where(
            R.c.org_id == self._org_id, func.lower(R.c.email) == email.lower(),
            (R.c.status == S.PENDING.value)
            | ((R.c.status == S.PENDING_CONFIRMATION.value) & (R.c.token_expires_at > now)),
        ).limit(1)
        row = (await self._conn.execute(q)).first()
        return _from_row(row) if row else None


# --- reads (administrators') ----------------------------------------------------------------------


async def list_requests(
    conn: AsyncConnection, org_id: int, status: str | None, offset: int, limit: int
) -> tuple[list[AccountRequest], int]:
    """The organisation's confirmed requests, newest first; `status` one of VISIBLE or None (all)."""
    where = [R.c.org_id == org_id, R.c.status == status] if status else [R.c.org_id == org_id, R.c.status.in_(VISIBLE)]
    rows = await conn.execute(select(R).where(*where).order_by(R.c.created_at.desc(), R.c.id).offset(offset).limit(limit))
    total = (await conn.execute(select(func.count()).select_from(R).where(*where))).scalar_one()
    return [_from_row(r) for r in rows], int(total)


async def request_by_id(conn: AsyncConnection, org_id: int, request_id: uuid.UUID) -> AccountRequest | None:
    row = (await conn.execute(
        select(R).where(R.c.id == request_id, R.c.org_id == org_id, R.c.status.in_(VISIBLE))
    )).first()
    return _from_row(row) if row else None


# --- the public steps -----------------------------------------------------------------------------


async def _organisation_of(conn: AsyncConnection, org_id: int) -> Actor:
    cvr = (await conn.execute(select(organisations.c.cvr).where(organisations.c.id == org_id))).scalar_one()
    return Actor(org_id, cvr, None, frozenset())


async def submit_request(
    engine: AsyncEngine, unit_of_work: Callable[[Actor], SqlUnitOfWork], request: ValidRequest,
    confirmation_link: Callable[[str], str],
) -> None:
    """Store the request and mail its confirmation where the organisation allows requests; nothing
    (and nothing said) for an unknown CVR."""
    async with engine.connect() as conn:
        org_id = await org_id_for_cvr(conn, request.cvr)
        actor = await _organisation_of(conn, org_id) if org_id is not None else None
    if actor is None:
        return
    async with unit_of_work(actor) as uow:
        await lifecycle.submit_request(uow, request, confirmation_link)
        await uow.commit()


async def confirm_request(
    engine: AsyncEngine, unit_of_work: Callable[[Actor], SqlUnitOfWork], hash_token: Callable[[str], str], token: str,
) -> bool:
    """The requester's confirmation link, used: True when it was valid (unexpired, unused)."""
    if not token or len(token) > 200:
        return False
    token_hash = hash_token(token)
    async with engine.connect() as conn:
        found = (await conn.execute(
            select(R.c.id, R.c.org_id).where(R.c.token_hash == token_hash)
        )).first()
        if found is None:
            return False
        actor = await _organisation_of(conn, found.org_id)
    try:
        async with unit_of_work(actor) as uow:
            await lifecycle.confirm_request(uow, found.id, token_hash)
            await uow.commit()
    except DomainError:
        return False
    return True
