"""/metrics stays bounded whatever operation names clients send: the label is the root field, which
the schema bounds, not the client's name."""

from __future__ import annotations

import random
import re
import string

from prometheus_client.parser import text_string_to_metric_families

from app.domain.common.principal import Role
from tests.conftest import Env, token_for
from tests.factories import OrgFixture


def _label_values(text: str, metric: str, label: str) -> set[str]:
    return {
        sample.labels[label]
        for family in text_string_to_metric_families(text) if family.name == metric
        for sample in family.samples if label in sample.labels
    }


def _random_name(rng: random.Random) -> str:
    return rng.choice(string.ascii_letters) + "".join(rng.choices(string.ascii_letters + string.digits, k=15))


async def test_four_hundred_random_operation_names_leave_the_label_set_bounded(env: Env, org: OrgFixture) -> None:
    rng = random.Random(13)
    token = token_for(env, org, Role.USER_ADMINISTRATOR)
    before = (await env.client.get("/metrics")).text
    names = [_random_name(rng) for _ in range(400)]
    for i, name in enumerate(names):
        if i % 4 == 0:  # a named operation, with a token
            body = {"query": f"query {name} {{ viewer {{ roles }} }}", "operationName": name}
        elif i % 4 == 1:  # no token
            body = {"query": f"query {name} {{ __typename }}"}
        elif i % 4 == 2:  # an operation name the document does not have
            body = {"query": "query Known { __typename }", "operationName": name}
        else:  # a root field the schema does not have
            body = {"query": f"mutation {name} {{ {name} }}"}
        headers = {"Authorization": f"Bearer {token}"} if i % 4 == 0 else {}
        response = await env.client.post("/graphql", json=body, headers=headers)
        assert response.status_code < 500, response.text

    text = (await env.client.get("/metrics")).text
    values = _label_values(text, "gateway_graphql_requests", "operation")
    assert values, text[:2000]
    new = values - _label_values(before, "gateway_graphql_requests", "operation")
    # query:viewer, query:__typename, mutation:other, invalid: whatever the 400 names were.
    assert len(new) <= 4, sorted(new)
    assert all(re.fullmatch(r"invalid|(query|mutation|subscription):\w+", v) for v in values), sorted(values)
    assert not any(name in text for name in names)
    assert _label_values(text, "gateway_graphql_seconds", "operation") <= values


async def test_the_label_names_the_root_field(env: Env, org: OrgFixture) -> None:
    token = token_for(env, org, Role.USER_ADMINISTRATOR)
    await env.gql("query Whatever { users(first: 1) { totalCount } viewer { roles } }", token=token)
    text = (await env.client.get("/metrics")).text
    assert "query:users" in _label_values(text, "gateway_graphql_requests", "operation")
    assert "Whatever" not in text
