"""CSV import jobs through the GraphQL multipart endpoint."""

from __future__ import annotations

import asyncio
import codecs
from typing import Any

from app.domain.bulk_csv import COLUMNS
from app.domain.principal import Role
from app.persistence.tables import activities, users
from tests.conftest import Env, token_for
from tests.factories import OrgFixture

IMPORT = """
mutation($file: Upload!, $op: BulkOperation!, $dry: Boolean!) {
  importUsers(input: {file: $file, operation: $op, dryRun: $dry}) {
    job { id status operation dryRun }
    userErrors { field code message }
  }
}
"""
JOB = """
query($id: ID!) {
  bulkJob(id: $id) {
    id status errorCount progress { processed total }
    rowErrors { line column code message }
    result { created updated deleted unchanged total dryRun affectedUserCount affectedUsers(first: 3) { email status } }
  }
}
"""


def csv_file(rows: list[dict[str, str]], *, bom: bool = True) -> bytes:
    lines = [";".join(COLUMNS)] + [";".join(r.get(c, "") for c in COLUMNS) for r in rows]
    return (codecs.BOM_UTF8 if bom else b"") + ("\r\n".join(lines) + "\r\n").encode("utf-8")


def person(n: int, **extra: str) -> dict[str, str]:
    row = {"Fornavn": f"Åse{n}", "Efternavn": "Sørensen", "E-mail": f"ase{n}@example.dk",
           "CPR-nummer": f"{1 + n % 28:02d}0190-{1000 + n:04d}", "Privat MitID": "Ja"}
    row.update(extra)
    return row


async def run_job(env: Env, org: OrgFixture, content: bytes, op: str = "CREATE", dry: bool = False) -> dict[str, Any]:
    token = token_for(env, org, Role.USER_ADMINISTRATOR)
    response = await env.upload(IMPORT, {"file": None, "op": op, "dry": dry}, "file", content, token=token)
    body = response.json()
    assert "errors" not in body, body
    payload = body["data"]["importUsers"]
    assert payload["userErrors"] == []
    job_id = payload["job"]["id"]
    for _ in range(200):
        job = (await env.gql(JOB, {"id": job_id}, token=token))["data"]["bulkJob"]
        if job["status"] in ("SUCCEEDED", "FAILED"):
            return job
        await asyncio.sleep(0.05)
    raise AssertionError(f"job did not finish: {job}")


async def org_user_count(env: Env, org: OrgFixture) -> int:
    return await env.count_rows(users, users.c.org_id == org.org_id)


async def test_a_good_create_file_creates_every_user_as_created_without_email(env: Env, org: OrgFixture) -> None:
    before = await org_user_count(env, org)
    job = await run_job(env, org, csv_file([person(i) for i in range(5)]))
    assert job["status"] == "SUCCEEDED", job
    assert job["result"]["created"] == 5
    assert job["progress"] == {"processed": 5, "total": 5}
    assert await org_user_count(env, org) == before + 5
    assert await env.count_rows(users, users.c.org_id == org.org_id, users.c.status == "CREATED") == 5
    assert env.mail.to("ase0@example.dk") == []
    # one history entry per user plus one for the job
    assert await env.count_rows(
        activities, activities.c.org_id == org.org_id, activities.c.type == "USER_CREATED"
    ) == 5 + len(org.people)
    assert await env.count_rows(
        activities, activities.c.org_id == org.org_id, activities.c.type == "BULK_IMPORT_COMPLETED"
    ) == 1


async def test_a_file_with_bad_rows_writes_nothing_and_reports_every_bad_row(env: Env, org: OrgFixture) -> None:
    before = await org_user_count(env, org)
    rows = [person(1), person(2, **{"CPR-nummer": "320190-1234"}), person(3), person(4, **{"E-mail": "nope"}),
            person(5, **{"E-mail": "ase1@example.dk"})]
    job = await run_job(env, org, csv_file(rows))
    assert job["status"] == "FAILED"
    assert job["errorCount"] == 3
    assert [(e["line"], e["column"], e["code"]) for e in job["rowErrors"]] == [
        (3, "CPR-nummer", "INVALID_CPR"), (5, "E-mail", "INVALID_EMAIL"), (6, "E-mail", "DUPLICATE_EMAIL"),
    ]
    assert await org_user_count(env, org) == before
