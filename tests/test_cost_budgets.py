"""The cost limit counts what a query can return (variable defaults, bounded lists), budgets are
charged by what was returned, shared by the processes of a deployment on PostgreSQL, and
unauthenticated requests are limited per client address."""

from __future__ import annotations

import dataclasses
import uuid
from typing import Any

import httpx

from app.bootstrap import build_services
from app.domain.common.principal import Role
from app.entrypoints.http.app import create_app
from app.persistence.budgets import MemoryBudgets, SharedBudgets, budget_store
from tests.conftest import Env, token_for
from tests.factories import OrgFixture
from tests.test_bulk_import import csv_file, person, run_job
from tests.test_limits import code, limits

PAGES = """query($f: Int = 500) { users(first: $f) { edges { node { id
  history(first: $f) { edges { node { type } } } } } } }"""
LITERAL = PAGES.replace("$f", "500").replace("query(500: Int = 500) ", "")


async def test_a_page_size_given_as_a_variable_default_is_counted(env: Env, org: OrgFixture) -> None:
    token = token_for(env, org, Role.USER_ADMINISTRATOR)
    literal = await env.gql(LITERAL, token=token, raw=True)
    by_default = await env.gql(PAGES, token=token, raw=True)
    assert code(literal) == code(by_default) == "QUERY_TOO_COSTLY"
    assert by_default["errors"][0]["extensions"]["cost"] == literal["errors"][0]["extensions"]["cost"]
    assert by_default["errors"][0]["extensions"]["cost"]["requested"] == 1 + 500 * (2 + 1 + 500 * 2)
    # A variable given overrides its default; null is the resolvers' default page (50).
    small = await env.gql(PAGES, {"f": 3}, token=token, raw=True)
    assert "errors" not in small and small["extensions"]["cost"]["requested"] == 1 + 3 * (3 + 3 * 2)
    null = await env.gql(PAGES, {"f": None}, token=token, raw=True)
    assert null["extensions"]["cost"]["requested"] == 1 + 50 * (3 + 50 * 2)


ROW_ERRORS = """query($id: ID!, $first: Int, $offset: Int! = 0) { bulkJob(id: $id) { errorCount
  all: rowErrors { line column code message } page: rowErrors(first: $first, offset: $offset) { line code } } }"""


async def test_row_errors_are_paged_and_counted_by_their_bound(env: Env, org: OrgFixture) -> None:
    """`rowErrors` returned every bad row (300,030 objects for a requested cost of 60): a page now,
    at most 500, counted by its bound, the rest reached with `offset`."""
    bad = [person(i, **{"E-mail": "not-an-email"}) for i in range(620)]
    job = await run_job(env, org, csv_file(bad))
    token = token_for(env, org, Role.USER_ADMINISTRATOR)
    body = await env.gql(ROW_ERRORS, {"id": job["id"], "first": 20, "offset": 600}, token=token, raw=True)
    found = body["data"]["bulkJob"]
    assert found["errorCount"] >= 620
    assert len(found["all"]) == 500 and found["all"][0].keys() == {"line", "column", "code", "message"}
    assert [e["line"] for e in found["page"]] == list(range(602, 622))  # line 1 is the header
    cost = body["extensions"]["cost"]
    assert cost["requested"] == 1 + 500 + 20 and cost["actual"] <= cost["requested"]
    too_many = await env.gql(ROW_ERRORS, {"id": job["id"], "first": 501}, token=token)
    assert code(too_many) == "BAD_USER_INPUT"


async def test_the_budget_is_charged_what_a_response_held_beyond_what_was_requested(env: Env) -> None:
    """A response larger than its request (a list longer than its planned size) is charged in full:
    the refund was floored at zero, so the budget did not move."""
    budgets = budget_store(env.engine)
    key = f"test:{uuid.uuid4()}"
    assert (await budgets.take(key, 100, 1000)).allowed
    budgets.settle(key, 100 - 950, 1000)  # requested 100, returned 950
    assert not (await budgets.take(key, 100, 1000)).allowed


async def test_unauthenticated_requests_are_limited_per_client_address(env: Env, org: OrgFixture) -> None:
    """Keyed by the socket's peer: a forwarded-for header does not make another client."""
    app = env.client._transport.app  # type: ignore[attr-defined]

    def client_at(address: str) -> httpx.AsyncClient:
        return httpx.AsyncClient(transport=httpx.ASGITransport(app=app, client=(address, 4000)),
                                 base_url="http://testserver")

    first, second = (f"198.51.100.{n}" if env.backend == "sqlite" else f"203.0.113.{n}" for n in (7, 8))
    with limits(env, anonymous_budget_per_minute=20):
        async with client_at(first) as a, client_at(second) as b:
            statuses = []
            for i in range(40):
                response = await a.post("/graphql", json={"query": "{ __typename }"},
                                        headers={"X-Forwarded-For": f"192.0.2.{i}"})
                statuses.append(response.status_code)
                if response.status_code == 429:
                    break
            assert statuses[0] == 200 and statuses[-1] == 429 and len(statuses) <= 25, statuses
            assert code(response.json()) == "RATE_LIMITED" and int(response.headers["retry-after"]) >= 1
            other = await b.post("/graphql", json={"query": "{ __typename }"})
            assert other.status_code == 200 and other.json()["extensions"]["cost"]["budgetPerMinute"] == 20
            token = token_for(env, org, Role.USER)
            signed_in = await a.post("/graphql", json={"query": "{ viewer { roles } }"},
                                     headers={"Authorization": f"Bearer {token}"})
            assert signed_in.status_code == 200


async def test_two_instances_over_one_postgresql_share_a_principals_budget(env: Env, org: OrgFixture) -> None:
    """Two app instances (own services, engine and budget store) over one database: on PostgreSQL a
    principal's budget is spent across both; on SQLite (one process) each instance has its own."""
    settings = dataclasses.replace(env.settings, background_tasks=False)
    second = build_services(settings)
    budget = 600
    token = token_for(env, org, Role.USER_ADMINISTRATOR)
    query = {"query": "{ users(first: 10) { edges { node { id name } } } }"}
    before_limits, before = env.services.limits, env.services.cost_budgets
    try:
        for services in (env.services, second):
            services.limits = dataclasses.replace(services.limits, budget_per_minute=budget)
        env.services.cost_budgets = budget_store(env.engine)
        assert isinstance(second.cost_budgets, SharedBudgets if env.backend == "postgresql" else MemoryBudgets)
        async with httpx.AsyncClient(transport=httpx.ASGITransport(app=create_app(settings, second)),
                                     base_url="http://testserver") as other:
            charged, clients = 0, [env.client, other]
            for i in range(400):
                response = await clients[i % 2].post("/graphql", json=query, headers={"Authorization": f"Bearer {token}"})
                if response.status_code == 429:
                    break
                charged += _actual(response.json())
        # Allowed until the budget was spent (plus what refilled meanwhile and one lease per instance).
        if env.backend == "postgresql":
            assert budget * 0.8 <= charged <= budget * 1.4, charged
        else:
            assert charged >= budget * 1.6, charged
    finally:
        env.services.limits, env.services.cost_budgets = before_limits, before
        await second.engine.dispose()


def _actual(body: dict[str, Any]) -> int:
    return max(int(body["extensions"]["cost"]["actual"]), 1)
