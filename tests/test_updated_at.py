"""`updatedAt` on users, groups, certificates and powers of attorney, and users' `lastSeenAt` (issue 17).

Each step moves the stored time far back first (straight in the database), then shows through the
API that the change under test moved it forward again, or that a read left it where it was."""

from __future__ import annotations

import datetime as dt
import logging
import time
import uuid
from typing import Any

import pytest
from sqlalchemy import select, update

from app.adapters.jwt import sign_token
from app.domain.common.principal import Role
from app.persistence.db import begin_write
from app.persistence.tables.certificates import certificates
from app.persistence.tables.powers_of_attorney import powers_of_attorney
from app.persistence.tables.user_groups import user_groups
from app.persistence.tables.users import users
from app.schema.runtime.base import to_global_id, uuid_of
from tests.conftest import Env, OrgFixture, token_for
from tests.test_bulk_import import created_ok, csv_file, person, run_job
from tests.test_certificates import REVOKE, issued_org_certificate, payload
from tests.test_powers_of_attorney import CREATE as CREATE_POA
from tests.test_powers_of_attorney import REVOKE as REVOKE_POA
from tests.test_powers_of_attorney import give
from tests.test_user_groups import ADD_USERS, REMOVE_USER, active_user, create_group, ok
from tests.test_users_lifecycle import create_ok as create_user_ok

LONG_AGO = dt.datetime(2020, 1, 2, 3, 4, 5, tzinfo=dt.UTC)

USER = "query($id: ID!) { user(id: $id) { uuid createdAt updatedAt lastSeenAt lastLoginAt } }"
GROUP = "query($id: ID!) { userGroup(id: $id) { id createdAt updatedAt members { totalCount } } }"
CERTIFICATE = "query($id: ID!) { certificate(id: $id) { id status orderedAt updatedAt } }"
POWERS = "query { powersOfAttorney(direction: GRANTED) { edges { node { id status updatedAt } } } }"
VIEWER = "query { viewer { user { uuid lastSeenAt updatedAt } } }"
UPDATE_USER = """mutation($input: UpdateUserInput!) {
  updateUser(input: $input) { user { updatedAt rights } userErrors { field code } } }"""
SET_AUTHENTICATORS = """mutation($input: SetUserAuthenticatorsInput!) {
  setUserAuthenticators(input: $input) { user { updatedAt authenticators } userErrors { field code } } }"""
ASSIGN_ROLE = """mutation($input: AssignRoleInput!) {
  assignRole(input: $input) { user { uuid roles updatedAt } userErrors { field code } } }"""
REMOVE_ROLE = """mutation($input: RemoveRoleInput!) {
  removeRole(input: $input) { user { uuid roles } userErrors { field code } } }"""
UPDATE_GROUP = """mutation($input: UpdateUserGroupInput!) {
  updateUserGroup(input: $input) { group { updatedAt } userErrors { field code } } }"""
CERTIFICATE_RIGHTS = """mutation($input: UpdateCertificateRightsInput!) {
  updateCertificateRights(input: $input) { certificate { updatedAt systemRights } userErrors { field code } } }"""


def moment(value: str | None) -> dt.datetime:
    assert value is not None
    return dt.datetime.fromisoformat(value)


def user_gid(user_id: uuid.UUID | str) -> str:
    return str(to_global_id("User", user_id))


def raw(global_id: str, type_name: str) -> uuid.UUID:
    found = uuid_of(global_id, type_name)
    assert found is not None, global_id
    return found


async def age(env: Env, table: Any, row_id: uuid.UUID | str, **columns: dt.datetime | None) -> None:
    """Move a row's times back (or clear them), straight in the database (`updated_at` as well unless
    given: this UPDATE stamps it too)."""
    async with env.engine.begin() as conn:
        await conn.execute(update(table).where(table.c.id == uuid.UUID(str(row_id))).values(**(columns or {"updated_at": LONG_AGO})))


async def stored(env: Env, table: Any, row_id: uuid.UUID | str, column: str = "updated_at") -> dt.datetime | None:
    async with env.engine.connect() as conn:
        value = (await conn.execute(select(table.c[column]).where(table.c.id == uuid.UUID(str(row_id))))).scalar_one()
    return value


async def user_times(env: Env, org: OrgFixture, user_id: uuid.UUID | str) -> dict[str, Any]:
    data = ok(await env.gql(USER, {"id": user_gid(user_id)}, token=token_for(env, org, Role.USER_ADMINISTRATOR)))
    return data["user"]


async def test_a_new_user_is_updated_when_created_and_updateuser_moves_it_on(env: Env, org: OrgFixture) -> None:
    created = (await create_user_ok(env, org))["user"]
    user_id = uuid.UUID(created["uuid"])
    fresh = await user_times(env, org, user_id)
    # The same transaction (the activation code is stored right after the row): createdAt-ish.
    assert dt.timedelta(0) <= moment(fresh["updatedAt"]) - moment(fresh["createdAt"]) < dt.timedelta(seconds=2), fresh
    await age(env, users, user_id)
    ua = token_for(env, org, Role.USER_ADMINISTRATOR)
    before = dt.datetime.now(dt.UTC)
    changed = ok(await env.gql(UPDATE_USER, {"input": {"userId": created["id"], "reference": "R-17"}}, token=ua))
    assert changed["updateUser"]["userErrors"] == []
    assert moment(changed["updateUser"]["user"]["updatedAt"]) >= before  # the payload shows the new time
    assert moment((await user_times(env, org, user_id))["updatedAt"]) >= before


async def test_a_read_does_not_move_updated_at(env: Env, org: OrgFixture) -> None:
    user = await active_user(env, org, "Laesning")
    await age(env, users, user["uuid"])
    for _ in range(2):
        assert moment((await user_times(env, org, user["uuid"]))["updatedAt"]) == LONG_AGO
    assert await stored(env, users, user["uuid"]) == LONG_AGO


async def test_rights_authenticators_and_roles_held_elsewhere_move_the_users_updated_at(env: Env, org: OrgFixture) -> None:
    user = await active_user(env, org, "Boern")
    ua = token_for(env, org, Role.USER_ADMINISTRATOR)
    oa = token_for(env, org, Role.ORGANISATION_ADMINISTRATOR)

    await age(env, users, user["uuid"])
    rights = ok(await env.gql(UPDATE_USER, {"input": {"userId": user["id"], "rights": ["SKAT.MOMS"]}}, token=ua))
    assert rights["updateUser"]["userErrors"] == [] and rights["updateUser"]["user"]["rights"] == ["SKAT.MOMS"]
    assert await stored(env, users, user["uuid"]) > LONG_AGO

    await age(env, users, user["uuid"])
    auth = ok(await env.gql(SET_AUTHENTICATORS, {"input": {"userId": user["id"], "authenticators": ["MITID_APP"]}},
                            token=ua))
    assert auth["setUserAuthenticators"]["userErrors"] == [], auth
    assert moment(auth["setUserAuthenticators"]["user"]["updatedAt"]) > LONG_AGO
    assert await stored(env, users, user["uuid"]) > LONG_AGO

    await age(env, users, user["uuid"])
    given = ok(await env.gql(ASSIGN_ROLE, {"input": {"userId": user["id"], "role": "USER_ADMINISTRATOR"}}, token=oa))
    assert given["assignRole"]["userErrors"] == [], given
    assert "USER_ADMINISTRATOR" in given["assignRole"]["user"]["roles"]
    assert moment((await user_times(env, org, user["uuid"]))["updatedAt"]) > LONG_AGO

    await age(env, users, user["uuid"])
    taken = ok(await env.gql(REMOVE_ROLE, {"input": {"userId": user["id"], "role": "USER_ADMINISTRATOR"}}, token=oa))
    assert taken["removeRole"]["userErrors"] == [], taken
    assert moment((await user_times(env, org, user["uuid"]))["updatedAt"]) > LONG_AGO


async def test_group_membership_and_rights_move_the_groups_and_the_members_updated_at(env: Env, org: OrgFixture) -> None:
    oa = token_for(env, org, Role.ORGANISATION_ADMINISTRATOR)
    group_id = await create_group(env, org, f"Gruppe {uuid.uuid4().hex[:6]}", ["SKAT.MOMS"])
    group_uuid = raw(group_id, "UserGroup")
    member = await active_user(env, org, "Medlem")
    bystander = await active_user(env, org, "Tilskuer")
    first = ok(await env.gql(GROUP, {"id": group_id}, token=oa))["userGroup"]
    assert abs(moment(first["createdAt"]) - moment(first["updatedAt"])) < dt.timedelta(seconds=1), first

    for table, row in ((user_groups, group_uuid), (users, member["uuid"]), (users, bystander["uuid"])):
        await age(env, table, row)
    ua = token_for(env, org, Role.USER_ADMINISTRATOR)  # who manages the members
    added = ok(await env.gql(ADD_USERS, {"g": group_id, "u": [member["id"]]}, token=ua))["addUsersToGroup"]
    assert added["userErrors"] == [], added
    group = ok(await env.gql(GROUP, {"id": group_id}, token=oa))["userGroup"]
    assert group["members"]["totalCount"] == 1 and moment(group["updatedAt"]) > LONG_AGO
    assert moment((await user_times(env, org, member["uuid"]))["updatedAt"]) > LONG_AGO
    assert moment((await user_times(env, org, bystander["uuid"]))["updatedAt"]) == LONG_AGO  # not in it

    await age(env, user_groups, group_uuid)
    await age(env, users, member["uuid"])
    removed = ok(await env.gql(REMOVE_USER, {"g": group_id, "u": member["id"]}, token=ua))["removeUserFromGroup"]
    assert removed["userErrors"] == [], removed
    assert moment(ok(await env.gql(GROUP, {"id": group_id}, token=oa))["userGroup"]["updatedAt"]) > LONG_AGO
    assert moment((await user_times(env, org, member["uuid"]))["updatedAt"]) > LONG_AGO

    await age(env, user_groups, group_uuid)
    renamed = ok(await env.gql(UPDATE_GROUP, {"input": {"groupId": group_id, "rights": ["SKAT.REFUSION"]}}, token=oa))
    assert renamed["updateUserGroup"]["userErrors"] == [], renamed
    assert moment(renamed["updateUserGroup"]["group"]["updatedAt"]) > LONG_AGO
    assert await stored(env, user_groups, group_uuid) > LONG_AGO

    await age(env, user_groups, group_uuid)
    ok(await env.gql(GROUP, {"id": group_id}, token=oa))  # a read
    assert await stored(env, user_groups, group_uuid) == LONG_AGO


async def test_revoking_a_certificate_or_changing_its_rights_moves_its_updated_at(env: Env, org: OrgFixture) -> None:
    ua = token_for(env, org, Role.USER_ADMINISTRATOR)
    issued = await issued_org_certificate(env, org)
    cert_id = issued["certificate"]["id"]
    cert_uuid = raw(cert_id, "Certificate")
    read = ok(await env.gql(CERTIFICATE, {"id": cert_id}, token=ua))["certificate"]
    assert moment(read["updatedAt"]) >= moment(read["orderedAt"])

    await age(env, certificates, cert_uuid)
    assert moment(ok(await env.gql(CERTIFICATE, {"id": cert_id}, token=ua))["certificate"]["updatedAt"]) == LONG_AGO
    rights = payload(await env.gql(CERTIFICATE_RIGHTS, {"input": {"certificateId": cert_id, "systemRights": ["SKAT.MOMS"]}},
                                   token=ua), "updateCertificateRights")
    assert rights["certificate"]["systemRights"] == ["SKAT.MOMS"]
    assert await stored(env, certificates, cert_uuid) > LONG_AGO

    await age(env, certificates, cert_uuid)
    revoked = payload(await env.gql(REVOKE, {"input": {"certificateId": cert_id, "reason": "KEY_COMPROMISE_SUSPECTED"}}, token=ua),
                      "revokeCertificate")
    assert revoked["certificate"]["status"] == "REVOKED"
    after = ok(await env.gql(CERTIFICATE, {"id": cert_id}, token=ua))["certificate"]
    assert moment(after["updatedAt"]) > LONG_AGO


async def test_revoking_a_power_of_attorney_moves_its_updated_at(env: Env, org: OrgFixture, other_org: OrgFixture) -> None:
    oa = token_for(env, org, Role.ORGANISATION_ADMINISTRATOR)
    created = ok(await env.gql(CREATE_POA, give(org, other_org), token=oa))["createPowerOfAttorney"]
    assert created["userErrors"] == []
    poa_id = created["powerOfAttorney"]["id"]
    poa_uuid = raw(poa_id, "PowerOfAttorney")
    await age(env, powers_of_attorney, poa_uuid)
    listed = ok(await env.gql(POWERS, token=oa))["powersOfAttorney"]["edges"]
    assert [moment(e["node"]["updatedAt"]) for e in listed if e["node"]["id"] == poa_id] == [LONG_AGO]
    revoked = ok(await env.gql(REVOKE_POA, {"id": poa_id}, token=oa))["revokePowerOfAttorney"]
    assert revoked["userErrors"] == []
    listed = ok(await env.gql(POWERS, token=oa))["powersOfAttorney"]["edges"]
    node = next(e["node"] for e in listed if e["node"]["id"] == poa_id)
    assert node["status"] == "REVOKED" and moment(node["updatedAt"]) > LONG_AGO


async def test_last_seen_is_set_by_a_request_at_most_every_five_minutes_and_is_not_a_change(
    env: Env, org: OrgFixture
) -> None:
    user = await active_user(env, org, "Set")
    token = sign_token(env.settings, uuid.UUID(user["uuid"]), org.cvr, [Role.USER])
    await age(env, users, user["uuid"], updated_at=LONG_AGO, last_seen_at=None)

    before = dt.datetime.now(dt.UTC)
    first = ok(await env.gql(VIEWER, token=token))["viewer"]["user"]
    seen = await stored(env, users, user["uuid"], "last_seen_at")
    assert seen is not None and seen >= before
    assert first["lastSeenAt"] in (None, seen.isoformat())  # the request's own read: before or after the write
    assert await stored(env, users, user["uuid"]) == LONG_AGO  # being seen is not a change

    second = ok(await env.gql(VIEWER, token=token))["viewer"]["user"]
    assert moment(second["lastSeenAt"]) == seen
    assert await stored(env, users, user["uuid"], "last_seen_at") == seen  # within 5 minutes: not written

    six_minutes_ago = dt.datetime.now(dt.UTC) - dt.timedelta(minutes=6)
    await age(env, users, user["uuid"], last_seen_at=six_minutes_ago, updated_at=LONG_AGO)
    ok(await env.gql(VIEWER, token=token))
    again = await stored(env, users, user["uuid"], "last_seen_at")
    assert again is not None and again > six_minutes_ago + dt.timedelta(minutes=5)
    listed = await user_times(env, org, user["uuid"])
    assert moment(listed["lastSeenAt"]) == again and moment(listed["updatedAt"]) == LONG_AGO


async def test_a_mutation_sets_last_seen_as_well(env: Env, org: OrgFixture) -> None:
    ua_id = org.people[Role.USER_ADMINISTRATOR]
    await age(env, users, ua_id, last_seen_at=None)
    created = await create_user_ok(env, org)  # a write request of the user administrator
    assert created["user"]["uuid"]
    assert await stored(env, users, ua_id, "last_seen_at") is not None


async def test_an_unauthenticated_or_refused_request_sets_no_last_seen(env: Env, org: OrgFixture) -> None:
    user = await active_user(env, org, "Ingen")
    await age(env, users, user["uuid"], last_seen_at=None)
    body = await env.gql(VIEWER)
    assert body["errors"][0]["extensions"]["code"] == "UNAUTHENTICATED"
    wrong_org = sign_token(env.settings, uuid.UUID(user["uuid"]), "12345674", [Role.USER])
    refused = await env.gql(VIEWER, token=wrong_org)
    assert refused["errors"][0]["extensions"]["code"] == "UNAUTHENTICATED"
    assert await stored(env, users, user["uuid"], "last_seen_at") is None


async def test_a_busy_user_row_neither_holds_up_nor_fails_the_request(
    env: Env, org: OrgFixture, caplog: pytest.LogCaptureFixture
) -> None:
    """Another transaction holds the person's row (PostgreSQL: a row lock, as an edit or an import
    batch takes; SQLite: the write lock): the request answers, last seen is simply not noted, and
    the next request notes it."""
    user = await active_user(env, org, "Travl")
    user_id = uuid.UUID(user["uuid"])
    token = sign_token(env.settings, user_id, org.cvr, [Role.USER])
    await age(env, users, user_id, last_seen_at=None)
    holder = await begin_write(env.engine)
    try:
        if env.backend == "postgresql":
            await holder.execute(select(users.c.id).where(users.c.id == user_id).with_for_update())
        started = time.monotonic()
        with caplog.at_level(logging.WARNING, logger="app.actors"):
            body = await env.gql(VIEWER, token=token)
        assert "errors" not in body, body
        assert body["data"]["viewer"]["user"]["uuid"] == str(user_id)
        assert time.monotonic() - started < 10
        if env.backend == "sqlite":  # waited its second for the lock, then gave up: logged, without the token
            warnings = [r for r in caplog.records if r.name == "app.actors" and r.levelno == logging.WARNING]
            assert warnings and all(token not in r.getMessage() for r in warnings), caplog.records
    finally:
        await holder.rollback()
        await holder.close()
    assert await stored(env, users, user_id, "last_seen_at") is None
    ok(await env.gql(VIEWER, token=token))
    assert await stored(env, users, user_id, "last_seen_at") is not None


async def test_an_import_update_moves_the_changed_users_updated_at_only(env: Env, org: OrgFixture) -> None:
    by_email = await created_ok(env, org, [person(i) for i in range(3)])
    people = [by_email[f"ase{i}@example.dk"] for i in range(3)]
    for p in people:
        fresh = await user_times(env, org, p["uuid"])
        assert dt.timedelta(0) <= moment(fresh["updatedAt"]) - moment(fresh["createdAt"]) < dt.timedelta(seconds=2)
        await age(env, users, p["uuid"])
    updates = [
        {"Bruger-UUID": people[0]["uuid"], "E-mail": "ase0@example.dk", "Reference": "NY"},
        {"Bruger-UUID": people[1]["uuid"], "E-mail": "ase1@example.dk", "Rettigheder": "SKAT.MOMS"},
        {"Bruger-UUID": people[2]["uuid"], "E-mail": "ase2@example.dk"},
    ]
    job = await run_job(env, org, csv_file(updates), "UPDATE")
    assert (job["status"], job["result"]["updated"], job["result"]["unchanged"]) == ("SUCCEEDED", 2, 1), job
    times = [moment((await user_times(env, org, p["uuid"]))["updatedAt"]) for p in people]
    assert times[0] > LONG_AGO and times[1] > LONG_AGO and times[2] == LONG_AGO, times


async def test_migration_0010_backfills_updated_at_from_the_rows_own_times(env: Env, tmp_path: Any) -> None:
    import contextlib

    from sqlalchemy import bindparam, text

    from app.persistence.base import UUID, UTCDateTime
    from app.persistence.db import make_engine
    from app.persistence.migrate import upgrade
    from tests.conftest import _postgres_database

    created, activated, revoked = (dt.datetime(2024, 1, d, 12, tzinfo=dt.UTC) for d in (1, 2, 3))
    user_id, group_id, cert_id, poa_id = (uuid.uuid4() for _ in range(4))
    types = {"created": UTCDateTime(), "activated": UTCDateTime(), "revoked": UTCDateTime(), "id": UUID}

    def sql(statement: str, *names: str) -> Any:
        return text(statement).bindparams(*(bindparam(n, type_=types[n]) for n in names))

    async with contextlib.AsyncExitStack() as stack:
        if env.backend == "sqlite":
            url = f"sqlite+aiosqlite:///{tmp_path / 'before-0010.db'}"
        else:
            url = await stack.enter_async_context(_postgres_database())
        engine = make_engine(url)
        stack.push_async_callback(engine.dispose)
        await upgrade(engine, "0009")
        async with engine.begin() as conn:
            org_id = (await conn.execute(sql("INSERT INTO organisations (cvr, name, created_at)"
                                             " VALUES ('12345674', 'Før ApS', :created) RETURNING id", "created"),
                                         {"created": created})).scalar_one()
            values = {"org": org_id, "created": created, "activated": activated, "revoked": revoked}
            await conn.execute(sql(
                "INSERT INTO users (id, org_id, first_name, last_name, email, email_lower, identification, status,"
                " created_at, activated_at) VALUES (:id, :org, 'A', 'B', 'a@example.dk', 'a@example.dk', 'CPR',"
                " 'ACTIVE', :created, :activated)", "id", "created", "activated"), {**values, "id": user_id})
            await conn.execute(sql(
                "INSERT INTO user_groups (id, org_id, kind, name, name_lower, created_at)"
                " VALUES (:id, :org, 'CUSTOM', 'G', 'g', :created)", "id", "created"), {**values, "id": group_id})
            await conn.execute(sql(
                "INSERT INTO certificates (id, org_id, kind, type, status, purposes, name, name_lower, ordered_at,"
                " revoked_at) VALUES (:id, :org, 'ORGANISATION', 'STANDARD', 'REVOKED', 'SEAL', 'C', 'c', :created,"
                " :revoked)", "id", "created", "revoked"), {**values, "id": cert_id})
            await conn.execute(sql(
                "INSERT INTO powers_of_attorney (id, granting_org_id, receiving_cvr, name, created_at, revoked_at)"
                " VALUES (:id, :org, '87654321', 'P', :created, :revoked)", "id", "created", "revoked"),
                {**values, "id": poa_id})
        await upgrade(engine, "0010")
        async with engine.connect() as conn:
            found = {
                table.name: (await conn.execute(select(table.c.updated_at).where(table.c.id == row))).scalar_one()
                for table, row in ((users, user_id), (user_groups, group_id), (certificates, cert_id),
                                   (powers_of_attorney, poa_id))
            }
            seen = (await conn.execute(select(users.c.last_seen_at).where(users.c.id == user_id))).scalar_one()
    assert found == {"users": activated, "user_groups": created, "certificates": revoked, "powers_of_attorney": revoked}
    assert seen is None
