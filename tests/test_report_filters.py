"""The filters reporting asks for (issue 17): users by right (own or through a group, as
effectiveRights), by authenticator and by creation date range; certificates by P-unit / SE-number and
by issue and revocation date ranges. Combined with the other filters, totals follow them, bad input
is a typed error."""

from __future__ import annotations

import datetime as dt
from typing import Any

from app.domain.common.principal import Role
from tests.conftest import Env, OrgFixture, token_for
from tests.test_certificates import REVOKE, issued_org_certificate, order_org, payload, ua
from tests.test_user_groups import ADD_USERS, GROUPS, active_user, create_group, ok
from tests.test_users_lifecycle import create

USERS = """query($f: UserFilterInput) { users(first: 100, filter: $f) { totalCount edges { node { uuid } } } }"""
CERTIFICATES = """query($f: CertificateFilter) { certificates(first: 100, filter: $f) {
  totalCount edges { node { uuid status } } } }"""


async def users(env: Env, org: OrgFixture, **f: Any) -> set[str]:
    body = await env.gql(USERS, {"f": f}, token=token_for(env, org, Role.USER_ADMINISTRATOR))
    assert "errors" not in body, body
    page = body["data"]["users"]
    found = {e["node"]["uuid"] for e in page["edges"]}
    assert page["totalCount"] == len(found)
    return found


async def refused(env: Env, query: str, token: str, **f: Any) -> tuple[str, str]:
    body = await env.gql(query, {"f": f}, token=token)
    assert body.get("data") is None, body
    ext = body["errors"][0]["extensions"]
    return ext["code"], ext.get("field")


async def certificates(env: Env, org: OrgFixture, **f: Any) -> set[str]:
    body = await env.gql(CERTIFICATES, {"f": f}, token=ua(env, org))
    assert "errors" not in body, body
    page = body["data"]["certificates"]
    found = {e["node"]["uuid"] for e in page["edges"]}
    assert page["totalCount"] == len(found)
    return found


async def test_users_by_right_own_or_through_a_group(env: Env, org: OrgFixture) -> None:
    own = await active_user(env, org, "Moms", rights=["SKAT.MOMS"])
    member = await active_user(env, org, "Gruppemedlem")
    await active_user(env, org, "Uden")
    group = await create_group(env, org, "Momsfolk", rights=["SKAT.MOMS"])
    added = ok(await env.gql(ADD_USERS, {"g": group, "u": [member["id"]]},
                             token=token_for(env, org, Role.USER_ADMINISTRATOR)))["addUsersToGroup"]
    assert added["userErrors"] == []
    assert await users(env, org, right="SKAT.MOMS") == {own["uuid"], member["uuid"]}
    assert await users(env, org, right="SKAT.MOMS", search="Gruppemedlem") == {member["uuid"]}
    assert await users(env, org, right="SKAT.REFUSION") == set()
    code, field = await refused(env, USERS, ua(env, org), right="SKAT.NO_SUCH_RIGHT")
    assert (code, field) == ("BAD_USER_INPUT", "right")


async def test_users_by_right_through_their_p_units_system_group_match_effective_rights(
    env: Env, org: OrgFixture
) -> None:
    ua_token, oa = ua(env, org), token_for(env, org, Role.ORGANISATION_ADMINISTRATOR)
    systems = ok(await env.gql(GROUPS, {"kind": "SYSTEM"}, token=ua_token))["userGroups"]["edges"]
    unit_group = {g["node"]["pNumber"]: g["node"]["id"] for g in systems}[org.p_numbers[1]]
    updated = ok(await env.gql(
        "mutation($g: ID!) { updateUserGroup(input: {groupId: $g, rights: [\"SKAT.REFUSION\"]}) { userErrors { code } } }",
        {"g": unit_group}, token=oa))["updateUserGroup"]
    assert updated["userErrors"] == []
    in_unit = await active_user(env, org, "Enhed", p_number=org.p_numbers[1])
    await active_user(env, org, "Andenenhed", p_number=org.p_numbers[0])
    found = await users(env, org, right="SKAT.REFUSION")
    assert found == {in_unit["uuid"]}
    # the filter and User.effectiveRights agree on everyone of the organisation
    body = await env.gql("{ users(first: 100) { edges { node { uuid effectiveRights } } } }", token=ua_token)
    holders = {e["node"]["uuid"] for e in ok(body)["users"]["edges"] if "SKAT.REFUSION" in e["node"]["effectiveRights"]}
    assert holders == found


async def test_users_by_authenticator_and_status(env: Env, org: OrgFixture) -> None:
    chip = (await create(env, org, authenticators=["CHIP", "MITID_APP"]))["user"]["uuid"]
    app = (await create(env, org, authenticators=["MITID_APP"]))["user"]["uuid"]
    assert await users(env, org, authenticator="CHIP") == {chip}
    assert await users(env, org, authenticator="MITID_APP") == {chip, app}
    assert await users(env, org, authenticator="MITID_APP", status="ACTIVE") == set()  # both wait for activation
    assert await users(env, org, authenticator="AUDIO_CODE_READER") == set()
    code, _ = await refused(env, USERS, ua(env, org), authenticator="PASSWORD")
    assert code in ("BAD_USER_INPUT", "GRAPHQL_VALIDATION_FAILED", "BAD_REQUEST"), code


async def test_users_by_creation_range(env: Env, org: OrgFixture) -> None:
    first = (await create(env, org))["user"]
    second = (await create(env, org))["user"]
    today = dt.date.today()
    everyone = await users(env, org)
    assert await users(env, org, createdFrom=(today - dt.timedelta(days=1)).isoformat()) == everyone
    assert await users(env, org, createdTo=(today - dt.timedelta(days=2)).isoformat()) == set()
    assert await users(env, org, createdFrom=second["createdAt"]) == {second["uuid"]}
    assert first["uuid"] in await users(env, org, createdTo=second["createdAt"])
    assert second["uuid"] not in await users(env, org, createdTo=second["createdAt"])  # the end is exclusive
    assert await users(env, org, createdFrom=first["createdAt"], createdTo=second["createdAt"]) == {first["uuid"]}
    token = ua(env, org)
    assert await refused(env, USERS, token, createdFrom="2026-02-01", createdTo="2026-01-01") == (
        "BAD_USER_INPUT", "createdTo")
    assert await refused(env, USERS, token, createdFrom="01-02-2026") == ("BAD_USER_INPUT", "createdFrom")
    assert await refused(env, USERS, token, createdTo="2026-13-01") == ("BAD_USER_INPUT", "createdTo")
    # one day is a range: from and to the same date
    day = today.isoformat()
    assert await users(env, org, createdFrom=day, createdTo=day) >= {first["uuid"], second["uuid"]}


async def test_certificates_by_unit_se_number_issue_and_revocation(env: Env, org: OrgFixture) -> None:
    unit = org.p_numbers[1]
    in_unit = await order_org(env, org, pNumber=unit)
    with_se = await order_org(env, org, seNumber=org.se_numbers[1])
    issued = await issued_org_certificate(env, org)
    issued_id = issued["ordered"]["uuid"]
    assert await certificates(env, org, pNumber=unit) == {in_unit["uuid"]}
    assert await certificates(env, org, seNumber=org.se_numbers[1]) == {with_se["uuid"]}
    assert await certificates(env, org, pNumber=unit, kind="USER") == set()
    today = dt.date.today()
    assert await certificates(env, org, issuedFrom=today.isoformat()) == {issued_id}
    assert await certificates(env, org, issuedTo=(today - dt.timedelta(days=1)).isoformat()) == set()
    assert await certificates(env, org, revokedFrom=today.isoformat()) == set()
    payload(await env.gql(REVOKE, {"input": {"certificateId": issued["certificate"]["id"], "reason": "KEY_LOST"}},
                          token=ua(env, org)), "revokeCertificate")
    assert await certificates(env, org, revokedFrom=today.isoformat(), revokedTo=today.isoformat()) == {issued_id}
    assert await certificates(env, org, revokedFrom=(today + dt.timedelta(days=1)).isoformat()) == set()
    assert await certificates(env, org, revokedFrom=today.isoformat(), status="ISSUED") == set()
    token = ua(env, org)
    assert await refused(env, CERTIFICATES, token, issuedFrom="2026-05-02", issuedTo="2026-05-01") == (
        "BAD_USER_INPUT", "issuedTo")
    assert await refused(env, CERTIFICATES, token, revokedTo="yesterday") == ("BAD_USER_INPUT", "revokedTo")
    assert await refused(env, CERTIFICATES, token, pNumber="12") == ("BAD_USER_INPUT", "pNumber")
    assert await refused(env, CERTIFICATES, token, seNumber="12345678") == ("BAD_USER_INPUT", "seNumber")


async def test_the_certificate_export_takes_the_same_new_filters(env: Env, org: OrgFixture) -> None:
    unit = org.p_numbers[0]
    ordered = await order_org(env, org, pNumber=unit)
    response = await env.client.get(f"/exports/certificates.csv?pNumber={unit}",
                                    headers={"Authorization": f"Bearer {ua(env, org)}"})
    assert response.status_code == 200, response.text
    lines = [line for line in response.text.splitlines()[1:] if line]
    assert len(lines) == 1 and ordered["uuid"] in lines[0]
    bad = await env.client.get("/exports/certificates.csv?issuedFrom=2026-05-02&issuedTo=2026-05-01",
                               headers={"Authorization": f"Bearer {ua(env, org)}"})
    assert bad.status_code == 400


def test_a_range_runs_from_the_start_of_its_first_day_to_the_end_of_its_last() -> None:
    import pytest

    from app.domain.common.errors import DomainError
    from app.domain.reporting import Bucket, buckets, expiring_window, moment_range

    r = moment_range("2026-03-01", "2026-03-01", "createdFrom", "createdTo")
    assert r.start is not None and r.end is not None and r.end - r.start == dt.timedelta(days=1)
    assert r.start.isoformat() == "2026-02-28T23:00:00+00:00"  # midnight in Copenhagen
    assert moment_range(None, None, "a", "b").start is None
    with pytest.raises(DomainError) as empty:
        moment_range("2026-03-02", "2026-03-01", "issuedFrom", "issuedTo")
    assert (empty.value.code, empty.value.field) == ("INVALID_RANGE", ["issuedTo"])
    with pytest.raises(DomainError) as bad:
        moment_range("2026-02-30", None, "revokedFrom", "revokedTo")
    assert bad.value.field == ["revokedFrom"]
    now = dt.datetime(2026, 1, 1, tzinfo=dt.UTC)
    assert expiring_window(None, now) == (30, now + dt.timedelta(days=30))
    assert expiring_window(3650, now)[0] == 3650
    for days in (0, -1, 3651):
        with pytest.raises(DomainError):
            expiring_window(days, now)
    assert buckets({"B": 2, None: 5, "A": 2}) == (Bucket(None, 5), Bucket("A", 2), Bucket("B", 2))


async def test_the_new_filters_keep_the_statements_of_a_page_constant(env: Env, org: OrgFixture) -> None:
    for _ in range(3):
        await create(env, org, authenticators=["MITID_APP"], rights=["SKAT.MOMS"])
    token = ua(env, org)
    page = "query($f: UserFilterInput, $n: Int) { users(first: $n, filter: $f) { totalCount edges { node { uuid authenticators } } } }"

    async def statements(n: int, **f: Any) -> int:
        await env.gql(page, {"f": f, "n": n}, token=token)  # warm
        with env.count_statements() as seen:
            body = await env.gql(page, {"f": f, "n": n}, token=token)
        assert "errors" not in body, body
        return len(seen)

    plain = await statements(1, status="PENDING_ACTIVATION")
    assert await statements(1, authenticator="MITID_APP", createdFrom="2020-01-01") == plain
    assert await statements(3, authenticator="MITID_APP", createdFrom="2020-01-01") == plain
    assert await statements(3, right="SKAT.MOMS", authenticator="MITID_APP") == plain + 1  # the catalogue, once
