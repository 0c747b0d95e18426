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

from app.domain.common.principal import Role
from app.persistence.tables.certificates import certificates
from app.persistence.tables.powers_of_attorney import powers_of_attorney
from app.persistence.tables.user_groups import user_group_members, user_groups
from app.persistence.tables.users import anonymity_requests, user_roles, users
from app.schema.runtime.base import to_global_id
from tests.conftest import Env, token_for
from tests.factories import OrgFixture, make_org

TYPES = ["User", "UserGroup", "Activity", "Notification", "BulkJob", "AnonymityRequest", "ExternalUser",
         "Certificate", "PowerOfAttorney", "Offset", "Organisation", "UserAccountRequest"]

QUERIES = {
    "user": "query($id: ID!) { user(id: $id) { id email } }",
    "node": "query($id: ID!) { node(id: $id) { id } }",
    "userGroup": "query($id: ID!) { userGroup(id: $id) { id name } }",
    "bulkJob": "query($id: ID!) { bulkJob(id: $id) { id } }",
    "certificate": "query($id: ID!) { certificate(id: $id) { id } }",
    "users": "query($id: ID!) { users(filter: {groupId: $id}) { edges { node { id } } } }",
    "certificates": "query($id: ID!) { certificates(filter: {userId: $id}) { edges { node { id } } } }",
    "activities": ("query($id: ID!) { activities(filter: {targetUserId: $id, actorId: $id, targetGroupId: $id}) "
                   "{ edges { node { id } } } }"),
}


def _m(name: str, input_type: str, fields: str, payload: str = "userErrors { code }") -> str:
    return f"mutation($id: ID!) {{ {name}(input: {{{fields}}}) {{ {payload} }} }}"


MUTATIONS = {
    "updateUser": _m("updateUser", "", 'userId: $id, phone: "+4511112222"'),
    "setUserAuthenticators": _m("setUserAuthenticators", "", "userId: $id, authenticators: [MITID_APP]"),
    "setUserOrganisationUnit": _m("setUserOrganisationUnit", "", 'userId: $id, pNumber: "1234567890"'),
    "resendActivationEmail": _m("resendActivationEmail", "", "userId: $id"),
    "generateActivationCode": _m("generateActivationCode", "", "userId: $id"),
    "deactivateUser": _m("deactivateUser", "", "userId: $id"),
    "reactivateUser": _m("reactivateUser", "", "userId: $id"),
    "deleteUser": _m("deleteUser", "", "userId: $id"),
    "sendUsersForActivation": _m("sendUsersForActivation", "", "userIds: [$id]"),
    "approveAnonymityRequest": _m("approveAnonymityRequest", "", "requestId: $id"),
    "rejectAnonymityRequest": _m("rejectAnonymityRequest", "", "requestId: $id"),
    "updateUserGroup": _m("updateUserGroup", "", 'groupId: $id, name: "Overtaget", rights: ["SKAT.MOMS"]'),
    "deleteUserGroup": _m("deleteUserGroup", "", "groupId: $id"),
    "addUsersToGroup": _m("addUsersToGroup", "", "groupId: $id, userIds: [$id]"),
    "removeUserFromGroup": _m("removeUserFromGroup", "", "groupId: $id, userId: $id"),
    "addExternalUserToGroup": _m("addExternalUserToGroup", "", "groupId: $id, externalUserId: $id"),
    "removeExternalUserFromGroup": _m("removeExternalUserFromGroup", "", "groupId: $id, externalUserId: $id"),
    "removeOwnUserFromExternalGroup": _m("removeOwnUserFromExternalGroup", "", "membershipId: $id"),
    "revokePowerOfAttorney": _m("revokePowerOfAttorney", "", "powerOfAttorneyId: $id"),
    "deleteWebhookEndpoint": _m("deleteWebhookEndpoint", "", "webhookEndpointId: $id"),
    "markNotificationsRead": _m("markNotificationsRead", "", "ids: [$id]", "marked userErrors { code }"),
    "orderUserCertificate": _m("orderUserCertificate", "", "userId: $id"),
    "orderOrganisationCertificate": _m("orderOrganisationCertificate", "", "profileId: $id"),
    "issueUserCertificate": _m("issueUserCertificate", "", 'certificateId: $id, password: "hemmeligt-1"'),
    "retrieveOrganisationCertificate": _m("retrieveOrganisationCertificate", "", 'certificateId: $id, password: "hemmeligt-1"'),
    "renewCertificate": _m("renewCertificate", "", 'certificateId: $id, password: "hemmeligt-1"'),
    "cancelCertificateOrder": _m("cancelCertificateOrder", "", "certificateId: $id"),
    "revokeCertificate": _m("revokeCertificate", "", "certificateId: $id, reason: KEY_LOST"),
    "revokeOwnCertificate": _m("revokeOwnCertificate", "", "certificateId: $id, reason: KEY_LOST"),
    "deleteCertificate": _m("deleteCertificate", "", "certificateId: $id"),
    "updateCertificateRights": _m("updateCertificateRights", "", "certificateId: $id, canSeal: true"),
    "approveUserAccountRequest": _m("approveUserAccountRequest", "", 'requestId: $id, cpr: "0101901234"'),
    "rejectUserAccountRequest": _m("rejectUserAccountRequest", "", "requestId: $id"),
    "assignRole": _m("assignRole", "", "userId: $id, role: ORGANISATION_ADMINISTRATOR"),
    "removeRole": _m("removeRole", "", "userId: $id, role: ORGANISATION_ADMINISTRATOR"),
}
# What a refused foreign or unknown id may answer with: "not there", or a rule that fires before
# the id is looked at (e.g. the caller's own state). Never success.
REFUSALS = {"NOT_FOUND", "SYSTEM_GROUP", "INVALID_STATUS", "USER_IDS_OR_ALL_IMPORTED", "CERTIFICATES_NOT_ALLOWED",
            "PASSWORD_TOO_SHORT", "INVALID_CSR"}
CURSOR_QUERY = "query($c: String) { users(first: 2, after: $c) { edges { node { id } } } activities(first: 2, after: $c) { totalCount } }"


@pytest.fixture
async def world(env: Env, org: OrgFixture) -> dict[str, Any]:
    """Another organisation with a custom group: the foreign ids a client might try."""
    foreign = await make_org(env.services, name="Fremmed")
    oa = token_for(env, foreign, Role.ORGANISATION_ADMINISTRATOR)
    body = await env.gql('mutation { createUserGroup(input: {name: "Hemmelig"}) { group { id } } }', token=oa)
    group = body["data"]["createUserGroup"]["group"]["id"]
    ua = token_for(env, foreign, Role.USER_ADMINISTRATOR)
    ordered = await env.gql("mutation($u: ID!) { orderUserCertificate(input: {userId: $u}) { certificate { id } } }",
                            {"u": to_global_id("User", foreign.people[Role.USER])}, token=ua)
    certificate = ordered["data"]["orderUserCertificate"]["certificate"]["id"]
    poa = await env.gql('mutation { createPowerOfAttorney(input: {receivingCvr: "11223346", name: "P", '
                        'rights: ["SKAT.MOMS"]}) { powerOfAttorney { id } } }', token=oa)
    request = await env.gql("mutation { requestAnonymity { request { id } } }",
                            token=token_for(env, foreign, Role.RIGHTS_ADMINISTRATOR))
    foreign_ids = [to_global_id("User", u) for u in foreign.people.values()] + [
        group, certificate, poa["data"]["createPowerOfAttorney"]["powerOfAttorney"]["id"],
        request["data"]["requestAnonymity"]["request"]["id"],
    ]
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
        certs = sorted((await conn.execute(select(certificates.c.id, certificates.c.status, certificates.c.can_seal)
                                           .where(certificates.c.org_id == foreign.org_id))).all())
        powers = sorted((await conn.execute(select(powers_of_attorney.c.id, powers_of_attorney.c.revoked_at)
                                            .where(powers_of_attorney.c.granting_org_id == foreign.org_id))).all())
        requests = sorted((await conn.execute(select(anonymity_requests.c.id, anonymity_requests.c.status)
                                              .where(anonymity_requests.c.org_id == foreign.org_id))).all())
        roles = sorted((await conn.execute(select(user_roles.c.user_id, user_roles.c.role).join(
            users, users.c.id == user_roles.c.user_id).where(users.c.org_id == foreign.org_id))).all())
    return people, groups, sorted(members), certs, powers, requests, roles


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
    value = (body.get("data") or {}).get(name)
    if isinstance(value, dict) and "edges" in value:
        assert value["edges"] == [], (name, some_id, body)  # a filter by a foreign id matches nothing
    else:
        assert value is None, (name, some_id, body)


@given(data=st.data())
@settings(max_examples=120, deadline=None, suppress_health_check=list(HealthCheck))
async def test_mutations_never_change_another_organisations_objects(env: Env, org: OrgFixture, world: dict[str, Any],
                                                                    data: st.DataObject) -> None:
    role = Role.ORGANISATION_ADMINISTRATOR if data.draw(st.booleans()) else Role.USER_ADMINISTRATOR
    token = token_for(env, org, role)
    before = await _snapshot(env, world["foreign"])
    some_id = data.draw(_ids(world["foreign_ids"]))
    name = data.draw(st.sampled_from(sorted(MUTATIONS)))
    body = await env.gql(MUTATIONS[name], {"id": some_id}, token=token)
    for error in body.get("errors") or []:
        assert error["extensions"]["code"] in ("FORBIDDEN", "GRAPHQL_VALIDATION_FAILED", "INVALID_CHARACTERS"), body
    payload = (body.get("data") or {}).get(name)
    if payload is not None and name != "markNotificationsRead":
        codes = {e["code"] for e in payload["userErrors"]}
        assert codes and codes <= REFUSALS, (name, some_id, payload)
    if name == "markNotificationsRead" and payload is not None:
        assert payload["marked"] == 0
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



def test_every_root_field_that_takes_an_id_is_in_the_property_tests() -> None:
    """A new id-taking query or mutation must be added to QUERIES or MUTATIONS above."""
    from graphql import GraphQLInputObjectType, get_named_type

    from app.schema import schema

    def takes_id(type_: Any, seen: set[str]) -> bool:
        named = get_named_type(type_)
        if named.name == "ID":
            return True
        if isinstance(named, GraphQLInputObjectType) and named.name not in seen:
            seen.add(named.name)
            return any(takes_id(f.type, seen) for f in named.fields.values())
        return False

    gql = schema._schema
    taking = {name for root in (gql.query_type, gql.mutation_type) for name, f in root.fields.items()
              if any(takes_id(a.type, set()) for a in f.args.values())}
    missing = taking - set(QUERIES) - set(MUTATIONS) - {"activateUser", "importUsers", "createPowerOfAttorney"}
    assert not missing, f"add to the property tests: {sorted(missing)}"
