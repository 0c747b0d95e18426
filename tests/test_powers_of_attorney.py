"""Business powers of attorney: given and revoked by organisation administrators, seen by both the
granting and the receiving organisation."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest

from app.domain.common.principal import Role
from app.persistence.tables.powers_of_attorney import powers_of_attorney
from tests.conftest import Env, token_for
from tests.factories import OrgFixture, fresh_cvr

CREATE = """
mutation($input: CreatePowerOfAttorneyInput!) {
  createPowerOfAttorney(input: $input) {
    powerOfAttorney { id name status grantedBy { cvr name } grantedTo { cvr name } rights { code } validFrom validUntil pNumber }
    userErrors { field code message }
  }
}
"""
REVOKE = """
mutation($id: ID!) { revokePowerOfAttorney(input: {powerOfAttorneyId: $id}) { powerOfAttorney { status revokedAt } userErrors { field code } } }
"""
LIST = """
query($d: PowerOfAttorneyDirection!) { powersOfAttorney(direction: $d) { totalCount edges { node {
  id name status grantedBy { cvr name } grantedTo { cvr } rights { code } validUntil } } } }
"""


def ok(body: dict[str, Any]) -> dict[str, Any]:
    assert "errors" not in body, body
    return body["data"]


def give(org: OrgFixture, receiver: OrgFixture, **extra: Any) -> dict[str, Any]:
    return {"input": {"receivingCvr": receiver.cvr, "name": "Momsrefusion", "rights": ["SKAT.REFUSION"], **extra}}


async def test_a_power_of_attorney_is_seen_by_the_giver_and_the_receiver_and_revoked_for_good(
    env: Env, org: OrgFixture, other_org: OrgFixture
) -> None:
    oa = token_for(env, org, Role.ORGANISATION_ADMINISTRATOR)
    until = (dt.date.today() + dt.timedelta(days=365)).isoformat()
    created = ok(await env.gql(CREATE, give(org, other_org, validUntil=until, pNumber=org.p_numbers[0]), token=oa))
    poa = created["createPowerOfAttorney"]
    assert poa["userErrors"] == []
    assert poa["powerOfAttorney"]["status"] == "ACTIVE"
    assert poa["powerOfAttorney"]["grantedTo"] == {"cvr": other_org.cvr, "name": other_org.name}
    granted = ok(await env.gql(LIST, {"d": "GRANTED"}, token=oa))["powersOfAttorney"]
    assert [e["node"]["id"] for e in granted["edges"]] == [poa["powerOfAttorney"]["id"]]
    receiver = token_for(env, other_org, Role.USER_ADMINISTRATOR)
    received = ok(await env.gql(LIST, {"d": "RECEIVED"}, token=receiver))["powersOfAttorney"]
    assert received["totalCount"] == 1
    seen = received["edges"][0]["node"]
    assert seen["grantedBy"] == {"cvr": org.cvr, "name": org.name}
    assert seen["rights"] == [{"code": "SKAT.REFUSION"}] and seen["validUntil"] == until
    assert ok(await env.gql(LIST, {"d": "GRANTED"}, token=receiver))["powersOfAttorney"]["totalCount"] == 0
    # The receiver can neither revoke it nor see it as its own.
    receiver_oa = token_for(env, other_org, Role.ORGANISATION_ADMINISTRATOR)
    refused = ok(await env.gql(REVOKE, {"id": seen["id"]}, token=receiver_oa))["revokePowerOfAttorney"]
    assert [e["code"] for e in refused["userErrors"]] == ["NOT_FOUND"]
    revoked = ok(await env.gql(REVOKE, {"id": seen["id"]}, token=oa))["revokePowerOfAttorney"]
    assert revoked["userErrors"] == [] and revoked["powerOfAttorney"]["status"] == "REVOKED"
    again = ok(await env.gql(REVOKE, {"id": seen["id"]}, token=oa))["revokePowerOfAttorney"]
    assert [e["code"] for e in again["userErrors"]] == ["ALREADY_REVOKED"]
    assert ok(await env.gql(LIST, {"d": "RECEIVED"}, token=receiver))["powersOfAttorney"]["edges"][0]["node"]["status"] == "REVOKED"


async def test_status_follows_the_validity_period(env: Env, org: OrgFixture, other_org: OrgFixture) -> None:
    oa = token_for(env, org, Role.ORGANISATION_ADMINISTRATOR)
    later = (dt.date.today() + dt.timedelta(days=10)).isoformat()
    scheduled = ok(await env.gql(CREATE, give(org, other_org, validFrom=later), token=oa))["createPowerOfAttorney"]
    assert scheduled["powerOfAttorney"]["status"] == "SCHEDULED"
    # An expired one can only exist from the past: make one and move its end back in the database.
    active = ok(await env.gql(CREATE, give(org, other_org, name="Gammel"), token=oa))["createPowerOfAttorney"]
    from sqlalchemy import update

    async with env.engine.begin() as conn:
        await conn.execute(update(powers_of_attorney).where(powers_of_attorney.c.name == "Gammel",
                                                            powers_of_attorney.c.granting_org_id == org.org_id)
                           .values(valid_until=dt.date.today() - dt.timedelta(days=1)))
    statuses = {e["node"]["name"]: e["node"]["status"]
                for e in ok(await env.gql(LIST, {"d": "GRANTED"}, token=oa))["powersOfAttorney"]["edges"]}
    assert statuses == {"Momsrefusion": "SCHEDULED", "Gammel": "EXPIRED"}
    assert active["userErrors"] == []


async def test_bad_powers_of_attorney_are_refused_field_by_field(env: Env, org: OrgFixture, other_org: OrgFixture) -> None:
    oa = token_for(env, org, Role.ORGANISATION_ADMINISTRATOR)
    before = await env.count_rows(powers_of_attorney)
    cases = [
        ({"receivingCvr": "12345678"}, [("receivingCvr", "INVALID_CVR")]),
        ({"receivingCvr": org.cvr}, [("receivingCvr", "OWN_ORGANISATION")]),
        ({"rights": ["NOT.A_RIGHT"]}, [("rights", "INVALID_RIGHT")]),
        ({"rights": []}, [("rights", "REQUIRED")]),
        ({"name": " "}, [("name", "REQUIRED")]),
        ({"pNumber": other_org.p_numbers[0]}, [("pNumber", "UNKNOWN_P_NUMBER")]),
        ({"validUntil": "2001-01-01"}, [("validUntil", "INVALID_PERIOD")]),
        ({"validFrom": "2030-01-10", "validUntil": "2030-01-01"}, [("validUntil", "INVALID_PERIOD")]),
        ({"validFrom": "01-01-2030"}, [("validFrom", "INVALID_DATE")]),
    ]
    for extra, expected in cases:
        payload = ok(await env.gql(CREATE, give(org, other_org, **extra), token=oa))["createPowerOfAttorney"]
        assert [(e["field"][0], e["code"]) for e in payload["userErrors"]] == expected, extra
        assert payload["powerOfAttorney"] is None
    assert await env.count_rows(powers_of_attorney) == before


@pytest.mark.parametrize("role", [Role.USER_ADMINISTRATOR, Role.RIGHTS_ADMINISTRATOR, Role.USER])
async def test_only_organisation_administrators_give_powers_of_attorney(
    env: Env, org: OrgFixture, other_org: OrgFixture, role: Role
) -> None:
    body = await env.gql(CREATE, give(org, other_org), token=token_for(env, org, role))
    assert body["errors"][0]["extensions"]["code"] == "FORBIDDEN"
    assert await env.count_rows(powers_of_attorney, powers_of_attorney.c.granting_org_id == org.org_id) == 0


NOTIFIED = "query { notifications(first: 20) { edges { node { kind title body } } } }"


async def test_the_receiving_organisations_administrators_are_told_when_given_and_revoked(
    env: Env, org: OrgFixture, other_org: OrgFixture
) -> None:
    """In the same transaction as the grant and the revocation; the giver's people and the receiver's
    plain users hear nothing."""
    oa = token_for(env, org, Role.ORGANISATION_ADMINISTRATOR)
    created = ok(await env.gql(CREATE, give(org, other_org), token=oa))["createPowerOfAttorney"]
    assert created["userErrors"] == []

    def told(role: Role, who: OrgFixture) -> Any:
        return env.gql(NOTIFIED, token=token_for(env, who, role))

    for role in (Role.ORGANISATION_ADMINISTRATOR, Role.USER_ADMINISTRATOR):
        [note] = [e["node"] for e in ok(await told(role, other_org))["notifications"]["edges"]]
        assert note["kind"] == "POWER_OF_ATTORNEY_CREATED" and org.cvr in note["body"] and "Momsrefusion" in note["body"]
    assert ok(await told(Role.USER, other_org))["notifications"]["edges"] == []
    assert ok(await told(Role.USER_ADMINISTRATOR, org))["notifications"]["edges"] == []

    revoked = ok(await env.gql(REVOKE, {"id": created["powerOfAttorney"]["id"]}, token=oa))["revokePowerOfAttorney"]
    assert revoked["userErrors"] == []
    kinds = [e["node"]["kind"] for e in ok(await told(Role.ORGANISATION_ADMINISTRATOR, other_org))["notifications"]["edges"]]
    assert sorted(kinds) == ["POWER_OF_ATTORNEY_CREATED", "POWER_OF_ATTORNEY_REVOKED"]


async def test_a_power_of_attorney_to_an_organisation_not_on_this_gateway_tells_nobody(
    env: Env, org: OrgFixture
) -> None:
    oa = token_for(env, org, Role.ORGANISATION_ADMINISTRATOR)
    body = {"input": {"receivingCvr": fresh_cvr(), "name": "Løn", "rights": ["SKAT.REFUSION"]}}  # nobody here
    created = ok(await env.gql(CREATE, body, token=oa))["createPowerOfAttorney"]
    assert created["userErrors"] == [], created
    assert ok(await env.gql(NOTIFIED, token=oa))["notifications"]["edges"] == []
