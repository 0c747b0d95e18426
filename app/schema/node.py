"""`node(id:)`: any object by global id, under the same rules as its own query field.

Each type implementing `Node` says how one is fetched, next to itself, in its area module:

    @classmethod
    async def resolve_node(cls, info: Info, id: str) -> Self | None

applying that type's own rules (and returning None for an id it cannot read). `node` finds the type
by the name in the id among the schema's types; an unknown name, a type that is no Node or one
without `resolve_node` is null. The executor then gates the object by the policy tables as on every
other path (app/schema/runtime/authorization.py): node's answers are checked twice, on purpose.
tests/test_node_every_type.py fetches an object of every Node type of the schema this way.
"""

from __future__ import annotations

from typing import Any

import strawberry
from strawberry.types import Info
from strawberry.types.base import StrawberryObjectDefinition

from app.schema.runtime.area import Area
from app.schema.runtime.base import Node, from_global_id, requires


def node_type(info: Info, type_name: str) -> Any | None:
    """The class of the schema's object type `type_name` if it implements Node and can be fetched."""
    definition = info.schema.get_type_by_name(type_name)
    if not isinstance(definition, StrawberryObjectDefinition) or definition.is_interface:
        return None
    origin = definition.origin
    if not (isinstance(origin, type) and issubclass(origin, Node)):
        return None
    return origin if callable(getattr(origin, "resolve_node", None)) else None


@strawberry.type
class NodeQueries:
    @strawberry.field(permission_classes=requires(None))
    async def node(self, info: Info, id: strawberry.ID) -> Node | None:
        parsed = from_global_id(id)
        cls = node_type(info, parsed[0]) if parsed is not None else None
        if cls is None:
            return None
        found: Node | None = await cls.resolve_node(info, id)
        return found


AREA = Area(queries=(NodeQueries,))
