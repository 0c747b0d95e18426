"""The GraphQL schema, assembled from every area of app/schema (app/schema/runtime/area.py): each
declares its root fields and interface-only types in one `AREA`; nothing here names an area."""

from __future__ import annotations

import sys

import strawberry
from strawberry.tools import merge_types

from app.schema.runtime.area import find_areas
from app.schema.runtime.execution import GatewayExecutionContext
from app.schema.runtime.extensions import ErrorCodes, ParseCache
from app.schema.runtime.limits import QueryLimits
from app.schema.runtime.operation_log import GatewaySchema, OperationLog
from app.schema.runtime.uploads import SCALAR_OVERRIDES


def build_schema() -> strawberry.Schema:
    areas = find_areas(sys.modules[__name__]).values()

    def merged(name: str, parts: list[type]) -> type | None:
        return merge_types(name, tuple(parts)) if parts else None

    return GatewaySchema(
        query=merged("Query", [q for a in areas for q in a.queries]),
        mutation=merged("Mutation", [m for a in areas for m in a.mutations]),
        subscription=merged("Subscription", [s for a in areas for s in a.subscriptions]),
        types=[t for a in areas for t in a.types],
        extensions=[OperationLog, ErrorCodes, lambda: ParseCache(maxsize=256), QueryLimits],
        execution_context_class=GatewayExecutionContext,
        scalar_overrides=SCALAR_OVERRIDES,
    )


schema = build_schema()
