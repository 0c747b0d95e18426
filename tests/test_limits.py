"""Abuse limits: depth, aliases, tokens, query cost, the per-principal cost budget, introspection,
and masked unexpected errors. Every response reports its cost."""

from __future__ import annotations

import contextlib
import dataclasses
import logging
from collections.abc import Iterator
from typing import Any

import pytest

from app.domain.common.principal import Role
from app.persistence.budgets import budget_store
from app.schema import schema
from app.schema.runtime.query_cost import DocumentWalk
from tests.conftest import Env, token_for
from tests.factories import OrgFixture

PAGE = """
query($n: Int) { users(first: $n) { totalCount edges { node { id name authenticators
  history(first: 5) { edges { node { type } } } } } } }
"""


@contextlib.contextmanager
def limits(env: Env, **changes: Any) -> Iterator[None]:
    services = env.services
    before_limits, before_budgets = services.limits, services.cost_budgets
    services.limits = dataclasses.replace(before_limits, **changes)
    services.cost_budgets = budget_store(services.engine)
    try:
        yield
    finally:
        services.limits, services.cost_budgets = before_limits, before_budgets


def code(body: dict[str, Any]) -> str:
    return body["errors"][0]["extensions"]["code"]


def test_the_cost_of_a_page_grows_with_its_page_size() -> None:
    from graphql import parse

    def cost(n: int) -> int:
        doc = parse(PAGE)
        return DocumentWalk(schema._schema, doc, {"n": n}, doc.definitions[0]).analyse().cost  # type: ignore[arg-type]

    # users (1) + edges (n) + node (n) + history (n) + its edges (5n) + their nodes (5n)
    assert cost(10) == 1 + 10 + 10 + 10 + 50 + 50
    assert cost(100) == 10 * (cost(10) - 1) + 1


async def test_every_response_reports_requested_and_actual_cost(env: Env, org: OrgFixture) -> None:
    body = await env.gql(PAGE, {"n": 10}, token=token_for(env, org, Role.USER_ADMINISTRATOR), raw=True)
    cost = body["extensions"]["cost"]
    assert cost["requested"] == 131
    assert 1 <= cost["actual"] <= cost["requested"]
    assert cost["limit"] == env.services.limits.max_cost
    assert cost["remaining"] <= cost["budgetPerMinute"]


async def test_too_deep_too_many_aliases_too_many_tokens_and_too_costly_queries_are_refused(
    env: Env, org: OrgFixture
) -> None:
    token = token_for(env, org, Role.USER_ADMINISTRATOR)
    with limits(env, max_depth=3):
        deep = await env.gql("{ users { edges { node { history { edges { node { type } } } } } } }", token=token)
        assert code(deep) == "QUERY_TOO_DEEP" and deep["data"] is None
    with limits(env, max_aliases=2):
        aliased = await env.gql("{ a: viewer { roles } b: viewer { roles } c: viewer { roles } }", token=token)
        assert code(aliased) == "TOO_MANY_ALIASES"
    with limits(env, max_tokens=10):
        long = await env.gql("{ viewer { roles user { id name email phone status createdAt anonymous } } }", token=token)
        assert code(long) == "QUERY_TOO_LARGE"
    with limits(env, max_cost=100):
        costly = await env.gql(PAGE, {"n": 500}, token=token, raw=True)
        assert code(costly) == "QUERY_TOO_COSTLY"
        assert costly["errors"][0]["extensions"]["cost"]["requested"] > 100
        cheap = await env.gql(PAGE, {"n": 5}, token=token)
        assert "errors" not in cheap


async def test_a_principal_over_its_cost_budget_gets_429_with_retry_after(env: Env, org: OrgFixture) -> None:
    """The requested cost must fit in what is left; what is charged is the actual cost."""
    token = token_for(env, org, Role.USER_ADMINISTRATOR)
    other = token_for(env, org, Role.ORGANISATION_ADMINISTRATOR)

    async def page(who: str) -> Any:
        return await env.client.post("/graphql", json={"query": PAGE, "variables": {"n": 50}},
                                     headers={"Authorization": f"Bearer {who}"})

    with limits(env, budget_per_minute=700, max_cost=1000):
        statuses = []
        for _ in range(20):
            response = await page(token)
            statuses.append(response.status_code)
            if response.status_code == 429:
                break
        assert statuses[0] == 200 and statuses[-1] == 429, statuses
        assert int(response.headers["retry-after"]) >= 1
        assert code(response.json()) == "RATE_LIMITED"
        assert response.json()["data"] is None
        # Budgets are per principal: someone else is not affected.
        assert (await page(other)).status_code == 200


async def test_introspection_can_be_switched_off(env: Env, org: OrgFixture) -> None:
    token = token_for(env, org, Role.USER)
    assert "errors" not in await env.gql("{ __schema { queryType { name } } }", token=token)
    with limits(env, introspection=False):
        body = await env.gql("{ __schema { queryType { name } } }", token=token)
        assert code(body) == "INTROSPECTION_DISABLED"


async def test_unexpected_errors_are_masked_with_a_correlation_id_and_logged(
    env: Env, org: OrgFixture, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    from app.persistence import organisations

    async def broken(*args: object) -> Any:
        raise RuntimeError("secret internal detail")

    monkeypatch.setattr(organisations, "load_organisation", broken)
    with caplog.at_level(logging.ERROR, logger="app.graphql"):
        body = await env.gql("{ organisation { cvr } }", token=token_for(env, org, Role.USER))
    error = body["errors"][0]
    assert error["extensions"]["code"] == "INTERNAL"
    assert "secret internal detail" not in str(body)
    correlation = error["extensions"]["correlationId"]
    assert any(correlation in r.getMessage() and r.exc_info for r in caplog.records)
