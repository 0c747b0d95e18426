"""The query limits' walk is linear in the document: a fragment bomb (3^15 fields when expanded, 700
bytes) is walked in a few dozen visits and answered at once, with or without a token; graphql-core's
own validation of such documents is bounded too. Every list of objects in the schema is counted by
a bound."""

from __future__ import annotations

import re
from typing import Any

import pytest
from graphql import GraphQLList, GraphQLNonNull, GraphQLObjectType, get_named_type, parse, validate
from graphql.validation.rules import overlapping_fields_can_be_merged as overlapping

from app.domain.common.principal import Role
from app.schema import schema
from app.schema.runtime.query_cost import CONNECTION_LISTS, LIST_BOUNDS, Analysis, DocumentWalk
from tests.conftest import Env, token_for
from tests.factories import OrgFixture


def bomb(levels: int, base: str, on: str = "Query", spread: str = "...F{0}", top: str = "{{ ...F{0} }}") -> str:
    """`top` spreads F<levels>; F<i> spreads F<i-1> three times; F0 selects `base`."""
    parts = [top.format(levels), f"fragment F0 on {on} {{ {base} }}"]
    for i in range(1, levels + 1):
        parts.append(f"fragment F{i} on {on} {{ {' '.join([spread.format(i - 1)] * 3)} }}")
    return " ".join(parts)


def expanded(query: str) -> str:
    """The same operation with every spread replaced by its fragment's selections (the document a
    walker without memoisation looks at)."""
    doc = parse(query)
    bodies = {d.name.value: query[d.selection_set.loc.start + 1 : d.selection_set.loc.end - 1]
              for d in doc.definitions if d.kind == "fragment_definition"}
    operation = query[: doc.definitions[1].loc.start]
    while re.search(r"\.\.\.F\d", operation):
        operation = re.sub(r"\.\.\.(F\d+)", lambda m: bodies[m.group(1)], operation)
    return operation


def walk(query: str, variables: dict[str, Any] | None = None) -> Analysis:
    doc = parse(query)
    return DocumentWalk(schema._schema, doc, variables or {}, doc.definitions[0]).analyse()  # type: ignore[arg-type]


def test_a_fragment_bomb_of_3_to_the_15_is_walked_in_a_few_dozen_visits() -> None:
    for base in ("__typename", "viewer { roles }", "a: __typename"):
        found = walk(bomb(15, base))
        assert found.visits < 100, (base, found.visits)  # 1 + 15 x 3 spreads + F0; expanded: 3^15 fields
    assert walk(bomb(15, "viewer { roles }")).cost == 3**15
    assert walk(bomb(15, "a: __typename")).aliases == 3**15
    assert walk(bomb(15, "users(first: 2) { edges { node { id } } }")).cost == 3**15 * (1 + 2 * 2)


def test_a_memoised_walk_gives_what_the_expanded_document_gives() -> None:
    """Depth, aliases and cost counted once per fragment equal those of the document with every
    spread written out (small enough here to expand)."""
    cases = [
        bomb(3, "a: viewer { roles user { id } }"),
        bomb(3, "edges { node { id b: history(first: 3) { edges { node { type } } } } }", on="UserConnection",
             top="{{ users(first: 7) {{ ...F{0} }} }}"),
        bomb(2, "groups { name rights { code } } certificates { serialNumber }", on="User",
             top="{{ users(first: 4) {{ nodes {{ ...F{0} }} }} }}", spread="... on User {{ ...F{0} }}"),
    ]
    for query in cases:
        memo, full = walk(query), walk(expanded(query))
        assert (memo.depth, memo.aliases, memo.cost) == (full.depth, full.aliases, full.cost), query
        assert memo.visits < full.visits


def test_the_walk_terminates_on_documents_that_were_never_validated() -> None:
    """A cycle of fragments counts as empty, an unknown fragment or field as nothing more than
    what it shows: the walk may run before (or without) validation."""
    cyclic = walk("{ ...A } fragment A on Query { viewer { roles } ...B } fragment B on Query { ...A ...A }")
    assert cyclic.cost == 1 and cyclic.visits < 10
    assert walk("{ ...Missing nosuch { field { deeper } } }").depth == 2
    assert walk("{ ...Self } fragment Self on Query { ...Self }").cost == 0


async def test_a_fragment_bomb_without_a_token_is_answered_at_once_with_a_code(
    env: Env, org: OrgFixture, monkeypatch: pytest.MonkeyPatch
) -> None:
    visits: list[int] = []
    analyse = DocumentWalk.analyse

    def counted(self: DocumentWalk) -> Analysis:
        found = analyse(self)
        visits.append(found.visits)
        return found

    monkeypatch.setattr(DocumentWalk, "analyse", counted)
    tag = f"# {env.backend}\n"  # a document text of its own: the walk is remembered per text
    cheap = await env.gql(tag + bomb(15, "__typename"), raw=True)
    assert cheap["data"] == {"__typename": "Query"} and "errors" not in cheap
    assert cheap["extensions"]["cost"]["requested"] == 0
    costly = await env.gql(tag + bomb(15, "viewer { roles }"), raw=True)
    assert costly["errors"][0]["extensions"]["code"] == "QUERY_TOO_COSTLY"
    assert costly["errors"][0]["extensions"]["cost"]["requested"] == 3**15
    aliased = await env.gql(tag + bomb(15, "a: __typename"))
    assert aliased["errors"][0]["extensions"]["code"] == "TOO_MANY_ALIASES"
    token = token_for(env, org, Role.USER_ADMINISTRATOR)
    paged = await env.gql(tag + bomb(14, "totalCount", on="UserConnection", top="{{ users(first: 1) {{ ...F{0} }} }}"),
                          token=token)
    assert paged["data"]["users"]["totalCount"] >= 4 and "errors" not in paged
    assert len(visits) == 4 and max(visits) < 100, visits


def test_graphql_cores_validation_of_repeated_fields_is_bounded() -> None:
    """OverlappingFieldsCanBeMerged compares every pair of same-named fields: 1,250 `viewer { roles }`
    (5,000 tokens) spent its whole default budget (500,000, 2.2 s). The limits lower that budget;
    the fragment bomb costs it nothing (graphql-core compares a fragment with itself once)."""
    assert overlapping.MAX_COMPLEXITY_BUDGET == 50_000  # set by app.schema.runtime.limits
    spent = [0]
    spend = overlapping.spend_complexity_budget

    def counting(context: Any, cost: int) -> None:
        spent[0] += cost
        spend(context, cost)

    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(overlapping, "spend_complexity_budget", counting)
        errors = validate(schema._schema, parse("{ " + "viewer { roles } " * 1250 + "}"))
        assert [e.message for e in errors] == ["Validation aborted."]
        assert spent[0] <= 50_002
        spent[0] = 0
        assert validate(schema._schema, parse(bomb(15, "viewer { roles }"))) == []
        assert spent[0] < 1000


async def test_a_document_of_repeated_fields_is_refused_with_a_validation_code(env: Env, org: OrgFixture) -> None:
    body = await env.gql("{ " + "viewer { roles } " * 1249 + "}", token=token_for(env, org, Role.USER))
    assert body["errors"][0]["extensions"]["code"] == "GRAPHQL_VALIDATION_FAILED"


def test_every_list_of_objects_in_the_schema_is_paged_or_has_a_declared_bound() -> None:
    unbounded = []
    for type_ in schema._schema.type_map.values():
        if not isinstance(type_, GraphQLObjectType) or type_.name.startswith("__"):
            continue
        for name, field in type_.fields.items():
            inner = field.type.of_type if isinstance(field.type, GraphQLNonNull) else field.type
            if not isinstance(inner, GraphQLList) or not isinstance(get_named_type(inner), GraphQLObjectType):
                continue
            paged = "first" in field.args or name in CONNECTION_LISTS or name == "userErrors"
            if not paged and f"{type_.name}.{name}" not in LIST_BOUNDS:
                unbounded.append(f"{type_.name}.{name}")
    assert unbounded == []
