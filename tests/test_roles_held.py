"""The roles that count are the ones the gateway holds for a person (user_roles); a token's `roles`
claim can only narrow them. A role taken away stops working with the next request, over HTTP, the
CSV exports and an open WebSocket, although the token still claims it. Every active person holds USER."""

from __future__ import annotations

from sqlalchemy import delete

from app.adapters.jwt import sign_token
from app.domain.common.principal import Role
from app.persistence.tables.users import user_roles
from tests.conftest import Env, OrgFixture, token_for

USERS = "query { users(first: 1) { totalCount } }"
ME = "query { viewer { roles user { uuid } } }"


async def _take_away(env: Env, org: OrgFixture, role: Role) -> None:
    async with env.engine.begin() as conn:
        await conn.execute(delete(user_roles).where(user_roles.c.user_id == org.people[role], user_roles.c.role == role.value))


async def test_a_role_taken_away_stops_working_at_once_although_the_token_claims_it(env: Env, org: OrgFixture) -> None:
    token = token_for(env, org, Role.USER_ADMINISTRATOR)
    before = await env.gql(USERS, token=token)
    assert "errors" not in before and before["data"]["users"]["totalCount"] >= 1
    export = await env.client.get("/exports/activities.csv", headers={"Authorization": f"Bearer {token}"})
    assert export.status_code == 200
    await _take_away(env, org, Role.USER_ADMINISTRATOR)
    after = await env.gql(USERS, token=token)
    assert after["errors"][0]["extensions"]["code"] == "FORBIDDEN"
    export = await env.client.get("/exports/activities.csv", headers={"Authorization": f"Bearer {token}"})
    assert export.status_code == 403
    me = await env.gql(ME, token=token)  # still a user of the organisation
    assert "errors" not in me, me
    assert me["data"]["viewer"] == {"roles": [], "user": {"uuid": str(org.people[Role.USER_ADMINISTRATOR])}}


async def test_a_token_cannot_add_a_role_the_gateway_does_not_hold(env: Env, org: OrgFixture) -> None:
    plain = sign_token(env.settings, org.people[Role.USER], org.cvr,
                       [Role.USER, Role.USER_ADMINISTRATOR, Role.ORGANISATION_ADMINISTRATOR])
    refused = await env.gql(USERS, token=plain)
    assert refused["errors"][0]["extensions"]["code"] == "FORBIDDEN"
    settings = await env.gql("mutation { updateOrganisationSettings(input: {userCreation: {anonymityAllowed: false}})"
                             " { userErrors { code } } }", token=plain)
    assert settings["errors"][0]["extensions"]["code"] == "FORBIDDEN"


async def test_a_token_narrows_the_roles_held(env: Env, org: OrgFixture) -> None:
    # The organisation administrator asks with a token that claims only USER: an ordinary user's view.
    narrow = sign_token(env.settings, org.people[Role.ORGANISATION_ADMINISTRATOR], org.cvr, [Role.USER])
    refused = await env.gql(USERS, token=narrow)
    assert refused["errors"][0]["extensions"]["code"] == "FORBIDDEN"
    assert (await env.gql(ME, token=narrow))["data"]["viewer"]["roles"] == ["USER"]
