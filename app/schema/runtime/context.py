"""The per-request context: who is calling, the request's read connection and fresh loaders."""

from __future__ import annotations

import asyncio
import dataclasses
import datetime as dt
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from app.adapters.actors import NotActing
from app.domain.common.principal import Actor, Principal
from app.schema.runtime.base import unauthenticated

if TYPE_CHECKING:
    from app.bootstrap import Services
    from app.domain.common.ports import UnitOfWork
    from app.persistence.read_session import ReadSession
    from app.schema.runtime.loaders import Loaders


@dataclass
class Context:
    services: Services
    principal: Principal | None
    auth_error: str | None = None
    request: Any = None
    response: Any = None
    actor: Actor | None = None
    connection_params: dict[str, Any] | None = None
    _reader: ReadSession | None = field(default=None, repr=False)
    _actor_lock: asyncio.Lock = field(default_factory=asyncio.Lock, repr=False)
    # Filled by the executor (app/schema/runtime/execution.py): objects completed, for the cost's `actual`.
    completed_objects: list[int] = field(default_factory=lambda: [0], repr=False)
    _loaders: Loaders | None = field(default=None, repr=False)
    # Values worked out from the query's syntax tree once per request (keyed by ids of its nodes,
    # which live as long as the request's document).
    memo: dict[Any, Any] = field(default_factory=dict, repr=False)

    async def resolve_actor(self, *, read_only: bool = False) -> Actor:
        """The acting person, checked once per request (the root fields of one query share it).
        `read_only` (a query): the check runs on the request's read connection."""
        async with self._actor_lock:
            if self.actor is None:
                if self.principal is None:
                    raise unauthenticated(self.auth_error or "Authentication required")
                actors = self.services.actors
                try:
                    org_id = await actors.org_of(self.principal)
                    reader = None
                    if read_only:
                        if self._reader is None:
                            self._reader = self.services.reader(org_id)
                        reader = self._reader
                    self.actor = await actors.actor(self.principal, org_id, reader)
                except NotActing as exc:
                    raise unauthenticated(exc.message) from None
                # From here on the request's roles are the ones the gateway holds (token ∩ database).
                self.principal = dataclasses.replace(self.principal, roles=self.actor.roles)
            return self.actor

    async def still_entitled(self) -> bool:
        """Before a subscription delivers an event: is the token unexpired and the person active?"""
        principal, actor = self.principal, self.actor
        if principal is None or actor is None or principal.expired(dt.datetime.now(dt.UTC)):
            return False
        return await self.services.actors.may_act(actor.org_id, principal.user_id, self.reader)

    @property
    def reader(self) -> ReadSession:
        assert self.actor is not None, "resolve_actor() first (the permission gate does)"
        if self._reader is None:
            self._reader = self.services.reader(self.actor.org_id)
        return self._reader

    @property
    def loaders(self) -> Loaders:
        if self._loaders is None:
            from app.schema.runtime.loaders import Loaders

            self._loaders = Loaders(self.reader)
        return self._loaders

    def reset_loaders(self) -> None:
        self._loaders = None

    def unit_of_work(self) -> UnitOfWork:
        assert self.actor is not None
        return self.services.unit_of_work(self.actor)

    async def close(self) -> None:
        """The operation's end: loaded rows let go at once (so reference counting frees them, not the
        cyclic collector, which otherwise walks every row of every page), the read connection back."""
        loaders, self._loaders = self._loaders, None
        if loaders is not None:
            loaders.clear()
        if self._reader is not None:
            reader, self._reader = self._reader, None
            await reader.close()
