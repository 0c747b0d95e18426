"""Streamed CSV exports for reporting tools: the same bearer token, policy and filters as the
GraphQL fields, `;`-separated UTF-8, safe against spreadsheet formula injection, memory flat
however many rows (read in keyset pages, written as they come)."""

from __future__ import annotations

import datetime as dt
import json
import uuid
from collections.abc import AsyncIterator
from typing import Any

from starlette.requests import Request
from starlette.responses import JSONResponse, Response, StreamingResponse
from starlette.routing import Route

from app.adapters.actors import NotActing
from app.bootstrap import Services
from app.domain.activity.model import ActivityFilter
from app.domain.common.csv_files import BOM, csv_line
from app.domain.common.errors import DomainError
from app.domain.common.policy import Action, is_allowed
from app.domain.common.principal import Actor
from app.domain.common.validation import parse_moment
from app.persistence import activity as activity_sql
from app.schema.runtime.base import from_global_id
from app.schema.runtime.text_inputs import MAX_SEARCH

PAGE = 1000


def error(status: int, code: str, message: str) -> JSONResponse:
    return JSONResponse({"errors": [{"message": message, "extensions": {"code": code}}]}, status_code=status)


async def authorise(services: Services, request: Request, action: Action) -> Actor | JSONResponse:
    """The export's caller, exactly as the GraphQL gate sees them (app/adapters/actors.py); or the
    error response."""
    header = request.headers.get("authorization")
    principal, problem = services.actors.principal(header)
    if principal is None:
        return error(401, "UNAUTHENTICATED", problem or "Authentication required")
    try:
        actor = await services.actors.actor(principal)
    except NotActing as exc:
        return error(401, "UNAUTHENTICATED", exc.message)
    if not is_allowed(actor.roles, action):  # the gateway's roles, narrowed by the token
        return error(403, "FORBIDDEN", f"Your roles do not allow {action.value}")
    return actor


def _user_uuid(raw: str | None) -> uuid.UUID | None:
    if not raw:
        return None
    parsed = from_global_id(raw)
    try:
        return uuid.UUID(parsed[1]) if parsed and parsed[0] == "User" else uuid.UUID(raw)
    except ValueError:
        return uuid.UUID(int=0)  # matches nothing, like the GraphQL filter


def _search(value: str | None) -> str | None:
    if value is not None and len(value) > MAX_SEARCH:
        raise ValueError(f"`search` is at most {MAX_SEARCH} characters")
    return value


def activity_filter_from_query(params: Any) -> ActivityFilter:
    try:
        start = parse_moment(params["from"], "from", end_of_day=False) if params.get("from") else None
        end = parse_moment(params["to"], "to", end_of_day=True) if params.get("to") else None
    except DomainError as exc:
        raise ValueError(exc.message) from exc
    types = tuple(t for raw in params.getlist("types") for t in raw.split(",") if t)
    return ActivityFilter(
        from_=start, to=end, types=types, actor_id=_user_uuid(params.get("actorId")),
        target_user_id=_user_uuid(params.get("targetUserId")), search=_search(params.get("search") or None),
    )


ACTIVITY_HEADER = ["id", "occurredAt", "type", "actorUuid", "actorName", "targetUserUuid", "targetName", "summary",
                   "details"]


def export_routes(services: Services) -> list[Route]:
    async def activities_csv(request: Request) -> Response:
        actor = await authorise(services, request, Action.VIEW_ACTIVITIES)
        if isinstance(actor, JSONResponse):
            return actor
        try:
            f = activity_filter_from_query(request.query_params)
        except ValueError as exc:
            return error(400, "BAD_USER_INPUT", str(exc))
        return StreamingResponse(
            _activity_rows(actor.org_id, f), media_type="text/csv; charset=utf-8",
            headers={"Content-Disposition": 'attachment; filename="activities.csv"', "Cache-Control": "no-store"},
        )

    async def _activity_rows(org_id: int, f: ActivityFilter) -> AsyncIterator[bytes]:
        yield BOM + csv_line(ACTIVITY_HEADER)
        before: int | None = None
        while True:
            reader = services.reader(org_id)  # a short connection per page: nothing held between pages
            try:
                page = await reader.run(activity_sql.list_activities, f, before, PAGE)
            finally:
                await reader.close()
            for a in page:
                yield csv_line([
                    a.id, a.occurred_at.astimezone(dt.UTC).isoformat(), a.type, a.actor_id, a.actor_name,
                    a.target_user_id, a.target_name, a.summary, json.dumps(a.details, ensure_ascii=False),
                ])
            if len(page) < PAGE:
                return
            before = page[-1].id

    return [Route("/exports/activities.csv", activities_csv)]
