"""History (a user's own and the organisation's), anonymity requests, notifications, and the read
path's costs: statements per page, parallel siblings, bad pagination input."""

from __future__ import annotations

import asyncio
import base64
import datetime as dt
import uuid
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import insert

from app.adapters.jwt import sign_token
from app.domain.common.principal import Role
from app.domain.notifications.delivery import notify_role
from app.domain.users import lifecycle as uc
from app.domain.users.deactivation import deactivate_user
from app.domain.users.rules import NewUser
from app.entrypoints.cli.seed import activate_directly
from app.persistence.tables.activity import activities
from app.persistence.tables.users import user_roles
from app.schema.runtime.base import to_global_id
from tests.conftest import Env, token_for
from tests.factories import OrgFixture

COPENHAGEN = ZoneInfo("Europe/Copenhagen")

# --- GraphQL ----------------------------------------------------------------------------------------

CREATE_USER = """
mutation($input: CreateUserInput!) {
  createUser(input: $input) { user { id uuid } temporaryActivationCode userErrors { field code message } }
}
"""

ACTIVATE_USER = """
mutation($userId: ID!, $code: String!) {
  activateUser(input: {userId: $userId, code: $code}) { activated userUuid userErrors { code } }
}
"""

UPDATE_USER = """
mutation($input: UpdateUserInput!) { updateUser(input: $input) { user { id reference } userErrors { code } } }
"""

SET_AUTHENTICATORS = """
mutation($userId: ID!, $kinds: [Authenticator!]!) {
  setUserAuthenticators(input: {userId: $userId, authenticators: $kinds}) { userErrors { code } }
}
"""

GENERATE_CODE = """
mutation($userId: ID!) {
  generateActivationCode(input: {userId: $userId}) { temporaryActivationCode userErrors { code } }
}
"""

USER_HISTORY = """
query($id: ID!, $first: Int, $after: String, $from: String, $to: String, $types: [ActivityType!], $search: String) {
  user(id: $id) {
    history(first: $first, after: $after, from: $from, to: $to, types: $types, search: $search) {
      totalCount
      pageInfo { hasNextPage hasPreviousPage startCursor endCursor }
      edges { cursor node { id type summary occurredAt actorName targetName } }
    }
  }
}
"""

USER_HISTORY_DEFAULT = """
query($id: ID!) {
  user(id: $id) {
    history {
      totalCount
      pageInfo { hasNextPage hasPreviousPage endCursor }
      edges { node { id summary occurredAt } }
    }
  }
}
"""

ACTIVITIES = """
query($first: Int, $after: String, $filter: ActivityFilterInput) {
  activities(first: $first, after: $after, filter: $filter) {
    totalCount
    pageInfo { hasNextPage endCursor }
    edges {
      node {
        id type summary occurredAt actorName targetName
        actor { uuid name }
        targetUser { uuid name email }
      }
    }
  }
}
"""

NODE_USER = """
query($id: ID!) {
  node(id: $id) {
    ... on User {
      uuid anonymous firstName lastName name email phone reference cprMasked dateOfBirth pNumber seNumber
    }
  }
}
"""

USER_IDENTITY = """
query($id: ID!) { user(id: $id) { uuid anonymous firstName lastName name email phone cprMasked } }
"""

VIEWER_USER = "query { viewer { user { uuid name email } } }"

PLAIN_OWN_HISTORY = """
query($id: ID!) {
  user(id: $id) {
    history(first: 1) { edges { node { type summary actorName actor { uuid firstName name email phone cprMasked } } } }
  }
}
"""

REQUEST_ANONYMITY = """
mutation($reason: String) {
  requestAnonymity(input: {reason: $reason}) {
    request { id status reason user { uuid } }
    userErrors { field code message }
  }
}
"""

ANONYMITY_REQUESTS = """
query($status: AnonymityRequestStatus) {
  anonymityRequests(status: $status) { id status reason user { uuid name status } newUser { uuid } }
}
"""

APPROVE = """
mutation($id: ID!) {
  approveAnonymityRequest(input: {requestId: $id}) {
    request { id status newUser { uuid } }
    newUser { id uuid anonymous status rights authenticators firstName name }
    temporaryActivationCode
    userErrors { field code message }
  }
}
"""

REJECT = """
mutation($id: ID!) {
  rejectAnonymityRequest(input: {requestId: $id}) {
    request { id status }
    newUser { uuid }
    userErrors { field code message }
  }
}
"""

USER_STATUS = "query($id: ID!) { user(id: $id) { uuid status anonymous rights } }"

NOTIFICATIONS = """
query($unreadOnly: Boolean! = false) {
  notifications(first: 100, unreadOnly: $unreadOnly) {
    totalCount unreadCount
    edges { node { id title kind body read readAt } }
  }
}
"""

NOTIFICATION_SETTINGS = "query { notificationSettings { channel } }"

UPDATE_NOTIFICATION_SETTINGS = """
mutation($channel: NotificationChannel!) {
  updateNotificationSettings(input: {channel: $channel}) { notificationSettings { channel } userErrors { code } }
}
"""

MARK_READ = """
mutation($ids: [ID!]) { markNotificationsRead(input: {ids: $ids}) { marked userErrors { code } } }
"""

MARK_ALL_READ = "mutation { markNotificationsRead { marked userErrors { code } } }"

USERS_PAGE = """
query($first: Int!) {
  users(first: $first, orderBy: {field: CREATED_AT, direction: ASC}) {
    edges {
      node {
        id uuid firstName lastName name email phone reference cprMasked dateOfBirth identification
        anonymous status pNumber seNumber canSign canCreateSeal createdAt activatedAt lastLoginAt
        authenticators
        deactivation { from until }
        roles
        history(first: 5) { edges { node { type occurredAt actorName } } }
      }
    }
  }
}
"""

PARALLEL_SIBLINGS = """
query {
  viewer { roles user { uuid name history(first: 3) { edges { node { type } } } } }
  a: users(first: 5) {
    edges { node { uuid name roles authenticators history(first: 5) { totalCount edges { node { type actorName actor { uuid } } } } } }
  }
  b: users(first: 5, filter: {status: ACTIVE}) {
    totalCount
    edges { node { uuid status rights history(first: 2, types: [USER_ACTIVATED]) { edges { node { type } } } } }
  }
  activities(first: 3) { totalCount edges { node { type actor { uuid name } targetUser { uuid roles } } } }
  notifications(first: 3) { totalCount unreadCount }
}
"""


# --- helpers ----------------------------------------------------------------------------------------


def admin(env: Env, org: OrgFixture) -> str:
    return token_for(env, org, Role.USER_ADMINISTRATOR)


def person_token(env: Env, org: OrgFixture, user_id: uuid.UUID, *roles: Role) -> str:
    return sign_token(env.settings, user_id, org.cvr, list(roles) or [Role.USER])


def gid(user_id: uuid.UUID) -> str:
    return to_global_id("User", user_id)


def ok(body: dict[str, Any]) -> dict[str, Any]:
    assert "errors" not in body, body
    return body["data"]


def error_code(body: dict[str, Any]) -> str:
    assert body.get("errors"), body
    return body["errors"][0]["extensions"]["code"]


def cursor(kind: str, raw: str) -> str:
    return base64.urlsafe_b64encode(f"{kind}:{raw}".encode()).decode().rstrip("=")


async def create_user(env: Env, org: OrgFixture, first: str = "Hanne", last: str = "Historik", **extra: Any) -> dict[str, Any]:
    """createUser with a date of birth through the API; returns the user and its temporary code."""
    values = {
        "firstName": first, "lastName": last, "email": f"{uuid.uuid4().hex[:10]}.{org.cvr}@example.dk",
        "dateOfBirth": "1985-06-15", **extra,
    }
    payload = ok(await env.gql(CREATE_USER, {"input": values}, token=admin(env, org)))["createUser"]
    assert payload["userErrors"] == []
    return {**payload["user"], "code": payload["temporaryActivationCode"], "email": values["email"]}


async def create_active_user(env: Env, org: OrgFixture, first: str = "Aktiv", last: str = "Bruger", **extra: Any) -> dict[str, Any]:
    """createUser, then the person's own first login with the temporary code: an ACTIVE user."""
    user = await create_user(env, org, first, last, **extra)
    activated = ok(await env.gql(ACTIVATE_USER, {"userId": user["id"], "code": user["code"]}))["activateUser"]
    assert activated["activated"] is True, activated
    return {**user, "uuid_obj": uuid.UUID(user["uuid"])}


async def insert_history(env: Env, org: OrgFixture, target: uuid.UUID | None, entries: list[dict[str, Any]]) -> None:
    """Volume without the cost of a use case per entry: rows straight into the activity table."""
    rows = [
        {
            "org_id": org.org_id, "actor_id": org.people[Role.USER_ADMINISTRATOR], "actor_name": "Bulk Loader",
            "type": "USER_UPDATED", "target_user_id": target, "target_name": "Hanne Historik",
            "summary": "Changed reference", "details": {}, **e,
        }
        for e in entries
    ]
    async with env.engine.begin() as conn:
        await conn.execute(insert(activities), rows)


async def add_user_administrator(env: Env, org: OrgFixture, first: str) -> tuple[uuid.UUID, str, str]:
    """One more active person holding USER_ADMINISTRATOR; returns id, email and a token."""
    email = f"{first.lower()}.{uuid.uuid4().hex[:6]}.{org.cvr}@example.dk"
    async with env.services.unit_of_work(org.actor(Role.USER_ADMINISTRATOR)) as uow:
        created = await uc.create_user(
            uow, NewUser(first_name=first, last_name="Admin", email=email, date_of_birth="1979-02-03"), send=False
        )
        await activate_directly(uow, created.user, dt.datetime.now(dt.UTC))
        await uow.users.set_roles(created.user.id, [Role.USER_ADMINISTRATOR])
        await uow.commit()
    return created.user.id, email, person_token(env, org, created.user.id, Role.USER_ADMINISTRATOR)


async def notify_user_administrators(env: Env, org: OrgFixture, count: int) -> None:
    async with env.services.unit_of_work(org.actor(Role.USER)) as uow:
        for i in range(count):
            await notify_role(uow, Role.USER_ADMINISTRATOR, "TEST", f"Notice {i}", f"Body {i}")
        await uow.commit()


async def notifications_of(env: Env, token: str, unread_only: bool = False) -> dict[str, Any]:
    return ok(await env.gql(NOTIFICATIONS, {"unreadOnly": unread_only}, token=token))["notifications"]


async def walk_history(env: Env, token: str, user_id: str, page: int, **filters: Any) -> list[dict[str, Any]]:
    nodes: list[dict[str, Any]] = []
    after = None
    while True:
        history = ok(await env.gql(USER_HISTORY, {"id": user_id, "first": page, "after": after, **filters}, token=token))[
            "user"
        ]["history"]
        assert history["pageInfo"]["hasPreviousPage"] is (after is not None)
        nodes += [e["node"] for e in history["edges"]]
        if not history["pageInfo"]["hasNextPage"]:
            return nodes
        after = history["pageInfo"]["endCursor"]
        assert after == history["edges"][-1]["cursor"]


def request_queries(seen: list[str]) -> list[str]:
    """The request's own queries (env.count_statements already leaves out the background jobs);
    transaction control (SQLite's BEGIN) is not a query."""
    return [s for s in seen if not s.lstrip().upper().startswith(("BEGIN", "COMMIT", "ROLLBACK"))]


def copenhagen_noon(day: dt.date) -> dt.datetime:
    return dt.datetime.combine(day, dt.time(12), COPENHAGEN).astimezone(dt.UTC)


# --- a user's history -------------------------------------------------------------------------------


async def test_history_shows_the_latest_200_entries_newest_first_by_default(env: Env, org: OrgFixture) -> None:
    user = await create_active_user(env, org)  # USER_CREATED, ACTIVATION_CODE_GENERATED, USER_ACTIVATED
    start = dt.datetime.now(dt.UTC) + dt.timedelta(seconds=1)
    await insert_history(
        env, org, user["uuid_obj"],
        [{"occurred_at": start + dt.timedelta(seconds=i), "summary": f"Entry {i:03d}"} for i in range(210)],
    )

    history = ok(await env.gql(USER_HISTORY_DEFAULT, {"id": user["id"]}, token=admin(env, org)))["user"]["history"]

    assert history["totalCount"] == 213
    assert len(history["edges"]) == 200
    assert history["pageInfo"]["hasNextPage"] is True
    assert history["pageInfo"]["hasPreviousPage"] is False
    summaries = [e["node"]["summary"] for e in history["edges"]]
    assert summaries[:3] == ["Entry 209", "Entry 208", "Entry 207"]
    assert summaries[-1] == "Entry 010"
    moments = [dt.datetime.fromisoformat(e["node"]["occurredAt"]) for e in history["edges"]]
    assert moments == sorted(moments, reverse=True)


async def test_history_pages_with_first_and_after_visit_every_entry_exactly_once(env: Env, org: OrgFixture) -> None:
    user = await create_active_user(env, org)
    start = dt.datetime.now(dt.UTC) + dt.timedelta(seconds=1)
    await insert_history(
        env, org, user["uuid_obj"],
        [{"occurred_at": start + dt.timedelta(seconds=i), "summary": f"Entry {i:03d}"} for i in range(211)],
    )
    token = admin(env, org)
    everything = ok(await env.gql(USER_HISTORY, {"id": user["id"], "first": 500}, token=token))["user"]["history"]
    assert everything["totalCount"] == 214
    assert len(everything["edges"]) == 214
    assert everything["pageInfo"]["hasNextPage"] is False

    walked = await walk_history(env, token, user["id"], page=37)

    ids = [n["id"] for n in walked]
    assert len(ids) == len(set(ids)) == 214
    assert ids == [e["node"]["id"] for e in everything["edges"]]
    # The last page holds exactly the rest: 214 = 5 * 37 + 29.
    last = ok(
        await env.gql(USER_HISTORY, {"id": user["id"], "first": 37, "after": everything["edges"][184]["cursor"]}, token=token)
    )["user"]["history"]
    assert len(last["edges"]) == 29
    assert last["pageInfo"]["hasNextPage"] is False
    assert last["totalCount"] == 214


async def test_history_filters_by_a_date_range_in_danish_days(env: Env, org: OrgFixture) -> None:
    user = await create_active_user(env, org)
    first_day = dt.date(2023, 3, 1)
    entries = [
        {"occurred_at": copenhagen_noon(first_day + dt.timedelta(days=i)), "summary": f"Day {i + 1:02d}"}
        for i in range(30)
    ]
    # 23:30 UTC on 9 March is 00:30 on 10 March in Copenhagen: outside a range ending 9 March.
    entries.append({"occurred_at": dt.datetime(2023, 3, 9, 23, 30, tzinfo=dt.UTC), "summary": "Just after midnight"})
    # 23:30 UTC on 4 March is 00:30 on 5 March in Copenhagen: inside a range starting 5 March.
    entries.append({"occurred_at": dt.datetime(2023, 3, 4, 23, 30, tzinfo=dt.UTC), "summary": "Early on the 5th"})
    await insert_history(env, org, user["uuid_obj"], entries)
    token = admin(env, org)

    in_range = ok(
        await env.gql(USER_HISTORY, {"id": user["id"], "from": "2023-03-05", "to": "2023-03-09"}, token=token)
    )["user"]["history"]
    assert sorted(e["node"]["summary"] for e in in_range["edges"]) == [
        "Day 05", "Day 06", "Day 07", "Day 08", "Day 09", "Early on the 5th",
    ]
    assert in_range["totalCount"] == 6

    since = ok(await env.gql(USER_HISTORY, {"id": user["id"], "from": "2023-03-29"}, token=token))["user"]["history"]
    # Days 29 and 30 plus the three real entries written today.
    assert since["totalCount"] == len(since["edges"]) == 5
    until = ok(await env.gql(USER_HISTORY, {"id": user["id"], "to": "2023-03-02"}, token=token))["user"]["history"]
    assert [e["node"]["summary"] for e in until["edges"]] == ["Day 02", "Day 01"]

    moments = ok(
        await env.gql(
            USER_HISTORY,
            {"id": user["id"], "from": "2023-03-05T10:00:00+00:00", "to": "2023-03-06T10:00:00+00:00"},
            token=token,
        )
    )["user"]["history"]
    assert [e["node"]["summary"] for e in moments["edges"]] == ["Day 05"]

    bad = await env.gql(USER_HISTORY, {"id": user["id"], "from": "5th of March"}, token=token)
    assert error_code(bad) == "BAD_USER_INPUT"


async def test_history_filters_by_activity_type_and_by_search(env: Env, org: OrgFixture) -> None:
    user = await create_active_user(env, org)
    token = admin(env, org)
    for ref in ("R-1", "R-2", "R-3"):
        assert ok(await env.gql(UPDATE_USER, {"input": {"userId": user["id"], "reference": ref}}, token=token))[
            "updateUser"
        ]["userErrors"] == []
    assert ok(await env.gql(UPDATE_USER, {"input": {"userId": user["id"], "phone": "+4512345678"}}, token=token))[
        "updateUser"
    ]["userErrors"] == []
    assert ok(await env.gql(SET_AUTHENTICATORS, {"userId": user["id"], "kinds": ["MITID_APP"]}, token=token))[
        "setUserAuthenticators"
    ]["userErrors"] == []

    async def history(**filters: Any) -> dict[str, Any]:
        return ok(await env.gql(USER_HISTORY, {"id": user["id"], **filters}, token=token))["user"]["history"]

    everything = await history()
    assert everything["totalCount"] == 8

    typed = await history(types=["AUTHENTICATORS_CHANGED", "USER_ACTIVATED"])
    assert [e["node"]["type"] for e in typed["edges"]] == ["AUTHENTICATORS_CHANGED", "USER_ACTIVATED"]
    assert typed["totalCount"] == 2

    updates = await history(types=["USER_UPDATED"])
    assert updates["totalCount"] == len(updates["edges"]) == 4

    found = await history(search="REFERENCE")
    assert [e["node"]["summary"] for e in found["edges"]] == ["Changed reference"] * 3
    assert found["totalCount"] == 3

    assert (await history(search="phone", types=["USER_UPDATED"]))["totalCount"] == 1
    assert (await history(search="phone", types=["USER_CREATED"]))["totalCount"] == 0
    # The actor's name is searchable too: the user's own activation is the only entry they made.
    own = await history(search="Aktiv Bruger", types=["USER_ACTIVATED"])
    assert [e["node"]["actorName"] for e in own["edges"]] == ["Aktiv Bruger"]
    assert (await history(search="no such words anywhere"))["edges"] == []


async def test_a_plain_user_sees_their_own_history_but_not_anyone_elses(env: Env, org: OrgFixture) -> None:
    user = await create_active_user(env, org)
    other = await create_active_user(env, org, "Anden", "Person")
    own_token = person_token(env, org, user["uuid_obj"])

    mine = ok(await env.gql(USER_HISTORY, {"id": user["id"]}, token=own_token))["user"]["history"]
    assert [e["node"]["type"] for e in mine["edges"]] == ["USER_ACTIVATED", "ACTIVATION_CODE_GENERATED", "USER_CREATED"]
    assert ok(await env.gql(USER_HISTORY, {"id": other["id"]}, token=own_token))["user"] is None


# --- the organisation's activity log ----------------------------------------------------------------


async def test_activities_show_only_the_own_organisations_entries(
    env: Env, org: OrgFixture, other_org: OrgFixture
) -> None:
    mine = await create_active_user(env, org, "Egen", "Medarbejder")
    foreign = await create_active_user(env, other_org, "Fremmed", "Medarbejder")
    await insert_history(env, other_org, foreign["uuid_obj"], [{"occurred_at": dt.datetime.now(dt.UTC), "summary": "Egen"}])
    own_people = {str(u) for u in org.people.values()} | {mine["uuid"]}

    for role in (Role.ORGANISATION_ADMINISTRATOR, Role.USER_ADMINISTRATOR):
        token = token_for(env, org, role)
        log = ok(await env.gql(ACTIVITIES, {"first": 500}, token=token))["activities"]
        # The fixture's four people (created by the system) and the new user's three entries.
        assert log["totalCount"] == len(log["edges"]) == 7, role
        for edge in log["edges"]:
            node = edge["node"]
            assert node["targetUser"]["uuid"] in own_people
            assert node["actor"] is None or node["actor"]["uuid"] in own_people
            assert "Fremmed" not in (node["targetName"] or "") + node["actorName"]
        searched = ok(await env.gql(ACTIVITIES, {"filter": {"search": "Fremmed"}}, token=token))["activities"]
        assert searched["totalCount"] == 0 and searched["edges"] == []
        targeted = ok(await env.gql(ACTIVITIES, {"filter": {"targetUserId": foreign["id"]}}, token=token))["activities"]
        assert targeted["totalCount"] == 0 and targeted["edges"] == []

    foreign_log = ok(await env.gql(ACTIVITIES, {"first": 500}, token=admin(env, other_org)))["activities"]
    assert foreign_log["totalCount"] == len(foreign_log["edges"]) == 8
    foreign_people = {str(u) for u in other_org.people.values()} | {foreign["uuid"]}
    assert {e["node"]["targetUser"]["uuid"] for e in foreign_log["edges"]} == foreign_people
    assert ok(await env.gql(USER_HISTORY, {"id": foreign["id"]}, token=admin(env, org)))["user"] is None
    foreign_entry = foreign_log["edges"][0]["node"]["id"]
    assert ok(await env.gql("query($id: ID!) { node(id: $id) { id } }", {"id": foreign_entry}, token=admin(env, org)))[
        "node"
    ] is None


async def test_activities_filter_by_period_type_actor_target_and_search(env: Env, org: OrgFixture) -> None:
    ua_token = admin(env, org)
    second_admin, _, second_token = await add_user_administrator(env, org, "Sekundus")
    alice = await create_active_user(env, org, "Alice", "Ahlgren")
    bob = await create_user(env, org, "Bob", "Bertelsen")  # PENDING_ACTIVATION
    assert ok(await env.gql(UPDATE_USER, {"input": {"userId": alice["id"], "reference": "A-1"}}, token=second_token))[
        "updateUser"
    ]["userErrors"] == []
    assert ok(await env.gql(UPDATE_USER, {"input": {"userId": bob["id"], "reference": "B-1"}}, token=second_token))[
        "updateUser"
    ]["userErrors"] == []
    await insert_history(
        env, org, uuid.UUID(bob["uuid"]),
        [{"occurred_at": copenhagen_noon(dt.date(2022, 12, d)), "summary": f"Old {d}", "target_name": "Bob Bertelsen",
          "type": "USER_DEACTIVATED"} for d in (1, 2, 3)],
    )
    ua_id = org.people[Role.USER_ADMINISTRATOR]

    async def log(**filter: Any) -> list[dict[str, Any]]:
        result = ok(await env.gql(ACTIVITIES, {"first": 500, "filter": filter}, token=ua_token))["activities"]
        assert result["totalCount"] == len(result["edges"])
        return [e["node"] for e in result["edges"]]

    everything = await log()
    # The fixture's 4 people; the second admin: created; alice: created, code, activated, updated;
    # bob: created, code, updated and 3 old entries.
    assert len(everything) == 15

    by_second = await log(actorId=gid(second_admin))
    assert sorted(n["summary"] for n in by_second) == ["Changed reference", "Changed reference"]
    assert all(n["actor"] == {"uuid": str(second_admin), "name": "Sekundus Admin"} for n in by_second)
    assert all(n["actorName"] == "Sekundus Admin" for n in by_second)

    by_first = await log(actorId=gid(ua_id))
    assert {n["type"] for n in by_first} == {"USER_CREATED", "ACTIVATION_CODE_GENERATED", "USER_DEACTIVATED"}
    by_alice = await log(actorId=alice["id"])
    assert [n["type"] for n in by_alice] == ["USER_ACTIVATED"]
    assert by_alice[0]["actorName"] == "Alice Ahlgren"
    assert by_alice[0]["actor"]["uuid"] == by_alice[0]["targetUser"]["uuid"] == alice["uuid"]

    about_bob = await log(targetUserId=bob["id"])
    assert len(about_bob) == 6
    assert {n["targetUser"]["uuid"] for n in about_bob} == {bob["uuid"]}
    assert {n["targetName"] for n in about_bob} == {"Bob Bertelsen"}
    assert all(n["targetUser"]["name"] == "Bob Bertelsen" for n in about_bob)

    assert [n["summary"] for n in await log(**{"from": "2022-12-02", "to": "2022-12-02"})] == ["Old 2"]
    assert [n["summary"] for n in await log(to="2022-12-31")] == ["Old 3", "Old 2", "Old 1"]
    assert len(await log(**{"from": dt.datetime.now(COPENHAGEN).date().isoformat()})) == 12

    assert {n["targetUser"]["uuid"] for n in await log(types=["USER_ACTIVATED"])} == {alice["uuid"]}
    assert len(await log(types=["USER_CREATED", "USER_UPDATED"])) == 9
    assert [n["summary"] for n in await log(types=["USER_UPDATED"], targetUserId=bob["id"])] == ["Changed reference"]
    assert [n["summary"] for n in await log(search="bertelsen", types=["USER_DEACTIVATED"], to="2022-12-01")] == ["Old 1"]
    assert {n["targetName"] for n in await log(search="ahlgren")} == {"Alice Ahlgren"}
    # Ids of another type or that do not exist match nothing rather than failing.
    assert await log(actorId=to_global_id("Notification", 1)) == []
    assert await log(targetUserId=gid(uuid.uuid4())) == []
    assert await log(actorId="not-an-id") == []


async def test_plain_users_and_rights_administrators_may_not_read_the_activity_log(env: Env, org: OrgFixture) -> None:
    for role in (Role.USER, Role.RIGHTS_ADMINISTRATOR):
        body = await env.gql(ACTIVITIES, {}, token=token_for(env, org, role))
        assert error_code(body) == "FORBIDDEN", role


# --- anonymity requests -----------------------------------------------------------------------------


async def test_an_anonymity_request_reaches_every_user_administrator_through_their_chosen_channel(
    env: Env, org: OrgFixture, other_org: OrgFixture
) -> None:
    both_email = org.emails[Role.USER_ADMINISTRATOR]  # the default channel is BOTH
    _, in_app_email, in_app_token = await add_user_administrator(env, org, "Indbakke")
    _, email_email, email_token = await add_user_administrator(env, org, "Postkasse")
    for token, channel in ((in_app_token, "IN_APP"), (email_token, "EMAIL")):
        payload = ok(await env.gql(UPDATE_NOTIFICATION_SETTINGS, {"channel": channel}, token=token))[
            "updateNotificationSettings"
        ]
        assert payload == {"notificationSettings": {"channel": channel}, "userErrors": []}
        assert ok(await env.gql(NOTIFICATION_SETTINGS, token=token))["notificationSettings"]["channel"] == channel
    requester = token_for(env, org, Role.USER)

    payload = ok(await env.gql(REQUEST_ANONYMITY, {"reason": "Beskyttet adresse"}, token=requester))["requestAnonymity"]

    assert payload["userErrors"] == []
    assert payload["request"]["status"] == "PENDING"
    assert payload["request"]["reason"] == "Beskyttet adresse"
    assert payload["request"]["user"]["uuid"] == str(org.people[Role.USER])
    mails = {address: await env.mail.wait_for(address) for address in (both_email, email_email)}
    for found in mails.values():
        assert len(found) == 1
        assert found[0]["Subject"] == "A user asks to be anonymous"
        assert "Beskyttet adresse" in found[0].get_payload(decode=True).decode()
    for token, expected in ((admin(env, org), 1), (in_app_token, 1), (email_token, 0)):
        inbox = await notifications_of(env, token)
        assert inbox["totalCount"] == inbox["unreadCount"] == expected
        assert [e["node"]["kind"] for e in inbox["edges"]] == ["ANONYMITY_REQUESTED"] * expected
        for edge in inbox["edges"]:
            assert edge["node"]["title"] == "A user asks to be anonymous"
            assert edge["node"]["read"] is False
            assert org.emails[Role.USER] in edge["node"]["body"]
    # The outbox delivers in order; give a wrongly queued mail time to arrive before saying "none".
    await asyncio.sleep(0.5)
    assert env.mail.to(in_app_email) == []
    for role in (Role.USER, Role.ORGANISATION_ADMINISTRATOR, Role.RIGHTS_ADMINISTRATOR):
        assert env.mail.to(org.emails[role]) == []
        assert (await notifications_of(env, token_for(env, org, role)))["totalCount"] == 0
    assert env.mail.to(other_org.emails[Role.USER_ADMINISTRATOR]) == []
    assert (await notifications_of(env, admin(env, other_org)))["totalCount"] == 0


async def test_a_second_anonymity_request_while_one_is_pending_is_refused(env: Env, org: OrgFixture) -> None:
    token = token_for(env, org, Role.USER)
    first = ok(await env.gql(REQUEST_ANONYMITY, {"reason": None}, token=token))["requestAnonymity"]
    assert first["userErrors"] == []

    second = ok(await env.gql(REQUEST_ANONYMITY, {"reason": "Igen"}, token=token))["requestAnonymity"]

    assert second["request"] is None
    assert len(second["userErrors"]) == 1
    assert second["userErrors"][0]["code"] == "REQUEST_PENDING"
    pending = ok(await env.gql(ANONYMITY_REQUESTS, {}, token=admin(env, org)))["anonymityRequests"]
    assert [r["id"] for r in pending] == [first["request"]["id"]]


async def test_approving_an_anonymity_request_recreates_the_user_as_anonymous_without_rights(
    env: Env, org: OrgFixture
) -> None:
    original = await create_active_user(env, org, "Skjult", "Person", rights=["SKAT.REFUSION"], authenticators=["CHIP"])
    ua_token = admin(env, org)
    assert ok(await env.gql(USER_STATUS, {"id": original["id"]}, token=ua_token))["user"]["rights"] == ["SKAT.REFUSION"]
    own_token = person_token(env, org, original["uuid_obj"])
    requested = ok(await env.gql(REQUEST_ANONYMITY, {"reason": "Vidne"}, token=own_token))["requestAnonymity"]
    assert requested["userErrors"] == []
    request_id = requested["request"]["id"]

    listed = ok(await env.gql(ANONYMITY_REQUESTS, {}, token=ua_token))["anonymityRequests"]
    assert listed == [{
        "id": request_id, "status": "PENDING", "reason": "Vidne",
        "user": {"uuid": original["uuid"], "name": "Skjult Person", "status": "ACTIVE"}, "newUser": None,
    }]

    approved = ok(await env.gql(APPROVE, {"id": request_id}, token=ua_token))["approveAnonymityRequest"]

    assert approved["userErrors"] == []
    new_user = approved["newUser"]
    assert approved["request"] == {"id": request_id, "status": "APPROVED", "newUser": {"uuid": new_user["uuid"]}}
    assert new_user["uuid"] != original["uuid"]
    assert new_user["anonymous"] is True
    assert new_user["status"] == "PENDING_ACTIVATION"
    assert new_user["rights"] == []
    assert new_user["authenticators"] == ["CHIP"]
    assert new_user["name"] == "Skjult Person"  # an administrator sees who it is
    old = ok(await env.gql(USER_STATUS, {"id": original["id"]}, token=ua_token))["user"]
    assert old["status"] == "DELETED" and old["anonymous"] is False
    assert ok(await env.gql(ANONYMITY_REQUESTS, {}, token=ua_token))["anonymityRequests"] == []
    decided = ok(await env.gql(ANONYMITY_REQUESTS, {"status": "APPROVED"}, token=ua_token))["anonymityRequests"]
    assert [(r["id"], r["newUser"]["uuid"]) for r in decided] == [(request_id, new_user["uuid"])]
    old_history = ok(await env.gql(USER_HISTORY, {"id": original["id"]}, token=ua_token))["user"]["history"]
    assert [e["node"]["type"] for e in old_history["edges"]][:3] == [
        "ANONYMITY_APPROVED", "USER_DELETED", "ANONYMITY_REQUESTED",
    ]
    new_history = ok(await env.gql(USER_HISTORY, {"id": new_user["id"]}, token=ua_token))["user"]["history"]
    assert [e["node"]["type"] for e in new_history["edges"]] == ["ACTIVATION_CODE_GENERATED", "USER_CREATED"]
    # The recreated date-of-birth user gets a new temporary code, shown once to the approver.
    assert approved["temporaryActivationCode"]
    activated = ok(await env.gql(ACTIVATE_USER, {"userId": new_user["id"], "code": approved["temporaryActivationCode"]}))
    assert activated["activateUser"]["activated"] is True

    again = ok(await env.gql(APPROVE, {"id": request_id}, token=ua_token))["approveAnonymityRequest"]
    assert [e["code"] for e in again["userErrors"]] == ["INVALID_STATUS"]


async def test_rejecting_an_anonymity_request_leaves_the_user_as_they_were(env: Env, org: OrgFixture) -> None:
    approved_user = await create_active_user(env, org, "Godkendt", "Person")
    rejected_user = await create_active_user(env, org, "Afvist", "Person")
    ua_token = admin(env, org)
    ids = {}
    for user in (approved_user, rejected_user):
        payload = ok(await env.gql(REQUEST_ANONYMITY, {}, token=person_token(env, org, user["uuid_obj"])))
        ids[user["uuid"]] = payload["requestAnonymity"]["request"]["id"]
    assert len(ok(await env.gql(ANONYMITY_REQUESTS, {}, token=ua_token))["anonymityRequests"]) == 2

    rejected = ok(await env.gql(REJECT, {"id": ids[rejected_user["uuid"]]}, token=ua_token))["rejectAnonymityRequest"]

    assert rejected == {"request": {"id": ids[rejected_user["uuid"]], "status": "REJECTED"}, "newUser": None, "userErrors": []}
    assert ok(await env.gql(USER_STATUS, {"id": rejected_user["id"]}, token=ua_token))["user"] == {
        "uuid": rejected_user["uuid"], "status": "ACTIVE", "anonymous": False, "rights": [],
    }
    pending = ok(await env.gql(ANONYMITY_REQUESTS, {}, token=ua_token))["anonymityRequests"]
    assert [r["user"]["uuid"] for r in pending] == [approved_user["uuid"]]
    listed = ok(await env.gql(ANONYMITY_REQUESTS, {"status": "REJECTED"}, token=ua_token))["anonymityRequests"]
    assert [(r["id"], r["status"]) for r in listed] == [(ids[rejected_user["uuid"]], "REJECTED")]
    again = ok(await env.gql(APPROVE, {"id": ids[rejected_user["uuid"]]}, token=ua_token))["approveAnonymityRequest"]
    assert [e["code"] for e in again["userErrors"]] == ["INVALID_STATUS"]
    # Once decided, the user may ask again.
    retry = ok(await env.gql(REQUEST_ANONYMITY, {}, token=person_token(env, org, rejected_user["uuid_obj"])))
    assert retry["requestAnonymity"]["userErrors"] == []


async def test_anonymity_requests_of_another_organisation_cannot_be_seen_or_decided(
    env: Env, org: OrgFixture, other_org: OrgFixture
) -> None:
    request = ok(await env.gql(REQUEST_ANONYMITY, {}, token=token_for(env, org, Role.USER)))["requestAnonymity"]
    request_id = request["request"]["id"]
    foreign = admin(env, other_org)

    assert ok(await env.gql(ANONYMITY_REQUESTS, {}, token=foreign))["anonymityRequests"] == []
    for mutation, name in ((APPROVE, "approveAnonymityRequest"), (REJECT, "rejectAnonymityRequest")):
        payload = ok(await env.gql(mutation, {"id": request_id}, token=foreign))[name]
        assert payload["request"] is None
        assert [e["code"] for e in payload["userErrors"]] == ["NOT_FOUND"]
    still = ok(await env.gql(ANONYMITY_REQUESTS, {}, token=admin(env, org)))["anonymityRequests"]
    assert [(r["id"], r["status"]) for r in still] == [(request_id, "PENDING")]


async def test_an_anonymous_users_identity_is_hidden_from_plain_users_but_not_from_admins_or_themself(
    env: Env, org: OrgFixture
) -> None:
    hidden = await create_active_user(env, org, "Anonym", "Hemmelig", anonymous=True, phone="+4511223344",
                                      reference="Ref-77")
    ua_token = admin(env, org)
    self_token = person_token(env, org, hidden["uuid_obj"])
    plain_token = token_for(env, org, Role.USER)
    identity = {
        "firstName": "Anonym", "lastName": "Hemmelig", "name": "Anonym Hemmelig", "email": hidden["email"],
        "phone": "+4511223344", "reference": "Ref-77",
    }

    for token in (ua_token, token_for(env, org, Role.ORGANISATION_ADMINISTRATOR), self_token):
        node = ok(await env.gql(NODE_USER, {"id": hidden["id"]}, token=token))["node"]
        assert node["uuid"] == hidden["uuid"] and node["anonymous"] is True
        assert {k: node[k] for k in identity} == identity
        assert node["dateOfBirth"] == "1985-06-15"
    assert ok(await env.gql(VIEWER_USER, token=self_token))["viewer"]["user"]["name"] == "Anonym Hemmelig"
    assert ok(await env.gql(USER_IDENTITY, {"id": hidden["id"]}, token=self_token))["user"]["email"] == hidden["email"]

    # Another plain user cannot reach the anonymous user, by node or by user.
    assert ok(await env.gql(NODE_USER, {"id": hidden["id"]}, token=plain_token))["node"] is None
    assert ok(await env.gql(USER_IDENTITY, {"id": hidden["id"]}, token=plain_token))["user"] is None

    # History names an anonymous target by UUID only; an administrator can still follow the link.
    log = ok(await env.gql(ACTIVITIES, {"filter": {"targetUserId": hidden["id"]}}, token=ua_token))["activities"]
    assert log["totalCount"] == 3
    for edge in log["edges"]:
        assert edge["node"]["targetName"] == hidden["uuid"]
        assert edge["node"]["targetUser"]["name"] == "Anonym Hemmelig"
    activated = next(e["node"] for e in log["edges"] if e["node"]["type"] == "USER_ACTIVATED")
    assert activated["actorName"] == hidden["uuid"]
    assert activated["actor"] == {"uuid": hidden["uuid"], "name": "Anonym Hemmelig"}
    assert ok(await env.gql(ACTIVITIES, {"filter": {"search": "Hemmelig"}}, token=ua_token))["activities"]["totalCount"] == 0
    own = ok(await env.gql(USER_HISTORY, {"id": hidden["id"]}, token=self_token))["user"]["history"]
    assert {e["node"]["targetName"] for e in own["edges"]} == {hidden["uuid"]}

    # When the anonymous person acts (here holding a user administrator token), a plain user looking
    # at their own history sees the UUID, never the identity.
    async with env.engine.begin() as conn:  # the gateway holds the role (a token alone cannot add it)
        await conn.execute(insert(user_roles).values(user_id=hidden["uuid_obj"], role=Role.USER_ADMINISTRATOR.value))
    acting = person_token(env, org, hidden["uuid_obj"], Role.USER_ADMINISTRATOR)
    plain_id = gid(org.people[Role.USER])
    assert ok(await env.gql(UPDATE_USER, {"input": {"userId": plain_id, "reference": "Sat af anonym"}}, token=acting))[
        "updateUser"
    ]["userErrors"] == []
    seen = ok(await env.gql(PLAIN_OWN_HISTORY, {"id": plain_id}, token=plain_token))["user"]["history"]["edges"][0]["node"]
    assert seen["summary"] == "Changed reference"
    assert seen["actorName"] == hidden["uuid"]
    assert seen["actor"] is None  # a plain user cannot open other users' profiles through history
    by_admin = ok(await env.gql(PLAIN_OWN_HISTORY, {"id": plain_id}, token=ua_token))["user"]["history"]["edges"][0]["node"]
    assert by_admin["actor"]["uuid"] == hidden["uuid"]
    assert by_admin["actor"]["name"] == "Anonym Hemmelig"



# --- notifications ----------------------------------------------------------------------------------


async def test_marking_notifications_read_by_id_and_all_at_once_lowers_the_unread_count(
    env: Env, org: OrgFixture
) -> None:
    await notify_user_administrators(env, org, 4)
    token = admin(env, org)
    inbox = await notifications_of(env, token)
    assert inbox["totalCount"] == inbox["unreadCount"] == 4
    assert [e["node"]["title"] for e in inbox["edges"]] == ["Notice 3", "Notice 2", "Notice 1", "Notice 0"]
    first, second = inbox["edges"][0]["node"]["id"], inbox["edges"][1]["node"]["id"]

    marked = ok(await env.gql(MARK_READ, {"ids": [first, second]}, token=token))["markNotificationsRead"]

    assert marked == {"marked": 2, "userErrors": []}
    inbox = await notifications_of(env, token)
    assert inbox["totalCount"] == 4 and inbox["unreadCount"] == 2
    read = {e["node"]["id"]: e["node"]["read"] for e in inbox["edges"]}
    assert read == {first: True, second: True, inbox["edges"][2]["node"]["id"]: False, inbox["edges"][3]["node"]["id"]: False}
    assert all(e["node"]["readAt"] for e in inbox["edges"][:2])
    assert len((await notifications_of(env, token, unread_only=True))["edges"]) == 2
    # Already read: nothing more to mark.
    assert ok(await env.gql(MARK_READ, {"ids": [first]}, token=token))["markNotificationsRead"]["marked"] == 0

    everything = ok(await env.gql(MARK_ALL_READ, token=token))["markNotificationsRead"]

    assert everything == {"marked": 2, "userErrors": []}
    inbox = await notifications_of(env, token)
    assert inbox["totalCount"] == 4 and inbox["unreadCount"] == 0
    assert all(e["node"]["read"] for e in inbox["edges"])
    unread = await notifications_of(env, token, unread_only=True)
    assert unread["edges"] == [] and unread["totalCount"] == 0


async def test_ids_of_another_persons_notifications_mark_nothing(
    env: Env, org: OrgFixture, other_org: OrgFixture
) -> None:
    _, _, second_token = await add_user_administrator(env, org, "Kollega")
    await notify_user_administrators(env, org, 2)
    await notify_user_administrators(env, other_org, 1)
    token = admin(env, org)
    mine = [e["node"]["id"] for e in (await notifications_of(env, token))["edges"]]
    foreign = [e["node"]["id"] for e in (await notifications_of(env, admin(env, other_org)))["edges"]]
    assert len(mine) == 2 and len(foreign) == 1

    garbage = [
        "garbage", to_global_id("User", uuid.uuid4()), to_global_id("Notification", "x"),
        to_global_id("Notification", "\u00b2"), to_global_id("Notification", "9" * 40), to_global_id("Notification", "9" * 5000),
    ]
    for ids in (mine, foreign, garbage):
        payload = ok(await env.gql(MARK_READ, {"ids": ids}, token=second_token))["markNotificationsRead"]
        assert payload == {"marked": 0, "userErrors": []}, ids
    cross = ok(await env.gql(MARK_READ, {"ids": foreign}, token=token))["markNotificationsRead"]
    assert cross["marked"] == 0

    assert (await notifications_of(env, token))["unreadCount"] == 2
    assert (await notifications_of(env, admin(env, other_org)))["unreadCount"] == 1
    assert (await notifications_of(env, second_token))["unreadCount"] == 2
    # Another person's notification is also invisible by node id.
    node = ok(await env.gql("query($id: ID!) { node(id: $id) { id } }", {"id": mine[0]}, token=second_token))
    assert node["node"] is None


async def test_notification_settings_return_the_chosen_channel(env: Env, org: OrgFixture) -> None:
    token = admin(env, org)
    assert ok(await env.gql(NOTIFICATION_SETTINGS, token=token))["notificationSettings"] == {"channel": "BOTH"}
    for channel in ("IN_APP", "EMAIL", "BOTH"):
        payload = ok(await env.gql(UPDATE_NOTIFICATION_SETTINGS, {"channel": channel}, token=token))
        assert payload["updateNotificationSettings"]["userErrors"] == []
        assert ok(await env.gql(NOTIFICATION_SETTINGS, token=token))["notificationSettings"] == {"channel": channel}
    # Each admin has their own setting.
    other = token_for(env, org, Role.ORGANISATION_ADMINISTRATOR)
    assert ok(await env.gql(NOTIFICATION_SETTINGS, token=other))["notificationSettings"] == {"channel": "BOTH"}
    history = ok(
        await env.gql(USER_HISTORY, {"id": gid(org.people[Role.USER_ADMINISTRATOR]), "types": ["NOTIFICATION_SETTINGS_CHANGED"]},
                      token=token)
    )["user"]["history"]
    assert history["totalCount"] == 3


# --- the read path ----------------------------------------------------------------------------------


async def test_a_page_of_users_with_relations_and_history_costs_the_same_few_statements_for_5_and_50(
    env: Env, org: OrgFixture
) -> None:
    now = dt.datetime.now(dt.UTC)
    async with env.services.unit_of_work(org.actor(Role.USER_ADMINISTRATOR)) as uow:
        for i in range(56):
            created = await uc.create_user(
                uow,
                NewUser(first_name=f"Bulk{i:02d}", last_name="Bruger", email=f"bulk{i}.{org.cvr}@example.dk",
                           date_of_birth="1990-01-01", authenticators=["MITID_APP"] if i % 2 else ["CHIP", "CODE_DISPLAY"],
                           phone="+4512345678"),
            )
            if i % 3 == 0:
                await activate_directly(uow, created.user, now)
                await deactivate_user(uow, created.user.id, None, (now + dt.timedelta(days=30)).date().isoformat())
        await uow.commit()
    token = admin(env, org)
    ok(await env.gql(USERS_PAGE, {"first": 1}, token=token))  # warm-up: the token's organisation is looked up once

    counts = {}
    for first in (5, 50):
        with env.count_statements() as seen:
            data = ok(await env.gql(USERS_PAGE, {"first": first}, token=token))
        counts[first] = len(request_queries(seen))
        edges = data["users"]["edges"]
        assert len(edges) == first
        bulk = [e["node"] for e in edges if e["node"]["firstName"].startswith("Bulk")]
        assert bulk and all(n["authenticators"] and n["history"]["edges"] for n in bulk)
        assert any(n["deactivation"] and n["deactivation"]["until"] for n in bulk)
        assert all(len(n["history"]["edges"]) <= 5 for n in bulk)
    print(f"\n[{env.backend}] queries for a page of users: first=5 -> {counts[5]}, first=50 -> {counts[50]}")
    assert counts[5] == counts[50]
    assert counts[50] <= 8


async def test_sibling_fields_resolve_in_parallel_on_one_request(env: Env, org: OrgFixture) -> None:
    for i in range(6):
        await create_active_user(env, org, f"Parallel{i}", "Bruger")
    await notify_user_administrators(env, org, 2)

    for _ in range(3):
        data = ok(await env.gql(PARALLEL_SIBLINGS, token=admin(env, org)))
        assert len(data["a"]["edges"]) == 5 and len(data["b"]["edges"]) == 5
        assert data["b"]["totalCount"] == 10
        assert all(e["node"]["status"] == "ACTIVE" for e in data["b"]["edges"])
        assert data["viewer"]["user"]["uuid"] == str(org.people[Role.USER_ADMINISTRATOR])
        assert len(data["activities"]["edges"]) == 3
        assert data["notifications"] == {"totalCount": 2, "unreadCount": 2}


async def test_many_parallel_requests_do_not_share_a_connection(env: Env, org: OrgFixture) -> None:
    await create_active_user(env, org)
    token = admin(env, org)
    bodies = await asyncio.gather(*(env.gql(PARALLEL_SIBLINGS, token=token) for _ in range(8)))
    for body in bodies:
        ok(body)


BAD_PAGINATION = {
    "users": "query($first: Int, $after: String) { users(first: $first, after: $after) { edges { cursor } } }",
    "activities": "query($first: Int, $after: String) { activities(first: $first, after: $after) { edges { cursor } } }",
    "notifications": "query($first: Int, $after: String) { notifications(first: $first, after: $after) { edges { cursor } } }",
    "history": """query($id: ID!, $first: Int, $after: String) {
      user(id: $id) { history(first: $first, after: $after) { edges { cursor } } } }""",
}
CURSOR_KIND = {"users": "Offset", "activities": "Activity", "notifications": "Notification", "history": "Activity"}


@pytest.mark.parametrize("field", sorted(BAD_PAGINATION))
@pytest.mark.parametrize(
    "variables",
    [
        {"after": "xyz"},
        {"after": ""},
        {"after": "Tm9wZTox"},  # "Nope:1": a cursor of no kind we know
        {"after": "kind:9"},
        {"after": "digits:\u00b2"},  # a superscript two: str.isdigit() says yes, int() says no
        {"after": "digits:" + "9" * 40},
        {"after": "digits:" + "9" * 5000},
        {"after": "digits:-1"},
        {"first": 501},
        {"first": -1},
    ],
    ids=["garbage", "empty", "unknown-kind", "wrong-kind", "superscript", "huge", "thousands-of-digits", "negative-cursor", "first-501", "first-negative"],
)
async def test_bad_cursors_and_page_sizes_are_bad_user_input_not_internal_errors(
    env: Env, org: OrgFixture, field: str, variables: dict[str, Any]
) -> None:
    variables = dict(variables)
    if variables.get("after") == "kind:9":
        other = {"users": "Activity", "activities": "Offset", "notifications": "Activity", "history": "Notification"}
        variables["after"] = cursor(other[field], "9")
    elif str(variables.get("after", "")).startswith("digits:"):
        variables["after"] = cursor(CURSOR_KIND[field], variables["after"].removeprefix("digits:"))
    variables["id"] = gid(org.people[Role.USER_ADMINISTRATOR])

    body = await env.gql(BAD_PAGINATION[field], variables, token=admin(env, org))

    assert error_code(body) == "BAD_USER_INPUT", body
    assert len(body["errors"]) == 1


@pytest.mark.parametrize(
    "raw_id",
    [
        to_global_id("Activity", "\u00b2"), to_global_id("Activity", "9" * 40), to_global_id("Notification", "9" * 5000),
        to_global_id("Activity", "-5"), to_global_id("User", "not-a-uuid"), "xyz", "",
    ],
    ids=["superscript", "huge", "thousands-of-digits", "negative", "bad-uuid", "garbage", "empty"],
)
async def test_garbage_node_ids_give_null_not_an_error(env: Env, org: OrgFixture, raw_id: str) -> None:
    body = await env.gql("query($id: ID!) { node(id: $id) { id } }", {"id": raw_id}, token=admin(env, org))
    assert ok(body)["node"] is None


async def test_a_valid_cursor_past_the_end_gives_an_empty_page(env: Env, org: OrgFixture) -> None:
    token = admin(env, org)
    for field in sorted(BAD_PAGINATION):
        variables = {"after": cursor(CURSOR_KIND[field], "1" if field != "users" else "100000"),
                     "id": gid(org.people[Role.USER_ADMINISTRATOR])}
        data = ok(await env.gql(BAD_PAGINATION[field], variables, token=token))
        page = data["user"]["history"] if field == "history" else data[field]
        assert page["edges"] == [], field
