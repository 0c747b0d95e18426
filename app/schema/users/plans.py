"""Compiled forms of the users area's fields (app/schema/runtime/plans.py): a page of users and the
relations a dashboard selects on it, each fetched for the whole page in one statement - the loaders'
statements, called directly - and turned into the values the fields' resolvers return."""

from __future__ import annotations

from typing import Any

from app.domain.common.policy import can_view_certificates_of
from app.persistence import activity as activity_sql
from app.persistence.certificates import reads as certificates_sql
from app.persistence.user_groups import reads as user_groups_sql
from app.persistence.users import reads as users_sql
from app.schema.activity import ActivityConnection, ActivityQueries
from app.schema.certificates.reading import certificate_reading
from app.schema.certificates.types import PEM_NOT_READ, CertificateNode
from app.schema.runtime.plans import Run, Step, by_resolver, compiled, resolver_of
from app.schema.user_groups.types import UserGroupNode
from app.schema.users.loaders import HISTORY_DEFAULT, history_args
from app.schema.users.queries import users_page
from app.schema.users.types import User, UserConnection, _authenticators, _roles


async def _users(run: Run, parents: list[Any], a: dict[str, Any], step: Step) -> list[Any]:
    connection, _ = await users_page(run.reader, run.principal, a.get("first"), a.get("after"), a.get("filter"),
                                     a.get("order_by"))
    return [connection]


async def _total_count(run: Run, parents: list[UserConnection], a: dict[str, Any], step: Step) -> list[int]:
    return [await run.reader.run(users_sql.count_users, c._filter) for c in parents]


def _by_user(query: Any, then: Any = None) -> Any:
    """A relation of a page of users read by `query(conn, org_id, ids)` ({id: value}, [] when missing)."""

    async def fetch(run: Run, parents: list[User], a: dict[str, Any], step: Step) -> list[Any]:
        found = await run.reader.run(query, list(dict.fromkeys(u._id for u in parents)))
        if then is None:
            return [list(found.get(u._id, ())) for u in parents]
        return [then(found.get(u._id, []), u) for u in parents]

    return fetch


def _groups(groups: list[Any], u: User) -> list[UserGroupNode]:
    return [UserGroupNode.view(g, _member_of=u._id) for g in groups]


def _certificate_reading(step: Step, fragments: dict[str, Any]) -> Any:
    return certificate_reading(step.nodes, fragments)


def _certificate_columns(reading: frozenset[str] | None, needed: frozenset[str]) -> tuple[str, ...] | None:
    """The narrowed read of certificates_by_user (what the selection's fields read, FIELD_READS)."""
    return certificates_sql.reading_columns(reading) if reading is not None else None


def _history_columns(prepared: Any, needed: frozenset[str]) -> tuple[str, ...]:
    return activity_sql.summary_columns(needed)


async def _certificates(run: Run, parents: list[User], a: dict[str, Any], step: Step) -> list[Any]:
    principal = run.principal
    shown = list(dict.fromkeys(u._id for u in parents if can_view_certificates_of(principal, u._id)))
    if step.rows:
        rows = await run.reader.run(certificates_sql.certificate_rows_by_user, shown,
                                    certificates_sql.reading_columns(step.prepared)) if shown else {}
        return [list(rows.get(u._id, ())) if can_view_certificates_of(principal, u._id) else [] for u in parents]
    found = await run.reader.run(certificates_sql.certificates_by_user, shown, step.prepared) if shown else {}
    now = run.now
    return [
        [CertificateNode.view(c, _now=now, _pem=PEM_NOT_READ, _holder=u._id) for c in found.get(u._id, [])]
        if can_view_certificates_of(principal, u._id) else []
        for u in parents
    ]


class _HistoryCount:
    """What a compiled history connection counts with: the user and the filter (ActivityConnection's
    `_count`; the plan's totalCount reads these instead of calling it)."""

    __slots__ = ("filter", "user_id")

    def __init__(self, user_id: Any, f: Any) -> None:
        self.user_id = user_id
        self.filter = f

    def __call__(self) -> Any:
        raise RuntimeError("a compiled history connection is counted by its plan")


async def _history(run: Run, parents: list[User], a: dict[str, Any], step: Step) -> list[Any]:
    args = history_args(a.get("first", HISTORY_DEFAULT), a.get("after"), a.get("from_"), a.get("to"),
                        a.get("types"), a.get("search"))
    ids = list(dict.fromkeys(u._id for u in parents))
    limit = args.limit - 1
    if step.rows:
        rows = await run.reader.run(activity_sql.latest_activity_rows_by_user, ids, args.filter, args.before_id,
                                    args.limit, step.layout)
        return [ActivityConnection.of_rows(rows.get(u._id, []), limit, args.before_id,
                                           _HistoryCount(u._id, args.filter)) for u in parents]
    found = await run.reader.run(activity_sql.latest_activities_by_user, ids, args.filter, args.before_id, args.limit)
    return [
        ActivityConnection.of(found.get(u._id, []), limit, args.before_id,
                              _HistoryCount(u._id, args.filter), details_read=False)
        for u in parents
    ]


async def _groups_of(run: Run, parents: list[User], a: dict[str, Any], step: Step) -> list[Any]:
    ids = list(dict.fromkeys(u._id for u in parents))
    if step.rows:
        rows = await run.reader.run(user_groups_sql.group_rows_by_user, ids, step.layout)
        return [list(rows.get(u._id, ())) for u in parents]
    found = await run.reader.run(user_groups_sql.groups_by_user, ids)
    return [_groups(found.get(u._id, []), u) for u in parents]


async def _history_total(run: Run, parents: list[ActivityConnection], a: dict[str, Any], step: Step) -> list[int]:
    """Users' histories: one count per distinct filter for the page; any other connection (the
    organisation's `activities`) counts itself, as its resolver does."""
    counts = [c._count for c in parents]
    by_filter: dict[Any, list[Any]] = {}
    for c in counts:
        if isinstance(c, _HistoryCount):
            by_filter.setdefault(c.filter, []).append(c.user_id)
    totals: dict[tuple[Any, Any], int] = {}
    for f, ids in by_filter.items():
        found = await run.reader.run(activity_sql.count_activities_by_user, list(dict.fromkeys(ids)), f)
        totals.update({(f, i): int(found.get(i, 0)) for i in ids})
    return [totals[(c.filter, c.user_id)] if isinstance(c, _HistoryCount) else int(await c()) for c in counts]


async def _effective_rights(run: Run, parents: list[User], a: dict[str, Any], step: Step) -> list[list[str]]:
    ids = list(dict.fromkeys(u._id for u in parents))
    own = await run.reader.run(users_sql.rights_by_user, ids)
    via_groups = await run.reader.run(user_groups_sql.group_rights_by_user, ids)
    return [sorted(set(own.get(u._id, ())) | set(via_groups.get(u._id, ()))) for u in parents]


compiled("Query", "users", _users)
by_resolver("Query", "activities", resolver_of(ActivityQueries, "activities"))
compiled("User", "effectiveRights", _effective_rights)
compiled("UserConnection", "totalCount", _total_count)
compiled("User", "authenticators", _by_user(users_sql.authenticators_by_user, lambda kinds, u: _authenticators(kinds)))
compiled("User", "rights", _by_user(users_sql.rights_by_user))
compiled("User", "roles", _by_user(users_sql.roles_by_user, lambda held, u: _roles(held, u.status)))
compiled("User", "groups", _groups_of, rows=True, layout=lambda _, needed: user_groups_sql.group_columns(needed))
compiled("User", "certificates", _certificates, _certificate_reading, rows=True, layout=_certificate_columns)
compiled("User", "history", _history, rows=True, layout=_history_columns)
compiled("ActivityConnection", "totalCount", _history_total)
