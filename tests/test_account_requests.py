"""Employees' requests for a user account (issue 16): the public form answers the same whatever it
finds, mails a confirmation link where the organisation takes requests, and only confirmed requests
reach the organisation's user administrators, who approve (the user is created and sent for
activation) or reject (the requester is told). Through HTTP on SQLite and PostgreSQL."""

from __future__ import annotations

import asyncio
import datetime as dt
import logging
import random
import re
import time
import uuid
from typing import Any

import httpx
import pytest
from sqlalchemy import select, update

from app.domain.account_requests.rules import (
    ANSWER_FLOOR_SECONDS,
    RATE_LIMITS,
    RequestForm,
    free_text,
    validate_request,
)
from app.domain.common.errors import ValidationFailed
from app.domain.common.organisation import OrganisationSettings
from app.domain.common.principal import Role
from app.domain.common.validation import Errors
from app.persistence.tables.account_requests import user_account_requests
from app.persistence.tables.activity import activities
from app.persistence.tables.outbox import outbox
from app.persistence.tables.users import users
from app.schema.runtime.base import to_global_id
from tests.conftest import Env, token_for
from tests.factories import OrgFixture, fresh_cvr, make_org

REQUEST = """mutation($input: RequestUserAccountInput!) {
  requestUserAccount(input: $input) { accepted userErrors { field code message } } }"""
CONFIRM = """mutation($token: String!) {
  confirmUserAccountRequest(input: {token: $token}) { confirmed userErrors { field code } } }"""
LIST = """query($status: UserAccountRequestStatus) {
  userAccountRequests(status: $status) {
    totalCount pageInfo { hasNextPage endCursor }
    edges { cursor node { id firstName lastName email message status requestedAt confirmedAt decidedAt
                          rejectReason user { uuid status } decidedBy { uuid } } } } }"""
NODE = "query($id: ID!) { node(id: $id) { id ... on UserAccountRequest { email status } } }"
APPROVE = """mutation($input: ApproveUserAccountRequestInput!) {
  approveUserAccountRequest(input: $input) {
    request { id status decidedAt decidedBy { uuid } user { uuid } }
    user { uuid email status identification }
    temporaryActivationCode
    userErrors { field code } } }"""
REJECT = """mutation($input: RejectUserAccountRequestInput!) {
  rejectUserAccountRequest(input: $input) { request { id status rejectReason } userErrors { field code } } }"""
TOKEN = re.compile(r"/account-requests/confirm\?token=([A-Za-z0-9_-]+)")


def _email() -> str:
    return f"medarbejder-{uuid.uuid4().hex[:10]}@example.com"


def _cpr() -> str:
    return f"{random.randint(1, 28):02d}{random.randint(1, 12):02d}{random.randint(40, 99):02d}-" \
           f"{random.randint(0, 3)}{random.randint(0, 999):03d}"


def _form(cvr: str, email: str, **extra: Any) -> dict[str, Any]:
    return {"cvr": cvr, "firstName": "Mette", "lastName": "Medarbejder", "email": email,
            "message": "Jeg er startet i regnskab.\nHilsen Mette", **extra}


class Client:
    """A client of its own address (the form's budgets are per address)."""

    def __init__(self, env: Env) -> None:
        app = env.client._transport.app  # type: ignore[attr-defined]
        ip = f"198.51.{random.randint(0, 255)}.{random.randint(1, 254)}"
        self.http = httpx.AsyncClient(transport=httpx.ASGITransport(app=app, client=(ip, 40000)),
                                      base_url="http://testserver")

    async def post(self, query: str, variables: dict[str, Any]) -> httpx.Response:
        return await self.http.post("/graphql", json={"query": query, "variables": variables})

    async def gql(self, query: str, variables: dict[str, Any]) -> dict[str, Any]:
        response = await self.post(query, variables)
        assert response.status_code == 200, response.text
        return response.json()

    async def aclose(self) -> None:
        await self.http.aclose()


@pytest.fixture
async def client(env: Env) -> Any:
    c = Client(env)
    yield c
    await c.aclose()


@pytest.fixture
async def open_org(env: Env) -> OrgFixture:
    """An organisation whose employees may request a user."""
    return await make_org(env.services, name="Åben ApS", settings=OrganisationSettings(employees_may_request_user=True))


async def _stored(env: Env, email: str) -> list[Any]:
    async with env.engine.connect() as conn:
        return list(await conn.execute(select(user_account_requests).where(user_account_requests.c.email == email)))


async def _request_and_confirm(env: Env, client: Client, org: OrgFixture, email: str, **extra: Any) -> str:
    """Send the form, follow the mailed link's page and press its button; the request's global id."""
    body = await client.gql(REQUEST, {"input": _form(org.cvr, email, **extra)})
    assert body["data"]["requestUserAccount"] == {"accepted": True, "userErrors": []}, body
    token = await _token_mailed(env, email)
    confirmed = await client.http.post("/account-requests/confirm", data={"token": token})
    assert confirmed.status_code == 200, confirmed.text
    (row,) = await _stored(env, email)
    return str(to_global_id("UserAccountRequest", row.id))


async def confirmed_request(env: Env, org: OrgFixture) -> str:
    """A confirmed request in `org` (its organisation administrator allows requests first), sent from
    an address of its own: the request's global id. For other tests needing one (node(id:))."""
    oa = token_for(env, org, Role.ORGANISATION_ADMINISTRATOR)
    allowed = await env.gql("mutation { updateOrganisationSettings(input: {userCreation: "
                            "{employeesMayRequestUser: true}}) { userErrors { code } } }", token=oa)
    assert allowed["data"]["updateOrganisationSettings"]["userErrors"] == [], allowed
    client = Client(env)
    try:
        return await _request_and_confirm(env, client, org, _email())
    finally:
        await client.aclose()


async def _token_mailed(env: Env, email: str) -> str:
    (mail,) = await env.mail.wait_for(email)
    assert mail["Subject"] == "Confirm your request for a MitID Erhverv user"
    found = TOKEN.search(mail.get_payload(decode=True).decode())
    assert found, mail.get_payload(decode=True).decode()
    return found.group(1)


# --- the flow -------------------------------------------------------------------------------------


async def test_a_confirmed_request_approved_by_a_user_administrator_creates_the_user_and_mails_the_activation(
    env: Env, org: OrgFixture, client: Client
) -> None:
    oa, ua = token_for(env, org, Role.ORGANISATION_ADMINISTRATOR), token_for(env, org, Role.USER_ADMINISTRATOR)
    turned_on = await env.gql("mutation { updateOrganisationSettings(input: {userCreation: "
                              "{employeesMayRequestUser: true}}) { userErrors { code } } }", token=oa)
    assert turned_on["data"]["updateOrganisationSettings"]["userErrors"] == []
    email = _email()
    body = await client.gql(REQUEST, {"input": _form(org.cvr, email)})
    assert body["data"]["requestUserAccount"] == {"accepted": True, "userErrors": []}
    token = await _token_mailed(env, email)
    (row,) = await _stored(env, email)
    assert row.status == "PENDING_CONFIRMATION" and row.token_hash == env.services.platform.hash_token(token)
    assert token not in (row.token_hash or "")
    # Not yet visible; opening the link (GET, as a mail scanner does) confirms nothing.
    assert (await env.gql(LIST, token=ua))["data"]["userAccountRequests"]["totalCount"] == 0
    page = await client.http.get(f"/account-requests/confirm?token={token}")
    assert page.status_code == 200 and 'method="post"' in page.text and token in page.text
    assert (await _stored(env, email))[0].status == "PENDING_CONFIRMATION"
    pressed = await client.http.post("/account-requests/confirm", data={"token": token})
    assert pressed.status_code == 200 and "confirmed" in pressed.text
    (row,) = await _stored(env, email)
    assert row.status == "PENDING" and row.token_hash is None and row.confirmed_at is not None

    listed = (await env.gql(LIST, token=ua))["data"]["userAccountRequests"]
    assert listed["totalCount"] == 1 and listed["pageInfo"]["hasNextPage"] is False
    node = listed["edges"][0]["node"]
    request_id = node["id"]
    assert (node["firstName"], node["lastName"], node["email"], node["status"]) == ("Mette", "Medarbejder", email,
                                                                                  "PENDING")
    assert node["message"] == "Jeg er startet i regnskab.\nHilsen Mette" and node["user"] is None
    assert (await env.gql(NODE, {"id": request_id}, token=ua))["data"]["node"] == {
        "id": request_id, "email": email, "status": "PENDING"}

    approved = (await env.gql(APPROVE, {"input": {"requestId": request_id, "cpr": _cpr()}}, token=ua))
    result = approved["data"]["approveUserAccountRequest"]
    assert result["userErrors"] == [], approved
    assert result["user"]["email"] == email and result["user"]["status"] == "PENDING_ACTIVATION"
    assert result["user"]["identification"] == "CPR" and result["temporaryActivationCode"] is None
    assert result["request"]["status"] == "APPROVED" and result["request"]["decidedAt"]
    assert result["request"]["decidedBy"] == {"uuid": str(org.people[Role.USER_ADMINISTRATOR])}
    assert result["request"]["user"] == {"uuid": result["user"]["uuid"]}
    activation = await env.mail.wait_for(email, count=2)
    assert "/activate?token=" in activation[-1].get_payload(decode=True).decode()
    async with env.engine.connect() as conn:
        created = (await conn.execute(select(users.c.status).where(users.c.email == email,
                                                                   users.c.org_id == org.org_id))).scalar_one()
        history = set((await conn.execute(select(activities.c.type).where(activities.c.org_id == org.org_id))).scalars())
    assert created == "PENDING_ACTIVATION"
    assert {"USER_ACCOUNT_REQUESTED", "USER_CREATED", "USER_ACCOUNT_REQUEST_APPROVED"} <= history
    # Deciding twice is refused and changes nothing.
    again = await env.gql(APPROVE, {"input": {"requestId": request_id, "cpr": _cpr()}}, token=ua)
    assert again["data"]["approveUserAccountRequest"]["userErrors"] == [{"field": ["requestId"],
                                                                        "code": "ALREADY_DECIDED"}]
    rejected = await env.gql(REJECT, {"input": {"requestId": request_id}}, token=ua)
    assert rejected["data"]["rejectUserAccountRequest"]["userErrors"] == [{"field": ["requestId"],
                                                                          "code": "ALREADY_DECIDED"}]
    assert (await env.gql(LIST, {"status": "APPROVED"}, token=ua))["data"]["userAccountRequests"]["totalCount"] == 1
    assert (await env.gql(LIST, token=ua))["data"]["userAccountRequests"]["totalCount"] == 0


async def test_approving_a_date_of_birth_user_gives_the_temporary_code_and_applies_create_users_rules(
    env: Env, open_org: OrgFixture, client: Client
) -> None:
    ua = token_for(env, open_org, Role.USER_ADMINISTRATOR)
    email = _email()
    request_id = await _request_and_confirm(env, client, open_org, email)
    neither = await env.gql(APPROVE, {"input": {"requestId": request_id}}, token=ua)
    assert neither["data"]["approveUserAccountRequest"]["userErrors"] == [{"field": ["cpr"],
                                                                          "code": "CPR_OR_DATE_OF_BIRTH"}]
    assert (await _stored(env, email))[0].status == "PENDING"
    approved = await env.gql(APPROVE, {"input": {"requestId": request_id, "dateOfBirth": "1990-05-17"}}, token=ua)
    result = approved["data"]["approveUserAccountRequest"]
    assert result["userErrors"] == [] and result["user"]["identification"] == "DATE_OF_BIRTH"
    assert result["temporaryActivationCode"]


async def test_a_rejected_request_mails_the_requester_the_reason(env: Env, open_org: OrgFixture, client: Client) -> None:
    ua = token_for(env, open_org, Role.USER_ADMINISTRATOR)
    email = _email()
    request_id = await _request_and_confirm(env, client, open_org, email)
    body = await env.gql(REJECT, {"input": {"requestId": request_id, "reason": "Brug din egen konto"}}, token=ua)
    assert body["data"]["rejectUserAccountRequest"] == {
        "request": {"id": request_id, "status": "REJECTED", "rejectReason": "Brug din egen konto"}, "userErrors": []}
    mails = await env.mail.wait_for(email, count=2)
    assert mails[-1]["Subject"] == "Your request for a MitID Erhverv user"
    text = mails[-1].get_payload(decode=True).decode()
    assert "rejected" in text and "Brug din egen konto" in text
    assert (await _stored(env, email))[0].status == "REJECTED"
    again = await env.gql(APPROVE, {"input": {"requestId": request_id, "cpr": _cpr()}}, token=ua)
    assert again["data"]["approveUserAccountRequest"]["userErrors"] == [{"field": ["requestId"],
                                                                        "code": "ALREADY_DECIDED"}]
    async with env.engine.connect() as conn:
        made = (await conn.execute(select(users.c.id).where(users.c.email == email))).first()
    assert made is None


# --- the public form says nothing -----------------------------------------------------------------


async def test_the_form_answers_the_same_for_an_unknown_cvr_a_closed_organisation_and_a_stored_request(
    env: Env, org: OrgFixture, open_org: OrgFixture, client: Client
) -> None:
    unknown_cvr = fresh_cvr()
    while unknown_cvr in (org.cvr, open_org.cvr):
        unknown_cvr = fresh_cvr()
    answers = []
    emails = {"unknown": _email(), "closed": _email(), "stored": _email()}
    for case, cvr in (("unknown", unknown_cvr), ("closed", org.cvr), ("stored", open_org.cvr)):
        started = time.monotonic()
        response = await client.post(REQUEST, {"input": _form(cvr, emails[case])})
        assert time.monotonic() - started >= ANSWER_FLOOR_SECONDS, case  # none answers sooner than the floor
        assert response.status_code == 200
        body = response.json()
        body.pop("extensions", None)
        answers.append(body)
    assert answers[0] == answers[1] == answers[2] == {"data": {"requestUserAccount": {"accepted": True,
                                                                                     "userErrors": []}}}
    await env.mail.wait_for(emails["stored"])
    assert len(await _stored(env, emails["stored"])) == 1
    assert await _stored(env, emails["unknown"]) == [] and await _stored(env, emails["closed"]) == []
    assert env.mail.to(emails["unknown"]) == [] and env.mail.to(emails["closed"]) == []


async def test_the_same_address_is_mailed_once_while_its_request_is_open(
    env: Env, open_org: OrgFixture, client: Client
) -> None:
    email = _email()
    for _ in range(2):
        body = await client.gql(REQUEST, {"input": _form(open_org.cvr, email)})
        assert body["data"]["requestUserAccount"]["accepted"] is True
    await env.mail.wait_for(email)
    assert len(await _stored(env, email)) == 1
    async with env.engine.connect() as conn:
        queued = (await conn.execute(select(outbox.c.id).where(outbox.c.recipient == email))).all()
    assert len(queued) == 1


async def test_an_address_a_user_already_has_is_answered_the_same_and_not_stored(
    env: Env, open_org: OrgFixture, client: Client
) -> None:
    taken = open_org.emails[Role.USER]
    body = await client.gql(REQUEST, {"input": _form(open_org.cvr, taken.upper())})
    assert body["data"]["requestUserAccount"] == {"accepted": True, "userErrors": []}
    async with env.engine.connect() as conn:
        stored = (await conn.execute(select(user_account_requests.c.id)
                                     .where(user_account_requests.c.org_id == open_org.org_id))).all()
        queued = (await conn.execute(select(outbox.c.id).where(outbox.c.org_id == open_org.org_id))).all()
    assert stored == [] and queued == []


async def test_a_request_taken_by_a_colleague_meanwhile_is_refused_as_createuser_refuses_it(
    env: Env, open_org: OrgFixture, client: Client
) -> None:
    ua = token_for(env, open_org, Role.USER_ADMINISTRATOR)
    email = _email()
    request_id = await _request_and_confirm(env, client, open_org, email)
    made = await env.gql("""mutation($input: CreateUserInput!) { createUser(input: $input) { userErrors { code } } }""",
                         {"input": {"firstName": "Anden", "lastName": "Person", "email": email,
                                    "dateOfBirth": "1980-01-01"}}, token=ua)
    assert made["data"]["createUser"]["userErrors"] == []
    body = await env.gql(APPROVE, {"input": {"requestId": request_id, "cpr": _cpr()}}, token=ua)
    assert body["data"]["approveUserAccountRequest"]["userErrors"] == [{"field": ["email"], "code": "DUPLICATE_EMAIL"}]
    assert (await _stored(env, email))[0].status == "PENDING"


async def test_user_administrators_are_told_of_a_confirmed_request(
    env: Env, open_org: OrgFixture, client: Client
) -> None:
    await _request_and_confirm(env, client, open_org, _email())
    body = await env.gql("query { notifications(first: 5) { edges { node { title } } } }",
                         token=token_for(env, open_org, Role.USER_ADMINISTRATOR))
    titles = [e["node"]["title"] for e in body["data"]["notifications"]["edges"]]
    assert titles == ["A request for a user account"], body


async def test_unconfirmed_requests_are_invisible_to_user_administrators(
    env: Env, open_org: OrgFixture, client: Client
) -> None:
    ua = token_for(env, open_org, Role.USER_ADMINISTRATOR)
    email = _email()
    await client.gql(REQUEST, {"input": _form(open_org.cvr, email)})
    (row,) = await _stored(env, email)
    gid = str(to_global_id("UserAccountRequest", row.id))
    for status in (None, "PENDING", "APPROVED", "REJECTED"):
        assert (await env.gql(LIST, {"status": status}, token=ua))["data"]["userAccountRequests"]["totalCount"] == 0
    assert (await env.gql(NODE, {"id": gid}, token=ua))["data"]["node"] is None
    approve = await env.gql(APPROVE, {"input": {"requestId": gid, "cpr": _cpr()}}, token=ua)
    assert approve["data"]["approveUserAccountRequest"]["userErrors"] == [{"field": ["requestId"], "code": "NOT_FOUND"}]


async def test_an_expired_or_used_confirmation_link_is_refused(env: Env, open_org: OrgFixture, client: Client) -> None:
    expired_email, used_email = _email(), _email()
    await client.gql(REQUEST, {"input": _form(open_org.cvr, expired_email)})
    await client.gql(REQUEST, {"input": _form(open_org.cvr, used_email)})
    expired_token, used_token = await _token_mailed(env, expired_email), await _token_mailed(env, used_email)
    async with env.engine.begin() as conn:
        await conn.execute(update(user_account_requests).where(user_account_requests.c.email == expired_email)
                           .values(token_expires_at=dt.datetime.now(dt.UTC) - dt.timedelta(seconds=1)))
    refused = {"confirmed": False, "userErrors": [{"field": ["token"], "code": "INVALID_CONFIRMATION"}]}
    body = await client.gql(CONFIRM, {"token": expired_token})
    assert body["data"]["confirmUserAccountRequest"] == refused
    assert (await _stored(env, expired_email))[0].status == "PENDING_CONFIRMATION"
    page = await client.http.post("/account-requests/confirm", data={"token": expired_token})
    assert page.status_code == 400
    first = await client.gql(CONFIRM, {"token": used_token})
    assert first["data"]["confirmUserAccountRequest"] == {"confirmed": True, "userErrors": []}
    second = await client.gql(CONFIRM, {"token": used_token})
    assert second["data"]["confirmUserAccountRequest"] == refused
    for bogus in ("", "x" * 5000, "not-a-token"):
        assert (await client.gql(CONFIRM, {"token": bogus}))["data"]["confirmUserAccountRequest"] == refused


async def test_a_link_is_refused_once_the_organisation_stops_taking_requests(
    env: Env, open_org: OrgFixture, client: Client
) -> None:
    email = _email()
    await client.gql(REQUEST, {"input": _form(open_org.cvr, email)})
    token = await _token_mailed(env, email)
    oa = token_for(env, open_org, Role.ORGANISATION_ADMINISTRATOR)
    off = await env.gql("mutation { updateOrganisationSettings(input: {userCreation: {employeesMayRequestUser: false}})"
                        " { userErrors { code } } }", token=oa)
    assert off["data"]["updateOrganisationSettings"]["userErrors"] == []
    body = await client.gql(CONFIRM, {"token": token})
    assert body["data"]["confirmUserAccountRequest"]["confirmed"] is False
    assert (await _stored(env, email))[0].status == "PENDING_CONFIRMATION"


async def test_the_form_is_rate_limited_per_client_address_and_per_email_address(
    env: Env, open_org: OrgFixture, client: Client
) -> None:
    per_ip, per_email = dict(RATE_LIMITS)["ip"], dict(RATE_LIMITS)["email"]
    email = _email()
    codes = []
    for _ in range(per_email + 1):
        response = await client.post(REQUEST, {"input": _form(fresh_cvr(), email)})
        codes.append(response.status_code)
    assert codes[:per_email] == [200] * per_email and codes[-1] == 429
    limited = response.json()
    assert limited["errors"][0]["extensions"]["code"] == "RATE_LIMITED" and response.headers["Retry-After"]
    assert limited["data"] is None
    # The same e-mail address from another client address is limited too.
    other = Client(env)
    try:
        response = await other.post(REQUEST, {"input": _form(open_org.cvr, email)})
        assert response.status_code == 429
        assert response.json()["errors"][0]["extensions"]["code"] == "RATE_LIMITED"
        # One address runs out after its budget, whatever the e-mail addresses (sent at once: the
        # budget refills while answers wait for their floor).
        responses = await asyncio.gather(*(other.post(REQUEST, {"input": _form(fresh_cvr(), _email())})
                                           for _ in range(per_ip + 1)))
        statuses = sorted(r.status_code for r in responses)
        assert statuses[0] == 200 and statuses[-1] == 429, statuses
    finally:
        await other.aclose()
    assert len(await _stored(env, email)) == 0


# --- who sees and decides -------------------------------------------------------------------------


async def test_another_organisations_user_administrator_sees_and_decides_nothing(
    env: Env, open_org: OrgFixture, other_org: OrgFixture, client: Client
) -> None:
    request_id = await _request_and_confirm(env, client, open_org, _email())
    foreign = token_for(env, other_org, Role.USER_ADMINISTRATOR)
    for status in (None, "PENDING"):
        assert (await env.gql(LIST, {"status": status}, token=foreign))["data"]["userAccountRequests"] == {
            "totalCount": 0, "pageInfo": {"hasNextPage": False, "endCursor": None}, "edges": []}
    assert (await env.gql(NODE, {"id": request_id}, token=foreign))["data"]["node"] is None
    approve = await env.gql(APPROVE, {"input": {"requestId": request_id, "cpr": _cpr()}}, token=foreign)
    assert approve["data"]["approveUserAccountRequest"]["userErrors"] == [{"field": ["requestId"], "code": "NOT_FOUND"}]
    reject = await env.gql(REJECT, {"input": {"requestId": request_id}}, token=foreign)
    assert reject["data"]["rejectUserAccountRequest"]["userErrors"] == [{"field": ["requestId"], "code": "NOT_FOUND"}]
    ua = token_for(env, open_org, Role.USER_ADMINISTRATOR)
    assert (await env.gql(NODE, {"id": request_id}, token=ua))["data"]["node"]["status"] == "PENDING"


@pytest.mark.parametrize("role", [Role.ORGANISATION_ADMINISTRATOR, Role.RIGHTS_ADMINISTRATOR, Role.USER])
async def test_only_user_administrators_list_and_decide_requests(
    env: Env, open_org: OrgFixture, client: Client, role: Role
) -> None:
    request_id = await _request_and_confirm(env, client, open_org, _email())
    token = token_for(env, open_org, role)
    listed = await env.gql(LIST, token=token)
    assert listed["errors"][0]["extensions"]["code"] == "FORBIDDEN" and listed["data"] is None
    assert (await env.gql(NODE, {"id": request_id}, token=token))["data"]["node"] is None
    for query, variables in ((APPROVE, {"input": {"requestId": request_id, "cpr": _cpr()}}),
                             (REJECT, {"input": {"requestId": request_id}})):
        body = await env.gql(query, variables, token=token)
        assert body["errors"][0]["extensions"]["code"] == "FORBIDDEN"
    anonymous = await client.gql(LIST, {})
    assert anonymous["errors"][0]["extensions"]["code"] == "UNAUTHENTICATED"
    anonymous = await client.gql(APPROVE, {"input": {"requestId": request_id, "cpr": _cpr()}})
    assert anonymous["errors"][0]["extensions"]["code"] == "UNAUTHENTICATED"
    assert (await _stored_by_id(env, request_id)) == "PENDING"


async def _stored_by_id(env: Env, gid: str) -> str:
    async with env.engine.connect() as conn:
        rows = list(await conn.execute(select(user_account_requests.c.id, user_account_requests.c.status)))
    return next(r.status for r in rows if str(to_global_id("UserAccountRequest", r.id)) == gid)


# --- hostile input --------------------------------------------------------------------------------


@pytest.mark.parametrize(("fields", "expected"), [
    ({"email": "not-an-address"}, [(["email"], "INVALID_EMAIL")]),
    ({"cvr": "12345678"}, [(["cvr"], "INVALID_CVR")]),
    ({"firstName": "M" * 10_000}, [(["firstName"], "TOO_LONG")]),
    ({"lastName": "Jensen\r\nBcc: victim@example.com"}, [(["lastName"], "INVALID_CHARACTERS")]),
    ({"firstName": "", "lastName": "  "}, [(["firstName"], "REQUIRED"), (["lastName"], "REQUIRED")]),
    ({"message": "x" * 100_000}, [(["message"], "TOO_LONG")]),
    ({"message": "Hej\x1b[2J"}, [(["message"], "INVALID_CHARACTERS")]),
    ({"message": "Hej\tmed tab"}, [(["message"], "INVALID_CHARACTERS")]),
])
async def test_hostile_input_gets_user_errors_and_nothing_is_stored(
    env: Env, open_org: OrgFixture, client: Client, fields: dict[str, Any], expected: list[tuple[list[str], str]]
) -> None:
    email = fields.get("email") or _email()
    body = await client.gql(REQUEST, {"input": {**_form(open_org.cvr, email), **fields}})
    assert "errors" not in body, body
    result = body["data"]["requestUserAccount"]
    assert result["accepted"] is False
    assert [(e["field"], e["code"]) for e in result["userErrors"]] == expected
    assert await _stored(env, email) == []
    async with env.engine.connect() as conn:
        assert (await conn.execute(select(outbox.c.id).where(outbox.c.recipient == email))).first() is None


async def test_a_nul_character_is_refused_before_anything_runs(env: Env, open_org: OrgFixture, client: Client) -> None:
    email = _email()
    body = await client.gql(REQUEST, {"input": _form(open_org.cvr, email, message="Hej\x00")})
    assert body["data"] is None and body["errors"][0]["extensions"]["code"] == "INVALID_CHARACTERS"
    assert await _stored(env, email) == []


async def test_the_confirmation_token_never_reaches_the_logs_or_the_history(
    env: Env, open_org: OrgFixture, client: Client, caplog: pytest.LogCaptureFixture
) -> None:
    email = _email()
    # What `serve` logs (INFO; the gateway's own loggers down to DEBUG). Drivers' DEBUG lines hold
    # statement parameters, the outbox's mail bodies among them: never for production.
    with caplog.at_level(logging.INFO), caplog.at_level(logging.DEBUG, logger="app"):
        await client.gql(REQUEST, {"input": _form(open_org.cvr, email)})
        token = await _token_mailed(env, email)
        await client.http.get(f"/account-requests/confirm?token={token}")
        await client.gql(CONFIRM, {"token": token})
        await client.gql(CONFIRM, {"token": token})  # refused: logged as a failure, if at all
    # The gateway's records: not the test's own SMTP server (mail.log, which receives the mail) or
    # HTTP client (httpx, which sent the link).
    ours = [r for r in caplog.records if not r.name.startswith(("mail.log", "httpx"))]
    assert any(r.name.startswith("app.") for r in ours), "nothing was logged: the test would prove nothing"
    leaks = [(r.name, r.getMessage()[:300]) for r in ours if token in r.getMessage() or token in str(r.__dict__)]
    assert leaks == []
    async with env.engine.connect() as conn:
        entries = list(await conn.execute(select(activities.c.summary, activities.c.details)
                                          .where(activities.c.org_id == open_org.org_id)))
    assert entries and all(token not in f"{e.summary}{e.details}" for e in entries)


# --- the rules, without a database ----------------------------------------------------------------


def test_the_form_is_validated_as_a_whole() -> None:
    with pytest.raises(ValidationFailed) as failed:
        validate_request(RequestForm(cvr="1", first_name="", last_name="X" * 101, email="@", message="\x07"))
    assert [(e.field, e.code) for e in failed.value.errors] == [
        (["cvr"], "INVALID_CVR"), (["firstName"], "REQUIRED"), (["lastName"], "TOO_LONG"),
        (["email"], "INVALID_EMAIL"), (["message"], "INVALID_CHARACTERS"),
    ]
    cvr = fresh_cvr()
    valid = validate_request(RequestForm(cvr=f" {cvr} ", first_name=" Mette ", last_name="Jensen",
                                         email=" Mette@Example.com ", message="  \r\n  "))
    assert (valid.cvr, valid.first_name, valid.message) == (cvr, "Mette", None)


def test_free_text_keeps_line_breaks_and_refuses_other_control_characters() -> None:
    errors = Errors()
    assert free_text(errors, "message", "Linje 1\r\nLinje 2", 100) == "Linje 1\nLinje 2"
    assert errors.items == []
    for hostile in ("a\tb", "a\x00b", "a\u2028b", "a\x85b"):
        errors = Errors()
        free_text(errors, "message", hostile, 100)
        assert [e.code for e in errors.items] == ["INVALID_CHARACTERS"], hostile
