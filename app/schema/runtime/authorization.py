"""The policy below the root fields, applied by the executor to every field on every path.

`app/domain/common/policy.py` says who may see each object type (TYPES) and follow each relation
(RELATIONS). The executor (app/schema/runtime/execution.py) asks a request's `Gate` before it resolves a
relation (the source object decides "own") and before it completes an object (the object decides
"own"): `viewer`, `node(id:)`, fragments on interfaces and unions, connections, nested relations and
mutation payloads all pass the same two checks, because they are checks on (type, field) pairs of
the executed schema, not on resolvers.

For a request the decisions depend only on the caller's roles, so they are worked out once per
(roles, name) and a selection allowed for the roles costs nothing per object; only "own" decisions
(a plain user on their own profile, certificates, history) are checked per object. A refused field
is a FORBIDDEN error at its path, with the usual null propagation (docs/roles.md).
"""

from __future__ import annotations

import functools
import uuid
from collections.abc import Callable
from typing import Any

from graphql import GraphQLError

from app.domain.common.policy import RELATIONS, TYPES, WRAPPERS, Decision, decide
from app.domain.common.principal import Role

ROOT_TYPES = frozenset({"Query", "Mutation", "Subscription"})
_NO_ROLES: frozenset[Role] = frozenset()


# How an object shows it is the caller's own, per type with an `own` rule (a test holds the two
# tables together). A group is "own" when it was reached as one of the caller's groups.
OWNERS: dict[str, Callable[[Any, uuid.UUID], bool]] = {
    "User": lambda node, me: node._id == me,
    "Certificate": lambda node, me: node.__dict__.get("_holder", None) == me or node._user_id == me,
    "Activity": lambda node, me: me in (node.actor_id, node.target_user_id),
    "AnonymityRequest": lambda node, me: node._user_id == me,
    "UserGroup": lambda node, me: node.__dict__.get("_member_of") == me,
}


@functools.lru_cache(maxsize=4096)
def type_decision(roles: frozenset[Role], type_name: str) -> Decision:
    """Introspection's own types (`__Schema`, `__Type`, ...) are open: introspection has its own
    switch (GRAPHQL_INTROSPECTION). Any other type without an entry is refused."""
    if type_name in ROOT_TYPES or type_name.startswith("__"):
        return Decision.ALLOW
    reach = TYPES.get(type_name)
    return Decision.DENY if reach is None else decide(reach, roles)


@functools.lru_cache(maxsize=4096)
def relation_decision(roles: frozenset[Role], type_name: str, field_name: str) -> Decision:
    """Root fields are gated by their permission class; wrappers pass on their parent's decision;
    introspection fields are open."""
    if type_name in ROOT_TYPES or type_name in WRAPPERS or field_name.startswith("__"):
        return Decision.ALLOW
    reach = RELATIONS.get(f"{type_name}.{field_name}")
    return Decision.ALLOW if reach is None else decide(reach, roles)


def gate_for(context: Any) -> Gate | OpenGate:
    if not hasattr(context, "principal"):
        return OpenGate()
    return Gate(context)


def denied(what: str) -> GraphQLError:
    return GraphQLError(f"Your roles do not allow reading {what}", extensions={"code": "FORBIDDEN"})


class OpenGate:
    """For an execution whose context is not the gateway's (no `principal` at all): the executor's
    own tests run other schemas through it. The gateway's Context always has `principal`."""

    def object_allowed(self, type_name: str) -> Decision:
        return Decision.ALLOW

    def relation_allowed(self, type_name: str, field_name: str) -> Decision:
        return Decision.ALLOW


class Gate:
    """One request's caller against the two tables."""

    __slots__ = ("_context",)

    def __init__(self, context: Any) -> None:
        # The context's principal, read when a check runs: its roles are narrowed to the ones the
        # gateway holds once the root field's permission has resolved the actor (before any nested
        # field runs).
        self._context = context

    @property
    def roles(self) -> frozenset[Role]:
        principal = self._context.principal
        return principal.roles if principal is not None else _NO_ROLES

    @property
    def me(self) -> Any:
        principal = self._context.principal
        return principal.user_id if principal is not None else None

    def object_allowed(self, type_name: str) -> Decision:
        return type_decision(self.roles, type_name)

    def relation_allowed(self, type_name: str, field_name: str) -> Decision:
        return relation_decision(self.roles, type_name, field_name)

    def owns(self, type_name: str, node: Any) -> bool:
        owner = OWNERS.get(type_name)
        if owner is None or self.me is None:
            return False
        try:
            return bool(owner(node, self.me))
        except AttributeError:  # not one of our nodes: never "own"
            return False

    def _permits(self, decision: Decision, type_name: str, node: Any) -> bool:
        return decision is Decision.ALLOW or (decision is Decision.OWN and self.owns(type_name, node))

    def check_object(self, type_name: str, node: Any) -> None:
        if not self._permits(type_decision(self.roles, type_name), type_name, node):
            raise denied(type_name)

    def check_relation(self, type_name: str, field_name: str, source: Any) -> None:
        if not self._permits(relation_decision(self.roles, type_name, field_name), type_name, source):
            raise denied(f"{type_name}.{field_name}")
