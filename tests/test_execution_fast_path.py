"""The executor's fast path (app/schema/runtime/execution.py) answers exactly what graphql-core answers.

A small schema is executed twice per query, with Strawberry's default execution context and with
ours, and the results (data and errors, paths and messages included) must be identical: plain
scalars and enums, nulls in nullable and non-null positions, exceptions in resolvers inside lists,
basic object and list fields, aliases, fragments, @include/@skip, __typename, async resolvers."""

from __future__ import annotations

import asyncio
import enum
from typing import Any

import pytest
import strawberry

from app.schema.runtime.execution import GatewayExecutionContext


@strawberry.enum
class Colour(enum.Enum):
    RED = "red"
    BLUE = "blue"


@strawberry.type
class Leaf:
    name: str
    maybe: str | None
    colour: Colour
    number: int
    broken: str  # None here breaks the non-null rule

    @strawberry.field
    def shout(self) -> str:
        if self.name == "boom":
            raise ValueError("boom went the resolver")
        return self.name.upper()

    @strawberry.field
    async def later(self) -> str:
        await asyncio.sleep(0)
        return self.name[::-1]

    @strawberry.field
    def described(
        self, info: strawberry.Info, times: int = 2, colours: list[Colour] | None = None, tag: strawberry.ID | None = None,
        suffix: str | None = None,
    ) -> str:
        if times < 0:
            raise ValueError("times must not be negative")
        picked = ",".join(c.value for c in colours or [])
        return f"{info.field_name}:{self.name * times}:{picked}:{tag}:{suffix}:{type(colours).__name__}"

    @strawberry.field
    async def later_with(self, prefix: str = "<", colour: Colour = Colour.BLUE) -> str:
        await asyncio.sleep(0)
        return f"{prefix}{self.name}:{colour.name}"

    @strawberry.field
    def children(self, first: int = 2) -> list[Leaf]:
        return [leaf(f"{self.name}{i}") for i in range(first)]

    @strawberry.field
    def tags(self, colours: list[Colour] | None = None) -> list[Colour]:
        picked = colours if colours is not None else [self.colour]
        if colours is not None:
            colours.append(Colour.RED)  # a resolver changing its argument must not change the next call's
        return picked

    @strawberry.field
    def sometimes_later(self) -> str:
        """Ready at once except for names starting with "l" (a value not prefetched)."""
        if self.name.startswith("l"):
            return _later_name(self.name)  # type: ignore[return-value]
        return self.name

    @strawberry.field
    def first_child(self, info: strawberry.Info) -> Leaf | None:
        return None if self.name.startswith("n") else leaf(f"{self.name}-{info.field_name}")


@strawberry.type
class Edge:
    cursor: str
    node: Leaf
    optional_node: Leaf | None


@strawberry.type
class Page:
    edges: list[Edge]
    maybe_edges: list[Edge | None] | None
    leaves: list[Leaf]


async def _later_name(name: str) -> str:
    await asyncio.sleep(0)
    return name.upper()


def leaf(name: str, *, broken: Any = "fine", colour: Any = Colour.RED, number: Any = 1) -> Leaf:
    return Leaf(name=name, maybe=None if name.startswith("n") else name, colour=colour, number=number, broken=broken)


@strawberry.type
class Query:
    @strawberry.field
    def page(self) -> Page:
        return _page()

    @strawberry.field
    def bad_page(self) -> Page:
        leaves = [leaf("a"), leaf("x", broken=None), leaf("y", number="not a number"), leaf("z", colour="PURPLE")]
        edges = [Edge(cursor="c", node=x, optional_node=x) for x in leaves]
        return Page(edges=edges, maybe_edges=edges, leaves=leaves)

    @strawberry.field
    def late_page(self) -> Page:
        leaves = [leaf("a"), leaf("lb"), leaf("c")]
        return Page(edges=[Edge(cursor="c", node=x, optional_node=None) for x in leaves], maybe_edges=None,
                    leaves=leaves)

    @strawberry.field
    async def async_page(self) -> Page:
        await asyncio.sleep(0)
        return _page()


def _page() -> Page:
    leaves = [leaf("a"), leaf("nb"), leaf("boom"), leaf("c", colour=Colour.BLUE, number=7)]
    edges = [Edge(cursor=f"c{i}", node=x, optional_node=x if i % 2 else None) for i, x in enumerate(leaves)]
    return Page(edges=edges, maybe_edges=[*edges[:2], None], leaves=leaves)


fast = strawberry.Schema(query=Query, execution_context_class=GatewayExecutionContext)
plain = strawberry.Schema(query=Query)

QUERIES = {
    "scalars and enums": "{ page { leaves { name maybe colour number } } }",
    "resolver errors inside a list": "{ page { leaves { name shout } } }",
    "async fields": "{ asyncPage { edges { cursor node { name later } } } }",
    "basic object and list fields": "{ page { edges { cursor node { name colour } optionalNode { name } } } }",
    "a nullable list holding a null": "{ page { maybeEdges { cursor node { name } } } }",
    "aliases and typename": "{ p: page { e: edges { c: cursor __typename n: node { x: name y: name __typename } } } }",
    "fragments": """{ page { ...P } } fragment P on Page { edges { ... on Edge { cursor node { ...L } } } }
                    fragment L on Leaf { name colour }""",
    "include and skip": """query Q($yes: Boolean!) { page { edges { cursor @include(if: $yes)
                              node @skip(if: $yes) { name } optionalNode { name @include(if: $yes) maybe } } } }""",
    "null in a non-null field": "{ badPage { leaves { name broken } } }",
    "null in a non-null field under a nullable object": "{ badPage { edges { optionalNode { name broken } } } }",
    "values a scalar refuses": "{ badPage { leaves { name number colour } } }",
    "resolvers with arguments and defaults": """query Q($n: Int!, $c: [Colour!]) { page { leaves {
            a: described b: described(times: $n, colours: $c, tag: "x", suffix: null) c: described(colours: [RED, BLUE])
            laterWith laterWith2: laterWith(prefix: ">", colour: RED) children(first: $n) { name described(times: 1) } } } }""",
    "errors from resolvers with arguments": "{ page { leaves { name described(times: -1) } } }",
    "errors in a nullable list": "{ badPage { maybeEdges { node { broken } } } }",
    "errors deep in plain objects": "{ badPage { edges { cursor __typename node { name number } optionalNode { colour } } } }",
    "plain objects with typename in lists": "{ page { leaves { __typename name } edges { __typename node { __typename } } } }",
    "synchronous resolvers in compiled objects": """query Q($n: Int!, $c: [Colour!]) { page { edges { cursor node {
            name d: described(times: $n, colours: $c) tags t2: tags(colours: $c) t3: tags(colours: [BLUE])
            firstChild { name tags firstChild { name } } children(first: $n) { name sometimesLater } } } } }""",
    "a resolver that is not ready in a compiled object": """{ latePage { edges { node { name sometimesLater
            tags } } leaves { sometimesLater } } }""",
    "errors from synchronous resolvers in compiled objects": """{ page { edges { cursor node { name shout
            firstChild { shout } } } } }""",
}


@pytest.mark.parametrize("name", sorted(QUERIES))
async def test_the_fast_path_answers_what_graphql_core_answers(name: str) -> None:
    query = QUERIES[name]
    variables = {"yes": True} if "$yes" in query else ({"n": 3, "c": ["BLUE"]} if "$n" in query else None)
    expected = await plain.execute(query, variable_values=variables)
    if variables and "c" in variables:  # a second run: no list argument was changed for good by the first
        assert (await plain.execute(query, variable_values=variables)).data == expected.data
    got = await fast.execute(query, variable_values=variables)
    assert got.data == expected.data
    assert [(e.message, e.path) for e in got.errors or []] == [(e.message, e.path) for e in expected.errors or []]
    if name.startswith(("null", "values", "errors")) or "resolver errors" in name:
        assert expected.errors, "the case must exercise an error"
    else:
        assert not expected.errors and expected.data


async def test_include_false_and_skip_true_agree_too() -> None:
    query = QUERIES["include and skip"]
    expected = await plain.execute(query, variable_values={"yes": False})
    got = await fast.execute(query, variable_values={"yes": False})
    assert got.data == expected.data and not got.errors


async def test_the_fast_paths_are_taken(monkeypatch: pytest.MonkeyPatch) -> None:
    """The cases above compare like with like only if our paths actually run: count them."""
    from app.schema.runtime import execution

    taken = {"direct": 0, "compiled": 0}
    direct, compiled = GatewayExecutionContext._execute_direct, execution._complete_compiled

    def count_direct(self: Any, *args: Any) -> Any:
        taken["direct"] += 1
        return direct(self, *args)

    def count_compiled(*args: Any) -> Any:
        taken["compiled"] += 1
        return compiled(*args)

    monkeypatch.setattr(GatewayExecutionContext, "_execute_direct", count_direct)
    monkeypatch.setattr(execution, "_complete_compiled", count_compiled)
    result = await fast.execute(QUERIES["resolvers with arguments and defaults"], variable_values={"n": 1, "c": None})
    assert not result.errors and taken["direct"] >= 4 * 6
    result = await fast.execute(QUERIES["basic object and list fields"])
    assert not result.errors and taken["compiled"] >= 4 + 4 + 2  # the edges, their nodes, the 2 optional nodes
    taken.update(direct=0, compiled=0)
    result = await fast.execute(QUERIES["synchronous resolvers in compiled objects"], variable_values={"n": 2, "c": None})
    # the page, its 4 edges and nodes, 3 first children (one node has none) and their first children,
    # 2 children each: all compiled, so no resolver below the root field goes through the per-field path
    assert not result.errors and taken["compiled"] == 1 + 4 + 4 + 3 + 3 + 8 and taken["direct"] == 1


@pytest.mark.parametrize("name", sorted(n for n in QUERIES if not n.startswith(("null", "values", "errors"))
                                        and "resolver errors" not in n))
async def test_the_executor_counts_the_objects_it_returns(name: str) -> None:
    """The query cost's `actual` comes from this count: it must equal the objects in the data."""
    from types import SimpleNamespace

    from app.schema.runtime.limits import actual_cost

    query = QUERIES[name]
    variables = {"yes": True} if "$yes" in query else ({"n": 3, "c": ["BLUE"]} if "$n" in query else None)
    context = SimpleNamespace(completed_objects=[0])
    result = await fast.execute(query, variable_values=variables, context_value=context)
    assert not result.errors
    assert context.completed_objects[0] == actual_cost(result.data) - 1 > 0


async def test_a_resolver_not_ready_in_a_compiled_object_leaves_no_coroutine_behind() -> None:
    """The compiled path gives up on an awaitable and graphql-core calls the resolver again: the
    first coroutine is closed, not left to be collected unawaited."""
    import gc
    import warnings

    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        result = await fast.execute(QUERIES["a resolver that is not ready in a compiled object"])
        gc.collect()
    assert not result.errors and result.data
    assert not [w for w in caught if issubclass(w.category, RuntimeWarning)], [str(w.message) for w in caught]
