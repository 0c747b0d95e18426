"""The GraphQL schema, assembled from one module per area."""

from __future__ import annotations

import strawberry
from strawberry.tools import merge_types

from app.schema.activity import ActivityNode, ActivityQueries
from app.schema.billing import BillingMutations, BillingQueries
from app.schema.bulk import BulkJobNode, BulkMutations, BulkQueries
from app.schema.certificates.mutations import CertificateMutations
from app.schema.certificates.queries import CertificateQueries
from app.schema.certificates.types import CertificateNode, CertificateProfileNode
from app.schema.node import NodeQueries
from app.schema.notifications import (
    NotificationMutations,
    NotificationNode,
    NotificationQueries,
    NotificationSubscriptions,
)
from app.schema.organisation import OrganisationQueries
from app.schema.powers_of_attorney import (
    PowerOfAttorneyMutations,
    PowerOfAttorneyNode,
    PowerOfAttorneyQueries,
)
from app.schema.runtime.execution import GatewayExecutionContext
from app.schema.runtime.extensions import ErrorCodes, ParseCache
from app.schema.runtime.limits import QueryLimits
from app.schema.runtime.operation_log import GatewaySchema, OperationLog
from app.schema.runtime.uploads import SCALAR_OVERRIDES
from app.schema.settings import SettingsMutations, SettingsQueries
from app.schema.user_groups import ExternalUserNode, UserGroupMutations, UserGroupNode, UserGroupQueries
from app.schema.users.mutations import UserMutations
from app.schema.users.queries import AnonymityRequestNode, UserQueries
from app.schema.users.types import User

Query = merge_types(
    "Query", (NodeQueries, OrganisationQueries, UserQueries, ActivityQueries, NotificationQueries, BulkQueries,
              UserGroupQueries, SettingsQueries, BillingQueries, PowerOfAttorneyQueries, CertificateQueries)
)
Mutation = merge_types(
    "Mutation", (UserMutations, BulkMutations, UserGroupMutations, SettingsMutations, BillingMutations,
                 PowerOfAttorneyMutations, CertificateMutations, NotificationMutations)
)

Subscription = merge_types("Subscription", (NotificationSubscriptions,))


def build_schema() -> strawberry.Schema:
    return GatewaySchema(
        query=Query,
        mutation=Mutation,
        subscription=Subscription,
        types=[User, ActivityNode, NotificationNode, AnonymityRequestNode, BulkJobNode, UserGroupNode, ExternalUserNode,
               PowerOfAttorneyNode, CertificateNode, CertificateProfileNode],
        extensions=[OperationLog, ErrorCodes, lambda: ParseCache(maxsize=256), QueryLimits],
        execution_context_class=GatewayExecutionContext,
        scalar_overrides=SCALAR_OVERRIDES,
    )


schema = build_schema()
