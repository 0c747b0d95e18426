"""CSV import jobs through the GraphQL multipart endpoint."""

from __future__ import annotations

import asyncio
import codecs
import dataclasses
from pathlib import Path
from typing import Any

from sqlalchemy import select

from app.domain.bulk.csv_file import COLUMNS
from app.domain.common.organisation import OrganisationSettings
from app.domain.common.principal import Role
from app.persistence.tables.activity import activities
from app.persistence.tables.users import users
from tests.conftest import Env, token_for
from tests.factories import OrgFixture, make_org

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
    result {
      created updated deleted unchanged total dryRun encoding affectedUserCount affectedUsers(first: 3) { email status }
    }
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
    assert job["result"]["encoding"] == "UTF_8"
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


# --- helpers for the tests below ------------------------------------------------------------------

USERS = """
query($filter: UserFilterInput) {
  users(first: 500, filter: $filter) {
    totalCount
    edges { node { id uuid email firstName lastName phone reference status anonymous identification } }
  }
}
"""
SEND = """
mutation($input: SendUsersForActivationInput!) {
  sendUsersForActivation(input: $input) {
    sent { email }
    codes { user { id email } temporaryActivationCode }
    needsIndividualSending { email }
    userErrors { field code message }
  }
}
"""
ACTIVATE = """
mutation($input: ActivateUserInput!) {
  activateUser(input: $input) { activated userUuid userErrors { code } }
}
"""
NOTIFICATIONS = "query { notifications { edges { node { kind title } } } }"
HEADER = ";".join(COLUMNS)
BOM = codecs.BOM_UTF8


def raw_file(lines: list[str], *, header: str = HEADER, bom: bool = True, newline: str = "\r\n") -> bytes:
    """A file from literal lines (for quoting, widths and headers `csv_file` cannot express)."""
    return (BOM if bom else b"") + (newline.join([header, *lines]) + newline).encode("utf-8")


def line_of(row: dict[str, str]) -> str:
    return ";".join(row.get(c, "") for c in COLUMNS)


def dob_person(n: int, **extra: str) -> dict[str, str]:
    row = {"Fornavn": f"Bo{n}", "Efternavn": "Ærø", "E-mail": f"bo{n}@example.dk",
           "Fødselsdato": f"{1 + n % 28:02d}-03-1985"}
    row.update(extra)
    return row


def errors_of(job: dict[str, Any]) -> list[tuple[int | None, str | None, str]]:
    return [(e["line"], e["column"], e["code"]) for e in job["rowErrors"]]


def uadmin(env: Env, org: OrgFixture) -> str:
    return token_for(env, org, Role.USER_ADMINISTRATOR)


async def import_payload(
    env: Env, token: str, content: bytes, op: str = "CREATE", dry: bool = False
) -> dict[str, Any]:
    response = await env.upload(IMPORT, {"file": None, "op": op, "dry": dry}, "file", content, token=token)
    assert response.status_code == 200, response.text
    return response.json()


async def org_snapshot(env: Env, org: OrgFixture) -> tuple[list[tuple[Any, ...]], int]:
    """Every column of the organisation's users, and how many history entries it has (but when each
    was last seen: the job's own requests note the administrator's visit)."""
    data = [c for c in users.c if c.name != "last_seen_at"]
    async with env.engine.connect() as conn:
        rows = (await conn.execute(select(*data).where(users.c.org_id == org.org_id).order_by(users.c.id))).all()
    return [tuple(r) for r in rows], await env.count_rows(activities, activities.c.org_id == org.org_id)


async def listed_users(env: Env, org: OrgFixture, **filter_: Any) -> dict[str, dict[str, Any]]:
    body = await env.gql(USERS, {"filter": filter_ or None}, token=uadmin(env, org))
    assert "errors" not in body, body
    return {e["node"]["email"]: e["node"] for e in body["data"]["users"]["edges"]}


async def created_ok(env: Env, org: OrgFixture, rows: list[dict[str, str]]) -> dict[str, dict[str, Any]]:
    """Import `rows` and return the organisation's users by email."""
    job = await run_job(env, org, csv_file(rows))
    assert job["status"] == "SUCCEEDED", job
    assert job["result"]["created"] == len(rows)
    return await listed_users(env, org)


async def bulk_activities(env: Env, org: OrgFixture, type_: str) -> int:
    return await env.count_rows(activities, activities.c.org_id == org.org_id, activities.c.type == type_)


# --- templates ------------------------------------------------------------------------------------


async def test_each_template_downloads_as_utf8_csv_with_bom_header_and_one_example_line(env: Env) -> None:
    for op in ("create", "update", "delete"):
        response = await env.client.get(f"/templates/users-{op}.csv")

        assert response.status_code == 200
        assert response.headers["content-type"].split(";")[0] == "text/csv"
        assert f'filename="users-{op}.csv"' in response.headers["content-disposition"]
        assert response.content.startswith(BOM)
        lines = response.content[len(BOM):].decode("utf-8").split("\r\n")
        assert lines[0] == HEADER
        assert len(lines) == 3 and lines[2] == ""
        assert lines[1].startswith("#")
        assert len(lines[1].split(";")) == len(COLUMNS)


async def test_an_unknown_template_is_not_found(env: Env) -> None:
    response = await env.client.get("/templates/users-frobnicate.csv")

    assert response.status_code == 404
    assert response.json()["code"] == "NOT_FOUND"


async def test_the_filled_templates_create_update_and_delete_users(env: Env, org: OrgFixture) -> None:
    async def filled(op: str, rows: list[dict[str, str]]) -> bytes:
        template = (await env.client.get(f"/templates/users-{op}.csv")).content
        return template + ("\r\n".join(line_of(r) for r in rows) + "\r\n").encode("utf-8")

    people = [person(1, Telefonnummer="+45 11111111"), person(2), dob_person(3)]
    bad = await run_job(env, org, await filled("create", [people[0], person(2, **{"E-mail": "nej"})]))
    assert errors_of(bad) == [(4, "E-mail", "INVALID_EMAIL")]  # line 2 is the template's example
    created = await run_job(env, org, await filled("create", people))
    assert created["status"] == "SUCCEEDED", created
    assert (created["result"]["created"], created["result"]["total"]) == (3, 3)
    by_email = await listed_users(env, org)
    ids = {p["E-mail"]: by_email[p["E-mail"]]["uuid"] for p in people}
    assert {by_email[e]["status"] for e in ids} == {"CREATED"}

    updates = [{"Bruger-UUID": ids[p["E-mail"]], "E-mail": p["E-mail"], "Reference": f"REF-{i}"}
               for i, p in enumerate(people)]
    updated = await run_job(env, org, await filled("update", updates), op="UPDATE")
    assert updated["status"] == "SUCCEEDED", updated
    assert (updated["result"]["updated"], updated["result"]["unchanged"]) == (3, 0)
    by_email = await listed_users(env, org)
    assert [by_email[p["E-mail"]]["reference"] for p in people] == ["REF-0", "REF-1", "REF-2"]
    assert by_email["ase1@example.dk"]["phone"] == "+4511111111"

    deletes = [{"Bruger-UUID": ids[p["E-mail"]], "E-mail": p["E-mail"]} for p in people]
    deleted = await run_job(env, org, await filled("delete", deletes), op="DELETE")
    assert deleted["status"] == "SUCCEEDED", deleted
    assert deleted["result"]["deleted"] == 3
    assert not set(ids) & set(await listed_users(env, org))


# --- bad files ------------------------------------------------------------------------------------


async def test_a_windows_1252_file_with_danish_letters_imports_with_its_letters_intact(
    env: Env, org: OrgFixture
) -> None:
    # What "CSV (semicolon separated)" of a spreadsheet program saves: Windows-1252, no BOM.
    rows = [person(1, Fornavn="Søren Åge", Efternavn="Æbelø"), dob_person(2, Fornavn="Bjørk", Efternavn="Lærkegård"),
            person(3, Reference="Afd. 5 – Økonomi €")]  # – and € exist only in Windows-1252, not Latin-1
    content = ("\r\n".join([HEADER, *(line_of(r) for r in rows)]) + "\r\n").encode("cp1252")
    assert b"F\xf8dselsdato" in content

    job = await run_job(env, org, content)

    assert job["status"] == "SUCCEEDED", job
    assert (job["result"]["created"], job["result"]["encoding"]) == (3, "WINDOWS_1252")
    by_email = await listed_users(env, org)
    assert (by_email["ase1@example.dk"]["firstName"], by_email["ase1@example.dk"]["lastName"]) == ("Søren Åge", "Æbelø")
    assert (by_email["bo2@example.dk"]["firstName"], by_email["bo2@example.dk"]["lastName"]) == ("Bjørk", "Lærkegård")
    assert by_email["ase3@example.dk"]["reference"] == "Afd. 5 – Økonomi €"


async def test_a_file_neither_utf8_nor_windows_1252_fails_with_unknown_encoding_and_changes_nothing(
    env: Env, org: OrgFixture
) -> None:
    before = await org_snapshot(env, org)
    undefined = (HEADER + "\r\n" + line_of(person(1, Efternavn="Sørensen")) + "\r\n").encode("cp1252") + b"\x81\r\n"

    job = await run_job(env, org, undefined)

    assert job["status"] == "FAILED"
    assert errors_of(job) == [(None, None, "UNKNOWN_ENCODING")]
    assert "CSV UTF-8" in job["rowErrors"][0]["message"]
    assert await org_snapshot(env, org) == before


async def test_a_utf8_file_that_turns_windows_1252_after_many_rows_fails_with_unknown_encoding(
    env: Env, org: OrgFixture
) -> None:
    good = csv_file([person(i) for i in range(2000)])  # UTF-8 "Åse"/"Sørensen", past the detector's first chunk
    bad = line_of(dob_person(999, Efternavn="Ærø")).encode("cp1252") + b"\r\n"
    assert len(good) > 1 << 16
    before = await org_snapshot(env, org)

    job = await run_job(env, org, good + bad)

    assert job["status"] == "FAILED"
    assert errors_of(job) == [(None, None, "UNKNOWN_ENCODING")]  # not read as Windows-1252: "Ã…se" would be imported
    assert await org_snapshot(env, org) == before


async def test_a_header_with_a_wrong_missing_extra_or_reordered_column_fails_naming_it(
    env: Env, org: OrgFixture
) -> None:
    columns = list(COLUMNS)
    swapped = columns.copy()
    swapped[1], swapped[2] = swapped[2], swapped[1]
    cases = {
        "wrong": ([c if c != "E-mail" else "Email" for c in columns], "column 6 should be 'E-mail' but is 'Email'"),
        "missing": ([c for c in columns if c != "Reference"], "column 8 should be 'Reference' but is 'P-nummer'"),
        "missing last": (columns[:-1], "column 15 should be 'Segldannelse' but is nothing"),
        "extra": ([*columns, "Afdeling"], "unexpected column 16 'Afdeling'"),
        "reordered": (swapped, "column 2 should be 'Fornavn' but is 'Efternavn'"),
    }
    before = await org_snapshot(env, org)
    for case, (header, message) in cases.items():
        job = await run_job(env, org, raw_file([line_of(person(1))], header=";".join(header)))

        assert job["status"] == "FAILED", case
        assert errors_of(job) == [(1, None, "BAD_HEADER")], case
        assert message in job["rowErrors"][0]["message"], (case, job["rowErrors"][0]["message"])
    assert await org_snapshot(env, org) == before


async def test_an_empty_upload_is_refused_by_import_users_without_a_job(env: Env, org: OrgFixture) -> None:
    uploads = list(Path(env.settings.upload_dir).iterdir())

    body = await import_payload(env, uadmin(env, org), b"")

    assert body["data"]["importUsers"]["job"] is None
    assert [(e["field"], e["code"]) for e in body["data"]["importUsers"]["userErrors"]] == [(["file"], "EMPTY_FILE")]
    assert list(Path(env.settings.upload_dir).iterdir()) == uploads


async def test_a_file_with_only_a_bom_fails_as_empty(env: Env, org: OrgFixture) -> None:
    job = await run_job(env, org, BOM)

    assert job["status"] == "FAILED"
    assert errors_of(job) == [(None, None, "EMPTY_FILE")]


async def test_a_header_only_file_or_the_unfilled_template_fails_with_no_rows(env: Env, org: OrgFixture) -> None:
    template = (await env.client.get("/templates/users-create.csv")).content
    before = await org_snapshot(env, org)
    for content in (raw_file([]), raw_file(["", ";;;"]), template):
        job = await run_job(env, org, content)

        assert job["status"] == "FAILED"
        assert errors_of(job) == [(None, None, "NO_ROWS")]
        assert job["progress"]["total"] == 0
    assert await org_snapshot(env, org) == before


async def test_rows_with_the_wrong_number_of_columns_are_reported_and_change_nothing(
    env: Env, org: OrgFixture
) -> None:
    before = await org_snapshot(env, org)
    lines = [line_of(person(1)), line_of(person(2)) + ";extra", line_of(person(3)), line_of(person(4)).rsplit(";", 2)[0]]

    job = await run_job(env, org, raw_file(lines))

    assert job["status"] == "FAILED"
    assert errors_of(job) == [(3, None, "WRONG_COLUMN_COUNT"), (5, None, "WRONG_COLUMN_COUNT")]
    assert "16 columns" in job["rowErrors"][0]["message"]
    assert "13 columns" in job["rowErrors"][1]["message"]
    assert await org_snapshot(env, org) == before


async def test_a_bad_quote_fails_the_file_with_bad_row_on_its_line(env: Env, org: OrgFixture) -> None:
    before = await org_snapshot(env, org)
    stray = line_of(person(2, Fornavn='"Åse"x'))
    unclosed = line_of(person(2, Fornavn='"Åse'))
    for lines, line in (([line_of(person(1)), stray, line_of(person(3))], 3), ([line_of(person(1)), unclosed], 3)):
        job = await run_job(env, org, raw_file(lines))

        assert job["status"] == "FAILED"
        assert errors_of(job) == [(line, None, "BAD_ROW")]
        assert job["rowErrors"][0]["message"].startswith(f"Line {line}:")
    assert await org_snapshot(env, org) == before


async def test_more_rows_than_the_row_cap_fail_with_too_many_rows_and_the_cap_itself_is_allowed(
    env: Env, org: OrgFixture
) -> None:
    limits = env.services.bulk.limits
    env.services.bulk.limits = dataclasses.replace(limits, max_rows=3)
    try:
        before = await org_snapshot(env, org)
        over = await run_job(env, org, csv_file([person(i) for i in range(4)]))
        assert over["status"] == "FAILED"
        assert errors_of(over) == [(5, None, "TOO_MANY_ROWS")]
        assert await org_snapshot(env, org) == before

        at_cap = await run_job(env, org, csv_file([person(i) for i in range(3)]))
        assert at_cap["status"] == "SUCCEEDED", at_cap
    finally:
        env.services.bulk.limits = limits


async def test_a_file_over_the_size_cap_is_refused_with_file_too_large_and_not_stored(
    env: Env, org: OrgFixture
) -> None:
    at_cap = csv_file([person(i) for i in range(19)])
    over_cap = csv_file([person(i) for i in range(20)])
    limits = env.services.bulk.limits
    env.services.bulk.limits = dataclasses.replace(limits, max_bytes=len(at_cap))
    uploads = list(Path(env.settings.upload_dir).iterdir())
    before = await org_snapshot(env, org)
    try:
        body = await import_payload(env, uadmin(env, org), over_cap)
        payload = body["data"]["importUsers"]
        assert payload["job"] is None
        assert [(e["field"], e["code"]) for e in payload["userErrors"]] == [(["file"], "FILE_TOO_LARGE")]
        assert list(Path(env.settings.upload_dir).iterdir()) == uploads
        assert await org_snapshot(env, org) == before

        job = await run_job(env, org, at_cap)
        assert job["status"] == "SUCCEEDED" and job["result"]["created"] == 19
    finally:
        env.services.bulk.limits = limits


async def test_an_upload_whose_content_length_is_over_the_cap_is_refused_with_413(env: Env, org: OrgFixture) -> None:
    too_big = env.settings.import_max_bytes + 64 * 1024 + 1
    response = await env.client.post(
        "/graphql", content=b"-" * too_big,
        headers={"Authorization": f"Bearer {uadmin(env, org)}", "Content-Type": "multipart/form-data; boundary=x"},
    )

    assert response.status_code == 413
    assert response.json()["errors"][0]["extensions"]["code"] == "FILE_TOO_LARGE"


# --- bad rows -------------------------------------------------------------------------------------


async def test_every_kind_of_bad_create_row_is_reported_with_line_and_column_and_nothing_is_written(
    env: Env, org: OrgFixture, other_org: OrgFixture
) -> None:
    rows = [
        person(1),  # line 2: good
        person(2, **{"CPR-nummer": "320190-1234"}),
        person(3, **{"E-mail": "ikke en adresse"}),
        person(4, **{"Fødselsdato": "02-01-1990"}),  # CPR and date of birth
        person(5, **{"CPR-nummer": ""}),  # neither
        dob_person(6, **{"Fødselsdato": "31-02-1990"}),
        person(7, Anonym="Måske"),
        person(8, **{"P-nummer": other_org.p_numbers[0]}),
        person(9, Rettigheder="LÆSE, skrive ret"),
        person(10, **{"Bruger-UUID": "2b0e1b8e-8c1a-4f3e-9d55-5a3b0b2f6a10"}),
        person(11, **{"E-mail": "ASE1@example.dk"}),  # the email of line 2
        person(12, **{"CPR-nummer": person(1)["CPR-nummer"].replace("-", "")}),  # the CPR of line 2
        person(13, **{"E-mail": org.emails[Role.USER].upper()}),  # already in the organisation
        person(14),  # good
        person(15, **{"CPR-nummer": "010190-12345", "E-mail": "to@@example.dk"}),  # two bad cells
        person(16, Reference="x" * 1001),
    ]
    before = await org_snapshot(env, org)

    job = await run_job(env, org, csv_file(rows))

    assert job["status"] == "FAILED"
    # Duplicates against the database are found after the file's own checks, yet listed in file order.
    assert errors_of(job) == [
        (3, "CPR-nummer", "INVALID_CPR"),
        (4, "E-mail", "INVALID_EMAIL"),
        (5, "CPR-nummer", "CPR_OR_DATE_OF_BIRTH"),
        (6, "CPR-nummer", "CPR_OR_DATE_OF_BIRTH"),
        (7, "Fødselsdato", "INVALID_DATE"),
        (8, "Anonym", "INVALID_BOOLEAN"),
        (9, "P-nummer", "UNKNOWN_P_NUMBER"),
        (10, "Rettigheder", "INVALID_RIGHT"),  # each bad code in the list
        (10, "Rettigheder", "INVALID_RIGHT"),
        (11, "Bruger-UUID", "MUST_BE_EMPTY"),
        (12, "E-mail", "DUPLICATE_EMAIL"),
        (13, "CPR-nummer", "DUPLICATE_CPR"),
        (14, "E-mail", "DUPLICATE_EMAIL"),
        (16, "CPR-nummer", "INVALID_CPR"),
        (16, "E-mail", "INVALID_EMAIL"),
        (17, "Reference", "TOO_LONG"),
    ]
    assert job["errorCount"] == 16
    messages = {(e["line"], e["column"]): e["message"] for e in job["rowErrors"]}
    assert "line 2" in messages[12, "E-mail"] and "line 2" in messages[13, "CPR-nummer"]
    assert "Måske" in messages[8, "Anonym"]
    assert job["result"] is None
    assert await org_snapshot(env, org) == before


async def test_rows_are_checked_against_the_organisations_settings_on_create_and_update(env: Env) -> None:
    strict = await make_org(env.services, settings=OrganisationSettings(
        anonymity_allowed=False, private_mitid_allowed=False, user_certificates_allowed=False,
        organisation_certificates_allowed=False,
    ))
    by_email = await created_ok(env, strict, [person(1, **{"Privat MitID": "Nej"})])
    before = await org_snapshot(env, strict)
    rows = [person(2, Anonym="Ja", **{"Privat MitID": "Nej"}), person(3), person(4, Underskrift="Ja", **{"Privat MitID": ""})]

    created = await run_job(env, strict, csv_file(rows))
    updated = await run_job(env, strict, csv_file([{
        "Bruger-UUID": by_email["ase1@example.dk"]["uuid"], "E-mail": "ase1@example.dk", "Privat MitID": "Ja",
        "Segldannelse": "Ja",
    }]), "UPDATE")

    assert errors_of(created) == [
        (2, "Anonym", "ANONYMITY_NOT_ALLOWED"), (3, "Privat MitID", "AUTHENTICATOR_NOT_ALLOWED"),
        (4, "Underskrift", "SIGNING_NOT_ALLOWED"),
    ]
    assert sorted(errors_of(updated), key=str) == [
        (2, "Privat MitID", "AUTHENTICATOR_NOT_ALLOWED"), (2, "Segldannelse", "SIGNING_NOT_ALLOWED"),
    ]
    assert await org_snapshot(env, strict) == before


async def test_a_cpr_already_in_the_organisation_is_a_duplicate_but_a_deleted_users_email_is_free(
    env: Env, org: OrgFixture
) -> None:
    first = await created_ok(env, org, [person(1), person(2)])
    gone = await run_job(
        env, org, csv_file([{"Bruger-UUID": first["ase2@example.dk"]["uuid"], "E-mail": "ase2@example.dk"}]), "DELETE"
    )
    assert gone["status"] == "SUCCEEDED", gone
    before = await org_snapshot(env, org)

    job = await run_job(env, org, csv_file([person(3, **{"CPR-nummer": person(1)["CPR-nummer"]}), person(4)]))

    assert job["status"] == "FAILED"
    assert errors_of(job) == [(2, "CPR-nummer", "DUPLICATE_CPR")]
    assert await org_snapshot(env, org) == before
    again = await run_job(env, org, csv_file([person(2)]))
    assert again["status"] == "SUCCEEDED", again


async def test_danish_letters_and_quoted_fields_with_semicolons_are_read_exactly(env: Env, org: OrgFixture) -> None:
    row = line_of(person(1, Fornavn="Æbelø-Åse", Efternavn="PLACEHOLDER", Reference="PLACEHOLDER2"))
    row = row.replace("PLACEHOLDER2", '"Afd. ""Nord""; lokale 2"').replace("PLACEHOLDER", '"Sørensen; jr."')

    job = await run_job(env, org, raw_file([row]))

    assert job["status"] == "SUCCEEDED", job
    user = (await listed_users(env, org))["ase1@example.dk"]
    assert (user["firstName"], user["lastName"], user["reference"]) == (
        "Æbelø-Åse", "Sørensen; jr.", 'Afd. "Nord"; lokale 2'
    )


async def test_empty_trailing_lines_are_ignored_and_bom_less_or_lf_files_work(env: Env, org: OrgFixture) -> None:
    trailing = raw_file([line_of(person(1)), line_of(person(2)), "", ";;;;;;;;;;;;;;", "   ", ""])
    bomless = csv_file([person(3)], bom=False)
    lf_only = raw_file([line_of(person(4)), ""], bom=False, newline="\n")

    results = [await run_job(env, org, content) for content in (trailing, bomless, lf_only)]

    assert [(j["status"], j["result"]["created"], j["progress"]["total"]) for j in results] == [
        ("SUCCEEDED", 2, 2), ("SUCCEEDED", 1, 1), ("SUCCEEDED", 1, 1)
    ]
    assert {f"ase{i}@example.dk" for i in range(1, 5)} <= set(await listed_users(env, org, status="CREATED"))


# --- dry run and all-or-nothing -------------------------------------------------------------------


async def test_a_dry_run_validates_and_reports_but_writes_nothing(env: Env, org: OrgFixture) -> None:
    before = await org_snapshot(env, org)

    job = await run_job(env, org, csv_file([person(i) for i in range(7)]), dry=True)

    assert job["status"] == "SUCCEEDED", job
    assert (job["result"]["dryRun"], job["result"]["created"], job["result"]["total"]) == (True, 7, 7)
    assert job["result"]["affectedUserCount"] == 0
    assert await org_snapshot(env, org) == before
    assert await bulk_activities(env, org, "BULK_IMPORT_COMPLETED") == 0


async def test_a_dry_run_of_a_bad_file_reports_the_same_errors_as_a_real_run(env: Env, org: OrgFixture) -> None:
    rows = [person(1), person(2, **{"E-mail": "x"}), person(3, Anonym="Måske"), person(4, **{"E-mail": "ase1@example.dk"})]
    before = await org_snapshot(env, org)

    dry = await run_job(env, org, csv_file(rows), dry=True)
    real = await run_job(env, org, csv_file(rows))

    assert dry["status"] == real["status"] == "FAILED"
    assert dry["rowErrors"] == real["rowErrors"]
    assert errors_of(dry) == [(3, "E-mail", "INVALID_EMAIL"), (4, "Anonym", "INVALID_BOOLEAN"), (5, "E-mail", "DUPLICATE_EMAIL")]
    assert await org_snapshot(env, org) == before


async def test_a_100_row_file_whose_last_row_is_bad_writes_nothing_even_after_earlier_batches(
    env: Env, org: OrgFixture
) -> None:
    rows = [person(i) for i in range(99)] + [person(99, **{"E-mail": "ase0@example.dk"})]
    before = await org_snapshot(env, org)
    limits = env.services.bulk.limits
    env.services.bulk.limits = dataclasses.replace(limits, batch_size=10)  # nine batches are written first
    try:
        job = await run_job(env, org, csv_file(rows))
    finally:
        env.services.bulk.limits = limits

    assert job["status"] == "FAILED"
    assert errors_of(job) == [(101, "E-mail", "DUPLICATE_EMAIL")]
    assert job["progress"]["total"] == 100
    assert await org_snapshot(env, org) == before


async def test_a_good_file_writes_one_history_entry_per_affected_user_plus_one_for_the_job(
    env: Env, org: OrgFixture
) -> None:
    _, history = await org_snapshot(env, org)
    by_email = await created_ok(env, org, [person(i) for i in range(4)])
    _, after_create = await org_snapshot(env, org)
    assert after_create - history == 4 + 1

    updates = [{"Bruger-UUID": by_email[f"ase{i}@example.dk"]["uuid"], "E-mail": f"ase{i}@example.dk",
                "Reference": "NY" if i < 3 else ""} for i in range(4)]
    updated = await run_job(env, org, csv_file(updates), "UPDATE")
    assert (updated["status"], updated["result"]["updated"], updated["result"]["unchanged"]) == ("SUCCEEDED", 3, 1)
    _, after_update = await org_snapshot(env, org)
    assert after_update - after_create == 3 + 1

    deleted = await run_job(env, org, csv_file(updates[:2]), "DELETE")
    assert (deleted["status"], deleted["result"]["deleted"]) == ("SUCCEEDED", 2)
    _, after_delete = await org_snapshot(env, org)
    assert after_delete - after_update == 2 + 1
    assert await bulk_activities(env, org, "BULK_IMPORT_COMPLETED") == 3
    assert await bulk_activities(env, org, "USER_UPDATED") == 3
    assert await bulk_activities(env, org, "USER_DELETED") == 2


# --- sending imported users for activation --------------------------------------------------------


async def test_sending_all_imported_emails_exactly_the_cpr_users_and_leaves_date_of_birth_users_to_send_one_by_one(
    env: Env, org: OrgFixture
) -> None:
    tag = f"{org.cvr}.{env.backend}"  # the SMTP server is shared by every test
    cpr_rows = [person(i, **{"E-mail": f"cpr{i}.{tag}@example.dk"}) for i in range(60)]
    dob_rows = [dob_person(i, **{"E-mail": f"dob{i}.{tag}@example.dk"}) for i in range(40)]
    rows = [r for pair in zip(cpr_rows[:40], dob_rows, strict=True) for r in pair] + cpr_rows[40:]
    by_email = await created_ok(env, org, rows)
    cpr_emails = {r["E-mail"] for r in cpr_rows}
    dob_emails = {r["E-mail"] for r in dob_rows}
    token = uadmin(env, org)

    body = await env.gql(SEND, {"input": {"allImported": True}}, token=token)

    payload = body["data"]["sendUsersForActivation"]
    assert payload["userErrors"] == []
    assert {u["email"] for u in payload["sent"]} == cpr_emails and len(payload["sent"]) == 60
    assert {u["email"] for u in payload["needsIndividualSending"]} == dob_emails
    assert payload["codes"] == []
    for address in sorted(cpr_emails):
        [mail] = await env.mail.wait_for(address)
        assert "/activate?token=" in mail.get_payload(decode=True).decode()
    await asyncio.sleep(0.3)  # a mail to anyone else would have gone out with these
    assert [m["To"] for m in env.mail.messages if tag in (m["To"] or "") and m["To"] not in cpr_emails] == []
    assert set(await listed_users(env, org, status="CREATED")) == dob_emails
    after = await listed_users(env, org)
    assert {after[e]["status"] for e in cpr_emails} == {"PENDING_ACTIVATION"}

    again = (await env.gql(SEND, {"input": {"allImported": True}}, token=token))["data"]["sendUsersForActivation"]
    assert (again["sent"], len(again["needsIndividualSending"])) == ([], 40)

    two = [by_email[f"dob{i}.{tag}@example.dk"]["id"] for i in (0, 1)]
    sent = (await env.gql(SEND, {"input": {"userIds": two}}, token=token))["data"]["sendUsersForActivation"]
    assert sent["userErrors"] == []
    assert [c["user"]["id"] for c in sent["codes"]] == two
    for code in sent["codes"]:
        activation = {"userId": code["user"]["id"], "code": code["temporaryActivationCode"]}
        first = (await env.gql(ACTIVATE, {"input": activation}))["data"]["activateUser"]
        second = (await env.gql(ACTIVATE, {"input": activation}))["data"]["activateUser"]
        assert first["activated"] is True and first["userErrors"] == []
        assert (second["activated"], second["userErrors"]) == (False, [{"code": "INVALID_ACTIVATION"}])
    assert env.mail.to(f"dob0.{tag}@example.dk") == []
    assert set(await listed_users(env, org, status="CREATED")) == dob_emails - {
        f"dob0.{tag}@example.dk", f"dob1.{tag}@example.dk"
    }


async def test_send_users_for_activation_needs_user_ids_or_all_imported_and_only_unactivated_users(
    env: Env, org: OrgFixture, other_org: OrgFixture
) -> None:
    by_email = await created_ok(env, org, [dob_person(1)])
    imported = by_email["bo1@example.dk"]["id"]
    active = (await listed_users(env, org))[org.emails[Role.USER]]["id"]
    foreign = (await listed_users(env, other_org))[other_org.emails[Role.USER]]["id"]
    before = await org_snapshot(env, org)
    cases = [
        ({"userIds": [imported], "allImported": True}, [(["allImported"], "MORE_THAN_ONE_SELECTOR")]),
        ({}, [(["userIds"], "SELECTOR_REQUIRED")]),
        ({"allImported": False}, [(["userIds"], "SELECTOR_REQUIRED")]),
        ({"userIds": [imported, active]}, [(["userIds", "1"], "INVALID_STATUS")]),
        ({"userIds": [foreign, imported]}, [(["userIds", "0"], "NOT_FOUND")]),
    ]
    for input_, expected in cases:
        body = await env.gql(SEND, {"input": input_}, token=uadmin(env, org))
        payload = body["data"]["sendUsersForActivation"]
        assert [(e["field"], e["code"]) for e in payload["userErrors"]] == expected, input_
        assert (payload["sent"], payload["codes"]) == ([], [])
    assert await org_snapshot(env, org) == before


# --- UPDATE and DELETE ----------------------------------------------------------------------------


async def test_update_identifies_users_by_each_pair_of_identifiers_and_changes_only_filled_cells(
    env: Env, org: OrgFixture
) -> None:
    phones = {"Telefonnummer": "+45 22334455", "Reference": "GAMMEL"}
    by_email = await created_ok(env, org, [person(i, **phones) for i in range(1, 4)])
    uid = {i: by_email[f"ase{i}@example.dk"]["uuid"] for i in range(1, 4)}
    cpr = {i: person(i)["CPR-nummer"] for i in range(1, 4)}
    rows = [
        {"Bruger-UUID": uid[1], "CPR-nummer": cpr[1], "Fornavn": "Ulla"},
        {"Bruger-UUID": uid[2], "E-mail": "ase2@example.dk", "Reference": "NY-2"},
        {"CPR-nummer": cpr[3].replace("-", ""), "E-mail": "ASE3@example.dk", "Efternavn": "Ødegård"},
    ]

    job = await run_job(env, org, csv_file(rows), "UPDATE")

    assert job["status"] == "SUCCEEDED", job
    assert (job["result"]["updated"], job["result"]["unchanged"], job["result"]["affectedUserCount"]) == (3, 0, 3)
    after = await listed_users(env, org)  # by email: ASE3@ identified the user and did not change the address
    got = [(after[f"ase{i}@example.dk"]["firstName"], after[f"ase{i}@example.dk"]["lastName"],
            after[f"ase{i}@example.dk"]["phone"], after[f"ase{i}@example.dk"]["reference"]) for i in range(1, 4)]
    assert got == [
        ("Ulla", "Sørensen", "+4522334455", "GAMMEL"),
        ("Åse2", "Sørensen", "+4522334455", "NY-2"),
        ("Åse3", "Ødegård", "+4522334455", "GAMMEL"),
    ]


async def test_update_with_uuid_and_cpr_may_change_the_email(env: Env, org: OrgFixture) -> None:
    by_email = await created_ok(env, org, [person(1), person(2)])
    row = {"Bruger-UUID": by_email["ase1@example.dk"]["uuid"], "CPR-nummer": person(1)["CPR-nummer"],
           "E-mail": "ny.adresse@example.dk"}

    job = await run_job(env, org, csv_file([row]), "UPDATE")

    assert job["status"] == "SUCCEEDED", job
    after = await listed_users(env, org)
    assert after["ny.adresse@example.dk"]["uuid"] == by_email["ase1@example.dk"]["uuid"]
    assert "ase1@example.dk" not in after


async def test_bad_update_rows_are_all_reported_and_nothing_changes(env: Env, org: OrgFixture) -> None:
    by_email = await created_ok(env, org, [person(i) for i in range(1, 5)])
    uid = {i: by_email[f"ase{i}@example.dk"]["uuid"] for i in range(1, 5)}
    cpr = {i: person(i)["CPR-nummer"] for i in range(1, 5)}
    rows = [
        {"Bruger-UUID": uid[1], "E-mail": "ase1@example.dk", "Fornavn": "God"},  # 2: good
        {"E-mail": "ase1@example.dk", "Fornavn": "Kun"},  # 3: one identifier
        {"Bruger-UUID": uid[2], "E-mail": "ase3@example.dk"},  # 4: two different users
        {"Bruger-UUID": "00000000-0000-4000-8000-000000000000", "E-mail": "ase2@example.dk"},  # 5: unknown UUID
        {"CPR-nummer": "010203-4444", "E-mail": "ase2@example.dk"},  # 6: unknown CPR
        {"Bruger-UUID": uid[2], "E-mail": "ukendt@example.dk"},  # 7: unknown email
        {"Bruger-UUID": uid[3], "CPR-nummer": cpr[3], "Anonym": "Ja"},  # 8: anonymity is fixed
        {"Bruger-UUID": uid[1], "CPR-nummer": cpr[1]},  # 9: line 2's user again
        {"Bruger-UUID": uid[4], "CPR-nummer": cpr[4], "E-mail": "ase2@example.dk"},  # 10: another's email
        {"Bruger-UUID": "ikke-en-uuid", "CPR-nummer": "991399-1234"},  # 11: malformed identifiers
        {"Bruger-UUID": uid[2], "CPR-nummer": cpr[2], "Fødselsdato": "01-01-1990", "Telefonnummer": "12"},  # 12
    ]
    before = await org_snapshot(env, org)

    job = await run_job(env, org, csv_file(rows), "UPDATE")

    assert job["status"] == "FAILED"
    assert sorted(errors_of(job), key=lambda e: (e[0] or 0, e[1] or "")) == [
        (3, None, "IDENTIFICATION_REQUIRED"),
        (4, None, "IDENTIFIERS_MISMATCH"),
        (5, "Bruger-UUID", "NOT_FOUND"),
        (6, "CPR-nummer", "NOT_FOUND"),
        (7, "E-mail", "NOT_FOUND"),
        (8, "Anonym", "ANONYMITY_FIXED"),
        (9, None, "DUPLICATE_ROW"),
        (10, "E-mail", "DUPLICATE_EMAIL"),
        (11, "Bruger-UUID", "INVALID_UUID"),
        (11, "CPR-nummer", "INVALID_CPR"),
        (12, "Fødselsdato", "NOT_EDITABLE"),
        (12, "Telefonnummer", "INVALID_PHONE"),
    ]
    assert "line 2" in next(e["message"] for e in job["rowErrors"] if e["code"] == "DUPLICATE_ROW")
    assert await org_snapshot(env, org) == before


async def test_delete_identifies_users_by_each_pair_and_they_vanish_from_users(env: Env, org: OrgFixture) -> None:
    by_email = await created_ok(env, org, [person(i) for i in range(1, 5)])
    uid = {i: by_email[f"ase{i}@example.dk"]["uuid"] for i in range(1, 5)}
    rows = [
        {"Bruger-UUID": uid[1], "CPR-nummer": person(1)["CPR-nummer"]},
        {"Bruger-UUID": uid[2], "E-mail": "ase2@example.dk"},
        {"CPR-nummer": person(3)["CPR-nummer"], "E-mail": "ase3@example.dk"},
    ]

    job = await run_job(env, org, csv_file(rows), "DELETE")

    assert job["status"] == "SUCCEEDED", job
    assert (job["result"]["deleted"], job["result"]["affectedUserCount"]) == (3, 3)
    remaining = await listed_users(env, org)
    assert {f"ase{i}@example.dk" for i in range(1, 5)} & set(remaining) == {"ase4@example.dk"}
    assert await env.count_rows(
        users, users.c.org_id == org.org_id, users.c.status == "DELETED", users.c.deleted_at.is_not(None)
    ) == 3
    assert set(await listed_users(env, org, status="DELETED")) == {f"ase{i}@example.dk" for i in range(1, 4)}


async def test_bad_delete_rows_are_all_reported_and_nothing_is_deleted(env: Env, org: OrgFixture) -> None:
    by_email = await created_ok(env, org, [person(1), person(2)])
    admin = org.people[Role.USER_ADMINISTRATOR]
    rows = [
        {"Bruger-UUID": by_email["ase1@example.dk"]["uuid"], "E-mail": "ase1@example.dk"},  # 2: good
        {"Bruger-UUID": by_email["ase2@example.dk"]["uuid"]},  # 3: one identifier
        {"Bruger-UUID": by_email["ase2@example.dk"]["uuid"], "E-mail": "ase1@example.dk"},  # 4: two users
        {"CPR-nummer": "010203-4444", "E-mail": "ase2@example.dk"},  # 5: unknown CPR
        {"Bruger-UUID": str(admin), "E-mail": org.emails[Role.USER_ADMINISTRATOR]},  # 6: oneself
        {"CPR-nummer": person(1)["CPR-nummer"], "E-mail": "ase1@example.dk"},  # 7: line 2's user again
    ]
    before = await org_snapshot(env, org)

    job = await run_job(env, org, csv_file(rows), "DELETE")

    assert job["status"] == "FAILED"
    assert errors_of(job) == [
        (3, None, "IDENTIFICATION_REQUIRED"),
        (4, None, "IDENTIFIERS_MISMATCH"),
        (5, "CPR-nummer", "NOT_FOUND"),
        (6, None, "CANNOT_DELETE_SELF"),
        (7, None, "DUPLICATE_ROW"),
    ]
    assert await org_snapshot(env, org) == before


async def test_a_foreign_organisations_user_in_a_file_is_not_found_and_unchanged(
    env: Env, org: OrgFixture, other_org: OrgFixture
) -> None:
    foreign_id, foreign_email = str(other_org.people[Role.USER]), other_org.emails[Role.USER]
    foreign_before = await org_snapshot(env, other_org)
    ours_before = await org_snapshot(env, org)
    for op, extra in (("UPDATE", {"Fornavn": "Kapret", "Telefonnummer": "+45 99999999"}), ("DELETE", {})):
        row = {"Bruger-UUID": foreign_id, "E-mail": foreign_email, **extra}

        job = await run_job(env, org, csv_file([row]), op)

        assert job["status"] == "FAILED"
        assert errors_of(job) == [(2, "Bruger-UUID", "NOT_FOUND")]
    assert await org_snapshot(env, other_org) == foreign_before
    assert await org_snapshot(env, org) == ours_before


# --- who may see and do what ----------------------------------------------------------------------


async def test_a_user_administrator_of_another_organisation_cannot_read_the_job(
    env: Env, org: OrgFixture, other_org: OrgFixture
) -> None:
    job = await run_job(env, org, csv_file([person(1)]))
    query = "query($id: ID!) { bulkJob(id: $id) { id } node(id: $id) { id } }"

    own = await env.gql(query, {"id": job["id"]}, token=uadmin(env, org))
    foreign = await env.gql(query, {"id": job["id"]}, token=uadmin(env, other_org))

    assert own == {"data": {"bulkJob": {"id": job["id"]}, "node": {"id": job["id"]}}}
    assert foreign == {"data": {"bulkJob": None, "node": None}}


async def test_a_plain_user_may_neither_import_nor_read_jobs(env: Env, org: OrgFixture) -> None:
    job = await run_job(env, org, csv_file([person(1)]))
    token = token_for(env, org, Role.USER)
    before = await org_snapshot(env, org)

    read = await env.gql(JOB, {"id": job["id"]}, token=token)
    node = await env.gql("query($id: ID!) { node(id: $id) { id } }", {"id": job["id"]}, token=token)
    upload = await import_payload(env, token, csv_file([person(2)]))

    assert read["data"] == {"bulkJob": None}
    assert [e["extensions"]["code"] for e in read["errors"]] == ["FORBIDDEN"]
    assert node == {"data": {"node": None}}
    assert upload["data"] is None
    assert [e["extensions"]["code"] for e in upload["errors"]] == ["FORBIDDEN"]
    assert await org_snapshot(env, org) == before


async def test_the_administrator_is_notified_when_a_job_succeeds_and_when_it_fails(env: Env, org: OrgFixture) -> None:
    async def finished() -> list[str]:
        body = await env.gql(NOTIFICATIONS, token=uadmin(env, org))
        return [e["node"]["title"] for e in body["data"]["notifications"]["edges"]
                if e["node"]["kind"] == "BULK_JOB_FINISHED"]

    assert await finished() == []
    ok = await run_job(env, org, csv_file([person(1)]))
    assert ok["status"] == "SUCCEEDED"
    assert await finished() == ["CSV import completed"]

    bad = await run_job(env, org, csv_file([person(2, **{"E-mail": "x"})]))
    assert bad["status"] == "FAILED"
    assert sorted(await finished()) == ["CSV import completed", "CSV import failed"]

    other = await env.gql(NOTIFICATIONS, token=token_for(env, org, Role.ORGANISATION_ADMINISTRATOR))
    assert [e for e in other["data"]["notifications"]["edges"] if e["node"]["kind"] == "BULK_JOB_FINISHED"] == []


async def test_a_multipart_request_without_authorization_is_refused_with_401_before_parsing(
    env: Env, org: OrgFixture
) -> None:
    before = await org_snapshot(env, org)
    proper = await env.upload(IMPORT, {"file": None, "op": "CREATE", "dry": False}, "file", csv_file([person(1)]),
                              token=None)
    garbage = await env.client.post(
        "/graphql", content=b"not multipart at all", headers={"Content-Type": "multipart/form-data; boundary=zz"}
    )

    for response in (proper, garbage):
        assert response.status_code == 401
        assert response.json()["errors"][0]["extensions"]["code"] == "UNAUTHENTICATED"
    assert await org_snapshot(env, org) == before


async def test_a_multipart_request_with_an_invalid_token_is_unauthenticated_and_queues_nothing(
    env: Env, org: OrgFixture
) -> None:
    uploads = list(Path(env.settings.upload_dir).iterdir())

    # The upload guard verifies the token before the body is read: a 401 at the door.
    response = await env.upload(IMPORT, {"file": None, "op": "CREATE", "dry": False}, "file",
                                csv_file([person(1)]), token="not-a-token")
    assert response.status_code == 401, response.text
    body = response.json()

    assert body["data"] is None
    assert [e["extensions"]["code"] for e in body["errors"]] == ["UNAUTHENTICATED"]
    assert list(Path(env.settings.upload_dir).iterdir()) == uploads


async def test_the_uploaded_file_is_removed_when_the_job_ends(env: Env, org: OrgFixture) -> None:
    folder = Path(env.settings.upload_dir)
    for content, dry in ((csv_file([person(1)]), False), (csv_file([person(2)]), True), (b"x;y", False)):
        job = await run_job(env, org, content, dry=dry)
        assert job["status"] in ("SUCCEEDED", "FAILED")
        for _ in range(20):
            if not any(folder.iterdir()):
                break
            await asyncio.sleep(0.05)
        assert list(folder.iterdir()) == [], job


# --- duplicates across batches: the job's scratch store, not memory ---------------------------------------


async def _errors_with_batch_size(env: Env, org: OrgFixture, data: bytes, operation: str, size: int) -> list[dict[str, Any]]:
    limits = env.services.bulk.limits
    env.services.bulk.limits = dataclasses.replace(limits, batch_size=size)
    try:
        job = await run_job(env, org, data, operation, dry=True)
    finally:
        env.services.bulk.limits = limits
    assert job["status"] == "FAILED"
    # Errors come batch by batch (each batch's own checks first): compare them in line order.
    return sorted(job["rowErrors"], key=lambda e: (e["line"] or 0, e["column"] or "", e["code"]))


async def test_duplicates_in_a_file_are_found_whatever_batch_they_fall_in(env: Env, org: OrgFixture) -> None:
    """The same errors, messages and lines with batches of 2 and 3 rows as with one batch of 1000:
    e-mails and CPR numbers repeated in CREATE, users and new e-mails repeated in UPDATE."""
    create = [
        person(1), person(2), person(3, **{"E-mail": "ASE1@example.dk"}),  # 4: line 2's email (case differs)
        person(4, **{"CPR-nummer": person(2)["CPR-nummer"]}),  # 5: line 3's CPR
        person(5, **{"E-mail": "ase2@example.dk", "CPR-nummer": person(1)["CPR-nummer"]}),  # 6: email first
        person(6), person(7, **{"CPR-nummer": person(6)["CPR-nummer"]}),  # 8: line 7's CPR
    ]
    errors = {size: await _errors_with_batch_size(env, org, csv_file(create), "CREATE", size) for size in (1000, 2, 3)}
    assert errors[2] == errors[3] == errors[1000]
    assert [(e["line"], e["code"], e["message"]) for e in errors[1000]] == [
        (4, "DUPLICATE_EMAIL", "The email is also on line 2"),
        (5, "DUPLICATE_CPR", "The CPR number is also on line 3"),
        (6, "DUPLICATE_EMAIL", "The email is also on line 3"),
        (8, "DUPLICATE_CPR", "The CPR number is also on line 7"),
    ]

    by_email = await created_ok(env, org, [person(i) for i in range(10, 14)])
    uid = {i: by_email[f"ase{i}@example.dk"]["uuid"] for i in range(10, 14)}
    cpr = {i: person(i)["CPR-nummer"] for i in range(10, 14)}
    update = [
        {"Bruger-UUID": uid[10], "CPR-nummer": cpr[10], "E-mail": "ny@example.dk"},  # 2
        {"Bruger-UUID": uid[11], "CPR-nummer": cpr[11], "Fornavn": "Anden"},  # 3
        {"Bruger-UUID": uid[12], "CPR-nummer": cpr[12], "Fornavn": "Tredje"},  # 4
        {"Bruger-UUID": uid[13], "CPR-nummer": cpr[13], "E-mail": "ny@example.dk"},  # 5: line 2's new email
        {"Bruger-UUID": uid[11], "E-mail": "ase11@example.dk", "Fornavn": "Igen"},  # 6: line 3's user
    ]
    errors = {size: await _errors_with_batch_size(env, org, csv_file(update), "UPDATE", size) for size in (1000, 2, 3)}
    assert errors[2] == errors[3] == errors[1000]
    assert [(e["line"], e["code"]) for e in errors[1000]] == [(5, "DUPLICATE_EMAIL"), (6, "DUPLICATE_ROW")]
    assert "line 3" in errors[1000][1]["message"]


# --- files as people save them: dates, every error of a row, the template's example ----------------

BIRTH_DATES = "query { users(first: 500) { edges { node { email dateOfBirth } } } }"


async def test_a_date_of_birth_may_be_iso_or_day_first_and_an_impossible_one_is_invalid_at_its_cell(
    env: Env, org: OrgFixture
) -> None:
    rows = [dob_person(1, **{"Fødselsdato": "04-03-1979"}), dob_person(2, **{"Fødselsdato": "1979-03-04"}),
            dob_person(3, **{"Fødselsdato": "4.3.1979"}), dob_person(4, **{"Fødselsdato": " 4-3-1979 "})]
    job = await run_job(env, org, csv_file(rows))
    assert job["status"] == "SUCCEEDED", job
    body = await env.gql(BIRTH_DATES, token=uadmin(env, org))
    births = {e["node"]["email"]: e["node"]["dateOfBirth"] for e in body["data"]["users"]["edges"]}
    assert [births[f"bo{i}@example.dk"] for i in (1, 2, 3, 4)] == ["1979-03-04"] * 4

    before = await org_snapshot(env, org)
    bad = [dob_person(5), dob_person(6, **{"Fødselsdato": "31-02-1990"}), dob_person(7, **{"Fødselsdato": "04/03/1979"}),
           dob_person(8, **{"Fødselsdato": "04-03-79"})]
    failed = await run_job(env, org, csv_file(bad))
    assert failed["status"] == "FAILED"
    assert errors_of(failed) == [(3, "Fødselsdato", "INVALID_DATE"), (4, "Fødselsdato", "INVALID_DATE"),
                                 (5, "Fødselsdato", "INVALID_DATE")]
    assert "31-02-1990" in failed["rowErrors"][0]["message"]
    assert await org_snapshot(env, org) == before


async def test_a_row_reports_every_bad_cell_and_errors_are_listed_by_line_then_column(
    env: Env, org: OrgFixture
) -> None:
    before = await org_snapshot(env, org)
    rows = [
        person(1, **{"E-mail": org.emails[Role.USER]}),  # 2: already in the organisation (checked last)
        person(2, Anonym="Måske", Underskrift="jo", **{"E-mail": "ikke en adresse"}),  # 3: three bad cells
        person(3, **{"CPR-nummer": "320190-1234"}),  # 4
    ]

    job = await run_job(env, org, csv_file(rows))

    assert job["status"] == "FAILED"
    assert errors_of(job) == [
        (2, "E-mail", "DUPLICATE_EMAIL"),
        (3, "E-mail", "INVALID_EMAIL"), (3, "Anonym", "INVALID_BOOLEAN"), (3, "Underskrift", "INVALID_BOOLEAN"),
        (4, "CPR-nummer", "INVALID_CPR"),
    ]
    assert job["errorCount"] == 5
    assert await org_snapshot(env, org) == before


async def test_an_update_row_with_a_bad_ja_nej_cell_still_reports_its_other_bad_cells(
    env: Env, org: OrgFixture
) -> None:
    by_email = await created_ok(env, org, [person(1)])
    before = await org_snapshot(env, org)
    row = {"Bruger-UUID": by_email["ase1@example.dk"]["uuid"], "E-mail": "ase1@example.dk", "Underskrift": "Måske",
           "Telefonnummer": "12", "Segldannelse": "x"}

    job = await run_job(env, org, csv_file([row]), op="UPDATE")

    assert errors_of(job) == [(2, "Telefonnummer", "INVALID_PHONE"), (2, "Underskrift", "INVALID_BOOLEAN"),
                              (2, "Segldannelse", "INVALID_BOOLEAN")]
    assert await org_snapshot(env, org) == before


async def test_the_templates_example_row_shows_the_formats_and_is_ignored_on_import(
    env: Env, org: OrgFixture
) -> None:
    template = (await env.client.get("/templates/users-create.csv")).content
    example = template[len(BOM):].decode("utf-8").split("\r\n")[1].split(";")
    assert example[0].startswith("# Eksempel") and "ignoreres" in example[0]
    assert (example[COLUMNS.index("Fødselsdato")], example[COLUMNS.index("E-mail")]) == (
        "04-03-1979", "eksempel@example.invalid"
    )

    job = await run_job(env, org, template + (line_of(person(1)) + "\r\n").encode("utf-8"))

    assert job["status"] == "SUCCEEDED", job
    assert (job["result"]["created"], job["result"]["total"]) == (1, 1)
    assert await env.count_rows(users, users.c.email == "eksempel@example.invalid") == 0

    # With its mark deleted by hand the example is still no user: its address is on a reserved domain.
    unmarked = ";".join(["", *example[1:]])
    before = await org_snapshot(env, org)
    refused = await run_job(env, org, raw_file([unmarked]))
    assert errors_of(refused) == [(2, "E-mail", "INVALID_EMAIL")]
    assert await org_snapshot(env, org) == before

