"""Helpers of the differential test of compiled operations (tests/test_compiled_differential.py):
two ASGI apps on one database, one with COMPILED_OPERATIONS=on and one with =off; each query is
sent to both and the whole JSON bodies compared, failing with the first differing JSON path.

What may differ between the two and is left out of the comparison (`comparable`):
- `errors[].extensions.correlationId` (a fresh id per masked error; INTERNAL fails anyway);
- `extensions.cost.remaining` and `budgetPerMinute` (each app keeps its own budget, or on
  PostgreSQL both charge one shared bucket); `requested`, `actual` and `limit` must agree;
- the order of `errors` (the specification leaves it open): they are compared sorted.
"""

from __future__ import annotations

import contextlib
import contextvars
import dataclasses
import json
from collections.abc import AsyncIterator
from typing import Any

import httpx
from graphql import (
    ArgumentNode,
    DocumentNode,
    FieldNode,
    GraphQLSchema,
    NameNode,
    OperationDefinitionNode,
    OperationType,
    SelectionSetNode,
    TypeInfo,
    TypeInfoVisitor,
    VariableDefinitionNode,
    VariableNode,
    Visitor,
    parse,
    parse_type,
    print_ast,
    value_from_ast_untyped,
    visit,
)

from app.bootstrap import build_services
from app.config import Settings
from app.entrypoints.http.app import create_app

# A known bug of the general executor (test_compiled_differential.py's strict xfail): when a root
# field fails while a sibling's page is still loading its relations, the request's read connection is
# closed under the loads (PostgreSQL: "another operation is in progress", answered
# SERVICE_UNAVAILABLE at random) or opened again and never returned (collected later, it breaks the
# pool: "Cannot operate on a closed database", INTERNAL for a later request). While it stands, a
# pair that leaves a connection checked out or answers SERVICE_UNAVAILABLE is counted
# (`Pair.tolerated`; not compared when unavailable) and the next comparison gets fresh apps.
# Set False once it is fixed: each of those then fails the test.
KNOWN_CONNECTION_BUG = False
# Keys of `extensions.cost` each app computes for itself (its own budget).
BUDGET_KEYS = ("remaining", "budgetPerMinute")


# --- comparing ------------------------------------------------------------------------------------


def first_difference(a: Any, b: Any, path: str = "$") -> str | None:
    """The first JSON path where `a` and `b` differ, with both values (None when equal)."""
    if isinstance(a, dict) and isinstance(b, dict):
        for key in list(a) + [k for k in b if k not in a]:
            if key not in a:
                return f"{path}.{key}: missing on the compiled side, off has {_short(b[key])}"
            if key not in b:
                return f"{path}.{key}: compiled has {_short(a[key])}, missing on the off side"
            found = first_difference(a[key], b[key], f"{path}.{key}")
            if found:
                return found
        if list(a) != list(b):
            return f"{path}: the same keys in another order: {list(a)} vs {list(b)}"
        return None
    if isinstance(a, list) and isinstance(b, list):
        for i, (x, y) in enumerate(zip(a, b, strict=False)):
            found = first_difference(x, y, f"{path}[{i}]")
            if found:
                return found
        if len(a) != len(b):
            return f"{path}: {len(a)} items (compiled) vs {len(b)} (off)"
        return None
    if type(a) is not type(b) or a != b:
        return f"{path}: compiled {_short(a)} vs off {_short(b)}"
    return None


def _short(value: Any, limit: int = 300) -> str:
    text = json.dumps(value, ensure_ascii=False, sort_keys=False)
    return text if len(text) <= limit else text[:limit] + "…"


def comparable(body: Any) -> Any:
    """The body without what may differ between the two apps (the module's docstring)."""
    if not isinstance(body, dict):
        return body
    out = dict(body)
    if isinstance(out.get("errors"), list):
        errors = []
        for error in out["errors"]:
            error = dict(error)
            if isinstance(error.get("extensions"), dict):
                error["extensions"] = {k: v for k, v in error["extensions"].items() if k != "correlationId"}
            errors.append(error)
        out["errors"] = sorted(errors, key=lambda e: json.dumps(e, sort_keys=True))
    if isinstance(out.get("extensions"), dict):
        extensions = dict(out["extensions"])
        if isinstance(extensions.get("cost"), dict):
            extensions["cost"] = {k: v for k, v in extensions["cost"].items() if k not in BUDGET_KEYS}
        out["extensions"] = extensions
    return out


def codes(body: Any) -> list[str | None]:
    errors = body.get("errors") if isinstance(body, dict) else None
    return [(e.get("extensions") or {}).get("code") for e in errors or []]


@dataclasses.dataclass
class Exchange:
    status: int
    content_type: str
    body: Any


class Pair:
    """The two apps' clients: `on` (compiled operations) and `off` (the general executor only).
    `Pair.opened(on_settings, off_settings)` makes both apps (`close()` ends them)."""

    def __init__(self, on: httpx.AsyncClient, off: httpx.AsyncClient) -> None:
        self.on, self.off = on, off
        self.compared = 0
        self.tolerated: list[str] = []  # queries that met KNOWN_CONNECTION_BUG
        self.renewed = 0
        # Per caller: strings of the organisation the caller is not of; none may appear in `data`.
        self.foreign: dict[str | None, tuple[str, ...]] = {}
        self._settings: tuple[Settings, Settings] | None = None
        self._stack: contextlib.AsyncExitStack | None = None
        self._poisoned = False

    @classmethod
    async def opened(cls, on: Settings, off: Settings) -> Pair:
        pair = cls.__new__(cls)
        cls.__init__(pair, None, None)  # type: ignore[arg-type]
        pair._settings = (on, off)
        await pair._open()
        return pair

    async def _open(self) -> None:
        assert self._settings is not None
        self._stack = contextlib.AsyncExitStack()
        self.on = await self._stack.enter_async_context(app_client(self._settings[0]))
        self.off = await self._stack.enter_async_context(app_client(self._settings[1]))
        self._poisoned = False

    async def close(self) -> None:
        if self._stack is not None:
            stack, self._stack = self._stack, None
            await stack.aclose()

    async def _post(self, client: httpx.AsyncClient, payload: dict[str, Any], token: str | None) -> Exchange:
        headers = {"Authorization": f"Bearer {token}"} if token else {}
        response = await client.post("/graphql", json=payload, headers=headers)
        try:
            body: Any = response.json()
        except ValueError:
            body = response.text
        return Exchange(response.status_code, response.headers.get("content-type", ""), body)

    async def compare(
        self, query: str, variables: dict[str, Any] | None = None, *, token: str | None = None,
        caller: str = "?", operation_name: str | None = None,
    ) -> dict[str, Any]:
        """Sends the query to both apps (off first, then on); asserts: no 5xx, no INTERNAL, no
        connection left checked out, the same status, media type and body (`comparable`), and no
        other organisation's ids in `data`. Returns the compiled side's body."""
        if self._poisoned and self._stack is not None:
            # a leaked connection, once collected, breaks the pool it came from: fresh apps
            await self.close()
            await self._open()
            self.renewed += 1
        payload: dict[str, Any] = {"query": query, "variables": variables or {}}
        if operation_name is not None:
            payload["operationName"] = operation_name
        off = await self._post(self.off, payload, token)
        on = await self._post(self.on, payload, token)
        self.compared += 1
        where = f"\ncaller: {caller}\nquery: {query}\nvariables: {json.dumps(variables or {}, ensure_ascii=False)}"
        for side, exchange in (("on", on), ("off", off)):
            assert exchange.status < 500, f"{side}: HTTP {exchange.status}: {_short(exchange.body)}{where}"
            assert "INTERNAL" not in codes(exchange.body), f"{side}: INTERNAL: {_short(exchange.body)}{where}"
        left = {side: checked_out(client) for side, client in (("on", self.on), ("off", self.off))}
        unavailable = "SERVICE_UNAVAILABLE" in codes(on.body) + codes(off.body)
        if any(left.values()) or unavailable:
            assert KNOWN_CONNECTION_BUG, (
                f"connections left checked out after the response: {left}; SERVICE_UNAVAILABLE: {unavailable}{where}")
            self.tolerated.append(query)
            self._poisoned = self._poisoned or any(left.values())
            if unavailable:
                assert isinstance(on.body, dict), on.body
                return on.body
        assert (on.status, on.content_type) == (off.status, off.content_type), (
            f"status/media type: compiled {on.status} {on.content_type} vs off {off.status} {off.content_type}{where}"
        )
        difference = first_difference(comparable(on.body), comparable(off.body))
        assert difference is None, f"the compiled answer differs from the general executor's at {difference}{where}"
        data = on.body.get("data") if isinstance(on.body, dict) else None
        if data is not None:
            text = json.dumps(data)
            leaked = [s for s in self.foreign.get(token, ()) if s in text]
            assert not leaked, f"another organisation's ids in the answer: {leaked}{where}"
        assert isinstance(on.body, dict), on.body
        return on.body


def checked_out(client: httpx.AsyncClient) -> int:
    """Connections of the client's app (app_client) checked out of its pool now."""
    pool = client.services.engine.pool  # type: ignore[attr-defined]
    return int(pool.checkedout()) if hasattr(pool, "checkedout") else 0


def app_settings(base: Settings, mode: str) -> Settings:
    """The session's settings for one side: its compiled mode, no background workers (the session's
    own app runs them), cost budgets lifted (the generated queries would exhaust them, and a budget
    is each app's own)."""
    return dataclasses.replace(
        base, compiled_operations=mode, background_tasks=False,
        cost_budget_per_minute=10**12, anonymous_cost_budget_per_minute=10**12,
    )


# The mode of the app serving the current request ("on" / "off"), for code that must tell the sides
# apart without a request context (the harness's mutants).
SIDE: contextvars.ContextVar[str | None] = contextvars.ContextVar("differential_side", default=None)


@contextlib.asynccontextmanager
async def app_client(settings: Settings) -> AsyncIterator[httpx.AsyncClient]:
    """An ASGI app of its own (its own Services: settings, engine, caches) on the settings' database."""
    services = build_services(settings)
    app = create_app(settings, services)

    async def sided(scope: Any, receive: Any, send: Any) -> None:
        token = SIDE.set(settings.compiled_operations)
        try:
            await app(scope, receive, send)
        finally:
            SIDE.reset(token)

    async with app.router.lifespan_context(app):  # disposes the engine at the end
        async with httpx.AsyncClient(transport=httpx.ASGITransport(app=sided), base_url="http://testserver") as client:
            client.services = services  # type: ignore[attr-defined]
            yield client


# --- literals to variables --------------------------------------------------------------------------


def hoist_arguments(schema: GraphQLSchema, query: str) -> tuple[str, dict[str, Any]]:
    """The same operation with every literal field argument passed as a variable of the argument's
    type (`first: 5` becomes `first: $v0` and `{"v0": 5}`); its results must be the same."""
    document = parse(query)
    type_info = TypeInfo(schema)
    definitions: list[VariableDefinitionNode] = []
    values: dict[str, Any] = {}

    class Hoist(Visitor):
        def enter_argument(self, node: ArgumentNode, *_: Any) -> Any:
            argument = type_info.get_argument()
            if argument is None or isinstance(node.value, VariableNode) or type_info.get_directive() is not None:
                return None
            name = f"v{len(definitions)}"
            variable = VariableNode(name=NameNode(value=name))
            definitions.append(VariableDefinitionNode(variable=variable, type=parse_type(str(argument.type))))
            values[name] = value_from_ast_untyped(node.value)
            return ArgumentNode(name=node.name, value=variable)

    hoisted: DocumentNode = visit(document, TypeInfoVisitor(type_info, Hoist()))
    if not definitions:
        return query, {}
    operations = [d for d in hoisted.definitions if isinstance(d, OperationDefinitionNode)]
    if len(operations) != 1:
        return query, {}
    operation = operations[0]
    with_variables = dataclasses.replace(
        operation, variable_definitions=(*(operation.variable_definitions or ()), *definitions))
    hoisted = dataclasses.replace(
        hoisted, definitions=tuple(with_variables if d is operation else d for d in hoisted.definitions))
    return print_ast(hoisted), values


# --- reshaping generated documents -------------------------------------------------------------------


def reargue(query: str, choose: Any) -> str:
    """The document with each field's arguments passed through `choose(field, argument name, value
    node or None)`, which returns the value node to send (None: leave the argument out); `choose`
    is also asked about the names in its `ask` attribute that the field does not have yet."""
    document = parse(query)
    asked: dict[str, tuple[str, ...]] = getattr(choose, "ask", {})

    class Reargue(Visitor):
        def enter_field(self, node: FieldNode, *_: Any) -> Any:
            present = {a.name.value: a.value for a in node.arguments or ()}
            names = list(present) + [n for n in asked.get(node.name.value, ()) if n not in present]
            arguments = []
            for name in names:
                value = choose(node.name.value, name, present.get(name))
                if value is not None:
                    arguments.append(ArgumentNode(name=NameNode(value=name), value=value))
            return dataclasses.replace(node, arguments=tuple(arguments))

    return print_ast(visit(document, Reargue()))


def merge_aliased(queries: list[str]) -> str:
    """One anonymous query selecting the root fields of all `queries` (single-operation documents
    without variables or fragments), the i-th query's fields aliased `q{i}_{name}`."""
    selections = []
    for i, query in enumerate(queries):
        (operation,) = parse(query).definitions
        assert isinstance(operation, OperationDefinitionNode) and not operation.variable_definitions
        for selection in operation.selection_set.selections:
            assert isinstance(selection, FieldNode)
            alias = NameNode(value=f"q{i}_{(selection.alias or selection.name).value}")
            selections.append(dataclasses.replace(selection, alias=alias))
    return print_ast(DocumentNode(definitions=(OperationDefinitionNode(
        operation=OperationType.QUERY, selection_set=SelectionSetNode(selections=tuple(selections))),)))


def augment(schema: GraphQLSchema, query: str, extras: dict[str, list[str]], pick: Any) -> str:
    """The document with, in every selection set of a type named in `extras`, the selections
    `pick(type name, selections)` returns from that type's list (each text one aliased selection,
    e.g. `x_status: status`: aliases no generated field has, so nothing conflicts)."""
    document = parse(query)
    type_info = TypeInfo(schema)
    parsed = {name: [_selection(text) for text in texts] for name, texts in extras.items()}

    class Augment(Visitor):
        def enter_selection_set(self, node: SelectionSetNode, *_: Any) -> Any:
            parent = type_info.get_parent_type()
            if parent is None or parent.name not in parsed:
                return None
            present = {(s.alias or s.name).value for s in node.selections if isinstance(s, FieldNode)}
            chosen = [s for s in pick(parent.name, parsed[parent.name]) if (s.alias or s.name).value not in present]
            if not chosen:
                return None
            return dataclasses.replace(node, selections=(*node.selections, *chosen))

    return print_ast(visit(document, TypeInfoVisitor(type_info, Augment())))


def _selection(text: str) -> FieldNode:
    (operation,) = parse(f"{{ {text} }}").definitions
    assert isinstance(operation, OperationDefinitionNode)
    (field,) = operation.selection_set.selections
    assert isinstance(field, FieldNode)
    return field


def plan_counts() -> tuple[int, int] | None:
    """(plan runs that answered, plan runs that handed over) so far in this process, where the
    compiled path keeps them (app/schema/runtime/plans.py `PLANS`); None before it exists."""
    try:
        from app.schema.runtime import plans  # type: ignore[attr-defined]
    except ImportError:
        return None
    stats = getattr(plans, "PLANS", None)
    if stats is None or not hasattr(stats, "completed") or not hasattr(stats, "handovers"):
        return None
    return int(stats.completed), int(stats.handovers)
