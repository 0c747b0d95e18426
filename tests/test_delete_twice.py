"""Deleting a user who is already deleted says so (ALREADY_DELETED), as `user(id)` shows them DELETED;
an id that never was ours stays NOT_FOUND. The other changes to a deleted user say USER_DELETED."""

from __future__ import annotations

import uuid
from typing import Any

from sqlalchemy import select

from app.domain.common.principal import Role
from app.persistence.tables.activity import activities
from app.persistence.tables.users import users
from app.schema.runtime.base import to_global_id
from tests.conftest import Env, token_for
from tests.factories import OrgFixture

UA = Role.USER_ADMINISTRATOR
DELETE = "mutation($id: ID!) { deleteUser(input: {userId: $id}) { user { id status } userErrors { field code message } } }"
USER = "query($id: ID!) { user(id: $id) { id status } }"
CREATE = """mutation($input: CreateUserInput!) { createUser(input: $input) { user { id } userErrors { code } } }"""
USER_MUTATIONS = {
    "deactivateUser": "mutation($id: ID!) { deactivateUser(input: {userId: $id}) { userErrors { field code } } }",
    "reactivateUser": "mutation($id: ID!) { reactivateUser(input: {userId: $id}) { userErrors { field code } } }",
    "updateUser": 'mutation($id: ID!) { updateUser(input: {userId: $id, reference: "x"}) { userErrors { field code } } }',
    "setUserAuthenticators": "mutation($id: ID!) { setUserAuthenticators(input: {userId: $id, authenticators: []}) "
                             "{ userErrors { field code } } }",
    "resendActivationEmail": "mutation($id: ID!) { resendActivationEmail(input: {userId: $id}) "
                             "{ userErrors { field code } } }",
    "generateActivationCode": "mutation($id: ID!) { generateActivationCode(input: {userId: $id}) "
                              "{ userErrors { field code } } }",
}


async def created_user(env: Env, org: OrgFixture) -> str:
    body = await env.gql(CREATE, {"input": {"firstName": "Dina", "lastName": "Dobbelt", "dateOfBirth": "1979-09-09",
                                            "email": f"dina.{uuid.uuid4().hex[:8]}@example.dk"}},
                         token=token_for(env, org, UA))
    assert body["data"]["createUser"]["userErrors"] == [], body
    return body["data"]["createUser"]["user"]["id"]


async def delete(env: Env, org: OrgFixture, user_id: str) -> dict[str, Any]:
    body = await env.gql(DELETE, {"id": user_id}, token=token_for(env, org, UA))
    assert "errors" not in body, body
    return body["data"]["deleteUser"]


async def rows(env: Env, org: OrgFixture) -> tuple[Any, int]:
    async with env.engine.connect() as conn:
        # Not when each was last seen: the request itself notes its sender's visit.
        data = [c for c in users.c if c.name != "last_seen_at"]
        people = sorted(tuple(r) for r in await conn.execute(select(*data).where(users.c.org_id == org.org_id)))
        history = len((await conn.execute(select(activities.c.id).where(activities.c.org_id == org.org_id))).all())
    return people, history


async def test_deleting_a_deleted_user_says_already_deleted_and_writes_nothing(env: Env, org: OrgFixture) -> None:
    user_id = await created_user(env, org)
    first = await delete(env, org, user_id)
    assert (first["userErrors"], first["user"]["status"]) == ([], "DELETED")
    before = await rows(env, org)

    second = await delete(env, org, user_id)

    assert [(e["field"], e["code"]) for e in second["userErrors"]] == [(["userId"], "ALREADY_DELETED")]
    assert second["user"] is None
    shown = await env.gql(USER, {"id": user_id}, token=token_for(env, org, UA))
    assert shown["data"]["user"]["status"] == "DELETED"  # what the code is consistent with
    assert await rows(env, org) == before


async def test_an_id_that_never_was_ours_stays_not_found(env: Env, org: OrgFixture, other_org: OrgFixture) -> None:
    foreign = await created_user(env, other_org)
    assert (await delete(env, other_org, foreign))["userErrors"] == []  # deleted there: still not ours
    before, foreign_before = await rows(env, org), await rows(env, other_org)
    for user_id in (foreign, to_global_id("User", other_org.people[Role.USER]), to_global_id("User", uuid.uuid4()),
                    "not an id"):
        payload = await delete(env, org, user_id)
        assert [(e["field"], e["code"]) for e in payload["userErrors"]] == [(["userId"], "NOT_FOUND")], user_id
    assert await rows(env, org) == before
    assert await rows(env, other_org) == foreign_before


async def test_every_other_change_to_a_deleted_user_says_user_deleted(env: Env, org: OrgFixture) -> None:
    user_id = await created_user(env, org)
    assert (await delete(env, org, user_id))["userErrors"] == []
    before = await rows(env, org)
    for name, text in USER_MUTATIONS.items():
        body = await env.gql(text, {"id": user_id}, token=token_for(env, org, UA))
        assert "errors" not in body, (name, body)
        assert [(e["field"], e["code"]) for e in body["data"][name]["userErrors"]] == [(["userId"], "USER_DELETED")], name
    assert await rows(env, org) == before
