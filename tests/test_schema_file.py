"""schema.graphql is generated from the code and must be current."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def test_committed_schema_matches_the_code() -> None:
    exported = subprocess.run(
        [sys.executable, "-m", "app.entrypoints.cli.main", "export-schema"], capture_output=True, text=True, check=True, cwd=ROOT
    ).stdout
    committed = (ROOT / "schema.graphql").read_text()
    assert exported == committed, "schema.graphql is stale: run `make schema` and commit it"


def test_schema_keeps_the_contract_names() -> None:
    sdl = (ROOT / "schema.graphql").read_text()
    for name in [
        "node(id: ID!): Node", "viewer: Viewer!", "organisation: Organisation!", "users(", "user(id: ID!): User",
        "activities(", "notifications(", "notificationSettings: NotificationSettings!",
        "createUser(input: CreateUserInput!): CreateUserPayload!", "updateUser(", "setUserAuthenticators(",
        "setUserOrganisationUnit(", "resendActivationEmail(", "generateActivationCode(", "deactivateUser(",
        "reactivateUser(", "deleteUser(", "requestAnonymity(", "approveAnonymityRequest(",
        "updateNotificationSettings(", "markNotificationsRead(", "type UserError", "interface Node",
    ]:
        assert name in sdl, name


def test_the_role_matrix_document_matches_the_policy_table() -> None:
    rendered = subprocess.run(
        [sys.executable, "-m", "app.entrypoints.cli.main", "roles-doc"], capture_output=True, text=True, check=True, cwd=ROOT
    ).stdout
    assert rendered == (ROOT / "docs" / "roles.md").read_text(), "docs/roles.md is stale: run `make schema`"
    assert "| `updateBilling` | UPDATE_BILLING | ✓ | — | — | — |" in rendered
    assert "| `billing` | VIEW_BILLING | ✓ | ✓ | ✓ | — |" in rendered
