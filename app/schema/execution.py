"""The executor: graphql-core's, with a fast path for plain leaf fields.

graphql-core spends most of a dashboard request on per-field bookkeeping: for every scalar of every
row it builds a `Path`, a `GraphQLResolveInfo` (Strawberry's subclass), calls Strawberry's resolver
wrapper, which calls `getattr`, then walks `complete_value` to reach the scalar's `coerce_output_value`.
For a field that Strawberry itself calls *basic* (no resolver, no permission classes, no field
extensions: the value is an attribute of the object) and whose type is a scalar or an enum, none of
that can change the answer. This executor resolves such fields in one step (attribute, then the
type's own output coercion) and hands every other field - resolvers, arguments, objects, lists,
errors, nulls in non-null positions - to graphql-core unchanged.

Basic fields whose value is an object or a list of objects (a connection's `edges`, an edge's
`node`) are read the same way and completed by graphql-core's own `complete_value`, without the
resolver wrapper and resolve-info they do not use; list items that are objects skip the two
generic `complete_value` layers on their way to the object's fields.

The plan (which fields of a selection are plain) is made once per selection set per request;
graphql-core memoises the grouped field set of a list's items, so a page of 500 users is planned
once. Anything unusual about a value (None in a non-null field, an Exception, a value the scalar
refuses) goes through graphql-core's own path, so errors keep their exact message, path and
null-propagation.
"""

from __future__ import annotations

from typing import Any

from graphql import GraphQLEnumType, GraphQLList, GraphQLNonNull, GraphQLObjectType, GraphQLScalarType
from graphql.pyutils import Path, Undefined
from strawberry.schema.schema import StrawberryGraphQLCoreExecutionContext

_DEFINITION = "strawberry-definition"


class _Plain:
    """A plain field of one selection: how to read it, and how to coerce it when it is a leaf
    (`coerce` None: an object or a list of objects, completed by graphql-core)."""

    __slots__ = ("coerce", "info", "name", "non_null", "read", "return_type")

    def __init__(self, name: str, read: Any, coerce: Any, non_null: bool, return_type: Any, info: Any) -> None:
        self.name = name
        self.read = read
        self.coerce = coerce
        self.non_null = non_null
        self.return_type = return_type
        self.info = info


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

    def read(source: Any) -> Any:
        return default_resolver(source, attribute)

    if isinstance(leaf, GraphQLScalarType | GraphQLEnumType) and not node.selection_set:
        return _Plain(attribute, read, leaf.coerce_output_value, non_null, field_def.type, None)
    if node.selection_set and _objects_only(leaf):
        info = _CompletionInfo(node.name.value, parent_type)
        return _Plain(attribute, read, None, non_null, field_def.type, info)
    return None


class GatewayExecutionContext(StrawberryGraphQLCoreExecutionContext):
    """graphql-core's executor; plain leaf fields are read and coerced without per-field machinery."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        # id(grouped field set) -> (the set, kept alive so its id stays unique; its plan or None)
        self._plans: dict[int, tuple[Any, list[tuple[str, Any, _Plain | None]] | None]] = {}
        manager = self.middleware_manager
        self._plain_allowed = manager is None or not getattr(manager, "middlewares", None)

    def _plan(self, parent_type: GraphQLObjectType, grouped_field_set: Any) -> list[tuple[str, Any, _Plain | None]] | None:
        cached = self._plans.get(id(grouped_field_set))
        if cached is not None and cached[0] is grouped_field_set:
            return cached[1]
        plan: list[tuple[str, Any, _Plain | None]] | None = [
            (name, details, _plain_field(parent_type, details)) for name, details in grouped_field_set.items()
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
        plan = self._plan(parent_type, grouped_field_set) if self._plain_allowed else None
        if plan is None:
            return super().execute_fields(parent_type, source_value, path, grouped_field_set, position_context)

        results: dict[str, Any] = {}
        awaitable_fields: list[str] = []
        is_awaitable = self.is_awaitable
        try:
            for response_name, details, plain in plan:
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
        is_type_of = object_type.is_type_of
        if is_type_of is not None:
            matches = is_type_of(item, info)
            if matches is not True:
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


_SLOW = object()


def _read_plain(plain: _Plain, source: Any) -> Any:
    """The coerced value, or _SLOW when graphql-core must decide (errors, nulls, refusals)."""
    try:
        value = plain.read(source)
    except Exception:
        return _SLOW
    if value is None:
        return _SLOW if plain.non_null else None
    if value is Undefined or isinstance(value, Exception):
        return _SLOW
    try:
        coerced = plain.coerce(value)
    except Exception:
        return _SLOW
    if coerced is None or coerced is Undefined:
        return _SLOW
    return coerced
