"""Compiled operations (issue 18): the dashboard's documents run from a plan, with the general
executor's answers (the `env` app verifies every planned query against it), and hand over to it for
whatever a plan does not cover."""

from __future__ import annotations

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
