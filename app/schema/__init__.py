"""The GraphQL schema, assembled from one module per area."""

from __future__ import annotations

import strawberry
from strawberry.tools import merge_types

from app.schema.activity import ActivityNode, ActivityQueries
from app.schema.bulk import BulkJobNode, BulkMutations, BulkQueries
from app.schema.extensions import ErrorCodes
from app.schema.node import NodeQueries
from app.schema.notifications import NotificationMutations, NotificationNode, NotificationQueries
from app.schema.organisation import OrganisationQueries
from app.schema.user_groups import ExternalUserNode, UserGroupMutations, UserGroupNode, UserGroupQueries
from app.schema.users.mutations import UserMutations
from app.schema.users.queries import AnonymityRequestNode, UserQueries
from app.schema.users.types import User

Query = merge_types(
    "Query", (NodeQueries, OrganisationQueries, UserQueries, ActivityQueries, NotificationQueries, BulkQueries,
              UserGroupQueries)
)
Mutation = merge_types("Mutation", (UserMutations, BulkMutations, UserGroupMutations, NotificationMutations))


def build_schema() -> strawberry.Schema:
    return strawberry.Schema(
        query=Query,
        mutation=Mutation,
        types=[User, ActivityNode, NotificationNode, AnonymityRequestNode, BulkJobNode, UserGroupNode, ExternalUserNode],
        extensions=[ErrorCodes],
    )


schema = build_schema()
