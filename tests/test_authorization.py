"""Who may do what: every root field is gated by the policy table, every role gets exactly what
POLICY grants, and another organisation's ids behave exactly like ids that do not exist."""

from __future__ import annotations

import uuid
from collections.abc import Callable
from typing import Any

import pytest
from sqlalchemy import select

from app.domain.common.policy import POLICY, Action
from app.domain.common.principal import Role
from app.persistence.tables.activity import activities
from app.persistence.tables.users import anonymity_requests, users
from app.schema import schema
from app.schema.runtime.base import required_action, to_global_id
from tests.conftest import Env, token_for
from tests.factories import OrgFixture, fresh_cvr

# Root fields anyone may call without being gated by `requires(...)`.
PUBLIC_FIELDS = {"activateUser", "requestUserAccount", "confirmUserAccountRequest"}

ALL_ROLES = list(Role)


def _root_fields(type_name: str) -> dict[str, Any]:
    """The Strawberry fields of a root type, by their GraphQL name (none if the type is absent)."""
    definition = schema.get_type_by_name(type_name)
    if definition is None:
        assert type_name == "Subscription", type_name
        return {}
    convert = schema.config.name_converter.get_graphql_name
    return {convert(f): f for f in definition.fields}


def _graphql_root_names(type_name: str) -> set[str]:
    root = {
        "Query": schema._schema.query_type,
        "Mutation": schema._schema.mutation_type,
        "Subscription": schema._schema.subscription_type,
    }[type_name]
    return set(root.fields) if root is not None else set()


def _gid(type_name: str, raw: Any = None) -> str:
    return str(to_global_id(type_name, raw if raw is not None else uuid.uuid4()))


# --- one operation per root field ----------------------------------------------------------------

Check = Callable[[Any], None]


def _is_null(value: Any) -> None:
    assert value is None, value


def _has_total(value: Any) -> None:
    assert isinstance(value["totalCount"], int), value


def _non_empty(value: Any) -> None:
    assert value, value


def _not_found(value: Any) -> None:
    assert [e["code"] for e in value["userErrors"]] == ["NOT_FOUND"], value


def _no_user_errors(value: Any) -> None:
    assert value["userErrors"] == [], value


def _accepted(value: Any) -> None:
    assert value == {"accepted": True, "userErrors": []}, value


def _not_confirmed(value: Any) -> None:
    assert value["confirmed"] is False and value["userErrors"][0]["code"] == "INVALID_CONFIRMATION", value


def _operations(org: OrgFixture, role: Role) -> dict[str, tuple[str, dict[str, Any], Check]]:
    """field name → (operation text, variables, what a permitted caller gets)."""
    bogus_user = _gid("User")
    bogus_request = _gid("AnonymityRequest")

    def user_mutation(name: str, input_type: str, extra: dict[str, Any] | None = None):  # noqa: ANN202
        text = f"""mutation($input: {input_type}!) {{
            {name}(input: $input) {{ user {{ id }} userErrors {{ field code message }} }} }}"""
        return text, {"input": {"userId": bogus_user, **(extra or {})}}, _not_found

    def viewer_roles(value: Any) -> None:
        assert value["roles"] == [role.value], value

    def same_org(value: Any) -> None:
        assert value["cvr"] == org.cvr, value

    def created(value: Any) -> None:
        assert value["userErrors"] == [] and value["user"]["id"], value

    def requested(value: Any) -> None:
        assert value["userErrors"] == [] and value["request"]["status"] == "PENDING", value

    def not_activated(value: Any) -> None:
        assert value["activated"] is False and value["userErrors"][0]["code"] == "INVALID_ACTIVATION", value

    def channel_set(value: Any) -> None:
        assert value["userErrors"] == [] and value["notificationSettings"]["channel"] == "IN_APP", value

    def group_mutation(name: str, input_type: str, extra: dict[str, Any]):  # noqa: ANN202
        text = f"""mutation($input: {input_type}!) {{
            {name}(input: $input) {{ group {{ id }} userErrors {{ field code message }} }} }}"""
        return text, {"input": {"groupId": _gid("UserGroup"), **extra}}, _not_found

    decide = """mutation($input: AnonymityDecisionInput!) {
        %s(input: $input) { request { id } userErrors { field code message } } }"""

    return {
        # --- queries
        "node": ("query($id: ID!) { node(id: $id) { id } }", {"id": bogus_user}, _is_null),
        "viewer": ("query { viewer { roles } }", {}, viewer_roles),
        "organisation": ("query { organisation { cvr } }", {}, same_org),
        "users": ("query { users(first: 1) { totalCount } }", {}, _has_total),
        "user": ("query($id: ID!) { user(id: $id) { id } }", {"id": bogus_user}, _is_null),
        "anonymityRequests": ("query { anonymityRequests { id } }", {}, lambda v: None if v == [] else _is_null(v)),
        "activities": ("query { activities(first: 1) { totalCount } }", {}, _has_total),
        "userStats": ("query { userStats { total byStatus { key count } } }", {},
                      lambda v: None if isinstance(v["total"], int) else _is_null(v)),
        "notifications": ("query { notifications(first: 1) { totalCount unreadCount } }", {}, _has_total),
        "notificationSettings": ("query { notificationSettings { channel } }", {}, lambda v: None),
        # --- mutations
        "createUser": (
            """mutation($input: CreateUserInput!) {
                createUser(input: $input) { user { id } temporaryActivationCode userErrors { field code message } } }""",
            {"input": {"firstName": "Mia", "lastName": "Matrix", "email": f"matrix.{uuid.uuid4().hex[:8]}@example.dk",
                       "dateOfBirth": "1990-05-17"}},
            created,
        ),
        "updateUser": user_mutation("updateUser", "UpdateUserInput", {"phone": "+4512345678"}),
        "assignRole": user_mutation("assignRole", "AssignRoleInput", {"role": "USER_ADMINISTRATOR"}),
        "removeRole": user_mutation("removeRole", "RemoveRoleInput", {"role": "USER_ADMINISTRATOR"}),
        "setUserAuthenticators": user_mutation(
            "setUserAuthenticators", "SetUserAuthenticatorsInput", {"authenticators": ["MITID_APP"]}
        ),
        "setUserOrganisationUnit": user_mutation(
            "setUserOrganisationUnit", "SetUserOrganisationUnitInput", {"pNumber": org.p_numbers[1]}
        ),
        "resendActivationEmail": user_mutation("resendActivationEmail", "UserIdInput"),
        "generateActivationCode": (
            """mutation($input: UserIdInput!) {
                generateActivationCode(input: $input) { user { id } temporaryActivationCode userErrors { field code } } }""",
            {"input": {"userId": bogus_user}},
            _not_found,
        ),
        "deactivateUser": user_mutation("deactivateUser", "DeactivateUserInput"),
        "reactivateUser": user_mutation("reactivateUser", "UserIdInput"),
        "deleteUser": user_mutation("deleteUser", "UserIdInput"),
        "requestAnonymity": (
            """mutation { requestAnonymity(input: {reason: "matrix"}) {
                request { id status } userErrors { field code message } } }""",
            {},
            requested,
        ),
        "approveAnonymityRequest": (decide % "approveAnonymityRequest", {"input": {"requestId": bogus_request}},
                                    _not_found),
        "rejectAnonymityRequest": (decide % "rejectAnonymityRequest", {"input": {"requestId": bogus_request}},
                                   _not_found),
        "activateUser": (
            """mutation { activateUser(input: {token: "not-a-real-activation-token"}) {
                activated userUuid userErrors { code } } }""",
            {},
            not_activated,
        ),
        "userAccountRequests": ("query { userAccountRequests { totalCount } }", {}, _has_total),
        "requestUserAccount": (
            """mutation($input: RequestUserAccountInput!) { requestUserAccount(input: $input) {
                accepted userErrors { field code } } }""",
            {"input": {"cvr": fresh_cvr(), "firstName": "Mia", "lastName": "Matrix",
                       "email": f"matrix.{uuid.uuid4().hex[:8]}@example.dk"}},
            _accepted,
        ),
        "confirmUserAccountRequest": (
            """mutation { confirmUserAccountRequest(input: {token: "not-a-real-token"}) {
                confirmed userErrors { code } } }""",
            {}, _not_confirmed,
        ),
        "approveUserAccountRequest": (
            """mutation($input: ApproveUserAccountRequestInput!) { approveUserAccountRequest(input: $input) {
                request { id } userErrors { field code message } } }""",
            {"input": {"requestId": _gid("UserAccountRequest"), "dateOfBirth": "1990-05-17"}}, _not_found,
        ),
        "rejectUserAccountRequest": (
            """mutation($input: RejectUserAccountRequestInput!) { rejectUserAccountRequest(input: $input) {
                request { id } userErrors { field code message } } }""",
            {"input": {"requestId": _gid("UserAccountRequest")}}, _not_found,
        ),
        "updateNotificationSettings": (
            """mutation { updateNotificationSettings(input: {channel: IN_APP}) {
                notificationSettings { channel } userErrors { code } } }""",
            {},
            channel_set,
        ),
        "markNotificationsRead": (
            "mutation { markNotificationsRead { marked userErrors { code } } }",
            {},
            _no_user_errors,
        ),
        # --- settings, billing, powers of attorney
        "settings": ("query { settings { defaultPNumber } }", {}, lambda v: None if "defaultPNumber" in v else _is_null(v)),
        "billing": ("query { billing { method counts { users } } }", {}, lambda v: None if v["method"] else _is_null(v)),
        "powersOfAttorney": ("query { powersOfAttorney(direction: RECEIVED) { totalCount } }", {}, _has_total),
        "updateOrganisationSettings": (
            """mutation { updateOrganisationSettings(input: {userCreation: {employeesMayRequestUser: true}}) {
                settings { defaultPNumber } userErrors { field code message } } }""",
            {}, _no_user_errors,
        ),
        "setDefaultOrganisationUnit": (
            """mutation($input: SetDefaultOrganisationUnitInput!) { setDefaultOrganisationUnit(input: $input) {
                settings { defaultPNumber } userErrors { field code message } } }""",
            {"input": {"pNumber": org.p_numbers[0]}}, _no_user_errors,
        ),
        "updateBilling": (
            """mutation { updateBilling(input: {method: DIGITAL_POST}) { billing { method } userErrors { field code message } } }""",
            {}, _no_user_errors,
        ),
        "createPowerOfAttorney": (
            """mutation($input: CreatePowerOfAttorneyInput!) { createPowerOfAttorney(input: $input) {
                powerOfAttorney { id } userErrors { field code message } } }""",
            {"input": {"receivingCvr": "11223346" if org.cvr != "11223346" else "12345674", "name": "Matrix",
                       "rights": ["SKAT.MOMS"]}},
            _no_user_errors,
        ),
        "revokePowerOfAttorney": (
            """mutation($input: RevokePowerOfAttorneyInput!) { revokePowerOfAttorney(input: $input) {
                powerOfAttorney { id } userErrors { field code message } } }""",
            {"input": {"powerOfAttorneyId": _gid("PowerOfAttorney")}}, _not_found,
        ),
        # --- the change feed and webhooks
        "changes": ("query { changes(first: 1) { edges { cursor } pageInfo { hasNextPage } } }", {},
                    lambda v: None if isinstance(v["edges"], list) else _is_null(v)),
        "webhookEndpoints": ("query { webhookEndpoints { totalCount } }", {}, _has_total),
        "createWebhookEndpoint": (
            """mutation { createWebhookEndpoint(input: {url: "https://93.184.216.34/hooks",
                eventTypes: [CERTIFICATE_RIGHTS_CHANGED]}) { webhookEndpoint { id } userErrors { field code message } } }""",
            {}, _no_user_errors,
        ),
        "deleteWebhookEndpoint": (
            """mutation($input: DeleteWebhookEndpointInput!) { deleteWebhookEndpoint(input: $input) {
                deletedWebhookEndpointId userErrors { field code message } } }""",
            {"input": {"webhookEndpointId": _gid("WebhookEndpoint")}}, _not_found,
        ),
        # --- user groups
        "rightsCatalogue": ("query { rightsCatalogue { code } }", {}, _non_empty),
        "userGroups": ("query { userGroups(first: 1) { totalCount } }", {}, _has_total),
        "userGroup": ("query($id: ID!) { userGroup(id: $id) { id } }", {"id": _gid("UserGroup")}, _is_null),
        "externalUsers": (
            'query { externalUsers(cvr: "11223346", email: "nobody@example.dk") { id } }', {},
            lambda v: None if v == [] else _is_null(v),
        ),
        "externalMemberships": ("query { externalMemberships { totalCount } }", {}, _has_total),
        "createUserGroup": (
            """mutation($input: CreateUserGroupInput!) { createUserGroup(input: $input) {
                group { id } userErrors { field code message } } }""",
            {"input": {"name": f"Matrix {uuid.uuid4().hex[:8]}"}},
            lambda v: _no_user_errors(v),
        ),
        "updateUserGroup": group_mutation("updateUserGroup", "UpdateUserGroupInput", {"name": "x"}),
        "deleteUserGroup": (
            """mutation($input: GroupIdInput!) { deleteUserGroup(input: $input) {
                deletedGroupId userErrors { field code message } } }""",
            {"input": {"groupId": _gid("UserGroup")}}, _not_found,
        ),
        "addUsersToGroup": group_mutation("addUsersToGroup", "AddUsersToGroupInput", {"userIds": [bogus_user]}),
        "removeUserFromGroup": group_mutation("removeUserFromGroup", "RemoveUserFromGroupInput", {"userId": bogus_user}),
        "addExternalUserToGroup": group_mutation(
            "addExternalUserToGroup", "ExternalMemberInput", {"externalUserId": _gid("ExternalUser")}
        ),
        "removeExternalUserFromGroup": group_mutation(
            "removeExternalUserFromGroup", "ExternalMemberInput", {"externalUserId": _gid("ExternalUser")}
        ),
        "removeOwnUserFromExternalGroup": (
            """mutation($input: LeaveExternalGroupInput!) { removeOwnUserFromExternalGroup(input: $input) {
                removedMembershipId userErrors { field code message } } }""",
            {"input": {"membershipId": _gid("ExternalMembership")}}, _not_found,
        ),
        "bulkJob": ("query($id: ID!) { bulkJob(id: $id) { id } }", {"id": _gid("BulkJob")}, _is_null),
        "importUsers": (
            """mutation($file: Upload!) { importUsers(input: {file: $file, operation: DELETE, dryRun: true}) {
                job { id status } userErrors { code } } }""",
            {"file": None, UPLOAD: ("file", b"Bruger-UUID;Fornavn\r\n")},
            lambda v: _no_user_errors(v) if v["job"]["status"] in ("QUEUED", "RUNNING", "FAILED") else None,
        ),
        "sendUsersForActivation": (
            """mutation($input: SendUsersForActivationInput!) { sendUsersForActivation(input: $input) {
                sent { id } userErrors { code } } }""",
            {"input": {"userIds": [bogus_user]}},
            _not_found,
        ),
        **_certificate_operations(bogus_user),
    }


def _certificate_operations(bogus_user: str) -> dict[str, tuple[str, dict[str, Any], Check]]:
    bogus = {"certificateId": _gid("Certificate")}

    def payload(name: str, input_type: str, selection: str, extra: dict[str, Any] | None = None):  # noqa: ANN202
        text = f"""mutation($input: {input_type}!) {{
            {name}(input: $input) {{ {selection} userErrors {{ field code message }} }} }}"""
        return text, {"input": {**bogus, **(extra or {})}}, _not_found

    def ordered(value: Any) -> None:
        assert value["userErrors"] == [] and value["certificate"]["status"] == "ORDERED", value

    issue = "certificate { id } certificatePem pkcs12"
    return {
        "certificates": ("query { certificates(first: 1) { totalCount } }", {}, _has_total),
        "certificateStats": ("query { certificateStats { total expiringSoon } }", {},
                             lambda v: None if isinstance(v["total"], int) else _is_null(v)),
        "certificate": ("query($id: ID!) { certificate(id: $id) { id } }", {"id": bogus["certificateId"]}, _is_null),
        "certificateProfiles": ("query { certificateProfiles { id } }", {}, lambda v: None if isinstance(v, list) else _is_null(v)),
        "orderUserCertificate": (
            """mutation($input: OrderUserCertificateInput!) { orderUserCertificate(input: $input) {
                certificate { id } userErrors { field code message } } }""",
            {"input": {"userId": bogus_user}},
            _not_found,
        ),
        "orderOrganisationCertificate": (
            """mutation($input: OrderOrganisationCertificateInput!) { orderOrganisationCertificate(input: $input) {
                certificate { id status } userErrors { field code message } } }""",
            {"input": {"name": f"Matrix {uuid.uuid4().hex[:8]}", "email": "matrix@example.dk",
                       "contactName": "Mads Matrix", "contactEmail": "mads@example.dk"}},
            ordered,
        ),
        "issueUserCertificate": payload("issueUserCertificate", "IssueCertificateInput", issue,
                                        {"password": "matrix-password"}),
        "retrieveOrganisationCertificate": payload("retrieveOrganisationCertificate", "IssueCertificateInput", issue,
                                                   {"password": "matrix-password"}),
        "renewCertificate": payload("renewCertificate", "IssueCertificateInput", issue),
        "cancelCertificateOrder": payload("cancelCertificateOrder", "CertificateIdInput", "certificate { id }"),
        "deleteCertificate": payload("deleteCertificate", "CertificateIdInput", "deletedCertificateId"),
        "revokeCertificate": payload("revokeCertificate", "RevokeCertificateInput", "certificate { id }",
                                     {"reason": "KEY_LOST"}),
        "revokeOwnCertificate": payload("revokeOwnCertificate", "RevokeCertificateInput", "certificate { id }",
                                        {"reason": "KEY_LOST"}),
        "updateCertificateRights": payload("updateCertificateRights", "UpdateCertificateRightsInput",
                                           "certificate { id }", {"canSeal": True}),
    }


UPLOAD = "__upload__"  # variables key: (variable name, file content) → a GraphQL multipart request


async def _send(env: Env, text: str, variables: dict[str, Any], token: str | None) -> dict[str, Any]:
    if UPLOAD not in variables:
        return await env.gql(text, variables, token=token)
    plain = {k: v for k, v in variables.items() if k != UPLOAD}
    name, content = variables[UPLOAD]
    return (await env.upload(text, plain, name, content, token=token)).json()


def _all_root_fields() -> dict[str, Any]:
    return {**_root_fields("Query"), **_root_fields("Mutation")}


def _allowed(field: Any, role: Role) -> bool:
    action = required_action(field)
    if action == "none":
        return True  # only the public allow-list gets here (see the gate test)
    if action is None:
        return True  # requires(None): any authenticated caller
    assert isinstance(action, Action)
    return role in POLICY[action]


# --- the gate ------------------------------------------------------------------------------------


def test_strawberry_sees_every_root_field_of_the_executable_schema() -> None:
    """The walk below inspects Strawberry's definitions; make sure they are the whole schema."""
    assert _graphql_root_names("Query") and _graphql_root_names("Mutation")
    for root in ("Query", "Mutation", "Subscription"):
        assert set(_root_fields(root)) == _graphql_root_names(root), root


def test_every_root_field_is_gated_by_the_policy_except_the_public_allow_list() -> None:
    gated = {**_all_root_fields(), **_root_fields("Subscription")}
    ungated = sorted(name for name, f in gated.items() if required_action(f) == "none")
    assert ungated == sorted(PUBLIC_FIELDS), f"root fields without requires(...): {ungated}"
    for name, f in gated.items():
        action = required_action(f)
        assert action == "none" or action is None or action in POLICY, (name, action)


def test_every_root_field_has_an_operation_in_the_role_matrix() -> None:
    """A new query or mutation must get an entry in `_operations` (and so a row in the matrix)."""
    fake = OrgFixture(0, "12345674", "x", ["1000000001", "1000000002"], ["12345674"])
    covered = set(_operations(fake, Role.USER))
    missing = sorted(set(_all_root_fields()) - covered)
    stale = sorted(covered - set(_all_root_fields()))
    assert not missing, f"add these root fields to _operations in {__file__}: {missing}"
    assert not stale, f"no longer in the schema: {stale}"


# --- the role matrix -----------------------------------------------------------------------------


@pytest.mark.parametrize("role", ALL_ROLES, ids=[r.value for r in ALL_ROLES])
async def test_role_matrix(env: Env, org: OrgFixture, role: Role) -> None:
    token = token_for(env, org, role)
    fields = _all_root_fields()
    operations = _operations(org, role)
    assert set(fields) <= set(operations), sorted(set(fields) - set(operations))
    failures: list[str] = []
    for name in sorted(fields):
        text, variables, check = operations[name]
        body = await _send(env, text, variables, token)
        errors = body.get("errors") or []
        codes = [e.get("extensions", {}).get("code") for e in errors]
        value = (body.get("data") or {}).get(name)
        expected = _allowed(fields[name], role)
        if expected:
            if errors:
                failures.append(f"{name}: {role} should be allowed, got errors {codes} {errors[0]['message']!r}")
                continue
            try:
                check(value)
            except AssertionError as exc:
                failures.append(f"{name}: {role} allowed but unexpected result: {exc}")
        else:
            if codes[:1] != ["FORBIDDEN"]:
                failures.append(f"{name}: {role} should be FORBIDDEN, got {codes or body.get('data')}")
            elif value is not None:
                failures.append(f"{name}: {role} was refused but the field has data: {value}")
    assert not failures, "\n".join(failures)


async def test_without_a_token_only_the_public_fields_answer(env: Env, org: OrgFixture) -> None:
    fields = _all_root_fields()
    operations = _operations(org, Role.USER)
    for name in sorted(fields):
        text, variables, check = operations[name]
        body = await _send(env, text, variables, None)
        if name in PUBLIC_FIELDS:
            assert "errors" not in body, (name, body)
            check(body["data"][name])
        else:
            assert body["errors"][0]["extensions"]["code"] == "UNAUTHENTICATED", (name, body)
            assert (body.get("data") or {}).get(name) is None, (name, body)


@pytest.mark.parametrize("role", [Role.USER, Role.ORGANISATION_ADMINISTRATOR, Role.RIGHTS_ADMINISTRATOR])
async def test_a_refused_create_user_writes_nothing(env: Env, org: OrgFixture, role: Role) -> None:
    email = f"refused.{uuid.uuid4().hex[:8]}@example.dk"
    before_users = await env.count_rows(users, users.c.org_id == org.org_id)
    before_activities = await env.count_rows(activities, activities.c.org_id == org.org_id)
    body = await env.gql(
        """mutation($input: CreateUserInput!) { createUser(input: $input) { user { id } userErrors { code } } }""",
        {"input": {"firstName": "Ida", "lastName": "Nej", "email": email, "dateOfBirth": "1991-02-03"}},
        token=token_for(env, org, role),
    )
    assert body["data"] is None
    assert body["errors"][0]["extensions"]["code"] == "FORBIDDEN"
    assert await env.count_rows(users, users.c.org_id == org.org_id) == before_users
    assert await env.count_rows(users, users.c.email == email) == 0
    assert await env.count_rows(activities, activities.c.org_id == org.org_id) == before_activities


async def test_a_refused_user_mutation_changes_nothing(env: Env, org: OrgFixture) -> None:
    """A plain user may not delete, deactivate or edit a colleague (nor themself) with a real id."""
    target = org.people[Role.RIGHTS_ADMINISTRATOR]
    token = token_for(env, org, Role.USER)
    before = await _user_row(env, target)
    for mutation, input_type, extra in [
        ("deleteUser", "UserIdInput", {}),
        ("deactivateUser", "DeactivateUserInput", {}),
        ("updateUser", "UpdateUserInput", {"phone": "+4587654321"}),
    ]:
        for user_id in (target, org.people[Role.USER]):
            body = await env.gql(
                f"mutation($input: {input_type}!) {{ {mutation}(input: $input) {{ userErrors {{ code }} }} }}",
                {"input": {"userId": _gid("User", user_id), **extra}},
                token=token,
            )
            assert body["errors"][0]["extensions"]["code"] == "FORBIDDEN", (mutation, body)
    assert await _user_row(env, target) == before


# --- tenant isolation ----------------------------------------------------------------------------


async def _user_row(env: Env, user_id: uuid.UUID) -> dict[str, Any]:
    async with env.engine.connect() as conn:
        row = (await conn.execute(select(users).where(users.c.id == user_id))).mappings().one()
    return dict(row)


USER_MUTATIONS: list[tuple[str, str, dict[str, Any]]] = [
    ("updateUser", "UpdateUserInput", {"phone": "+4511223344", "reference": "hijacked"}),
    ("setUserAuthenticators", "SetUserAuthenticatorsInput", {"authenticators": ["MITID_APP", "CHIP"]}),
    ("setUserOrganisationUnit", "SetUserOrganisationUnitInput", {}),  # pNumber filled in per test
    ("resendActivationEmail", "UserIdInput", {}),
    ("generateActivationCode", "UserIdInput", {}),
    ("deactivateUser", "DeactivateUserInput", {}),
    ("reactivateUser", "UserIdInput", {}),
    ("deleteUser", "UserIdInput", {}),
]


async def test_foreign_user_ids_behave_exactly_like_missing_ids(
    env: Env, org: OrgFixture, other_org: OrgFixture
) -> None:
    ua = token_for(env, org, Role.USER_ADMINISTRATOR)
    foreign_ua = token_for(env, other_org, Role.USER_ADMINISTRATOR)

    # The foreign organisation gets users for whom each mutation would succeed if it were reachable.
    created = await env.gql(
        """mutation($input: CreateUserInput!) { createUser(input: $input) { user { id uuid } userErrors { code } } }""",
        {"input": {"firstName": "Fie", "lastName": "Fremmed", "email": f"pending.{other_org.cvr}@example.dk",
                   "dateOfBirth": "1985-06-07"}},
        token=foreign_ua,
    )
    assert created["data"]["createUser"]["userErrors"] == [], created
    foreign_pending = uuid.UUID(created["data"]["createUser"]["user"]["uuid"])
    foreign_active = other_org.people[Role.USER]
    foreign_deactivated = other_org.people[Role.RIGHTS_ADMINISTRATOR]
    body = await env.gql(
        "mutation($input: DeactivateUserInput!) { deactivateUser(input: $input) { userErrors { code } } }",
        {"input": {"userId": _gid("User", foreign_deactivated)}},
        token=foreign_ua,
    )
    assert body["data"]["deactivateUser"]["userErrors"] == [], body
    targets = {
        "updateUser": foreign_active,
        "setUserAuthenticators": foreign_active,
        "setUserOrganisationUnit": foreign_active,
        "resendActivationEmail": foreign_pending,
        "generateActivationCode": foreign_pending,
        "deactivateUser": foreign_active,
        "reactivateUser": foreign_deactivated,
        "deleteUser": foreign_active,
    }
    everyone_foreign = [*other_org.people.values(), foreign_pending]
    rows_before = {u: await _user_row(env, u) for u in everyone_foreign}
    activities_before = await env.count_rows(activities)

    # --- reads
    for foreign in everyone_foreign:
        missing = uuid.uuid4()
        for query in ("query($id: ID!) { user(id: $id) { id email } }", "query($id: ID!) { node(id: $id) { id } }"):
            a = await env.gql(query, {"id": _gid("User", foreign)}, token=ua)
            b = await env.gql(query, {"id": _gid("User", missing)}, token=ua)
            assert a == b, (query, a, b)
            assert "errors" not in a and list(a["data"].values()) == [None], a

    users_query = """query($filter: UserFilterInput, $first: Int) {
        users(filter: $filter, first: $first) { totalCount edges { node { uuid email } } } }"""
    for role, email in other_org.emails.items():
        for search in (email, str(other_org.people[role])):
            body = await env.gql(users_query, {"filter": {"search": search}}, token=ua)
            assert body["data"]["users"] == {"totalCount": 0, "edges": []}, (search, body)
    everything = await env.gql(users_query, {"first": 500}, token=ua)
    listed = {uuid.UUID(e["node"]["uuid"]) for e in everything["data"]["users"]["edges"]}
    assert listed == set(org.people.values())
    assert everything["data"]["users"]["totalCount"] == len(org.people)

    activities_query = """query($filter: ActivityFilterInput) {
        activities(filter: $filter, first: 500) { totalCount edges { node { id targetName } } } }"""
    seen_there = await env.gql(activities_query, {"filter": {"targetUserId": _gid("User", foreign_deactivated)}},
                               token=foreign_ua)
    assert seen_there["data"]["activities"]["totalCount"] > 0, seen_there  # it exists over there
    foreign_activity_id = seen_there["data"]["activities"]["edges"][0]["node"]["id"]
    for key in ("targetUserId", "actorId"):
        for foreign in (foreign_deactivated, other_org.people[Role.USER_ADMINISTRATOR]):
            a = await env.gql(activities_query, {"filter": {key: _gid("User", foreign)}}, token=ua)
            b = await env.gql(activities_query, {"filter": {key: _gid("User", uuid.uuid4())}}, token=ua)
            assert a == b, (key, a, b)
            assert a["data"]["activities"] == {"totalCount": 0, "edges": []}, a
    all_here = await env.gql(activities_query, {}, token=ua)
    assert foreign_activity_id not in {e["node"]["id"] for e in all_here["data"]["activities"]["edges"]}
    node_query = "query($id: ID!) { node(id: $id) { id } }"
    assert (await env.gql(node_query, {"id": foreign_activity_id}, token=foreign_ua))["data"]["node"] is not None
    assert (await env.gql(node_query, {"id": foreign_activity_id}, token=ua)) == {"data": {"node": None}}

    # --- writes
    for mutation, input_type, extra in USER_MUTATIONS:
        if mutation == "setUserOrganisationUnit":
            extra = {"pNumber": org.p_numbers[1]}
        text = f"""mutation($input: {input_type}!) {{ {mutation}(input: $input) {{
            user {{ id uuid status }} userErrors {{ field code message }} }} }}"""
        foreign_answer = await env.gql(text, {"input": {"userId": _gid("User", targets[mutation]), **extra}}, token=ua)
        missing_answer = await env.gql(text, {"input": {"userId": _gid("User", uuid.uuid4()), **extra}}, token=ua)
        assert foreign_answer == missing_answer, (mutation, foreign_answer, missing_answer)
        payload = foreign_answer["data"][mutation]
        assert payload["user"] is None, (mutation, payload)
        assert [e["code"] for e in payload["userErrors"]] == ["NOT_FOUND"], (mutation, payload)
        assert payload["userErrors"][0]["field"] == ["userId"], (mutation, payload)

    for u in everyone_foreign:
        assert await _user_row(env, u) == rows_before[u], u
    assert await env.count_rows(activities) == activities_before


async def test_foreign_anonymity_requests_behave_like_missing_ones(
    env: Env, org: OrgFixture, other_org: OrgFixture
) -> None:
    asked = await env.gql(
        'mutation { requestAnonymity(input: {reason: "privacy"}) { request { id } userErrors { code } } }',
        token=token_for(env, other_org, Role.USER),
    )
    assert asked["data"]["requestAnonymity"]["userErrors"] == [], asked
    foreign_request = asked["data"]["requestAnonymity"]["request"]["id"]
    ua = token_for(env, org, Role.USER_ADMINISTRATOR)

    listed = await env.gql("query { anonymityRequests(status: null) { id } }", token=ua)
    assert listed == {"data": {"anonymityRequests": []}}
    assert (await env.gql("query($id: ID!) { node(id: $id) { id } }", {"id": foreign_request}, token=ua)) == {
        "data": {"node": None}
    }

    for mutation in ("approveAnonymityRequest", "rejectAnonymityRequest"):
        text = f"""mutation($input: AnonymityDecisionInput!) {{ {mutation}(input: $input) {{
            request {{ id status }} newUser {{ id }} userErrors {{ field code message }} }} }}"""
        a = await env.gql(text, {"input": {"requestId": foreign_request}}, token=ua)
        b = await env.gql(text, {"input": {"requestId": _gid("AnonymityRequest")}}, token=ua)
        assert a == b, (mutation, a, b)
        assert [e["code"] for e in a["data"][mutation]["userErrors"]] == ["NOT_FOUND"], a

    async with env.engine.connect() as conn:
        row = (await conn.execute(select(anonymity_requests).where(
            anonymity_requests.c.user_id == other_org.people[Role.USER]))).mappings().one()
    assert row["status"] == "PENDING" and row["decided_at"] is None and row["new_user_id"] is None
    there = await env.gql("query { anonymityRequests { id status } }",
                          token=token_for(env, other_org, Role.USER_ADMINISTRATOR))
    assert there["data"]["anonymityRequests"] == [{"id": foreign_request, "status": "PENDING"}]
    assert (await _user_row(env, other_org.people[Role.USER]))["status"] == "ACTIVE"


# --- seeing users --------------------------------------------------------------------------------

USER_QUERY = "query($id: ID!) { user(id: $id) { uuid email } node(id: $id) { ... on User { uuid } } }"


async def test_a_plain_user_sees_themself_but_not_a_colleague(env: Env, org: OrgFixture) -> None:
    token = token_for(env, org, Role.USER)
    me = org.people[Role.USER]
    own = await env.gql(USER_QUERY, {"id": _gid("User", me)}, token=token)
    assert own == {"data": {"user": {"uuid": str(me), "email": org.emails[Role.USER]}, "node": {"uuid": str(me)}}}
    for role in (Role.USER_ADMINISTRATOR, Role.ORGANISATION_ADMINISTRATOR, Role.RIGHTS_ADMINISTRATOR):
        colleague = await env.gql(USER_QUERY, {"id": _gid("User", org.people[role])}, token=token)
        assert colleague == {"data": {"user": None, "node": None}}, colleague


@pytest.mark.parametrize(
    "role", [Role.ORGANISATION_ADMINISTRATOR, Role.USER_ADMINISTRATOR, Role.RIGHTS_ADMINISTRATOR],
    ids=lambda r: r.value,
)
async def test_an_administrator_sees_themself_and_colleagues(env: Env, org: OrgFixture, role: Role) -> None:
    token = token_for(env, org, role)
    for person_role, person in org.people.items():
        body = await env.gql(USER_QUERY, {"id": _gid("User", person)}, token=token)
        assert body == {
            "data": {"user": {"uuid": str(person), "email": org.emails[person_role]}, "node": {"uuid": str(person)}}
        }, body


async def test_a_plain_user_cannot_reach_colleagues_through_their_own_history(env: Env, org: OrgFixture) -> None:
    """History entries name who acted; the acting administrator's profile stays out of reach."""
    me = org.people[Role.USER]
    changed = await env.gql(
        "mutation($input: UpdateUserInput!) { updateUser(input: $input) { userErrors { code } } }",
        {"input": {"userId": _gid("User", me), "reference": "Lager 2"}},
        token=token_for(env, org, Role.USER_ADMINISTRATOR),
    )
    assert changed["data"]["updateUser"]["userErrors"] == [], changed
    body = await env.gql(
        """query($id: ID!) { user(id: $id) { history { edges { node {
            type actorName actor { uuid email } targetUser { uuid } } } } } }""",
        {"id": _gid("User", me)},
        token=token_for(env, org, Role.USER),
    )
    assert "errors" not in body, body
    entries = [e["node"] for e in body["data"]["user"]["history"]["edges"]]
    updated = [e for e in entries if e["type"] == "USER_UPDATED"]
    assert updated, entries
    assert updated[0]["actorName"]  # who did it is still told ...
    for entry in entries:
        assert entry["actor"] in (None, {"uuid": str(me), "email": org.emails[Role.USER]}), entry
        assert entry["targetUser"] in (None, {"uuid": str(me)}), entry
