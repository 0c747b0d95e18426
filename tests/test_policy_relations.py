"""The policy below the root fields: the leaks the probe of issue 12 found, as a client sends them,
and the rules of the two tables (types and relations) on nested paths, fragments and node(id:)."""

from __future__ import annotations

import uuid
from typing import Any

from app.adapters.jwt import sign_token
from app.domain.common.principal import Role
from app.schema.runtime.base import to_global_id
from tests.conftest import Env, token_for
from tests.factories import OrgFixture
from tests.test_user_groups import active_user, create_group, ok

GROUP_MEMBERS_OF_VIEWER = """
{ viewer { user { uuid groups { name members(first: 100) { totalCount edges { name } } } } } }
"""

HISTORY_OF_EVERY_USER = """
{ users(first: 100) { edges { node { uuid history(first: 5) { edges { node { type summary details } } } } } } }
"""


def forbidden_paths(body: dict[str, Any]) -> list[list[Any]]:
    return [e["path"] for e in body.get("errors", []) if e["extensions"]["code"] == "FORBIDDEN"]


async def _member_of_system_group(env: Env, org: OrgFixture, first: str, *, anonymous: bool) -> dict[str, Any]:
    return await active_user(env, org, first, p_number=org.p_numbers[0], anonymous=anonymous)


async def test_a_plain_user_cannot_read_the_members_of_their_groups(env: Env, org: OrgFixture) -> None:
    """The probe: a USER read every member name of its P-unit's system group - anonymous users'
    real names included - through viewer.user.groups.members."""
    await _member_of_system_group(env, org, "Hemmelig", anonymous=True)
    plain = await _member_of_system_group(env, org, "Plain", anonymous=False)
    async with env.services.unit_of_work(org.actor()) as uow:
        await uow.users.set_roles(uuid.UUID(plain["uuid"]), [Role.USER])
        await uow.commit()
    token = sign_token(env.settings, uuid.UUID(plain["uuid"]), org.cvr, [Role.USER])
    body = await env.gql(GROUP_MEMBERS_OF_VIEWER, token=token)
    assert forbidden_paths(body), body
    assert all(p[:3] == ["viewer", "user", "groups"] and p[-1] == "members" for p in forbidden_paths(body)), body
    assert "Hemmelig" not in str(body)
    # Their own groups' names they may see (without members).
    own = ok(await env.gql("{ viewer { user { groups { name kind rights { code } } } } }", token=token))
    assert own["viewer"]["user"]["groups"], own
    # An administrator reads the members, the anonymous one's name included.
    admin = ok(await env.gql(
        "query($id: ID!) { user(id: $id) { groups { members(first: 100) { edges { name } } } } }",
        {"id": plain["id"]}, token=token_for(env, org, Role.USER_ADMINISTRATOR)))
    names = {e["name"] for g in admin["user"]["groups"] for e in g["members"]["edges"]}
    assert "Hemmelig Gruppe" in names


async def test_a_rights_administrator_cannot_read_other_users_history(env: Env, org: OrgFixture) -> None:
    """The probe: refused `activities`, a RIGHTS_ADMINISTRATOR read everyone's history through users."""
    await active_user(env, org, "Historik")
    token = token_for(env, org, Role.RIGHTS_ADMINISTRATOR)
    refused = await env.gql("{ activities(first: 5) { totalCount } }", token=token)
    assert refused["errors"][0]["extensions"]["code"] == "FORBIDDEN"
    body = await env.gql(HISTORY_OF_EVERY_USER, token=token)
    me = str(org.people[Role.RIGHTS_ADMINISTRATOR])
    edges = body["data"]["users"]["edges"]
    assert len(edges) > 2
    for edge in edges:
        if edge is None:
            continue
        node = edge["node"]
        if node is not None and node["uuid"] == me:
            assert node["history"] is not None  # their own history they may read
    refused_paths = forbidden_paths(body)
    assert len(refused_paths) == len(edges) - 1, body.get("errors")
    assert all(p[0] == "users" and p[-1] == "history" for p in refused_paths)
    # Administrators with the log right read it.
    admin = ok(await env.gql(HISTORY_OF_EVERY_USER, token=token_for(env, org, Role.USER_ADMINISTRATOR)))
    assert all(e["node"]["history"] is not None for e in admin["users"]["edges"])


async def test_fragments_and_node_reach_the_same_gates(env: Env, org: OrgFixture) -> None:
    someone = await active_user(env, org, "Fragment")
    token = token_for(env, org, Role.RIGHTS_ADMINISTRATOR)
    query = """query($id: ID!) { node(id: $id) { ... on User { uuid ...H } } }
               fragment H on User { history(first: 1) { totalCount } }"""
    body = await env.gql(query, {"id": someone["id"]}, token=token)
    assert forbidden_paths(body) == [["node", "history"]], body
    assert body["data"]["node"] is None or body["data"]["node"].get("history") is None
    # A user's certificates: certificate viewers only (and the holder).
    body = await env.gql("query($id: ID!) { user(id: $id) { certificates { serialNumber } } }",
                         {"id": someone["id"]}, token=token)
    assert forbidden_paths(body) == [["user", "certificates"]], body


async def test_a_person_reads_their_own_history_certificates_and_groups(env: Env, org: OrgFixture) -> None:
    group = await create_group(env, org, "Egen")
    token = token_for(env, org, Role.USER)
    me = to_global_id("User", org.people[Role.USER])
    ok(await env.gql("mutation($g: ID!, $u: [ID!]!) { addUsersToGroup(input: {groupId: $g, userIds: $u}) "
                     "{ userErrors { code } } }", {"g": group, "u": [me]},
                     token=token_for(env, org, Role.USER_ADMINISTRATOR)))
    data = ok(await env.gql("""{ viewer { user { history(first: 3) { edges { node { type actor { uuid } } } } }
                                 user { certificates { status } groups { name rights { code } } roles rights } } }""",
                            token=token))
    assert data["viewer"]["user"]["history"]["edges"], data
    assert "Egen" in {g["name"] for g in data["viewer"]["user"]["groups"]}


async def test_the_csv_exports_follow_the_type_table(env: Env, org: OrgFixture) -> None:
    """Each export lists objects of one type: a role gets it exactly when TYPES lets it see that
    type outright (an organisation-wide list has no "own" rows)."""
    from app.domain.common.policy import TYPES, Decision, decide

    for path, type_name in (("/exports/activities.csv", "Activity"), ("/exports/certificates.csv", "Certificate")):
        for role in Role:
            response = await env.client.get(path, headers={"Authorization": f"Bearer {token_for(env, org, role)}"})
            allowed = decide(TYPES[type_name], frozenset({role})) is Decision.ALLOW
            assert (response.status_code == 200) == allowed, (path, role, response.status_code)
            if not allowed:
                assert response.status_code == 403, (path, role, response.text)
