"""Property tests: whatever id a client sends — garbage, a cursor, a global id of another type, or
a real id of another organisation's object — nothing foreign is returned or changed, and nothing
fails with a server error."""

from __future__ import annotations

import base64
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import select

from app.domain.principal import Role
from app.persistence.tables import user_group_members, user_groups, users
from app.schema.base import to_global_id
from tests.conftest import Env, token_for
from tests.factories import OrgFixture, make_org

TYPES = ["User", "UserGroup", "Activity", "Notification", "BulkJob", "AnonymityRequest", "ExternalUser",
         "Certificate", "PowerOfAttorney", "Offset", "Organisation"]

QUERIES = {
    "user": "query($id: ID!) { user(id: $id) { id email } }",
    "node": "query($id: ID!) { node(id: $id) { id } }",
    "userGroup": "query($id: ID!) { userGroup(id: $id) { id name } }",
    "bulkJob": "query($id: ID!) { bulkJob(id: $id) { id } }",
}
MUTATIONS = {
    "updateUser": ("mutation($id: ID!) { updateUser(input: {userId: $id, phone: \"+4511112222\"}) { user { id } userErrors { code } } }", "user"),
    "deactivateUser": ("mutation($id: ID!) { deactivateUser(input: {userId: $id}) { user { id } userErrors { code } } }", "user"),
    "deleteUser": ("mutation($id: ID!) { deleteUser(input: {userId: $id}) { user { id } userErrors { code } } }", "user"),
    "deleteUserGroup": ("mutation($id: ID!) { deleteUserGroup(input: {groupId: $id}) { deletedGroupId userErrors { code } } }", "group"),
    "addUsersToGroup": ("mutation($id: ID!) { addUsersToGroup(input: {groupId: $id, userIds: [$id]}) { group { id } userErrors { code } } }", "group"),
}
CURSOR_QUERY = "query($c: String) { users(first: 2, after: $c) { edges { node { id } } } activities(first: 2, after: $c) { totalCount } }"


@pytest.fixture
async def world(env: Env, org: OrgFixture) -> dict[str, Any]:
    """Another organisation with a custom group: the foreign ids a client might try."""
    foreign = await make_org(env.services, name="Fremmed")
    oa = token_for(env, foreign, Role.ORGANISATION_ADMINISTRATOR)
    body = await env.gql('mutation { createUserGroup(input: {name: "Hemmelig"}) { group { id } } }', token=oa)
    group = body["data"]["createUserGroup"]["group"]["id"]
    foreign_ids = [to_global_id("User", u) for u in foreign.people.values()] + [group]
    return {"foreign": foreign, "foreign_ids": foreign_ids, "group": group}


async def _snapshot(env: Env, foreign: OrgFixture) -> Any:
    async with env.engine.connect() as conn:
        people = sorted((await conn.execute(select(users.c.id, users.c.version, users.c.status, users.c.phone)
                                            .where(users.c.org_id == foreign.org_id))).all())
        groups = sorted((await conn.execute(select(user_groups.c.id, user_groups.c.version)
                                            .where(user_groups.c.org_id == foreign.org_id))).all())
        members = (await conn.execute(select(user_group_members.c.user_id).join(
            user_groups, user_groups.c.id == user_group_members.c.group_id).where(
            user_groups.c.org_id == foreign.org_id))).all()
    return people, groups, sorted(members)


def _ids(foreign_ids: list[str]) -> st.SearchStrategy[str]:
    raw = st.one_of(
        st.text(max_size=40),
        st.builds(lambda t, v: base64.urlsafe_b64encode(f"{t}:{v}".encode()).decode().rstrip("="),
                  st.sampled_from(TYPES), st.one_of(st.uuids().map(str), st.integers(-5, 10**20).map(str),
                                                    st.text(max_size=20))),
    )
    return st.one_of(raw, st.sampled_from(foreign_ids))


PROPERTY = settings(max_examples=40, deadline=None, suppress_health_check=list(HealthCheck))


@given(data=st.data())
@PROPERTY
async def test_queries_never_return_another_organisations_objects(env: Env, org: OrgFixture, world: dict[str, Any],
                                                                  data: st.DataObject) -> None:
    token = token_for(env, org, Role.USER_ADMINISTRATOR)
    some_id = data.draw(_ids(world["foreign_ids"]))
    name = data.draw(st.sampled_from(sorted(QUERIES)))
    body = await env.gql(QUERIES[name], {"id": some_id}, token=token)
    for error in body.get("errors") or []:
        assert error["extensions"]["code"] in ("BAD_USER_INPUT", "GRAPHQL_VALIDATION_FAILED", "INVALID_CHARACTERS"), body
    assert (body.get("data") or {}).get(name) is None, (name, some_id, body)


@given(data=st.data())
@PROPERTY
async def test_mutations_never_change_another_organisations_objects(env: Env, org: OrgFixture, world: dict[str, Any],
                                                                    data: st.DataObject) -> None:
    role = Role.ORGANISATION_ADMINISTRATOR if data.draw(st.booleans()) else Role.USER_ADMINISTRATOR
    token = token_for(env, org, role)
    before = await _snapshot(env, world["foreign"])
    some_id = data.draw(_ids(world["foreign_ids"]))
    name = data.draw(st.sampled_from(sorted(MUTATIONS)))
    body = await env.gql(MUTATIONS[name][0], {"id": some_id}, token=token)
    for error in body.get("errors") or []:
        assert error["extensions"]["code"] in ("FORBIDDEN", "GRAPHQL_VALIDATION_FAILED", "INVALID_CHARACTERS"), body
    payload = (body.get("data") or {}).get(name)
    if payload is not None:
        assert [e["code"] for e in payload["userErrors"]] in (["NOT_FOUND"], ["NOT_FOUND", "NOT_FOUND"],
                                                             ["SYSTEM_GROUP"]), (name, some_id, payload)
    assert await _snapshot(env, world["foreign"]) == before


@given(cursor=st.one_of(st.text(max_size=30), st.builds(
    lambda t, v: base64.urlsafe_b64encode(f"{t}:{v}".encode()).decode(), st.sampled_from(TYPES),
    st.one_of(st.integers(-10, 10**25).map(str), st.text(max_size=10)))))
@PROPERTY
async def test_any_cursor_gives_a_page_or_a_bad_input_error_never_a_server_error(
    env: Env, org: OrgFixture, cursor: str
) -> None:
    body = await env.gql(CURSOR_QUERY, {"c": cursor}, token=token_for(env, org, Role.USER_ADMINISTRATOR))
    for error in body.get("errors") or []:
        assert error["extensions"]["code"] in ("BAD_USER_INPUT", "INVALID_CHARACTERS"), body

