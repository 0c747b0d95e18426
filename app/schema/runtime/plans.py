"""Compiled operations: a read query the dashboards send all day, run from a plan instead of field by field.

A *plan* is made once per (document, operation) - the second time the document arrives - and decided
once per role set (the two policy tables of app/domain/common/policy.py, for every (type, field) it
touches). It says, for each selection:

- *leaves*: a basic field (an attribute of the object the schema's type is made from) of a scalar or
  enum type, read and coerced by the type's own output coercion;
- *objects*: a basic field whose value is an object or a list of them (`edges`, `node`, `pageInfo`),
  completed by the sub-selection's plan;
- *relations*: a field with a resolver that an area has *compiled* (`compiled("User", "groups", fetch)`,
  next to its types): `fetch(run, parents, arguments, step)` gives the values of the field for a whole
  page of parents at once - one statement per relation and page, as the loaders did, without a loader,
  a future per key or a resolve info per field. Root fields are relations of `Query` with one parent;
  their permission classes (PolicyPermission) are checked as the permission extension would.

Running a plan has two phases: *load* walks the selections top down, fetching each relation for all the
parents reached at that point; *assemble* builds the response dicts in one pass, by one generated
function per selection. A relation compiled with `rows=True` gives the driver's rows to the selection
below when every field selected there has a *row form* (`row_form("Activity", …)`, next to the type's
view: the column each field reads and the view's own function of it), read only those columns, and
makes no domain or view object per row. Nothing is shared between requests except the plan.

Whatever a plan does not cover is run by the general executor (app/schema/runtime/execution.py), whole:
a document with directives, an abstract type, a field without a compiled form, a role set for which
any (type, field) of the plan is not allowed outright (the general executor then reports FORBIDDEN at
its path), a root whose permission refuses the caller, an argument a fetch refuses (BAD_USER_INPUT),
and at run time anything unexpected (a null in a non-null field, a value of a class the type is not
made from, an exception). Such a *handover* leaves nothing behind: the operation starts again in the
general executor, which answers with its own data and errors.

COMPILED_OPERATIONS=verify runs both and records any difference (tests run every query of the suite
that way; tests/test_compiled_differential.py compares generated queries too).
"""

from __future__ import annotations

import collections
import contextvars
import datetime as dt
import operator
import uuid
from collections.abc import Awaitable, Callable, Iterable
from dataclasses import dataclass
from typing import Any

from graphql import (
    FieldNode,
    FragmentSpreadNode,
    GraphQLEnumType,
    GraphQLList,
    GraphQLNonNull,
    GraphQLObjectType,
    GraphQLScalarType,
    InlineFragmentNode,
    OperationDefinitionNode,
    OperationType,
)
from graphql.execution.values import get_argument_values
from strawberry.types.arguments import convert_arguments

from app.domain.common.policy import Decision, is_allowed
from app.schema.runtime.authorization import relation_decision, type_decision

_DEFINITION = "strawberry-definition"
_ALLOW = Decision.ALLOW
PLAN_CACHE_SIZE = 512

Fetch = Callable[["Run", list[Any], dict[str, Any], "Step"], Awaitable[list[Any]]]


class Handover(Exception):
    """The plan met something it does not cover: the general executor runs the operation instead."""


@dataclass(frozen=True, slots=True)
class Compiled:
    """A relation's compiled form: `fetch` gives the field's value for each of a page of parents
    (the values the field's resolver would return), `prepare(step)` works out once per plan what the
    fetch needs from the selection (the columns a list reads)."""

    fetch: Fetch
    prepare: Prepare | None = None
    rows: bool = False  # the fetch can give driver rows for the types below it that have a row form
    # the column names of the rows it gives, from `prepare`'s result and the columns the row forms
    # below read for the selection (None: the row forms' own columns)
    layout: Callable[[Any, frozenset[str]], tuple[str, ...] | None] | None = None


Prepare = Callable[["Step", dict[str, Any]], Any]  # (the step, the document's fragment definitions)
_COMPILED: dict[tuple[str, str], Compiled] = {}


def compiled(
    type_name: str, field_name: str, fetch: Fetch, prepare: Prepare | None = None, *, rows: bool = False,
    layout: Callable[[Any, frozenset[str]], tuple[str, ...] | None] | None = None,
) -> None:
    """Declare the compiled form of `type_name.field_name` (its GraphQL names). `rows`: the fetch
    gives driver rows where the selection below has row forms (`step.rows` tells it which it is to
    give: rows when every field selected there has one, else the objects the resolver would)."""
    _COMPILED[(type_name, field_name)] = Compiled(fetch, prepare, rows, layout)


class _ContextInfo:
    """What a resolver that reads only `info.context` gets from a plan (see `by_resolver`)."""

    __slots__ = ("context",)

    def __init__(self, context: Any) -> None:
        self.context = context


def resolver_of(cls: type, python_name: str) -> Callable[..., Any]:
    """The function behind a Strawberry type's resolver field."""
    from strawberry.types.base import get_object_definition

    definition = get_object_definition(cls, strict=True)
    field = next(f for f in definition.fields if f.python_name == python_name)
    assert field.base_resolver is not None, f"{cls.__name__}.{python_name} has no resolver"
    return field.base_resolver.wrapped_func


def by_resolver(type_name: str, field_name: str, resolver: Any) -> None:
    """Compile `type_name.field_name` as its own resolver called once per parent, with the arguments
    Strawberry would pass and an info that has only `context` (anything else it reads is an
    AttributeError: a handover). For fields a page has one of - a root connection, its totalCount -
    whose resolver is the one place their read is written."""
    func = getattr(resolver, "__func__", resolver)

    async def fetch(run: Run, parents: list[Any], arguments: dict[str, Any], step: Step) -> list[Any]:
        info = _ContextInfo(run.context)
        return [await func(parent, info=info, **arguments) for parent in parents]

    compiled(type_name, field_name, fetch)


@dataclass(frozen=True, slots=True)
class RowForm:
    """How a type's fields are read from a row of `columns` (a statement's column names, in order; empty:
    the relation giving the rows names them, `Compiled.layout`): {GraphQL field: (column or columns,
    function of their values or None[, "now"])}, "now" passing the request's clock as the last argument;
    `same_row`: object fields whose value is the same row read as another type (an edge's `node`).
    The functions are the ones the type's view applies to the domain object the row would have become."""

    columns: tuple[str, ...]
    fields: dict[str, tuple[Any, ...]]
    same_row: dict[str, str]


_ROW_FORMS: dict[str, RowForm] = {}


def row_form(
    type_name: str, columns: Iterable[str], fields: dict[str, tuple[Any, ...]], same_row: dict[str, str] | None = None,
) -> None:
    columns = tuple(columns)
    unknown = {c for spec in fields.values() for c in _columns_of(spec)} - set(columns)
    if columns and unknown:
        raise ValueError(f"row form of {type_name}: no columns {sorted(unknown)}")
    _ROW_FORMS[type_name] = RowForm(columns, dict(fields), dict(same_row or {}))


def _columns_of(spec: tuple[Any, ...]) -> tuple[str, ...]:
    return (spec[0],) if isinstance(spec[0], str) else tuple(spec[0])


class _NoRowForm(Exception):
    """A selection below a row-giving relation reads a field its type's row form does not have."""


def compiled_fields() -> frozenset[tuple[str, str]]:
    return frozenset(_COMPILED)


# --- the plan ---------------------------------------------------------------------------------------

_LEAF, _OBJECT, _RELATION, _CONSTANT, _ROW_LEAF, _ROW_OBJECT = range(6)


class Step:
    """One response key of a selection."""

    __slots__ = ("action", "arguments", "complete", "compiled", "definition", "field_def", "field_name", "index",
                 "columns", "key", "kind", "layout", "leaf_type", "nodes", "prepared", "read", "rows", "sub", "transform",
                 "with_now")

    def __init__(self, key: str, kind: int) -> None:
        self.key = key
        self.kind = kind
        self.read: Any = None
        self.complete: Any = None
        self.sub: Selection | None = None
        self.compiled: Compiled | None = None
        self.field_def: Any = None
        self.field_name = ""
        self.definition: Any = None
        self.nodes: list[FieldNode] = []
        self.arguments: Any = None
        self.prepared: Any = None
        self.index = 0
        self.action: Any = None
        self.leaf_type: tuple[Any, bool] | None = None  # (scalar or enum type, non-null) of a plain leaf
        self.rows = False  # a relation: its fetch gives rows (the selection below is read from rows)
        self.layout: tuple[str, ...] | None = None  # ... of these columns (Compiled.layout)
        self.transform: Callable[..., Any] | None = None  # a row leaf: the row form's function,
        self.columns: tuple[int, ...] = ()  # of these columns of the row
        self.with_now = False  # ... and the request's clock


class Selection:
    """The plan of one selection set on one object type."""

    __slots__ = ("assemble", "form", "loads", "origin", "relations", "steps", "type_name")

    def __init__(self, type_name: str, origin: type | None, form: RowForm | None = None) -> None:
        self.type_name = type_name
        self.origin = origin
        self.form = form  # read from rows of this form (else from objects of `origin`)
        self.steps: list[Step] = []
        self.relations: list[Step] = []
        self.loads = False  # this selection or one below it has a relation to fetch
        self.assemble: Callable[[Any], Any] | None = None


class Plan:
    __slots__ = ("by_roles", "pairs", "relations", "root", "steps_count", "types")

    def __init__(self, root: Selection, types: frozenset[str], pairs: frozenset[tuple[str, str]], steps: int,
                 relations: int) -> None:
        self.root = root
        self.relations = relations
        self.types = types
        self.pairs = pairs
        self.steps_count = steps
        self.by_roles: dict[frozenset[Any], bool] = {}

    def allowed(self, roles: frozenset[Any]) -> bool:
        """Every type and field of the plan allowed outright for these roles (decided once per role set)."""
        decided = self.by_roles.get(roles)
        if decided is None:
            decided = all(type_decision(roles, t) is _ALLOW for t in self.types) and all(
                relation_decision(roles, t, f) is _ALLOW for t, f in self.pairs
            )
            if len(self.by_roles) < 64:
                self.by_roles[roles] = decided
        return decided


class _NoPlan(Exception):
    pass


def _has_directives(operation: OperationDefinitionNode, fragments: dict[str, Any]) -> bool:
    """Any directive on a field or fragment of the operation or the fragments it may spread: @skip and
    @include make the selection depend on variables (the plan must not), others are unusual."""
    stack = [operation.selection_set]
    stack.extend(getattr(f, "definition", f).selection_set for f in fragments.values())
    while stack:
        selection_set = stack.pop()
        if selection_set is None:
            continue
        for sel in selection_set.selections:
            if sel.directives:
                return True
            if isinstance(sel, FieldNode | InlineFragmentNode):
                stack.append(sel.selection_set)
            elif not isinstance(sel, FragmentSpreadNode):
                return True
    return False


class Compiler:
    """Makes the plan of an operation from the executor's own field collection (graphql-core's
    grouped field sets: fragments and merged fields as the general executor sees them)."""

    def __init__(self, executor: Any) -> None:
        self.executor = executor
        self.types: set[str] = set()
        self.pairs: set[tuple[str, str]] = set()
        self.count = 0
        self.relations = 0
        self.rows = False  # compiling below a relation that gives rows
        self.layout: tuple[str, ...] | None = None  # ... of these columns (None: the forms' own)
        self.needed: set[str] | None = None  # a first pass below such a relation: the columns read
        self.strawberry = getattr(executor.schema, "_strawberry_schema", None)

    def plan(self, root_type: GraphQLObjectType, grouped_field_set: Any) -> Plan:
        root = self.selection(root_type, grouped_field_set, root=True)
        return Plan(root, frozenset(self.types), frozenset(self.pairs), self.count, self.relations)

    def selection(self, object_type: GraphQLObjectType, grouped_field_set: Any, *, root: bool = False) -> Selection:
        form = _ROW_FORMS.get(object_type.name) if self.rows else None
        if form is not None:
            return self.row_selection(object_type, grouped_field_set, form)
        definition = (object_type.extensions or {}).get(_DEFINITION)
        origin = getattr(definition, "origin", None)
        if not root:
            if origin is None:
                raise _NoPlan
            self.types.add(object_type.name)
        selection = Selection(object_type.name, origin)
        for key, details in grouped_field_set.items():
            step = self.step(object_type, key, details, root)
            selection.steps.append(step)
            if step.kind == _RELATION:
                selection.relations.append(step)
                selection.loads = True
            if step.sub is not None and step.sub.loads:
                selection.loads = True
        if not root:
            selection.assemble = assembler(selection)
        return selection

    def row_selection(self, object_type: GraphQLObjectType, grouped_field_set: Any, form: RowForm) -> Selection:
        self.types.add(object_type.name)
        selection = Selection(object_type.name, None, form)
        for key, details in grouped_field_set.items():
            self.count += 1
            name = details[0].node.name.value
            if name == "__typename":
                step = Step(key, _CONSTANT)
                step.read = object_type.name
                selection.steps.append(step)
                continue
            field_def = object_type.fields.get(name)
            if field_def is None:
                raise _NoPlan
            self.pairs.add((object_type.name, name))
            step = Step(key, _ROW_LEAF)
            step.field_def, step.field_name, step.nodes = field_def, name, [d.node for d in details]
            if name in form.fields:
                spec = form.fields[name]
                wanted = _columns_of(spec)
                if form.columns and not set(wanted) <= set(form.columns):
                    raise _NoRowForm
                if self.needed is not None:  # (the first pass: which columns, not where)
                    self.needed.update(wanted)
                    step.columns = tuple(0 for _ in wanted)
                else:
                    columns = self.layout or form.columns
                    try:
                        step.columns = tuple(columns.index(c) for c in wanted)
                    except ValueError:
                        raise _NoRowForm from None
                step.transform = spec[1]
                step.with_now = len(spec) > 2 and spec[2] == "now"
                if step.transform is None and len(step.columns) != 1:
                    raise _NoPlan
                step.complete = self.completer(field_def.type, details, step)
                t = field_def.type
                non_null = isinstance(t, GraphQLNonNull)
                t = t.of_type if non_null else t
                if isinstance(t, GraphQLScalarType | GraphQLEnumType):
                    step.leaf_type = (t, non_null)
            elif name in form.same_row:
                step.kind = _ROW_OBJECT
                step.complete = self.completer(field_def.type, details, step)
                if step.sub is None or step.sub.form is None or step.sub.type_name != form.same_row[name]:
                    raise _NoRowForm
            else:
                raise _NoRowForm
            selection.steps.append(step)
        selection.assemble = row_assembler(selection)
        return selection

    def step(self, object_type: GraphQLObjectType, key: str, details: Any, root: bool) -> Step:
        self.count += 1
        if self.count > 2000:
            raise _NoPlan
        name = details[0].node.name.value
        if name == "__typename":
            step = Step(key, _CONSTANT)
            step.read = object_type.name
            return step
        field_def = object_type.fields.get(name)
        if field_def is None:
            raise _NoPlan
        definition = (field_def.extensions or {}).get(_DEFINITION)
        if definition is None:
            raise _NoPlan
        if not root:
            self.pairs.add((object_type.name, name))
        spec = _COMPILED.get((object_type.name, name))
        if spec is not None:
            step = Step(key, _RELATION)
            step.compiled = spec
            step.index = self.relations
            self.relations += 1
            step.action = self.root_action(definition) if root else None
            if not root and (definition.permission_classes or definition.extensions):
                raise _NoPlan
        else:
            if root or definition.base_resolver is not None or field_def.args or definition.permission_classes \
                    or definition.extensions:
                raise _NoPlan
            resolve = field_def.resolve
            if resolve is None or not getattr(resolve, "_is_default", False) \
                    or definition.default_resolver is not getattr:
                raise _NoPlan
            step = Step(key, _LEAF)
            step.read = operator.attrgetter(definition.python_name)
        step.field_def = field_def
        step.field_name = name
        step.definition = definition
        step.nodes = [d.node for d in details]
        if spec is not None and spec.prepare is not None:
            fragments = {n: getattr(f, "definition", f) for n, f in self.executor.fragments.items()}
            step.prepared = spec.prepare(step, fragments)
        if spec is not None and spec.rows and not self.rows:
            self.rows = True
            try:
                if spec.layout is not None:  # a first pass finds the columns the selection reads
                    self.needed = set()
                    try:
                        self.completer(field_def.type, details, step)
                        needed = frozenset(self.needed)
                    finally:
                        self.needed = None
                        step.sub = None
                    step.layout = self.layout = spec.layout(step.prepared, needed)
                    if self.layout is None:
                        raise _NoRowForm
                step.complete = self.completer(field_def.type, details, step)
                step.rows = True
            except _NoRowForm:
                step.sub = None
                step.layout = None
                self.rows = False
                step.complete = self.completer(field_def.type, details, step)
            finally:
                self.rows = False
                self.layout = None
        else:
            step.complete = self.completer(field_def.type, details, step)
        if step.kind == _LEAF and step.sub is not None:
            step.kind = _OBJECT
        if step.kind == _LEAF:
            t = field_def.type
            non_null = isinstance(t, GraphQLNonNull)
            t = t.of_type if non_null else t
            if isinstance(t, GraphQLScalarType | GraphQLEnumType):
                step.leaf_type = (t, non_null)
        if step.kind == _RELATION:
            step.arguments = self.arguments(step)
        return step

    def root_action(self, definition: Any) -> Any:
        from app.schema.runtime.base import PolicyPermission

        classes = definition.permission_classes or []
        if len(classes) != 1 or not issubclass(classes[0], PolicyPermission):
            raise _NoPlan
        extensions = [e for e in definition.extensions or [] if type(e).__name__ != "PermissionExtension"]
        if extensions:
            raise _NoPlan
        return classes[0]

    def arguments(self, step: Step) -> Callable[[Any], dict[str, Any]]:
        """The field's arguments as its resolver gets them (Strawberry's conversion of graphql-core's
        coerced values), worked out once per request."""
        field_def, node, definition = step.field_def, step.nodes[0], step.definition
        resolver = definition.base_resolver
        if not field_def.args:
            return lambda run: {}
        if resolver is None or self.strawberry is None:
            raise _NoPlan
        arguments = resolver.arguments
        registry, config = self.strawberry.schema_converter.scalar_registry, self.strawberry.config

        def of(run: Run) -> dict[str, Any]:
            raw = get_argument_values(field_def, node, run.variables)
            return convert_arguments(raw, arguments, scalar_registry=registry, config=config)

        return of

    def completer(self, return_type: Any, details: Any, step: Step) -> Callable[[Any], Any]:
        """A function from the field's value to its place in the response (raises Handover)."""
        shape = _list_of_non_null(return_type)
        if shape is not None:  # [T!] and [T!]!, the usual lists: one function, no call per item wrapper
            non_null_list, item_type = shape
            item = self.completer(item_type, details, step)

            def items(value: Any) -> Any:
                if value is None:
                    if non_null_list:
                        raise Handover
                    return None
                if value.__class__ is not list and value.__class__ is not tuple:
                    raise Handover
                out = [item(v) for v in value]
                if None in out:
                    raise Handover
                return out

            return items
        if isinstance(return_type, GraphQLNonNull):
            inner = self.completer(return_type.of_type, details, step)

            def non_null(value: Any) -> Any:
                if value is None:
                    raise Handover
                out = inner(value)
                if out is None:
                    raise Handover
                return out

            return non_null
        if isinstance(return_type, GraphQLList):
            item = self.completer(return_type.of_type, details, step)

            def listed(value: Any) -> Any:
                if value is None:
                    return None
                if value.__class__ is not list and value.__class__ is not tuple:
                    raise Handover
                return [item(v) for v in value]

            return listed
        if isinstance(return_type, GraphQLScalarType | GraphQLEnumType):
            if details[0].node.selection_set:
                raise _NoPlan
            checked = _checked(_output_coercion(return_type))

            def leaf(value: Any) -> Any:
                return None if value is None else checked(value)

            return leaf
        if isinstance(return_type, GraphQLObjectType):
            grouped = self.executor.collect_subfields(return_type, details)[0]
            sub = self.selection(return_type, grouped)
            if step.sub is not None and step.sub is not sub:
                raise _NoPlan  # (one object type per field)
            step.sub = sub
            return sub.assemble
        raise _NoPlan  # interfaces, unions


_NATIVE_NAMES = {"String": str, "ID": str, "Boolean": bool}


def _list_of_non_null(t: Any) -> tuple[bool, Any] | None:
    """(the list is non-null, the item type) for `[X!]` and `[X!]!` with X an object, scalar or enum."""
    non_null = isinstance(t, GraphQLNonNull)
    t = t.of_type if non_null else t
    if not isinstance(t, GraphQLList) or not isinstance(t.of_type, GraphQLNonNull):
        return None
    item = t.of_type.of_type
    if not isinstance(item, GraphQLObjectType | GraphQLScalarType | GraphQLEnumType):
        return None
    return non_null, item


def _checked(coerce: Callable[[Any], Any]) -> Callable[[Any], Any]:
    """A leaf's output coercion that hands over instead of failing or giving null."""

    def leaf(value: Any) -> Any:
        try:
            out = coerce(value)
        except Exception as exc:
            raise Handover from exc
        if out is None:
            raise Handover
        return out

    return leaf


def assembler(selection: Selection) -> Callable[[Any], Any]:
    """The function completing an object of `selection`: generated Python source, one statement or
    two per response key, so a page's thousand objects cost no loop over steps, no closure call per
    leaf. Only our own names reach the source (attribute names checked as identifiers, indexes);
    response keys, the document's aliases, are constants in the function's namespace."""
    namespace: dict[str, Any] = {"Handover": Handover, "ORIGIN": selection.origin, "CURRENT": _CURRENT_RUN}
    lines = ["def assemble(value):",
             "    if value.__class__ is not ORIGIN:",
             "        if value is None:",
             "            return None",
             "        raise Handover",
             "    run = CURRENT[0]",
             "    run.objects += 1",
             "    values = run.values",
             "    try:"]
    keys = []
    for i, step in enumerate(selection.steps):
        namespace[f"K{i}"] = step.key
        keys.append(f"K{i}: v{i}")
        v = f"v{i}"
        if step.kind == _CONSTANT:
            namespace[f"T{i}"] = step.read
            lines.append(f"        {v} = T{i}")
            continue
        if step.kind == _RELATION:
            namespace[f"F{i}"] = step.complete
            lines.append(f"        {v} = F{i}(values[{int(step.index)}][id(value)])")
            continue
        attribute = step.definition.python_name
        read = f"value.{attribute}" if attribute.isidentifier() and not attribute.startswith("__") else None
        if read is None:
            namespace[f"R{i}"] = step.read
            read = f"R{i}(value)"
        leaf = step.leaf_type
        if leaf is None:  # lists, objects: the completer
            namespace[f"F{i}"] = step.complete
            lines.append(f"        {v} = F{i}({read})")
            continue
        _emit_leaf(lines, namespace, i, read, *leaf)
    lines.append("    except AttributeError as exc:")
    lines.append("        raise Handover from exc")
    lines.append("    return {" + ", ".join(keys) + "}")
    exec(compile("\n".join(lines), f"<plan of {selection.type_name}>", "exec"), namespace)  # noqa: S102
    return namespace["assemble"]


def _emit_leaf(lines: list[str], namespace: dict[str, Any], i: int, read: str, gql_type: Any, non_null: bool) -> None:
    """Statements setting v<i> to the response value of a scalar or enum leaf read by `read`."""
    v = f"v{i}"
    namespace[f"C{i}"] = _checked(_output_coercion(gql_type))
    native = _NATIVE_NAMES.get(gql_type.name) if isinstance(gql_type, GraphQLScalarType) else None
    lines.append(f"        {v} = {read}")
    if non_null:
        lines.append(f"        if {v} is None:")
        lines.append("            raise Handover")
        indent = "        "
    else:
        lines.append(f"        if {v} is not None:")
        indent = "            "
    fast = _fast_leaf(gql_type)
    if native is not None:
        namespace[f"N{i}"] = native
        lines.append(f"{indent}if {v}.__class__ is not N{i}:")
        lines.append(f"{indent}    {v} = C{i}({v})")
    elif fast is not None:  # the scalar's own coercion, inline for the class it is made for
        cls, how, names = fast
        namespace[f"W{i}"] = cls
        lines.append(f"{indent}if {v}.__class__ is W{i}:")
        if how == "enum":
            namespace[f"M{i}"] = names
            lines.append(f"{indent}    {v} = M{i}.get({v}._value_) or C{i}({v})")
        else:
            lines.append(f"{indent}    {v} = {how.replace('v', v, 1)}")
        lines.append(f"{indent}else:")
        lines.append(f"{indent}    {v} = C{i}({v})")
    else:
        lines.append(f"{indent}{v} = C{i}({v})")


def row_assembler(selection: Selection) -> Callable[[Any], Any]:
    """As `assembler`, for a selection read from rows of its type's row form (by column index)."""
    namespace: dict[str, Any] = {"Handover": Handover, "CURRENT": _CURRENT_RUN}
    lines = ["def assemble(value):",
             "    if value is None:",
             "        return None",
             "    run = CURRENT[0]",
             "    run.objects += 1",
             "    now = run.now" if any(st.with_now for st in selection.steps) else "    pass",
             "    try:"]
    keys = []
    for i, step in enumerate(selection.steps):
        namespace[f"K{i}"] = step.key
        keys.append(f"K{i}: v{i}")
        v = f"v{i}"
        if step.kind == _CONSTANT:
            namespace[f"T{i}"] = step.read
            lines.append(f"        {v} = T{i}")
            continue
        if step.kind == _ROW_OBJECT:
            namespace[f"F{i}"] = step.complete
            lines.append(f"        {v} = F{i}(value)")
            continue
        values = [f"value[{int(c)}]" for c in step.columns]
        if step.with_now:
            values.append("now")
        read = values[0]
        if step.transform is not None:
            namespace[f"X{i}"] = step.transform
            read = f"X{i}({', '.join(values)})"
        if step.leaf_type is not None:
            _emit_leaf(lines, namespace, i, read, *step.leaf_type)
        else:
            namespace[f"F{i}"] = step.complete
            lines.append(f"        {v} = F{i}({read})")
    lines.append("    except (IndexError, KeyError, TypeError, ValueError, AttributeError) as exc:")
    lines.append("        raise Handover from exc")
    lines.append("    return {" + ", ".join(keys) + "}")
    exec(compile("\n".join(lines), f"<rows of {selection.type_name}>", "exec"), namespace)  # noqa: S102
    return namespace["assemble"]


def _fast_leaf(leaf: Any) -> tuple[type, str, dict[Any, str] | None] | None:
    """(class, inline expression of `v`, enum names) for leaves whose coercion is known exactly:
    Strawberry's date and time scalars (`isoformat`), UUID (`str`), and enums (member -> name, the
    same table execution.output_coercion builds); None for the rest (their coercion is called)."""
    if isinstance(leaf, GraphQLEnumType):
        wrapped = getattr(leaf, "wrapped_cls", None)
        if wrapped is None:
            return None
        return wrapped, "enum", {v.value: name for name, v in leaf.values.items()}
    from strawberry.schema.types import base_scalars

    serialize = getattr(leaf, "serialize", None)
    if leaf.name == "DateTime" and serialize is base_scalars.isoformat:
        return dt.datetime, "v.isoformat()", None
    if leaf.name == "Date" and serialize is base_scalars.isoformat:
        return dt.date, "v.isoformat()", None
    if leaf.name == "UUID" and serialize is str:
        return uuid.UUID, "str(v)", None
    return None


def _output_coercion(leaf: Any) -> Callable[[Any], Any]:
    from app.schema.runtime.execution import output_coercion

    return output_coercion(leaf)


# The run being assembled (assembly is synchronous: one at a time per thread, never across an await).
_CURRENT_RUN: list[Any] = [None]


class Run:
    """One execution of a plan: the request's context and what its relations fetched."""

    __slots__ = ("_now", "context", "executor", "objects", "values", "variables")

    def __init__(self, executor: Any, plan: Plan) -> None:
        self.executor = executor
        self.context = executor.context_value
        self.variables = executor.variable_values
        # per relation of the plan (Step.index): the value of each parent, by the parent's id (the
        # parents stay alive in the tree of objects until the response is assembled)
        self.values: list[dict[int, Any]] = [{} for _ in range(plan.relations)]
        self.objects = 0
        self._now: Any = None

    @property
    def now(self) -> Any:
        """The request's clock (one reading per request: a certificate's derived status)."""
        if self._now is None:
            self._now = self.context.services.platform.now()
        return self._now

    @property
    def principal(self) -> Any:
        return self.context.principal

    @property
    def reader(self) -> Any:
        return self.context.reader

    async def load(self, selection: Selection, parents: list[Any]) -> None:
        """Fetch every relation of `selection` for all `parents`, then of the selections below."""
        for step in selection.steps:
            kind = step.kind
            if kind == _RELATION:
                arguments = step.arguments(self)
                values = await step.compiled.fetch(self, parents, arguments, step)  # type: ignore[union-attr]
                if len(values) != len(parents):
                    raise Handover
                self.values[step.index] = {id(p): v for p, v in zip(parents, values, strict=True)}
                if step.sub is not None and step.sub.loads:
                    children = _flatten(values)
                    if children:
                        await self.load(step.sub, children)
            elif kind == _OBJECT and step.sub is not None and step.sub.loads:
                try:
                    children = _flatten([step.read(p) for p in parents])
                except AttributeError as exc:
                    raise Handover from exc
                if children:
                    await self.load(step.sub, children)


def _flatten(values: list[Any]) -> list[Any]:
    out: list[Any] = []
    for v in values:
        if v is None:
            continue
        if v.__class__ is list or v.__class__ is tuple:
            out.extend(x for x in v if x is not None)
        else:
            out.append(v)
    return out


# --- the cache and the entry point ----------------------------------------------------------------------

_NOT_PLANNED = object()
_SEEN_ONCE = object()


class PlanCache:
    """Plans by (document text, operation name): an LRU of PLAN_CACHE_SIZE; a document that cannot be
    planned is remembered as such (its walk is not repeated)."""

    def __init__(self, size: int = PLAN_CACHE_SIZE) -> None:
        self.size = size
        self._plans: collections.OrderedDict[tuple[str, str | None], Any] = collections.OrderedDict()
        self.hits = self.misses = 0
        self.completed = self.handovers = 0  # plan runs that answered, and that handed over

    def get(self, key: tuple[str, str | None]) -> Any:
        plan = self._plans.get(key)
        if plan is not None:
            self._plans.move_to_end(key)
            self.hits += 1
        else:
            self.misses += 1
        return plan

    def put(self, key: tuple[str, str | None], plan: Any) -> None:
        self._plans[key] = plan
        if len(self._plans) > self.size:
            self._plans.popitem(last=False)

    def clear(self) -> None:
        self._plans.clear()


PLANS = PlanCache()
# COMPILED_OPERATIONS=verify: (operation name, what differed) of every plan whose answer was not the
# general executor's. tests/conftest.py fails the test that caused one.
MISMATCHES: list[tuple[str | None, str]] = []
# True while COMPILED_OPERATIONS=verify runs the general executor after a plan (tests counting a
# request's statements leave those out).
VERIFYING: contextvars.ContextVar[bool] = contextvars.ContextVar("verifying_plan", default=False)


def plan_of(executor: Any, root_type: GraphQLObjectType, grouped_field_set: Any, *, eager: bool = False) -> Plan | None:
    """The operation's plan, or None when it has none (yet). A plan is made when a document is seen the
    second time (`eager`: the first): a document sent once - a one-off query, a script, an attacker's
    stream of new documents - costs what it did before plans existed, and nothing more is kept for it
    than a mark."""
    operation = executor.operation
    if operation.operation is not OperationType.QUERY:
        return None
    loc = operation.loc
    if loc is None:
        return None
    key = (loc.source.body, operation.name.value if operation.name else None)
    plan = PLANS.get(key)
    if plan is None and not eager:
        PLANS.put(key, _SEEN_ONCE)
        return None
    if plan is None or plan is _SEEN_ONCE:
        plan = _NOT_PLANNED
        if not _has_directives(operation, executor.fragments):
            try:
                plan = Compiler(executor).plan(root_type, grouped_field_set)
            except (_NoPlan, _NoRowForm):
                plan = _NOT_PLANNED
            except RecursionError:
                plan = _NOT_PLANNED
        PLANS.put(key, plan)
    return None if plan is _NOT_PLANNED else plan


async def run_plan(executor: Any, plan: Plan) -> dict[str, Any]:
    """The operation's data through `plan` (raises Handover: the general executor answers instead)."""
    context = executor.context_value
    run = Run(executor, plan)
    root = plan.root
    # Root permissions first (they settle the caller's roles: the token's, narrowed to those held).
    for step in root.steps:
        if step.kind == _RELATION:
            await _permit(context, step.action)
    principal = context.principal
    if principal is None or not plan.allowed(principal.roles):
        raise Handover
    try:
        await run.load(root, [None])
    except Handover:
        raise
    except Exception as exc:  # a fetch's typed error (BAD_USER_INPUT), the database: the executor reports it
        raise Handover from exc
    _CURRENT_RUN[0] = run
    try:
        data: dict[str, Any] = {}
        for step in root.steps:
            if step.kind == _CONSTANT:
                data[step.key] = step.read
            else:
                data[step.key] = step.complete(run.values[step.index][id(None)])
    finally:
        _CURRENT_RUN[0] = None
    counter = getattr(context, "completed_objects", None)
    if isinstance(counter, list):
        counter[0] += run.objects
    PLANS.completed += 1
    return data


async def _permit(context: Any, permission: Any) -> None:
    """A root field's PolicyPermission, as the permission extension runs it; refused: Handover (the
    general executor raises the error)."""
    if getattr(context, "principal", None) is None:
        raise Handover
    try:
        actor = await context.resolve_actor(read_only=True)
    except Exception as exc:
        raise Handover from exc
    if permission.action is not None and not is_allowed(actor.roles, permission.action):
        raise Handover


def difference(a: Any, b: Any, path: str = "") -> str | None:
    """The first JSON path where `a` and `b` differ (None: equal), for a readable mismatch."""
    if type(a) is not type(b):
        return f"{path or '.'}: {a!r:.80} != {b!r:.80}"
    if isinstance(a, dict):
        if list(a) != list(b):
            return f"{path or '.'}: keys {list(a)} != {list(b)}"
        for k in a:
            d = difference(a[k], b[k], f"{path}.{k}")
            if d:
                return d
        return None
    if isinstance(a, list):
        if len(a) != len(b):
            return f"{path or '.'}: {len(a)} items != {len(b)}"
        for i, (x, y) in enumerate(zip(a, b, strict=True)):
            d = difference(x, y, f"{path}[{i}]")
            if d:
                return d
        return None
    return None if a == b else f"{path or '.'}: {a!r:.80} != {b!r:.80}"
