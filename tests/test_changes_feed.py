"""The change feed (issue 17): changes(after, first) — entity type, global id, kind of change and
time, oldest first, from an opaque cursor; scoped to the caller's organisation; for organisation
and user administrators; built on the history every mutation writes in its transaction."""

from __future__ import annotations

import datetime as dt
import uuid
from typing import Any

import pytest

from app.domain.activity.history import ActivityType
from app.domain.activity.model import Activity
from app.domain.common.principal import Role
from app.domain.users.lifecycle import create_user as domain_create_user
from app.domain.users.rules import NewUser
from app.domain.webhooks.events import EVENT_NAMES, ChangeKind, change_of
from app.schema.runtime.base import to_global_id
from tests.conftest import Env, OrgFixture, token_for

CHANGES = """
query Changes($after: String, $first: Int) {
  changes(after: $after, first: $first) {
    edges { cursor node { entityType entityId kind eventType occurredAt } }
    pageInfo { hasNextPage endCursor }
  }
}
"""
CREATE_USER = """
mutation ($input: CreateUserInput!) { createUser(input: $input) { user { id } userErrors { field code } } }
"""
DELETE_USER = """
mutation ($input: UserIdInput!) { deleteUser(input: $input) { user { id status } userErrors { field code } } }
"""


async def create_user(env: Env, org: OrgFixture, first_name: str = "Karen") -> str:
    body = await env.gql(CREATE_USER, {"input": {
        "firstName": first_name, "lastName": "Feedsen", "email": f"{uuid.uuid4().hex[:10]}@example.dk",
        "dateOfBirth": "1985-04-12",
    }}, token=token_for(env, org, Role.USER_ADMINISTRATOR))
    assert "errors" not in body and body["data"]["createUser"]["userErrors"] == [], body
    return str(body["data"]["createUser"]["user"]["id"])


async def changes(env: Env, org: OrgFixture, role: Role = Role.ORGANISATION_ADMINISTRATOR, **variables: Any) -> dict[str, Any]:
    return await env.gql(CHANGES, variables, token=token_for(env, org, role))


async def all_changes(env: Env, org: OrgFixture, after: str | None = None) -> list[dict[str, Any]]:
    body = await changes(env, org, after=after, first=500)
    assert "errors" not in body, body
    return [e["node"] for e in body["data"]["changes"]["edges"]]


async def test_a_created_and_deleted_user_appear_in_the_feed_in_order_as_global_ids(env: Env, org: OrgFixture) -> None:
    user_id = await create_user(env, org)
    body = await env.gql(DELETE_USER, {"input": {"userId": user_id}}, token=token_for(env, org, Role.USER_ADMINISTRATOR))
    assert body["data"]["deleteUser"]["userErrors"] == [], body
    mine = [c for c in await all_changes(env, org) if c["entityId"] == user_id]
    assert [(c["entityType"], c["kind"], c["eventType"]) for c in mine] == [
        ("User", "CREATED", "USER_CREATED"),
        ("User", "UPDATED", "USER_ACTIVATION_CODE_GENERATED"),  # a date-of-birth user gets a code
        ("User", "DELETED", "USER_DELETED"),
    ]
    assert mine[0]["occurredAt"] <= mine[1]["occurredAt"] <= mine[2]["occurredAt"]


async def test_the_cursor_resumes_after_the_last_change_seen_and_pages_are_capped(env: Env, org: OrgFixture) -> None:
    before = await changes(env, org, first=500)
    cursor = before["data"]["changes"]["pageInfo"]["endCursor"]
    first_id, second_id = await create_user(env, org), await create_user(env, org)
    page = await changes(env, org, after=cursor, first=1)
    assert "errors" not in page, page
    edges = page["data"]["changes"]["edges"]
    assert [e["node"]["entityId"] for e in edges] == [first_id]
    assert page["data"]["changes"]["pageInfo"]["hasNextPage"] is True
    rest = await all_changes(env, org, after=edges[0]["cursor"])
    assert [(c["entityId"], c["eventType"]) for c in rest] == [
        (first_id, "USER_ACTIVATION_CODE_GENERATED"), (second_id, "USER_CREATED"),
        (second_id, "USER_ACTIVATION_CODE_GENERATED"),
    ]
    empty = await changes(env, org, after=page["data"]["changes"]["pageInfo"]["endCursor"], first=0)
    assert empty["data"]["changes"]["edges"] == []
    too_many = await changes(env, org, first=501)
    assert too_many["errors"][0]["extensions"]["code"] == "BAD_USER_INPUT"


async def test_the_feed_shows_only_the_callers_organisation_whatever_the_cursor(
    env: Env, org: OrgFixture, other_org: OrgFixture,
) -> None:
    start = (await changes(env, other_org, first=500))["data"]["changes"]["pageInfo"]["endCursor"]
    ours = await create_user(env, org)
    theirs = await create_user(env, other_org)
    seen_by_other = await all_changes(env, other_org, after=start)
    assert {c["entityId"] for c in seen_by_other} == {theirs}
    # A cursor from our feed used by the other organisation is only a position in the order.
    our_start = await all_changes(env, org)
    assert ours in [c["entityId"] for c in our_start]
    assert ours not in [c["entityId"] for c in await all_changes(env, other_org)]


async def test_user_administrators_read_the_feed_and_others_are_refused(env: Env, org: OrgFixture) -> None:
    await create_user(env, org)
    allowed = await changes(env, org, Role.USER_ADMINISTRATOR, first=5)
    assert "errors" not in allowed and allowed["data"]["changes"]["edges"], allowed
    for role in (Role.RIGHTS_ADMINISTRATOR, Role.USER):
        refused = await changes(env, org, role, first=5)
        assert refused["data"] is None and refused["errors"][0]["extensions"]["code"] == "FORBIDDEN", refused
    anonymous = await env.gql(CHANGES, {"first": 5})
    assert anonymous["errors"][0]["extensions"]["code"] == "UNAUTHENTICATED"


async def test_a_malformed_cursor_is_bad_input_and_an_old_one_is_expired(env: Env, org: OrgFixture) -> None:
    for bad in ("nonsense", str(to_global_id("Change", "1.x.3")), str(to_global_id("User", "1.2.3")),
                str(to_global_id("Change", f"1.{2**64}.3")),
                str(to_global_id("Change", f"1.1.{10**12}")), str(to_global_id("Change", f"1.1.{10**18}"))):
        body = await changes(env, org, after=bad, first=5)
        assert body["data"] is None and body["errors"][0]["extensions"]["code"] == "BAD_USER_INPUT", (bad, body)
    old = int((dt.datetime.now(dt.UTC) - dt.timedelta(days=env.settings.change_feed_retention_days + 1)).timestamp())
    body = await changes(env, org, after=str(to_global_id("Change", f"0.1.{old}")), first=5)
    assert body["data"] is None and body["errors"][0]["extensions"]["code"] == "CURSOR_EXPIRED", body
    recent = int(dt.datetime.now(dt.UTC).timestamp())
    body = await changes(env, org, after=str(to_global_id("Change", f"0.1.{recent}")), first=5)
    assert "errors" not in body, body


async def test_the_feed_carries_no_names(env: Env, org: OrgFixture) -> None:
    await create_user(env, org, first_name="Zebulonia")
    body = await changes(env, org, first=500)
    assert "errors" not in body and "Zebulonia" not in str(body) and "Feedsen" not in str(body)


async def test_a_mutation_that_fails_writes_no_change(env: Env, org: OrgFixture) -> None:
    start = (await changes(env, org, first=500))["data"]["changes"]["pageInfo"]["endCursor"]
    body = await env.gql(CREATE_USER, {"input": {"firstName": "A", "lastName": "B", "email": "not-an-email",
                                                 "dateOfBirth": "1985-04-12"}},
                         token=token_for(env, org, Role.USER_ADMINISTRATOR))
    assert body["data"]["createUser"]["userErrors"], body
    assert await all_changes(env, org, after=start) == []


def test_every_history_kind_is_a_change_with_a_known_event_type() -> None:
    for type_ in ActivityType:
        activity = Activity(org_id=1, occurred_at=dt.datetime.now(dt.UTC), actor_id=None, actor_name="", type=type_.value,
                            target_user_id=uuid.uuid4(), target_name=None, summary="", details={})
        change = change_of(activity)
        assert change is not None and change.event_type in EVENT_NAMES, type_
        assert change.kind in ChangeKind


def test_a_certificate_change_names_the_certificate_and_settings_the_organisation() -> None:
    cert = uuid.uuid4()
    revoked = Activity(org_id=1, occurred_at=dt.datetime.now(dt.UTC), actor_id=None, actor_name="",
                       type=ActivityType.CERTIFICATE_REVOKED.value, target_user_id=uuid.uuid4(), target_name=None,
                       summary="", details={"certificateId": str(cert)})
    change = change_of(revoked)
    assert change is not None and (change.entity_type, change.entity_id, change.event_type) == (
        "Certificate", str(cert), "certificate.revoked")
    settings = Activity(org_id=1, occurred_at=dt.datetime.now(dt.UTC), actor_id=None, actor_name="",
                        type=ActivityType.SETTINGS_CHANGED.value, target_user_id=None, target_name=None,
                        summary="", details={})
    change = change_of(settings)
    assert change is not None and (change.entity_type, change.entity_id) == ("Organisation", "")


async def test_a_change_committed_late_is_not_passed_by_the_cursor(env: Env, org: OrgFixture) -> None:
    """PostgreSQL: a transaction that began earlier and commits later still comes after the cursor
    (positions are ordered by transaction; the feed waits for older transactions still running)."""
    if env.backend != "postgresql":
        pytest.skip("SQLite has one writer at a time: positions are in commit order there")
    start = (await changes(env, org, first=500))["data"]["changes"]["pageInfo"]["endCursor"]
    async with env.services.unit_of_work(org.actor(Role.USER_ADMINISTRATOR)) as uow:
        early = await domain_create_user(uow, NewUser(first_name="Early", last_name="Bird",
                                                      email=f"{uuid.uuid4().hex[:10]}@example.dk",
                                                      date_of_birth="1985-04-12"))
        late = await create_user(env, org)  # begins after, commits first
        meanwhile = await all_changes(env, org, after=start)
        assert meanwhile == [], meanwhile  # held back behind the open, older transaction
        await uow.commit()
    seen = await all_changes(env, org, after=start)
    order = list(dict.fromkeys(c["entityId"] for c in seen))
    assert order == [str(to_global_id("User", early.user.id)), late]


async def test_changes_older_than_the_retention_are_pruned_and_newer_ones_kept(env: Env, org: OrgFixture) -> None:
    from sqlalchemy import insert

    from app.entrypoints.workers.webhooks import prune
    from app.persistence.tables.webhooks import change_log

    now = dt.datetime.now(dt.UTC)
    retention = dt.timedelta(days=env.settings.change_feed_retention_days)
    async with env.engine.begin() as conn:
        for age, marker in ((retention + dt.timedelta(hours=1), "old"), (retention - dt.timedelta(hours=1), "kept")):
            await conn.execute(insert(change_log).values(
                org_id=org.org_id, txid=0, occurred_at=now - age, event_type="user.updated", entity_type="User",
                entity_id=f"{marker}-{uuid.uuid4().hex[:8]}", kind="UPDATED"))
    await prune(env.services, now)
    raws = [_raw(c["entityId"]) for c in await all_changes(env, org)]
    assert not any("old-" in r for r in raws), raws
    assert any("kept-" in r for r in raws), raws


async def test_pruning_commits_slice_by_slice_until_nothing_is_left(
    env: Env, org: OrgFixture, monkeypatch: pytest.MonkeyPatch
) -> None:
    from sqlalchemy import insert

    from app.entrypoints.workers import webhooks as worker
    from app.persistence.changes import prune_changes
    from app.persistence.tables.webhooks import change_log

    now = dt.datetime.now(dt.UTC)
    old = now - dt.timedelta(days=env.settings.change_feed_retention_days, hours=2)
    async with env.engine.begin() as conn:
        await conn.execute(insert(change_log), [
            {"org_id": org.org_id, "txid": 0, "occurred_at": old, "event_type": "user.updated", "entity_type": "User",
             "entity_id": f"slice-{i}", "kind": "UPDATED"} for i in range(3)])
    slices: list[int] = []

    async def one_at_a_time(conn: Any, older_than: dt.datetime) -> int:
        slices.append(await prune_changes(conn, older_than, slice_size=1))
        return slices[-1]

    monkeypatch.setattr(worker, "prune_changes", one_at_a_time)
    assert await worker.prune(env.services, now) >= 3
    assert slices[-1] == 0 and len(slices) >= 4  # one transaction per slice, the last finds nothing
    assert await env.count_rows(change_log, change_log.c.occurred_at < now - dt.timedelta(
        days=env.settings.change_feed_retention_days)) == 0


def _raw(global_id: str) -> str:
    import base64

    return base64.urlsafe_b64decode(global_id + "=" * (-len(global_id) % 4)).decode()
