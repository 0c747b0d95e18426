"""Attacks on the policy below the root (issue 12), as a client would send them over HTTP (and the
WebSocket): nested relations, node(id:) with real and crafted global ids, fragments on interfaces
and unions, aliases, the same field twice, @include/@skip (the compiled fast paths bail on
directives, the slow path must be gated), __typename, mutation payloads, history actor/target,
certificate chains, external members, bulk job rows, the CSV exports, GET, batching.

A probe that holds is a regression test. A probe that found a real leak stays here, failing, marked
`xfail(strict=True, reason="LEAK: ...")` until the lead fixes it (then strict makes it show)."""

from __future__ import annotations

import base64
import json
import uuid
from typing import Any

import pytest
from starlette.testclient import TestClient

from app.adapters.jwt import sign_token
from app.domain.common.principal import Role
from app.schema.runtime.base import to_global_id
from tests.conftest import Env, token_for
from tests.factories import OrgFixture, make_org
from tests.test_bulk_import import csv_file, person, run_job
from tests.test_certificates import PASSWORD, order_org, order_user
from tests.test_user_groups import FIND_EXTERNAL, active_user, create_group, ok
from tests.test_websocket_auth import PROTOCOL, ws_app  # noqa: F401 - the fixture

OA, UA, RA, U = (Role.ORGANISATION_ADMINISTRATOR, Role.USER_ADMINISTRATOR, Role.RIGHTS_ADMINISTRATOR, Role.USER)


# --- helpers ---------------------------------------------------------------------------------------


def codes(body: dict[str, Any]) -> list[str]:
    return [e.get("extensions", {}).get("code") for e in body.get("errors") or []]


def forbidden_paths(body: dict[str, Any]) -> list[list[Any]]:
    return [e["path"] for e in body.get("errors") or [] if e.get("extensions", {}).get("code") == "FORBIDDEN"]


def only_forbidden(body: dict[str, Any]) -> None:
    """Every error there is a FORBIDDEN refusal (nothing INTERNAL hiding a half-answer)."""
    assert set(codes(body)) <= {"FORBIDDEN"}, body


def raw_gid(text: str, *, pad: bool = False, standard: bool = False) -> str:
    """A hand-made global id: base64url (or standard base64) of "Type:raw", with or without padding."""
    encoded = (base64.b64encode if standard else base64.urlsafe_b64encode)(text.encode()).decode()
    return encoded if pad else encoded.rstrip("=")


def forged_variants(type_name: str, raw: uuid.UUID | str) -> list[str]:
    """Every spelling of one global id the decoder might accept."""
    raw_s = str(raw)
    out = {to_global_id(type_name, raw_s), raw_gid(f"{type_name}:{raw_s}", pad=True),
           raw_gid(f"{type_name}:{raw_s}", standard=True, pad=True), raw_gid(f"{type_name}:{raw_s.upper()}")}
    if isinstance(raw, uuid.UUID):
        out |= {raw_gid(f"{type_name}:{raw.hex}"), raw_gid(f"{type_name}:{{{raw_s}}}"),
                raw_gid(f"{type_name}:urn:uuid:{raw_s}")}
    return sorted(out)


def plain_token(env: Env, org: OrgFixture, user_uuid: str | uuid.UUID, role: Role = U) -> str:
    return sign_token(env.settings, uuid.UUID(str(user_uuid)), org.cvr, [role])


async def make_role_holder(env: Env, org: OrgFixture, first: str, role: Role, *, anonymous: bool = False,
                           p_number: str | None = None) -> tuple[dict[str, Any], str]:
    person_ = await active_user(env, org, first, anonymous=anonymous, p_number=p_number)
    async with env.services.unit_of_work(org.actor()) as uow:
        await uow.users.set_roles(uuid.UUID(person_["uuid"]), [role])
        await uow.commit()
    return person_, plain_token(env, org, person_["uuid"], role)


def gid_user(org: OrgFixture, role: Role) -> str:
    return to_global_id("User", org.people[role])


SET_UNIT = """mutation($u: ID!, $p: String) { setUserOrganisationUnit(input: {userId: $u, pNumber: $p}) {
  userErrors { code } } }"""
ADD_USERS = """mutation($g: ID!, $u: [ID!]!) { addUsersToGroup(input: {groupId: $g, userIds: $u}) {
  userErrors { code } } }"""


async def add_to_group(env: Env, org: OrgFixture, group: str, *users: str) -> None:
    body = ok(await env.gql(ADD_USERS, {"g": group, "u": list(users)}, token=token_for(env, org, UA)))
    assert body["addUsersToGroup"]["userErrors"] == [], body


async def move_unit(env: Env, org: OrgFixture, user_gid: str, p_number: str, token: str | None = None) -> None:
    body = ok(await env.gql(SET_UNIT, {"u": user_gid, "p": p_number}, token=token or token_for(env, org, UA)))
    assert body["setUserOrganisationUnit"]["userErrors"] == [], body


# --- a plain USER: group members, on every path --------------------------------------------------------


async def _plain_in_group_with_anonymous(env: Env, org: OrgFixture) -> tuple[str, str]:
    """A plain user and an anonymous user in the same system group (P-unit) and custom group."""
    secret = await active_user(env, org, "Hemmelig", p_number=org.p_numbers[0], anonymous=True)
    plain, token = await make_role_holder(env, org, "Plain", U, p_number=org.p_numbers[0])
    group = await create_group(env, org, "Fælles")
    await add_to_group(env, org, group, secret["id"], plain["id"])
    return token, group


MEMBER_PROBES = {
    "include directive": """query($t: Boolean! = true) { viewer { user { groups { name
        members(first: 100) @include(if: $t) { totalCount edges { name node { ... on User { name email } } } } } } } }""",
    "skip directive": """{ viewer { user { groups { members(first: 100) @skip(if: false) {
        edges { name pNumber } } } } } }""",
    "alias and duplicate with other arguments": """{ viewer { user { groups { a: members(first: 1) { totalCount }
        b: members(first: 100) { edges { name } } name } } } }""",
    "inline fragment on Node": """{ viewer { user { groups { ... on Node { ... on UserGroup {
        members { edges { name node { __typename ... on User { uuid name } } } } } } } } } }""",
    "named fragments on the union": """{ viewer { user { groups { ...G } } } }
        fragment G on UserGroup { members { edges { ...E } } }
        fragment E on GroupMemberEdge { name node { ...M } }
        fragment M on GroupMember { __typename ... on User { name email cprMasked } ... on ExternalUser { name } }""",
    "typename only": "{ viewer { user { groups { members { totalCount edges { __typename } } } } } }",
    "user(id:) self": """query($me: ID!) { user(id: $me) { groups { members { edges { name } } } } }""",
    "node(id:) self": """query($me: ID!) { node(id: $me) { ... on User { groups { members { edges { name } } } } } }""",
}


@pytest.mark.parametrize("probe", sorted(MEMBER_PROBES))
async def test_a_plain_user_never_reads_group_members(env: Env, org: OrgFixture, probe: str) -> None:
    token, _ = await _plain_in_group_with_anonymous(env, org)
    me = ok(await env.gql("{ viewer { user { id } } }", token=token))["viewer"]["user"]["id"]
    query = MEMBER_PROBES[probe]
    variables = {"me": me} if "$me" in query else {}
    body = await env.gql(query, variables, token=token)
    only_forbidden(body)
    assert forbidden_paths(body), body
    assert all(p[-1] in ("members", "a", "b") for p in forbidden_paths(body)), body
    assert "Hemmelig" not in json.dumps(body) and "totalCount" not in json.dumps(body.get("data")), body


async def test_a_plain_user_reads_no_group_by_a_forged_id_nor_the_group_list(env: Env, org: OrgFixture) -> None:
    token, group = await _plain_in_group_with_anonymous(env, org)
    raw = base64.urlsafe_b64decode(group + "=" * (-len(group) % 4)).decode().split(":", 1)[1]
    for forged in forged_variants("UserGroup", uuid.UUID(raw)):
        body = await env.gql("query($id: ID!) { node(id: $id) { __typename id ... on UserGroup { name "
                             "members { edges { name } } } } }", {"id": forged}, token=token)
        assert body.get("data") == {"node": None}, (forged, body)
    for query in ("query($id: ID!) { userGroup(id: $id) { name members { edges { name } } } }",
                  "{ userGroups(first: 5) { totalCount } }"):
        body = await env.gql(query, {"id": group} if "$id" in query else {}, token=token)
        assert codes(body) == ["FORBIDDEN"] and "Hemmelig" not in json.dumps(body), body


# --- a plain USER: other people, by id and through references -----------------------------------------


async def test_a_plain_user_reads_no_other_person_by_any_spelling_of_their_id(env: Env, org: OrgFixture) -> None:
    token = token_for(env, org, U)
    for role in (OA, UA, RA):
        for forged in forged_variants("User", org.people[role]):
            for query in ("query($id: ID!) { node(id: $id) { __typename id ... on User { name email } } }",
                          "query($id: ID!) { user(id: $id) { __typename id name } }"):
                body = await env.gql(query, {"id": forged}, token=token)
                assert set((body.get("data") or {}).values()) == {None}, (role, forged, body)
                assert "errors" not in body, body
    # Type confusion: a user's UUID under other type names.
    for kind in ("Certificate", "UserGroup", "ExternalUser", "AnonymityRequest", "BulkJob", "PowerOfAttorney",
                 "CertificateProfile", "Viewer", "user", "USER"):
        body = await env.gql("query($id: ID!) { node(id: $id) { __typename id } }",
                             {"id": to_global_id(kind, org.people[UA])}, token=token)
        assert body.get("data") == {"node": None}, (kind, body)


async def test_a_plain_user_sees_admins_only_as_null_through_their_own_history(env: Env, org: OrgFixture) -> None:
    await move_unit(env, org, gid_user(org, U), org.p_numbers[1])
    body = await env.gql("""{ viewer { user { history(first: 20) { edges { node { type actorName
        actor { uuid name email history { totalCount } certificates { id } groups { name } }
        targetUser { uuid } } } } } } }""", token=token_for(env, org, U))
    only_forbidden(body)
    edges = body["data"]["viewer"]["user"]["history"]["edges"]
    assert any(e["node"]["type"] == "ORGANISATION_UNIT_CHANGED" for e in edges), edges
    for e in edges:
        assert e["node"]["actor"] is None, e  # the administrator who acted is not someone a USER sees
        assert e["node"]["targetUser"] == {"uuid": str(org.people[U])}


async def test_an_anonymous_administrator_is_a_uuid_in_a_plain_users_history(env: Env, org: OrgFixture) -> None:
    anon_ua, anon_token = await make_role_holder(env, org, "Skjult", UA, anonymous=True)
    await move_unit(env, org, gid_user(org, U), org.p_numbers[1], token=anon_token)
    body = ok(await env.gql("""{ viewer { user { history(first: 20) { edges { node { type actorName targetName
        summary details actor { name } } } } } } }""", token=token_for(env, org, U)))
    text = json.dumps(body)
    assert "Skjult" not in text and "skjult" not in text, body
    names = {e["node"]["actorName"] for e in body["viewer"]["user"]["history"]["edges"]}
    assert anon_ua["uuid"] in names, names


async def test_a_plain_user_cannot_read_other_peoples_notifications_nor_mark_them(env: Env, org: OrgFixture) -> None:
    token = token_for(env, org, U)
    ok(await env.gql("mutation { requestAnonymity(input: {reason: \"privat\"}) { userErrors { code } } }", token=token))
    ua_token = token_for(env, org, UA)
    theirs = ok(await env.gql("{ notifications(first: 10) { unreadCount edges { node { id body } } } }",
                              token=ua_token))["notifications"]
    assert theirs["edges"], theirs
    target = theirs["edges"][0]["node"]["id"]
    raw = base64.urlsafe_b64decode(target + "=" * (-len(target) % 4)).decode().split(":", 1)[1]
    for forged in {target, raw_gid(f"Notification:{raw}", pad=True), raw_gid(f"Notification:0{raw}")}:
        body = await env.gql("query($id: ID!) { node(id: $id) { id ... on Notification { title body } } }",
                             {"id": forged}, token=token)
        assert body == {"data": {"node": None}}, body
    mine = ok(await env.gql("{ notifications(first: 50) { totalCount edges { node { id } } } }", token=token))
    assert target not in json.dumps(mine)
    marked = ok(await env.gql("mutation($ids: [ID!]) { markNotificationsRead(input: {ids: $ids}) { marked } }",
                              {"ids": [target]}, token=token))
    assert marked["markNotificationsRead"]["marked"] == 0
    after = ok(await env.gql("{ notifications(first: 10) { unreadCount } }", token=ua_token))["notifications"]
    assert after["unreadCount"] == theirs["unreadCount"]


async def test_a_plain_users_anonymity_request_payload_opens_nothing_beyond_their_own(env: Env, org: OrgFixture) -> None:
    token, _ = await _plain_in_group_with_anonymous(env, org)
    body = await env.gql("""mutation { requestAnonymity(input: {reason: "x"}) {
        request { id status user { uuid name history(first: 5) { totalCount } certificates { id }
                  groups { name members { edges { name } } } } newUser { uuid name } }
        newUser { uuid } userErrors { code } } }""", token=token)
    only_forbidden(body)
    assert "Hemmelig" not in json.dumps(body)
    assert all(p[-1] == "members" for p in forbidden_paths(body)) and forbidden_paths(body), body
    request = body["data"]["requestAnonymity"]["request"]
    assert request["user"]["history"] is not None  # their own history
    assert request["newUser"] is None
    # The pending request itself is theirs: another plain user cannot reach it.
    _, other = await make_role_holder(env, org, "Anden", U)
    again = await env.gql("{ anonymityRequests { id } }", token=other)
    assert codes(again) == ["FORBIDDEN"]
    forged = await env.gql("query($id: ID!) { node(id: $id) { id } }", {"id": request["id"]}, token=other)
    assert forged == {"data": {"node": None}}


async def test_a_plain_user_is_refused_the_organisations_lists(env: Env, org: OrgFixture) -> None:
    token = token_for(env, org, U)
    for query in ("{ users(first: 1) { totalCount } }", "{ activities(first: 1) { totalCount } }",
                  "{ certificates(first: 1) { totalCount } }", "{ certificateProfiles { name } }",
                  "{ billing { method email } }", "{ powersOfAttorney { totalCount } }",
                  "{ externalMemberships { totalCount } }", "{ anonymityRequests { id } }",
                  "{ externalUsers(cvr: \"12345674\", email: \"a@b.dk\") { id } }"):
        body = await env.gql(query, token=token)
        assert codes(body) == ["FORBIDDEN"] and body.get("data") is None, (query, body)


# --- certificates: payloads, chains, references ---------------------------------------------------------------


async def test_a_holders_issue_payload_and_certificate_chain_show_only_their_own(env: Env, org: OrgFixture) -> None:
    holder = org.people[U]
    first = await order_user(env, org, holder)
    token = token_for(env, org, U)
    body = await env.gql("""mutation($id: ID!, $pw: String) { issueUserCertificate(input: {certificateId: $id, password: $pw}) {
        certificate { id name user { uuid history(first: 1) { totalCount } }
          orderedBy { uuid name email history(first: 1) { totalCount } certificates { id } }
          predecessor { id } successor { id } }
        userErrors { code } } }""", {"id": first["id"], "pw": PASSWORD}, token=token)
    only_forbidden(body)
    cert = body["data"]["issueUserCertificate"]["certificate"]
    assert cert["orderedBy"] is None and cert["user"]["uuid"] == str(holder), cert
    renewed = ok(await env.gql("""mutation($id: ID!) { renewCertificate(input: {certificateId: $id}) {
        certificate { id } userErrors { code } } }""", {"id": first["id"]}, token=token_for(env, org, UA)))
    successor = renewed["renewCertificate"]["certificate"]["id"]
    chain = ok(await env.gql("""query($id: ID!) { certificate(id: $id) { id predecessor { id successor { id
        orderedBy { uuid } user { uuid } } } } }""", {"id": successor}, token=token))["certificate"]
    assert chain["predecessor"]["id"] == first["id"] and chain["predecessor"]["successor"]["id"] == successor
    assert chain["predecessor"]["successor"]["orderedBy"] is None
    # Someone else, plain: none of it, whatever the spelling of the id.
    _, other = await make_role_holder(env, org, "Fremmed", U)
    for cid in (first["id"], successor):
        raw = uuid.UUID(base64.urlsafe_b64decode(cid + "=" * (-len(cid) % 4)).decode().split(":", 1)[1])
        for forged in forged_variants("Certificate", raw):
            for query in ("query($id: ID!) { certificate(id: $id) { id name } }",
                          "query($id: ID!) { node(id: $id) { id ... on Certificate { name } } }"):
                got = await env.gql(query, {"id": forged}, token=other)
                assert set(got["data"].values()) == {None} and "errors" not in got, (forged, got)
    # Nor another holder's certificate reached through their own certificate's chain.
    mine = await order_user(env, org, uuid.UUID(str((await env.gql("{ viewer { user { uuid } } }", token=other))
                                                    ["data"]["viewer"]["user"]["uuid"])))
    got = ok(await env.gql("query($id: ID!) { certificate(id: $id) { id predecessor { id } successor { id } } }",
                           {"id": mine["id"]}, token=other))
    assert got["certificate"]["predecessor"] is None and got["certificate"]["successor"] is None


async def test_an_organisation_certificate_and_its_profile_are_hidden_from_non_viewers(env: Env, org: OrgFixture) -> None:
    ordered = await order_org(env, org)
    profile_id = ordered["profile"]["id"]
    for role in (RA, U):
        token = token_for(env, org, role)
        for query, var in (("query($id: ID!) { certificate(id: $id) { id name contactEmail } }", ordered["id"]),
                           ("query($id: ID!) { node(id: $id) { id ... on Certificate { name } } }", ordered["id"]),
                           ("query($id: ID!) { node(id: $id) { id ... on CertificateProfile { email } } }", profile_id)):
            body = await env.gql(query, {"id": var}, token=token)
            assert set(body["data"].values()) == {None} and "errors" not in body, (role, body)


RA_CERTIFICATE_PROBES = {
    "users list": "{ users(first: 50) { edges { node { uuid certificates { id name email serialNumber } } } } }",
    "users list with include": """query($t: Boolean! = true) { users(first: 50) { edges { node { uuid
        certificates @include(if: $t) { id name } } } } }""",
    "group members": """query($g: ID!) { userGroup(id: $g) { members { edges { node { ... on User { uuid
        certificates { id } } } } } } }""",
}


@pytest.mark.parametrize("probe", sorted(RA_CERTIFICATE_PROBES))
async def test_a_rights_administrator_reads_no_one_elses_certificates(env: Env, org: OrgFixture, probe: str) -> None:
    holder = await active_user(env, org, "Certholder")
    await order_user(env, org, uuid.UUID(holder["uuid"]))
    group = await create_group(env, org, "Certgruppe")
    await add_to_group(env, org, group, holder["id"], gid_user(org, RA))
    query = RA_CERTIFICATE_PROBES[probe]
    body = await env.gql(query, {"g": group} if "$g" in query else {}, token=token_for(env, org, RA))
    only_forbidden(body)
    me = str(org.people[RA])

    def walk(value: Any) -> None:
        if isinstance(value, dict):
            if value.get("uuid") not in (None, me):
                assert value.get("certificates") is None, value
            for v in value.values():
                walk(v)
        elif isinstance(value, list):
            for v in value:
                walk(v)

    walk(body["data"])
    assert forbidden_paths(body) and all(p[-1] == "certificates" for p in forbidden_paths(body)), body


async def test_a_rights_administrator_gets_no_activities_or_certificates_anywhere(env: Env, org: OrgFixture) -> None:
    token = token_for(env, org, RA)
    await move_unit(env, org, gid_user(org, U), org.p_numbers[1])
    ua_activities = ok(await env.gql("{ activities(first: 5) { edges { node { id } } } }",
                                     token=token_for(env, org, UA)))["activities"]["edges"]
    assert ua_activities
    for edge in ua_activities:
        got = await env.gql("query($id: ID!) { node(id: $id) { id ... on Activity { summary details } } }",
                            {"id": edge["node"]["id"]}, token=token)
        assert got == {"data": {"node": None}}, got
    for query in ("{ activities(first: 1) { totalCount } }", "{ certificates(first: 1) { totalCount } }",
                  "{ certificateProfiles { name } }", "{ bulkJob(id: \"x\") { id } }"):
        assert codes(await env.gql(query, token=token)) == ["FORBIDDEN"], query
    for path in ("/exports/activities.csv", "/exports/certificates.csv",
                 f"/exports/activities.csv?targetUserId={org.people[U]}"):
        response = await env.client.get(path, headers={"Authorization": f"Bearer {token}"})
        assert response.status_code == 403, (path, response.text)


RA_HISTORY_PROBES = {
    "skip false": "{ users(first: 50) { edges { node { uuid history @skip(if: false) { totalCount } } } } }",
    "include variable": """query($t: Boolean!) { users(first: 50) { edges { node { uuid
        history(first: 2) @include(if: $t) { edges { node { summary details } } } } } } }""",
    "aliases twice": """{ users(first: 50) { edges { node { uuid a: history(first: 1) { totalCount }
        b: history(first: 3, types: [ORGANISATION_UNIT_CHANGED]) { edges { node { summary } } } } } } }""",
    "typename only": "{ users(first: 50) { edges { node { uuid history { __typename } } } } }",
    "named fragment on Node": """{ users(first: 50) { edges { node { ...N } } } }
        fragment N on Node { ... on User { uuid history { edges { node { actorName targetName } } } } }""",
}


@pytest.mark.parametrize("probe", sorted(RA_HISTORY_PROBES))
async def test_a_rights_administrator_reads_only_their_own_history(env: Env, org: OrgFixture, probe: str) -> None:
    await move_unit(env, org, gid_user(org, U), org.p_numbers[1])
    body = await env.gql(RA_HISTORY_PROBES[probe], {"t": True}, token=token_for(env, org, RA))
    only_forbidden(body)
    me = str(org.people[RA])
    edges = body["data"]["users"]["edges"]
    assert len(edges) >= 4
    for e in edges:
        node = e["node"]
        histories = [v for k, v in node.items() if k in ("history", "a", "b")]
        if node["uuid"] != me:
            assert histories and all(h is None for h in histories), node
    assert "P-number" not in json.dumps(body["data"])


async def test_history_actor_and_target_lead_no_further_than_the_callers_rules(env: Env, org: OrgFixture) -> None:
    """A rights administrator's own history names the user administrator who acted; through that
    actor they reach neither the actor's history nor certificates."""
    await move_unit(env, org, gid_user(org, RA), org.p_numbers[1])
    body = await env.gql("""{ viewer { user { history(first: 10) { edges { node { type
        actor { uuid name history(first: 5) { edges { node { summary } } } certificates { id } groups { name } }
        targetUser { uuid history(first: 1) { totalCount } } } } } } } }""", token=token_for(env, org, RA))
    only_forbidden(body)
    edges = body["data"]["viewer"]["user"]["history"]["edges"]
    acted = [e["node"] for e in edges if e["node"]["type"] == "ORGANISATION_UNIT_CHANGED"]
    assert acted and acted[0]["actor"]["uuid"] == str(org.people[UA])
    assert acted[0]["actor"]["history"] is None and acted[0]["actor"]["certificates"] is None
    assert acted[0]["targetUser"]["history"] is not None  # themself
    assert sorted({tuple(p[-1:]) for p in forbidden_paths(body)}) == [("certificates",), ("history",)]


async def test_a_rights_administrators_group_payload_opens_no_history_or_certificates(env: Env, org: OrgFixture) -> None:
    someone = await active_user(env, org, "Payload")
    await move_unit(env, org, someone["id"], org.p_numbers[1])
    group = await create_group(env, org, "Payloadgruppe")
    body = await env.gql("""mutation($g: ID!, $u: [ID!]!) { addUsersToGroup(input: {groupId: $g, userIds: $u}) {
        group { members { edges { node { ... on User { uuid history { edges { node { summary } } }
                                                       certificates { id } } } } } }
        userErrors { code } } }""", {"g": group, "u": [someone["id"]]}, token=token_for(env, org, RA))
    only_forbidden(body)
    assert sorted(p[-1] for p in forbidden_paths(body)) == ["certificates", "history"], body
    assert "P-number" not in json.dumps(body)


# --- settings and billing: a user administrator only views ------------------------------------------------------


async def test_a_user_administrator_views_but_does_not_change_billing_or_settings(env: Env, org: OrgFixture) -> None:
    token = token_for(env, org, UA)
    ok(await env.gql("{ billing { method email counts { users } } settings { defaultPNumber } }", token=token))
    for mutation in (
        'mutation { updateBilling(input: {method: EMAIL, email: "hacker@example.dk"}) { billing { email } userErrors { code } } }',
        "mutation { updateOrganisationSettings(input: {userCreation: {anonymityAllowed: false}}) { settings { "
        "userCreation { anonymityAllowed } } userErrors { code } } }",
        "mutation { updateOrganisationSettings(input: {certificates: {qualified: true}}) { userErrors { code } } }",
    ):
        body = await env.gql(mutation, token=token)
        assert codes(body) == ["FORBIDDEN"] and body.get("data") is None, (mutation, body)
    for role in (RA, U):
        body = await env.gql("mutation($p: String) { setDefaultOrganisationUnit(input: {pNumber: $p}) "
                             "{ userErrors { code } } }", {"p": org.p_numbers[1]}, token=token_for(env, org, role))
        assert codes(body) == ["FORBIDDEN"], (role, body)
    after = ok(await env.gql("{ billing { email } settings { userCreation { anonymityAllowed } } }", token=token))
    assert after["billing"]["email"] != "hacker@example.dk"
    assert after["settings"]["userCreation"]["anonymityAllowed"] is True


# --- another organisation's administrator and no token ----------------------------------------------------------


async def _our_ids(env: Env, org: OrgFixture) -> dict[str, str]:
    """One id of each kind of ours, as our own administrators see them."""
    holder = await active_user(env, org, "Idholder")
    cert = await order_user(env, org, uuid.UUID(holder["uuid"]))
    org_cert = await order_org(env, org)
    group = await create_group(env, org, "Idgruppe")
    await add_to_group(env, org, group, holder["id"])
    ua = token_for(env, org, UA)
    activity = ok(await env.gql("{ activities(first: 1) { edges { node { id } } } }", token=ua))
    job = await run_job(env, org, csv_file([person(1, **{"E-mail": "broken"})]), dry=True)
    ok(await env.gql("mutation { requestAnonymity { userErrors { code } } }", token=token_for(env, org, U)))
    note = ok(await env.gql("{ notifications(first: 1) { edges { node { id } } } }", token=ua))
    request = ok(await env.gql("{ anonymityRequests { id } }", token=ua))["anonymityRequests"][0]["id"]
    return {"User": holder["id"], "Certificate": cert["id"], "OrgCertificate": org_cert["id"],
            "CertificateProfile": org_cert["profile"]["id"], "UserGroup": group,
            "Activity": activity["activities"]["edges"][0]["node"]["id"], "BulkJob": job["id"],
            "Notification": note["notifications"]["edges"][0]["node"]["id"], "AnonymityRequest": request,
            "ExternalUser": to_global_id("ExternalUser", holder["uuid"])}


async def test_another_organisations_administrators_meet_none_of_our_ids(env: Env, org: OrgFixture,
                                                                         other_org: OrgFixture) -> None:
    ids = await _our_ids(env, org)
    roots = {"User": "user", "Certificate": "certificate", "OrgCertificate": "certificate", "UserGroup": "userGroup",
             "BulkJob": "bulkJob"}
    for role in (OA, UA, RA, U):
        token = token_for(env, other_org, role)
        for kind, value in ids.items():
            body = await env.gql("query($id: ID!) { node(id: $id) { __typename id } }", {"id": value}, token=token)
            assert body == {"data": {"node": None}}, (role, kind, body)
            if kind in roots:
                body = await env.gql(f"query($id: ID!) {{ {roots[kind]}(id: $id) {{ __typename id }} }}",
                                     {"id": value}, token=token)
                assert body.get("data") in ({roots[kind]: None}, None), (role, kind, body)
        for path in (f"/exports/certificates.csv?userId={ids['User']}", "/exports/activities.csv"):
            response = await env.client.get(path, headers={"Authorization": f"Bearer {token}"})
            if response.status_code == 200:
                assert "Idholder" not in response.text and len(response.text.strip().splitlines()) <= 1 + (
                    path.startswith("/exports/activities") * 100), response.text
                assert org.cvr not in response.text or path.startswith("/exports/activities")
    # Nor can they put our users into their groups or look for them in their lists.
    theirs = await create_group(env, other_org, "Deres")
    body = ok(await env.gql(ADD_USERS, {"g": theirs, "u": [ids["User"]]}, token=token_for(env, other_org, UA)))
    assert [e["code"] for e in body["addUsersToGroup"]["userErrors"]] == ["NOT_FOUND"]
    body = ok(await env.gql("query($id: ID!) { users(first: 10, filter: {groupId: $id}) { totalCount } "
                            "activities(first: 5, filter: {targetUserId: $id}) { totalCount } }",
                            {"id": ids["User"]}, token=token_for(env, other_org, UA)))
    assert body["users"]["totalCount"] == 0 and body["activities"]["totalCount"] == 0


async def test_a_token_of_our_organisation_for_their_person_is_not_accepted(env: Env, org: OrgFixture,
                                                                             other_org: OrgFixture) -> None:
    """A signed token that names our CVR but another organisation's person is no way into our data."""
    token = sign_token(env.settings, other_org.people[OA], org.cvr, [OA])
    body = await env.gql("{ users(first: 5) { totalCount } }", token=token)
    assert codes(body) == ["UNAUTHENTICATED"], body


async def test_without_a_token_nothing_is_answered(env: Env, org: OrgFixture) -> None:
    ids = await _our_ids(env, org)
    for kind, value in ids.items():
        body = await env.gql("query($id: ID!) { node(id: $id) { id } }", {"id": value})
        assert codes(body) == ["UNAUTHENTICATED"] and not any((body.get("data") or {}).values()), (kind, body)
    for query in ("{ viewer { roles user { uuid } } }", "{ organisation { name } }", "{ settings { defaultPNumber } }",
                  "{ rightsCatalogue { code } }", "{ notifications { totalCount } }"):
        body = await env.gql(query)
        assert codes(body) == ["UNAUTHENTICATED"], (query, body)
    for path in ("/exports/activities.csv", "/exports/certificates.csv"):
        assert (await env.client.get(path)).status_code == 401
    # The public mutation's payload names nobody.
    body = await env.gql("""mutation($u: ID!) { activateUser(input: {userId: $u, code: "000000"}) {
        activated userUuid userErrors { code } } }""", {"u": ids["User"]})
    assert body["data"]["activateUser"]["activated"] is False and body["data"]["activateUser"]["userUuid"] is None


# --- bulk jobs ----------------------------------------------------------------------------------------


async def test_bulk_job_rows_are_for_user_administrators_only(env: Env, org: OrgFixture) -> None:
    job = await run_job(env, org, csv_file([person(1), person(2, **{"E-mail": "not-an-email"})]), dry=True)
    assert job["errorCount"] >= 1
    query = """query($id: ID!) { bulkJob(id: $id) { id rowErrors { line message } result { affectedUsers { email } } } }"""
    node = """query($id: ID!) { node(id: $id) { id ... on BulkJob { rowErrors { message } fileName } } }"""
    for role in (OA, RA, U):
        token = token_for(env, org, role)
        assert codes(await env.gql(query, {"id": job["id"]}, token=token)) == ["FORBIDDEN"], role
        assert await env.gql(node, {"id": job["id"]}, token=token) == {"data": {"node": None}}, role
    # Another user administrator of the organisation may read it; one of another organisation may not.
    _, ua2 = await make_role_holder(env, org, "Anden", UA)
    assert ok(await env.gql(query, {"id": job["id"]}, token=ua2))["bulkJob"]["id"] == job["id"]
    foreign = await make_org(env.services, name="Fremmed")
    assert ok(await env.gql(query, {"id": job["id"]}, token=token_for(env, foreign, UA)))["bulkJob"] is None


# --- external members (partners) -----------------------------------------------------------------------


async def test_an_anonymous_partner_user_shows_only_a_uuid_everywhere(env: Env, org: OrgFixture) -> None:
    partner = await make_org(env.services, name="Partner")
    shadow = await active_user(env, partner, "Skygge", anonymous=True)
    ua = token_for(env, org, UA)
    found = ok(await env.gql(FIND_EXTERNAL, {"cvr": partner.cvr, "email": shadow["email"]}, token=ua))["externalUsers"]
    assert found, found
    assert "Skygge" not in json.dumps(found) and found[0]["uuid"] == shadow["uuid"]
    group = await create_group(env, org, "Partnergruppe")
    added = ok(await env.gql("""mutation($g: ID!, $x: ID!) { addExternalUserToGroup(input: {groupId: $g,
        externalUserId: $x}) { userErrors { code } } }""", {"g": group, "x": found[0]["id"]}, token=ua))
    assert added["addExternalUserToGroup"]["userErrors"] == []
    for role in (OA, UA, RA):
        token = token_for(env, org, role)
        body = ok(await env.gql("""query($g: ID!) { userGroup(id: $g) { members { edges { name pNumber
            organisation { cvr name } node { __typename ... on ExternalUser { uuid name firstName lastName email
            pNumber organisation { cvr } } } } } } }""", {"g": group}, token=token))
        text = json.dumps(body)
        assert "Skygge" not in text and partner.cvr not in text, (role, body)
        assert shadow["uuid"] in text
        log = ok(await env.gql("{ activities(first: 20) { edges { node { actorName targetName summary details } } } }",
                               token=token)) if role is not RA else {}
        assert "Skygge" not in json.dumps(log), log
    # The partner's administrators are told, by UUID; their own log names the group's organisation.
    for role in (OA, UA):
        notes = ok(await env.gql("{ notifications { edges { node { title body } } } }",
                                 token=token_for(env, partner, role)))
        assert "Skygge" not in json.dumps(notes) and shadow["uuid"] in json.dumps(notes), notes
    # The anonymous partner user, plain, reads their own history with the foreign actor as null.
    own = await env.gql("""{ viewer { user { history(first: 10) { edges { node { type actorName actor { uuid name } } } } } } }""",
                        token=plain_token(env, partner, shadow["uuid"]))
    only_forbidden(own)
    entries = own["data"]["viewer"]["user"]["history"]["edges"]
    assert any(e["node"]["type"] == "EXTERNAL_MEMBER_ADDED" for e in entries), entries
    assert all(e["node"]["actor"] is None for e in entries if e["node"]["type"] == "EXTERNAL_MEMBER_ADDED")


async def test_the_partner_view_shows_membership_not_the_owning_groups_other_members(env: Env, org: OrgFixture) -> None:
    partner = await make_org(env.services, name="Partner")
    erik = await active_user(env, partner, "Erik")
    ua = token_for(env, org, UA)
    insider = await active_user(env, org, "Insider")
    group = await create_group(env, org, "Delt")
    await add_to_group(env, org, group, insider["id"])
    found = ok(await env.gql(FIND_EXTERNAL, {"cvr": partner.cvr, "email": erik["email"]}, token=ua))["externalUsers"]
    ok(await env.gql("""mutation($g: ID!, $x: ID!) { addExternalUserToGroup(input: {groupId: $g,
        externalUserId: $x}) { userErrors { code } } }""", {"g": group, "x": found[0]["id"]}, token=ua))
    for role in (OA, UA, RA):
        token = token_for(env, partner, role)
        body = await env.gql("""{ externalMemberships { totalCount nodes { id groupName organisation { cvr name }
            user { uuid name history(first: 5) { edges { node { summary actorName } } } groups { name } } } } }""",
                             token=token)
        only_forbidden(body)
        assert "Insider" not in json.dumps(body), body
        nodes = body["data"]["externalMemberships"]["nodes"]
        assert [n["user"]["uuid"] for n in nodes] == [erik["uuid"]]
        # Our group by its id: nothing, however it is asked for.
        got = await env.gql("query($id: ID!) { node(id: $id) { id ... on UserGroup { members { edges { name } } } } }",
                            {"id": group}, token=token)
        assert got == {"data": {"node": None}}, got
    plain = await env.gql("{ externalMemberships { totalCount } }", token=plain_token(env, partner, erik["uuid"]))
    assert codes(plain) == ["FORBIDDEN"]


async def test_an_external_user_id_is_never_a_way_in(env: Env, org: OrgFixture) -> None:
    partner = await make_org(env.services, name="Partner")
    erik = await active_user(env, partner, "Erik")
    group = await create_group(env, org, "Forsøg")
    ua = token_for(env, org, UA)
    handle = ok(await env.gql(FIND_EXTERNAL, {"cvr": partner.cvr, "email": erik["email"]}, token=ua))["externalUsers"]
    add = """mutation($g: ID!, $x: ID!) { addExternalUserToGroup(input: {groupId: $g, externalUserId: $x}) {
        userErrors { code } } }"""
    # Another organisation's search handle, and the partner's own handles of our users, are refused.
    third = await make_org(env.services, name="Tredje")
    third_group = await create_group(env, third, "Tredjes")
    refused = ok(await env.gql(add, {"g": third_group, "x": handle[0]["id"]}, token=token_for(env, third, UA)))
    assert [e["code"] for e in refused["addExternalUserToGroup"]["userErrors"]] == ["NOT_FOUND"]
    for forged in forged_variants("ExternalUser", uuid.UUID(erik["uuid"])) + [erik["id"], to_global_id("User", erik["uuid"])]:
        refused = ok(await env.gql(add, {"g": group, "x": forged}, token=ua))
        assert [e["code"] for e in refused["addExternalUserToGroup"]["userErrors"]] == ["NOT_FOUND"], forged
        got = await env.gql("query($id: ID!) { node(id: $id) { id ... on ExternalUser { name email } } }",
                            {"id": forged}, token=ua)
        assert got == {"data": {"node": None}}, got
    # Our own user is no "external" user for us.
    assert ok(await env.gql(FIND_EXTERNAL, {"cvr": org.cvr, "email": org.emails[U]}, token=ua))["externalUsers"] == []


# --- transport: GET, batching, persisted queries, the WebSocket -------------------------------------------------


async def test_get_requests_meet_the_same_gates(env: Env, org: OrgFixture) -> None:
    query = "{ users(first: 50) { edges { node { uuid history(first: 1) { totalCount } certificates { id } } } } }"
    response = await env.client.get("/graphql", params={"query": query},
                                    headers={"Authorization": f"Bearer {token_for(env, org, RA)}",
                                             "Accept": "application/json"})
    if response.status_code == 200:
        body = response.json()
        only_forbidden(body)
        me = str(org.people[RA])
        for e in body["data"]["users"]["edges"]:
            if e["node"]["uuid"] != me:
                assert e["node"]["history"] is None and e["node"]["certificates"] is None
    else:
        assert response.status_code in (400, 405, 406), response.text
    # A mutation over GET is not run.
    response = await env.client.get("/graphql", params={"query": 'mutation { updateBilling(input: {method: EMAIL, '
                                                        'email: "x@example.dk"}) { userErrors { code } } }'},
                                    headers={"Authorization": f"Bearer {token_for(env, org, OA)}",
                                             "Accept": "application/json"})
    assert response.status_code != 200 or "errors" in response.json(), response.text


async def test_batches_and_persisted_queries_are_not_a_way_around(env: Env, org: OrgFixture) -> None:
    headers = {"Authorization": f"Bearer {token_for(env, org, RA)}"}
    batch = [{"query": "{ viewer { roles } }"}, {"query": "{ activities(first: 5) { totalCount } }"}]
    response = await env.client.post("/graphql", json=batch, headers=headers)
    assert response.status_code == 400, response.text
    assert "totalCount" not in response.text
    persisted = {"extensions": {"persistedQuery": {"version": 1, "sha256Hash": "0" * 64}}}
    response = await env.client.post("/graphql", json=persisted, headers=headers)
    assert response.status_code == 400 or "errors" in response.json(), response.text
    assert "data" not in response.json() or not response.json().get("data")


def test_the_websocket_meets_the_same_gates_for_nested_relations_and_forged_ids(
    ws_app: tuple[TestClient, str],  # noqa: F811
) -> None:
    client, ua_token = ws_app
    user_token, ra_token = client.app.state.test_people
    probes = [
        (user_token, "{ viewer { user { groups { name members { edges { name } } } } } }", "members"),
        (ra_token, "{ users(first: 20) { edges { node { uuid certificates @include(if: true) { id } } } } }",
         "certificates"),
        (ra_token, "{ users(first: 20) { edges { node { uuid ...H } } } } fragment H on User { history { totalCount } }",
         "history"),
    ]
    with client.websocket_connect("/graphql", subprotocols=PROTOCOL) as ws:
        ws.send_json({"type": "connection_init", "payload": {"Authorization": f"Bearer {user_token}"}})
        assert ws.receive_json()["type"] == "connection_ack"
        ws.send_json({"type": "subscribe", "id": "u", "payload": {"query": "{ users(first: 5) { totalCount } }"}})
        message = ws.receive_json()
        assert message["type"] in ("next", "error"), message
        if message["type"] == "next":
            assert message["payload"].get("data") is None
            assert [e["extensions"]["code"] for e in message["payload"]["errors"]] == ["FORBIDDEN"]
            assert ws.receive_json()["type"] == "complete"
    for n, (token, query, field) in enumerate(probes):
        with client.websocket_connect("/graphql", subprotocols=PROTOCOL) as ws:
            ws.send_json({"type": "connection_init", "payload": {"Authorization": f"Bearer {token}"}})
            assert ws.receive_json()["type"] == "connection_ack"
            ws.send_json({"type": "subscribe", "id": str(n), "payload": {"query": query}})
            message = ws.receive_json()
            assert message["type"] == "next", message
            errors = message["payload"].get("errors") or []
            assert errors and all(e["extensions"]["code"] == "FORBIDDEN" and e["path"][-1] == field
                                  for e in errors), message


# --- powers of attorney: both sides see, only the grantor acts, nobody else meets them ---------------------------


CREATE_POA = """mutation($cvr: String!) { createPowerOfAttorney(input: {receivingCvr: $cvr, name: "Regnskab",
  rights: ["SKAT.MOMS"]}) { powerOfAttorney { id name grantedBy { cvr } grantedTo { cvr } } userErrors { code } } }"""
REVOKE_POA = """mutation($id: ID!) { revokePowerOfAttorney(input: {powerOfAttorneyId: $id}) {
  powerOfAttorney { id revokedAt } userErrors { code } } }"""


async def test_a_power_of_attorney_is_seen_by_both_sides_revoked_by_the_grantor_only(env: Env, org: OrgFixture) -> None:
    receiver = await make_org(env.services, name="Modtager")
    stranger = await make_org(env.services, name="Fremmed")
    made = ok(await env.gql(CREATE_POA, {"cvr": receiver.cvr}, token=token_for(env, org, OA)))["createPowerOfAttorney"]
    assert made["userErrors"] == [], made
    poa = made["powerOfAttorney"]["id"]
    node = "query($id: ID!) { node(id: $id) { id ... on PowerOfAttorney { name rights { code } } } }"
    for role in (OA, UA, RA):
        got = ok(await env.gql(node, {"id": poa}, token=token_for(env, receiver, role)))
        assert got["node"]["name"] == "Regnskab", (role, got)
        assert await env.gql(node, {"id": poa}, token=token_for(env, stranger, role)) == {"data": {"node": None}}
        listed = ok(await env.gql("{ powersOfAttorney(direction: RECEIVED) { totalCount } }",
                                  token=token_for(env, stranger, role)))
        assert listed["powersOfAttorney"]["totalCount"] == 0
    assert await env.gql(node, {"id": poa}, token=token_for(env, receiver, U)) == {"data": {"node": None}}
    for who in (receiver, stranger):
        refused = ok(await env.gql(REVOKE_POA, {"id": poa}, token=token_for(env, who, OA)))["revokePowerOfAttorney"]
        assert [e["code"] for e in refused["userErrors"]] == ["NOT_FOUND"] and refused["powerOfAttorney"] is None
    for role in (UA, RA, U):
        assert codes(await env.gql(REVOKE_POA, {"id": poa}, token=token_for(env, org, role))) == ["FORBIDDEN"]
    still = ok(await env.gql("query($id: ID!) { node(id: $id) { ... on PowerOfAttorney { revokedAt } } }",
                             {"id": poa}, token=token_for(env, org, OA)))
    assert still["node"]["revokedAt"] is None


# --- partners: our groups stay ours ------------------------------------------------------------------------


async def test_a_partner_user_in_our_group_gains_neither_our_group_nor_its_rights_at_home(env: Env, org: OrgFixture) -> None:
    partner = await make_org(env.services, name="Partner")
    erik = await active_user(env, partner, "Erik")
    ua = token_for(env, org, UA)
    group = ok(await env.gql("""mutation { createUserGroup(input: {name: "Hemmelig gruppe", rights: ["SKAT.MOMS"]}) {
        group { id } userErrors { code } } }""", token=token_for(env, org, OA)))["createUserGroup"]["group"]["id"]
    found = ok(await env.gql(FIND_EXTERNAL, {"cvr": partner.cvr, "email": erik["email"]}, token=ua))["externalUsers"]
    ok(await env.gql("""mutation($g: ID!, $x: ID!) { addExternalUserToGroup(input: {groupId: $g,
        externalUserId: $x}) { userErrors { code } } }""", {"g": group, "x": found[0]["id"]}, token=ua))
    # Their own view and their administrators' view of them: our group is not one of their groups.
    own = ok(await env.gql("{ viewer { user { groups { name } effectiveRights } } }",
                           token=plain_token(env, partner, erik["uuid"])))
    assert "Hemmelig gruppe" not in json.dumps(own) and "SKAT.MOMS" not in own["viewer"]["user"]["effectiveRights"]
    body = ok(await env.gql("query($id: ID!) { user(id: $id) { groups { id name members { edges { name } } } } }",
                            {"id": erik["id"]}, token=token_for(env, partner, OA)))
    assert "Hemmelig gruppe" not in json.dumps(body)


async def test_a_partner_cannot_list_their_users_by_membership_of_our_group(env: Env, org: OrgFixture) -> None:
    """`users(filter: {groupId})` with another organisation's group id (derivable from the partner
    view's ExternalMembership id "ExternalMembership:<group>/<user>") matches nothing."""
    partner = await make_org(env.services, name="Partner")
    erik = await active_user(env, partner, "Erik")
    await active_user(env, partner, "Olaf")
    ua = token_for(env, org, UA)
    group = await create_group(env, org, "Ejet")
    found = ok(await env.gql(FIND_EXTERNAL, {"cvr": partner.cvr, "email": erik["email"]}, token=ua))["externalUsers"]
    ok(await env.gql("""mutation($g: ID!, $x: ID!) { addExternalUserToGroup(input: {groupId: $g,
        externalUserId: $x}) { userErrors { code } } }""", {"g": group, "x": found[0]["id"]}, token=ua))
    body = ok(await env.gql("query($g: ID!) { users(first: 50, filter: {groupId: $g}) { totalCount edges { node { uuid } } } }",
                            {"g": group}, token=token_for(env, partner, RA)))
    assert body["users"]["totalCount"] == 0, body


# --- the WebSocket: one connection, one caller ------------------------------------------------------------


def test_a_second_connection_init_cannot_change_who_is_calling(ws_app: tuple[TestClient, str]) -> None:  # noqa: F811
    client, ua_token = ws_app
    user_token, _ = client.app.state.test_people
    from starlette.websockets import WebSocketDisconnect

    with client.websocket_connect("/graphql", subprotocols=PROTOCOL) as ws:
        ws.send_json({"type": "connection_init", "payload": {"Authorization": f"Bearer {user_token}"}})
        assert ws.receive_json()["type"] == "connection_ack"
        ws.send_json({"type": "connection_init", "payload": {"Authorization": f"Bearer {ua_token}"}})
        try:
            ws.send_json({"type": "subscribe", "id": "1", "payload": {"query": "{ viewer { roles } users(first: 1) { totalCount } }"}})
            message = ws.receive_json()
        except WebSocketDisconnect:
            return
        assert message.get("payload", {}).get("data", {}) in (None, {}) or message["payload"]["data"].get("users") is None, message
