"""A valid token is only as good as the person behind it."""

from __future__ import annotations

import uuid

from app.adapters.jwt import sign_token
from app.domain.common.principal import Role
from tests.conftest import Env, token_for
from tests.factories import OrgFixture

VIEWER = "query { viewer { roles } }"
DEACTIVATE = """
mutation($id: ID!) { deactivateUser(input: {userId: $id}) { user { status } userErrors { code } } }
"""
DELETE = "mutation($id: ID!) { deleteUser(input: {userId: $id}) { user { status } userErrors { code } } }"
REACTIVATE = "mutation($id: ID!) { reactivateUser(input: {userId: $id}) { user { status } userErrors { code } } }"
USER_ID = "query($uuid: String!) { users(filter: {search: $uuid}) { edges { node { id } } } }"


async def _global_id(env: Env, org: OrgFixture, user_id: uuid.UUID) -> str:
    body = await env.gql(USER_ID, {"uuid": str(user_id)}, token=token_for(env, org, Role.USER_ADMINISTRATOR))
    return body["data"]["users"]["edges"][0]["node"]["id"]


async def test_a_deactivated_person_cannot_act_until_reactivated(env: Env, org: OrgFixture) -> None:
    admin = token_for(env, org, Role.USER_ADMINISTRATOR)
    person = token_for(env, org, Role.USER)
    gid = await _global_id(env, org, org.people[Role.USER])
    assert (await env.gql(DEACTIVATE, {"id": gid}, token=admin))["data"]["deactivateUser"]["userErrors"] == []

    refused = await env.gql(VIEWER, token=person)
    assert refused["data"] is None
    assert refused["errors"][0]["extensions"]["code"] == "UNAUTHENTICATED"

    assert (await env.gql(REACTIVATE, {"id": gid}, token=admin))["data"]["reactivateUser"]["userErrors"] == []
    assert (await env.gql(VIEWER, token=person))["data"]["viewer"]["roles"] == ["USER"]


async def test_a_deleted_person_cannot_act(env: Env, org: OrgFixture) -> None:
    admin = token_for(env, org, Role.USER_ADMINISTRATOR)
    gid = await _global_id(env, org, org.people[Role.RIGHTS_ADMINISTRATOR])
    assert (await env.gql(DELETE, {"id": gid}, token=admin))["data"]["deleteUser"]["userErrors"] == []
    refused = await env.gql(VIEWER, token=token_for(env, org, Role.RIGHTS_ADMINISTRATOR))
    assert refused["errors"][0]["extensions"]["code"] == "UNAUTHENTICATED"


async def test_a_token_for_a_person_of_another_organisation_is_refused(
    env: Env, org: OrgFixture, other_org: OrgFixture
) -> None:
    foreign_person = other_org.people[Role.USER_ADMINISTRATOR]
    token = sign_token(env.settings, foreign_person, org.cvr, [Role.USER_ADMINISTRATOR])
    refused = await env.gql(VIEWER, token=token)
    assert refused["data"] is None
    assert refused["errors"][0]["extensions"]["code"] == "UNAUTHENTICATED"
    unknown = sign_token(env.settings, uuid.uuid4(), org.cvr, [Role.USER_ADMINISTRATOR])
    assert (await env.gql(VIEWER, token=unknown))["errors"][0]["extensions"]["code"] == "UNAUTHENTICATED"
