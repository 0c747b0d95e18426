"""Names are one line of text: a line break, tab or escape in a name (which lands in mail subjects,
CSV cells and terminals) is refused with INVALID_CHARACTERS at its field; Danish letters are names."""

from __future__ import annotations

from typing import Any

import pytest

from app.domain.common.principal import Role
from tests.conftest import Env, OrgFixture, token_for

HOSTILE = ["Løn\nBcc: evil@example.com", "Løn\rBcc: x@example.com", "X\x1b]0;pwned\x07", "Tab\tbed", "Linje\u2028skift"]

CREATE_USER = """mutation($f: String!) { createUser(input: {firstName: $f, lastName: "Ærø",
  email: "aeroe@example.dk", dateOfBirth: "1990-01-01"}) { user { firstName } userErrors { field code } } }"""
CREATE_GROUP = """mutation($n: String!) { createUserGroup(input: {name: $n}) {
  group { name } userErrors { field code } } }"""
ORDER_ORG = """mutation($n: String!) { orderOrganisationCertificate(input: {name: $n, email: "system@example.dk",
  contactName: "Kåre", contactEmail: "kaare@example.dk"}) { certificate { name } userErrors { field code } } }"""
CREATE_POA = """mutation($n: String!, $cvr: String!) { createPowerOfAttorney(input: {receivingCvr: $cvr, name: $n,
  rights: ["SKAT.MOMS"]}) { powerOfAttorney { name } userErrors { field code } } }"""


async def _payload(env: Env, org: OrgFixture, role: Role, query: str, variables: dict[str, Any], field: str) -> Any:
    body = await env.gql(query, variables, token=token_for(env, org, role))
    assert "errors" not in body, body
    return body["data"][field]


@pytest.mark.parametrize("name", HOSTILE)
async def test_a_name_with_a_line_break_or_control_character_is_refused_everywhere(
    env: Env, org: OrgFixture, name: str
) -> None:
    from tests.factories import make_org

    partner = await make_org(env.services, name="Partner")
    cases = [
        (Role.USER_ADMINISTRATOR, CREATE_USER, {"f": name}, "createUser", ["firstName"]),
        (Role.ORGANISATION_ADMINISTRATOR, CREATE_GROUP, {"n": name}, "createUserGroup", ["name"]),
        (Role.USER_ADMINISTRATOR, ORDER_ORG, {"n": name}, "orderOrganisationCertificate", ["name"]),
        (Role.ORGANISATION_ADMINISTRATOR, CREATE_POA, {"n": name, "cvr": partner.cvr}, "createPowerOfAttorney",
         ["name"]),
    ]
    for role, query, variables, field, path in cases:
        payload = await _payload(env, org, role, query, variables, field)
        assert {"field": path, "code": "INVALID_CHARACTERS"} in payload["userErrors"], (field, payload)


async def test_danish_names_with_inner_spaces_and_punctuation_are_accepted(env: Env, org: OrgFixture) -> None:
    created = await _payload(env, org, Role.USER_ADMINISTRATOR, CREATE_USER, {"f": "Åse-Øllgård"}, "createUser")
    assert created["userErrors"] == [] and created["user"]["firstName"] == "Åse-Øllgård"
    group = await _payload(env, org, Role.ORGANISATION_ADMINISTRATOR, CREATE_GROUP, {"n": "Løn & Regnskab (Århus)"},
                           "createUserGroup")
    assert group["userErrors"] == [] and group["group"]["name"] == "Løn & Regnskab (Århus)"
