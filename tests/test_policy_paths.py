"""The role matrix below the root, generated from the schema and walked.

For every caller (the four roles, another organisation's administrator, no token) and every query
root field (node(id:) once per kind of id), one query selects every field up to four relation hops
below the root - through `viewer`, `node(id:)`, inline fragments on interfaces and unions,
connections and nested relations - with every leaf at every level. Each answer is held to the
policy tables (app/domain/common/policy.py):

- nothing leaks: every object in the data is of a type the caller may see (or their own), and every
  relation present in the data is one the caller may follow from that object;
- nothing is over-refused: every FORBIDDEN error stands at a path the tables refuse;
- refusals are reported: a relation the tables refuse, on an object that is in the data, is null
  with a FORBIDDEN error at its path;
- another organisation's administrator meets none of our ids.

The static test beside it fails for an object type or relation without a policy entry.
"""

from __future__ import annotations

import dataclasses
from typing import Any

import pytest
from graphql import (
    FieldNode,
    GraphQLEnumType,
    GraphQLNonNull,
    GraphQLObjectType,
    GraphQLScalarType,
    get_named_type,
    parse,
)
from sqlalchemy import select

from app.adapters.jwt import sign_token
from app.domain.common.policy import POLICY, RELATIONS, TYPES, WRAPPERS, Decision, decide
from app.domain.common.principal import Role
from app.persistence.tables.activity import activities
from app.schema import schema
from app.schema.runtime.authorization import OWNERS, ROOT_TYPES
from app.schema.runtime.base import required_action, to_global_id
from tests.conftest import Env, token_for
from tests.factories import OrgFixture, make_org
from tests.test_user_groups import active_user, create_group, ok

GQL = schema._schema
MAX_HOPS = 4
CALLERS = ["ORGANISATION_ADMINISTRATOR", "USER_ADMINISTRATOR", "RIGHTS_ADMINISTRATOR", "USER", "FOREIGN_ADMIN",
           "NO_TOKEN"]


def _is_leaf(t: Any) -> bool:
    return isinstance(get_named_type(t), GraphQLScalarType | GraphQLEnumType)


def _concrete(t: Any) -> list[GraphQLObjectType]:
    named = get_named_type(t)
    return [named] if isinstance(named, GraphQLObjectType) else sorted(GQL.get_possible_types(named),
                                                                        key=lambda x: x.name)


def _object_types() -> list[GraphQLObjectType]:
    return [t for n, t in GQL.type_map.items()
            if isinstance(t, GraphQLObjectType) and not n.startswith("__") and n not in ROOT_TYPES]


def _has_resolver(field: Any) -> bool:
    definition = (field.extensions or {}).get("strawberry-definition")
    return getattr(definition, "base_resolver", None) is not None


def _relations() -> dict[str, Any]:
    """Every relation of a non-wrapper type: an object-valued field, or one with a resolver."""
    out = {}
    for t in _object_types():
        if t.name in WRAPPERS:
            continue
        for name, f in t.fields.items():
            if not _is_leaf(f.type) or _has_resolver(f):
                out[f"{t.name}.{name}"] = f
    return out


# --- the tables against the schema (static) -----------------------------------------------------


def test_every_object_type_and_relation_has_a_policy_entry_and_no_entry_is_stale() -> None:
    types = {t.name for t in _object_types()}
    assert types - set(TYPES) == set(), "object types without a TYPES entry"
    assert set(TYPES) - types == set(), "TYPES entries naming no object type"
    assert WRAPPERS <= types
    relations = _relations()
    assert set(relations) - set(RELATIONS) == set(), "relations without a RELATIONS entry"
    assert set(RELATIONS) - set(relations) == set(), "RELATIONS entries naming no relation"


def test_every_own_rule_has_a_way_to_tell_ownership() -> None:
    owned_types = {name for name, reach in TYPES.items() if reach.own}
    owned_types |= {key.split(".")[0] for key, reach in RELATIONS.items() if reach.own}
    assert owned_types <= set(OWNERS), owned_types - set(OWNERS)


def test_a_relation_that_can_be_refused_on_a_visible_object_is_nullable() -> None:
    """So that a refusal costs the caller that field only, not its parents (null propagation)."""
    for key, field in _relations().items():
        type_name, _ = key.split(".")
        for role in Role:
            roles = frozenset({role})
            parent = decide(TYPES[type_name], roles)
            relation = decide(RELATIONS[key], roles)
            if parent is not Decision.DENY and relation is not Decision.ALLOW and relation != parent:
                assert not isinstance(field.type, GraphQLNonNull), f"{key} can be refused for {role}: make it nullable"


# --- seeded data -----------------------------------------------------------------------------------


@dataclasses.dataclass
class World:
    org: OrgFixture
    foreign: OrgFixture
    partner: OrgFixture
    ids: dict[str, str]  # kind -> a global id of ours
    own: dict[str, set[str]]  # role -> ids of objects that are that person's own (certificates, history, ...)
    our_markers: set[str]  # ids and uuids of our organisation that a foreigner must never see
    external_email: str


async def _seed(env: Env) -> World:
    org = await make_org(env.services, name="Sti")
    foreign = await make_org(env.services, name="Fremmed")
    partner = await make_org(env.services, name="Partner")
    ua = token_for(env, org, Role.USER_ADMINISTRATOR)
    oa = token_for(env, org, Role.ORGANISATION_ADMINISTRATOR)
    plain = org.people[Role.USER]
    hidden = await active_user(env, org, "Hemmelig", p_number=org.p_numbers[0], anonymous=True)
    group = await create_group(env, org, "Stier", ["SKAT.MOMS"])
    ok(await env.gql("mutation($g: ID!, $u: [ID!]!) { addUsersToGroup(input: {groupId: $g, userIds: $u}) "
                     "{ userErrors { code } } }", {"g": group, "u": [str(to_global_id("User", plain)), hidden["id"]]},
                     token=ua))
    guest = await active_user(env, partner, "Gaest")
    found = ok(await env.gql("query($c: String!, $e: String!) { externalUsers(cvr: $c, email: $e) { id } }",
                             {"c": partner.cvr, "e": guest["email"]}, token=ua))["externalUsers"]
    added = ok(await env.gql("mutation($g: ID!, $x: ID!) { addExternalUserToGroup(input: {groupId: $g, "
                             "externalUserId: $x}) { userErrors { code } } }", {"g": group, "x": found[0]["id"]},
                             token=ua))
    assert added["addExternalUserToGroup"]["userErrors"] == []
    ordered = ok(await env.gql("mutation($u: ID!) { orderUserCertificate(input: {userId: $u}) "
                               "{ certificate { id } userErrors { code } } }",
                               {"u": str(to_global_id("User", plain))}, token=ua))["orderUserCertificate"]
    profile = ok(await env.gql("""mutation($i: OrderOrganisationCertificateInput!) {
        orderOrganisationCertificate(input: $i) { certificate { id profile { id } } userErrors { code } } }""",
        {"i": {"name": "Lønsystem", "email": f"system.{org.cvr}@example.dk", "contactName": "Kim",
               "contactEmail": "kim@example.dk"}}, token=ua))["orderOrganisationCertificate"]["certificate"]
    poa = ok(await env.gql("""mutation($i: CreatePowerOfAttorneyInput!) { createPowerOfAttorney(input: $i) {
        powerOfAttorney { id } userErrors { code } } }""",
        {"i": {"receivingCvr": partner.cvr, "name": "Moms", "rights": ["SKAT.MOMS"]}}, token=oa))
    request = ok(await env.gql('mutation { requestAnonymity(input: {reason: "stier"}) { request { id } } }',
                               token=token_for(env, org, Role.USER)))["requestAnonymity"]["request"]
    notifications = ok(await env.gql("{ notifications(first: 1) { edges { node { id } } } }", token=ua))
    upload = await env.upload(
        "mutation($file: Upload!) { importUsers(input: {file: $file, operation: CREATE, dryRun: true}) "
        "{ job { id } userErrors { code } } }", {"file": None}, "file",
        "\ufeffBrugerUUID;Fornavn;Efternavn\n".encode(), token=ua)
    job = upload.json()["data"]["importUsers"]["job"]
    async with env.engine.connect() as conn:
        rows = (await conn.execute(select(activities.c.id, activities.c.actor_id, activities.c.target_user_id)
                                   .where(activities.c.org_id == org.org_id))).all()
    ids = {
        "User": str(to_global_id("User", plain)), "AnonymousUser": hidden["id"], "UserGroup": group,
        "Certificate": ordered["certificate"]["id"], "OrganisationCertificate": profile["id"],
        "CertificateProfile": profile["profile"]["id"], "PowerOfAttorney": poa["createPowerOfAttorney"]["powerOfAttorney"]["id"],
        "Activity": str(to_global_id("Activity", rows[0].id)), "AnonymityRequest": request["id"],
    }
    if notifications["notifications"]["edges"]:
        ids["Notification"] = notifications["notifications"]["edges"][0]["node"]["id"]
    if job is not None:
        ids["BulkJob"] = job["id"]
    own: dict[str, set[str]] = {}
    for role, person in org.people.items():
        mine = {str(to_global_id("Activity", r.id)) for r in rows if person in (r.actor_id, r.target_user_id)}
        if role is Role.USER:
            mine |= {ordered["certificate"]["id"], request["id"]}
        own[role.value] = mine
    markers = {str(u) for u in org.people.values()} | {hidden["uuid"], group, ordered["certificate"]["id"]}
    return World(org, foreign, partner, ids, own, markers, guest["email"])


# --- the queries -------------------------------------------------------------------------------------


def _args(field: Any, root_args: str = "") -> str:
    parts = [root_args] if root_args else []
    if "first" in field.args:
        parts.append("first: 2")
    return f"({', '.join(parts)})" if parts else ""


def _selection(t: GraphQLObjectType, hops: int, *, aliased: bool = False) -> str:
    """Every leaf of `t` and, while hops remain, every relation (through fragments on each possible
    type of an interface or union). Inside a fragment every field is aliased `Type_field`: sibling
    fragments may hold fields of one name and different types."""
    parts = ["__typename"]
    for name, f in t.fields.items():
        required = [a for a in f.args.values() if isinstance(a.type, GraphQLNonNull) and a.default_value is None]
        key = f"{t.name}_{name}: {name}" if aliased else name
        if _is_leaf(f.type):
            if not required:
                parts.append(key)
            continue
        next_hops = hops if t.name in WRAPPERS else hops + 1
        if next_hops > MAX_HOPS or required:
            continue
        parts.append(f"{key}{_args(f)} {{ {_fragments(f.type, next_hops)} }}")
    return " ".join(parts)


def _fragments(t: Any, hops: int) -> str:
    named = get_named_type(t)
    if isinstance(named, GraphQLObjectType):
        return _selection(named, hops)
    return "__typename " + " ".join(f"... on {c.name} {{ {_selection(c, hops, aliased=True)} }}"
                                    for c in _concrete(named))


def field_of(key: str) -> str:
    """The field a response key names (`Type_field` inside fragments, the field name elsewhere)."""
    return key.split("_", 1)[1] if "_" in key and not key.startswith("__") else key


def _root_queries(world: World) -> list[tuple[str, str, dict[str, Any]]]:
    """(root field, query, variables) for every Query root field; node(id:) once per kind of id."""
    out = []
    root_args = {
        "user": ("$id: ID!", "id: $id", {"id": world.ids["User"]}),
        "userGroup": ("$id: ID!", "id: $id", {"id": world.ids["UserGroup"]}),
        "certificate": ("$id: ID!", "id: $id", {"id": world.ids["Certificate"]}),
        "externalUsers": ("$c: String!, $e: String!", "cvr: $c, email: $e",
                          {"c": world.partner.cvr, "e": world.external_email}),
    }
    if "BulkJob" in world.ids:
        root_args["bulkJob"] = ("$id: ID!", "id: $id", {"id": world.ids["BulkJob"]})
    for name, field in GQL.query_type.fields.items():
        if name == "node":
            for kind, gid in world.ids.items():
                out.append((f"node:{kind}", f"query($id: ID!) {{ node(id: $id) {{ {_fragments(field.type, 0)} }} }}",
                            {"id": gid}))
            continue
        required = [a for a in field.args.values() if isinstance(a.type, GraphQLNonNull) and a.default_value is None]
        if required and name not in root_args:
            pytest.fail(f"root field {name} has required arguments the walker cannot fill: add them")
        decl, call, variables = root_args.get(name, ("", "", {}))
        head = f"query({decl})" if decl else "query"
        body = name + _args(field, call)
        if not _is_leaf(field.type):
            body += f" {{ {_fragments(field.type, 0)} }}"
        out.append((name, f"{head} {{ {body} }}", variables))
    return out


# --- the oracle ----------------------------------------------------------------------------------------


@dataclasses.dataclass
class Caller:
    name: str
    roles: frozenset[Role]
    me: str | None  # the person's UUID
    own: set[str]


def _owned(caller: Caller, type_name: str, obj: dict[str, Any], parent: tuple[str, dict[str, Any], str] | None) -> bool:
    if caller.me is None:
        return False
    if type_name == "User":
        return _leaf(obj, "User", "uuid") == caller.me
    if type_name == "UserGroup":
        return parent is not None and parent[0] == "User" and parent[2] == "groups" and _leaf(parent[1], "User", "uuid") == caller.me
    return _leaf(obj, type_name, "id") in caller.own


def _leaf(obj: dict[str, Any], type_name: str, name: str) -> Any:
    return obj.get(name, obj.get(f"{type_name}_{name}"))


class Walk:
    def __init__(self, caller: Caller, body: dict[str, Any]) -> None:
        self.caller = caller
        self.errors = {tuple(e.get("path") or ()): e for e in body.get("errors") or []}
        self.problems: list[str] = []
        self.objects = 0

    def refused_at(self, path: list[Any]) -> bool:
        error = self.errors.get(tuple(path))
        return error is not None and error["extensions"]["code"] == "FORBIDDEN"

    def check_object(self, obj: dict[str, Any], path: list[Any], parent: Any) -> None:
        self.objects += 1
        type_name = obj["__typename"]
        t = GQL.type_map[type_name]
        seen = decide(TYPES[type_name], self.caller.roles)
        if seen is Decision.DENY or (seen is Decision.OWN and not _owned(self.caller, type_name, obj, parent)):
            self.problems.append(f"leak: {self.caller.name} sees a {type_name} at {path}")
        for key, value in obj.items():
            if key == "__typename":
                continue
            name = field_of(key)
            field = t.fields[name]
            relation = RELATIONS.get(f"{type_name}.{name}")
            if relation is not None and type_name not in WRAPPERS:
                follow = decide(relation, self.caller.roles)
                allowed = follow is Decision.ALLOW or (follow is Decision.OWN
                                                      and _owned(self.caller, type_name, obj, parent))
                if not allowed:
                    if value is not None:
                        self.problems.append(f"leak: {self.caller.name} follows {type_name}.{name} at {path}")
                    elif not self.refused_at([*path, key]):
                        self.problems.append(f"unreported: {type_name}.{name} at {path} is null without FORBIDDEN")
                    continue
            if not _is_leaf(field.type):
                self.check_value(value, [*path, key], (type_name, obj, name))

    def check_value(self, value: Any, path: list[Any], parent: Any) -> None:
        if isinstance(value, list):
            for i, item in enumerate(value):
                self.check_value(item, [*path, i], parent)
        elif isinstance(value, dict):
            self.check_object(value, path, parent)

    def justified(self, path: list[Any]) -> bool:
        """A FORBIDDEN error's path is refused by the tables: its relation, or its object's type."""
        if len(path) == 1:
            return False  # root refusals are checked against POLICY by the caller
        parents = {GQL.query_type.name}
        path = [k if isinstance(k, int) else field_of(k) for k in path]
        for key in path[:-1]:
            if isinstance(key, int):
                continue
            parents = {c.name for p in parents if key in GQL.type_map[p].fields
                       for c in _concrete(GQL.type_map[p].fields[key].type)}
        last = path[-1] if not isinstance(path[-1], int) else next(k for k in reversed(path) if isinstance(k, str))
        for p in parents:
            if last not in GQL.type_map[p].fields:
                continue
            if not isinstance(path[-1], int):
                reach = RELATIONS.get(f"{p}.{last}")
                if reach is not None and decide(reach, self.caller.roles) is not Decision.ALLOW:
                    return True
            for target in _concrete(GQL.type_map[p].fields[last].type):
                if decide(TYPES[target.name], self.caller.roles) is not Decision.ALLOW:
                    return True
        return False


def _field_paths(query: str) -> int:
    """Fields selected in a document: each one is a path from the root (its prefix is another)."""
    return sum(1 for _ in _walk_fields(parse(query).definitions[0].selection_set))


def _walk_fields(selection_set: Any) -> Any:
    for selection in selection_set.selections if selection_set else ():
        if isinstance(selection, FieldNode):
            yield selection
        yield from _walk_fields(selection.selection_set)


def _root_allowed(name: str, roles: frozenset[Role]) -> bool:
    action = required_action(GQL.query_type.fields[name].extensions["strawberry-definition"])
    if action == "none" or action is None:
        return True
    return bool(roles & POLICY[action])


def _callers(env: Env, world: World) -> dict[str, tuple[Caller, str | None]]:
    out: dict[str, tuple[Caller, str | None]] = {}
    for role in Role:
        person = world.org.people[role]
        out[role.value] = (Caller(role.value, frozenset({role}), str(person), world.own[role.value]),
                           token_for(env, world.org, role))
    foreign_oa = world.foreign.people[Role.ORGANISATION_ADMINISTRATOR]
    out["FOREIGN_ADMIN"] = (Caller("FOREIGN_ADMIN", frozenset({Role.ORGANISATION_ADMINISTRATOR}), str(foreign_oa), set()),
                            sign_token(env.settings, foreign_oa, world.foreign.cvr, [Role.ORGANISATION_ADMINISTRATOR]))
    out["NO_TOKEN"] = (Caller("NO_TOKEN", frozenset(), None, set()), None)
    return out


@pytest.fixture
def lifted_limits(env: Env):  # type: ignore[no-untyped-def]
    """The walk's documents are large (every field, four hops); the shape limits are not under test."""
    saved = env.services.limits
    wide = {f.name: 10**9 for f in dataclasses.fields(saved) if isinstance(getattr(saved, f.name), int)
            and not isinstance(getattr(saved, f.name), bool)}
    env.services.limits = dataclasses.replace(saved, **wide)
    yield
    env.services.limits = saved


async def test_every_path_up_to_four_hops_answers_as_the_policy_says(env: Env, lifted_limits: None) -> None:
    world = await _seed(env)
    queries = _root_queries(world)
    totals = {"queries": 0, "paths": 0, "objects": 0, "refusals": 0}
    paths_per_query = {root: _field_paths(query) for root, query, _ in queries}
    problems: list[str] = []
    for caller_name, (caller, token) in _callers(env, world).items():
        for root, query, variables in queries:
            body = await env.gql(query, variables, token=token)
            totals["queries"] += 1
            totals["paths"] += paths_per_query[root]
            name = root.split(":")[0]
            walk = Walk(caller, body)
            for error in body.get("errors") or []:
                code = error.get("extensions", {}).get("code")
                path = error.get("path") or []
                if caller.me is None:
                    if code != "UNAUTHENTICATED":
                        problems.append(f"{caller_name} {root}: {code} {error['message']}")
                    continue
                if code != "FORBIDDEN":
                    problems.append(f"{caller_name} {root}: unexpected {code} at {path}: {error['message']}")
                    continue
                totals["refusals"] += 1
                if len(path) == 1:
                    if _root_allowed(name, caller.roles):
                        problems.append(f"{caller_name} {root}: root refused though POLICY allows it")
                elif not walk.justified(path):
                    problems.append(f"over-refused: {caller_name} {root} at {path}")
            data = body.get("data") or {}
            if caller.me is not None and not _root_allowed(name, caller.roles):
                if data.get(name) is not None:
                    problems.append(f"leak: {caller_name} reads root {name}")
                continue
            walk.check_value(data.get(name), [name], None)
            totals["objects"] += walk.objects
            problems += [f"{root}: {p}" for p in walk.problems]
            if caller_name == "FOREIGN_ADMIN":
                text = str(data)
                problems += [f"foreign {root} sees our {m}" for m in world.our_markers if m in text]
    assert problems == [], "\n".join(problems[:40])
    # The figure for the closing note: queries x callers walked, objects checked, refusals met.
    print(f"policy walk [{env.backend}]: {totals}")
    assert totals["queries"] == len(queries) * len(CALLERS)
    assert totals["refusals"] > 0 and totals["objects"] > 100


def test_the_walk_reaches_every_object_type_and_relation() -> None:
    """Every non-wrapper relation and every object type reachable from Query within four hops is
    selected by some generated query (mutation payloads are reached by their mutation's tests)."""
    reached_types: set[str] = set()
    reached_relations: set[str] = set()

    def walk(t: GraphQLObjectType, hops: int) -> None:
        reached_types.add(t.name)
        for name, f in t.fields.items():
            if _is_leaf(f.type):
                if _has_resolver(f):
                    reached_relations.add(f"{t.name}.{name}")
                continue
            next_hops = hops if t.name in WRAPPERS else hops + 1
            if next_hops > MAX_HOPS:
                continue
            reached_relations.add(f"{t.name}.{name}")
            for c in _concrete(f.type):
                walk(c, next_hops)

    for f in GQL.query_type.fields.values():
        if not _is_leaf(f.type):
            for c in _concrete(f.type):
                walk(c, 0)
    payloads = {n for n in TYPES if n.endswith("Payload")} | {"ActivationCode", "UserError"}
    assert set(TYPES) - reached_types - payloads == set()
    missing = {r for r in RELATIONS if r.split(".")[0] not in payloads} - reached_relations
    assert missing == set(), missing
