"""Settings and billing: organisation administrators change them, user administrators view them
(and may move the default P-unit), and the settings really drive the other areas."""

from __future__ import annotations

from typing import Any

import pytest

from app.domain.billing.changes import ean_is_valid
from app.domain.common.principal import Role
from app.persistence.tables.activity import activities
from app.persistence.tables.billing import billing_accounts
from app.persistence.tables.organisations import organisation_settings
from tests.conftest import Env, token_for
from tests.factories import OrgFixture

SETTINGS = """
query { settings { userCreation { employeesMayRequestUser anonymityAllowed requiredFields }
  authenticators { privateMitidAllowed allowed } certificates { userCertificates organisationCertificates qualified }
  defaultPNumber defaultSeNumber } }
"""
UPDATE_SETTINGS = """
mutation($input: UpdateOrganisationSettingsInput!) {
  updateOrganisationSettings(input: $input) {
    settings { userCreation { anonymityAllowed requiredFields } authenticators { privateMitidAllowed allowed } defaultPNumber }
    userErrors { field code message }
  }
}
"""
SET_DEFAULT = """
mutation($p: String) { setDefaultOrganisationUnit(input: {pNumber: $p}) { settings { defaultPNumber } userErrors { field code } } }
"""
BILLING = """
query { billing { method email fixedToNemhandel nemhandel { ean name attention poReference }
  counts { users billableUsers separateAuthenticators userCertificates organisationCertificates qualifiedCertificates } } }
"""
UPDATE_BILLING = """
mutation($input: UpdateBillingInput!) {
  updateBilling(input: $input) { billing { method email nemhandel { ean name } } userErrors { field code message } }
}
"""
CREATE_USER = """
mutation($input: CreateUserInput!) { createUser(input: $input) { user { pNumber authenticators anonymous } userErrors { field code } } }
"""


def ok(body: dict[str, Any]) -> dict[str, Any]:
    assert "errors" not in body, body
    return body["data"]


def forbidden(body: dict[str, Any]) -> None:
    assert body["errors"][0]["extensions"]["code"] == "FORBIDDEN", body


@pytest.mark.parametrize("role", list(Role))
async def test_everyone_in_the_organisation_views_settings(env: Env, org: OrgFixture, role: Role) -> None:
    settings = ok(await env.gql(SETTINGS, token=token_for(env, org, role)))["settings"]
    assert settings["defaultPNumber"] == org.p_numbers[0]
    assert settings["userCreation"]["anonymityAllowed"] is True


@pytest.mark.parametrize("role", [Role.USER_ADMINISTRATOR, Role.RIGHTS_ADMINISTRATOR, Role.USER])
async def test_only_organisation_administrators_change_settings_and_a_refusal_changes_nothing(
    env: Env, org: OrgFixture, role: Role
) -> None:
    before = await env.count_rows(activities, activities.c.org_id == org.org_id)
    forbidden(await env.gql(UPDATE_SETTINGS, {"input": {"userCreation": {"anonymityAllowed": False}}},
                            token=token_for(env, org, role)))
    assert ok(await env.gql(SETTINGS, token=token_for(env, org, role)))["settings"]["userCreation"]["anonymityAllowed"]
    assert await env.count_rows(activities, activities.c.org_id == org.org_id) == before
    assert await env.count_rows(organisation_settings, organisation_settings.c.org_id == org.org_id,
                                organisation_settings.c.anonymity_allowed.is_(True)) == 1


async def test_settings_drive_user_creation(env: Env, org: OrgFixture) -> None:
    oa = token_for(env, org, Role.ORGANISATION_ADMINISTRATOR)
    ua = token_for(env, org, Role.USER_ADMINISTRATOR)
    changed = ok(await env.gql(UPDATE_SETTINGS, {"input": {
        "userCreation": {"anonymityAllowed": False, "requiredFields": ["phone"]},
        "authenticators": {"privateMitidAllowed": False, "allowed": ["CHIP"]},
        "defaultPNumber": org.p_numbers[1],
    }}, token=oa))["updateOrganisationSettings"]
    assert changed["userErrors"] == []
    assert changed["settings"]["authenticators"] == {"privateMitidAllowed": False, "allowed": ["CHIP"]}
    base = {"firstName": "Ida", "lastName": "Indstilling", "email": "ida@example.dk", "dateOfBirth": "1990-01-01"}
    refused = ok(await env.gql(CREATE_USER, {"input": {**base, "anonymous": True,
                                                       "authenticators": ["PRIVATE_MITID", "MITID_APP"]}}, token=ua))
    assert sorted(e["code"] for e in refused["createUser"]["userErrors"]) == [
        "ANONYMITY_NOT_ALLOWED", "AUTHENTICATOR_NOT_ALLOWED", "AUTHENTICATOR_NOT_ALLOWED", "REQUIRED",
    ]
    created = ok(await env.gql(CREATE_USER, {"input": {**base, "phone": "+4512345678", "authenticators": ["CHIP"]}},
                               token=ua))["createUser"]
    assert created["userErrors"] == []
    assert created["user"] == {"pNumber": org.p_numbers[1], "authenticators": ["CHIP"], "anonymous": False}


async def test_invalid_settings_are_refused_field_by_field(env: Env, org: OrgFixture, other_org: OrgFixture) -> None:
    oa = token_for(env, org, Role.ORGANISATION_ADMINISTRATOR)
    refused = ok(await env.gql(UPDATE_SETTINGS, {"input": {
        "userCreation": {"requiredFields": ["shoeSize"]},
        "authenticators": {"allowed": ["PRIVATE_MITID"]},
        "defaultPNumber": other_org.p_numbers[0],
    }}, token=oa))["updateOrganisationSettings"]
    assert sorted((tuple(e["field"]), e["code"]) for e in refused["userErrors"]) == [
        (("allowedAuthenticators", "0"), "INVALID_AUTHENTICATOR"), (("pNumber",), "UNKNOWN_P_NUMBER"),
        (("requiredFields", "0"), "INVALID_FIELD"),
    ]


async def test_a_user_administrator_may_set_the_default_p_unit_but_nothing_else(env: Env, org: OrgFixture) -> None:
    ua = token_for(env, org, Role.USER_ADMINISTRATOR)
    moved = ok(await env.gql(SET_DEFAULT, {"p": org.p_numbers[1]}, token=ua))["setDefaultOrganisationUnit"]
    assert moved == {"settings": {"defaultPNumber": org.p_numbers[1]}, "userErrors": []}
    bad = ok(await env.gql(SET_DEFAULT, {"p": "12"}, token=ua))["setDefaultOrganisationUnit"]
    assert [e["code"] for e in bad["userErrors"]] == ["INVALID_P_NUMBER"]
    forbidden(await env.gql(SET_DEFAULT, {"p": org.p_numbers[0]}, token=token_for(env, org, Role.USER)))
    log = await env.count_rows(activities, activities.c.org_id == org.org_id, activities.c.type == "SETTINGS_CHANGED")
    assert log == 1


@pytest.mark.parametrize("ean,valid", [("5790000000005", True), ("5790000000006", False), ("5798000416604", True), ("579800041660", False),
                                       ("5798000416603", False), ("579800041660x", False)])
def test_ean_numbers_need_13_digits_and_the_gs1_check_digit(ean: str, valid: bool) -> None:
    assert ean_is_valid(ean) is valid


async def test_billing_is_viewed_by_user_administrators_and_changed_by_organisation_administrators(
    env: Env, org: OrgFixture
) -> None:
    ua = token_for(env, org, Role.USER_ADMINISTRATOR)
    oa = token_for(env, org, Role.ORGANISATION_ADMINISTRATOR)
    billing = ok(await env.gql(BILLING, token=ua))["billing"]
    assert billing["method"] == "DIGITAL_POST" and billing["fixedToNemhandel"] is False
    assert billing["counts"]["users"] == len(org.people)
    assert billing["counts"]["billableUsers"] == len(org.people) - 3
    nemhandel = {"method": "NEMHANDEL", "ean": "5798000416604", "eanName": "Bogholderiet", "attention": "Att. Bo"}
    forbidden(await env.gql(UPDATE_BILLING, {"input": nemhandel}, token=ua))
    assert await env.count_rows(billing_accounts, billing_accounts.c.org_id == org.org_id) == 0
    forbidden(await env.gql(BILLING, token=token_for(env, org, Role.USER)))
    # Rights administrators view billing too (as in MitID Erhverv), and change it no more than user administrators.
    ra = token_for(env, org, Role.RIGHTS_ADMINISTRATOR)
    assert ok(await env.gql(BILLING, token=ra))["billing"]["counts"]["users"] == len(org.people)
    forbidden(await env.gql(UPDATE_BILLING, {"input": nemhandel}, token=ra))
    changed = ok(await env.gql(UPDATE_BILLING, {"input": nemhandel}, token=oa))["updateBilling"]
    assert changed["userErrors"] == []
    assert changed["billing"]["nemhandel"] == {"ean": "5798000416604", "name": "Bogholderiet"}
    bad = ok(await env.gql(UPDATE_BILLING, {"input": {"method": "NEMHANDEL", "ean": "5798000416603"}}, token=oa))
    assert sorted(e["code"] for e in bad["updateBilling"]["userErrors"]) == ["INVALID_EAN", "REQUIRED"]
    email = ok(await env.gql(UPDATE_BILLING, {"input": {"method": "EMAIL", "email": "faktura@example.dk"}}, token=oa))
    assert email["updateBilling"]["billing"] == {"method": "EMAIL", "email": "faktura@example.dk", "nemhandel": None}
    assert ok(await env.gql(BILLING, token=ua))["billing"]["method"] == "EMAIL"


async def test_billing_counts_separate_authenticators_from_live_users(env: Env, org: OrgFixture) -> None:
    ua = token_for(env, org, Role.USER_ADMINISTRATOR)
    before = ok(await env.gql(BILLING, token=ua))["billing"]["counts"]
    base = {"lastName": "Tæller", "dateOfBirth": "1990-01-01", "authenticators": ["MITID_APP", "CHIP", "PRIVATE_MITID"]}
    for i in range(2):
        ok(await env.gql(CREATE_USER, {"input": {**base, "firstName": f"T{i}", "email": f"t{i}@example.dk"}}, token=ua))
    after = ok(await env.gql(BILLING, token=ua))["billing"]["counts"]
    assert after["users"] == before["users"] + 2
    assert after["separateAuthenticators"] == before["separateAuthenticators"] + 4


async def test_the_shared_authenticator_can_be_allowed_and_then_given_to_a_user(env: Env, org: OrgFixture) -> None:
    """It could never be allowed (only the separate ones were accepted), so createUser with it always
    failed with AUTHENTICATOR_NOT_ALLOWED."""
    oa = token_for(env, org, Role.ORGANISATION_ADMINISTRATOR)
    ua = token_for(env, org, Role.USER_ADMINISTRATOR)
    base = {"firstName": "Sune", "lastName": "Samme", "email": "sune@example.dk", "dateOfBirth": "1990-01-01",
            "authenticators": ["SHARED_AUTHENTICATOR"]}
    refused = ok(await env.gql(CREATE_USER, {"input": base}, token=ua))["createUser"]
    assert [e["code"] for e in refused["userErrors"]] == ["AUTHENTICATOR_NOT_ALLOWED"]
    changed = ok(await env.gql(UPDATE_SETTINGS, {"input": {"authenticators": {"allowed": ["MITID_APP", "SHARED_AUTHENTICATOR"]}}},
                               token=oa))["updateOrganisationSettings"]
    assert changed["userErrors"] == []
    assert changed["settings"]["authenticators"]["allowed"] == ["MITID_APP", "SHARED_AUTHENTICATOR"]
    created = ok(await env.gql(CREATE_USER, {"input": base}, token=ua))["createUser"]
    assert created["userErrors"] == [] and created["user"]["authenticators"] == ["SHARED_AUTHENTICATOR"]
