"""Hostile files: binary data, 10,000-column rows, giant cells. Each fails its job with a clear
code and writes nothing."""

from __future__ import annotations

import os

import pytest

from app.domain.bulk.csv_file import COLUMNS
from app.persistence.tables.users import users
from tests.conftest import Env
from tests.factories import OrgFixture
from tests.test_bulk_import import csv_file, person, run_job

HEADER = ";".join(COLUMNS).encode()


@pytest.mark.parametrize("name,content,code", [
    ("binary", os.urandom(4096), "UNKNOWN_ENCODING"),
    ("nul bytes", HEADER + b"\r\n;Anne\x00;Hansen" + b";" * 12 + b"\r\n", "BAD_ROW"),
    ("10k-column header", ";".join(f"c{i}" for i in range(10_000)).encode(), "BAD_HEADER"),
    ("10k-column row", HEADER + b"\r\n" + b";".join(b"x" for _ in range(10_000)) + b"\r\n", "WRONG_COLUMN_COUNT"),
    ("giant cell", HEADER + b"\r\n\"" + b"a" * 300_000 + b"\"" + b";" * 14 + b"\r\n", "BAD_ROW"),
])
async def test_hostile_files_fail_with_a_clear_code_and_write_nothing(
    env: Env, org: OrgFixture, name: str, content: bytes, code: str
) -> None:
    before = await env.count_rows(users, users.c.org_id == org.org_id)
    job = await run_job(env, org, content)
    assert job["status"] == "FAILED", (name, job)
    assert job["rowErrors"][0]["code"] == code, (name, job["rowErrors"][:2])
    assert await env.count_rows(users, users.c.org_id == org.org_id) == before


async def test_a_good_file_after_hostile_ones_still_imports(env: Env, org: OrgFixture) -> None:
    job = await run_job(env, org, csv_file([person(1), person(2)]))
    assert job["status"] == "SUCCEEDED" and job["result"]["created"] == 2


async def test_nul_characters_in_graphql_text_are_refused_before_anything_runs(env: Env, org: OrgFixture) -> None:
    from app.domain.common.principal import Role
    from tests.conftest import token_for

    mutation = """mutation($f: String!) { createUser(input: {firstName: $f, lastName: "Nul", email: "nul@example.dk",
      dateOfBirth: "1990-01-01"}) { userErrors { code } } }"""
    body = await env.gql(mutation, {"f": "An\x00ne"}, token=token_for(env, org, Role.USER_ADMINISTRATOR))
    assert body["errors"][0]["extensions"]["code"] == "INVALID_CHARACTERS"
    assert await env.count_rows(users, users.c.email == "nul@example.dk") == 0
