"""Every way a person leaves service keeps an active organisation administrator: deactivating
(now or scheduled), deleting (one by one or by CSV), and approving the anonymity request that
recreates them (the new person must be activated again and holds no role). Assigning the role to a
colleague first lets each of them through."""

from __future__ import annotations

import asyncio
from typing import Any

from app.domain.common.principal import Role
from tests.conftest import Env, token_for
from tests.factories import OrgFixture

OA, UA = Role.ORGANISATION_ADMINISTRATOR, Role.USER_ADMINISTRATOR
LAST = "LAST_ORGANISATION_ADMINISTRATOR"

DEACTIVATE = """mutation($id: ID!, $from: String) { deactivateUser(input: {userId: $id, from: $from}) {
  user { status } userErrors { field code } } }"""
DELETE = "mutation($id: ID!) { deleteUser(input: {userId: $id}) { user { status } userErrors { field code } } }"
ASSIGN = """mutation($id: ID!) { assignRole(input: {userId: $id, role: ORGANISATION_ADMINISTRATOR}) {
  userErrors { field code } } }"""
STATUS = "query($id: ID!) { user(id: $id) { status email roles } }"


async def _gid(env: Env, org: OrgFixture, role: Role) -> str:
    body = await env.gql("{ viewer { user { id } } }", token=token_for(env, org, role))
    return str(body["data"]["viewer"]["user"]["id"])


def _codes(payload: dict[str, Any]) -> list[str]:
    return [e["code"] for e in payload["userErrors"]]


async def test_the_last_organisation_administrator_can_be_neither_deactivated_nor_deleted(
    env: Env, org: OrgFixture
) -> None:
    ua = token_for(env, org, UA)
    oa = await _gid(env, org, OA)
    for variables in ({"id": oa, "from": None}, {"id": oa, "from": "2099-01-01"}):
        body = await env.gql(DEACTIVATE, variables, token=ua)
        assert _codes(body["data"]["deactivateUser"]) == [LAST], body
    body = await env.gql(DELETE, {"id": oa}, token=ua)
    assert _codes(body["data"]["deleteUser"]) == [LAST], body
    after = await env.gql(STATUS, {"id": oa}, token=ua)
    assert after["data"]["user"]["status"] == "ACTIVE" and "ORGANISATION_ADMINISTRATOR" in after["data"]["user"]["roles"]

    # With a second organisation administrator, the first may go.
    colleague = await _gid(env, org, UA)
    assigned = await env.gql(ASSIGN, {"id": colleague}, token=token_for(env, org, OA))
    assert assigned["data"]["assignRole"]["userErrors"] == [], assigned
    body = await env.gql(DELETE, {"id": oa}, token=ua)
    assert body["data"]["deleteUser"] == {"user": {"status": "DELETED"}, "userErrors": []}
    # ... and now the colleague is the last one: they stay.
    body = await env.gql(DEACTIVATE, {"id": colleague, "from": None}, token=token_for(env, org, Role.USER_ADMINISTRATOR))
    assert _codes(body["data"]["deactivateUser"]) == [LAST], body


IMPORT = """mutation($file: Upload!) { importUsers(input: {file: $file, operation: DELETE, dryRun: false}) {
  job { id } userErrors { code } } }"""
JOB = "query($id: ID!) { bulkJob(id: $id) { status rowErrors { line code } result { deleted } } }"


async def test_a_csv_delete_keeps_the_last_organisation_administrator(env: Env, org: OrgFixture) -> None:
    ua = token_for(env, org, UA)
    oa = await _gid(env, org, OA)
    email = (await env.gql(STATUS, {"id": oa}, token=ua))["data"]["user"]["email"]
    uuid = oa_uuid = (await env.gql("{ viewer { user { uuid } } }", token=token_for(env, org, OA)))["data"]["viewer"][
        "user"]["uuid"]
    assert uuid == oa_uuid
    template = (await env.client.get("/templates/users-delete.csv")).content
    header = template.decode("utf-8-sig").splitlines()[0].split(";")
    line = ";".join({"Bruger-UUID": uuid, "E-mail": email}.get(column, "") for column in header)
    content = template + (line + "\r\n").encode("utf-8")
    response = await env.upload(IMPORT, {"file": None}, "file", content, token=ua)
    job_id = response.json()["data"]["importUsers"]["job"]["id"]
    for _ in range(200):
        job = (await env.gql(JOB, {"id": job_id}, token=ua))["data"]["bulkJob"]
        if job["status"] in ("SUCCEEDED", "FAILED"):
            break
        await asyncio.sleep(0.05)
    assert [e["code"] for e in job["rowErrors"]] == [LAST] and job["status"] == "FAILED", job  # nothing of the file is written
    assert (await env.gql(STATUS, {"id": oa}, token=ua))["data"]["user"]["status"] == "ACTIVE"


async def test_the_last_organisation_administrator_cannot_be_recreated_anonymous(env: Env, org: OrgFixture) -> None:
    oa_token, ua = token_for(env, org, OA), token_for(env, org, UA)
    allowed = await env.gql(
        "mutation { updateOrganisationSettings(input: {userCreation: {anonymityAllowed: true}}) { userErrors { code } } }",
        token=oa_token,
    )
    assert allowed["data"]["updateOrganisationSettings"]["userErrors"] == [], allowed
    asked = await env.gql('mutation { requestAnonymity(input: {reason: "privatliv"}) { request { id } userErrors { code } } }',
                          token=oa_token)
    request_id = asked["data"]["requestAnonymity"]["request"]["id"]
    decided = await env.gql("""mutation($id: ID!) { approveAnonymityRequest(input: {requestId: $id}) {
        request { status } newUser { id } userErrors { code } } }""", {"id": request_id}, token=ua)
    payload = decided["data"]["approveAnonymityRequest"]
    assert _codes(payload) == [LAST] and payload["newUser"] is None, decided
    oa = await _gid(env, org, OA)
    assert (await env.gql(STATUS, {"id": oa}, token=ua))["data"]["user"]["status"] == "ACTIVE"
