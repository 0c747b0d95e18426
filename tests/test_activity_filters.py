"""The activity log for reporting (issue 17): each entry carries the id of the request that wrote
it and its outcome; `activities` reads oldest first too, and by certificate or power of attorney
(by group already); totals follow the filters."""

from __future__ import annotations

import uuid
from typing import Any

from app.domain.activity.subjects import subjects_of
from app.domain.common.principal import Role
from tests.conftest import Env, OrgFixture, token_for
from tests.test_certificates import CANCEL, ORDER_USER, gid, order_user, payload, ua
from tests.test_powers_of_attorney import CREATE as CREATE_POA
from tests.test_powers_of_attorney import REVOKE as REVOKE_POA
from tests.test_powers_of_attorney import give

ACTIVITIES = """query($first: Int, $after: String, $filter: ActivityFilterInput, $order: ActivityOrder) {
  activities(first: $first, after: $after, filter: $filter, order: $order) {
    totalCount pageInfo { hasNextPage endCursor }
    edges { node { id type summary requestId outcome } } } }"""


async def log(env: Env, org: OrgFixture, **variables: Any) -> dict[str, Any]:
    body = await env.gql(ACTIVITIES, variables, token=token_for(env, org, Role.USER_ADMINISTRATOR))
    assert "errors" not in body, body
    return body["data"]["activities"]


def types_of(page: dict[str, Any]) -> list[str]:
    return [e["node"]["type"] for e in page["edges"]]


async def test_an_entry_carries_the_request_id_it_was_written_under_and_its_outcome(env: Env, org: OrgFixture) -> None:
    mine = f"report-{uuid.uuid4().hex}"
    response = await env.client.post(
        "/graphql", json={"query": ORDER_USER, "variables": {"input": {"userId": gid("User", org.people[Role.USER])}}},
        headers={"Authorization": f"Bearer {ua(env, org)}", "X-Request-ID": mine},
    )
    assert response.status_code == 200 and response.headers["x-request-id"] == mine
    assert response.json()["data"]["orderUserCertificate"]["userErrors"] == []
    newest = (await log(env, org, first=1))["edges"][0]["node"]
    assert newest["type"] == "CERTIFICATE_ORDERED"
    assert newest["requestId"] == mine and newest["outcome"] == "SUCCEEDED"

    # Without a header the gateway's own id, the one it answered with (and logged).
    response = await env.client.post(
        "/graphql", json={"query": ORDER_USER, "variables": {"input": {"userId": gid("User", org.people[Role.USER])}}},
        headers={"Authorization": f"Bearer {ua(env, org)}"},
    )
    assigned = response.headers["x-request-id"]
    newest = (await log(env, org, first=1))["edges"][0]["node"]
    assert newest["requestId"] == assigned and len(assigned) == 32


async def test_a_refused_change_writes_no_entry(env: Env, org: OrgFixture) -> None:
    before = (await log(env, org))["totalCount"]
    body = await env.gql(ORDER_USER, {"input": {"userId": gid("User", org.people[Role.USER])}},
                         token=token_for(env, org, Role.USER))
    assert body["errors"][0]["extensions"]["code"] == "FORBIDDEN"
    after = await log(env, org)
    assert after["totalCount"] == before
    assert {e["node"]["outcome"] for e in after["edges"]} <= {"SUCCEEDED"}


async def test_activities_read_oldest_first_and_page_that_way(env: Env, org: OrgFixture) -> None:
    for _ in range(3):
        await order_user(env, org, org.people[Role.USER])
    newest_first = await log(env, org, first=100)
    oldest_first = await log(env, org, first=100, order="ASC")
    ids = [e["node"]["id"] for e in newest_first["edges"]]
    assert len(ids) >= 3 and [e["node"]["id"] for e in oldest_first["edges"]] == ids[::-1]
    assert oldest_first["totalCount"] == newest_first["totalCount"] == len(ids)
    walked: list[str] = []
    after = None
    while True:
        page = await log(env, org, first=2, order="ASC", after=after)
        walked += [e["node"]["id"] for e in page["edges"]]
        if not page["pageInfo"]["hasNextPage"]:
            break
        after = page["pageInfo"]["endCursor"]
    assert walked == ids[::-1]
    default = await log(env, org, first=100, order="DESC")
    assert [e["node"]["id"] for e in default["edges"]] == ids


async def test_activities_of_one_certificate(env: Env, org: OrgFixture) -> None:
    holder = org.people[Role.USER]
    first = await order_user(env, org, holder)
    second = await order_user(env, org, holder)
    payload(await env.gql(CANCEL, {"input": {"certificateId": first["id"]}}, token=ua(env, org)), "cancelCertificateOrder")
    page = await log(env, org, filter={"certificateId": first["id"]}, order="ASC")
    assert types_of(page) == ["CERTIFICATE_ORDERED", "CERTIFICATE_ORDER_CANCELLED"]
    assert page["totalCount"] == 2
    other = await log(env, org, filter={"certificateId": second["id"]})
    assert types_of(other) == ["CERTIFICATE_ORDERED"] and other["totalCount"] == 1
    # combined with another filter
    narrowed = await log(env, org, filter={"certificateId": first["id"], "types": ["CERTIFICATE_ORDERED"]})
    assert types_of(narrowed) == ["CERTIFICATE_ORDERED"] and narrowed["totalCount"] == 1
    # an id of another type, or unknown, matches nothing (no error, nothing revealed)
    assert (await log(env, org, filter={"certificateId": gid("User", holder)}))["totalCount"] == 0
    assert (await log(env, org, filter={"certificateId": gid("Certificate")}))["totalCount"] == 0


async def test_activities_of_one_power_of_attorney(env: Env, org: OrgFixture, other_org: OrgFixture) -> None:
    oa = token_for(env, org, Role.ORGANISATION_ADMINISTRATOR)
    body = await env.gql(CREATE_POA, give(org, other_org), token=oa)
    assert "errors" not in body, body
    poa = body["data"]["createPowerOfAttorney"]["powerOfAttorney"]["id"]
    other = await env.gql(CREATE_POA, give(org, other_org, name="Løn"), token=oa)
    assert "errors" not in other, other
    revoked = await env.gql(REVOKE_POA, {"id": poa}, token=oa)
    assert revoked["data"]["revokePowerOfAttorney"]["userErrors"] == []
    page = await log(env, org, filter={"powerOfAttorneyId": poa}, order="ASC")
    assert types_of(page) == ["POWER_OF_ATTORNEY_CREATED", "POWER_OF_ATTORNEY_REVOKED"]
    assert page["totalCount"] == 2
    # the receiving organisation's administrators cannot find our entries by the id they see
    theirs = await env.gql(ACTIVITIES, {"filter": {"powerOfAttorneyId": poa}},
                           token=token_for(env, other_org, Role.USER_ADMINISTRATOR))
    assert "errors" not in theirs, theirs
    assert [e["node"]["type"] for e in theirs["data"]["activities"]["edges"]] == []


async def test_only_the_activity_log_readers_filter_it(env: Env, org: OrgFixture) -> None:
    body = await env.gql(ACTIVITIES, {"order": "ASC"}, token=token_for(env, org, Role.RIGHTS_ADMINISTRATOR))
    assert body["errors"][0]["extensions"]["code"] == "FORBIDDEN"
    bad = await env.gql(ACTIVITIES, {"order": "SIDEWAYS"}, token=ua(env, org))
    assert bad["errors"] and "data" not in bad or bad.get("data") is None


def test_an_entry_is_about_the_certificate_or_power_of_attorney_its_details_name() -> None:
    cert, poa = uuid.uuid4(), uuid.uuid4()
    assert subjects_of("CERTIFICATE_REVOKED", {"certificateId": str(cert), "reason": "KEY_COMPROMISE"}) == (cert, None)
    assert subjects_of("POWER_OF_ATTORNEY_CREATED", {"id": str(poa), "receivingCvr": "12345674"}) == (None, poa)
    assert subjects_of("GROUP_UPDATED", {"id": str(poa)}) == (None, None)
    assert subjects_of("CERTIFICATE_ORDERED", {"certificateId": "not-a-uuid"}) == (None, None)
    assert subjects_of("USER_UPDATED", {}) == (None, None)


async def test_migration_0009_finds_the_subjects_of_entries_written_before_it(env: Env, tmp_path: Any) -> None:
    """Entries from before 0009 get their certificate / power of attorney from their details."""
    import contextlib
    import datetime as dt
    import json

    from sqlalchemy import select, text

    from app.persistence.db import make_engine
    from app.persistence.migrate import upgrade
    from app.persistence.tables.activity import activities as A
    from tests.conftest import _postgres_database

    cert, poa = uuid.uuid4(), uuid.uuid4()
    async with contextlib.AsyncExitStack() as stack:
        if env.backend == "sqlite":
            url = f"sqlite+aiosqlite:///{tmp_path / 'before-0009.db'}"
        else:
            url = await stack.enter_async_context(_postgres_database())
        engine = make_engine(url)
        stack.push_async_callback(engine.dispose)
        await upgrade(engine, "0008")
        now = dt.datetime.now(dt.UTC)
        async with engine.begin() as conn:
            # Plain SQL: the application's writers follow the newest tables (0010 adds columns they set).
            org_id = (await conn.execute(text("INSERT INTO organisations (cvr, name, is_public, created_at)"
                                              " VALUES ('12345674', 'Før ApS', :public, :at) RETURNING id"),
                                         {"public": False, "at": now})).scalar_one()
            for type_, details in (("CERTIFICATE_REVOKED", {"certificateId": str(cert), "reason": "KEY_LOST"}),
                                   ("POWER_OF_ATTORNEY_CREATED", {"id": str(poa)}),
                                   ("GROUP_UPDATED", {"id": str(poa)}),
                                   ("CERTIFICATE_ORDERED", {"certificateId": "x" * 36})):
                await conn.execute(text("INSERT INTO activities (org_id, occurred_at, type, summary, details)"
                                        " VALUES (:org, :at, :type, 's', :details)"),
                                   {"org": org_id, "at": now, "type": type_, "details": json.dumps(details)})
        await upgrade(engine, "0009")
        async with engine.connect() as conn:
            rows = (await conn.execute(select(A.c.type, A.c.target_certificate_id, A.c.target_power_of_attorney_id,
                                              A.c.outcome, A.c.request_id).order_by(A.c.id))).all()
    assert [tuple(r) for r in rows] == [
        ("CERTIFICATE_REVOKED", cert, None, "SUCCEEDED", None),
        ("POWER_OF_ATTORNEY_CREATED", None, poa, "SUCCEEDED", None),
        ("GROUP_UPDATED", None, None, "SUCCEEDED", None),
        ("CERTIFICATE_ORDERED", None, None, "SUCCEEDED", None),
    ]
