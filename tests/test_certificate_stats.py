"""certificateStats (issue 17): the organisation's certificates counted by kind and by status as read
(EXPIRED derived from notAfter) and how many expire soon, in one statement, as `certificates` lists
them; for the roles that see certificates."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest
from sqlalchemy import update

from app.domain.common.principal import Role
from app.persistence.tables.certificates import certificates
from tests.conftest import Env, OrgFixture, token_for
from tests.test_certificates import CANCEL, issued_org_certificate, order_org, order_user, payload, ua

STATS = """query($d: Int) { certificateStats(expiringWithinDays: $d) {
  total byKind { key count } byStatus { key count } expiringSoon expiringWithinDays } }"""
COUNT = "query($f: CertificateFilter) { certificates(first: 0, filter: $f) { totalCount } }"


def as_dict(buckets: list[dict[str, Any]]) -> dict[str, int]:
    return {b["key"]: b["count"] for b in buckets}


async def stats(env: Env, org: OrgFixture, days: int | None = None, role: Role = Role.USER_ADMINISTRATOR) -> dict[str, Any]:
    body = await env.gql(STATS, {"d": days}, token=token_for(env, org, role))
    assert "errors" not in body, body
    return body["data"]["certificateStats"]


async def listed(env: Env, org: OrgFixture, **f: Any) -> int:
    body = await env.gql(COUNT, {"f": f}, token=ua(env, org))
    assert "errors" not in body, body
    return body["data"]["certificates"]["totalCount"]


async def _expire_in(env: Env, cert_uuid: str, days: float) -> None:
    """Move one issued certificate's notAfter (the clock of a three-year certificate is not waited for)."""
    import uuid

    async with env.engine.begin() as conn:
        await conn.execute(update(certificates).where(certificates.c.id == uuid.UUID(cert_uuid))
                           .values(not_after=dt.datetime.now(dt.UTC) + dt.timedelta(days=days)))


async def test_certificate_stats_count_by_kind_status_and_expiring_soon(
    env: Env, org: OrgFixture, other_org: OrgFixture
) -> None:
    ordered_user = await order_user(env, org, org.people[Role.USER])
    cancelled = await order_user(env, org, org.people[Role.USER_ADMINISTRATOR])
    payload(await env.gql(CANCEL, {"input": {"certificateId": cancelled["id"]}}, token=ua(env, org)),
            "cancelCertificateOrder")
    soon = (await issued_org_certificate(env, org))["ordered"]["uuid"]
    later = (await issued_org_certificate(env, org))["ordered"]["uuid"]
    expired = (await issued_org_certificate(env, org))["ordered"]["uuid"]
    await order_org(env, other_org)  # another organisation's: never counted here
    await _expire_in(env, soon, 10)
    await _expire_in(env, later, 200)
    await _expire_in(env, expired, -1)

    s = await stats(env, org)
    assert s["total"] == 5 == await listed(env, org)
    assert as_dict(s["byKind"]) == {"USER": 2, "ORGANISATION": 3}
    assert as_dict(s["byStatus"]) == {"ORDERED": 1, "CANCELLED": 1, "ISSUED": 2, "EXPIRED": 1}
    for status, n in as_dict(s["byStatus"]).items():
        assert n == await listed(env, org, status=status), status
    assert (s["expiringSoon"], s["expiringWithinDays"]) == (1, 30)  # the default window
    wide = await stats(env, org, 365)
    assert (wide["expiringSoon"], wide["expiringWithinDays"]) == (2, 365)
    assert (await stats(env, org, 1))["expiringSoon"] == 0
    assert ordered_user["status"] == "ORDERED"


async def test_certificate_stats_of_an_organisation_without_certificates(env: Env, org: OrgFixture) -> None:
    s = await stats(env, org, role=Role.ORGANISATION_ADMINISTRATOR)
    assert s == {"total": 0, "byKind": [], "byStatus": [], "expiringSoon": 0, "expiringWithinDays": 30}


@pytest.mark.parametrize("days", [0, -5, 3651])
async def test_expiring_within_days_outside_1_to_3650_is_a_typed_error(env: Env, org: OrgFixture, days: int) -> None:
    body = await env.gql(STATS, {"d": days}, token=ua(env, org))
    assert body.get("data") is None
    assert body["errors"][0]["extensions"]["code"] == "BAD_USER_INPUT"
    assert body["errors"][0]["extensions"]["field"] == "expiringWithinDays"
    assert (await stats(env, org, 3650))["expiringWithinDays"] == 3650


async def test_certificate_stats_are_one_statement(env: Env, org: OrgFixture) -> None:
    token = ua(env, org)
    await env.gql("query { certificateStats { total } }", token=token)
    with env.count_statements() as seen:
        body = await env.gql("query { certificateStats { total expiringSoon } }", token=token)
    assert "errors" not in body, body
    assert len([s for s in seen if "certificates" in s]) == 1, seen


@pytest.mark.parametrize("role", [Role.USER, Role.RIGHTS_ADMINISTRATOR])
async def test_certificate_stats_are_refused_to_whoever_may_not_see_certificates(
    env: Env, org: OrgFixture, role: Role
) -> None:
    body = await env.gql(STATS, token=token_for(env, org, role))
    assert body["errors"][0]["extensions"]["code"] == "FORBIDDEN"
    assert body.get("data") is None
