"""The per-request context: who is calling, the request's read connection and fresh loaders."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from app.domain.principal import Actor, Principal
from app.schema.base import unauthenticated

if TYPE_CHECKING:
    from app.domain.ports import UnitOfWork
    from app.persistence.reader import Reader
    from app.schema.loaders import Loaders
    from app.services import Services


@dataclass
class Context:
    services: Services
    principal: Principal | None
    auth_error: str | None = None
    request: Any = None
    response: Any = None
    actor: Actor | None = None
    connection_params: dict[str, Any] | None = None
    _reader: Reader | None = field(default=None, repr=False)
    _actor_lock: asyncio.Lock = field(default_factory=asyncio.Lock, repr=False)
    # Filled by the executor (app/schema/execution.py): objects completed, for the cost's `actual`.
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
                org_id = await self.services.org_id_for_cvr(self.principal.org_cvr)
                if org_id is None:
                    raise unauthenticated("The token's organisation is not known here")
                reader = None
                if read_only:
                    if self._reader is None:
                        self._reader = self.services.reader(org_id)
                    reader = self._reader
                if not await self.services.person_may_act(org_id, self.principal.user_id, reader):
                    raise unauthenticated("Your user is not active in this organisation")
                self.actor = Actor(org_id, self.principal.org_cvr, self.principal.user_id, self.principal.roles)
            return self.actor

    @property
    def reader(self) -> Reader:
        assert self.actor is not None, "resolve_actor() first (the permission gate does)"
        if self._reader is None:
            self._reader = self.services.reader(self.actor.org_id)
        return self._reader

    @property
    def loaders(self) -> Loaders:
        if self._loaders is None:
            from app.schema.loaders import Loaders

            self._loaders = Loaders.create(self.reader)
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
