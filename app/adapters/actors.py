"""Who is acting: the one place a bearer token becomes a person of an organisation, for GraphQL over
HTTP, the WebSocket and the CSV exports alike.

A token is only as good as its person: someone deleted, deactivated (during the period) or not of
that organisation cannot act, even with an unexpired token."""

from __future__ import annotations

import datetime as dt
import logging
import uuid
from typing import TYPE_CHECKING

from sqlalchemy.ext.asyncio import AsyncEngine

from app.adapters.jwt import AuthError, TokenVerifier, bearer_token
from app.domain.common.principal import Actor, Principal, Role
from app.domain.users.model import UserStatus
from app.persistence.organisations import org_id_for_cvr
from app.persistence.users import reads as users_sql
from app.persistence.users.repository import mark_seen

if TYPE_CHECKING:
    from app.persistence.read_session import ReadSession


EVERY_USER = frozenset({Role.USER})
# `User.lastSeenAt` is written at most this often per person (the requests in between only read it).
SEEN_EVERY = dt.timedelta(minutes=5)

log = logging.getLogger("app.actors")


class NotActing(Exception):
    """The caller is not (or no longer) a person who may act here; `message` says why."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


class Actors:
    def __init__(self, engine: AsyncEngine, verifier: TokenVerifier) -> None:
        self.engine = engine
        self.verifier = verifier
        self._org_ids: dict[str, int] = {}

    def principal(self, header: str | None) -> tuple[Principal | None, str | None]:
        """The `Authorization` header's verified principal, or why there is none (None: no header)."""
        token = bearer_token(header)
        if token is not None:
            try:
                return self.verifier.verify(token), None
            except AuthError as exc:
                return None, exc.message
        return None, ("Authorization header must be 'Bearer <token>'" if header else None)

    async def org_id_for_cvr(self, cvr: str) -> int | None:
        # Organisations are never deleted, so a known CVR's id can be remembered.
        if cvr not in self._org_ids:
            async with self.engine.connect() as conn:
                org_id = await org_id_for_cvr(conn, cvr)
            if org_id is None:
                return None
            self._org_ids[cvr] = org_id
        return self._org_ids[cvr]

    async def roles_held(
        self, org_id: int, user_id: uuid.UUID, reader: ReadSession | None = None
    ) -> frozenset[Role] | None:
        """The roles the gateway holds for an active person of the organisation; None when the person
        may not act (deleted, deactivated, unknown). A read-only request asks on its own read
        connection (`reader`): one pool checkout per request, not two."""
        if reader is not None:
            found = await reader.run(users_sql.status_of_user, user_id)
        else:
            async with self.engine.connect() as conn:
                found = await users_sql.status_of_user(conn, org_id, user_id)
        if found is None or found[0] in (UserStatus.DELETED, UserStatus.DEACTIVATED):
            return None
        await self._note_seen(org_id, user_id, found[2])
        return found[1] | EVERY_USER  # an active person is a user; the administrator roles are held

    async def _note_seen(self, org_id: int, user_id: uuid.UUID, last_seen: dt.datetime | None) -> None:
        """`lastSeenAt`: when the value read is missing or older than SEEN_EVERY, one conditional
        UPDATE on its own connection (the request's read connection stays read-only; what the
        request read stays as it was). A failure is logged and the request goes on."""
        now = dt.datetime.now(dt.UTC)
        cutoff = now - SEEN_EVERY
        if last_seen is not None and last_seen >= cutoff:
            return
        try:
            await mark_seen(self.engine, org_id, user_id, now, cutoff)
        except Exception as exc:  # noqa: BLE001 - best effort: being seen must not fail a request
            log.warning("last seen time of user %s not recorded (%s)", user_id, type(exc).__name__)

    async def may_act(self, org_id: int, user_id: uuid.UUID, reader: ReadSession | None = None) -> bool:
        return await self.roles_held(org_id, user_id, reader) is not None

    async def org_of(self, principal: Principal) -> int:
        org_id = await self.org_id_for_cvr(principal.org_cvr)
        if org_id is None:
            raise NotActing("The token's organisation is not known here")
        return org_id

    async def actor(self, principal: Principal, org_id: int | None = None, reader: ReadSession | None = None) -> Actor:
        """The acting person of a verified principal, or NotActing. Their roles are the ones the
        gateway holds for them, narrowed by the token's `roles` claim (a token cannot add a role, and
        a role taken away stops working with the next request)."""
        if org_id is None:
            org_id = await self.org_of(principal)
        held = await self.roles_held(org_id, principal.user_id, reader)
        if held is None:
            raise NotActing("Your user is not active in this organisation")
        return Actor(org_id, principal.org_cvr, principal.user_id, principal.roles & held)
