"""sendUsersForActivation(input: {jobId}): only the users one import job created, end to end with the
mail sink, and every refusal (unknown or foreign job, not finished, created nobody, selectors)."""

from __future__ import annotations

import asyncio
import datetime as dt
import uuid
from typing import Any

from app.domain.bulk.model import BulkJob, BulkJobStatus
from app.domain.common.principal import Role
from app.schema.runtime.base import to_global_id
from tests.conftest import Env, token_for
from tests.factories import OrgFixture
from tests.test_bulk_import import SEND, csv_file, dob_person, listed_users, org_snapshot, person, run_job

UA = Role.USER_ADMINISTRATOR
DELETE = "mutation($id: ID!) { deleteUser(input: {userId: $id}) { userErrors { code } } }"


def rows(tag: str, prefix: str, cpr_from: int, cpr: int, dob: int) -> list[dict[str, str]]:
    return [person(cpr_from + i, **{"E-mail": f"{prefix}cpr{i}.{tag}@example.dk"}) for i in range(cpr)] + [
        dob_person(i, **{"E-mail": f"{prefix}dob{i}.{tag}@example.dk"}) for i in range(dob)
    ]


async def send(env: Env, org: OrgFixture, input_: dict[str, Any], role: Role = UA) -> dict[str, Any]:
    body = await env.gql(SEND, {"input": input_}, token=token_for(env, org, role))
    assert "errors" not in body, body
    return body["data"]["sendUsersForActivation"]


def codes(payload: dict[str, Any]) -> list[tuple[list[str] | None, str]]:
    return [(e["field"], e["code"]) for e in payload["userErrors"]]


async def test_a_job_id_sends_exactly_the_cpr_users_that_job_created(env: Env, org: OrgFixture) -> None:
    tag = f"{org.cvr}.{env.backend}"  # the SMTP server is shared by every test
    earlier = rows(tag, "b", 0, 3, 0)
    job_b = await run_job(env, org, csv_file(earlier))
    job_a = await run_job(env, org, csv_file(rows(tag, "a", 10, 4, 2)))
    assert (job_b["status"], job_a["status"]) == ("SUCCEEDED", "SUCCEEDED")
    a_cpr = {f"acpr{i}.{tag}@example.dk" for i in range(4)}
    a_dob = {f"adob{i}.{tag}@example.dk" for i in range(2)}
    b_all = {r["E-mail"] for r in earlier}
    # one of A's CPR users is deleted before sending: skipped, not an error
    users = await listed_users(env, org)
    gone = f"acpr3.{tag}@example.dk"
    deleted = await env.gql(DELETE, {"id": users[gone]["id"]}, token=token_for(env, org, UA))
    assert deleted["data"]["deleteUser"]["userErrors"] == []

    payload = await send(env, org, {"jobId": job_a["id"]})

    assert payload["userErrors"] == []
    assert {u["email"] for u in payload["sent"]} == a_cpr - {gone} and len(payload["sent"]) == 3
    assert {u["email"] for u in payload["needsIndividualSending"]} == a_dob
    assert payload["codes"] == []
    for address in sorted(a_cpr - {gone}):
        [mail] = await env.mail.wait_for(address)
        assert "/activate?token=" in mail.get_payload(decode=True).decode()
    await asyncio.sleep(0.3)  # a mail to anyone else would have gone out with these
    assert [m["To"] for m in env.mail.messages if tag in (m["To"] or "") and m["To"] not in a_cpr - {gone}] == []
    after = await listed_users(env, org)
    assert {after[e]["status"] for e in a_cpr - {gone}} == {"PENDING_ACTIVATION"}
    assert {after[e]["status"] for e in b_all | a_dob} == {"CREATED"}
    assert gone in await listed_users(env, org, status="DELETED")

    again = await send(env, org, {"jobId": job_a["id"]})  # nothing left to send: not an error
    assert (again["userErrors"], again["sent"], {u["email"] for u in again["needsIndividualSending"]}) == (
        [], [], a_dob)

    earlier_job = await send(env, org, {"jobId": job_b["id"]})
    assert {u["email"] for u in earlier_job["sent"]} == b_all
    for address in sorted(b_all):
        await env.mail.wait_for(address)


async def test_a_job_that_is_unknown_foreign_or_not_a_job_is_not_found(
    env: Env, org: OrgFixture, other_org: OrgFixture
) -> None:
    foreign_job = await run_job(env, other_org, csv_file(rows(f"{other_org.cvr}.{env.backend}", "f", 0, 1, 0)))
    assert foreign_job["status"] == "SUCCEEDED"
    before, foreign_before = await org_snapshot(env, org), await org_snapshot(env, other_org)
    for job_id in (foreign_job["id"], to_global_id("BulkJob", uuid.uuid4()), "not an id",
                   to_global_id("User", org.people[UA]), to_global_id("BulkJob", "42")):
        payload = await send(env, org, {"jobId": job_id})
        assert codes(payload) == [(["jobId"], "NOT_FOUND")], job_id
        assert (payload["sent"], payload["needsIndividualSending"]) == ([], [])
    assert await org_snapshot(env, org) == before
    assert await org_snapshot(env, other_org) == foreign_before


async def test_a_job_that_has_not_finished_is_refused(env: Env, org: OrgFixture) -> None:
    job = BulkJob(
        id=uuid.uuid4(), org_id=org.org_id, created_by=org.people[UA], operation="CREATE", dry_run=False,
        status=BulkJobStatus.RUNNING, file_name="users.csv", file_path=None, file_size=10,
        created_at=dt.datetime.now(dt.UTC),
    )
    async with env.services.unit_of_work(org.actor(UA)) as uow:
        await uow.bulk_jobs.add(job)
        await uow.commit()
    before = await org_snapshot(env, org)

    payload = await send(env, org, {"jobId": to_global_id("BulkJob", job.id)})

    assert codes(payload) == [(["jobId"], "JOB_NOT_FINISHED")]
    assert await org_snapshot(env, org) == before


async def test_a_job_that_created_nobody_is_refused(env: Env, org: OrgFixture) -> None:
    tag = f"{org.cvr}.{env.backend}"
    created = await run_job(env, org, csv_file(rows(tag, "n", 0, 1, 0)))
    users = await listed_users(env, org)
    one = users[f"ncpr0.{tag}@example.dk"]
    dry = await run_job(env, org, csv_file(rows(tag, "d", 5, 2, 0)), dry=True)
    failed = await run_job(env, org, csv_file([person(9, **{"E-mail": "not an address"})]))
    updated = await run_job(env, org, csv_file([{"Bruger-UUID": one["uuid"], "E-mail": one["email"],
                                                 "Reference": "NY"}]), "UPDATE")
    assert [j["status"] for j in (created, dry, failed, updated)] == ["SUCCEEDED", "SUCCEEDED", "FAILED", "SUCCEEDED"]
    before = await org_snapshot(env, org)

    for job in (dry, failed, updated):
        payload = await send(env, org, {"jobId": job["id"]})
        assert codes(payload) == [(["jobId"], "JOB_CREATED_NO_USERS")], job
    assert await org_snapshot(env, org) == before


async def test_exactly_one_selector_is_taken(env: Env, org: OrgFixture) -> None:
    tag = f"{org.cvr}.{env.backend}"
    job = await run_job(env, org, csv_file(rows(tag, "s", 0, 1, 0)))
    imported = (await listed_users(env, org))[f"scpr0.{tag}@example.dk"]["id"]
    before = await org_snapshot(env, org)
    for input_, expected in [
        ({"jobId": job["id"], "allImported": True}, [(["jobId"], "MORE_THAN_ONE_SELECTOR")]),
        ({"jobId": job["id"], "userIds": [imported]}, [(["jobId"], "MORE_THAN_ONE_SELECTOR")]),
        ({"jobId": job["id"], "userIds": [], "allImported": True}, [(["allImported"], "MORE_THAN_ONE_SELECTOR")]),
        ({"jobId": None}, [(["userIds"], "SELECTOR_REQUIRED")]),
    ]:
        payload = await send(env, org, input_)
        assert codes(payload) == expected, input_
        assert (payload["sent"], payload["codes"]) == ([], [])
    assert await org_snapshot(env, org) == before


async def test_only_user_administrators_send_by_job(env: Env, org: OrgFixture) -> None:
    job = await run_job(env, org, csv_file(rows(f"{org.cvr}.{env.backend}", "r", 0, 1, 0)))
    before = await org_snapshot(env, org)
    for role in (Role.RIGHTS_ADMINISTRATOR, Role.ORGANISATION_ADMINISTRATOR, Role.USER):
        body = await env.gql(SEND, {"input": {"jobId": job["id"]}}, token=token_for(env, org, role))
        assert body["data"] is None
        assert body["errors"][0]["extensions"]["code"] == "FORBIDDEN"
    assert await org_snapshot(env, org) == before
