"""The role matrix as a document: every root field of the schema × every role, from the one
policy table. `mitid-gateway roles-doc` prints it; docs/roles.md is its output (a test keeps it
current)."""

from __future__ import annotations

from typing import Any

import strawberry

from app.domain.common.policy import POLICY, RELATIONS, THROUGH, TYPES, WRAPPERS, Decision, Reach, decide
from app.domain.common.principal import Role
from app.schema.runtime.base import required_action

ROLE_TITLES = {
    Role.ORGANISATION_ADMINISTRATOR: "Organisation admin",
    Role.USER_ADMINISTRATOR: "User admin",
    Role.RIGHTS_ADMINISTRATOR: "Rights admin",
    Role.USER: "User",
}


# Fields whose one gate admits roles that may use only part of them (the use case decides the rest).
NOTES = {
    "updateUser": "a rights administrator may change `rights` only (UPDATE_USER_RIGHTS); every other field "
                  "needs UPDATE_USER (user administrators) — a request with any other field is FORBIDDEN",
}


def root_fields(schema: strawberry.Schema, type_name: str) -> dict[str, Any]:
    definition = schema.get_type_by_name(type_name)
    if definition is None:
        return {}
    convert = schema.config.name_converter.get_graphql_name
    return {convert(f): f for f in definition.fields}  # type: ignore[union-attr]


def allowed_roles(field: Any) -> tuple[str, frozenset[Role]]:
    action = required_action(field)
    if action == "none":
        return "public", frozenset(Role)
    if action is None:
        return "any signed-in person", frozenset(Role)
    return action.value, POLICY[action]  # type: ignore[union-attr]


def render(schema: strawberry.Schema) -> str:
    roles = list(ROLE_TITLES)
    lines = [
        "# Who may do what",
        "",
        "Generated from `app/domain/common/policy.py` and the schema by `mitid-gateway roles-doc`; do not edit.",
        "Every root field is gated by exactly one policy action (a test fails for an ungated one).",
        "Denied → a GraphQL error with `extensions.code = \"FORBIDDEN\"`; other organisations' ids → not found.",
        "Below the root, the tables at the end (object types, relations) apply to every field on every path.",
        "",
    ]
    for kind in ("Query", "Mutation", "Subscription"):
        fields = root_fields(schema, kind)
        if not fields:
            continue
        lines += [f"## {kind}", "", "| field | action | " + " | ".join(ROLE_TITLES[r] for r in roles) + " |",
                  "|---|---|" + "---|" * len(roles)]
        for name in sorted(fields):
            action, allowed = allowed_roles(fields[name])
            cells = " | ".join("✓" if r in allowed else "—" for r in roles)
            mark = " ¹" if name in NOTES else ""
            lines.append(f"| `{name}` | {action}{mark} | {cells} |")
        notes = [f"¹ `{name}`: {NOTES[name]}." for name in sorted(fields) if name in NOTES]
        lines += ["", *notes] if notes else []
        lines.append("")
    return "\n".join(lines + _below_the_root(roles))


BELOW_THE_ROOT = """## Below the root: object types and relations

The executor checks two things for every field of every response, whichever path led there
(`viewer`, `node(id:)`, fragments on interfaces and unions, connections, nested relations, mutation
payloads, the WebSocket subscription): that the caller may see an object of its type, and that they
may follow the relation from the object it hangs on. "own" means: only on the caller's own objects
(their profile, their certificates, history entries they made or that concern them, their anonymity
requests, the groups they belong to, reached through their profile).

What a refusal gives:
- a refused relation or object is `null` with a `FORBIDDEN` error at its path, and the rest of the
  data is answered (relations that can be refused on an object the caller may see are nullable, so a
  refusal costs only that field);
- references to one person from another object (`actor`, `targetUser`, `user`, `orderedBy`,
  `newUser`, `ExternalMembership.user`) give `null` without an error for a person the caller may not
  see, as a reference to a missing person would;
- lists that are scoped rather than refused: every list holds only the caller's organisation's
  objects (and partner users where the domain shares them: group members, external memberships);
- an anonymous user shows only their UUID to non-administrators wherever they appear (group member
  names, history entries name them by UUID when they are written, external users always).

Wrappers (connections, edges, payloads) pass on what their parent allowed; value types marked
"through" are visible to whoever reached their parent. A test fails for an object type or relation
without an entry (tests/test_policy_paths.py), and walks every path up to four relation hops for
every role, another organisation's administrator and no token.
"""


def _cell(reach: Reach, role: Role) -> str:
    if reach is THROUGH or reach.action is None:
        return "through"
    decision = decide(reach, frozenset({role}))
    return {Decision.ALLOW: "✓", Decision.OWN: "own", Decision.DENY: "—"}[decision]


def _below_the_root(roles: list[Role]) -> list[str]:
    head = "| {} | rule | " + " | ".join(ROLE_TITLES[r] for r in roles) + " |"
    rule = "|---|---|" + "---|" * len(roles)
    lines = ["", BELOW_THE_ROOT, "### Object types", "", head.format("type"), rule]
    for name in sorted(n for n in TYPES if n not in WRAPPERS):
        reach = TYPES[name]
        action = reach.action.value if reach.action else "through"
        lines.append(f"| `{name}` | {action}{' + own' if reach.own else ''} | "
                     + " | ".join(_cell(reach, r) for r in roles) + " |")
    lines += ["", "Wrappers (pass on their parent's rule): " + ", ".join(f"`{n}`" for n in sorted(WRAPPERS)) + ".",
              "", "### Relations", "", head.format("relation"), rule]
    for key in sorted(RELATIONS):
        reach = RELATIONS[key]
        action = reach.action.value if reach.action else "through"
        lines.append(f"| `{key}` | {action}{' + own' if reach.own else ''} | "
                     + " | ".join(_cell(reach, r) for r in roles) + " |")
    lines.append("")
    return lines
