"""The first things a client does: who am I, what is my organisation."""

from __future__ import annotations

from app.domain.common.principal import Role
from tests.conftest import Env, token_for
from tests.factories import OrgFixture

VIEWER = """
query { viewer { roles user { uuid name } organisation { cvr name pUnits { pNumber } seNumbers { seNumber } } } }
"""


async def test_viewer_shows_the_caller_and_their_organisation(env: Env, org: OrgFixture) -> None:
    body = await env.gql(VIEWER, token=token_for(env, org, Role.USER_ADMINISTRATOR))
    assert "errors" not in body, body
    viewer = body["data"]["viewer"]
    assert viewer["roles"] == ["USER_ADMINISTRATOR"]
    assert viewer["user"]["uuid"] == str(org.people[Role.USER_ADMINISTRATOR])
    assert viewer["organisation"]["cvr"] == org.cvr
    assert sorted(p["pNumber"] for p in viewer["organisation"]["pUnits"]) == sorted(org.p_numbers)


async def test_no_token_is_unauthenticated(env: Env) -> None:
    body = await env.gql(VIEWER)
    assert body["data"] is None
    assert body["errors"][0]["extensions"]["code"] == "UNAUTHENTICATED"


async def test_healthz_reports_the_database(env: Env) -> None:
    response = await env.client.get("/healthz")
    assert response.status_code == 200
    assert response.json() == {"status": "ok", "database": "ok"}
