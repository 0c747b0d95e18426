"""The executor: graphql-core's, with fast paths where the per-field machinery changes nothing.

graphql-core spends most of a dashboard request on per-field bookkeeping: for every scalar of every
row it builds a `Path`, a `GraphQLResolveInfo` (Strawberry's subclass), calls Strawberry's resolver
wrapper, which calls `getattr`, then walks `complete_value` to reach the scalar's `coerce_output_value`.
This executor takes shorter paths where none of that can change the answer:

- *Plain leaves*: a field Strawberry itself calls *basic* (no resolver, no permission classes, no
  field extensions: the value is an attribute) of a scalar or enum type is read and coerced in one
  step.
- *Plain objects*: basic fields whose value is an object or a list of objects (a connection's
  `edges`, an edge's `node`) are completed by graphql-core's `complete_value` without the resolver
  wrapper and resolve info they do not use; object list items skip the two generic `complete_value`
  layers. Where a whole selection is plain - every field a plain leaf, `__typename`, or a plain
  object or list in turn (a history connection, a user's groups or certificates) - one compiled
  function completes the object.
- *Direct resolvers*: fields with a resolver and no permission classes or field extensions, whose
  arguments are scalars or enums (or lists of them), are called with graphql-core's coerced
  arguments, which already hold what Strawberry's conversion would produce for such types (enum
  members, scalars; lists are copied).

Plans are made once per selection set per request (graphql-core memoises the grouped field set of
a list's items, so a page of 500 users is planned once). Anything unusual about a value (None in a
non-null field, an Exception, an awaitable, a value the scalar refuses) makes the fast path give up
and graphql-core complete the value from the start, so errors keep their exact message, path and
null-propagation. tests/test_execution_fast_path.py compares the answers with graphql-core's.
"""

from __future__ import annotations

import datetime as dt
import enum
import functools
import inspect
import logging
import operator
import uuid
from typing import Any

from graphql import (
    GraphQLEnumType,
    GraphQLError,
    GraphQLList,
    GraphQLNonNull,
    GraphQLObjectType,
    GraphQLScalarType,
)
from graphql.execution.values import get_argument_values
from graphql.pyutils import Path, Undefined
from strawberry.execution.is_awaitable import optimized_is_awaitable as is_awaitable_value
from strawberry.schema.schema import StrawberryGraphQLCoreExecutionContext
from strawberry.types import Info

from app.schema.runtime.authorization import Decision, gate_for
from app.schema.runtime.operation_log import redacted_name
from app.schema.runtime.plans import MISMATCHES, PLANS, VERIFYING, Handover, difference, plan_of, run_plan

_ALLOW = Decision.ALLOW
log = logging.getLogger("app.graphql.plans")
_DEFINITION = "strawberry-definition"


class _Plain:
    """A plain field of one selection: how to read it, and how to coerce it when it is a leaf
    (`coerce` None: an object or a list of objects, completed by graphql-core)."""

    __slots__ = ("coerce", "info", "non_null", "read", "return_type")

    def __init__(self, read: Any, coerce: Any, non_null: bool, return_type: Any, info: Any) -> None:
        self.read = read
        self.coerce = coerce
        self.non_null = non_null
        self.return_type = return_type
        self.info = info


_COERCIONS: dict[Any, Any] = {}
_NATIVE = {"String": str, "ID": str, "Boolean": bool, "Int": int}
_SAME_OUT = {"String": str, "ID": str, "Boolean": bool}


def output_coercion(leaf: Any) -> Any:
    """The leaf type's output coercion. For Strawberry's enums (whose own coercion scans every value
    of the enum for each output) a dict from member to name, with the type's method as the fallback."""
    coerce = _COERCIONS.get(leaf)
    if coerce is not None:
        return coerce
    wrapped = getattr(leaf, "wrapped_cls", None)
    if isinstance(leaf, GraphQLScalarType) and leaf.name in _NATIVE:
        # The built-in scalars give a value of their own Python type back unchanged (Int: in range).
        native, fallback = _NATIVE[leaf.name], leaf.coerce_output_value

        def coerce(value: Any) -> Any:
            if value.__class__ is native and (native is not int or -0x80000000 <= value <= 0x7FFFFFFF):
                return value
            return fallback(value)
    elif not isinstance(leaf, GraphQLEnumType) or wrapped is None:
        coerce = leaf.coerce_output_value
    else:
        names = {v.value: name for name, v in leaf.values.items()}
        fallback = leaf.coerce_output_value

        def coerce(value: Any) -> Any:
            if value.__class__ is wrapped:
                name = names.get(value._value_)
                if name is not None:
                    return name
            return fallback(value)

    _COERCIONS[leaf] = coerce
    return coerce


class _CompletionInfo:
    """What graphql-core's completion of an object or list reads from the resolve info: the field's
    name and parent type (error messages). Our object types' `is_type_of` ignores the info."""

    __slots__ = ("field_name", "parent_type")

    def __init__(self, field_name: str, parent_type: GraphQLObjectType) -> None:
        self.field_name = field_name
        self.parent_type = parent_type


def _objects_only(t: Any) -> bool:
    """An object type, or lists (nullable or not) of object types, at any depth."""
    while isinstance(t, GraphQLNonNull | GraphQLList):
        t = t.of_type
    return isinstance(t, GraphQLObjectType)


def _plain_field(parent_type: GraphQLObjectType, field_details_list: Any) -> _Plain | None:
    if len(field_details_list) != 1:
        return None
    node = field_details_list[0].node
    if node.arguments or node.directives:
        return None
    field_def = parent_type.fields.get(node.name.value)
    if field_def is None or field_def.args:
        return None
    definition = (field_def.extensions or {}).get(_DEFINITION)
    if definition is None or not getattr(definition, "is_basic_field", False):
        return None
    resolve = field_def.resolve
    if resolve is None or not getattr(resolve, "_is_default", False):
        return None
    leaf = field_def.type
    non_null = isinstance(leaf, GraphQLNonNull)
    if non_null:
        leaf = leaf.of_type
    default_resolver = definition.default_resolver
    attribute = definition.python_name
    if default_resolver is getattr:
        read = operator.attrgetter(attribute)
    else:

        def read(source: Any) -> Any:
            return default_resolver(source, attribute)

    if isinstance(leaf, GraphQLScalarType | GraphQLEnumType) and not node.selection_set:
        return _Plain(read, output_coercion(leaf), non_null, field_def.type, None)
    if node.selection_set and _objects_only(leaf):
        info = _CompletionInfo(node.name.value, parent_type)
        return _Plain(read, None, non_null, field_def.type, info)
    return None


class _Direct:
    """A resolver field called without Strawberry's per-call wrapper (see the module doc)."""

    __slots__ = ("field_def", "field_nodes", "info_name", "names", "resolver", "return_type", "strawberry_field",
                 "takes_self")

    def __init__(self, field_def: Any, field_nodes: list[Any], strawberry_field: Any) -> None:
        resolver = strawberry_field.base_resolver
        self.field_def = field_def
        self.field_nodes = field_nodes
        self.strawberry_field = strawberry_field
        self.resolver = resolver.wrapped_func
        self.return_type = field_def.type
        self.takes_self = resolver.self_parameter is not None
        info = resolver.info_parameter
        self.info_name = info.name if info is not None else None
        self.names = {a.graphql_name or a.python_name: a.python_name for a in resolver.arguments}


def _passthrough_argument(arg_type: Any) -> bool:
    """Arguments whose coerced value is what Strawberry would pass: scalars (not relay's GlobalID),
    enums, and lists of them."""
    while isinstance(arg_type, GraphQLNonNull | GraphQLList):
        arg_type = arg_type.of_type
    if isinstance(arg_type, GraphQLEnumType):
        return True
    return isinstance(arg_type, GraphQLScalarType) and arg_type.name != "GlobalID"


def _direct_field(parent_type: GraphQLObjectType, field_details_list: Any) -> _Direct | None:
    if len(field_details_list) != 1:
        return None
    node = field_details_list[0].node
    if node.directives:
        return None
    field_def = parent_type.fields.get(node.name.value)
    if field_def is None:
        return None
    definition = (field_def.extensions or {}).get(_DEFINITION)
    resolver = getattr(definition, "base_resolver", None)
    if definition is None or resolver is None or definition.extensions or definition.is_subscription:
        return None
    if resolver.root_parameter is not None or resolver.parent_parameter is not None:
        return None
    if not callable(getattr(resolver, "wrapped_func", None)):
        return None
    arguments = resolver.arguments
    if len(arguments) != len(field_def.args):
        return None
    for a in arguments:
        name = a.graphql_name or a.python_name
        if name not in field_def.args or not _passthrough_argument(field_def.args[name].type):
            return None
        if "Maybe" in type(a.type).__name__:
            return None
    return _Direct(field_def, [field_details_list[0].node], definition)


class GatewayExecutionContext(StrawberryGraphQLCoreExecutionContext):
    """graphql-core's executor with the fast paths of the module doc."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        # id(grouped field set) -> (the set, kept alive so its id stays unique; its plan or None)
        self._plans: dict[int, tuple[Any, list[tuple[str, Any, _Plain | _Direct | None]] | None]] = {}
        manager = self.middleware_manager
        self._plain_allowed = manager is None or not getattr(manager, "middlewares", None)
        self._compiled_plans: dict[int, tuple[Any, Any]] = {}
        # Objects completed below the root (the response's objects, for the query cost's `actual`):
        # counted where they are made, instead of walking the finished response again.
        counter = getattr(self.context_value, "completed_objects", None)
        self._completed: list[int] = counter if isinstance(counter, list) else [0]
        # The policy below the root (app/schema/runtime/authorization.py): decided per (type, field) for the
        # caller's roles; what is not allowed outright never takes a fast path, so the two checks
        # in execute_field and collect_and_execute_subfields see every such field and object.
        self._gate = gate_for(self.context_value)

    # --- compiled operations (app/schema/runtime/plans.py) -----------------------------------------

    def execute_collected_root_fields(
        self, root_type: GraphQLObjectType, root_value: Any, grouped_field_set: Any, serially: bool,
        new_defer_usages: Any,
    ) -> Any:
        mode = _compiled_mode(self.context_value)
        if mode != "off" and not serially and not new_defer_usages and self._plain_allowed:
            plan = plan_of(self, root_type, grouped_field_set, eager=mode == "verify")
            if plan is not None:
                return self._run_planned(plan, mode, root_type, root_value, grouped_field_set, new_defer_usages)
        return super().execute_collected_root_fields(root_type, root_value, grouped_field_set, serially,
                                                     new_defer_usages)

    async def _run_planned(
        self, plan: Any, mode: str, root_type: GraphQLObjectType, root_value: Any, grouped_field_set: Any,
        new_defer_usages: Any,
    ) -> Any:
        """The plan's data; on a handover (or, verifying, a difference) the general executor's."""
        counter = self._completed
        start = counter[0]
        try:
            data = await run_plan(self, plan)
        except Handover:
            PLANS.handovers += 1
            counter[0] = start
            return await self._general(root_type, root_value, grouped_field_set, new_defer_usages)
        if mode != "verify":
            return data
        planned_objects = counter[0] - start
        counter[0] = start
        token = VERIFYING.set(True)
        try:
            general = await self._general(root_type, root_value, grouped_field_set, new_defer_usages)
        finally:
            VERIFYING.reset(token)
        errors = self.collected_errors.errors
        found = difference(general, data)
        if found is None and errors:
            found = f"the general executor reported errors: {[e.message for e in errors]}"
        if found is None and counter[0] - start != planned_objects:
            found = f"objects completed: general {counter[0] - start}, plan {planned_objects}"
        if found is not None:
            name = redacted_name(self.operation.name.value if self.operation.name else None)
            log.warning("compiled plan of operation %s differs from the general executor at %s", name,
                        found.split(":", 1)[0])
            MISMATCHES.append((name, found))
            del MISMATCHES[:-100]  # (verify is a diagnostic: the latest hundred are kept)
            return general
        return data

    async def _general(self, root_type: GraphQLObjectType, root_value: Any, grouped_field_set: Any,
                       new_defer_usages: Any) -> Any:
        result = super().execute_collected_root_fields(root_type, root_value, grouped_field_set, False,
                                                       new_defer_usages)
        return await result if self.is_awaitable(result) else result

    # --- the policy below the root --------------------------------------------------------------

    def execute_field(
        self, parent_type: GraphQLObjectType, source: Any, field_details_list: Any, path: Path, position_context: Any,
    ) -> Any:
        name = field_details_list[0].node.name.value
        if self._gate.relation_allowed(parent_type.name, name) is not _ALLOW:
            try:
                self._gate.check_relation(parent_type.name, name, source)
            except GraphQLError as refused:
                field_def = parent_type.fields.get(name)
                if field_def is None:
                    return Undefined
                self.handle_field_error(refused, field_def.type, field_details_list, path)
                return None
        return super().execute_field(parent_type, source, field_details_list, path, position_context)

    def collect_and_execute_subfields(
        self, return_type: GraphQLObjectType, field_details_list: Any, path: Path, result: Any, position_context: Any,
    ) -> Any:
        if self._gate.object_allowed(return_type.name) is not _ALLOW:
            self._gate.check_object(return_type.name, result)  # raises FORBIDDEN, located by the caller
        return super().collect_and_execute_subfields(return_type, field_details_list, path, result, position_context)

    # --- compiled completion of plain objects ---------------------------------------------------

    def _compiled(self, object_type: GraphQLObjectType, field_details_list: Any) -> Any:
        """A function completing an `object_type` value of this selection in one go (or _SLOW), or
        None when the selection is not entirely plain."""
        if any(d.node.directives for d in field_details_list):
            return None
        if self._gate.object_allowed(object_type.name) is not _ALLOW:
            return None
        grouped_field_set = self.collect_subfields(object_type, field_details_list)[0]
        cached = self._compiled_plans.get(id(grouped_field_set))
        if cached is not None and cached[0] is grouped_field_set:
            return cached[1]
        self._compiled_plans[id(grouped_field_set)] = (grouped_field_set, None)  # (recursion guard)
        compiled = self._compile(object_type, grouped_field_set)
        self._compiled_plans[id(grouped_field_set)] = (grouped_field_set, compiled)
        return compiled

    def _compile(self, object_type: GraphQLObjectType, grouped_field_set: Any) -> Any:
        steps: list[tuple[str, int, Any, Any, bool, bool]] = []
        for name, details in grouped_field_set.items():
            if len(details) != 1 or details[0].node.directives:
                return None
            if details[0].node.name.value == "__typename":
                steps.append((name, _CONSTANT, object_type.name, None, False, False))
                continue
            if self._gate.relation_allowed(object_type.name, details[0].node.name.value) is not _ALLOW:
                return None
            plain = _plain_field(object_type, details)
            if plain is not None:
                read, return_type, direct = plain.read, plain.return_type, False
            else:
                found = _direct_field(object_type, details)
                read = self._direct_reader(found, details, object_type, name) if found is not None else None
                if read is None:
                    return None
                return_type, direct = found.return_type, True  # type: ignore[union-attr]
            non_null = isinstance(return_type, GraphQLNonNull)
            t = return_type.of_type if non_null else return_type
            if isinstance(t, GraphQLScalarType | GraphQLEnumType):
                if details[0].node.selection_set:
                    return None
                native = _SAME_OUT.get(t.name) if isinstance(t, GraphQLScalarType) else None
                if native is not None:  # String, ID, Boolean: a value of that class is its own output
                    steps.append((name, _NATIVE_LEAF, read, (native, output_coercion(t)), non_null, direct))
                else:
                    steps.append((name, _LEAF, read, output_coercion(t), non_null, direct))
                continue
            if isinstance(t, GraphQLObjectType):
                sub = self._compiled(t, details)
                if sub is None:
                    return None
                steps.append((name, _OBJECT, read, (sub, t), non_null, direct))
                continue
            if not isinstance(t, GraphQLList):
                return None
            item = t.of_type
            item_non_null = isinstance(item, GraphQLNonNull)
            item = item.of_type if item_non_null else item
            if isinstance(item, GraphQLScalarType | GraphQLEnumType) and not details[0].node.selection_set:
                steps.append((name, _LEAF_LIST, read, (output_coercion(item), item_non_null), non_null, direct))
                continue
            if not isinstance(item, GraphQLObjectType):
                return None
            sub = self._compiled(item, details)
            if sub is None:
                return None
            steps.append((name, _LIST, read, (sub, item, item_non_null), non_null, direct))
        return functools.partial(_complete_compiled, steps, self._completed, [True])

    def _direct_reader(
        self, direct: _Direct, details: Any, parent_type: GraphQLObjectType, response_name: str
    ) -> Any:
        """A synchronous resolver as a function of the source object, for a compiled selection: its
        arguments are coerced once (this request's variables are fixed) and it gets one resolve info
        for the selection (whose path is the field's first: our resolvers never read the path; an
        error makes graphql-core redo the object with its own info). None when it cannot be."""
        if inspect.iscoroutinefunction(direct.resolver) or inspect.isasyncgenfunction(direct.resolver):
            return None
        kwargs: dict[str, Any] = {}
        if direct.names:
            try:
                values = get_argument_values(direct.field_def, details[0].node, self.variable_values,
                                             details[0].fragment_variable_values, self.hide_suggestions)
            except Exception:
                return None
            for name, value in values.items():
                kwargs[direct.names[name]] = value
        if direct.info_name is not None:
            info = self.build_resolve_info(direct.field_def, direct.field_nodes, parent_type,
                                           Path(None, response_name, parent_type.name))
            kwargs[direct.info_name] = Info(_raw_info=info, _field=direct.strawberry_field)
        resolver = direct.resolver
        lists = [k for k, v in kwargs.items() if isinstance(v, list)]
        if lists:  # each call gets its own copy of a list argument, as Strawberry's conversion gives

            def call(*source: Any) -> Any:
                return resolver(*source, **{**kwargs, **{k: list(kwargs[k]) for k in lists}})
        else:
            call = functools.partial(resolver, **kwargs)
        if direct.takes_self:
            return call
        return lambda _source: call()

    def complete_object_value(
        self, return_type: GraphQLObjectType, field_details_list: Any, info: Any, path: Path, result: Any,
        position_context: Any,
    ) -> Any:
        if self._plain_allowed:
            compiled = self._compiled(return_type, field_details_list)
            if compiled is not None and _is_type(return_type, result):
                completed = compiled(result)
                if completed is not _SLOW:
                    return completed
        return super().complete_object_value(return_type, field_details_list, info, path, result, position_context)

    def complete_list_value(
        self, return_type: Any, field_details_list: Any, info: Any, path: Path, result: Any, position_context: Any,
    ) -> Any:
        if self._plain_allowed and isinstance(result, list | tuple):
            item = return_type.of_type
            item_non_null = isinstance(item, GraphQLNonNull)
            item = item.of_type if item_non_null else item
            completed: Any = _SLOW
            if isinstance(item, GraphQLObjectType):
                compiled = self._compiled(item, field_details_list)
                if compiled is not None:
                    start = self._completed[0]
                    completed = _complete_items(result, compiled, item, item_non_null)
                    if completed is _SLOW:
                        self._completed[0] = start  # items done before the one that gave up
            elif isinstance(item, GraphQLScalarType | GraphQLEnumType) and not any(
                d.node.directives for d in field_details_list
            ):
                completed = _coerce_items(result, output_coercion(item), item_non_null)
            if completed is not _SLOW:
                return completed
        return super().complete_list_value(return_type, field_details_list, info, path, result, position_context)

    def _plan(
        self, parent_type: GraphQLObjectType, grouped_field_set: Any
    ) -> list[tuple[str, Any, _Plain | _Direct | None]] | None:
        cached = self._plans.get(id(grouped_field_set))
        if cached is not None and cached[0] is grouped_field_set:
            return cached[1]
        gate = self._gate
        plan: list[tuple[str, Any, _Plain | _Direct | None]] | None = [
            (name, details, (_plain_field(parent_type, details) or _direct_field(parent_type, details))
             if gate.relation_allowed(parent_type.name, details[0].node.name.value) is _ALLOW else None)
            for name, details in grouped_field_set.items()
        ]
        if not any(p is not None for _, _, p in plan):  # type: ignore[union-attr]
            plan = None
        self._plans[id(grouped_field_set)] = (grouped_field_set, plan)
        return plan

    def execute_fields(
        self,
        parent_type: GraphQLObjectType,
        source_value: Any,
        path: Path | None,
        grouped_field_set: Any,
        position_context: Any,
    ) -> Any:
        if path is not None:
            self._completed[0] += 1
        plan = self._plan(parent_type, grouped_field_set) if self._plain_allowed else None
        if plan is None:
            return super().execute_fields(parent_type, source_value, path, grouped_field_set, position_context)

        results: dict[str, Any] = {}
        awaitable_fields: list[str] = []
        is_awaitable = self.is_awaitable
        try:
            for response_name, details, plain in plan:
                if plain.__class__ is _Direct:
                    result = self._execute_direct(plain, details, parent_type, source_value, path, response_name,
                                                  position_context)
                    results[response_name] = result
                    if is_awaitable(result):
                        awaitable_fields.append(response_name)
                    continue
                if plain is not None:
                    if plain.coerce is not None:
                        value = _read_plain(plain, source_value)
                        if value is not _SLOW:
                            results[response_name] = value
                            continue
                    else:
                        result = self._complete_plain_object(plain, details, source_value, path, parent_type,
                                                             response_name, position_context)
                        if result is not _SLOW:
                            results[response_name] = result
                            if is_awaitable(result):
                                awaitable_fields.append(response_name)
                            continue
                result = self.execute_field(
                    parent_type, source_value, details, Path(path, response_name, parent_type.name), position_context
                )
                if result is not Undefined:
                    results[response_name] = result
                    if is_awaitable(result):
                        awaitable_fields.append(response_name)
        except Exception:
            if awaitable_fields:
                self.settle_in_background([results[f] for f in awaitable_fields])
            raise

        if not awaitable_fields:
            return results
        return self._gather_fields(results, awaitable_fields)

    def _execute_direct(
        self, direct: _Direct, details: Any, parent_type: GraphQLObjectType, source: Any, path: Path | None,
        response_name: str, position_context: Any,
    ) -> Any:
        """`execute_field` for a directly called resolver: the same info, completion and errors."""
        field_path = Path(path, response_name, parent_type.name)
        return_type = direct.return_type
        info = self.build_resolve_info(direct.field_def, direct.field_nodes, parent_type, field_path)
        try:
            node = details[0].node
            kwargs: dict[str, Any] = {}
            if direct.names:
                values = get_argument_values(direct.field_def, node, self.variable_values,
                                             details[0].fragment_variable_values, self.hide_suggestions)
                for name, value in values.items():
                    kwargs[direct.names[name]] = list(value) if isinstance(value, list) else value
            if direct.info_name is not None:
                kwargs[direct.info_name] = Info(_raw_info=info, _field=direct.strawberry_field)
            result = direct.resolver(source, **kwargs) if direct.takes_self else direct.resolver(**kwargs)
            if self.is_awaitable(result):
                return self.complete_awaitable_value(return_type, details, info, field_path, result, position_context)
            completed = self.complete_value(return_type, details, info, field_path, result, position_context)
            if self.is_awaitable(completed):
                return self._await_completed(completed, return_type, details, field_path)
        except Exception as raw_error:
            self.handle_field_error(raw_error, return_type, details, field_path)
            return None
        return completed

    def _complete_plain_object(
        self, plain: _Plain, details: Any, source: Any, path: Path | None, parent_type: GraphQLObjectType,
        response_name: str, position_context: Any,
    ) -> Any:
        """A basic object / list-of-objects field: the attribute, completed by graphql-core (with
        its error handling, as `execute_field` would); _SLOW for graphql-core's full path."""
        try:
            value = plain.read(source)
        except Exception:
            return _SLOW
        if value is None or value is Undefined or isinstance(value, Exception) or self.is_awaitable(value):
            return _SLOW
        field_path = Path(path, response_name, parent_type.name)
        try:
            completed = self.complete_value(plain.return_type, details, plain.info, field_path, value, position_context)
        except Exception as raw_error:
            self.handle_field_error(raw_error, plain.return_type, details, field_path)
            return None
        if self.is_awaitable(completed):
            return self._await_completed(completed, plain.return_type, details, field_path)
        return completed

    async def _await_completed(self, completed: Any, return_type: Any, details: Any, path: Path) -> Any:
        try:
            return await completed
        except Exception as raw_error:
            self.handle_field_error(raw_error, return_type, details, path)
            return None

    @staticmethod
    def complete_leaf_value(return_type: Any, result: Any) -> Any:
        """graphql-core's, with the enum output coercion above."""
        coerced = output_coercion(return_type)(result)
        if coerced is Undefined or coerced is None:
            return StrawberryGraphQLCoreExecutionContext.complete_leaf_value(return_type, result)
        return coerced

    def complete_list_item_value(
        self, item: Any, complete_results: list[Any], item_type: Any, field_details_list: Any, info: Any,
        item_path: Path, position_context: Any,
    ) -> bool:
        """An object item (the common case: a page's rows) goes straight to its fields; every other
        item takes graphql-core's path."""
        object_type = item_type.of_type if isinstance(item_type, GraphQLNonNull) else item_type
        if (
            not isinstance(object_type, GraphQLObjectType) or item is None or isinstance(item, Exception)
            or self.is_awaitable(item)
        ):
            return super().complete_list_item_value(
                item, complete_results, item_type, field_details_list, info, item_path, position_context
            )
        if not _is_type(object_type, item):
            return super().complete_list_item_value(
                item, complete_results, item_type, field_details_list, info, item_path, position_context
            )
        try:
            completed = self.collect_and_execute_subfields(
                object_type, field_details_list, item_path, item, position_context
            )
        except Exception as raw_error:
            self.handle_field_error(raw_error, item_type, field_details_list, item_path)
            complete_results.append(None)
            return False
        if self.is_awaitable(completed):
            complete_results.append(self._await_completed(completed, item_type, field_details_list, item_path))
            return True
        complete_results.append(completed)
        return False

    @staticmethod
    async def _gather_fields(results: dict[str, Any], awaitable_fields: list[str]) -> dict[str, Any]:
        from graphql.pyutils import gather_with_cancel

        if len(awaitable_fields) == 1:
            name = awaitable_fields[0]
            results[name] = await results[name]
        else:
            values = await gather_with_cancel(*(results[f] for f in awaitable_fields))
            results.update(zip(awaitable_fields, values, strict=True))
        return results


def _compiled_mode(context: Any) -> str:
    services = getattr(context, "services", None)
    settings = getattr(services, "settings", None)
    return getattr(settings, "compiled_operations", "off")


_SLOW = object()
_CONSTANT, _LEAF, _OBJECT, _LIST, _LEAF_LIST, _NATIVE_LEAF = range(6)


_ORIGINS: dict[GraphQLObjectType, type | None] = {}


def _is_type(object_type: GraphQLObjectType, value: Any) -> bool:
    """The type's `is_type_of`; an instance of exactly the Strawberry class behind the type is one
    at once (what Strawberry's check answers for it; we never use `strawberry.cast`)."""
    try:
        origin = _ORIGINS[object_type]
    except KeyError:
        definition = (object_type.extensions or {}).get(_DEFINITION)
        origin = _ORIGINS[object_type] = getattr(definition, "origin", None)
    if value.__class__ is origin:
        return True
    is_type_of = object_type.is_type_of
    return is_type_of is None or is_type_of(value, None) is True


def _complete_compiled(
    steps: list[tuple[str, int, Any, Any, bool, bool]], completed: list[int], enabled: list[bool], source: Any
) -> Any:
    """One object's completed fields, or _SLOW (then graphql-core completes it from the start)."""
    if not enabled[0]:
        return _SLOW
    start = completed[0]
    out = _compiled_fields(steps, completed, enabled, source)
    if out is _SLOW:
        completed[0] = start  # graphql-core counts what it completes itself
        return _SLOW
    completed[0] += 1
    return out


def _compiled_fields(
    steps: list[tuple[str, int, Any, Any, bool, bool]], completed: list[int], enabled: list[bool], source: Any
) -> Any:
    out: dict[str, Any] = {}
    for name, kind, read, extra, non_null, direct in steps:
        if kind == _CONSTANT:
            out[name] = read
            continue
        try:
            value = read(source)
        except Exception:
            # graphql-core calls it again and reports the error; a resolver's error disables this
            # selection's compiled path for the rest of the request (no second call per object)
            if direct:
                enabled[0] = False
            return _SLOW
        if direct and is_awaitable_value(value):
            # Not prefetched here: graphql-core awaits it, and later objects of this selection go
            # its way from the start instead of calling the resolver twice.
            enabled[0] = False
            if hasattr(value, "close"):
                value.close()
            return _SLOW
        if kind == _NATIVE_LEAF:
            if value.__class__ is extra[0]:
                out[name] = value
                continue
            value = _coerced(extra[1], value, non_null)  # None, a subclass, or what the scalar decides
            if value is _SLOW:
                return _SLOW
            out[name] = value
            continue
        if kind == _LEAF:
            value = _coerced(extra, value, non_null)
            if value is _SLOW:
                return _SLOW
            out[name] = value
            continue
        if value is None:
            if non_null:
                return _SLOW
            out[name] = None
            continue
        if kind == _OBJECT:
            sub, object_type = extra
            if not _is_type(object_type, value):
                return _SLOW
            value = sub(value)
        elif not isinstance(value, list | tuple):
            return _SLOW
        elif kind == _LIST:
            value = _complete_items(value, *extra)
        else:
            value = _coerce_items(value, *extra)
        if value is _SLOW:
            return _SLOW
        out[name] = value
    return out


def _complete_items(items: Any, compiled: Any, object_type: GraphQLObjectType, item_non_null: bool) -> Any:
    out = []
    append = out.append
    for item in items:
        if item is None:
            if item_non_null:
                return _SLOW
            append(None)
            continue
        if not _is_type(object_type, item):
            return _SLOW
        value = compiled(item)
        if value is _SLOW:
            return _SLOW
        append(value)
    return out


def _coerce_items(items: Any, coerce: Any, item_non_null: bool) -> Any:
    out = []
    append = out.append
    for item in items:
        value = _coerced(coerce, item, item_non_null)
        if value is _SLOW:
            return _SLOW
        append(value)
    return out


def _read_plain(plain: _Plain, source: Any) -> Any:
    """A plain leaf's coerced value, or _SLOW when graphql-core must decide (errors, nulls, refusals)."""
    try:
        value = plain.read(source)
    except Exception:
        return _SLOW
    return _coerced(plain.coerce, value, plain.non_null)


_PLAIN_CLASSES: dict[type, bool] = {}


def _plain_class(cls: type) -> bool:
    """Values of this class are never Undefined, an Exception or awaitable: the built-in scalars'
    types, dates and times, UUIDs and enum members (their coercion alone decides)."""
    return cls in (str, int, bool, float, dt.datetime, dt.date, dt.time, uuid.UUID) or issubclass(cls, enum.Enum)


def _coerced(coerce: Any, value: Any, non_null: bool) -> Any:
    """A leaf value as the response shows it, or _SLOW: None in a non-null position, a value
    graphql-core treats specially (Undefined, an Exception, an awaitable), or one the type refuses."""
    if value is None:
        return _SLOW if non_null else None
    plain = _PLAIN_CLASSES.get(value.__class__)
    if plain is None:
        plain = _PLAIN_CLASSES[value.__class__] = _plain_class(value.__class__)
    if not plain and (value is Undefined or isinstance(value, Exception) or is_awaitable_value(value)):
        return _SLOW
    try:
        coerced = coerce(value)
    except Exception:
        return _SLOW
    return _SLOW if coerced is None or coerced is Undefined else coerced
