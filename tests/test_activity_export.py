"""GET /exports/activities.csv: the activity log for reporting tools, streamed, filtered and safe."""

from __future__ import annotations

import csv
import datetime as dt
import io

import pytest
from sqlalchemy import insert

from app.domain.common.csv_files import neutralise
from app.domain.common.principal import Role
from app.persistence.tables.activity import activities
from tests.conftest import Env, token_for
from tests.factories import OrgFixture

CREATE = """
mutation($f: String!, $e: String!) { createUser(input: {firstName: $f, lastName: "Export", email: $e,
  dateOfBirth: "1990-01-01"}) { userErrors { code } } }
"""


def rows(text: str) -> list[list[str]]:
    return list(csv.reader(io.StringIO(text.lstrip("\ufeff")), delimiter=";"))


@pytest.mark.parametrize("value,expected", [("=SUM(A1)", "'=SUM(A1)"), ("+1", "'+1"), ("-2", "'-2"), ("@x", "'@x"),
                                            ("\tx", "'\tx"), ("\rx", "'\rx"), ("Anne", "Anne"), ("", "")])
def test_cells_that_a_spreadsheet_would_run_as_formulas_are_neutralised(value: str, expected: str) -> None:
    assert neutralise(value) == expected


async def test_the_export_streams_the_organisations_log_with_filters_and_neutralised_cells(
    env: Env, org: OrgFixture, other_org: OrgFixture
) -> None:
    ua = token_for(env, org, Role.USER_ADMINISTRATOR)
    assert (await env.gql(CREATE, {"f": "=HYPERLINK(\"x\")", "e": "formel@example.dk"}, token=ua))[
        "data"]["createUser"]["userErrors"] == []
    await env.gql(CREATE, {"f": "Fremmed", "e": "fremmed@example.dk"},
                  token=token_for(env, other_org, Role.USER_ADMINISTRATOR))
    now = dt.datetime.now(dt.UTC)
    async with env.engine.begin() as conn:  # enough entries for several pages of the stream
        await conn.execute(insert(activities), [
            {"org_id": org.org_id, "occurred_at": now, "actor_name": "Rapport", "type": "USER_UPDATED",
             "summary": f"Bulk entry {i}", "details": {"i": i}}
            for i in range(2500)
        ])
    response = await env.client.get("/exports/activities.csv", headers={"Authorization": f"Bearer {ua}"})
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/csv")
    table = rows(response.text)
    assert table[0][:3] == ["id", "occurredAt", "type"]
    body = table[1:]
    assert len(body) == await env.count_rows(activities, activities.c.org_id == org.org_id) > 2500
    assert len({r[0] for r in body}) == len(body)  # no row twice across pages
    assert not any("Fremmed" in ";".join(r) for r in body)
    created = next(r for r in body if r[2] == "USER_CREATED" and "HYPERLINK" in r[6])
    assert created[6].startswith("'=HYPERLINK")
    only_created = rows((await env.client.get("/exports/activities.csv?types=USER_CREATED",
                                              headers={"Authorization": f"Bearer {ua}"})).text)[1:]
    assert {r[2] for r in only_created} == {"USER_CREATED"} and len(only_created) == 1 + len(org.people)


async def test_the_export_needs_a_token_and_the_right_role(env: Env, org: OrgFixture) -> None:
    assert (await env.client.get("/exports/activities.csv")).status_code == 401
    refused = await env.client.get("/exports/activities.csv",
                                   headers={"Authorization": f"Bearer {token_for(env, org, Role.USER)}"})
    assert refused.status_code == 403 and refused.json()["errors"][0]["extensions"]["code"] == "FORBIDDEN"
    bad = await env.client.get("/exports/activities.csv?from=yesterday",
                               headers={"Authorization": f"Bearer {token_for(env, org, Role.ORGANISATION_ADMINISTRATOR)}"})
    assert bad.status_code == 400 and bad.json()["errors"][0]["extensions"]["code"] == "BAD_USER_INPUT"
