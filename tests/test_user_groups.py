"""User groups: system and custom groups, members from partner organisations, the partner view."""

from __future__ import annotations

import datetime as dt
from typing import Any

from app.domain.common.organisation import OrganisationSettings
from app.domain.common.principal import Role
from app.domain.users import lifecycle as uc
from app.domain.users.rules import NewUser
from app.entrypoints.cli.seed import activate_directly
from app.persistence.tables.user_groups import user_group_members
from tests.conftest import Env, token_for
from tests.factories import OrgFixture, make_org

CREATE_GROUP = """
mutation($input: CreateUserGroupInput!) {
  createUserGroup(input: $input) { group { id kind name rights { code kind } } userErrors { field code message } }
}
"""
ADD_USERS = """
mutation($g: ID!, $u: [ID!]!) {
  addUsersToGroup(input: {groupId: $g, userIds: $u}) { group { id } userErrors { field code message } }
}
"""
REMOVE_USER = """
mutation($g: ID!, $u: ID!) {
  removeUserFromGroup(input: {groupId: $g, userId: $u}) { group { id } userErrors { field code message } }
}
"""
GROUP = """
query($id: ID!) {
  userGroup(id: $id) {
    id kind name pNumber rights { code }
    members(first: 50) { totalCount edges { external name pNumber organisation { cvr name }
      node { __typename ... on User { uuid email } ... on ExternalUser { uuid name organisation { cvr } } } } }
  }
}
"""
GROUPS = """
query($kind: GroupKind) { userGroups(first: 100, filter: {kind: $kind}) { totalCount edges { node { id kind name pNumber } } } }
"""
FIND_EXTERNAL = "query($cvr: String!, $email: String!) { externalUsers(cvr: $cvr, email: $email) { id uuid name organisation { cvr name } pNumber } }"
ADD_EXTERNAL = """
mutation($g: ID!, $x: ID!) {
  addExternalUserToGroup(input: {groupId: $g, externalUserId: $x}) { group { id } userErrors { field code } }
}
"""
MEMBERSHIPS = """
query { externalMemberships { totalCount nodes { id groupName organisation { cvr } user { uuid } } } }
"""
LEAVE = """
mutation($id: ID!) { removeOwnUserFromExternalGroup(input: {membershipId: $id}) { removedMembershipId userErrors { code } } }
"""
USER_GROUPS = "query($id: ID!) { user(id: $id) { groups { name kind } effectiveRights rights } }"
USERS_IN_GROUP = "query($g: ID!) { users(first: 100, filter: {groupId: $g}) { totalCount edges { node { uuid } } } }"


def ok(body: dict[str, Any]) -> dict[str, Any]:
    assert "errors" not in body, body
    return body["data"]


async def active_user(env: Env, org: OrgFixture, first: str, *, p_number: str | None = None,
                      rights: list[str] | None = None, activate: bool = True, anonymous: bool = False) -> dict[str, Any]:
    """A user made through the use cases (fast), returned with its global id."""
    async with env.services.unit_of_work(org.actor(Role.USER_ADMINISTRATOR)) as uow:
        created = await uc.create_user(uow, NewUser(
            first_name=first, last_name="Gruppe", email=f"{first.lower()}.{org.cvr}@example.dk",
            date_of_birth="1985-05-05", p_number=p_number, rights=rights or [], anonymous=anonymous,
        ))
        if activate:
            await activate_directly(uow, created.user, dt.datetime.now(dt.UTC))
        await uow.commit()
    from app.schema.runtime.base import to_global_id

    return {"id": to_global_id("User", created.user.id), "uuid": str(created.user.id),
            "email": created.user.email}


async def create_group(env: Env, org: OrgFixture, name: str, rights: list[str] | None = None) -> str:
    data = ok(await env.gql(CREATE_GROUP, {"input": {"name": name, "rights": rights or []}},
                            token=token_for(env, org, Role.ORGANISATION_ADMINISTRATOR)))["createUserGroup"]
    assert data["userErrors"] == []
    return data["group"]["id"]


async def test_an_organisation_administrator_creates_a_custom_group_with_catalogue_rights(env: Env, org: OrgFixture) -> None:
    token = token_for(env, org, Role.ORGANISATION_ADMINISTRATOR)
    data = ok(await env.gql(CREATE_GROUP, {"input": {"name": "Bogholderi", "rights": ["SKAT.MOMS", "skat.refusion"]}},
                            token=token))["createUserGroup"]
    assert data["userErrors"] == []
    assert data["group"]["kind"] == "CUSTOM"
    assert sorted(r["code"] for r in data["group"]["rights"]) == ["SKAT.MOMS", "SKAT.REFUSION"]
    again = ok(await env.gql(CREATE_GROUP, {"input": {"name": "bogholderi", "rights": ["NOPE.NOT_THERE"]}},
                             token=token))["createUserGroup"]
    assert sorted(e["code"] for e in again["userErrors"]) == ["DUPLICATE_NAME", "INVALID_RIGHT"]


async def test_only_organisation_administrators_create_groups(env: Env, org: OrgFixture) -> None:
    for role in (Role.USER_ADMINISTRATOR, Role.RIGHTS_ADMINISTRATOR, Role.USER):
        body = await env.gql(CREATE_GROUP, {"input": {"name": f"X {role}"}}, token=token_for(env, org, role))
        assert body["errors"][0]["extensions"]["code"] == "FORBIDDEN"


async def test_only_activated_users_can_be_added_and_adding_twice_changes_nothing(env: Env, org: OrgFixture) -> None:
    group = await create_group(env, org, "Løn")
    anne = await active_user(env, org, "Anne")
    pending = await active_user(env, org, "Bent", activate=False)
    token = token_for(env, org, Role.USER_ADMINISTRATOR)
    refused = ok(await env.gql(ADD_USERS, {"g": group, "u": [anne["id"], pending["id"]]}, token=token))["addUsersToGroup"]
    assert [(e["field"], e["code"]) for e in refused["userErrors"]] == [(["userIds", "1"], "USER_NOT_ACTIVATED")]
    assert await env.count_rows(user_group_members) >= 0
    members = ok(await env.gql(GROUP, {"id": group}, token=token))["userGroup"]["members"]
    assert members["totalCount"] == 0  # all or nothing
    for _ in range(2):
        added = ok(await env.gql(ADD_USERS, {"g": group, "u": [anne["id"]]},
                                 token=token_for(env, org, Role.RIGHTS_ADMINISTRATOR)))["addUsersToGroup"]
        assert added["userErrors"] == []
    members = ok(await env.gql(GROUP, {"id": group}, token=token))["userGroup"]["members"]
    assert members["totalCount"] == 1
    assert members["edges"][0]["node"] == {"__typename": "User", "uuid": anne["uuid"], "email": anne["email"]}
    removed = ok(await env.gql(REMOVE_USER, {"g": group, "u": anne["id"]}, token=token))["removeUserFromGroup"]
    assert removed["userErrors"] == []
    again = ok(await env.gql(REMOVE_USER, {"g": group, "u": anne["id"]}, token=token))["removeUserFromGroup"]
    assert [e["code"] for e in again["userErrors"]] == ["NOT_A_MEMBER"]


async def test_deactivated_and_deleted_users_cannot_be_added_to_a_custom_group(env: Env, org: OrgFixture) -> None:
    group = await create_group(env, org, "Aktive")
    token = token_for(env, org, Role.USER_ADMINISTRATOR)
    anne, dan, dina = [await active_user(env, org, name) for name in ("Anne", "Dan", "Dina")]
    deactivate = "mutation($u: ID!) { deactivateUser(input: {userId: $u}) { userErrors { code } } }"
    assert ok(await env.gql(deactivate, {"u": dan["id"]}, token=token))["deactivateUser"]["userErrors"] == []
    delete = "mutation($u: ID!) { deleteUser(input: {userId: $u}) { userErrors { code } } }"
    assert ok(await env.gql(delete, {"u": dina["id"]}, token=token))["deleteUser"]["userErrors"] == []
    refused = ok(await env.gql(ADD_USERS, {"g": group, "u": [anne["id"], dan["id"], dina["id"]]},
                               token=token))["addUsersToGroup"]
    assert [(e["field"], e["code"]) for e in refused["userErrors"]] == [
        (["userIds", "1"], "USER_NOT_ACTIVE"), (["userIds", "2"], "NOT_FOUND")]
    assert ok(await env.gql(GROUP, {"id": group}, token=token))["userGroup"]["members"]["totalCount"] == 0


async def test_system_groups_follow_the_users_p_unit_and_refuse_manual_members(env: Env, org: OrgFixture) -> None:
    token = token_for(env, org, Role.USER_ADMINISTRATOR)
    groups = ok(await env.gql(GROUPS, {"kind": "SYSTEM"}, token=token))["userGroups"]
    by_unit = {g["node"]["pNumber"]: g["node"]["id"] for g in groups["edges"]}
    assert sorted(by_unit) == sorted(org.p_numbers)
    carl = await active_user(env, org, "Carl", p_number=org.p_numbers[1])
    second = ok(await env.gql(USERS_IN_GROUP, {"g": by_unit[org.p_numbers[1]]}, token=token))["users"]
    assert [e["node"]["uuid"] for e in second["edges"]] == [carl["uuid"]]
    refused = ok(await env.gql(ADD_USERS, {"g": by_unit[org.p_numbers[0]], "u": [carl["id"]]}, token=token))
    assert [e["code"] for e in refused["addUsersToGroup"]["userErrors"]] == ["SYSTEM_GROUP"]
    moved = await env.gql(
        "mutation($u: ID!, $p: String!) { setUserOrganisationUnit(input: {userId: $u, pNumber: $p}) { userErrors { code } } }",
        {"u": carl["id"], "p": org.p_numbers[0]}, token=token)
    assert ok(moved)["setUserOrganisationUnit"]["userErrors"] == []
    first = ok(await env.gql(GROUP, {"id": by_unit[org.p_numbers[0]]}, token=token))["userGroup"]["members"]
    assert carl["uuid"] in [e["node"]["uuid"] for e in first["edges"]]
    assert ok(await env.gql(USERS_IN_GROUP, {"g": by_unit[org.p_numbers[1]]}, token=token))["users"]["totalCount"] == 0


async def test_effective_rights_join_own_and_group_rights(env: Env, org: OrgFixture) -> None:
    group = await create_group(env, org, "Moms", ["SKAT.MOMS"])
    dora = await active_user(env, org, "Dora", rights=["DST.STATISTIK"])
    token = token_for(env, org, Role.USER_ADMINISTRATOR)
    ok(await env.gql(ADD_USERS, {"g": group, "u": [dora["id"]]}, token=token))
    user = ok(await env.gql(USER_GROUPS, {"id": dora["id"]}, token=token))["user"]
    assert user["rights"] == ["DST.STATISTIK"]
    assert user["effectiveRights"] == ["DST.STATISTIK", "SKAT.MOMS"]
    assert {"name": "Moms", "kind": "CUSTOM"} in user["groups"]


async def test_external_users_are_found_only_by_exact_cvr_and_email_and_answers_do_not_tell_which_was_wrong(
    env: Env, org: OrgFixture
) -> None:
    partner = await make_org(env.services, name="Partner")
    erik = await active_user(env, partner, "Erik", p_number=partner.p_numbers[0])
    token = token_for(env, org, Role.USER_ADMINISTRATOR)
    found = ok(await env.gql(FIND_EXTERNAL, {"cvr": partner.cvr, "email": erik["email"].upper()}, token=token))
    assert [u["uuid"] for u in found["externalUsers"]] == [erik["uuid"]]
    assert found["externalUsers"][0]["organisation"] == {"cvr": partner.cvr, "name": partner.name}
    answers = [
        await env.gql(FIND_EXTERNAL, {"cvr": "12345674" if partner.cvr != "12345674" else "11223346",
                                      "email": erik["email"]}, token=token),
        await env.gql(FIND_EXTERNAL, {"cvr": partner.cvr, "email": "nobody@example.dk"}, token=token),
        await env.gql(FIND_EXTERNAL, {"cvr": "11223346", "email": "nobody@example.dk"}, token=token),
        await env.gql(FIND_EXTERNAL, {"cvr": partner.cvr, "email": erik["email"].split("@")[0]}, token=token),
    ]
    assert answers[0] == answers[1] == answers[2] == {"data": {"externalUsers": []}}
    assert answers[3]["errors"][0]["extensions"]["code"] == "BAD_USER_INPUT"
    bad_cvr = await env.gql(FIND_EXTERNAL, {"cvr": "12345678", "email": erik["email"]}, token=token)
    assert bad_cvr["errors"][0]["extensions"]["code"] == "BAD_USER_INPUT"


async def test_a_partner_user_joins_a_group_and_the_partner_sees_and_ends_only_that_membership(
    env: Env, org: OrgFixture
) -> None:
    partner = await make_org(env.services, name="Partner")
    erik = await active_user(env, partner, "Erik", p_number=partner.p_numbers[1])
    group = await create_group(env, org, "Revisorer", ["SKAT.REFUSION"])
    token = token_for(env, org, Role.USER_ADMINISTRATOR)
    external = ok(await env.gql(FIND_EXTERNAL, {"cvr": partner.cvr, "email": erik["email"]}, token=token))["externalUsers"][0]
    added = ok(await env.gql(ADD_EXTERNAL, {"g": group, "x": external["id"]}, token=token))["addExternalUserToGroup"]
    assert added["userErrors"] == []
    members = ok(await env.gql(GROUP, {"id": group}, token=token))["userGroup"]["members"]
    assert members["edges"] == [{
        "external": True, "name": "Erik Gruppe", "pNumber": partner.p_numbers[1],
        "organisation": {"cvr": partner.cvr, "name": partner.name},
        "node": {"__typename": "ExternalUser", "uuid": erik["uuid"], "name": "Erik Gruppe",
                 "organisation": {"cvr": partner.cvr}},
    }]
    partner_token = token_for(env, partner, Role.USER_ADMINISTRATOR)
    view = ok(await env.gql(MEMBERSHIPS, token=partner_token))["externalMemberships"]
    assert view["totalCount"] == 1
    membership = view["nodes"][0]
    assert membership["groupName"] == "Revisorer" and membership["organisation"] == {"cvr": org.cvr}
    assert membership["user"] == {"uuid": erik["uuid"]}
    # The partner can never read the group itself.
    assert ok(await env.gql(GROUP, {"id": group}, token=partner_token))["userGroup"] is None
    # Nor end a membership that is not of its own user.
    assert ok(await env.gql(MEMBERSHIPS, token=token))["externalMemberships"]["totalCount"] == 0
    foreign_try = ok(await env.gql(LEAVE, {"id": membership["id"]}, token=token))["removeOwnUserFromExternalGroup"]
    assert [e["code"] for e in foreign_try["userErrors"]] == ["NOT_FOUND"]
    left = ok(await env.gql(LEAVE, {"id": membership["id"]}, token=partner_token))["removeOwnUserFromExternalGroup"]
    assert left["userErrors"] == [] and left["removedMembershipId"] == membership["id"]
    assert ok(await env.gql(GROUP, {"id": group}, token=token))["userGroup"]["members"]["totalCount"] == 0
    # Both organisations' logs tell the story.
    log = "query($t: [ActivityType!]) { activities(filter: {types: $t}) { edges { node { type summary } } } }"
    ours = ok(await env.gql(log, {"t": ["EXTERNAL_MEMBER_ADDED", "EXTERNAL_MEMBER_REMOVED"]}, token=token))
    theirs = ok(await env.gql(log, {"t": ["EXTERNAL_MEMBER_ADDED", "EXTERNAL_MEMBER_REMOVED"]}, token=partner_token))
    assert len(ours["activities"]["edges"]) == 2 and len(theirs["activities"]["edges"]) == 2


async def test_anonymous_external_members_show_only_their_uuid(env: Env, org: OrgFixture) -> None:
    partner = await make_org(env.services, name="Partner", settings=OrganisationSettings(anonymity_allowed=True))
    ghost = await active_user(env, partner, "Ghost", anonymous=True)
    group = await create_group(env, org, "Anonyme")
    token = token_for(env, org, Role.USER_ADMINISTRATOR)
    external = ok(await env.gql(FIND_EXTERNAL, {"cvr": partner.cvr, "email": ghost["email"]}, token=token))["externalUsers"][0]
    assert external["name"] is None and external["organisation"] is None and external["uuid"] == ghost["uuid"]
    ok(await env.gql(ADD_EXTERNAL, {"g": group, "x": external["id"]}, token=token))
    edge = ok(await env.gql(GROUP, {"id": group}, token=token))["userGroup"]["members"]["edges"][0]
    assert edge["name"] is None and edge["organisation"] is None and edge["pNumber"] is None
    assert edge["node"] == {"__typename": "ExternalUser", "uuid": ghost["uuid"], "name": None, "organisation": None}


async def test_another_organisations_groups_behave_as_missing(env: Env, org: OrgFixture, other_org: OrgFixture) -> None:
    foreign_group = await create_group(env, other_org, "Fremmed")
    anne = await active_user(env, org, "Anne")
    token = token_for(env, org, Role.USER_ADMINISTRATOR)
    assert ok(await env.gql(GROUP, {"id": foreign_group}, token=token))["userGroup"] is None
    assert ok(await env.gql("query($id: ID!) { node(id: $id) { id } }", {"id": foreign_group}, token=token))["node"] is None
    refused = ok(await env.gql(ADD_USERS, {"g": foreign_group, "u": [anne["id"]]}, token=token))["addUsersToGroup"]
    assert [e["code"] for e in refused["userErrors"]] == ["NOT_FOUND"]
    delete = "mutation($g: ID!) { deleteUserGroup(input: {groupId: $g}) { deletedGroupId userErrors { code } } }"
    gone = ok(await env.gql(delete, {"g": foreign_group}, token=token_for(env, org, Role.ORGANISATION_ADMINISTRATOR)))
    assert [e["code"] for e in gone["deleteUserGroup"]["userErrors"]] == ["NOT_FOUND"]
    still = ok(await env.gql(GROUP, {"id": foreign_group}, token=token_for(env, other_org, Role.USER_ADMINISTRATOR)))
    assert still["userGroup"]["name"] == "Fremmed"


DASHBOARD = """
query { userGroups(first: 50) { totalCount edges { node { id name kind rights { code name }
  members(first: 5) { totalCount edges { name external organisation { name } node { __typename ... on User { email status } } } } } } } }
"""


async def test_a_dashboard_of_groups_members_and_rights_costs_the_same_statements_for_5_and_50_groups(
    env: Env, org: OrgFixture
) -> None:
    token = token_for(env, org, Role.USER_ADMINISTRATOR)
    people = [await active_user(env, org, f"Medlem{i}") for i in range(6)]
    ok(await env.gql("query { viewer { roles } }", token=token))  # warm the organisation lookup

    async def count() -> int:
        with env.count_statements() as seen:
            data = ok(await env.gql(DASHBOARD, token=token))
        assert data["userGroups"]["edges"]
        return len([s for s in seen if not s.lstrip().upper().startswith(("BEGIN", "COMMIT", "ROLLBACK"))])

    for i in range(3):
        g = await create_group(env, org, f"Gruppe {i}", ["SKAT.MOMS"])
        ok(await env.gql(ADD_USERS, {"g": g, "u": [p["id"] for p in people]}, token=token))
    few = await count()
    for i in range(3, 50):
        g = await create_group(env, org, f"Gruppe {i}", ["SKAT.MOMS", "VIRK.INDBERETNING"])
        ok(await env.gql(ADD_USERS, {"g": g, "u": [p["id"] for p in people[: i % 6 + 1]]}, token=token))
    many = await count()
    print(f"[{env.backend}] statements for a groups dashboard: 5 groups -> {few}, 50 groups -> {many}")
    assert few == many <= 9
