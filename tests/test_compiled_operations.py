"""Compiled operations (issue 18): the dashboard's documents run from a plan, with the general
executor's answers (the `env` app verifies every planned query against it), and hand over to it for
whatever a plan does not cover."""

from __future__ import annotations

import uuid

import pytest

from app.domain.common.principal import Role
from app.schema.runtime.plans import PLANS
from tests.conftest import Env, token_for
from tests.factories import OrgFixture

pytestmark = pytest.mark.asyncio

DASHBOARD = """query Dashboard($first: Int!) {
  users(first: $first) {
    totalCount
    pageInfo { hasNextPage endCursor }
    edges { cursor node {
      id uuid firstName lastName email phone reference cprMasked dateOfBirth identification status
      pNumber seNumber canSign createdAt lastLoginAt __typename
      authenticators rights roles
      groups { id name kind }
      certificates { serialNumber status notAfter }
      history(first: 5) { totalCount edges { cursor node { type occurredAt actorName } } pageInfo { hasNextPage } }
    } }
  }
}"""


async def test_dashboard_runs_from_its_plan(env: Env, org: OrgFixture) -> None:
    token = token_for(env, org, Role.ORGANISATION_ADMINISTRATOR)
    before, completed = PLANS.hits, PLANS.completed
    first = await env.gql(DASHBOARD, {"first": 10}, token=token)
    second = await env.gql(DASHBOARD, {"first": 10}, token=token)
    assert "errors" not in first, first
    assert first == second
    assert PLANS.hits >= before + 1
    assert PLANS.completed == completed + 2  # both answered by the plan (and verified)
    users = first["data"]["users"]
    assert users["totalCount"] >= len(org.people)
    assert {e["node"]["uuid"] for e in users["edges"]} >= {str(u) for u in org.people.values()}


async def _planned(query: str) -> bool:
    from app.schema.runtime.plans import PLANS, Plan

    return any(isinstance(p, Plan) for (text, _), p in PLANS._plans.items() if text == query)


async def test_roles_below_the_root_hand_over_to_the_executor(env: Env, org: OrgFixture) -> None:
    """A rights administrator may list users but not read their certificates or history: the plan is
    not allowed for that role set, so the general executor answers - FORBIDDEN at those paths, the
    rest of the page as usual."""
    token = token_for(env, org, Role.RIGHTS_ADMINISTRATOR)
    handovers, completed = PLANS.handovers, PLANS.completed
    body = await env.gql(DASHBOARD, {"first": 5}, token=token)
    codes = {e["extensions"]["code"] for e in body.get("errors", [])}
    paths = {tuple(p for p in e["path"] if isinstance(p, str)) for e in body.get("errors", [])}
    assert codes == {"FORBIDDEN"}, body
    assert ("users", "edges", "node", "certificates") in paths
    assert body["data"]["users"]["edges"]  # the page itself is there
    assert PLANS.handovers == handovers + 1 and PLANS.completed == completed


async def test_a_refused_root_and_bad_arguments_hand_over(env: Env, org: OrgFixture) -> None:
    plain = await env.gql(DASHBOARD, {"first": 5}, token=token_for(env, org, Role.USER))
    assert plain["data"] is None and plain["errors"][0]["extensions"]["code"] == "FORBIDDEN"
    anonymous = await env.gql(DASHBOARD, {"first": 5})
    assert anonymous["errors"][0]["extensions"]["code"] == "UNAUTHENTICATED"
    admin = token_for(env, org, Role.USER_ADMINISTRATOR)
    too_many = await env.gql("query($n: Int) { users(first: $n) { edges { node { id } } } }", {"n": 501}, token=admin)
    assert too_many["errors"][0]["extensions"]["code"] == "BAD_USER_INPUT"
    bad_cursor = await env.gql("query($a: String) { users(first: 2, after: $a) { edges { node { id } } } }",
                               {"a": "not-a-cursor"}, token=admin)
    assert bad_cursor["errors"][0]["extensions"] == {"code": "BAD_USER_INPUT", "field": "after"}


async def test_documents_a_plan_does_not_cover_are_not_planned(env: Env, org: OrgFixture) -> None:
    admin = token_for(env, org, Role.USER_ADMINISTRATOR)
    with_directive = "query($x: Boolean!) { users(first: 2) { edges { node { id email @include(if: $x) } } } }"
    body = await env.gql(with_directive, {"x": False}, token=admin)
    assert "errors" not in body and all("email" not in e["node"] for e in body["data"]["users"]["edges"])
    assert not await _planned(with_directive)
    mutation = 'mutation { rejectUserAccountRequest(input: {id: "x"}) { userErrors { code } } }'
    await env.gql(mutation, token=admin)
    assert not await _planned(mutation)
    covered = "{ users(first: 2) { edges { node { id groups { name } } } } }"
    await env.gql(covered, token=admin)
    assert await _planned(covered)


async def test_anonymous_users_on_the_planned_page(env: Env, org: OrgFixture) -> None:
    from tests.test_user_groups import active_user

    hidden = await active_user(env, org, "Skjult", p_number=org.p_numbers[0], anonymous=True)
    query = """query($q: String) { users(first: 5, filter: {search: $q}) { edges { node {
      uuid firstName lastName email anonymous groups { kind } history(first: 2) { edges { node { type } } }
    } } } }"""
    completed = PLANS.completed
    body = await env.gql(query, {"q": hidden["uuid"]}, token=token_for(env, org, Role.USER_ADMINISTRATOR))
    assert "errors" not in body, body
    assert PLANS.completed == completed + 1
    nodes = [e["node"] for e in body["data"]["users"]["edges"]]
    # administrators see who an anonymous user is (everyone else reaches no users page at all)
    assert nodes == [{"uuid": hidden["uuid"], "firstName": "Skjult", "lastName": "Gruppe", "email": hidden["email"],
                      "anonymous": True, "groups": [{"kind": "SYSTEM"}], "history": nodes[0]["history"]}]
    assert [e["node"]["type"] for e in nodes[0]["history"]["edges"]] == ["ACTIVATION_CODE_GENERATED", "USER_CREATED"]


async def test_loads_abandoned_by_a_failed_sibling_leave_no_connection_and_no_error_log(
    env: Env, org: OrgFixture, caplog: pytest.LogCaptureFixture
) -> None:
    """A root field that fails while its sibling's page is still loading relations: the loads, left
    behind when the operation ends, find the read session closed (app.persistence.read_session):
    no connection is opened again, and nothing is logged as an error."""
    import asyncio
    import gc
    import logging

    query = '{ a: users { edges { node { authenticators certificates { uuid } } } } b: users(filter: {right: "x"}) { totalCount } }'
    pool = env.engine.sync_engine.pool
    before = pool.checkedout()
    with caplog.at_level(logging.WARNING):
        body = await env.gql(query, token=token_for(env, org, Role.USER_ADMINISTRATOR))
        await asyncio.sleep(0.1)
        gc.collect()
        await asyncio.sleep(0)
    assert [e["extensions"]["code"] for e in body["errors"]] == ["BAD_USER_INPUT"]
    for _ in range(100):  # background jobs (the outbox, every 0.1 s) hold one now and then
        if pool.checkedout() <= before:
            break
        await asyncio.sleep(0.02)
    assert pool.checkedout() <= before
    assert not [r for r in caplog.records if r.levelno >= logging.ERROR], caplog.text


async def test_a_document_of_several_operations_needs_the_operation_name(env: Env, org: OrgFixture) -> None:
    """The specification's GetOperation (found by the differential test: Strawberry ran the first one)."""
    document = "query A { users(first: 1) { totalCount } } query B { __typename }"
    token = token_for(env, org, Role.USER_ADMINISTRATOR)
    body = await env.gql(document, token=token)
    assert body["data"] is None
    assert [e["extensions"]["code"] for e in body["errors"]] == ["OPERATION_NAME_REQUIRED"]
    response = await env.client.post("/graphql", json={"query": document},
                                     headers={"Authorization": f"Bearer {token}",
                                              "Accept": "application/graphql-response+json"})
    assert response.status_code == 400 and "data" not in response.json()
    named = await env.client.post("/graphql", json={"query": document, "operationName": "B"},
                                  headers={"Authorization": f"Bearer {token}"})
    assert named.json()["data"] == {"__typename": "Query"} and "errors" not in named.json()
    single = await env.gql("query { __typename }", token=token)
    assert single == {"data": {"__typename": "Query"}}


async def test_a_document_is_planned_when_it_is_seen_the_second_time(env: Env, org: OrgFixture) -> None:
    """COMPILED_OPERATIONS=on: a document sent once costs what it did before plans (the general
    executor answers, only a mark is kept); its second arrival makes and runs the plan. (The suite's
    own app verifies, and plans on first sight so that every query is compared.)"""
    from tests.differential import app_client, app_settings

    query = f"{{ users(first: 3) {{ totalCount edges {{ node {{ id groups {{ name }} }} }} }} }} # {uuid.uuid4()}"
    headers = {"Authorization": f"Bearer {token_for(env, org, Role.USER_ADMINISTRATOR)}"}
    async with app_client(app_settings(env.settings, "on")) as client:
        completed = PLANS.completed
        first = (await client.post("/graphql", json={"query": query}, headers=headers)).json()
        assert PLANS.completed == completed and not await _planned(query)
        second = (await client.post("/graphql", json={"query": query}, headers=headers)).json()
        assert PLANS.completed == completed + 1 and await _planned(query)
    assert first["data"] == second["data"] and "errors" not in second
