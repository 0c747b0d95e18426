"""`GET /exports/users.csv`: the organisation's users for reporting tools, streamed.

The same bearer token, policy (VIEW_USERS) and filters as the `users` field (`search`, `status`,
`pNumber`, `seNumber`, `identification`, `groupId`, `right`, `authenticator`, `createdFrom`,
`createdTo` as query parameters, parsed by the field's own filter code); one row per user with their rights, groups and authenticators. `;`-separated UTF-8
with a BOM, every cell neutralised against spreadsheet formulas; read in keyset pages of `PAGE`
users on a short connection each, so memory stays flat and nothing is held between pages. No CPR
and no date of birth: the export leaves the machine more easily than an API answer does."""

from __future__ import annotations

import datetime as dt
import uuid
from collections.abc import AsyncIterator
from typing import Any

from graphql import GraphQLError
from starlette.requests import Request
from starlette.responses import JSONResponse, Response, StreamingResponse
from starlette.routing import Route

from app.bootstrap import Services
from app.domain.common.csv_files import BOM, csv_line
from app.domain.common.organisation import Authenticator
from app.domain.common.policy import Action
from app.domain.users.model import Identification, UserFilter, UserStatus
from app.entrypoints.http.exports import authorise, error
from app.persistence.users.export import ExportedUser, export_page
from app.schema.users.queries import UserFilterInput, known_rights, user_filter_of

PAGE = 1000

USER_HEADER = [
    "uuid", "firstName", "lastName", "email", "phone", "reference", "identification", "anonymous", "status",
    "pNumber", "seNumber", "canSign", "canCreateSeal", "createdAt", "activatedAt", "lastLoginAt", "rights", "groups",
    "authenticators", "updatedAt", "lastSeenAt",
]


def _enum(kind: type[Any], raw: str | None, name: str) -> Any:
    if not raw:
        return None
    try:
        return kind(raw)
    except ValueError:
        raise ValueError(f"`{name}` must be one of {', '.join(m.value for m in kind)}") from None


PARAMETERS = {"search", "status", "pNumber", "seNumber", "identification", "groupId", "right", "authenticator",
              "createdFrom", "createdTo"}


def user_filter_from_query(params: dict[str, str], known_rights: frozenset[str]) -> UserFilter:
    """The `users` field's filter from query parameters; ValueError with the reason when invalid."""
    unknown = sorted(set(params) - PARAMETERS)
    if unknown:
        raise ValueError(f"Unknown parameter `{unknown[0]}`")
    try:
        return user_filter_of(UserFilterInput(
            search=params.get("search") or None, status=_enum(UserStatus, params.get("status"), "status"),
            p_number=params.get("pNumber") or None, se_number=params.get("seNumber") or None,
            identification=_enum(Identification, params.get("identification"), "identification"),
            group_id=params.get("groupId") or None, right=params.get("right") or None,
            authenticator=_enum(Authenticator, params.get("authenticator"), "authenticator"),
            created_from=params.get("createdFrom") or None, created_to=params.get("createdTo") or None,
        ), known_rights)
    except GraphQLError as exc:  # the field's own error: its message names the parameter, as does `field`
        field = (exc.extensions or {}).get("field")
        raise ValueError(exc.message if field in (None, "filter") else f"`{field}`: {exc.message}") from exc


def _moment(value: dt.datetime | None) -> str | None:
    return value.astimezone(dt.UTC).isoformat() if value is not None else None


def _row(e: ExportedUser) -> list[object]:
    u = e.user  # administrators only (VIEW_USERS), who see anonymous users' identity as in the API
    return [
        u.id, u.first_name, u.last_name, u.email, u.phone, u.reference, u.identification.value,
        "true" if u.anonymous else "false", u.status.value, u.p_number, u.se_number,
        "true" if u.can_sign else "false", "true" if u.can_create_seal else "false",
        _moment(u.created_at), _moment(u.activated_at), _moment(u.last_login_at),
        ",".join(e.rights), ",".join(e.groups), ",".join(e.authenticators),
        _moment(u.updated_at), _moment(u.last_seen_at),
    ]


def user_export_routes(services: Services) -> list[Route]:
    async def users_csv(request: Request) -> Response:
        actor = await authorise(services, request, Action.VIEW_USERS)
        if isinstance(actor, JSONResponse):
            return actor
        reader = services.reader(actor.org_id)
        try:  # a `right` is checked against the catalogue, as the field does
            known = await known_rights(reader, request.query_params.get("right") or None)
        finally:
            await reader.close()
        try:
            f = user_filter_from_query(dict(request.query_params), known)
        except ValueError as exc:
            return error(400, "BAD_USER_INPUT", str(exc))
        return StreamingResponse(
            _rows(actor.org_id, f), media_type="text/csv; charset=utf-8",
            headers={"Content-Disposition": 'attachment; filename="users.csv"', "Cache-Control": "no-store"},
        )

    async def _rows(org_id: int, f: UserFilter) -> AsyncIterator[bytes]:
        yield BOM + csv_line(USER_HEADER)
        after: uuid.UUID | None = None
        while True:
            reader = services.reader(org_id)  # a short connection per page: nothing held between pages
            try:
                page = await reader.run(export_page, f, after, PAGE)
            finally:
                await reader.close()
            yield b"".join(csv_line(_row(e)) for e in page)
            if len(page) < PAGE:
                return
            after = page[-1].user.id

    return [Route("/exports/users.csv", users_csv)]
