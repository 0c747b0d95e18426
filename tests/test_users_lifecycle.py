"""One user's whole lifecycle through the API, as a client sees it: creation with CPR (activation
email) or date of birth (temporary code), activation, validation, settings limits, editing,
deactivation periods, deletion, and the history every change leaves behind."""

from __future__ import annotations

import asyncio
import datetime as dt
import json
import random
import re
import uuid
from collections.abc import Callable
from email.message import Message
from typing import Any

import pytest
import pytest_asyncio
from sqlalchemy import select, update

from app.domain.common.organisation import OrganisationSettings
from app.domain.common.principal import Role
from app.persistence.tables.activity import activities
from app.persistence.tables.outbox import outbox
from app.persistence.tables.users import users
from app.schema.runtime.base import to_global_id
from tests.conftest import Env, token_for
from tests.factories import OrgFixture, make_org

USER_FIELDS = """
fragment UserFields on User {
  id uuid firstName lastName name email phone reference cprMasked dateOfBirth identification anonymous
  status pNumber seNumber canSign canCreateSeal authenticators rights
  deactivation { from until } createdAt activatedAt lastLoginAt
}
"""

CREATE_USER = (
    """
mutation CreateUser($input: CreateUserInput!) {
  createUser(input: $input) {
    user { ...UserFields }
    temporaryActivationCode
    userErrors { field code message }
  }
}
"""
    + USER_FIELDS
)

UPDATE_USER = (
    """
mutation UpdateUser($input: UpdateUserInput!) {
  updateUser(input: $input) { user { ...UserFields } userErrors { field code message } }
}
"""
    + USER_FIELDS
)

SET_USER_AUTHENTICATORS = (
    """
mutation SetUserAuthenticators($input: SetUserAuthenticatorsInput!) {
  setUserAuthenticators(input: $input) { user { ...UserFields } userErrors { field code message } }
}
"""
    + USER_FIELDS
)

SET_USER_ORGANISATION_UNIT = (
    """
mutation SetUserOrganisationUnit($input: SetUserOrganisationUnitInput!) {
  setUserOrganisationUnit(input: $input) { user { ...UserFields } userErrors { field code message } }
}
"""
    + USER_FIELDS
)

RESEND_ACTIVATION_EMAIL = (
    """
mutation ResendActivationEmail($input: UserIdInput!) {
  resendActivationEmail(input: $input) { user { ...UserFields } userErrors { field code message } }
}
"""
    + USER_FIELDS
)

GENERATE_ACTIVATION_CODE = (
    """
mutation GenerateActivationCode($input: UserIdInput!) {
  generateActivationCode(input: $input) {
    user { ...UserFields }
    temporaryActivationCode
    userErrors { field code message }
  }
}
"""
    + USER_FIELDS
)

DEACTIVATE_USER = (
    """
mutation DeactivateUser($input: DeactivateUserInput!) {
  deactivateUser(input: $input) { user { ...UserFields } userErrors { field code message } }
}
"""
    + USER_FIELDS
)

REACTIVATE_USER = (
    """
mutation ReactivateUser($input: UserIdInput!) {
  reactivateUser(input: $input) { user { ...UserFields } userErrors { field code message } }
}
"""
    + USER_FIELDS
)

DELETE_USER = (
    """
mutation DeleteUser($input: UserIdInput!) {
  deleteUser(input: $input) { user { ...UserFields } userErrors { field code message } }
}
"""
    + USER_FIELDS
)

ACTIVATE_USER = """
mutation ActivateUser($input: ActivateUserInput!) {
  activateUser(input: $input) { activated userUuid userErrors { field code message } }
}
"""

USER = (
    """
query User($id: ID!) { user(id: $id) { ...UserFields } }
"""
    + USER_FIELDS
)

USER_HISTORY = """
query UserHistory($id: ID!, $first: Int) {
  user(id: $id) {
    history(first: $first) { totalCount edges { node { type actorName targetName summary details } } }
  }
}
"""

USERS = """
query Users($filter: UserFilterInput) { users(first: 500, filter: $filter) { totalCount edges { node { uuid status } } } }
"""

ACTIVITIES = """
query Activities($filter: ActivityFilterInput) {
  activities(first: 100, filter: $filter) { totalCount edges { node { type actorName targetName } } }
}
"""

VIEWER_NAME = "query { viewer { user { name } } }"

LINK = re.compile(r"http://testserver/activate\?token=([A-Za-z0-9_\-]+)")


# --- helpers --------------------------------------------------------------------------------------


def ua(env: Env, org: OrgFixture) -> str:
    return token_for(env, org, Role.USER_ADMINISTRATOR)


def new_email() -> str:
    # The mail sink is shared by the whole session: every address must be unique.
    return f"karen.{uuid.uuid4().hex[:12]}@example.dk"


def new_cpr() -> str:
    """A random valid CPR number DDMMYY-SSSS of someone born in the 1900s."""
    day, month, yy = random.randint(1, 28), random.randint(1, 12), random.randint(40, 99)
    serial = f"{random.randint(0, 3)}{random.randint(0, 999):03d}"
    return f"{day:02d}{month:02d}{yy:02d}-{serial}"


def user_input(**fields: Any) -> dict[str, Any]:
    data: dict[str, Any] = {"firstName": "Karen", "lastName": "Jensen", "email": new_email()}
    if "cpr" not in fields and "dateOfBirth" not in fields:
        data["dateOfBirth"] = "1985-04-12"
    data.update(fields)
    return data


def errors_of(payload: dict[str, Any]) -> list[tuple[list[str] | None, str]]:
    return [(e["field"], e["code"]) for e in payload["userErrors"]]


async def create(env: Env, org: OrgFixture, **fields: Any) -> dict[str, Any]:
    body = await env.gql(CREATE_USER, {"input": user_input(**fields)}, token=ua(env, org))
    assert "errors" not in body, body
    return body["data"]["createUser"]


async def create_ok(env: Env, org: OrgFixture, **fields: Any) -> dict[str, Any]:
    payload = await create(env, org, **fields)
    assert payload["userErrors"] == [], payload
    return payload


async def mutate(env: Env, org: OrgFixture, query: str, name: str, **input_: Any) -> dict[str, Any]:
    body = await env.gql(query, {"input": input_}, token=ua(env, org))
    assert "errors" not in body, body
    return body["data"][name]


async def activate(env: Env, **input_: Any) -> dict[str, Any]:
    """The public activation mutation: no bearer token."""
    body = await env.gql(ACTIVATE_USER, {"input": input_})
    assert "errors" not in body, body
    return body["data"]["activateUser"]


async def active_user(env: Env, org: OrgFixture, **fields: Any) -> dict[str, Any]:
    created = await create_ok(env, org, **fields)
    user = created["user"]
    result = await activate(env, userId=user["id"], code=created["temporaryActivationCode"])
    assert result["activated"] is True, result
    return await get_user(env, org, user["id"])


async def get_user(env: Env, org: OrgFixture, user_id: str) -> dict[str, Any]:
    body = await env.gql(USER, {"id": user_id}, token=ua(env, org))
    assert "errors" not in body, body
    return body["data"]["user"]


async def history(env: Env, org: OrgFixture, user_id: str, first: int = 50) -> tuple[int, list[dict[str, Any]]]:
    body = await env.gql(USER_HISTORY, {"id": user_id, "first": first}, token=ua(env, org))
    assert "errors" not in body, body
    connection = body["data"]["user"]["history"]
    return connection["totalCount"], [e["node"] for e in connection["edges"]]


async def history_types(env: Env, org: OrgFixture, user_id: str) -> list[str]:
    return [n["type"] for n in (await history(env, org, user_id))[1]]


async def org_rows(env: Env, org: OrgFixture) -> tuple[int, int, int]:
    """Users, history entries and outgoing mails of the organisation."""
    return (
        await env.count_rows(users, users.c.org_id == org.org_id),
        await env.count_rows(activities, activities.c.org_id == org.org_id),
        await env.count_rows(outbox, outbox.c.org_id == org.org_id),
    )


def mail_text(message: Message) -> str:
    payload = message.get_payload(decode=True)
    assert isinstance(payload, bytes)
    return payload.decode()


async def activation_token(env: Env, email: str, count: int = 1) -> str:
    mails = await env.mail.wait_for(email, count=count)
    match = LINK.search(mail_text(mails[count - 1]))
    assert match is not None, mail_text(mails[count - 1])
    return match.group(1)


async def activated_cpr_user(env: Env, org: OrgFixture) -> dict[str, Any]:
    created = await create_ok(env, org, cpr=new_cpr())
    token = await activation_token(env, created["user"]["email"])
    assert (await activate(env, token=token))["activated"] is True
    return created["user"]


@pytest_asyncio.fixture
async def strict_org(env: Env) -> OrgFixture:
    """An organisation allowing only the MitID app, no anonymity and no certificates."""
    return await make_org(
        env.services,
        name="Streng ApS",
        settings=OrganisationSettings(
            anonymity_allowed=False,
            private_mitid_allowed=False,
            allowed_authenticators=["MITID_APP"],
            user_certificates_allowed=False,
            organisation_certificates_allowed=False,
        ),
    )


# --- creation with CPR: the activation email ------------------------------------------------------


async def test_cpr_user_is_pending_activation_and_the_full_cpr_is_never_shown(env: Env, org: OrgFixture) -> None:
    cpr = new_cpr()
    digits = cpr.replace("-", "")

    body = await env.gql(CREATE_USER, {"input": user_input(cpr=cpr)}, token=ua(env, org))

    payload = body["data"]["createUser"]
    assert payload["userErrors"] == []
    user = payload["user"]
    assert user["status"] == "PENDING_ACTIVATION"
    assert user["identification"] == "CPR"
    assert user["cprMasked"] == f"{digits[:6]}-****"
    assert user["activatedAt"] is None
    assert payload["temporaryActivationCode"] is None
    history_body = await env.gql(USER_HISTORY, {"id": user["id"], "first": 50}, token=ua(env, org))
    for shown in (json.dumps(body), json.dumps(await get_user(env, org, user["id"])), json.dumps(history_body)):
        assert digits not in shown
        assert cpr not in shown
    mail = mail_text((await env.mail.wait_for(user["email"]))[0])
    assert digits not in mail
    assert cpr not in mail


async def test_cpr_is_not_stored_in_clear_text(env: Env, org: OrgFixture) -> None:
    cpr = new_cpr()
    digits = cpr.replace("-", "")

    user = (await create_ok(env, org, cpr=cpr))["user"]

    async with env.engine.connect() as conn:
        row = (await conn.execute(select(users).where(users.c.id == uuid.UUID(user["uuid"])))).one()
        logged = (await conn.execute(select(activities).where(activities.c.target_user_id == row.id))).all()
        mailed = (await conn.execute(select(outbox).where(outbox.c.recipient == row.email))).all()
    assert row.cpr_masked == f"{digits[:6]}-****"
    assert row.cpr_hash is not None
    assert row.cpr_encrypted is not None
    assert len(logged) == 2
    assert len(mailed) == 1
    for stored in [row, *logged, *mailed]:
        for column, value in stored._mapping.items():
            if isinstance(value, bytes):
                assert digits.encode() not in value, column
                assert digits not in value.hex(), column
            else:
                assert digits not in str(value), column
                assert cpr not in str(value), column


async def test_cpr_user_gets_an_activation_email_with_a_link(env: Env, org: OrgFixture) -> None:
    user = (await create_ok(env, org, cpr=new_cpr(), firstName="Søren", lastName="Ørsted"))["user"]

    mails = await env.mail.wait_for(user["email"])

    assert len(mails) == 1
    assert mails[0]["Subject"] == "Activate your MitID Erhverv user"
    text = mail_text(mails[0])
    assert "Søren Ørsted" in text
    assert LINK.search(text) is not None
    assert await history_types(env, org, user["id"]) == ["ACTIVATION_EMAIL_SENT", "USER_CREATED"]


async def test_the_emailed_token_activates_the_user_once(env: Env, org: OrgFixture) -> None:
    user = (await create_ok(env, org, cpr=new_cpr()))["user"]
    token = await activation_token(env, user["email"])

    first = await activate(env, token=token)

    assert first == {"activated": True, "userUuid": user["uuid"], "userErrors": []}
    activated = await get_user(env, org, user["id"])
    assert activated["status"] == "ACTIVE"
    assert activated["activatedAt"] is not None
    total, entries = await history(env, org, user["id"])
    assert total == 3
    assert entries[0]["type"] == "USER_ACTIVATED"
    assert entries[0]["actorName"] == "Karen Jensen"

    again = await activate(env, token=token)

    assert again["activated"] is False
    assert again["userUuid"] is None
    assert len(again["userErrors"]) == 1
    assert again["userErrors"][0]["code"] == "INVALID_ACTIVATION"
    assert (await history(env, org, user["id"]))[0] == 3


async def test_an_unknown_or_expired_activation_token_does_not_activate(env: Env, org: OrgFixture) -> None:
    user = (await create_ok(env, org, cpr=new_cpr()))["user"]
    token = await activation_token(env, user["email"])
    async with env.engine.begin() as conn:
        await conn.execute(
            update(users)
            .where(users.c.id == uuid.UUID(user["uuid"]))
            .values(activation_expires_at=dt.datetime.now(dt.UTC) - dt.timedelta(seconds=1))
        )

    unknown = await activate(env, token="x" + token)
    expired = await activate(env, token=token)

    for result in (unknown, expired):
        assert result["activated"] is False
        assert [e["code"] for e in result["userErrors"]] == ["INVALID_ACTIVATION"]
    assert (await get_user(env, org, user["id"]))["status"] == "PENDING_ACTIVATION"


async def test_the_activation_page_shows_a_form_and_activates_only_on_post(env: Env, org: OrgFixture) -> None:
    user = (await create_ok(env, org, cpr=new_cpr()))["user"]
    token = await activation_token(env, user["email"])

    page = await env.client.get("/activate", params={"token": token})

    assert page.status_code == 200
    assert '<form method="post">' in page.text
    assert f'name="token" value="{token}"' in page.text
    assert (await get_user(env, org, user["id"]))["status"] == "PENDING_ACTIVATION"

    posted = await env.client.post("/activate", data={"token": token})

    assert posted.status_code == 200
    assert "activated" in posted.text
    activated = await get_user(env, org, user["id"])
    assert activated["status"] == "ACTIVE"
    assert activated["activatedAt"] is not None

    reused = await env.client.post("/activate", data={"token": token})

    assert reused.status_code == 400


async def test_the_activation_page_escapes_the_token(env: Env) -> None:
    page = await env.client.get("/activate", params={"token": '"><script>alert(1)</script>'})

    assert page.status_code == 200
    assert "<script>" not in page.text


# --- creation with a date of birth: the temporary code -------------------------------------------


async def test_date_of_birth_user_gets_a_code_once_and_no_email(env: Env, org: OrgFixture) -> None:
    payload = await create_ok(env, org, dateOfBirth="1990-02-28")

    user = payload["user"]
    code = payload["temporaryActivationCode"]
    assert code is not None
    assert user["status"] == "PENDING_ACTIVATION"
    assert user["identification"] == "DATE_OF_BIRTH"
    assert user["dateOfBirth"] == "1990-02-28"
    assert user["cprMasked"] is None
    assert await env.count_rows(outbox, outbox.c.recipient == user["email"]) == 0
    assert env.mail.to(user["email"]) == []
    assert await history_types(env, org, user["id"]) == ["ACTIVATION_CODE_GENERATED", "USER_CREATED"]
    async with env.engine.connect() as conn:
        stored = (
            await conn.execute(select(users.c.activation_code_hash).where(users.c.id == uuid.UUID(user["uuid"])))
        ).scalar_one()
    assert stored is not None
    assert code not in stored
    assert code.replace("-", "") not in stored


async def test_a_new_activation_code_replaces_the_old_one(env: Env, org: OrgFixture) -> None:
    created = await create_ok(env, org)
    user_id, old_code = created["user"]["id"], created["temporaryActivationCode"]

    generated = await mutate(env, org, GENERATE_ACTIVATION_CODE, "generateActivationCode", userId=user_id)

    assert generated["userErrors"] == []
    new_code = generated["temporaryActivationCode"]
    assert new_code is not None
    assert new_code != old_code
    assert generated["user"]["status"] == "PENDING_ACTIVATION"
    assert (await history_types(env, org, user_id))[0] == "ACTIVATION_CODE_GENERATED"

    with_old = await activate(env, userId=user_id, code=old_code)

    assert with_old["activated"] is False
    assert [e["code"] for e in with_old["userErrors"]] == ["INVALID_ACTIVATION"]

    with_new = await activate(env, userId=user_id, code=new_code)

    assert with_new == {"activated": True, "userUuid": created["user"]["uuid"], "userErrors": []}
    assert (await get_user(env, org, user_id))["status"] == "ACTIVE"

    once_more = await activate(env, userId=user_id, code=new_code)

    assert once_more["activated"] is False
    assert [e["code"] for e in once_more["userErrors"]] == ["INVALID_ACTIVATION"]


async def test_the_code_may_be_typed_in_lower_case_with_spaces_around(env: Env, org: OrgFixture) -> None:
    created = await create_ok(env, org)

    result = await activate(
        env, userId=created["user"]["id"], code=f"  {created['temporaryActivationCode'].lower()} "
    )

    assert result["activated"] is True
    assert result["userErrors"] == []


async def test_no_new_code_for_an_active_user(env: Env, org: OrgFixture) -> None:
    user = await active_user(env, org)
    before = await org_rows(env, org)

    result = await mutate(env, org, GENERATE_ACTIVATION_CODE, "generateActivationCode", userId=user["id"])

    assert errors_of(result) == [(["userId"], "INVALID_STATUS")]
    assert result["temporaryActivationCode"] is None
    assert await org_rows(env, org) == before


async def test_one_code_used_twice_at_once_activates_once(env: Env, org: OrgFixture) -> None:
    created = await create_ok(env, org)
    code = created["temporaryActivationCode"]

    results = await asyncio.gather(*[activate(env, userId=created["user"]["id"], code=code) for _ in range(3)])

    assert sorted(r["activated"] for r in results) == [False, False, True]
    assert (await history_types(env, org, created["user"]["id"])).count("USER_ACTIVATED") == 1


async def test_a_code_of_another_user_does_not_activate(env: Env, org: OrgFixture) -> None:
    first = await create_ok(env, org)
    second = await create_ok(env, org)

    result = await activate(env, userId=second["user"]["id"], code=first["temporaryActivationCode"])

    assert result["activated"] is False
    assert [e["code"] for e in result["userErrors"]] == ["INVALID_ACTIVATION"]
    assert (await get_user(env, org, second["user"]["id"]))["status"] == "PENDING_ACTIVATION"


async def test_generating_a_code_for_a_cpr_user_is_wrong_identification(env: Env, org: OrgFixture) -> None:
    user = (await create_ok(env, org, cpr=new_cpr()))["user"]

    result = await mutate(env, org, GENERATE_ACTIVATION_CODE, "generateActivationCode", userId=user["id"])

    assert errors_of(result) == [(["userId"], "WRONG_IDENTIFICATION")]
    assert result["temporaryActivationCode"] is None


# --- resending the activation email ---------------------------------------------------------------


async def test_resending_the_activation_email_sends_a_second_working_link(env: Env, org: OrgFixture) -> None:
    user = (await create_ok(env, org, cpr=new_cpr()))["user"]
    await env.mail.wait_for(user["email"])

    result = await mutate(env, org, RESEND_ACTIVATION_EMAIL, "resendActivationEmail", userId=user["id"])

    assert result["userErrors"] == []
    assert result["user"]["status"] == "PENDING_ACTIVATION"
    second_token = await activation_token(env, user["email"], count=2)
    assert len(env.mail.to(user["email"])) == 2
    assert await history_types(env, org, user["id"]) == [
        "ACTIVATION_EMAIL_SENT", "ACTIVATION_EMAIL_SENT", "USER_CREATED",
    ]
    assert (await activate(env, token=second_token))["activated"] is True


async def test_resending_an_email_to_a_date_of_birth_user_is_wrong_identification(
    env: Env, org: OrgFixture
) -> None:
    user = (await create_ok(env, org))["user"]
    before = await org_rows(env, org)

    result = await mutate(env, org, RESEND_ACTIVATION_EMAIL, "resendActivationEmail", userId=user["id"])

    assert errors_of(result) == [(["userId"], "WRONG_IDENTIFICATION")]
    assert result["user"] is None
    assert await org_rows(env, org) == before


async def test_resending_an_email_to_an_active_user_is_invalid_status(env: Env, org: OrgFixture) -> None:
    user = await activated_cpr_user(env, org)
    before = await org_rows(env, org)

    result = await mutate(env, org, RESEND_ACTIVATION_EMAIL, "resendActivationEmail", userId=user["id"])

    assert errors_of(result) == [(["userId"], "INVALID_STATUS")]
    assert await org_rows(env, org) == before
    assert len(env.mail.to(user["email"])) == 1


# --- invalid input --------------------------------------------------------------------------------

TOMORROW = (dt.date.today() + dt.timedelta(days=1)).isoformat()

INVALID_INPUTS: list[tuple[str, Callable[[OrgFixture, OrgFixture], dict[str, Any]], list[tuple[list[str], str]]]] = [
    ("cpr_too_short", lambda o, x: {"cpr": "123456-789"}, [(["cpr"], "INVALID_CPR")]),
    ("cpr_not_a_date", lambda o, x: {"cpr": "320190-1234"}, [(["cpr"], "INVALID_CPR")]),
    ("cpr_born_in_the_future", lambda o, x: {"cpr": "010130-4000"}, [(["cpr"], "INVALID_CPR")]),
    ("both_cpr_and_date_of_birth", lambda o, x: {"cpr": new_cpr(), "dateOfBirth": "1985-04-12"},
     [(["cpr"], "CPR_OR_DATE_OF_BIRTH")]),
    ("neither_cpr_nor_date_of_birth", lambda o, x: {"dateOfBirth": None}, [(["cpr"], "CPR_OR_DATE_OF_BIRTH")]),
    ("blank_cpr_and_date_of_birth", lambda o, x: {"cpr": " ", "dateOfBirth": ""},
     [(["cpr"], "CPR_OR_DATE_OF_BIRTH")]),
    ("email", lambda o, x: {"email": "karen.example.dk"}, [(["email"], "INVALID_EMAIL")]),
    ("p_number_format", lambda o, x: {"pNumber": "12345"}, [(["pNumber"], "INVALID_P_NUMBER")]),
    ("p_number_of_another_organisation", lambda o, x: {"pNumber": x.p_numbers[0]},
     [(["pNumber"], "UNKNOWN_P_NUMBER")]),
    ("se_number_check_digit", lambda o, x: {"seNumber": "12345678"}, [(["seNumber"], "INVALID_SE_NUMBER")]),
    ("se_number_of_another_organisation", lambda o, x: {"seNumber": x.se_numbers[1]},
     [(["seNumber"], "UNKNOWN_SE_NUMBER")]),
    ("date_of_birth_in_the_future", lambda o, x: {"dateOfBirth": TOMORROW}, [(["dateOfBirth"], "INVALID_DATE")]),
    ("date_of_birth_danish_format", lambda o, x: {"dateOfBirth": "12-04-1985"},
     [(["dateOfBirth"], "INVALID_DATE")]),
    ("date_of_birth_not_a_date", lambda o, x: {"dateOfBirth": "1985-02-30"}, [(["dateOfBirth"], "INVALID_DATE")]),
    ("phone", lambda o, x: {"phone": "12"}, [(["phone"], "INVALID_PHONE")]),
    ("missing_first_name", lambda o, x: {"firstName": "  "}, [(["firstName"], "REQUIRED")]),
    ("several_at_once", lambda o, x: {"firstName": "", "email": "nope", "cpr": "123", "pNumber": "1",
                                      "seNumber": "12345678"},
     [(["firstName"], "REQUIRED"), (["email"], "INVALID_EMAIL"), (["cpr"], "INVALID_CPR"),
      (["pNumber"], "INVALID_P_NUMBER"), (["seNumber"], "INVALID_SE_NUMBER")]),
]


@pytest.mark.parametrize(("overrides", "expected"), [c[1:] for c in INVALID_INPUTS], ids=[c[0] for c in INVALID_INPUTS])
async def test_invalid_create_input_is_reported_per_field_and_writes_nothing(
    env: Env,
    org: OrgFixture,
    other_org: OrgFixture,
    overrides: Callable[[OrgFixture, OrgFixture], dict[str, Any]],
    expected: list[tuple[list[str], str]],
) -> None:
    before = await org_rows(env, org)

    payload = await create(env, org, **overrides(org, other_org))

    assert payload["user"] is None
    assert payload["temporaryActivationCode"] is None
    assert len(payload["userErrors"]) == len(expected)
    assert sorted(errors_of(payload)) == sorted(expected)
    assert all(e["message"] for e in payload["userErrors"])
    assert await org_rows(env, org) == before


async def test_an_email_already_in_use_is_a_duplicate_in_any_letter_case(env: Env, org: OrgFixture) -> None:
    existing = (await create_ok(env, org))["user"]
    before = await org_rows(env, org)

    payload = await create(env, org, email=existing["email"].upper())

    assert errors_of(payload) == [(["email"], "DUPLICATE_EMAIL")]
    assert await org_rows(env, org) == before


async def test_a_cpr_already_in_use_is_a_duplicate_with_or_without_the_dash(env: Env, org: OrgFixture) -> None:
    cpr = new_cpr()
    await create_ok(env, org, cpr=cpr)
    before = await org_rows(env, org)

    payload = await create(env, org, cpr=cpr.replace("-", ""))

    assert errors_of(payload) == [(["cpr"], "DUPLICATE_CPR")]
    assert await org_rows(env, org) == before


async def test_concurrent_creations_with_one_email_or_cpr_give_one_user_and_duplicates(
    env: Env, org: OrgFixture
) -> None:
    email, cpr = new_email(), new_cpr()
    before_users = (await org_rows(env, org))[0]

    same_email = await asyncio.gather(*[
        env.gql(CREATE_USER, {"input": user_input(email=email)}, token=ua(env, org)) for _ in range(4)
    ])
    same_cpr = await asyncio.gather(*[
        env.gql(CREATE_USER, {"input": user_input(cpr=cpr)}, token=ua(env, org)) for _ in range(4)
    ])

    for bodies, duplicate in ((same_email, (["email"], "DUPLICATE_EMAIL")), (same_cpr, (["cpr"], "DUPLICATE_CPR"))):
        assert all("errors" not in b for b in bodies), bodies
        payloads = [b["data"]["createUser"] for b in bodies]
        assert len([p for p in payloads if p["user"] is not None]) == 1
        assert sorted(errors_of(p) for p in payloads) == [[]] + [[duplicate]] * 3
    assert (await org_rows(env, org))[0] == before_users + 2


async def test_concurrent_updates_to_one_email_give_one_change_and_a_duplicate(env: Env, org: OrgFixture) -> None:
    first, second = (await create_ok(env, org))["user"], (await create_ok(env, org))["user"]
    email = new_email()

    bodies = await asyncio.gather(*[
        env.gql(UPDATE_USER, {"input": {"userId": u["id"], "email": email}}, token=ua(env, org)) for u in (first, second)
    ])

    assert all("errors" not in b for b in bodies), bodies
    payloads = [b["data"]["updateUser"] for b in bodies]
    assert sorted(errors_of(p) for p in payloads) == [[], [(["email"], "DUPLICATE_EMAIL")]]


async def test_the_same_person_may_have_a_user_in_another_organisation(
    env: Env, org: OrgFixture, other_org: OrgFixture
) -> None:
    cpr, email = new_cpr(), new_email()
    await create_ok(env, org, cpr=cpr, email=email)

    payload = await create(env, other_org, cpr=cpr, email=email)

    assert payload["userErrors"] == []
    assert payload["user"]["status"] == "PENDING_ACTIVATION"


# --- limits from the organisation's settings -----------------------------------------------------


async def test_authenticators_not_allowed_by_the_settings_are_refused_at_creation(
    env: Env, strict_org: OrgFixture
) -> None:
    before = await org_rows(env, strict_org)

    payload = await create(env, strict_org, authenticators=["MITID_APP", "PRIVATE_MITID", "CHIP"])

    assert payload["user"] is None
    assert len(payload["userErrors"]) == 2
    assert errors_of(payload) == [
        (["authenticators", "1"], "AUTHENTICATOR_NOT_ALLOWED"),
        (["authenticators", "2"], "AUTHENTICATOR_NOT_ALLOWED"),
    ]
    assert await org_rows(env, strict_org) == before


async def test_allowed_authenticators_are_stored_and_returned(env: Env, strict_org: OrgFixture) -> None:
    payload = await create_ok(env, strict_org, authenticators=["MITID_APP"])

    assert payload["user"]["authenticators"] == ["MITID_APP"]
    assert payload["user"]["pNumber"] is None
    assert payload["user"]["seNumber"] is None
    assert (await get_user(env, strict_org, payload["user"]["id"]))["authenticators"] == ["MITID_APP"]


async def test_setting_authenticators_is_limited_by_the_settings(env: Env, strict_org: OrgFixture) -> None:
    user = (await create_ok(env, strict_org))["user"]
    before = await org_rows(env, strict_org)

    refused = await mutate(
        env, strict_org, SET_USER_AUTHENTICATORS, "setUserAuthenticators",
        userId=user["id"], authenticators=["PRIVATE_MITID"],
    )

    assert errors_of(refused) == [(["authenticators", "0"], "AUTHENTICATOR_NOT_ALLOWED")]
    assert await org_rows(env, strict_org) == before

    refused_chip = await mutate(
        env, strict_org, SET_USER_AUTHENTICATORS, "setUserAuthenticators",
        userId=user["id"], authenticators=["MITID_APP", "CHIP"],
    )

    assert errors_of(refused_chip) == [(["authenticators", "1"], "AUTHENTICATOR_NOT_ALLOWED")]
    assert (await get_user(env, strict_org, user["id"]))["authenticators"] == []

    accepted = await mutate(
        env, strict_org, SET_USER_AUTHENTICATORS, "setUserAuthenticators",
        userId=user["id"], authenticators=["MITID_APP"],
    )

    assert accepted["userErrors"] == []
    assert accepted["user"]["authenticators"] == ["MITID_APP"]
    total, entries = await history(env, strict_org, user["id"])
    assert total == 3
    assert entries[0]["type"] == "AUTHENTICATORS_CHANGED"
    assert entries[0]["details"] == {"from": [], "to": ["MITID_APP"]}


async def test_authenticators_can_be_replaced_and_removed(env: Env, org: OrgFixture) -> None:
    user = (await create_ok(env, org, authenticators=["PRIVATE_MITID", "CHIP"]))["user"]
    assert sorted(user["authenticators"]) == ["CHIP", "PRIVATE_MITID"]

    replaced = await mutate(
        env, org, SET_USER_AUTHENTICATORS, "setUserAuthenticators", userId=user["id"], authenticators=["CODE_DISPLAY"]
    )
    removed = await mutate(
        env, org, SET_USER_AUTHENTICATORS, "setUserAuthenticators", userId=user["id"], authenticators=[]
    )

    assert replaced["userErrors"] == []
    assert replaced["user"]["authenticators"] == ["CODE_DISPLAY"]
    assert removed["userErrors"] == []
    assert removed["user"]["authenticators"] == []
    assert (await history_types(env, org, user["id"]))[:2] == ["AUTHENTICATORS_CHANGED", "AUTHENTICATORS_CHANGED"]


async def test_setting_the_same_authenticators_again_writes_no_history(env: Env, org: OrgFixture) -> None:
    user = (await create_ok(env, org, authenticators=["MITID_APP"]))["user"]
    before = await org_rows(env, org)

    result = await mutate(
        env, org, SET_USER_AUTHENTICATORS, "setUserAuthenticators", userId=user["id"], authenticators=["MITID_APP"]
    )

    assert result["userErrors"] == []
    assert await org_rows(env, org) == before


async def test_anonymous_users_need_the_settings_to_allow_anonymity(
    env: Env, org: OrgFixture, strict_org: OrgFixture
) -> None:
    before = await org_rows(env, strict_org)

    refused = await create(env, strict_org, anonymous=True)
    allowed = await create(env, org, anonymous=True)

    assert errors_of(refused) == [(["anonymous"], "ANONYMITY_NOT_ALLOWED")]
    assert await org_rows(env, strict_org) == before
    assert allowed["userErrors"] == []
    assert allowed["user"]["anonymous"] is True


async def test_signing_and_seals_need_the_settings_to_allow_certificates(
    env: Env, org: OrgFixture, strict_org: OrgFixture
) -> None:
    before = await org_rows(env, strict_org)

    sign = await create(env, strict_org, canSign=True)
    seal = await create(env, strict_org, canCreateSeal=True)
    allowed = await create(env, org, canSign=True, canCreateSeal=True)

    assert errors_of(sign) == [(["canSign"], "SIGNING_NOT_ALLOWED")]
    assert errors_of(seal) == [(["canCreateSeal"], "SIGNING_NOT_ALLOWED")]
    assert await org_rows(env, strict_org) == before
    assert allowed["userErrors"] == []
    assert (allowed["user"]["canSign"], allowed["user"]["canCreateSeal"]) == (True, True)


# --- editing --------------------------------------------------------------------------------------


async def test_updating_a_user_changes_the_fields_and_writes_history(env: Env, org: OrgFixture) -> None:
    user = (await create_ok(env, org, phone="12345678", reference="R-1"))["user"]
    new = new_email()

    result = await mutate(env, org, UPDATE_USER, "updateUser", userId=user["id"], email=new, phone="", reference="R-2")

    assert result["userErrors"] == []
    assert (result["user"]["email"], result["user"]["phone"], result["user"]["reference"]) == (new, None, "R-2")
    shown = await get_user(env, org, user["id"])
    assert (shown["email"], shown["phone"], shown["reference"]) == (new, None, "R-2")
    total, entries = await history(env, org, user["id"], first=5)
    assert total == 3
    assert entries[0]["type"] == "USER_UPDATED"
    assert entries[0]["details"] == {
        "email": {"from": user["email"], "to": new},
        "phone": {"from": "12345678", "to": None},
        "reference": {"from": "R-1", "to": "R-2"},
    }


async def test_updating_normalises_the_phone_and_leaves_omitted_fields_alone(env: Env, org: OrgFixture) -> None:
    user = (await create_ok(env, org, reference="R-1"))["user"]

    result = await mutate(env, org, UPDATE_USER, "updateUser", userId=user["id"], phone="+45 12 34 56 78")

    assert result["userErrors"] == []
    assert result["user"]["phone"] == "+4512345678"
    assert (result["user"]["email"], result["user"]["reference"]) == (user["email"], "R-1")
    _, entries = await history(env, org, user["id"], first=5)
    assert entries[0]["details"] == {"phone": {"from": None, "to": "+4512345678"}}


async def test_updating_to_another_users_email_is_a_duplicate(env: Env, org: OrgFixture) -> None:
    user = (await create_ok(env, org))["user"]
    other = (await create_ok(env, org))["user"]
    before = await org_rows(env, org)

    result = await mutate(env, org, UPDATE_USER, "updateUser", userId=user["id"], email=other["email"].upper())

    assert errors_of(result) == [(["email"], "DUPLICATE_EMAIL")]
    assert result["user"] is None
    assert await org_rows(env, org) == before
    assert (await get_user(env, org, user["id"]))["email"] == user["email"]


async def test_an_invalid_update_changes_nothing(env: Env, org: OrgFixture) -> None:
    user = (await create_ok(env, org, phone="12345678"))["user"]
    before = await org_rows(env, org)

    result = await mutate(env, org, UPDATE_USER, "updateUser", userId=user["id"], email="bad", phone="1", reference="ok")

    assert len(result["userErrors"]) == 2
    assert sorted(errors_of(result)) == [(["email"], "INVALID_EMAIL"), (["phone"], "INVALID_PHONE")]
    assert await org_rows(env, org) == before
    shown = await get_user(env, org, user["id"])
    assert (shown["email"], shown["phone"], shown["reference"]) == (user["email"], "12345678", None)


async def test_an_update_with_unchanged_values_writes_no_history(env: Env, org: OrgFixture) -> None:
    user = (await create_ok(env, org, phone="12345678", reference="R-1"))["user"]
    total_before, _ = await history(env, org, user["id"])

    result = await mutate(
        env, org, UPDATE_USER, "updateUser", userId=user["id"], email=user["email"], phone="12345678", reference="R-1"
    )

    assert result["userErrors"] == []
    assert (await history(env, org, user["id"]))[0] == total_before


# --- P-number and SE-number -----------------------------------------------------------------------


async def test_the_default_p_and_se_numbers_from_the_settings_are_applied(env: Env, org: OrgFixture) -> None:
    defaulted = (await create_ok(env, org))["user"]
    chosen = (await create_ok(env, org, pNumber=org.p_numbers[1], seNumber=org.se_numbers[1]))["user"]

    assert (defaulted["pNumber"], defaulted["seNumber"]) == (org.p_numbers[0], org.cvr)
    assert (chosen["pNumber"], chosen["seNumber"]) == (org.p_numbers[1], org.se_numbers[1])


async def test_own_p_and_se_numbers_can_be_set(env: Env, org: OrgFixture) -> None:
    user = (await create_ok(env, org))["user"]

    result = await mutate(
        env, org, SET_USER_ORGANISATION_UNIT, "setUserOrganisationUnit",
        userId=user["id"], pNumber=org.p_numbers[1], seNumber=org.se_numbers[1],
    )

    assert result["userErrors"] == []
    assert (result["user"]["pNumber"], result["user"]["seNumber"]) == (org.p_numbers[1], org.se_numbers[1])
    _, entries = await history(env, org, user["id"], first=5)
    assert entries[0]["type"] == "ORGANISATION_UNIT_CHANGED"
    assert entries[0]["details"] == {
        "from": {"pNumber": org.p_numbers[0], "seNumber": org.cvr},
        "to": {"pNumber": org.p_numbers[1], "seNumber": org.se_numbers[1]},
    }

    only_p = await mutate(
        env, org, SET_USER_ORGANISATION_UNIT, "setUserOrganisationUnit", userId=user["id"], pNumber=org.p_numbers[0]
    )

    assert only_p["userErrors"] == []
    assert (only_p["user"]["pNumber"], only_p["user"]["seNumber"]) == (org.p_numbers[0], org.se_numbers[1])


async def test_setting_the_same_p_and_se_numbers_again_writes_no_history(env: Env, org: OrgFixture) -> None:
    user = (await create_ok(env, org))["user"]
    before = await org_rows(env, org)

    result = await mutate(
        env, org, SET_USER_ORGANISATION_UNIT, "setUserOrganisationUnit",
        userId=user["id"], pNumber=org.p_numbers[0], seNumber=org.cvr,
    )

    assert result["userErrors"] == []
    assert (result["user"]["pNumber"], result["user"]["seNumber"]) == (org.p_numbers[0], org.cvr)
    assert await org_rows(env, org) == before


async def test_another_organisations_p_and_se_numbers_are_unknown(
    env: Env, org: OrgFixture, other_org: OrgFixture
) -> None:
    user = (await create_ok(env, org))["user"]
    before = await org_rows(env, org)

    result = await mutate(
        env, org, SET_USER_ORGANISATION_UNIT, "setUserOrganisationUnit",
        userId=user["id"], pNumber=other_org.p_numbers[1], seNumber=other_org.se_numbers[1],
    )

    assert len(result["userErrors"]) == 2
    assert errors_of(result) == [(["pNumber"], "UNKNOWN_P_NUMBER"), (["seNumber"], "UNKNOWN_SE_NUMBER")]
    assert await org_rows(env, org) == before
    shown = await get_user(env, org, user["id"])
    assert (shown["pNumber"], shown["seNumber"]) == (org.p_numbers[0], org.cvr)


async def test_setting_the_organisation_unit_needs_a_p_or_se_number(env: Env, org: OrgFixture) -> None:
    user = (await create_ok(env, org))["user"]

    result = await mutate(env, org, SET_USER_ORGANISATION_UNIT, "setUserOrganisationUnit", userId=user["id"])
    malformed = await mutate(
        env, org, SET_USER_ORGANISATION_UNIT, "setUserOrganisationUnit", userId=user["id"], pNumber="12", seNumber="1"
    )

    assert errors_of(result) == [(["pNumber"], "REQUIRED")]
    assert errors_of(malformed) == [(["pNumber"], "INVALID_P_NUMBER"), (["seNumber"], "INVALID_SE_NUMBER")]


# --- deactivation and reactivation ----------------------------------------------------------------


async def test_only_active_users_can_be_deactivated(env: Env, org: OrgFixture) -> None:
    pending = (await create_ok(env, org))["user"]
    before = await org_rows(env, org)

    result = await mutate(env, org, DEACTIVATE_USER, "deactivateUser", userId=pending["id"])

    assert errors_of(result) == [(["userId"], "INVALID_STATUS")]
    assert await org_rows(env, org) == before


async def test_deactivating_without_dates_deactivates_now_and_open_ended(env: Env, org: OrgFixture) -> None:
    user = await active_user(env, org)
    started = dt.datetime.now(dt.UTC)

    result = await mutate(env, org, DEACTIVATE_USER, "deactivateUser", userId=user["id"])

    assert result["userErrors"] == []
    assert result["user"]["status"] == "DEACTIVATED"
    deactivation = result["user"]["deactivation"]
    assert deactivation["until"] is None
    assert abs(dt.datetime.fromisoformat(deactivation["from"]) - started) < dt.timedelta(seconds=30)
    _, entries = await history(env, org, user["id"], first=5)
    assert entries[0]["type"] == "USER_DEACTIVATED"
    assert entries[0]["details"]["until"] is None

    again = await mutate(env, org, DEACTIVATE_USER, "deactivateUser", userId=user["id"])

    assert errors_of(again) == [(["userId"], "INVALID_STATUS")]


async def test_a_period_ending_before_it_starts_is_invalid(env: Env, org: OrgFixture) -> None:
    user = await active_user(env, org)
    before = await org_rows(env, org)

    result = await mutate(
        env, org, DEACTIVATE_USER, "deactivateUser", userId=user["id"], **{"from": "2099-05-10", "until": "2099-05-01"}
    )
    past = await mutate(env, org, DEACTIVATE_USER, "deactivateUser", userId=user["id"], until="2001-01-01")

    assert errors_of(result) == [(["until"], "INVALID_PERIOD")]
    assert errors_of(past) == [(["until"], "INVALID_PERIOD")]
    assert await org_rows(env, org) == before
    assert (await get_user(env, org, user["id"]))["status"] == "ACTIVE"


async def test_malformed_deactivation_dates_are_invalid(env: Env, org: OrgFixture) -> None:
    user = await active_user(env, org)
    before = await org_rows(env, org)

    one = await mutate(env, org, DEACTIVATE_USER, "deactivateUser", userId=user["id"], **{"from": "10-05-2099"})
    both = await mutate(
        env, org, DEACTIVATE_USER, "deactivateUser", userId=user["id"], **{"from": "soon", "until": "2099-02-30"}
    )

    assert errors_of(one) == [(["from"], "INVALID_DATE")]
    assert len(both["userErrors"]) == 2
    assert errors_of(both) == [(["from"], "INVALID_DATE"), (["until"], "INVALID_DATE")]
    assert await org_rows(env, org) == before


async def test_a_deactivation_period_ends_on_its_own(env: Env, org: OrgFixture) -> None:
    user = await active_user(env, org)
    until = (dt.datetime.now(dt.UTC) + dt.timedelta(seconds=1.5)).isoformat()

    result = await mutate(env, org, DEACTIVATE_USER, "deactivateUser", userId=user["id"], until=until)

    assert result["userErrors"] == []
    assert result["user"]["status"] == "DEACTIVATED"
    assert dt.datetime.fromisoformat(result["user"]["deactivation"]["until"]) == dt.datetime.fromisoformat(until)

    deadline = asyncio.get_running_loop().time() + 10
    entries: list[dict[str, Any]] = []
    status = "DEACTIVATED"
    while asyncio.get_running_loop().time() < deadline:
        status = (await get_user(env, org, user["id"]))["status"]
        _, entries = await history(env, org, user["id"], first=5)
        if status == "ACTIVE" and entries[0]["type"] == "USER_REACTIVATED":
            break
        await asyncio.sleep(0.1)

    assert status == "ACTIVE"
    assert entries[0]["type"] == "USER_REACTIVATED"
    assert entries[0]["actorName"] == "System"
    assert entries[0]["details"] == {"automatic": True}
    assert entries[1]["type"] == "USER_DEACTIVATED"
    assert (await get_user(env, org, user["id"]))["deactivation"] is None


async def test_a_scheduled_deactivation_starts_on_its_own(env: Env, org: OrgFixture) -> None:
    user = await active_user(env, org)
    start = (dt.datetime.now(dt.UTC) + dt.timedelta(seconds=1)).isoformat()

    result = await mutate(env, org, DEACTIVATE_USER, "deactivateUser", userId=user["id"], **{"from": start})

    assert result["userErrors"] == []
    assert result["user"]["status"] == "ACTIVE"
    deadline = asyncio.get_running_loop().time() + 10
    status = "ACTIVE"
    while asyncio.get_running_loop().time() < deadline:
        status = (await get_user(env, org, user["id"]))["status"]
        if status == "DEACTIVATED":
            break
        await asyncio.sleep(0.1)

    assert status == "DEACTIVATED"
    _, entries = await history(env, org, user["id"], first=5)
    assert [e["type"] for e in entries[:2]] == ["USER_DEACTIVATED", "DEACTIVATION_SCHEDULED"]
    assert entries[0]["actorName"] == "System"
    assert entries[0]["details"] == {"automatic": True}


async def test_a_future_deactivation_is_scheduled_and_can_be_cancelled(env: Env, org: OrgFixture) -> None:
    user = await active_user(env, org)

    result = await mutate(
        env, org, DEACTIVATE_USER, "deactivateUser", userId=user["id"], **{"from": "2099-07-01", "until": "2099-07-31"}
    )

    assert result["userErrors"] == []
    assert result["user"]["status"] == "ACTIVE"
    # Whole Danish days: from the start of 1 July to the end of 31 July, Copenhagen summer time.
    assert dt.datetime.fromisoformat(result["user"]["deactivation"]["from"]) == dt.datetime(
        2099, 6, 30, 22, tzinfo=dt.UTC
    )
    assert dt.datetime.fromisoformat(result["user"]["deactivation"]["until"]) == dt.datetime(
        2099, 7, 31, 22, tzinfo=dt.UTC
    )
    assert (await history_types(env, org, user["id"]))[0] == "DEACTIVATION_SCHEDULED"

    cancelled = await mutate(env, org, REACTIVATE_USER, "reactivateUser", userId=user["id"])

    assert cancelled["userErrors"] == []
    assert cancelled["user"]["status"] == "ACTIVE"
    assert cancelled["user"]["deactivation"] is None
    assert (await history_types(env, org, user["id"]))[0] == "USER_REACTIVATED"


async def test_a_deactivated_user_can_be_reactivated_by_hand(env: Env, org: OrgFixture) -> None:
    user = await active_user(env, org)
    await mutate(env, org, DEACTIVATE_USER, "deactivateUser", userId=user["id"], until="2099-12-31")

    result = await mutate(env, org, REACTIVATE_USER, "reactivateUser", userId=user["id"])

    assert result["userErrors"] == []
    assert result["user"]["status"] == "ACTIVE"
    assert result["user"]["deactivation"] is None
    _, entries = await history(env, org, user["id"], first=5)
    assert entries[0]["type"] == "USER_REACTIVATED"
    assert entries[0]["actorName"] != "System"


async def test_reactivating_an_active_user_without_a_schedule_is_invalid_status(env: Env, org: OrgFixture) -> None:
    user = await active_user(env, org)
    pending = (await create_ok(env, org))["user"]
    before = await org_rows(env, org)

    active = await mutate(env, org, REACTIVATE_USER, "reactivateUser", userId=user["id"])
    not_yet = await mutate(env, org, REACTIVATE_USER, "reactivateUser", userId=pending["id"])

    assert errors_of(active) == [(["userId"], "INVALID_STATUS")]
    assert errors_of(not_yet) == [(["userId"], "INVALID_STATUS")]
    assert await org_rows(env, org) == before


# --- deletion -------------------------------------------------------------------------------------


async def test_a_deleted_user_disappears_but_its_history_stays(env: Env, org: OrgFixture) -> None:
    user = await active_user(env, org)

    result = await mutate(env, org, DELETE_USER, "deleteUser", userId=user["id"])

    assert result["userErrors"] == []
    assert result["user"]["status"] == "DELETED"
    listed = await env.gql(USERS, token=ua(env, org))
    assert user["uuid"] not in [e["node"]["uuid"] for e in listed["data"]["users"]["edges"]]
    assert listed["data"]["users"]["totalCount"] == len(Role)
    body = await env.gql(
        ACTIVITIES, {"filter": {"targetUserId": user["id"]}}, token=token_for(env, org, Role.ORGANISATION_ADMINISTRATOR)
    )
    assert "errors" not in body, body
    entries = [e["node"] for e in body["data"]["activities"]["edges"]]
    assert [e["type"] for e in entries] == [
        "USER_DELETED", "USER_ACTIVATED", "ACTIVATION_CODE_GENERATED", "USER_CREATED",
    ]
    assert {e["targetName"] for e in entries} == {"Karen Jensen"}


async def test_a_deleted_user_cannot_be_reactivated_or_deleted_again(env: Env, org: OrgFixture) -> None:
    user = await active_user(env, org)
    await mutate(env, org, DEACTIVATE_USER, "deactivateUser", userId=user["id"])
    await mutate(env, org, DELETE_USER, "deleteUser", userId=user["id"])
    before = await org_rows(env, org)

    reactivated = await mutate(env, org, REACTIVATE_USER, "reactivateUser", userId=user["id"])
    deleted = await mutate(env, org, DELETE_USER, "deleteUser", userId=user["id"])
    updated = await mutate(env, org, UPDATE_USER, "updateUser", userId=user["id"], phone="12345678")

    # `user(id)` still shows the user, as DELETED: the answers say so (not NOT_FOUND).
    for payload, code in ((reactivated, "USER_DELETED"), (deleted, "ALREADY_DELETED"), (updated, "USER_DELETED")):
        assert errors_of(payload) == [(["userId"], code)]
        assert payload["user"] is None
    assert await org_rows(env, org) == before


async def test_a_pending_user_can_be_deleted_and_its_code_stops_working(env: Env, org: OrgFixture) -> None:
    created = await create_ok(env, org)

    result = await mutate(env, org, DELETE_USER, "deleteUser", userId=created["user"]["id"])
    activation = await activate(env, userId=created["user"]["id"], code=created["temporaryActivationCode"])

    assert result["userErrors"] == []
    assert activation["activated"] is False
    assert [e["code"] for e in activation["userErrors"]] == ["INVALID_ACTIVATION"]


async def test_a_deleted_users_email_and_cpr_can_be_used_again(env: Env, org: OrgFixture) -> None:
    cpr = new_cpr()
    old = (await create_ok(env, org, cpr=cpr))["user"]
    await mutate(env, org, DELETE_USER, "deleteUser", userId=old["id"])

    payload = await create(env, org, cpr=cpr, email=old["email"])

    assert payload["userErrors"] == []
    assert payload["user"]["uuid"] != old["uuid"]


async def test_an_administrator_cannot_delete_themself(env: Env, org: OrgFixture) -> None:
    me = to_global_id("User", org.people[Role.USER_ADMINISTRATOR])
    before = await org_rows(env, org)

    result = await mutate(env, org, DELETE_USER, "deleteUser", userId=me)

    assert errors_of(result) == [(["userId"], "INVALID_STATUS")]
    assert result["user"] is None
    assert await org_rows(env, org) == before


# --- history: one entry of the right type per change ----------------------------------------------


async def test_every_lifecycle_mutation_writes_exactly_its_history_entry(env: Env, org: OrgFixture) -> None:
    viewer = await env.gql(VIEWER_NAME, token=ua(env, org))
    admin_name = viewer["data"]["viewer"]["user"]["name"]
    created = await create_ok(env, org, firstName="Ida", lastName="Holm")
    user_id = created["user"]["id"]
    assert await history_types(env, org, user_id) == ["ACTIVATION_CODE_GENERATED", "USER_CREATED"]

    steps: list[tuple[str, Any]] = [
        ("USER_ACTIVATED", lambda: activate(env, userId=user_id, code=created["temporaryActivationCode"])),
        ("USER_UPDATED", lambda: mutate(env, org, UPDATE_USER, "updateUser", userId=user_id, reference="HR")),
        ("AUTHENTICATORS_CHANGED", lambda: mutate(
            env, org, SET_USER_AUTHENTICATORS, "setUserAuthenticators", userId=user_id, authenticators=["MITID_APP"])),
        ("ORGANISATION_UNIT_CHANGED", lambda: mutate(
            env, org, SET_USER_ORGANISATION_UNIT, "setUserOrganisationUnit", userId=user_id, pNumber=org.p_numbers[1])),
        ("DEACTIVATION_SCHEDULED", lambda: mutate(
            env, org, DEACTIVATE_USER, "deactivateUser", userId=user_id, **{"from": "2099-01-01"})),
        ("USER_REACTIVATED", lambda: mutate(env, org, REACTIVATE_USER, "reactivateUser", userId=user_id)),
        ("USER_DEACTIVATED", lambda: mutate(env, org, DEACTIVATE_USER, "deactivateUser", userId=user_id)),
        ("USER_REACTIVATED", lambda: mutate(env, org, REACTIVATE_USER, "reactivateUser", userId=user_id)),
        ("USER_DELETED", lambda: mutate(env, org, DELETE_USER, "deleteUser", userId=user_id)),
    ]
    for expected, step in steps:
        total_before, _ = await history(env, org, user_id)

        payload = await step()

        assert payload["userErrors"] == [], (expected, payload)
        total, entries = await history(env, org, user_id)
        assert total == total_before + 1, expected
        assert entries[0]["type"] == expected
        assert entries[0]["targetName"] == "Ida Holm"
        assert entries[0]["actorName"] == ("Ida Holm" if expected == "USER_ACTIVATED" else admin_name)


# --- ids that are not users of the organisation ---------------------------------------------------

USER_MUTATIONS: list[tuple[str, str, dict[str, Any]]] = [
    (UPDATE_USER, "updateUser", {"phone": "12345678"}),
    (SET_USER_AUTHENTICATORS, "setUserAuthenticators", {"authenticators": ["MITID_APP"]}),
    (SET_USER_ORGANISATION_UNIT, "setUserOrganisationUnit", {"seNumber": "PLACEHOLDER"}),
    (RESEND_ACTIVATION_EMAIL, "resendActivationEmail", {}),
    (GENERATE_ACTIVATION_CODE, "generateActivationCode", {}),
    (DEACTIVATE_USER, "deactivateUser", {}),
    (REACTIVATE_USER, "reactivateUser", {}),
    (DELETE_USER, "deleteUser", {}),
]

BAD_IDS: list[tuple[str, Callable[[OrgFixture, OrgFixture], str]]] = [
    ("garbage", lambda o, x: "not a global id!"),
    ("empty", lambda o, x: ""),
    ("another_type", lambda o, x: to_global_id("AnonymityRequest", o.people[Role.USER])),
    ("user_without_a_uuid", lambda o, x: to_global_id("User", "42")),
    ("unknown_user", lambda o, x: to_global_id("User", uuid.uuid4())),
    ("user_of_another_organisation", lambda o, x: to_global_id("User", x.people[Role.USER])),
]


@pytest.mark.parametrize("make_id", [c[1] for c in BAD_IDS], ids=[c[0] for c in BAD_IDS])
async def test_an_id_that_is_not_a_user_of_the_organisation_is_not_found(
    env: Env, org: OrgFixture, other_org: OrgFixture, make_id: Callable[[OrgFixture, OrgFixture], str]
) -> None:
    bad_id = make_id(org, other_org)
    before, other_before = await org_rows(env, org), await org_rows(env, other_org)

    for query, name, extra in USER_MUTATIONS:
        extra = {k: (org.cvr if v == "PLACEHOLDER" else v) for k, v in extra.items()}

        payload = await mutate(env, org, query, name, userId=bad_id, **extra)

        assert errors_of(payload) == [(["userId"], "NOT_FOUND")], name
        assert payload["user"] is None

    assert await org_rows(env, org) == before
    assert await org_rows(env, other_org) == other_before
    activation = await activate(env, userId=bad_id, code="AAAAA-BBBBB")
    assert activation["activated"] is False
    assert [e["code"] for e in activation["userErrors"]] == ["INVALID_ACTIVATION"]


async def test_another_organisations_user_is_left_untouched(env: Env, org: OrgFixture, other_org: OrgFixture) -> None:
    foreign = to_global_id("User", other_org.people[Role.USER])

    await mutate(env, org, DEACTIVATE_USER, "deactivateUser", userId=foreign)
    await mutate(env, org, DELETE_USER, "deleteUser", userId=foreign)

    body = await env.gql(USER, {"id": foreign}, token=token_for(env, other_org, Role.USER_ADMINISTRATOR))
    assert body["data"]["user"]["status"] == "ACTIVE"
    hidden = await env.gql(USER, {"id": foreign}, token=ua(env, org))
    assert hidden["data"]["user"] is None
