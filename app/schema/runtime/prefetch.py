"""Prefetching a page: the relations a page of objects will ask for, started together.

An area declares, next to its type, which relations of a parent type a page can prefetch and with
which loader (`prefetched("User", "rights", RIGHTS)`); another area can add a relation to a type it
does not own the same way (certificates add `User.certificates`). A page's resolver then calls
`prefetch_page(info, "User", ids)`: for each selected field with a declaration, the same loader and
keys the field's resolver will ask for, so the statements are the ones the resolvers would have
caused (one per relation and page), and the resolvers find their values ready and return
synchronously."""

from __future__ import annotations

import asyncio
from collections import defaultdict
from collections.abc import Callable, Hashable, Sequence
from dataclasses import dataclass
from typing import Any

from graphql import FieldNode
from graphql.execution.values import VariableValues, get_argument_values
from strawberry.types import Info

from app.domain.common.policy import Decision
from app.schema.runtime.authorization import relation_decision
from app.schema.runtime.base import field_nodes
from app.schema.runtime.loaders import LoaderSpec

# (info, the field's node, its coerced arguments) -> the key's shape after the parent's id, or None
# when the field's own resolver must decide (it raises the typed error for a bad argument).
Shape = Callable[[Info, FieldNode, dict[str, Any]], tuple[Hashable, ...] | None]


@dataclass(frozen=True, slots=True)
class Prefetch:
    loader: LoaderSpec
    shape: Shape | None = None


_DECLARED: dict[str, dict[str, Prefetch]] = defaultdict(dict)


def prefetched(type_name: str, field: str, loader: LoaderSpec, shape: Shape | None = None) -> None:
    """Declare that a page of `type_name` can prefetch `field` through `loader` (keys: the parent's
    id, or (id, *shape(...)))."""
    _DECLARED[type_name][field] = Prefetch(loader, shape)


def declared(type_name: str) -> dict[str, Prefetch]:
    return dict(_DECLARED.get(type_name, {}))


def selected_node_fields(info: Info, path: Sequence[str] = ("edges", "node")) -> list[FieldNode]:
    """The field nodes selected at `path` below this field (fragments included)."""
    raw = info._raw_info
    out: list[FieldNode] = []

    def walk(selection_set: Any, rest: Sequence[str]) -> None:
        for f in field_nodes(selection_set, raw.fragments):
            if not rest:
                out.append(f)
            elif f.name.value == rest[0]:
                walk(f.selection_set, rest[1:])

    for node in raw.field_nodes:
        walk(node.selection_set, path)
    return out


async def prefetch_page(info: Info, type_name: str, ids: Sequence[Any], path: Sequence[str] = ("edges", "node")) -> None:
    """Start the declared loads of the relations selected on a page of `type_name` objects. Only
    relations the caller's roles may follow outright are prefetched (app/domain/common/policy.py
    RELATIONS): the executor refuses the others, or lets a person's own through, whose resolver
    then loads it alone. A failed load is left in the loader for the field that needs it to report;
    anything this cannot predict is simply loaded later."""
    ctx = info.context
    table = _DECLARED.get(type_name)
    if not ids or not table or ctx.principal is None:
        return
    roles = ctx.principal.roles
    loaders = ctx.loaders
    graphql_type = info._raw_info.schema.type_map[type_name]
    variables = info._raw_info.variable_values  # the coerced values (graphql-core's VariableValues.coerced)
    if not isinstance(variables, VariableValues):
        variables = VariableValues({}, variables or {})
    loads: list[Any] = []
    for f in selected_node_fields(info, path):
        name = f.name.value
        declaration = table.get(name)
        if declaration is None or relation_decision(roles, type_name, name) is not Decision.ALLOW:
            continue  # not batched, refused, or only on the caller's own object: the executor decides
        loader = loaders[declaration.loader]
        if declaration.shape is None:
            loads.append(loader.load_many(ids))
            continue
        try:
            field_def = graphql_type.fields[name]
            arguments = get_argument_values(field_def, f, variables) if field_def.args else {}
            shape = declaration.shape(info, f, arguments)
        except Exception:  # noqa: BLE001 - the resolver raises the typed error itself
            continue
        if shape is not None:
            loads.append(loader.load_many([(i, *shape) for i in ids]))
    if loads:
        await asyncio.gather(*loads, return_exceptions=True)
