"""updateUser's second-round fields (firstName, lastName, rights, canSign, canCreateSeal) through the
API: the rules of createUser, who may change what (a rights administrator: rights only), deleted and
anonymous users, and the history entry each change leaves."""

from __future__ import annotations

import datetime as dt
import json
import uuid
from typing import Any

from sqlalchemy import select

from app.domain.common.organisation import OrganisationSettings
from app.domain.common.principal import Role
from app.domain.common.validation import Errors, OrgContext
from app.domain.users.editing import SUMMARY_MAX, change_summary, given_fields
from app.domain.users.model import Identification, UserStatus
from app.domain.users.model import User as DomainUser
from app.domain.users.rules import AppliedChanges, UserChanges, apply_user_changes
from app.persistence.tables.activity import activities
from app.persistence.tables.users import user_rights, users
from app.schema.runtime.base import to_global_id
from tests.conftest import Env, token_for
from tests.factories import OrgFixture, make_org

UA, RA, OA, U = (Role.USER_ADMINISTRATOR, Role.RIGHTS_ADMINISTRATOR, Role.ORGANISATION_ADMINISTRATOR, Role.USER)

UPDATE = """
mutation($input: UpdateUserInput!) {
  updateUser(input: $input) {
    user { id firstName lastName name rights canSign canCreateSeal email phone status anonymous }
    userErrors { field code message }
  }
}
"""
CREATE = """
mutation($input: CreateUserInput!) {
  createUser(input: $input) { user { id } userErrors { field code } }
}
"""
DELETE = "mutation($id: ID!) { deleteUser(input: {userId: $id}) { user { status } userErrors { field code } } }"
HISTORY = """
query($id: ID!) {
  user(id: $id) { history(first: 10) { edges { node { type summary details actorName } } } }
}
"""


async def new_user(env: Env, org: OrgFixture, **extra: Any) -> str:
    """A user created over the API (CPR unless a date of birth is given); its global id."""
    tag = uuid.uuid4().hex[:8]
    data = {"firstName": "Rita", "lastName": "Rettighed", "email": f"rita.{tag}@example.dk",
            "cpr": "0101901234" if "dateOfBirth" not in extra else None, **extra}
    body = await env.gql(CREATE, {"input": {k: v for k, v in data.items() if v is not None}},
                         token=token_for(env, org, UA))
    assert body["data"]["createUser"]["userErrors"] == [], body
    return body["data"]["createUser"]["user"]["id"]


async def update(env: Env, org: OrgFixture, role: Role, user_id: str, **fields: Any) -> dict[str, Any]:
    return await env.gql(UPDATE, {"input": {"userId": user_id, **fields}}, token=token_for(env, org, role))


def errors(body: dict[str, Any]) -> list[tuple[list[str] | None, str]]:
    assert "errors" not in body, body
    return [(e["field"], e["code"]) for e in body["data"]["updateUser"]["userErrors"]]


async def snapshot(env: Env, org: OrgFixture) -> tuple[Any, ...]:
    """Every user row, right and history entry of the organisation."""
    async with env.engine.connect() as conn:
        # Not when each was last seen: the refused request itself notes its sender's visit.
        data = [c for c in users.c if c.name != "last_seen_at"]
        people = sorted(tuple(r) for r in await conn.execute(select(*data).where(users.c.org_id == org.org_id)))
        rights = sorted(tuple(r) for r in await conn.execute(
            select(user_rights).join(users, users.c.id == user_rights.c.user_id).where(users.c.org_id == org.org_id)))
        history = (await conn.execute(select(activities.c.id).where(activities.c.org_id == org.org_id))).all()
    return people, rights, len(history)


async def history(env: Env, org: OrgFixture, user_id: str) -> list[dict[str, Any]]:
    body = await env.gql(HISTORY, {"id": user_id}, token=token_for(env, org, UA))
    assert "errors" not in body, body
    return [e["node"] for e in body["data"]["user"]["history"]["edges"]]


def details_of(entry: dict[str, Any]) -> dict[str, Any]:
    details = entry["details"]
    return json.loads(details) if isinstance(details, str) else details


# --- a user administrator changes every field ----------------------------------------------------------


async def test_a_user_administrator_changes_name_rights_signing_and_seal(env: Env, org: OrgFixture) -> None:
    user_id = await new_user(env, org, rights=["SKAT.MOMS", "DST.STATISTIK"])

    body = await update(env, org, UA, user_id, firstName="  Rikke ", lastName="Rettesen",
                        rights=["skat.moms", "ERST.REGNSKAB", "SKAT.TOLD"], canSign=True, canCreateSeal=True)

    assert errors(body) == []
    user = body["data"]["updateUser"]["user"]
    assert (user["firstName"], user["lastName"], user["name"]) == ("Rikke", "Rettesen", "Rikke Rettesen")
    assert sorted(user["rights"]) == ["ERST.REGNSKAB", "SKAT.MOMS", "SKAT.TOLD"]
    assert (user["canSign"], user["canCreateSeal"]) == (True, True)
    [entry] = [e for e in await history(env, org, user_id) if e["type"] == "USER_UPDATED"]
    details = details_of(entry)
    assert details["firstName"] == {"from": "Rita", "to": "Rikke"}
    assert details["lastName"] == {"from": "Rettighed", "to": "Rettesen"}
    assert details["canSign"] == {"from": False, "to": True}
    assert details["canCreateSeal"] == {"from": False, "to": True}
    assert details["rights"] == {
        "from": ["DST.STATISTIK", "SKAT.MOMS"], "to": ["ERST.REGNSKAB", "SKAT.MOMS", "SKAT.TOLD"],
        "added": ["ERST.REGNSKAB", "SKAT.TOLD"], "removed": ["DST.STATISTIK"],
    }
    assert "rights (added ERST.REGNSKAB, SKAT.TOLD; removed DST.STATISTIK)" in entry["summary"]
    assert "firstName" in entry["summary"] and "canSign" in entry["summary"]
    # never a CPR number in the history, in any form
    text = json.dumps([entry["summary"], details])
    assert "0101901234" not in text and "010190" not in text


async def test_each_new_field_alone_changes_only_itself(env: Env, org: OrgFixture) -> None:
    user_id = await new_user(env, org, rights=["SKAT.MOMS"])
    for field, value, expected in [
        ("firstName", "Rosa", ("firstName", "Rosa")),
        ("lastName", "Rask", ("lastName", "Rask")),
        ("rights", [], ("rights", [])),
        ("canSign", True, ("canSign", True)),
        ("canCreateSeal", True, ("canCreateSeal", True)),
    ]:
        before = await snapshot(env, org)
        body = await update(env, org, UA, user_id, **{field: value})
        assert errors(body) == [], field
        assert body["data"]["updateUser"]["user"][expected[0]] == expected[1], field
        assert (await snapshot(env, org))[2] == before[2] + 1, field  # one history entry per change
    user = (await update(env, org, UA, user_id))["data"]["updateUser"]["user"]
    assert (user["firstName"], user["lastName"], user["rights"], user["canSign"], user["canCreateSeal"]) == (
        "Rosa", "Rask", [], True, True)


async def test_the_same_values_again_change_nothing_and_leave_no_history(env: Env, org: OrgFixture) -> None:
    user_id = await new_user(env, org, rights=["SKAT.MOMS"])
    before = await snapshot(env, org)

    body = await update(env, org, UA, user_id, firstName="Rita", rights=["SKAT.MOMS"], canSign=False)

    assert errors(body) == []
    assert await snapshot(env, org) == before


# --- the rules of creation ---------------------------------------------------------------------------


async def test_bad_values_are_refused_with_every_error_and_nothing_is_written(env: Env, org: OrgFixture) -> None:
    user_id = await new_user(env, org, rights=["SKAT.MOMS"])
    before = await snapshot(env, org)
    cases = [
        ({"rights": ["SKAT.MOMS", "NOPE.UNKNOWN"]}, [(["rights", "1"], "INVALID_RIGHT")]),
        ({"rights": ["not a code"]}, [(["rights", "0"], "INVALID_RIGHT")]),
        ({"firstName": "   "}, [(["firstName"], "REQUIRED")]),
        ({"lastName": "x" * 101}, [(["lastName"], "TOO_LONG")]),
        ({"firstName": "Rita\nBcc: x"}, [(["firstName"], "INVALID_CHARACTERS")]),
        ({"firstName": "", "lastName": "", "rights": ["NOPE.X"], "email": "nope"},
         [(["firstName"], "REQUIRED"), (["lastName"], "REQUIRED"), (["email"], "INVALID_EMAIL"),
          (["rights", "0"], "INVALID_RIGHT")]),
    ]
    for fields, expected in cases:
        assert sorted(errors(await update(env, org, UA, user_id, **fields))) == sorted(expected), fields
    assert await snapshot(env, org) == before


async def test_signing_and_seal_need_an_organisation_that_allows_certificates(env: Env) -> None:
    closed = await make_org(env.services, settings=OrganisationSettings(
        user_certificates_allowed=False, organisation_certificates_allowed=False))
    user_id = await new_user(env, closed, dateOfBirth="1990-01-01")
    before = await snapshot(env, closed)

    assert errors(await update(env, closed, UA, user_id, canSign=True)) == [(["canSign"], "SIGNING_NOT_ALLOWED")]
    assert errors(await update(env, closed, UA, user_id, canCreateSeal=True)) == [
        (["canCreateSeal"], "SIGNING_NOT_ALLOWED")]
    assert await snapshot(env, closed) == before
    # taking signing away never needs the setting
    body = await update(env, closed, UA, user_id, canSign=False, canCreateSeal=False)
    assert errors(body) == []
    assert await snapshot(env, closed) == before  # it was off: nothing changed


async def test_an_email_another_user_has_is_refused_with_the_other_fields(env: Env, org: OrgFixture) -> None:
    user_id = await new_user(env, org)
    before = await snapshot(env, org)

    body = await update(env, org, UA, user_id, email=org.emails[U], firstName="Ny", rights=["SKAT.MOMS"])

    assert errors(body) == [(["email"], "DUPLICATE_EMAIL")]
    assert await snapshot(env, org) == before


# --- a rights administrator: rights only ---------------------------------------------------------------


async def test_a_rights_administrator_changes_rights(env: Env, org: OrgFixture) -> None:
    user_id = await new_user(env, org, rights=["SKAT.MOMS"])

    body = await update(env, org, RA, user_id, rights=["SKAT.MOMS", "VIRK.DIGITAL_POST"])

    assert errors(body) == []
    assert sorted(body["data"]["updateUser"]["user"]["rights"]) == ["SKAT.MOMS", "VIRK.DIGITAL_POST"]
    [entry] = [e for e in await history(env, org, user_id) if e["type"] == "USER_UPDATED"]
    assert details_of(entry)["rights"]["added"] == ["VIRK.DIGITAL_POST"]
    assert details_of(entry)["rights"]["removed"] == []
    assert entry["actorName"] and "Rights" in entry["actorName"]


async def test_a_rights_administrator_is_refused_every_other_field_and_nothing_is_written(
    env: Env, org: OrgFixture
) -> None:
    user_id = await new_user(env, org, rights=["SKAT.MOMS"])
    before = await snapshot(env, org)
    for fields in [
        {"firstName": "Hacket"},
        {"lastName": "Hacket", "rights": ["SKAT.TOLD"]},  # with rights too: the whole change is refused
        {"email": "other@example.dk"},
        {"phone": "+4512345678"},
        {"reference": "x"},
        {"canSign": True},
        {"canCreateSeal": False},
    ]:
        body = await update(env, org, RA, user_id, **fields)
        assert body["data"] is None, fields
        [error] = body["errors"]
        assert error["extensions"]["code"] == "FORBIDDEN", fields
        assert next(iter(k for k in fields if k != "rights")) in error["message"]
    assert await snapshot(env, org) == before


async def test_a_rights_administrator_gets_not_found_for_a_foreign_user(
    env: Env, org: OrgFixture, other_org: OrgFixture
) -> None:
    foreign = to_global_id("User", other_org.people[U])
    before = await snapshot(env, other_org)
    for role in (UA, RA):
        assert errors(await update(env, org, role, foreign, rights=["SKAT.MOMS"])) == [(["userId"], "NOT_FOUND")]
    assert await snapshot(env, other_org) == before


async def test_other_roles_cannot_update_users(env: Env, org: OrgFixture) -> None:
    user_id = await new_user(env, org)
    before = await snapshot(env, org)
    for role in (OA, U):
        body = await update(env, org, role, user_id, rights=["SKAT.MOMS"])
        assert body["data"] is None
        assert body["errors"][0]["extensions"]["code"] == "FORBIDDEN"
    assert await snapshot(env, org) == before


# --- deleted and anonymous users ------------------------------------------------------------------------


async def test_a_deleted_user_cannot_be_edited(env: Env, org: OrgFixture) -> None:
    user_id = await new_user(env, org)
    deleted = await env.gql(DELETE, {"id": user_id}, token=token_for(env, org, UA))
    assert deleted["data"]["deleteUser"]["userErrors"] == []
    before = await snapshot(env, org)

    for role, fields in ((UA, {"firstName": "Genopstået"}), (UA, {"phone": "+4512345678"}), (RA, {"rights": []})):
        assert errors(await update(env, org, role, user_id, **fields)) == [(["userId"], "USER_DELETED")]
    assert await snapshot(env, org) == before


async def test_an_anonymous_users_name_is_fixed_but_the_rest_can_change(env: Env, org: OrgFixture) -> None:
    user_id = await new_user(env, org, anonymous=True, dateOfBirth="1988-08-08")
    before = await snapshot(env, org)

    assert errors(await update(env, org, UA, user_id, firstName="Afsløret")) == [
        (["firstName"], "ANONYMOUS_NAME_FIXED")]
    assert errors(await update(env, org, UA, user_id, firstName="Ny", lastName="Navn", rights=["SKAT.MOMS"])) == [
        (["firstName"], "ANONYMOUS_NAME_FIXED"), (["lastName"], "ANONYMOUS_NAME_FIXED")]
    assert await snapshot(env, org) == before

    body = await update(env, org, UA, user_id, firstName="Rita", rights=["SKAT.MOMS"])  # the same name: no change
    assert errors(body) == []
    assert body["data"]["updateUser"]["user"]["rights"] == ["SKAT.MOMS"]
    [entry] = [e for e in await history(env, org, user_id) if e["type"] == "USER_UPDATED"]
    assert set(details_of(entry)) == {"rights"}


# --- the rule behind the gate --------------------------------------------------------------------------


def test_given_fields_names_every_field_a_change_gives() -> None:
    assert given_fields(UserChanges()) == []
    assert given_fields(UserChanges(rights=[])) == ["rights"]
    assert given_fields(UserChanges(phone="", can_sign=False, first_name="A")) == ["phone", "firstName", "canSign"]
    every = UserChanges(**{name: "x" for name in UserChanges.__slots__})  # type: ignore[arg-type]
    assert len(given_fields(every)) == len(UserChanges.__slots__)


def _user(**extra: Any) -> DomainUser:
    values: dict[str, Any] = dict(
        id=uuid.uuid4(), org_id=1, first_name="Rita", last_name="Rettighed", email="rita@example.dk", phone=None,
        reference=None, identification=Identification.DATE_OF_BIRTH, cpr_masked=None,
        date_of_birth=dt.date(1990, 1, 1), anonymous=False, status=UserStatus.ACTIVE, p_number=None, se_number=None,
        can_sign=False, can_create_seal=False, created_at=dt.datetime.now(dt.UTC),
    )
    return DomainUser(**{**values, **extra})


def _apply(
    user: DomainUser, changes: UserChanges, rights: list[str], *, signing: bool = True
) -> tuple[AppliedChanges, list[Any]]:
    settings = OrganisationSettings(user_certificates_allowed=signing, organisation_certificates_allowed=signing)
    ctx = OrgContext(1, settings, frozenset(), frozenset(), dt.date.today(), frozenset({"A.X", "B.Y", "C.Z"}))
    errors = Errors()
    applied = apply_user_changes(user, [], rights, changes, ctx, errors)
    return applied, [(e.field, e.code) for e in errors.items]


def test_the_history_of_a_rights_change_lists_what_was_added_and_removed() -> None:
    applied, errors = _apply(_user(), UserChanges(rights=["c.z", "A.X", "A.X"]), ["A.X", "B.Y"])
    assert errors == []
    assert applied.history_details() == {
        "rights": {"from": ["A.X", "B.Y"], "to": ["A.X", "C.Z"], "added": ["C.Z"], "removed": ["B.Y"]}}
    same, _ = _apply(_user(), UserChanges(rights=["B.Y", "A.X"]), ["A.X", "B.Y"])
    assert not same and same.history_details() == {}


def test_an_anonymous_users_name_is_refused_only_when_it_would_change() -> None:
    _, errors = _apply(_user(anonymous=True), UserChanges(first_name="Ny", last_name="Rettighed"), [])
    assert errors == [(["firstName"], "ANONYMOUS_NAME_FIXED")]
    _, errors = _apply(_user(anonymous=True), UserChanges(first_name=" Rita ", reference="x"), [])
    assert errors == []
    _, errors = _apply(_user(), UserChanges(first_name="Ny"), [])
    assert errors == []


def test_signing_is_checked_only_when_turned_on() -> None:
    signing = _user(can_sign=True, can_create_seal=True)
    _, errors = _apply(signing, UserChanges(can_create_seal=False), [], signing=False)
    assert errors == []  # taking the seal away while signing stays: the setting is not asked
    _, errors = _apply(_user(), UserChanges(can_sign=True, can_create_seal=True), [], signing=False)
    assert errors == [(["canSign"], "SIGNING_NOT_ALLOWED")]
    _, errors = _apply(_user(), UserChanges(can_sign=True, can_create_seal=True), [], signing=True)
    assert errors == []


def test_the_summary_names_the_fields_and_the_rights_moved_within_the_column() -> None:
    assert change_summary({"email": {}, "rights": {"added": ["A.X"], "removed": []}}) == (
        "Changed email, rights (added A.X)")
    assert change_summary({"rights": {"added": [], "removed": []}}) == "Changed rights"
    long = change_summary({"rights": {"added": [f"AREA.RIGHT_{i}" for i in range(100)], "removed": []}})
    assert len(long) == SUMMARY_MAX and long.endswith("\u2026")
