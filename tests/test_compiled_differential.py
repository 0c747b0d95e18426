"""The differential test of compiled operations (issue 18): the same read queries, sent by every kind
of caller to two apps on one database - COMPILED_OPERATIONS=on (plans where they cover the query,
the general executor elsewhere) and =off (the general executor only) - must get the same answer:
the same HTTP status and media type, the same `data` (keys in the same order), the same errors
(without their correlation ids, in any order), the same query cost (`requested`, `actual`,
`limit`); neither side may answer 5xx or INTERNAL, and no caller may see the ids of an organisation
not theirs (tests/differential.py).

Hand-written cases cover the dashboard document and what a plan must get right (fragments, inline
fragments, aliases, __typename, directives with variables, variables vs literals, page bounds, bad
cursors, filters, orders, nested history pages, the certificate and history policies, anonymous
users' masking, paging through with `after`); generated ones come from hypothesis-graphql over the
`users`, `user`, `viewer` and `node` root fields, with values drawn from the data itself (real ids,
cursors, names) and, in half of them, every literal argument passed as a variable.

The data (one `world` per database) is written before any comparison; the queries are read-only,
and every caller's `lastSeenAt` is written by a warm-up request before each test (it is written at
most every 5 minutes), so both apps of a pair see the same rows."""

from __future__ import annotations

import asyncio
import datetime as dt
import itertools
import json
import os
import time
import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from typing import Any

import hypothesis_graphql
import pytest
import pytest_asyncio
from graphql import GraphQLObjectType, GraphQLSchema, build_schema, print_schema
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from hypothesis_graphql import nodes
from sqlalchemy import update

from app.adapters.jwt import sign_token
from app.domain.common.principal import Role
from app.domain.users import lifecycle as uc
from app.domain.users.rules import NewUser
from app.entrypoints.cli.seed import activate_directly
from app.persistence.tables.certificates import certificates
from app.schema import schema as gateway_schema
from app.schema.runtime.base import to_global_id
from bench.dashboard import QUERY as DASHBOARD
from tests.conftest import Env
from tests.differential import (
    SIDE,
    Pair,
    app_client,
    app_settings,
    augment,
    checked_out,
    codes,
    comparable,
    first_difference,
    hoist_arguments,
    merge_aliased,
    plan_counts,
    reargue,
)
from tests.factories import OrgFixture, make_org

SCHEMA: GraphQLSchema = gateway_schema._schema
PASSWORD = "hemmeligt-kodeord-1"
GENERATED_EXAMPLES = 80  # per database; each is sent by every caller to both apps

# --- the data -----------------------------------------------------------------------------------------


@dataclass
class World:
    org: OrgFixture
    other: OrgFixture
    callers: dict[str, str | None]  # name -> bearer token (None: no token)
    user_ids: list[str] = field(default_factory=list)  # global ids of org's users (all states)
    group_ids: list[str] = field(default_factory=list)
    certificate_ids: list[str] = field(default_factory=list)
    foreign_ids: list[str] = field(default_factory=list)  # of the other organisation
    strings: list[str] = field(default_factory=list)  # cursors, names, dates, numbers of the data
    user_cursors: list[str] = field(default_factory=list)
    history_cursors: list[str] = field(default_factory=list)
    queries: Any = None  # the generated queries' strategy (_queries)


def gid(kind: str, raw: Any) -> str:
    return str(to_global_id(kind, raw))


async def _ok(env: Env, query: str, variables: dict[str, Any], token: str, name: str) -> dict[str, Any]:
    body = await env.gql(query, variables, token=token)
    assert "errors" not in body, body
    payload = body["data"][name]
    assert not payload.get("userErrors"), payload
    return payload


CREATE_USER = """mutation($input: CreateUserInput!) { createUser(input: $input) {
    user { id uuid } userErrors { field code message } } }"""
UPDATE_USER = """mutation($input: UpdateUserInput!) { updateUser(input: $input) {
    user { id } userErrors { field code message } } }"""
SET_AUTHENTICATORS = """mutation($input: SetUserAuthenticatorsInput!) { setUserAuthenticators(input: $input) {
    user { id } userErrors { field code message } } }"""
DEACTIVATE = """mutation($input: DeactivateUserInput!) { deactivateUser(input: $input) {
    user { id } userErrors { field code message } } }"""
DELETE = """mutation($input: UserIdInput!) { deleteUser(input: $input) { user { id } userErrors { field code message } } }"""
CREATE_GROUP = """mutation($input: CreateUserGroupInput!) { createUserGroup(input: $input) {
    group { id } userErrors { field code message } } }"""
ADD_TO_GROUP = """mutation($input: AddUsersToGroupInput!) { addUsersToGroup(input: $input) {
    group { id } userErrors { field code message } } }"""
ORDER = """mutation($input: OrderUserCertificateInput!) { orderUserCertificate(input: $input) {
    certificate { id uuid } userErrors { field code message } } }"""
ISSUE = """mutation($input: IssueCertificateInput!) { issueUserCertificate(input: $input) {
    certificate { id } userErrors { field code message } } }"""
REVOKE = """mutation($input: RevokeCertificateInput!) { revokeCertificate(input: $input) {
    certificate { id } userErrors { field code message } } }"""
CANCEL = """mutation($input: CertificateIdInput!) { cancelCertificateOrder(input: $input) {
    certificate { id } userErrors { field code message } } }"""

_serial = itertools.count(1)


async def _active(env: Env, org: OrgFixture, first: str, last: str, anonymous: bool = False) -> uuid.UUID:
    """An activated user (the use cases, the person's first login skipped)."""
    async with env.services.unit_of_work(org.actor()) as uow:
        created = await uc.create_user(
            uow, NewUser(first_name=first, last_name=last, email=f"{first.lower()}.{uuid.uuid4().hex[:10]}@example.dk",
                         date_of_birth="1979-06-15", anonymous=anonymous), send=False)
        await activate_directly(uow, created.user, dt.datetime.now(dt.UTC))
        await uow.commit()
    return created.user.id


async def _populate(env: Env, org: OrgFixture) -> tuple[list[str], list[str], list[str]]:
    """Varied users, groups and certificates in `org` through the gateway's mutations; returns the
    global ids of its users, custom groups and certificates."""
    ua = sign_token(env.settings, org.people[Role.USER_ADMINISTRATOR], org.cvr, [Role.USER_ADMINISTRATOR])
    ra = sign_token(env.settings, org.people[Role.RIGHTS_ADMINISTRATOR], org.cvr, [Role.RIGHTS_ADMINISTRATOR])
    oa = sign_token(env.settings, org.people[Role.ORGANISATION_ADMINISTRATOR], org.cvr,
                    [Role.ORGANISATION_ADMINISTRATOR])

    async def create(**fields: Any) -> str:
        n = next(_serial)
        data = {"firstName": "Karen", "lastName": f"Jensen{n}", "email": f"k{n}.{uuid.uuid4().hex[:10]}@example.dk",
                **fields}
        if "cpr" not in data and "dateOfBirth" not in data:
            data["dateOfBirth"] = "1985-04-12"
        return (await _ok(env, CREATE_USER, {"input": data}, ua, "createUser"))["user"]["id"]

    users = [gid("User", person) for person in org.people.values()]
    # CPR users (one with everything filled in), date-of-birth users, anonymous ones
    users.append(await create(firstName="Søren", lastName="Ågård", cpr="170385-4417", phone="+4512345678",
                              reference="løn-7", authenticators=["MITID_APP", "CHIP"], pNumber=org.p_numbers[1],
                              rights=["SKAT.MOMS"], canSign=True))
    users.append(await create(firstName="Åse", lastName="Bækgaard", cpr="0101901234", authenticators=["PRIVATE_MITID"]))
    users.append(await create(firstName="Mette", lastName="Østergaard", cpr="311299-0001", seNumber=org.se_numbers[1]))
    users.append(await create(firstName="Bjørn", lastName="Kjær", dateOfBirth="1970-12-31",
                              authenticators=["CODE_DISPLAY", "AUDIO_CODE_READER"]))
    users.append(await create(firstName="anne", lastName="andersen", dateOfBirth="2001-02-03", reference="ref"))
    users.append(await create(firstName="Anonym", lastName="Person", anonymous=True, cpr="050505-5555",
                              authenticators=["CHIP"]))
    users.append(await create(firstName="Skjult", lastName="Bruger", anonymous=True, dateOfBirth="1990-09-09"))
    # deleted, deactivated (now and from a future date), and activated holders of certificates
    deleted = await create(firstName="Slettet", lastName="Person")
    await _ok(env, DELETE, {"input": {"userId": deleted}}, ua, "deleteUser")
    users.append(deleted)
    holders = [await _active(env, org, name, "Holder", anonymous=name == "Anonyma")
               for name in ("Frida", "Gustav", "Hanne", "Ivan", "Anonyma")]
    users.extend(gid("User", h) for h in holders)
    for n in range(6):  # enough users for several pages
        users.append(await create(firstName=f"Fyld{n}", lastName="Fyldesen", dateOfBirth=f"19{60 + n}-0{n + 1}-1{n}"))
    await _ok(env, DEACTIVATE, {"input": {"userId": gid("User", holders[3])}}, ua, "deactivateUser")
    await _ok(env, DEACTIVATE, {"input": {"userId": gid("User", holders[2]), "from": "2099-01-01",
                                          "until": "2099-12-31"}}, ua, "deactivateUser")
    # history: several changes of one user (more than a page of 5), rights, authenticators
    frida = gid("User", holders[0])
    for n in range(7):
        await _ok(env, UPDATE_USER, {"input": {"userId": frida, "reference": f"ref-{n}"}}, ua, "updateUser")
    await _ok(env, UPDATE_USER, {"input": {"userId": frida, "rights": ["SKAT.MOMS", "SKAT.REFUSION"]}}, ra, "updateUser")
    await _ok(env, SET_AUTHENTICATORS, {"input": {"userId": frida, "authenticators": ["MITID_APP"]}}, ua,
              "setUserAuthenticators")
    # custom groups (with rights, one limited to a P-unit) and the P-units' system groups
    groups = []
    for name, extra in (("Løn", {"rights": ["SKAT.MOMS"]}), ("Økonomi", {"pNumber": org.p_numbers[0]}),
                        ("Tom gruppe", {})):
        groups.append((await _ok(env, CREATE_GROUP, {"input": {"name": name, **extra}}, oa, "createUserGroup"))
                      ["group"]["id"])
    await _ok(env, ADD_TO_GROUP, {"input": {"groupId": groups[0], "userIds": [frida, users[3], gid("User", holders[1]),
                                                                        gid("User", holders[4])]}}, ua,
              "addUsersToGroup")
    await _ok(env, ADD_TO_GROUP, {"input": {"groupId": groups[1], "userIds": [frida, gid("User", holders[4])]}}, ua,
              "addUsersToGroup")
    # certificates: ordered, issued, revoked, cancelled, expired by date
    certs: list[str] = []

    async def order(holder: uuid.UUID) -> dict[str, Any]:
        found = (await _ok(env, ORDER, {"input": {"userId": gid("User", holder)}}, ua, "orderUserCertificate"))
        certs.append(found["certificate"]["id"])
        return found["certificate"]

    async def issue(holder: uuid.UUID, cert_id: str) -> None:
        token = sign_token(env.settings, holder, org.cvr, [Role.USER])
        await _ok(env, ISSUE, {"input": {"certificateId": cert_id, "password": PASSWORD}}, token, "issueUserCertificate")

    frida_issued = await order(holders[0])
    await issue(holders[0], frida_issued["id"])
    await order(holders[0])  # ordered only
    revoked = await order(holders[1])
    await issue(holders[1], revoked["id"])
    await _ok(env, REVOKE, {"input": {"certificateId": revoked["id"], "reason": "KEY_LOST"}}, ua, "revokeCertificate")
    cancelled = await order(holders[1])
    await _ok(env, CANCEL, {"input": {"certificateId": cancelled["id"]}}, ua, "cancelCertificateOrder")
    expired = await order(holders[4])
    await issue(holders[4], expired["id"])
    async with env.engine.begin() as conn:  # issued long ago: EXPIRED by its date, read time
        await conn.execute(update(certificates).where(certificates.c.id == uuid.UUID(expired["uuid"]))
                           .values(not_after=dt.datetime.now(dt.UTC) - dt.timedelta(days=3)))
    for person in (org.people[Role.USER], org.people[Role.RIGHTS_ADMINISTRATOR]):
        await order(person)
    return users, groups, certs


async def _world(env: Env) -> World:
    org = await make_org(env.services)
    other = await make_org(env.services, name="Fremmed A/S")
    users, groups, certs = await _populate(env, org)
    other_users, other_groups, other_certs = await _populate(env, other)

    def token(o: OrgFixture, role: Role, **kw: Any) -> str:
        return sign_token(env.settings, o.people[role], o.cvr, [role], **kw)

    callers: dict[str, str | None] = {
        "USER_ADMINISTRATOR": token(org, Role.USER_ADMINISTRATOR),
        "RIGHTS_ADMINISTRATOR": token(org, Role.RIGHTS_ADMINISTRATOR),
        "ORGANISATION_ADMINISTRATOR": token(org, Role.ORGANISATION_ADMINISTRATOR),
        "USER": token(org, Role.USER),
        "no token": None,
        "expired token": token(org, Role.USER_ADMINISTRATOR, ttl=-3600),
        "other organisation": token(other, Role.USER_ADMINISTRATOR),
    }
    world = World(org, other, callers, users, groups, certs, other_users + other_groups + other_certs)
    # strings the generated queries draw from: cursors of the users and history pages, names, dates
    ua = callers["USER_ADMINISTRATOR"]
    assert ua is not None
    page = await env.gql("""query { users(first: 500) { edges { cursor node { firstName lastName email pNumber
        seNumber uuid history(first: 3) { edges { cursor } } } } } }""", token=ua)
    for edge in page["data"]["users"]["edges"]:
        node = edge["node"]
        world.user_cursors.append(edge["cursor"])
        world.history_cursors += [e["cursor"] for e in node["history"]["edges"]]
        world.strings += [v for k, v in node.items() if isinstance(v, str) and k != "uuid"]
        world.strings.append(node["uuid"])
    world.strings += org.p_numbers + org.se_numbers + ["2020-01-01", dt.date.today().isoformat(), "2099-12-31",
                                                        "2026-13-45", "løn", "SKAT.MOMS", "NOT.A_RIGHT", ""]
    # in the order of the data's making (not sorted: uuids and emails are random), so a derandomized
    # run draws the same examples from the same data
    world.strings = list(dict.fromkeys(world.strings + world.user_cursors + world.history_cursors))
    return world


# --- the two apps ----------------------------------------------------------------------------------------


@pytest_asyncio.fixture(scope="module")
async def world(env: Env) -> World:
    return await _world(env)


@pytest_asyncio.fixture(scope="module")
async def pair(env: Env, world: World) -> AsyncIterator[Pair]:
    pair = await Pair.opened(app_settings(env.settings, "on"), app_settings(env.settings, "off"))
    try:
        for client, mode in ((pair.on, "on"), (pair.off, "off")):
            assert client.services.settings.compiled_operations == mode  # type: ignore[attr-defined]
        ours = tuple(world.user_ids + world.group_ids + world.certificate_ids)
        for name, token in world.callers.items():
            pair.foreign[token] = ours if name == "other organisation" else tuple(world.foreign_ids)
        yield pair
    finally:
        await pair.close()


@pytest_asyncio.fixture
async def seen(pair: Pair, world: World) -> None:
    """Every caller's `lastSeenAt` written now (then not again for 5 minutes), by either app, before
    the test's comparisons."""
    for token in world.callers.values():
        await pair.compare("{ viewer { roles } }", token=token, caller="warm-up")


DIFFERENTIAL = pytest.mark.usefixtures("seen")


async def each_caller(pair: Pair, world: World, query: str, variables: dict[str, Any] | None = None,
                      **kw: Any) -> dict[str, dict[str, Any]]:
    return {name: await pair.compare(query, variables, token=token, caller=name, **kw)
            for name, token in world.callers.items()}


# --- hand-written cases -------------------------------------------------------------------------------------

USER_SCALARS = """id uuid firstName lastName name email phone reference cprMasked dateOfBirth identification
    anonymous status pNumber seNumber canSign canCreateSeal deactivation { from until } createdAt activatedAt
    lastLoginAt updatedAt lastSeenAt"""
FULL_USER = f"""{USER_SCALARS} authenticators rights effectiveRights roles
    groups {{ id kind name description pNumber seNumber createdAt updatedAt }}
    certificates {{ id uuid kind type qualified status issuance purposes name email pNumber seNumber serialNumber
                    subject notBefore notAfter fingerprintSha256 canSeal allowUserSigning orderedAt issuedAt
                    cancelledAt revokedAt revocationReason updatedAt systemRights }}
    history(first: 5) {{ edges {{ cursor node {{ id type occurredAt actorName targetName summary outcome requestId }} }}
                         pageInfo {{ hasNextPage hasPreviousPage startCursor endCursor }} totalCount }}"""
PAGE = "pageInfo { hasNextPage hasPreviousPage startCursor endCursor } totalCount"

CASES: dict[str, tuple[str, dict[str, Any]]] = {
    "dashboard": (DASHBOARD, {"first": 50}),
    "dashboard, first 3": (DASHBOARD, {"first": 3}),
    "dashboard with literals": (DASHBOARD.replace("query Dashboard($first: Int!)", "query").replace("$first", "50"), {}),
    "every User field": (f"query {{ users(first: 100) {{ {PAGE} edges {{ cursor node {{ {FULL_USER} }} }} }} }}", {}),
    "groups with their rights": ("""{ users(first: 10, filter: {status: ACTIVE}) { edges { node { id
        groups { id name rights { code name description kind service } } rights effectiveRights } } } }""", {}),
    "fragments and inline fragments": ("""
        query Q { users(first: 30) { ...Page } }
        fragment Page on UserConnection { totalCount edges { ...Edge node { ... on User { email } ...Who } } }
        fragment Edge on UserEdge { cursor __typename }
        fragment Who on User { __typename id firstName ... { lastName } ... on Node { id }
                               groups { ... on UserGroup { name } __typename } }""", {}),
    "aliases: the same field with other arguments": ("""{
        a: users(first: 2) { totalCount edges { node { id name } } }
        b: users(first: 3, orderBy: {field: EMAIL, direction: DESC}) { totalCount edges { node { id name: email } } }
        users(first: 1) { edges { node { id h1: history(first: 1) { totalCount edges { node { type } } }
                                          h2: history(first: 3) { edges { cursor } } } } } }""", {}),
    "a failing sibling root field": ("""{ a: users(first: 5) { edges { node { id authenticators
        certificates { status } groups { name } } } } b: users(filter: {right: "NOT.A_RIGHT"}) { totalCount } }""", {}),
    "a failing nullable sibling": ("""query($id: ID!) { users(first: 5) { edges { node { id certificates { status } } } }
        user(id: $id) { history(first: 501) { totalCount } } }""", {"id": "VXNlcjox"}),
    "the same field twice, merged": ("""{ users(first: 4) { edges { node { id id firstName }
        node { lastName groups { name } groups { kind } } } edges { cursor } } }""", {}),
    "typename everywhere": ("""{ __typename users(first: 5) { __typename pageInfo { __typename }
        edges { __typename node { __typename certificates { __typename } history(first: 2) { __typename
        edges { __typename node { __typename } } } } } } }""", {}),
    "skip and include with variables": ("""query($yes: Boolean!, $no: Boolean!) { users(first: 10) {
        totalCount @include(if: $no) pageInfo @skip(if: $yes) { endCursor }
        edges { cursor @skip(if: $no) node { id email @include(if: $yes) phone @include(if: $no)
            groups @skip(if: $yes) { name } certificates @include(if: $yes) { status }
            ... on User @include(if: $no) { lastName } ...F @skip(if: $no) } } } }
        fragment F on User { firstName history(first: 2) @include(if: $yes) { totalCount } }""",
                                        {"yes": True, "no": False}),
    "skip and include, the other way round": ("""query($yes: Boolean!, $no: Boolean!) { users(first: 10) {
        totalCount @include(if: $no) edges { cursor @skip(if: $no) node { id email @include(if: $yes)
            ...F @skip(if: $no) } } } } fragment F on User { firstName }""", {"yes": False, "no": True}),
    "first 0": (f"{{ users(first: 0) {{ {PAGE} edges {{ cursor node {{ id }} }} }} }}", {}),
    "first 500": ("{ users(first: 500) { totalCount edges { node { id } } } }", {}),
    "first 501": ("{ users(first: 501) { totalCount edges { node { id } } } }", {}),
    "first -1": ("query($n: Int) { users(first: $n) { totalCount edges { node { id } } } }", {"n": -1}),
    "first null": ("query($n: Int) { users(first: $n) { totalCount edges { node { id } } } }", {"n": None}),
    "no first": ("{ users { totalCount edges { node { id } } } }", {}),
    "bad cursor": ('{ users(first: 2, after: "not-a-cursor") { edges { node { id } } } }', {}),
    "empty cursor": ('{ users(first: 2, after: "") { edges { node { id } } } }', {}),
    "a cursor of another kind": ('{ users(first: 2, after: "QWN0aXZpdHk6MQ") { edges { node { id } } } }', {}),
    "history first 0": ("{ users(first: 20) { edges { node { id history(first: 0) { " + PAGE + " edges { cursor } } } } } }",
                        {}),
    "history first 201": ("{ users(first: 3) { edges { node { id history(first: 201) { totalCount } } } } }", {}),
    "history first 5 with variables": ("""query($f: Int!, $h: Int) { users(first: $f) { edges { node { id
        history(first: $h) { edges { cursor node { type summary actorName } } pageInfo { hasNextPage endCursor } } } } } }""",
                                       {"f": 40, "h": 5}),
    "history filtered": ("""{ users(first: 40) { edges { node { id
        history(first: 3, types: [USER_UPDATED, CERTIFICATE_ISSUED], search: "ref") { totalCount edges { node { type } } }
        old: history(first: 3, from: "2000-01-01", to: "2001-01-01") { totalCount }
        bad: history(first: 3, from: "yesterday") { totalCount } } } } }""", {}),
    "history bad cursor": ('{ users(first: 3) { edges { node { history(first: 2, after: "x") { totalCount } } } } }', {}),
    "certificates and history of everyone": ("""{ users(first: 100) { edges { node { id name
        certificates { id status notAfter } history(first: 2) { totalCount } } } } }""", {}),
    "anonymous users' names": ("""{ users(first: 100, orderBy: {field: NAME}) { edges { node { id firstName lastName
        name email phone cprMasked dateOfBirth anonymous reference } } } }""", {}),
    "anonymous members of the caller's groups": ("""{ viewer { user { groups { name members(first: 50) {
        totalCount edges { cursor external name pNumber node { __typename ... on User { id firstName lastName name
        email anonymous status } } } } } } } }""", {}),
    "viewer": (f"{{ viewer {{ roles user {{ {FULL_USER} }} organisation {{ id cvr name }} }} }}", {}),
    "totalCount alone": ("{ users { totalCount } }", {}),
    "pageInfo alone": ("{ users(first: 2) { pageInfo { hasNextPage endCursor startCursor hasPreviousPage } } }", {}),
}

ORDERS = [{"field": f, "direction": d} for f in ("NAME", "EMAIL", "CREATED_AT", "STATUS") for d in ("ASC", "DESC")]
FILTER_QUERY = """query($filter: UserFilterInput, $orderBy: UserOrderInput, $first: Int) {
    users(first: $first, filter: $filter, orderBy: $orderBy) { totalCount pageInfo { hasNextPage endCursor }
        edges { cursor node { id name status identification pNumber authenticators effectiveRights
                              groups { name } } } } }"""


@DIFFERENTIAL
@pytest.mark.parametrize("case", list(CASES))
async def test_a_hand_written_query_gets_the_same_answer_from_both(pair: Pair, world: World, case: str) -> None:
    query, variables = CASES[case]
    bodies = await each_caller(pair, world, query, variables)
    ua = bodies["USER_ADMINISTRATOR"]
    if case in ("first 501", "first -1", "bad cursor", "history bad cursor"):
        assert "BAD_USER_INPUT" in codes(ua), ua
    if case.startswith("dashboard") or case == "every User field":
        assert ua.get("data") and ua["data"]["users"]["edges"], ua  # the case is not vacuous
        assert any(c == "FORBIDDEN" for c in codes(bodies["RIGHTS_ADMINISTRATOR"])), \
            "certificates as a non-viewer: the policy's FORBIDDEN/null paths"
    assert codes(bodies["no token"]) and codes(bodies["expired token"])


@DIFFERENTIAL
async def test_every_user_is_reached_by_id_and_node_the_same_way(pair: Pair, world: World) -> None:
    query = f"""query($id: ID!) {{ user(id: $id) {{ {FULL_USER} }}
        node(id: $id) {{ __typename id ... on User {{ firstName certificates {{ status }} }} }} }}"""
    for ident in [*world.user_ids, *world.foreign_ids[:3], world.group_ids[0], world.certificate_ids[0], "garbage"]:
        await each_caller(pair, world, query, {"id": ident})


@DIFFERENTIAL
async def test_the_operation_name_picks_the_operation_of_a_document(pair: Pair, world: World) -> None:
    """One document, several operations: a plan is per operation, not per document."""
    document = """query Small { users(first: 2) { edges { node { id } } } }
        query Large($f: Int = 6) { users(first: $f) { totalCount edges { cursor node { id name groups { name } } } } }
        query Mine { viewer { user { id certificates { status } history(first: 2) { totalCount } } } }"""
    for operation in ("Small", "Large", "Mine", "Small"):
        await each_caller(pair, world, document, operation_name=operation)
    await each_caller(pair, world, document, {"f": 1}, operation_name="Large")
    # No name: a request error (OPERATION_NAME_REQUIRED, app/schema/runtime/limits.py; Strawberry alone
    # ran the first operation). Both must agree.
    await each_caller(pair, world, document)


@DIFFERENTIAL
@pytest.mark.parametrize("order", ORDERS, ids=[f"{o['field']}-{o['direction']}" for o in ORDERS])
async def test_an_order_gets_the_same_pages_from_both(pair: Pair, world: World, order: dict[str, str]) -> None:
    await each_caller(pair, world, FILTER_QUERY, {"orderBy": order, "first": 7})


@DIFFERENTIAL
async def test_filters_get_the_same_answers_from_both(pair: Pair, world: World) -> None:
    filters: list[dict[str, Any]] = [
        {"status": s} for s in ("CREATED", "PENDING_ACTIVATION", "ACTIVE", "DEACTIVATED", "DELETED")
    ] + [
        {"identification": "CPR"}, {"identification": "DATE_OF_BIRTH"}, {"search": "ågård"}, {"search": "ANNE"},
        {"search": "anonym"}, {"search": world.org.emails[Role.USER]}, {"search": "%"}, {"search": "_"},
        {"pNumber": world.org.p_numbers[1]}, {"seNumber": world.org.se_numbers[1]}, {"groupId": world.group_ids[0]},
        {"groupId": world.group_ids[2]}, {"groupId": world.foreign_ids[-4]}, {"groupId": "nonsense"},
        {"right": "SKAT.MOMS"}, {"right": "NOT.A_RIGHT"}, {"authenticator": "MITID_APP"},
        {"createdFrom": "2000-01-01"}, {"createdTo": "2000-01-01"}, {"createdFrom": "13/13/2013"},
        {"status": "ACTIVE", "identification": "DATE_OF_BIRTH", "search": "holder"}, {},
    ]
    for flt in filters:
        await each_caller(pair, world, FILTER_QUERY, {"filter": flt, "first": 50,
                                                      "orderBy": {"field": "EMAIL", "direction": "DESC"}})


@DIFFERENTIAL
@pytest.mark.parametrize("size", [1, 4])
async def test_paging_through_every_user_with_after_gets_the_same_pages(pair: Pair, world: World, size: int) -> None:
    query = """query($first: Int!, $after: String) { users(first: $first, after: $after) {
        pageInfo { hasNextPage endCursor } totalCount edges { cursor node { id name history(first: 2) {
        edges { cursor } } } } } }"""
    for name, token in world.callers.items():
        after, seen = None, 0
        for _ in range(100):
            body = await pair.compare(query, {"first": size, "after": after}, token=token, caller=name)
            if not body.get("data"):
                break
            connection = body["data"]["users"]
            seen += len(connection["edges"])
            if not connection["pageInfo"]["hasNextPage"]:
                assert seen == connection["totalCount"], (name, seen, connection["totalCount"])
                break
            after = connection["pageInfo"]["endCursor"]
        else:
            raise AssertionError(f"{name}: more than 100 pages")


@DIFFERENTIAL
async def test_a_users_history_paged_through_with_after_gets_the_same_pages(pair: Pair, world: World) -> None:
    query = """query($id: ID!, $after: String) { user(id: $id) { history(first: 3, after: $after) {
        edges { cursor node { id type summary } } pageInfo { hasNextPage endCursor } totalCount } } }"""
    frida = world.user_ids[len(world.org.people) + 8]  # the first certificate holder, 10 and more entries
    for name, token in world.callers.items():
        after = None
        for _ in range(30):
            body = await pair.compare(query, {"id": frida, "after": after}, token=token, caller=name)
            history = (body.get("data") or {}).get("user") and body["data"]["user"]["history"]
            if not history or not history["pageInfo"]["hasNextPage"]:
                break
            after = history["pageInfo"]["endCursor"]


# --- generated cases ----------------------------------------------------------------------------------------

# Back references that only make generated documents deep (and costly) without reaching other plans.
PRUNED = {"Certificate": ("user", "orderedBy", "predecessor", "successor", "profile", "certificatePem"),
          "Activity": ("actor", "targetUser", "details"),
          "UserGroup": ("members",)}  # members: another connection, of users and partners, deep and slow
# What the plans cover, added (aliased) to a generated User or Certificate selection in some examples:
# hypothesis-graphql picks few fields of a type of thirty, so a history page or a certificate's
# derived status would seldom be selected at all.
EXTRAS = {
    "User": ["x_updatedAt: updatedAt", "x_name: name", "x_first: firstName", "x_status: status",
             "x_deactivation: deactivation { from until }", "x_roles: roles", "x_rights: effectiveRights",
             "x_authenticators: authenticators", "x_t: __typename",
             "x_certificates: certificates { id status notAfter revokedAt serialNumber }",
             "x_groups: groups { id name kind pNumber }",
             "x_h0: history(first: 0) { totalCount edges { cursor } pageInfo { hasNextPage } }",
             "x_h2: history(first: 2) { totalCount pageInfo { hasNextPage endCursor } edges { cursor node { id type summary } } }",
             "x_h5: history(first: 5) { edges { node { type occurredAt actorName targetName } } }"],
    "Certificate": ["x_status: status", "x_notAfter: notAfter", "x_kind: kind"],
    "UserConnection": ["x_total: totalCount", "x_page: pageInfo { hasNextPage endCursor }"],
}


def _generation_schema() -> GraphQLSchema:
    """The gateway's schema less PRUNED: every query generated from it is valid against the gateway's."""
    pruned = build_schema(print_schema(SCHEMA))
    for type_name, names in PRUNED.items():
        object_type = pruned.type_map[type_name]
        assert isinstance(object_type, GraphQLObjectType)
        for name in names:
            object_type.fields.pop(name, None)
    return pruned


GENERATION_SCHEMA = _generation_schema()


def _values(world: World) -> dict[str, st.SearchStrategy[Any]]:
    ids = world.user_ids + world.group_ids + world.certificate_ids + world.foreign_ids
    return {
        "ID": st.one_of(st.sampled_from(ids), st.sampled_from(["", "VXNlcjox", "garbage"])).map(nodes.String),
        "String": st.one_of(st.sampled_from(world.strings), st.text(max_size=8)).map(nodes.String),
        "Int": st.one_of(st.sampled_from([0, 1, 2, 3, 5, 10, 50, 200, 500, 501, -1]), st.integers(-3, 30)).map(nodes.Int),
        "JSON": st.just(nodes.String("{}")),
    }


def _queries(world: World) -> st.SearchStrategy[str]:
    """Queries of one root field (users the most), with values from the data (built once a world)."""
    if world.queries is None:
        scalars = _values(world)

        def of(*fields: str) -> st.SearchStrategy[str]:
            return hypothesis_graphql.queries(GENERATION_SCHEMA, fields=fields, custom_scalars=scalars,
                                              allow_x00=False)

        world.queries = st.one_of(of("users"), of("users"), of("users", "viewer"), of("user"), of("viewer"),
                                  of("node"))
    return world.queries


_COUNTS = ("examples", "with variables", "with data", "pairs", "known bug", "planned", "handed over")
GENERATED: dict[str, Any] = {**dict.fromkeys(_COUNTS, 0), "seconds": 0.0}


ABSENT = object()
# Page arguments of the connections the plans cover, drawn apart from the generated values (which
# would make almost every `after` a bad cursor and `first` out of range).
PAGE_SIZES = {"users": [ABSENT, None, 0, 1, 2, 3, 7, 50, 500, 501, -1],
              "history": [ABSENT, None, 0, 1, 2, 5, 200, 201, -1]}


def _page_arguments(world: World, data: st.DataObject) -> Any:
    def choose(field_name: str, name: str, value: Any) -> Any:
        if field_name not in PAGE_SIZES or name not in ("first", "after"):
            return value
        if name == "first":
            size = data.draw(st.sampled_from(PAGE_SIZES[field_name]), label=f"{field_name}.first")
        else:
            own = world.user_cursors if field_name == "users" else world.history_cursors
            other = world.history_cursors if field_name == "users" else world.user_cursors
            size = data.draw(st.one_of(st.just(ABSENT), st.just(ABSENT), st.just(None), st.sampled_from(own),
                                       st.sampled_from(own), st.sampled_from(other), st.just("bm90IGEgY3Vyc29y")),
                             label=f"{field_name}.after")
        if size is ABSENT:
            return None
        if size is None:
            return nodes.Null
        return nodes.Int(size) if isinstance(size, int) else nodes.String(size)

    choose.ask = {"users": ("first", "after"), "history": ("first", "after")}  # type: ignore[attr-defined]
    return choose


@DIFFERENTIAL
@settings(max_examples=GENERATED_EXAMPLES, deadline=None, derandomize=True, database=None,
          suppress_health_check=list(HealthCheck), print_blob=False)
@given(data=st.data())
async def test_generated_queries_get_the_same_answer_from_both(pair: Pair, world: World, data: st.DataObject) -> None:
    """A generated query (one to three, merged under aliases), its page arguments drawn from the
    data, and in about half of the examples every literal argument passed as a variable."""
    started, before, tolerated, plans = time.monotonic(), pair.compared, len(pair.tolerated), plan_counts()
    parts = data.draw(st.lists(_queries(world), min_size=1, max_size=3), label="queries")
    query = parts[0] if len(parts) == 1 else merge_aliased(parts)
    query = reargue(query, _page_arguments(world, data))
    if data.draw(st.booleans(), label="with the covered fields"):
        query = augment(SCHEMA, query, EXTRAS, lambda type_name, selections: [
            s for s in selections if data.draw(st.booleans(), label=f"{type_name}.{s.alias.value}")])
    variables: dict[str, Any] = {}
    if data.draw(st.booleans(), label="literals as variables"):
        query, variables = hoist_arguments(SCHEMA, query)
        GENERATED["with variables"] += bool(variables)
    GENERATED["examples"] += 1
    try:
        bodies = await each_caller(pair, world, query, variables)
        answered = bodies["USER_ADMINISTRATOR"]
        GENERATED["with data"] += bool(answered.get("data")) and not answered.get("errors")
        if os.environ.get("DIFFERENTIAL_SHOW"):
            print("\n---", query, variables, json.dumps(answered)[:600])
    finally:
        GENERATED["pairs"] += pair.compared - before
        GENERATED["known bug"] += len(pair.tolerated) - tolerated
        after = plan_counts()
        if plans is not None and after is not None:
            GENERATED["planned"] += after[0] - plans[0]
            GENERATED["handed over"] += after[1] - plans[1]
        GENERATED["seconds"] += time.monotonic() - started


def test_the_generated_queries_ran(env: Env) -> None:
    """Reports the generated examples of this database (pytest -s shows it)."""
    # (it reads what test_generated_queries_get_the_same_answer_from_both counted: run it with that one)
    assert GENERATED["examples"], "no generated example ran: run this with the generated test"
    g = GENERATED
    print(f"\ncompiled differential on {env.backend}: {g['examples']} generated examples ({g['with variables']} "
          f"with variables, {g['with data']} answered without errors), {g['pairs']} pairs sent "
          f"({g['known bug']} met the known connection bug), {g['seconds']:.1f} s; on the compiled side: "
          + (f"{GENERATED['planned']} plan runs answered, {GENERATED['handed over']} handed over"
             if plan_counts() is not None else "no plans yet"))
    assert GENERATED["examples"] >= GENERATED_EXAMPLES // 2, GENERATED
    if plan_counts() is not None:
        assert GENERATED["planned"] > 0, f"no generated query ran a plan: the comparison is vacuous ({GENERATED})"
    GENERATED.update({**dict.fromkeys(_COUNTS, 0), "seconds": 0.0})


# --- mutants: a side that answers wrongly must be caught --------------------------------------------------------------


def _off_side() -> bool:
    """In a request to the `off` app: the mutants change the general executor's answers (the compiled
    path, once it lands, may not call what they patch)."""
    return SIDE.get() == "off"


MUTANTS = {  # name -> the hand-written cases that must catch it
    "another updatedAt": ["every User field"],
    "the newest history entry left out": ["dashboard"],
    "expiry derived at another time": ["dashboard"],
}


@DIFFERENTIAL
@pytest.mark.parametrize("mutant", list(MUTANTS))
async def test_a_side_that_answers_wrongly_is_caught(
    pair: Pair, world: World, monkeypatch: pytest.MonkeyPatch, mutant: str
) -> None:
    """Mistakes a plan could make (a column, a page, a value derived at read time), made by one side:
    the hand-written cases find each of them."""
    from app.schema import activity
    from app.schema.certificates import types as certificate_types
    from app.schema.users import types as user_types

    applied = [0]  # times the mutant changed an answer of the off side

    if mutant == "another updatedAt":
        for name in ("of", "shown_to"):  # the domain user as the schema's (either, as the code has it)
            if not hasattr(user_types.User, name):
                continue
            made_by = getattr(user_types.User, name).__func__

            def stale(cls: Any, u: Any, *args: Any, _made_by: Any = made_by, **kwargs: Any) -> Any:
                made = _made_by(cls, u, *args, **kwargs)
                if _off_side():
                    made.updated_at = u.created_at - dt.timedelta(seconds=1)
                    applied[0] += 1
                return made

            monkeypatch.setattr(user_types.User, name, classmethod(stale))
    elif mutant == "the newest history entry left out":
        connection_of = activity.ActivityConnection.of.__func__  # type: ignore[attr-defined]

        def shorter(cls: Any, rows: list[Any], *args: Any, **kwargs: Any) -> Any:
            if _off_side() and rows:
                rows = rows[1:]
                applied[0] += 1
            return connection_of(cls, rows, *args, **kwargs)

        monkeypatch.setattr(activity.ActivityConnection, "of", classmethod(shorter))
    else:
        now_of = certificate_types.now_of

        def earlier(info: Any) -> Any:
            if _off_side():
                applied[0] += 1
                return now_of(info) - dt.timedelta(days=30)
            return now_of(info)

        monkeypatch.setattr(certificate_types, "now_of", earlier)
    caught = []
    for case in MUTANTS[mutant]:
        query, variables = CASES[case]
        for name, token in world.callers.items():
            try:
                await pair.compare(query, variables, token=token, caller=name)
            except AssertionError as exc:
                assert "differs from the general executor" in str(exc), exc
                caught.append((case, name))
    assert applied[0], (f"the mutant {mutant!r} no longer reaches the general executor's answers (the code it "
                        "patches moved): move it")
    assert caught, f"the mutant {mutant!r} was not caught by {MUTANTS[mutant]}"
    print(f"\nmutant {mutant!r} caught by {caught}")


# --- the harness itself ---------------------------------------------------------------------------------


def test_the_first_difference_names_its_json_path() -> None:
    a = {"data": {"users": {"edges": [{"node": {"id": "1", "name": "A"}}, {"node": {"id": "2", "name": "B"}}]}}}
    assert first_difference(a, json.loads(json.dumps(a))) is None
    b = json.loads(json.dumps(a))
    b["data"]["users"]["edges"][1]["node"]["name"] = "C"
    assert first_difference(a, b) == '$.data.users.edges[1].node.name: compiled "B" vs off "C"'
    b["data"]["users"]["edges"].pop()
    assert first_difference(a, b) == "$.data.users.edges: 2 items (compiled) vs 1 (off)"
    reordered = {"data": {"users": {"edges": [{"node": {"name": "A", "id": "1"}}, a["data"]["users"]["edges"][1]]}}}
    assert "another order" in (first_difference(a, reordered) or "")  # response keys follow the query
    assert first_difference({"x": 1}, {"x": 1.0}) == "$.x: compiled 1 vs off 1.0"
    assert first_difference({"x": None}, {}) == "$.x: compiled has null, missing on the off side"


def test_only_the_correlation_id_the_budget_and_the_order_of_errors_are_left_out() -> None:
    def body(actual: int, remaining: int, *errors: dict[str, Any]) -> dict[str, Any]:
        return {"data": None, "errors": list(errors),
                "extensions": {"cost": {"requested": 5, "actual": actual, "limit": 9, "remaining": remaining,
                                        "budgetPerMinute": 10}}}

    e1 = {"message": "m", "path": ["a"], "extensions": {"code": "FORBIDDEN", "correlationId": "x"}}
    e2 = {"message": "m", "path": ["b"], "extensions": {"code": "FORBIDDEN", "correlationId": "y"}}
    e2_again = {**e2, "extensions": {"code": "FORBIDDEN", "correlationId": "z"}}
    assert comparable(body(1, 3, e1, e2)) == comparable(body(1, 4, e2_again, e1))
    assert comparable(body(1, 3, e1)) != comparable(body(2, 3, e1))  # the actual cost must agree
    assert comparable(body(1, 3, e1)) != comparable(body(1, 3, {**e1, "path": ["a", 0]}))


@DIFFERENTIAL
async def test_the_pair_fails_on_a_compiled_answer_that_differs(pair: Pair, world: World) -> None:
    """The comparison itself, with the compiled side's answer tampered with in the ways a plan could
    go wrong: a value, an edge's order, a key's order, a missing error, another cost."""
    query = "{ users(first: 3) { edges { node { id name email } } } }"
    token = world.callers["USER_ADMINISTRATOR"]
    tampered = Pair(pair.on, pair.off)  # the same apps, not renewed
    post = tampered._post

    def tamper_with(change: Any) -> None:
        async def _post(client: Any, payload: dict[str, Any], token: str | None) -> Any:
            exchange = await post(client, payload, token)
            if client is pair.on:
                change(exchange.body)
            return exchange
        tampered._post = _post  # type: ignore[method-assign]

    def edges(body: dict[str, Any]) -> list[dict[str, Any]]:
        return body["data"]["users"]["edges"]

    changes = {
        "a value": lambda b: edges(b)[0]["node"].update(name="Someone else"),
        "the order of edges": lambda b: edges(b).reverse(),
        "the order of keys": lambda b: edges(b)[0].update(node=dict(reversed(edges(b)[0]["node"].items()))),
        "an error more": lambda b: b.setdefault("errors", []).append({"message": "x", "extensions": {"code": "FORBIDDEN"}}),
        "the actual cost": lambda b: b["extensions"]["cost"].update(actual=0),
    }
    for name, change in changes.items():
        tamper_with(change)
        with pytest.raises(AssertionError, match="differs from the general executor"):
            await tampered.compare(query, token=token, caller=name)
    tamper_with(lambda b: b.setdefault("errors", []).append({"message": "x", "extensions": {"code": "INTERNAL"}}))
    with pytest.raises(AssertionError, match="INTERNAL"):
        await tampered.compare(query, token=token, caller="INTERNAL")
    tamper_with(lambda b: edges(b)[0]["node"].update(id=world.foreign_ids[0]))
    tampered.off = pair.on  # both sides tampered: the same answer, and another organisation's id in it
    tampered.foreign = pair.foreign
    with pytest.raises(AssertionError, match="another organisation"):
        await tampered.compare(query, token=token, caller="foreign id")


class ConnectionLeft(AssertionError):
    pass


async def test_no_connection_is_left_checked_out_when_a_sibling_root_field_fails(env: Env, world: World) -> None:
    """Found by the generated cases: a page of users whose nodes select two prefetched relations,
    next to a root field that fails on an unknown right, left a connection checked out on both apps
    (the loads, abandoned when the operation ended, opened the read session's connection again; on
    PostgreSQL they could meet it being closed: SERVICE_UNAVAILABLE). The read session now refuses
    reads once closed and closes under its lock. On apps of its own: a leak breaks its pool."""
    query = '{ a: users { edges { node { authenticators certificates { uuid } } } } b: users(filter: {right: "x"}) { totalCount } }'
    token = world.callers["USER_ADMINISTRATOR"]
    async with app_client(app_settings(env.settings, "on")) as on, app_client(app_settings(env.settings, "off")) as off:
        for client in (on, off):
            await client.post("/graphql", json={"query": "{ users { totalCount } }"},
                              headers={"Authorization": f"Bearer {token}"})
        assert (checked_out(on), checked_out(off)) == (0, 0)  # a plain query returns its connection
        answers = []
        for client in (on, off):
            response = await client.post("/graphql", json={"query": query}, headers={"Authorization": f"Bearer {token}"})
            answers.append(codes(response.json()))
        await asyncio.sleep(0.1)
        left = (checked_out(on), checked_out(off))
        if left != (0, 0) or any(c != ["BAD_USER_INPUT"] for c in answers):
            raise ConnectionLeft(f"connections left checked out (on, off): {left}; error codes: {answers}")
