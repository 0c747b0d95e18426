"""The role matrix as a document: every root field of the schema × every role, from the one
policy table. `mitid-gateway roles-doc` prints it; docs/roles.md is its output (a test keeps it
current)."""

from __future__ import annotations

from typing import Any

import strawberry

from app.domain.policy import POLICY
from app.domain.principal import Role
from app.schema.base import required_action

ROLE_TITLES = {
    Role.ORGANISATION_ADMINISTRATOR: "Organisation admin",
    Role.USER_ADMINISTRATOR: "User admin",
    Role.RIGHTS_ADMINISTRATOR: "Rights admin",
    Role.USER: "User",
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
        "Generated from `app/domain/policy.py` and the schema by `mitid-gateway roles-doc`; do not edit.",
        "Every root field is gated by exactly one policy action (a test fails for an ungated one).",
        "Denied → a GraphQL error with `extensions.code = \"FORBIDDEN\"`; other organisations' ids → not found.",
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
            lines.append(f"| `{name}` | {action} | {cells} |")
        lines.append("")
    return "\n".join(lines)
