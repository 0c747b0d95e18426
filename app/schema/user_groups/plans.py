"""Compiled forms of the user groups area's fields (app/schema/runtime/plans.py)."""

from __future__ import annotations

from app.schema.runtime.plans import by_resolver, resolver_of
from app.schema.user_groups.queries import UserGroupQueries
from app.schema.user_groups.types import UserGroupConnection

by_resolver("Query", "userGroups", resolver_of(UserGroupQueries, "user_groups"))
by_resolver("UserGroupConnection", "totalCount", resolver_of(UserGroupConnection, "total_count"))
