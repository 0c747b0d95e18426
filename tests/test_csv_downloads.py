"""Every CSV download speaks one dialect (app/domain/common/csv_files.py): the UTF-8 BOM first (Excel
reads `;`-separated UTF-8 with Danish letters correctly only with it), `;` between cells, CRLF after
every line, `text/csv; charset=utf-8`."""

from __future__ import annotations

import csv
import io

import httpx

from app.domain.bulk.csv_file import COLUMNS
from app.domain.common.principal import Role
from tests.conftest import Env, token_for
from tests.factories import OrgFixture

BOM = b"\xef\xbb\xbf"

CREATE_USER = """mutation { createUser(input: {firstName: "Søren", lastName: "Ærø", email: "soeren.aeroe@example.dk",
  dateOfBirth: "1990-01-01"}) { userErrors { code } } }"""
ORDER_ORG = """mutation($input: OrderOrganisationCertificateInput!) { orderOrganisationCertificate(input: $input) {
  userErrors { code } } }"""


def table_of(response: httpx.Response) -> list[list[str]]:
    """The download's rows, after checking the dialect byte by byte."""
    assert response.status_code == 200, response.text
    assert response.headers["content-type"] == "text/csv; charset=utf-8"
    assert "attachment" in response.headers["content-disposition"]
    body = response.content
    assert body.startswith(BOM)
    assert body.endswith(b"\r\n")
    assert b"\n" not in body.replace(b"\r\n", b"")  # no bare line feed between lines
    text = body[len(BOM):].decode("utf-8")
    rows = list(csv.reader(io.StringIO(text, newline=""), delimiter=";", strict=True))
    assert len(rows[0]) > 1 and all(";" not in cell for cell in rows[0])
    return rows


async def test_every_template_starts_with_the_bom_and_uses_the_semicolon_crlf_dialect(env: Env) -> None:
    for operation in ("create", "update", "delete"):
        rows = table_of(await env.client.get(f"/templates/users-{operation}.csv"))

        assert rows[0] == list(COLUMNS)
        assert len(rows) == 2 and rows[1][0].startswith("#") and len(rows[1]) == len(COLUMNS)


async def test_the_activity_export_starts_with_the_bom_and_keeps_danish_letters(env: Env, org: OrgFixture) -> None:
    ua = token_for(env, org, Role.USER_ADMINISTRATOR)
    assert (await env.gql(CREATE_USER, token=ua))["data"]["createUser"]["userErrors"] == []

    rows = table_of(await env.client.get("/exports/activities.csv", headers={"Authorization": f"Bearer {ua}"}))

    assert rows[0][:3] == ["id", "occurredAt", "type"]
    assert any(cell == "Søren Ærø" for row in rows[1:] for cell in row)


async def test_the_certificate_export_starts_with_the_bom_and_keeps_danish_letters(env: Env, org: OrgFixture) -> None:
    ua = token_for(env, org, Role.USER_ADMINISTRATOR)
    order = {"name": "Løn og personale", "email": f"loen.{org.cvr}@example.dk", "contactName": "Åse Kontakt",
             "contactEmail": "aase@example.dk"}
    body = await env.gql(ORDER_ORG, {"input": order}, token=ua)
    assert body["data"]["orderOrganisationCertificate"]["userErrors"] == []

    rows = table_of(await env.client.get("/exports/certificates.csv", headers={"Authorization": f"Bearer {ua}"}))

    assert rows[0][:3] == ["id", "uuid", "kind"]
    assert len(rows) == 2
    assert "Løn og personale" in rows[1] and "Åse Kontakt" in rows[1]


async def test_an_empty_certificate_export_is_the_bom_and_the_header_line(env: Env, org: OrgFixture) -> None:
    ua = token_for(env, org, Role.USER_ADMINISTRATOR)

    rows = table_of(await env.client.get("/exports/certificates.csv", headers={"Authorization": f"Bearer {ua}"}))

    assert len(rows) == 1 and rows[0][0] == "id"
