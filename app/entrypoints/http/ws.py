"""WebSocket sessions (graphql-transport-ws) that end with their token and with their person.

A socket authenticates once, in `connection_init`; the session then re-checks that the token has
not expired and that the person is still active (not deleted, not deactivated):
- before every operation (`subscribe`): a refused one closes the socket instead of running;
- before every notification a subscription delivers (on the event's own read connection);
- at the token's `exp`, and every `WS_RECHECK_SECONDS` (30 s) while the socket is open.
It ends with close code 4401 (the token expired) or 4403 (the person is no longer active).

Each operation gets a context of its own (Strawberry shares one per socket, so two operations
would share a read connection and loaders, and the first to finish would close them)."""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import datetime as dt
import logging
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from strawberry.subscriptions.protocols.graphql_transport_ws.handlers import (
    BaseGraphQLTransportWSHandler,
    Operation,
    _OperationStreamClosed,
)
from strawberry.types.execution import PreExecutionError
from strawberry.utils.aio import aclosing

from app.adapters.actors import NotActing
from app.domain.common.principal import Actor, Principal
from app.entrypoints.http.graphql import coded
from app.entrypoints.http.persisted import resolve_subscribe
from app.schema.runtime.context import Context

if TYPE_CHECKING:
    from app.bootstrap import Services
    from app.persistence.read_session import ReadSession

log = logging.getLogger("app.ws")

TOKEN_EXPIRED = 4401
NOT_ACTIVE = 4403
REASONS = {TOKEN_EXPIRED: "Token expired", NOT_ACTIVE: "Forbidden: the user is no longer active"}


class Session:
    """One authenticated socket: who it is for, and whether it may go on."""

    def __init__(self, websocket: Any, services: Services, principal: Principal, actor: Actor) -> None:
        self.websocket = websocket
        self.services = services
        self.principal = principal
        self.actor = actor
        self.ended = False

    async def check(self, reader: ReadSession | None = None) -> bool:
        """True while the session may go on; otherwise the socket is closed with its code."""
        if self.ended:
            return False
        code = await self._verdict(reader)
        if code is not None:
            await self.end(code)
        return code is None

    async def _verdict(self, reader: ReadSession | None) -> int | None:
        if self.principal.expired(dt.datetime.now(dt.UTC)):
            return TOKEN_EXPIRED
        held = await self.services.actors.roles_held(self.actor.org_id, self.principal.user_id, reader)
        if held is None or not self.actor.roles <= held:  # gone, or a role of the session taken away
            return NOT_ACTIVE
        return None

    async def end(self, code: int) -> None:
        if self.ended:
            return
        self.ended = True
        log.info("websocket session ended (%s)", code, extra={"principal": str(self.principal.user_id)})
        with contextlib.suppress(Exception):  # the client may be gone already
            await self.websocket.close(code=code, reason=REASONS[code])

    async def watch(self) -> None:
        """Wake at the token's exp, and every recheck interval, to check again."""
        interval = self.services.settings.ws_recheck_seconds
        while not self.ended:
            delay = interval
            if self.principal.expires_at is not None:
                until_exp = (self.principal.expires_at - dt.datetime.now(dt.UTC)).total_seconds()
                delay = min(delay, max(until_exp, 0) + 0.05)
            await asyncio.sleep(delay)
            try:
                await self.check()
            except Exception as exc:  # the database away: keep the session, ask again next round
                log.warning("websocket session re-check failed: %s", type(exc).__name__)


@dataclass
class OperationContext(Context):
    """A WebSocket operation's context: its own connection and loaders, and its session."""

    session: Session | None = None

    async def still_entitled(self) -> bool:
        """Over a WebSocket a refusal also ends the session (the socket is closed with its code)."""
        if self.session is not None:
            return await self.session.check(self.reader)
        return await super().still_entitled()


class GatewayTransportWS(BaseGraphQLTransportWSHandler[Context, None]):
    """Strawberry's graphql-transport-ws handler with a Session, a context per operation, and
    protocol errors as `error` messages with codes (a syntax error was a bare `complete`)."""

    session: Session | None = None
    _watch: asyncio.Task[None] | None = None

    async def handle_connection_init(self, message: Any) -> None:
        await super().handle_connection_init(message)
        principal = self.context.principal
        if self.connection_acknowledged and self.session is None and principal is not None:
            services: Services = self.context.services
            try:
                actor = await services.actors.actor(principal)  # roles: the token's ∩ the gateway's
            except NotActing:
                await self.websocket.close(code=NOT_ACTIVE, reason=REASONS[NOT_ACTIVE])
                return
            principal = self.context.principal = dataclasses.replace(principal, roles=actor.roles)
            self.session = Session(self.websocket, services, principal, actor)
            self._watch = asyncio.create_task(self.session.watch())

    async def handle_subscribe(self, message: Any) -> None:
        """Strawberry's, after the session's check and with the persisted-query extension honoured
        as over HTTP (a refusal is an `error` message for the operation; the socket stays open)."""
        if self.session is not None and not await self.session.check():
            return
        if self.connection_acknowledged and message["id"] not in self.operations:
            services = self.context.services
            payload, error = resolve_subscribe(services.persisted, message.get("payload"), services.metrics)
            if error is not None:
                await self.send_message({"id": message["id"], "type": "error", "payload": [error]})
                return
            if payload is not message.get("payload"):  # a missing payload stays missing (Strawberry: 4400)
                message = {**message, "payload": payload}
        await super().handle_subscribe(message)

    async def shutdown(self) -> None:
        if self._watch is not None:
            self._watch.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._watch
        await super().shutdown()

    def _operation_context(self) -> Context:
        base = self.context
        return OperationContext(
            base.services, base.principal, request=base.request, response=base.response,
            connection_params=base.connection_params, actor=self.session.actor if self.session else None,
            session=self.session,
        )

    async def run_operation(self, operation: Operation[Context, None]) -> None:
        """Strawberry's, with the operation's own context; an operation of an ended session
        stops without a message; a parse error raised outside Strawberry's handling is an error
        message; our own failures are logged without the query."""
        try:
            source = await self.schema.stream(
                operation.query, variable_values=operation.variables, context_value=self._operation_context(),
                root_value=self.root_value, operation_name=operation.operation_name,
            )
            async with aclosing(source):
                await self._send_result_stream(operation, source)
            if self.session is not None and self.session.ended:
                self.operations.pop(operation.id, None)
                return
            await operation.send_operation_message({"id": operation.id, "type": "complete"})
        except _OperationStreamClosed:
            return
        except Exception as error:
            self.operations.pop(operation.id, None)
            if self.session is not None and self.session.ended:
                return
            from graphql import GraphQLError

            if isinstance(error, GraphQLError):
                await self._send_errors(operation, [error])
                return
            log.error("websocket operation failed", exc_info=error)
            with contextlib.suppress(Exception):
                await self.send_message({"id": operation.id, "type": "complete"})

    async def _handle_pre_execution_error(self, operation: Operation[Context, None], result: PreExecutionError) -> None:
        await self._send_errors(operation, list(result.errors or []))

    async def _send_errors(self, operation: Operation[Context, None], errors: list[Any]) -> None:
        operation.completed = True
        self.operations.pop(operation.id, None)
        await self.send_message({"id": operation.id, "type": "error", "payload": [coded(e) for e in errors]})


__all__ = ["NOT_ACTIVE", "TOKEN_EXPIRED", "GatewayTransportWS", "OperationContext", "Session"]
