"""The first login. The person has no organisation context yet, so the pending user is found first
(the one unscoped lookup) and the activation then runs scoped to its organisation."""

from __future__ import annotations

import uuid
from collections.abc import Callable

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncEngine

from app.domain.common.errors import DomainError
from app.domain.common.principal import Actor
from app.domain.users.lifecycle import activate_user
from app.domain.users.model import User
from app.persistence.tables.organisations import organisations
from app.persistence.uow import SqlUnitOfWork
from app.persistence.users.reads import find_pending_activation


async def activate_pending(
    engine: AsyncEngine, unit_of_work: Callable[[Actor], SqlUnitOfWork], hash_token: Callable[[str], str], *,
    token: str | None, user_id: uuid.UUID | None, code: str | None,
) -> User | None:
    if not token and not (user_id and code):
        return None
    async with engine.connect() as conn:
        found = await find_pending_activation(conn, token_hash=hash_token(token) if token else None, user_id=user_id)
        if found is None:
            return None
        found_id, org_id = found
        cvr = (await conn.execute(select(organisations.c.cvr).where(organisations.c.id == org_id))).scalar_one()
    actor = Actor(org_id, cvr, found_id, frozenset())
    try:
        async with unit_of_work(actor) as uow:
            user = await activate_user(uow, found_id, token=token, code=None if token else code)
            await uow.commit()
    except DomainError:
        return None
    return user
