"""Roles held by the gateway, given and taken by organisation administrators (issue 16): assignRole /
removeRole, User.roles, history and a notification to the person, the last organisation
administrator, and the rights administrator's part of the policy (views billing and certificate
settings, changes neither). Decisions tested here: assigning a held role or removing one not held
succeeds and writes nothing; a deleted user is USER_DELETED (as for every change of a user)."""

from __future__ import annotations

import asyncio
import datetime as dt
import uuid
from typing import Any

import pytest
from sqlalchemy import select

from app.adapters.jwt import sign_token
from app.domain.activity.history import ActivityType, record
from app.domain.common.errors import DomainError
from app.domain.common.policy import POLICY, Action
from app.domain.common.principal import Role
from app.domain.users import lifecycle
from app.domain.users.model import Identification, User, UserStatus
from app.domain.users.roles import (
    check_assignable,
    check_leaves_an_organisation_administrator,
    check_may_receive,
    check_removal_keeps_an_organisation_administrator,
    effective_roles,
)
from app.domain.users.rules import NewUser
from app.entrypoints.cli.seed import activate_directly
from app.persistence.tables.activity import activities
from app.persistence.tables.notifications import notifications
from app.persistence.tables.users import user_roles
from app.schema.runtime.base import to_global_id
from tests.conftest import Env, OrgFixture, token_for

OA, UA, RA, U = (Role.ORGANISATION_ADMINISTRATOR, Role.USER_ADMINISTRATOR, Role.RIGHTS_ADMINISTRATOR, Role.USER)

ASSIGN = """mutation($input: AssignRoleInput!) {
  assignRole(input: $input) { user { uuid roles } userErrors { field code message } } }"""
REMOVE = """mutation($input: RemoveRoleInput!) {
  removeRole(input: $input) { user { uuid roles } userErrors { field code message } } }"""
USERS = "query { users(first: 1) { totalCount } }"
ROLES_OF = "query($id: ID!) { user(id: $id) { uuid roles } }"
HISTORY_OF = """query($id: ID!) { user(id: $id) {
  history(first: 20, types: [ROLE_ASSIGNED, ROLE_REMOVED]) { edges { node { type summary details actorName } } } } }"""
NOTIFICATIONS = "query { notifications(first: 20) { edges { node { kind title body } } } }"
SET_CHANNEL = """mutation($c: NotificationChannel!) {
  updateNotificationSettings(input: {channel: $c}) { userErrors { code } } }"""


def gid(user_id: uuid.UUID) -> str:
    return str(to_global_id("User", user_id))


def oa(env: Env, org: OrgFixture) -> str:
    return token_for(env, org, OA)


async def assign(env: Env, token: str, user_id: uuid.UUID | str, role: str) -> dict[str, Any]:
    target = gid(user_id) if isinstance(user_id, uuid.UUID) else user_id
    body = await env.gql(ASSIGN, {"input": {"userId": target, "role": role}}, token=token)
    assert "errors" not in body, body
    return body["data"]["assignRole"]


async def remove(env: Env, token: str, user_id: uuid.UUID | str, role: str) -> dict[str, Any]:
    target = gid(user_id) if isinstance(user_id, uuid.UUID) else user_id
    body = await env.gql(REMOVE, {"input": {"userId": target, "role": role}}, token=token)
    assert "errors" not in body, body
    return body["data"]["removeRole"]


def codes(payload: dict[str, Any]) -> list[tuple[list[str], str]]:
    return [(e["field"], e["code"]) for e in payload["userErrors"]]


async def held(env: Env, user_id: uuid.UUID) -> set[str]:
    async with env.engine.connect() as conn:
        return set((await conn.execute(select(user_roles.c.role).where(user_roles.c.user_id == user_id))).scalars())


async def person(env: Env, org: OrgFixture, first: str, *, status: UserStatus = UserStatus.ACTIVE) -> uuid.UUID:
    """A user of `org` in `status`, made through the use cases."""
    async with env.services.unit_of_work(org.actor(UA)) as uow:
        created = await lifecycle.create_user(uow, NewUser(
            first_name=first, last_name="Rolle", email=f"{first.lower()}.{uuid.uuid4().hex[:6]}.{org.cvr}@example.dk",
            date_of_birth="1982-03-04"), send=status is not UserStatus.CREATED)
        if status in (UserStatus.ACTIVE, UserStatus.DEACTIVATED):
            await activate_directly(uow, created.user, dt.datetime.now(dt.UTC))
        await uow.commit()
    user_id = created.user.id
    if status is UserStatus.DEACTIVATED:
        body = await env.gql("mutation($i: DeactivateUserInput!) { deactivateUser(input: $i) { userErrors { code } } }",
                             {"i": {"userId": gid(user_id)}}, token=token_for(env, org, UA))
        assert body["data"]["deactivateUser"]["userErrors"] == [], body
    elif status is UserStatus.DELETED:
        body = await env.gql("mutation($i: UserIdInput!) { deleteUser(input: $i) { userErrors { code } } }",
                             {"i": {"userId": gid(user_id)}}, token=token_for(env, org, UA))
        assert body["data"]["deleteUser"]["userErrors"] == [], body
    got = await env.gql("query($id: ID!) { user(id: $id) { status } }", {"id": gid(user_id)}, token=token_for(env, org, UA))
    if status is not UserStatus.DELETED:
        assert got["data"]["user"]["status"] == status.value, got
    return user_id


# --- assigning and removing, through the API ------------------------------------------------------


async def test_an_assigned_role_works_on_the_next_request_and_a_removed_one_is_refused_at_once(
    env: Env, org: OrgFixture
) -> None:
    plain = org.people[U]
    # The person's token claims both roles; only what the gateway holds counts.
    token = sign_token(env.settings, plain, org.cvr, [U, UA])
    assert (await env.gql(USERS, token=token))["errors"][0]["extensions"]["code"] == "FORBIDDEN"

    given = await assign(env, oa(env, org), plain, "USER_ADMINISTRATOR")
    assert given["userErrors"] == []
    assert given["user"] == {"uuid": str(plain), "roles": ["USER", "USER_ADMINISTRATOR"]}
    after = await env.gql(USERS, token=token)
    assert "errors" not in after and after["data"]["users"]["totalCount"] >= len(org.people), after
    assert (await env.gql("{ viewer { roles } }", token=token))["data"]["viewer"]["roles"] == ["USER", "USER_ADMINISTRATOR"]

    taken = await remove(env, oa(env, org), plain, "USER_ADMINISTRATOR")
    assert taken["userErrors"] == []
    assert taken["user"]["roles"] == ["USER"]
    refused = await env.gql(USERS, token=token)
    assert refused["errors"][0]["extensions"]["code"] == "FORBIDDEN"
    assert refused["data"] is None
    assert await held(env, plain) == {"USER"}


async def test_a_role_change_is_in_the_persons_history_and_they_are_notified(env: Env, org: OrgFixture) -> None:
    plain = org.people[U]
    assert (await assign(env, oa(env, org), plain, "RIGHTS_ADMINISTRATOR"))["userErrors"] == []
    assert (await remove(env, oa(env, org), plain, "RIGHTS_ADMINISTRATOR"))["userErrors"] == []

    history = await env.gql(HISTORY_OF, {"id": gid(plain)}, token=oa(env, org))
    entries = [e["node"] for e in history["data"]["user"]["history"]["edges"]]
    assert [(e["type"], e["details"]) for e in entries] == [
        ("ROLE_REMOVED", {"role": "RIGHTS_ADMINISTRATOR"}),
        ("ROLE_ASSIGNED", {"role": "RIGHTS_ADMINISTRATOR"}),
    ]
    assert all(e["actorName"].startswith("Organisation") for e in entries), entries
    inbox = (await env.gql(NOTIFICATIONS, token=token_for(env, org, U)))["data"]["notifications"]["edges"]
    assert [(n["node"]["kind"], n["node"]["title"]) for n in inbox] == [
        ("ROLE_REMOVED", "You are no longer a rights administrator"),
        ("ROLE_ASSIGNED", "You are now a rights administrator"),
    ]


async def test_the_person_who_chose_email_is_told_by_mail(env: Env, org: OrgFixture) -> None:
    plain = org.people[U]
    chosen = await env.gql(SET_CHANNEL, {"c": "EMAIL"}, token=token_for(env, org, U))
    assert chosen["data"]["updateNotificationSettings"]["userErrors"] == []
    assert (await assign(env, oa(env, org), plain, "ORGANISATION_ADMINISTRATOR"))["userErrors"] == []
    mails = await env.mail.wait_for(org.emails[U])
    assert mails[-1]["Subject"] == "You are now an organisation administrator"
    assert "next request" in mails[-1].get_payload(decode=True).decode()
    inbox = (await env.gql(NOTIFICATIONS, token=token_for(env, org, U)))["data"]["notifications"]["edges"]
    assert inbox == []  # EMAIL only


async def test_an_administrator_giving_themself_a_role_is_not_notified_of_it(env: Env, org: OrgFixture) -> None:
    olga = org.people[OA]
    mailed_before = len(env.mail.to(org.emails[OA]))
    given = await assign(env, oa(env, org), olga, "USER_ADMINISTRATOR")
    assert given["userErrors"] == []
    assert given["user"]["roles"] == ["ORGANISATION_ADMINISTRATOR", "USER", "USER_ADMINISTRATOR"]
    both = sign_token(env.settings, olga, org.cvr, [OA, UA])
    assert "errors" not in await env.gql(USERS, token=both)
    inbox = (await env.gql(NOTIFICATIONS, token=both))["data"]["notifications"]["edges"]
    assert [n["node"]["kind"] for n in inbox] == []
    history = await env.gql(HISTORY_OF, {"id": gid(olga)}, token=both)
    assert [e["node"]["type"] for e in history["data"]["user"]["history"]["edges"]] == ["ROLE_ASSIGNED"]
    await asyncio.sleep(0.3)  # the outbox sender runs every 0.1 s in the tests
    assert len(env.mail.to(org.emails[OA])) == mailed_before


async def test_an_anonymous_persons_role_change_names_them_by_uuid_in_the_log(env: Env, org: OrgFixture) -> None:
    async with env.services.unit_of_work(org.actor(UA)) as uow:
        created = await lifecycle.create_user(uow, NewUser(
            first_name="Skjult", last_name="Person", email=f"skjult.{org.cvr}@example.dk", date_of_birth="1979-09-09",
            anonymous=True))
        await activate_directly(uow, created.user, dt.datetime.now(dt.UTC))
        await uow.commit()
    hidden = created.user.id
    assert (await assign(env, oa(env, org), hidden, "RIGHTS_ADMINISTRATOR"))["userErrors"] == []
    log = await env.gql("{ activities(first: 5, filter: {types: [ROLE_ASSIGNED]}) { edges { node { targetName } } } }",
                        token=token_for(env, org, UA))
    assert [e["node"]["targetName"] for e in log["data"]["activities"]["edges"]] == [str(hidden)]
    assert "Skjult" not in str(log)


async def test_only_organisation_administrators_assign_and_remove_roles(env: Env, org: OrgFixture) -> None:
    target = org.people[U]
    before = await env.count_rows(activities)
    for role in (UA, RA, U):
        for text in (ASSIGN, REMOVE):
            body = await env.gql(text, {"input": {"userId": gid(org.people[role]), "role": "ORGANISATION_ADMINISTRATOR"}},
                                 token=token_for(env, org, role))
            assert body["errors"][0]["extensions"]["code"] == "FORBIDDEN", (role, body)
            assert body["data"] is None
    # Not even to themselves, and not with a token claiming ORGANISATION_ADMINISTRATOR.
    claims = sign_token(env.settings, org.people[UA], org.cvr, [UA, OA])
    body = await env.gql(ASSIGN, {"input": {"userId": gid(org.people[UA]), "role": "ORGANISATION_ADMINISTRATOR"}},
                         token=claims)
    assert body["errors"][0]["extensions"]["code"] == "FORBIDDEN"
    without = await env.gql(ASSIGN, {"input": {"userId": gid(target), "role": "USER_ADMINISTRATOR"}})
    assert without["errors"][0]["extensions"]["code"] == "UNAUTHENTICATED"
    assert await held(env, target) == {"USER"}
    assert await held(env, org.people[UA]) == {"USER_ADMINISTRATOR"}
    assert await env.count_rows(activities) == before


async def test_another_organisations_user_behaves_exactly_like_a_missing_one(
    env: Env, org: OrgFixture, other_org: OrgFixture
) -> None:
    foreign = other_org.people[U]
    foreign_oa = other_org.people[OA]
    for text, role in ((ASSIGN, "USER_ADMINISTRATOR"), (REMOVE, "ORGANISATION_ADMINISTRATOR")):
        answers = [
            await env.gql(text, {"input": {"userId": target, "role": role}}, token=oa(env, org))
            for target in (gid(foreign if text is ASSIGN else foreign_oa), gid(uuid.uuid4()))
        ]
        assert answers[0] == answers[1], answers
        payload = next(iter(answers[0]["data"].values()))
        assert payload["user"] is None
        assert codes(payload) == [(["userId"], "NOT_FOUND")]
    # An id that is not a User's, or no id at all, is NOT_FOUND too.
    for bad in (str(to_global_id("UserGroup", uuid.uuid4())), "not-an-id"):
        payload = await assign(env, oa(env, org), bad, "USER_ADMINISTRATOR")
        assert codes(payload) == [(["userId"], "NOT_FOUND")]
    assert await held(env, foreign) == {"USER"}
    assert await held(env, foreign_oa) == {"ORGANISATION_ADMINISTRATOR"}
    seen = await env.gql(ROLES_OF, {"id": gid(foreign)}, token=oa(env, org))
    assert seen == {"data": {"user": None}}


@pytest.mark.parametrize("status", [UserStatus.CREATED, UserStatus.PENDING_ACTIVATION, UserStatus.DEACTIVATED])
async def test_only_active_users_are_given_a_role(env: Env, org: OrgFixture, status: UserStatus) -> None:
    target = await person(env, org, f"Status{status.value.title().replace('_', '')}", status=status)
    payload = await assign(env, oa(env, org), target, "USER_ADMINISTRATOR")
    assert payload["user"] is None
    assert codes(payload) == [(["userId"], "INVALID_STATUS")]
    assert await held(env, target) == set()


async def test_a_deleted_user_is_user_deleted(env: Env, org: OrgFixture) -> None:
    gone = await person(env, org, "Slettet", status=UserStatus.DELETED)
    for call in (assign, remove):
        payload = await call(env, oa(env, org), gone, "USER_ADMINISTRATOR")
        assert payload["user"] is None
        assert codes(payload) == [(["userId"], "USER_DELETED")]
    assert await held(env, gone) == set()


async def test_a_deactivated_administrator_loses_a_role_and_the_user_role_is_not_shown(env: Env, org: OrgFixture) -> None:
    target = await person(env, org, "Pauset")
    assert (await assign(env, oa(env, org), target, "RIGHTS_ADMINISTRATOR"))["userErrors"] == []
    body = await env.gql("mutation($i: DeactivateUserInput!) { deactivateUser(input: $i) { userErrors { code } } }",
                         {"i": {"userId": gid(target)}}, token=token_for(env, org, UA))
    assert body["data"]["deactivateUser"]["userErrors"] == []
    shown = await env.gql(ROLES_OF, {"id": gid(target)}, token=oa(env, org))
    assert shown["data"]["user"]["roles"] == ["RIGHTS_ADMINISTRATOR"]  # held, but no longer a user who may act
    taken = await remove(env, oa(env, org), target, "RIGHTS_ADMINISTRATOR")
    assert taken["userErrors"] == [] and taken["user"]["roles"] == []
    assert await held(env, target) == set()


async def test_user_is_neither_assigned_nor_removed(env: Env, org: OrgFixture) -> None:
    target = org.people[UA]
    for call in (assign, remove):
        payload = await call(env, oa(env, org), target, "USER")
        assert payload["user"] is None
        assert codes(payload) == [(["role"], "ROLE_NOT_ASSIGNABLE")]
    assert await held(env, target) == {"USER_ADMINISTRATOR"}


async def test_an_unknown_role_is_a_variable_error(env: Env, org: OrgFixture) -> None:
    response = await env.client.post("/graphql", json={"query": ASSIGN, "variables": {
        "input": {"userId": gid(org.people[U]), "role": "SUPER_ADMINISTRATOR"}}},
        headers={"Authorization": f"Bearer {oa(env, org)}"})
    assert response.status_code == 200
    assert response.json()["errors"][0]["extensions"]["code"] == "BAD_USER_INPUT"


async def test_assigning_a_held_role_or_removing_one_not_held_succeeds_and_writes_nothing(
    env: Env, org: OrgFixture
) -> None:
    before = (await env.count_rows(activities), await env.count_rows(notifications))
    again = await assign(env, oa(env, org), org.people[UA], "USER_ADMINISTRATOR")
    assert again["userErrors"] == [] and again["user"]["roles"] == ["USER", "USER_ADMINISTRATOR"]
    absent = await remove(env, oa(env, org), org.people[U], "RIGHTS_ADMINISTRATOR")
    assert absent["userErrors"] == [] and absent["user"]["roles"] == ["USER"]
    assert (await env.count_rows(activities), await env.count_rows(notifications)) == before


# --- the last organisation administrator -----------------------------------------------------------


async def test_the_last_organisation_administrator_cannot_be_removed(env: Env, org: OrgFixture) -> None:
    olga = org.people[OA]
    before = await env.count_rows(activities)
    payload = await remove(env, oa(env, org), olga, "ORGANISATION_ADMINISTRATOR")
    assert payload["user"] is None
    assert codes(payload) == [(["userId"], "LAST_ORGANISATION_ADMINISTRATOR")]
    assert await held(env, olga) == {"ORGANISATION_ADMINISTRATOR"}
    assert await env.count_rows(activities) == before

    # A deactivated organisation administrator does not keep the organisation administered.
    paused = await person(env, org, "Reserve")
    assert (await assign(env, oa(env, org), paused, "ORGANISATION_ADMINISTRATOR"))["userErrors"] == []
    body = await env.gql("mutation($i: DeactivateUserInput!) { deactivateUser(input: $i) { userErrors { code } } }",
                         {"i": {"userId": gid(paused)}}, token=token_for(env, org, UA))
    assert body["data"]["deactivateUser"]["userErrors"] == []
    payload = await remove(env, oa(env, org), olga, "ORGANISATION_ADMINISTRATOR")
    assert codes(payload) == [(["userId"], "LAST_ORGANISATION_ADMINISTRATOR")]
    # ... and its role can be taken although it is the only other holder.
    assert (await remove(env, oa(env, org), paused, "ORGANISATION_ADMINISTRATOR"))["userErrors"] == []

    # With a second active one, an administrator may step down; the successor then may not.
    ulla = org.people[UA]
    assert (await assign(env, oa(env, org), ulla, "ORGANISATION_ADMINISTRATOR"))["userErrors"] == []
    stepped = await remove(env, oa(env, org), olga, "ORGANISATION_ADMINISTRATOR")
    assert stepped["userErrors"] == [] and stepped["user"]["roles"] == ["USER"]
    assert (await env.gql(USERS, token=oa(env, org)))["errors"][0]["extensions"]["code"] == "FORBIDDEN"
    successor = sign_token(env.settings, ulla, org.cvr, [UA, OA])
    payload = await remove(env, successor, ulla, "ORGANISATION_ADMINISTRATOR")
    assert codes(payload) == [(["userId"], "LAST_ORGANISATION_ADMINISTRATOR")]
    assert await held(env, ulla) == {"USER_ADMINISTRATOR", "ORGANISATION_ADMINISTRATOR"}


async def test_two_administrators_removing_each_other_at_once_leave_one(env: Env, org: OrgFixture) -> None:
    olga, ulla = org.people[OA], org.people[UA]
    for _ in range(3):
        assert (await assign(env, oa(env, org), ulla, "ORGANISATION_ADMINISTRATOR"))["userErrors"] == []
        olga_token = sign_token(env.settings, olga, org.cvr, [OA])
        ulla_token = sign_token(env.settings, ulla, org.cvr, [UA, OA])
        bodies = await asyncio.wait_for(asyncio.gather(
            env.gql(REMOVE, {"input": {"userId": gid(ulla), "role": "ORGANISATION_ADMINISTRATOR"}}, token=olga_token),
            env.gql(REMOVE, {"input": {"userId": gid(olga), "role": "ORGANISATION_ADMINISTRATOR"}}, token=ulla_token),
        ), 60)
        # One succeeds. The other is refused: by the rule, or - when the first had committed before
        # the second request began - because its caller is no longer an organisation administrator.
        outcomes = sorted(
            ("FORBIDDEN",) if "errors" in b else tuple(c for _, c in codes(b["data"]["removeRole"])) for b in bodies
        )
        assert outcomes in ([(), ("LAST_ORGANISATION_ADMINISTRATOR",)], [(), ("FORBIDDEN",)]), bodies
        assert all(b["errors"][0]["extensions"]["code"] == "FORBIDDEN" for b in bodies if "errors" in b), bodies
        holders = [p for p in (olga, ulla) if "ORGANISATION_ADMINISTRATOR" in await held(env, p)]
        assert len(holders) == 1, holders
        if holders == [ulla]:  # Olga was removed: give it back for the next round
            back = await assign(env, sign_token(env.settings, ulla, org.cvr, [UA, OA]), olga, "ORGANISATION_ADMINISTRATOR")
            assert back["userErrors"] == []
            assert (await remove(env, oa(env, org), ulla, "ORGANISATION_ADMINISTRATOR"))["userErrors"] == []


async def test_a_role_change_does_not_wait_for_other_writes_of_the_organisation(env: Env, org: OrgFixture) -> None:
    """The role changes' lock on the organisation (PostgreSQL) is FOR NO KEY UPDATE: another open
    transaction that wrote a history entry (its foreign key holds FOR KEY SHARE on the organisation)
    neither blocks it nor deadlocks with it."""
    if env.backend == "sqlite":
        pytest.skip("SQLite serialises every writer; there is no row lock to test")
    async with env.services.unit_of_work(org.actor(UA)) as uow:
        user = await uow.users.get(org.people[RA])
        assert user is not None
        await record(uow, ActivityType.USER_UPDATED, "An open change", target=user)
        given = await asyncio.wait_for(assign(env, oa(env, org), org.people[U], "RIGHTS_ADMINISTRATOR"), 10)
        assert given["userErrors"] == []
        await uow.rollback()
    assert await held(env, org.people[U]) == {"USER", "RIGHTS_ADMINISTRATOR"}


async def test_taking_the_last_organisation_administrator_out_of_service_can_be_refused(
    env: Env, org: OrgFixture
) -> None:
    """`check_leaves_an_organisation_administrator`, for deactivateUser / deleteUser to call."""
    olga = org.people[OA]
    async with env.services.unit_of_work(org.actor(UA)) as uow:
        with pytest.raises(DomainError) as refused:
            await check_leaves_an_organisation_administrator(uow, olga)
        assert refused.value.code == "LAST_ORGANISATION_ADMINISTRATOR"
        await check_leaves_an_organisation_administrator(uow, org.people[UA])  # not one
        await check_leaves_an_organisation_administrator(uow, uuid.uuid4())  # nobody
    assert (await assign(env, oa(env, org), org.people[UA], "ORGANISATION_ADMINISTRATOR"))["userErrors"] == []
    async with env.services.unit_of_work(org.actor(UA)) as uow:
        await check_leaves_an_organisation_administrator(uow, olga)  # another one stays


# --- who sees User.roles ---------------------------------------------------------------------------


async def test_administrators_see_colleagues_roles_a_user_only_their_own(
    env: Env, org: OrgFixture, other_org: OrgFixture
) -> None:
    ulla = org.people[UA]
    for role in (OA, UA, RA):
        seen = await env.gql(ROLES_OF, {"id": gid(ulla)}, token=token_for(env, org, role))
        assert seen == {"data": {"user": {"uuid": str(ulla), "roles": ["USER", "USER_ADMINISTRATOR"]}}}, (role, seen)
    listed = await env.gql("{ users(first: 50) { edges { node { uuid roles } } } }", token=token_for(env, org, RA))
    by_user = {e["node"]["uuid"]: e["node"]["roles"] for e in listed["data"]["users"]["edges"]}
    assert by_user[str(org.people[OA])] == ["ORGANISATION_ADMINISTRATOR", "USER"]
    assert by_user[str(org.people[U])] == ["USER"]
    # A plain user: their own roles, nobody else's.
    own = await env.gql("{ viewer { user { roles } } }", token=token_for(env, org, U))
    assert own == {"data": {"viewer": {"user": {"roles": ["USER"]}}}}
    assert await env.gql(ROLES_OF, {"id": gid(ulla)}, token=token_for(env, org, U)) == {"data": {"user": None}}
    node = await env.gql("query($id: ID!) { node(id: $id) { ... on User { roles } } }", {"id": gid(ulla)},
                         token=token_for(env, org, U))
    assert node == {"data": {"node": None}}
    # Another organisation's administrators: nothing.
    assert await env.gql(ROLES_OF, {"id": gid(ulla)}, token=token_for(env, other_org, OA)) == {"data": {"user": None}}


# --- the rights administrator's part -----------------------------------------------------------------


async def test_a_rights_administrator_views_billing_and_certificate_settings_but_changes_neither(
    env: Env, org: OrgFixture
) -> None:
    token = token_for(env, org, RA)
    billing = await env.gql("{ billing { method counts { users } } }", token=token)
    assert "errors" not in billing, billing
    assert billing["data"]["billing"]["counts"]["users"] >= len(org.people)
    settings = await env.gql("{ settings { certificates { userCertificates organisationCertificates qualified } } }",
                             token=token)
    assert "errors" not in settings, settings
    assert set(settings["data"]["settings"]["certificates"]) == {"userCertificates", "organisationCertificates", "qualified"}
    for text in (
        "mutation { updateBilling(input: {method: EMAIL, email: \"faktura@example.dk\"}) { userErrors { code } } }",
        "mutation { updateOrganisationSettings(input: {certificates: {qualified: true}}) { userErrors { code } } }",
    ):
        body = await env.gql(text, token=token)
        assert body["errors"][0]["extensions"]["code"] == "FORBIDDEN", body
    plain = await env.gql("{ billing { method } }", token=token_for(env, org, U))
    assert plain["errors"][0]["extensions"]["code"] == "FORBIDDEN"


# --- the rules, without a database ------------------------------------------------------------------


def _user(status: UserStatus) -> User:
    return User(id=uuid.uuid4(), org_id=1, first_name="A", last_name="B", email="a@example.dk", phone=None,
                reference=None, identification=Identification.DATE_OF_BIRTH, cpr_masked=None, date_of_birth=None,
                anonymous=False, status=status, p_number=None, se_number=None, can_sign=False, can_create_seal=False,
                created_at=dt.datetime.now(dt.UTC))


def test_the_policy_gives_roles_to_organisation_administrators_and_billing_views_to_rights_administrators() -> None:
    assert POLICY[Action.ASSIGN_ROLE] == POLICY[Action.REMOVE_ROLE] == frozenset({OA})
    assert RA in POLICY[Action.VIEW_BILLING] and RA in POLICY[Action.VIEW_SETTINGS]
    assert RA not in POLICY[Action.UPDATE_BILLING] and RA not in POLICY[Action.UPDATE_SETTINGS]


def test_rules_of_assigning_and_removing() -> None:
    for role in (OA, UA, RA):
        check_assignable(role)
    with pytest.raises(DomainError) as refused:
        check_assignable(U)
    assert refused.value.code == "ROLE_NOT_ASSIGNABLE" and refused.value.field == ["role"]
    check_may_receive(_user(UserStatus.ACTIVE))
    for status in (UserStatus.CREATED, UserStatus.PENDING_ACTIVATION, UserStatus.DEACTIVATED, UserStatus.DELETED):
        with pytest.raises(DomainError) as refused:
            check_may_receive(_user(status))
        assert refused.value.code == "INVALID_STATUS"
    active, paused = _user(UserStatus.ACTIVE), _user(UserStatus.DEACTIVATED)
    with pytest.raises(DomainError) as refused:
        check_removal_keeps_an_organisation_administrator(active, OA, 1)
    assert refused.value.code == "LAST_ORGANISATION_ADMINISTRATOR"
    check_removal_keeps_an_organisation_administrator(active, OA, 2)
    check_removal_keeps_an_organisation_administrator(paused, OA, 1)  # does not lower the active count
    check_removal_keeps_an_organisation_administrator(active, UA, 1)
    assert effective_roles({UA}, UserStatus.ACTIVE) == [U, UA]
    assert effective_roles([U], UserStatus.ACTIVE) == [U]
    assert effective_roles({RA}, UserStatus.DEACTIVATED) == [RA]
