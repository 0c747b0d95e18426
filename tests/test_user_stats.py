"""userStats (issue 17): the organisation's users counted by status, identification,
authenticator and P-unit in one statement, as `users` lists them; for the roles that list users."""

from __future__ import annotations

from typing import Any

import pytest

from app.domain.common.principal import Role
from tests.conftest import Env, OrgFixture, token_for
from tests.test_users_lifecycle import DELETE_USER, create, mutate, new_cpr

STATS = """query { userStats { total byStatus { key count } byIdentification { key count }
  byAuthenticator { key count } byOrganisationUnit { key name count } } }"""
COUNT = "query($f: UserFilterInput) { users(first: 0, filter: $f) { totalCount } }"


def as_dict(buckets: list[dict[str, Any]]) -> dict[Any, int]:  # key -> count
    return {b["key"]: b["count"] for b in buckets}


async def stats(env: Env, org: OrgFixture, role: Role = Role.USER_ADMINISTRATOR) -> dict[str, Any]:
    body = await env.gql(STATS, token=token_for(env, org, role))
    assert "errors" not in body, body
    return body["data"]["userStats"]


async def listed(env: Env, org: OrgFixture, **f: Any) -> int:
    body = await env.gql(COUNT, {"f": f}, token=token_for(env, org, Role.USER_ADMINISTRATOR))
    assert "errors" not in body, body
    return body["data"]["users"]["totalCount"]


async def test_user_stats_count_what_users_lists_by_status_identification_authenticator_and_unit(
    env: Env, org: OrgFixture, other_org: OrgFixture
) -> None:
    unit_a, unit_b = org.p_numbers
    await create(env, org, cpr=new_cpr(), authenticators=["MITID_APP", "CHIP"], pNumber=unit_b)
    await create(env, org, cpr=new_cpr(), authenticators=["MITID_APP"], pNumber=unit_b)
    await create(env, org, anonymous=True, authenticators=["CODE_DISPLAY"])
    doomed = (await create(env, org, authenticators=["CHIP"], pNumber=unit_b))["user"]
    await mutate(env, org, DELETE_USER, "deleteUser", userId=doomed["id"])
    await create(env, other_org, cpr=new_cpr(), authenticators=["CHIP"])  # never counted here

    s = await stats(env, org)
    by_status = as_dict(s["byStatus"])
    assert by_status.get("DELETED") == 1
    assert s["total"] == await listed(env, org) == sum(n for k, n in by_status.items() if k != "DELETED")
    for status, n in by_status.items():
        assert n == await listed(env, org, status=status), status
    assert as_dict(s["byIdentification"]) == {
        "CPR": await listed(env, org, identification="CPR"),
        "DATE_OF_BIRTH": await listed(env, org, identification="DATE_OF_BIRTH"),
    }
    assert as_dict(s["byIdentification"])["CPR"] == 2
    units = as_dict(s["byOrganisationUnit"])
    assert units[unit_b] == 2 == await listed(env, org, pNumber=unit_b)  # the deleted one is not counted
    assert sum(units.values()) == s["total"]
    assert units.get(unit_a, 0) == await listed(env, org, pNumber=unit_a)
    authenticators = as_dict(s["byAuthenticator"])
    assert authenticators == {"MITID_APP": 2, "CHIP": 1, "CODE_DISPLAY": 1}
    assert authenticators["MITID_APP"] == await listed(env, org, authenticator="MITID_APP")
    counts = [b["count"] for b in s["byStatus"]]
    assert counts == sorted(counts, reverse=True)  # largest first


async def test_user_stats_of_a_fresh_organisation_count_its_four_people(env: Env, org: OrgFixture) -> None:
    s = await stats(env, org, Role.RIGHTS_ADMINISTRATOR)
    assert s["total"] == len(Role) == await listed(env, org)
    assert as_dict(s["byStatus"]) == {"ACTIVE": len(Role)}
    assert s["byAuthenticator"] == []
    units = {b["key"]: (b["name"], b["count"]) for b in s["byOrganisationUnit"]}
    assert set(units) >= set(org.p_numbers)  # every P-unit of the organisation, empty ones too
    assert all(units[p][0] == f"Unit {p}" for p in org.p_numbers)
    assert sum(n for _, n in units.values()) == len(Role)


async def test_user_stats_are_one_statement(env: Env, org: OrgFixture) -> None:
    token = token_for(env, org, Role.ORGANISATION_ADMINISTRATOR)
    await env.gql(STATS, token=token)  # warm: the caller's status read is the same every request
    with env.count_statements() as seen:
        body = await env.gql("query { userStats { total } }", token=token)
    assert "errors" not in body, body
    plain = [s for s in seen if "user_authenticators" in s]
    assert len(plain) == 1, seen
    with_stats = len(seen)
    with env.count_statements() as seen:
        await env.gql("query { viewer { roles } }", token=token)
    assert with_stats == len(seen) + 1, seen


@pytest.mark.parametrize("role", [Role.USER])
async def test_user_stats_are_refused_to_whoever_may_not_list_users(env: Env, org: OrgFixture, role: Role) -> None:
    body = await env.gql(STATS, token=token_for(env, org, role))
    assert body["errors"][0]["extensions"]["code"] == "FORBIDDEN"
    assert body.get("data") is None
    anonymous = await env.gql(STATS)
    assert anonymous["errors"][0]["extensions"]["code"] in ("UNAUTHENTICATED", "FORBIDDEN")
