"""`node(id:)` fetches back every Node type (issue 14): for each object type of the schema that
implements Node, an id obtained through the API as a client would, fetched by node(id:) over HTTP
by each role of the organisation - the object for those its type's own field shows it to, null for
everyone else - and null for another organisation's people. A Node type without a case here fails
the first test. Malformed ids and ids with a valid type name but a junk payload are null, never an
error."""

from __future__ import annotations

import datetime as dt
import uuid
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any

import pytest
from graphql import GraphQLObjectType

from app.domain.common.principal import Role
from app.schema import schema
from app.schema.runtime.base import to_global_id
from tests.conftest import Env, token_for
from tests.factories import OrgFixture, make_org
from tests.test_account_requests import confirmed_request
from tests.test_bulk_import import csv_file, person, run_job
from tests.test_certificates import order_org, order_user
from tests.test_external_members import deactivate, handle_for
from tests.test_user_groups import active_user, create_group, ok

OA, UA, RA, U = (Role.ORGANISATION_ADMINISTRATOR, Role.USER_ADMINISTRATOR, Role.RIGHTS_ADMINISTRATOR, Role.USER)
EVERYONE = frozenset(Role)
NODE = "query($id: ID!) { node(id: $id) { __typename id } }"
ADD_EXTERNAL = """mutation($g: ID!, $x: ID!) { addExternalUserToGroup(input: {groupId: $g, externalUserId: $x}) {
  userErrors { code } } }"""
MEMBER_IDS = """query($g: ID!) { userGroup(id: $g) { members { edges { node { __typename
  ... on ExternalUser { id uuid } } } } } }"""


def node_types() -> set[str]:
    """Every object type of the executed schema whose interfaces include Node."""
    return {t.name for t in schema._schema.type_map.values()
            if isinstance(t, GraphQLObjectType) and any(i.name == "Node" for i in t.interfaces)}


@dataclass(frozen=True)
class Case:
    label: str
    id: str
    roles: frozenset[Role]  # who in the organisation gets the object back; everyone else gets null


@dataclass
class World:
    """Our organisation and a partner, with what several cases share made once."""

    env: Env
    org: OrgFixture
    partner: OrgFixture
    _memo: dict[str, Any] = field(default_factory=dict)

    def token(self, role: Role) -> str:
        return token_for(self.env, self.org, role)

    async def gql(self, query: str, variables: dict[str, Any] | None = None, *, role: Role) -> dict[str, Any]:
        return ok(await self.env.gql(query, variables, token=self.token(role)))

    async def anonymity_request(self) -> str:
        """The plain user asks to become anonymous (their user administrator is notified)."""
        if "request" not in self._memo:
            body = await self.gql('mutation { requestAnonymity(input: {reason: "node"}) { request { id } '
                                  'userErrors { code } } }', role=U)
            assert body["requestAnonymity"]["userErrors"] == [], body
            self._memo["request"] = body["requestAnonymity"]["request"]["id"]
        return str(self._memo["request"])


# --- how a client obtains an id of each type ---------------------------------------------------------


async def _users(w: World) -> list[Case]:
    mine = (await w.gql("{ viewer { user { id } } }", role=U))["viewer"]["user"]["id"]
    listed = await w.gql("{ users(first: 50) { edges { node { id uuid } } } }", role=UA)
    theirs = [e["node"]["id"] for e in listed["users"]["edges"] if e["node"]["uuid"] == str(w.org.people[OA])]
    return [Case("one's own, from viewer", mine, EVERYONE),
            Case("another person's, from users", theirs[0], frozenset({OA, UA, RA}))]


async def _activities(w: World) -> list[Case]:
    await create_group(w.env, w.org, "Logget")  # something in the log
    body = await w.gql("{ activities(first: 1) { edges { node { id } } } }", role=UA)
    return [Case("from activities", body["activities"]["edges"][0]["node"]["id"], frozenset({OA, UA}))]


async def _notifications(w: World) -> list[Case]:
    await w.anonymity_request()
    body = await w.gql("{ notifications(first: 1) { edges { node { id } } } }", role=UA)
    return [Case("the user administrator's own", body["notifications"]["edges"][0]["node"]["id"], frozenset({UA}))]


async def _anonymity_requests(w: World) -> list[Case]:
    mine = await w.anonymity_request()
    listed = (await w.gql("{ anonymityRequests { id } }", role=UA))["anonymityRequests"]
    assert [r["id"] for r in listed] == [mine]
    return [Case("the requester's, from requestAnonymity", mine, frozenset({UA, U}))]


async def _bulk_jobs(w: World) -> list[Case]:
    job = await run_job(w.env, w.org, csv_file([person(1)]), dry=True)
    return [Case("from importUsers", job["id"], frozenset({UA}))]


async def _user_groups(w: World) -> list[Case]:
    return [Case("from createUserGroup", await create_group(w.env, w.org, "Nodegruppe"), frozenset({OA, UA, RA}))]


async def _external_users(w: World) -> list[Case]:
    erik = await active_user(w.env, w.partner, "Erik")
    handle = await handle_for(w.env, w.org, w.partner, erik)
    group = await create_group(w.env, w.org, "Partnere")
    added = await w.gql(ADD_EXTERNAL, {"g": group, "x": handle}, role=UA)
    assert added["addExternalUserToGroup"]["userErrors"] == []
    members = (await w.gql(MEMBER_IDS, {"g": group}, role=UA))["userGroup"]["members"]["edges"]
    assert [m["node"]["uuid"] for m in members] == [erik["uuid"]]
    return [Case("the search's handle", handle, frozenset({UA, RA})),  # who may search (FIND_EXTERNAL_USERS)
            Case("a member's id, from UserGroup.members", members[0]["node"]["id"], frozenset({OA, UA, RA}))]


async def _powers_of_attorney(w: World) -> list[Case]:
    body = await w.gql("""mutation($cvr: String!) { createPowerOfAttorney(input: {receivingCvr: $cvr, name: "Moms",
        rights: ["SKAT.MOMS"]}) { powerOfAttorney { id } userErrors { code } } }""", {"cvr": w.partner.cvr}, role=OA)
    return [Case("from createPowerOfAttorney", body["createPowerOfAttorney"]["powerOfAttorney"]["id"],
                 frozenset({OA, UA, RA}))]


async def _certificates(w: World) -> list[Case]:
    ordered = await order_user(w.env, w.org, w.org.people[U])
    return [Case("the plain user's, from orderUserCertificate", ordered["id"], frozenset({OA, UA, U}))]


async def _certificate_profiles(w: World) -> list[Case]:
    ordered = await order_org(w.env, w.org)
    return [Case("from orderOrganisationCertificate", ordered["profile"]["id"], frozenset({OA, UA}))]


async def _user_account_requests(w: World) -> list[Case]:
    return [Case("confirmed, from the public form", await confirmed_request(w.env, w.org), frozenset({UA}))]


async def _organisations(w: World) -> list[Case]:
    own = (await w.gql("{ organisation { id } }", role=U))["organisation"]["id"]
    return [Case("one's own, from organisation", own, EVERYONE)]


async def _webhook_endpoints(w: World) -> list[Case]:
    body = await w.gql("""mutation { createWebhookEndpoint(input: {url: "https://93.184.216.34/hooks",
        eventTypes: [CERTIFICATE_RIGHTS_CHANGED]}) { webhookEndpoint { id } userErrors { code } } }""", role=OA)
    return [Case("from createWebhookEndpoint", body["createWebhookEndpoint"]["webhookEndpoint"]["id"], frozenset({OA}))]


PRODUCERS: dict[str, Callable[[World], Awaitable[list[Case]]]] = {
    "User": _users,
    "Activity": _activities,
    "Notification": _notifications,
    "AnonymityRequest": _anonymity_requests,
    "BulkJob": _bulk_jobs,
    "UserGroup": _user_groups,
    "ExternalUser": _external_users,
    "PowerOfAttorney": _powers_of_attorney,
    "Certificate": _certificates,
    "CertificateProfile": _certificate_profiles,
    "Organisation": _organisations,
    "WebhookEndpoint": _webhook_endpoints,
    "UserAccountRequest": _user_account_requests,
}


async def _cases(env: Env, org: OrgFixture) -> tuple[World, dict[str, list[Case]]]:
    world = World(env, org, await make_org(env.services, name="Partner"))
    cases = {kind: await produce(world) for kind, produce in PRODUCERS.items()}
    assert all(cases.values()), cases
    return world, cases


# --- the tests ---------------------------------------------------------------------------------------


def test_every_node_type_of_the_schema_has_a_case_and_resolves_its_own_ids() -> None:
    assert node_types() == set(PRODUCERS), "a Node type without a case here (or a case for no Node type)"
    for name in node_types():
        definition = schema.get_type_by_name(name)
        assert callable(getattr(definition.origin, "resolve_node", None)), f"{name} has no resolve_node"


async def test_node_gives_each_id_back_to_those_its_type_shows_it_to_and_null_to_the_rest(
    env: Env, org: OrgFixture
) -> None:
    world, cases = await _cases(env, org)
    for kind, kind_cases in cases.items():
        for case in kind_cases:
            for role in Role:
                body = await env.gql(NODE, {"id": case.id}, token=world.token(role))
                expected = {"__typename": kind, "id": case.id} if role in case.roles else None
                assert body == {"data": {"node": expected}}, (kind, case.label, role, body)


async def test_another_organisations_people_get_null_for_every_id(
    env: Env, org: OrgFixture, other_org: OrgFixture
) -> None:
    _, cases = await _cases(env, org)
    for role in Role:
        token = token_for(env, other_org, role)
        for kind, kind_cases in cases.items():
            for case in kind_cases:
                body = await env.gql(NODE, {"id": case.id}, token=token)
                assert body == {"data": {"node": None}}, (role, kind, case.label, body)


JUNK = ["", "x", "0", "-1", "1.5", "99999999999999999999999", "00000000-0000-0000-0000-000000000000",
        str(uuid.UUID(int=1)), "a/b", "x.1.y", f"{uuid.UUID(int=2)}.9999999999.AAAA", "' OR 1=1 --", "ÆØÅ",
        "12345674", "A" * 2000]


@pytest.mark.parametrize("role", [OA, UA, U])
async def test_malformed_ids_and_junk_payloads_of_every_type_are_null_not_errors(
    env: Env, org: OrgFixture, role: Role
) -> None:
    token = token_for(env, org, role)
    names = sorted(node_types()) + ["Node", "Query", "PageInfo", "__Schema", "ExternalMembership", "Viewer", "user"]
    ids = ["", "!!!", "====", "bm9kZQ", to_global_id("", "x"), "VXNlcjo", "Tm9kZTo=",
           to_global_id("ExternalMembership", f"{uuid.uuid4()}/{uuid.uuid4()}")]
    ids += [to_global_id(name, junk) for name in names for junk in JUNK]
    for value in ids:
        body = await env.gql(NODE, {"id": value}, token=token)
        assert body == {"data": {"node": None}}, (value, body)


async def test_an_external_user_id_is_fetched_only_as_the_api_handed_it_out(env: Env, org: OrgFixture) -> None:
    partner = await make_org(env.services, name="Partner")
    erik = await active_user(env, partner, "Erik")
    stranger = await active_user(env, partner, "Fremmed")
    ua = token_for(env, org, UA)

    async def node(value: str, token: str = ua) -> Any:
        body = await env.gql(NODE, {"id": value}, token=token)
        assert "errors" not in body, body
        return body["data"]["node"]

    handle = await handle_for(env, org, partner, erik)
    assert await node(handle) == {"__typename": "ExternalUser", "id": handle}
    # The handle is this organisation's: the partner's own people, and a third organisation, get null.
    third = await make_org(env.services, name="Tredje")
    for who in (partner, third):
        assert await node(handle, token_for(env, who, UA)) is None
    # An expired one is null; one signed a minute ago still answers.
    platform, now = env.services.platform, dt.datetime.now(dt.UTC)
    for minutes, answers in ((16, False), (1, True)):
        signed = platform.sign_external_user(uuid.UUID(erik["uuid"]), org.org_id, now - dt.timedelta(minutes=minutes))
        assert (await node(to_global_id("ExternalUser", signed)) is not None) is answers, minutes
    # A UUID read elsewhere (a certificate subject) is no member of ours; nor is our own user.
    assert await node(to_global_id("ExternalUser", stranger["uuid"])) is None
    assert await node(to_global_id("ExternalUser", erik["uuid"])) is None
    assert await node(to_global_id("ExternalUser", org.people[U])) is None
    # Once a member, the plain id answers (as UserGroup.members shows it), until they leave.
    group = await create_group(env, org, "Medlemmer")
    assert ok(await env.gql(ADD_EXTERNAL, {"g": group, "x": handle}, token=ua))["addExternalUserToGroup"] == {
        "userErrors": []}
    member = to_global_id("ExternalUser", erik["uuid"])
    assert await node(member) == {"__typename": "ExternalUser", "id": member}
    assert await node(member, token_for(env, partner, UA)) is None
    # Deactivated by their organisation: the handle is null (the search would not find them), the
    # member still shows, as in the members list.
    await deactivate(env, partner, erik)
    assert await node(handle) is None
    assert await node(member) == {"__typename": "ExternalUser", "id": member}
    removed = ok(await env.gql("""mutation($g: ID!, $x: ID!) { removeExternalUserFromGroup(input: {groupId: $g,
        externalUserId: $x}) { userErrors { code } } }""", {"g": group, "x": member}, token=ua))
    assert removed["removeExternalUserFromGroup"]["userErrors"] == []
    assert await node(member) is None


async def test_another_organisations_id_of_a_readable_type_is_null(
    env: Env, org: OrgFixture, other_org: OrgFixture
) -> None:
    theirs = ok(await env.gql("{ organisation { id } }", token=token_for(env, other_org, U)))["organisation"]["id"]
    for role in Role:
        assert await env.gql(NODE, {"id": theirs}, token=token_for(env, org, role)) == {"data": {"node": None}}
    ours = ok(await env.gql("{ organisation { id cvr } }", token=token_for(env, org, U)))["organisation"]
    assert ours["id"] == to_global_id("Organisation", org.cvr) and ours["cvr"] == org.cvr
