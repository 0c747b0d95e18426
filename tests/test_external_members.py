"""External members only through the search: the id `externalUsers` hands out is a signed,
short-lived handle bound to the searching organisation; only ACTIVE users are found or added; the
partner organisation's administrators are told when one of their users joins or leaves another
organisation's group."""

from __future__ import annotations

import datetime as dt
import uuid
from typing import Any

from app.adapters.crypto import SystemPlatform
from app.config import Settings
from app.domain.common.principal import Role
from app.schema.runtime.base import to_global_id
from tests.conftest import Env, token_for
from tests.factories import OrgFixture, make_org
from tests.test_user_groups import ADD_EXTERNAL, FIND_EXTERNAL, GROUP, active_user, create_group, ok


async def test_a_forged_external_user_id_made_from_a_certificate_uuid_is_refused(env: Env, org: OrgFixture) -> None:
    # Given a partner's active user whose UUID anyone can read in a certificate subject
    partner = await make_org(env.services, name="Partner")
    erik = await active_user(env, partner, "Erik")
    group = await create_group(env, org, "Forfalsket")
    token = token_for(env, org, Role.USER_ADMINISTRATOR)
    # When a user administrator builds the id by hand, without the search
    forged = to_global_id("ExternalUser", erik["uuid"])
    added = ok(await env.gql(ADD_EXTERNAL, {"g": group, "x": forged}, token=token))["addExternalUserToGroup"]
    # Then it is refused and nothing was written
    assert added["userErrors"] == [{"field": ["externalUserId"], "code": "NOT_FOUND"}]
    assert added["group"] is None
    assert ok(await env.gql(GROUP, {"id": group}, token=token))["userGroup"]["members"]["totalCount"] == 0
    # Nor for a deactivated user, whose UUID is just as printed
    gone = await active_user(env, partner, "Gone")
    await deactivate(env, partner, gone)
    forged = to_global_id("ExternalUser", gone["uuid"])
    refused = ok(await env.gql(ADD, {"g": group, "x": forged}, token=token))["addExternalUserToGroup"]
    assert [(e["field"], e["code"]) for e in refused["userErrors"]] == [(["externalUserId"], "NOT_FOUND")]
    assert ok(await env.gql(GROUP, {"id": group}, token=token))["userGroup"]["members"]["totalCount"] == 0


ADD = """
mutation($g: ID!, $x: ID!) {
  addExternalUserToGroup(input: {groupId: $g, externalUserId: $x}) { group { id } userErrors { field code message } }
}
"""
REMOVE = """
mutation($g: ID!, $x: ID!) {
  removeExternalUserFromGroup(input: {groupId: $g, externalUserId: $x}) { group { id } userErrors { field code } }
}
"""
MEMBER_IDS = """
query($id: ID!) { userGroup(id: $id) { members(first: 50) { totalCount edges { node {
  __typename ... on ExternalUser { id uuid } } } } } }
"""
NOTIFICATIONS = "query { notifications(first: 50) { totalCount edges { node { kind title body } } } }"
DEACTIVATE = "mutation($u: ID!) { deactivateUser(input: {userId: $u}) { userErrors { code } } }"
DELETE_GROUP = "mutation($g: ID!) { deleteUserGroup(input: {groupId: $g}) { deletedGroupId userErrors { code } } }"
SET_CHANNEL = """
mutation($c: NotificationChannel!) { updateNotificationSettings(input: {channel: $c}) { userErrors { code } } }
"""
MEMBERSHIPS = "query { externalMemberships { totalCount nodes { id groupName } } }"
LEAVE = """
mutation($id: ID!) { removeOwnUserFromExternalGroup(input: {membershipId: $id}) { removedMembershipId userErrors { code } } }
"""


async def deactivate(env: Env, org: OrgFixture, person: dict[str, Any]) -> None:
    """The person's own organisation deactivates them, as its user administrator would."""
    body = ok(await env.gql(DEACTIVATE, {"u": person["id"]}, token=token_for(env, org, Role.USER_ADMINISTRATOR)))
    assert body["deactivateUser"]["userErrors"] == []


async def search(env: Env, org: OrgFixture, partner: OrgFixture, person: dict[str, Any]) -> list[dict[str, Any]]:
    body = await env.gql(FIND_EXTERNAL, {"cvr": partner.cvr, "email": person["email"]},
                         token=token_for(env, org, Role.USER_ADMINISTRATOR))
    return ok(body)["externalUsers"]


async def handle_for(env: Env, org: OrgFixture, partner: OrgFixture, person: dict[str, Any]) -> str:
    found = await search(env, org, partner, person)
    assert [u["uuid"] for u in found] == [person["uuid"]]
    return found[0]["id"]


async def notifications_of(env: Env, org: OrgFixture, role: Role) -> list[dict[str, str]]:
    body = ok(await env.gql(NOTIFICATIONS, token=token_for(env, org, role)))["notifications"]
    return [e["node"] for e in body["edges"] if e["node"]["kind"].startswith("EXTERNAL_MEMBER")]


async def test_the_search_hands_out_a_handle_that_adds_the_user_and_differs_from_the_member_id(
    env: Env, org: OrgFixture
) -> None:
    partner = await make_org(env.services, name="Partner")
    erik = await active_user(env, partner, "Erik")
    group = await create_group(env, org, "Handle")
    token = token_for(env, org, Role.USER_ADMINISTRATOR)
    handle = await handle_for(env, org, partner, erik)
    assert handle != to_global_id("ExternalUser", erik["uuid"])
    for _ in range(2):  # adding twice changes nothing
        added = ok(await env.gql(ADD, {"g": group, "x": handle}, token=token))["addExternalUserToGroup"]
        assert added["userErrors"] == [] and added["group"] == {"id": group}
    members = ok(await env.gql(MEMBER_IDS, {"id": group}, token=token))["userGroup"]["members"]
    assert members["totalCount"] == 1
    assert members["edges"][0]["node"] == {"__typename": "ExternalUser", "uuid": erik["uuid"],
                                           "id": to_global_id("ExternalUser", erik["uuid"])}


async def test_a_deactivated_partner_user_is_neither_found_nor_added(env: Env, org: OrgFixture) -> None:
    partner = await make_org(env.services, name="Partner")
    erik = await active_user(env, partner, "Erik")
    pending = await active_user(env, partner, "Pia", activate=False)
    group = await create_group(env, org, "Kun aktive")
    token = token_for(env, org, Role.USER_ADMINISTRATOR)
    assert await search(env, org, partner, pending) == []
    # Found while active, deactivated by their organisation before the add
    handle = await handle_for(env, org, partner, erik)
    await deactivate(env, partner, erik)
    assert await search(env, org, partner, erik) == []
    refused = ok(await env.gql(ADD, {"g": group, "x": handle}, token=token))["addExternalUserToGroup"]
    assert [(e["field"], e["code"]) for e in refused["userErrors"]] == [(["externalUserId"], "USER_NOT_ACTIVE")]
    assert refused["group"] is None
    assert ok(await env.gql(GROUP, {"id": group}, token=token))["userGroup"]["members"]["totalCount"] == 0
    assert await notifications_of(env, partner, Role.USER_ADMINISTRATOR) == []


async def test_an_expired_handle_is_refused_like_a_forged_one(env: Env, org: OrgFixture) -> None:
    partner = await make_org(env.services, name="Partner")
    erik = await active_user(env, partner, "Erik")
    group = await create_group(env, org, "Udløbet")
    token = token_for(env, org, Role.USER_ADMINISTRATOR)
    platform = env.services.platform
    now = dt.datetime.now(dt.UTC)
    assert env.settings.external_user_handle_seconds == 15 * 60

    def as_id(searched_at: dt.datetime) -> str:
        """The handle this server's search would have handed out at `searched_at`."""
        return to_global_id("ExternalUser", platform.sign_external_user(uuid.UUID(erik["uuid"]), org.org_id,
                                                                         searched_at))

    expired = ok(await env.gql(ADD, {"g": group, "x": as_id(now - dt.timedelta(minutes=16))}, token=token))
    forged = ok(await env.gql(ADD, {"g": group, "x": to_global_id("ExternalUser", erik["uuid"])}, token=token))
    assert expired["addExternalUserToGroup"] == forged["addExternalUserToGroup"]
    assert [e["code"] for e in expired["addExternalUserToGroup"]["userErrors"]] == ["NOT_FOUND"]
    assert ok(await env.gql(GROUP, {"id": group}, token=token))["userGroup"]["members"]["totalCount"] == 0
    fresh = ok(await env.gql(ADD, {"g": group, "x": as_id(now - dt.timedelta(minutes=14))}, token=token))
    assert fresh["addExternalUserToGroup"]["userErrors"] == []
    assert ok(await env.gql(GROUP, {"id": group}, token=token))["userGroup"]["members"]["totalCount"] == 1


async def test_a_handle_found_by_organisation_a_is_refused_in_organisation_b(
    env: Env, org: OrgFixture, other_org: OrgFixture
) -> None:
    partner = await make_org(env.services, name="Partner")
    erik = await active_user(env, partner, "Erik")
    handle = await handle_for(env, org, partner, erik)
    theirs = await create_group(env, other_org, "Lånt")
    token_b = token_for(env, other_org, Role.USER_ADMINISTRATOR)
    borrowed = ok(await env.gql(ADD, {"g": theirs, "x": handle}, token=token_b))["addExternalUserToGroup"]
    garbage = ok(await env.gql(ADD, {"g": theirs, "x": to_global_id("ExternalUser", "nonsense")}, token=token_b))
    assert borrowed == garbage["addExternalUserToGroup"]  # nothing tells a foreign handle from garbage
    assert [(e["field"], e["code"]) for e in borrowed["userErrors"]] == [(["externalUserId"], "NOT_FOUND")]
    assert ok(await env.gql(GROUP, {"id": theirs}, token=token_b))["userGroup"]["members"]["totalCount"] == 0
    # The same handle still works for the organisation that searched
    ours = await create_group(env, org, "Egen")
    added = await env.gql(ADD, {"g": ours, "x": handle}, token=token_for(env, org, Role.USER_ADMINISTRATOR))
    assert ok(added)["addExternalUserToGroup"]["userErrors"] == []


async def test_partner_administrators_are_told_of_an_add_and_a_removal_by_member_id(env: Env, org: OrgFixture) -> None:
    partner = await make_org(env.services, name="Partner")
    erik = await active_user(env, partner, "Erik")
    group = await create_group(env, org, "Revision")
    token = token_for(env, org, Role.USER_ADMINISTRATOR)
    group_org = ok(await env.gql("query { viewer { organisation { name } } }", token=token))
    org_name = group_org["viewer"]["organisation"]["name"]
    handle = await handle_for(env, org, partner, erik)
    ok(await env.gql(ADD, {"g": group, "x": handle}, token=token))
    for role in (Role.ORGANISATION_ADMINISTRATOR, Role.USER_ADMINISTRATOR):
        assert await notifications_of(env, partner, role) == [{
            "kind": "EXTERNAL_MEMBER_ADDED", "title": f"One of your users was added to a group of {org_name}",
            "body": f"Erik Gruppe ({erik['uuid']}) was added to the group 'Revision' of {org_name} (CVR {org.cvr}).",
        }]
    for role in (Role.RIGHTS_ADMINISTRATOR, Role.USER):
        assert await notifications_of(env, partner, role) == []
    assert await notifications_of(env, org, Role.USER_ADMINISTRATOR) == []
    # Removal by the id the group's members show
    member = ok(await env.gql(MEMBER_IDS, {"id": group}, token=token))["userGroup"]["members"]["edges"][0]["node"]
    removed = ok(await env.gql(REMOVE, {"g": group, "x": member["id"]}, token=token))["removeExternalUserFromGroup"]
    assert removed["userErrors"] == []
    assert ok(await env.gql(GROUP, {"id": group}, token=token))["userGroup"]["members"]["totalCount"] == 0
    again = ok(await env.gql(REMOVE, {"g": group, "x": member["id"]}, token=token))["removeExternalUserFromGroup"]
    assert [(e["field"], e["code"]) for e in again["userErrors"]] == [(["externalUserId"], "NOT_FOUND")]
    for role in (Role.ORGANISATION_ADMINISTRATOR, Role.USER_ADMINISTRATOR):
        told = await notifications_of(env, partner, role)
        assert [n["kind"] for n in told] == ["EXTERNAL_MEMBER_REMOVED", "EXTERNAL_MEMBER_ADDED"]
        assert told[0]["body"] == (f"Erik Gruppe ({erik['uuid']}) was removed from the group 'Revision' of "
                                   f"{org_name} (CVR {org.cvr}).")


async def test_an_anonymous_users_administrators_are_told_by_uuid_and_on_their_chosen_channel(
    env: Env, org: OrgFixture
) -> None:
    partner = await make_org(env.services, name="Partner")
    ghost = await active_user(env, partner, "Ghost", anonymous=True)
    mail_only = token_for(env, partner, Role.USER_ADMINISTRATOR)
    assert ok(await env.gql(SET_CHANNEL, {"c": "EMAIL"}, token=mail_only))["updateNotificationSettings"] == {
        "userErrors": []}
    group = await create_group(env, org, "Hemmelig")
    token = token_for(env, org, Role.USER_ADMINISTRATOR)
    ok(await env.gql(ADD, {"g": group, "x": await handle_for(env, org, partner, ghost)}, token=token))
    in_app = await notifications_of(env, partner, Role.ORGANISATION_ADMINISTRATOR)
    assert len(in_app) == 1
    assert ghost["uuid"] in in_app[0]["body"] and "Ghost" not in in_app[0]["body"]
    assert await notifications_of(env, partner, Role.USER_ADMINISTRATOR) == []  # chose email only
    mails = await env.mail.wait_for(partner.emails[Role.USER_ADMINISTRATOR])
    text = mails[-1].get_payload(decode=True).decode() if not mails[-1].is_multipart() else str(mails[-1])
    assert ghost["uuid"] in text and "Ghost" not in text


async def test_a_deactivated_member_can_still_be_removed_and_its_administrators_are_told(
    env: Env, org: OrgFixture
) -> None:
    partner = await make_org(env.services, name="Partner")
    erik = await active_user(env, partner, "Erik")
    group = await create_group(env, org, "Gamle")
    token = token_for(env, org, Role.USER_ADMINISTRATOR)
    ok(await env.gql(ADD, {"g": group, "x": await handle_for(env, org, partner, erik)}, token=token))
    await deactivate(env, partner, erik)
    removed = await env.gql(REMOVE, {"g": group, "x": to_global_id("ExternalUser", erik["uuid"])}, token=token)
    assert ok(removed)["removeExternalUserFromGroup"]["userErrors"] == []
    kinds = [n["kind"] for n in await notifications_of(env, partner, Role.ORGANISATION_ADMINISTRATOR)]
    assert kinds == ["EXTERNAL_MEMBER_REMOVED", "EXTERNAL_MEMBER_ADDED"]


async def test_deleting_a_group_tells_the_partner_its_users_left_it(env: Env, org: OrgFixture) -> None:
    partner = await make_org(env.services, name="Partner")
    erik = await active_user(env, partner, "Erik")
    group = await create_group(env, org, "Nedlagt")
    token = token_for(env, org, Role.USER_ADMINISTRATOR)
    ok(await env.gql(ADD, {"g": group, "x": await handle_for(env, org, partner, erik)}, token=token))
    partner_token = token_for(env, partner, Role.ORGANISATION_ADMINISTRATOR)
    assert ok(await env.gql(MEMBERSHIPS, token=partner_token))["externalMemberships"]["totalCount"] == 1
    gone = ok(await env.gql(DELETE_GROUP, {"g": group}, token=token_for(env, org, Role.ORGANISATION_ADMINISTRATOR)))
    assert gone["deleteUserGroup"] == {"deletedGroupId": group, "userErrors": []}
    assert ok(await env.gql(MEMBERSHIPS, token=partner_token))["externalMemberships"]["totalCount"] == 0
    for role in (Role.ORGANISATION_ADMINISTRATOR, Role.USER_ADMINISTRATOR):
        told = await notifications_of(env, partner, role)
        assert [n["kind"] for n in told] == ["EXTERNAL_MEMBER_REMOVED", "EXTERNAL_MEMBER_ADDED"]
        assert told[0]["body"].endswith("(the group was deleted).")
    log = "query { activities(filter: {types: [EXTERNAL_MEMBER_REMOVED]}) { edges { node { summary } } } }"
    theirs = ok(await env.gql(log, token=partner_token))["activities"]["edges"]
    assert [e["node"]["summary"].endswith("the group was deleted") for e in theirs] == [True]


async def test_when_the_partner_takes_its_user_out_its_other_administrators_are_told(env: Env, org: OrgFixture) -> None:
    partner = await make_org(env.services, name="Partner")
    erik = await active_user(env, partner, "Erik")
    group = await create_group(env, org, "Forladt")
    ok(await env.gql(ADD, {"g": group, "x": await handle_for(env, org, partner, erik)},
                     token=token_for(env, org, Role.USER_ADMINISTRATOR)))
    ua = token_for(env, partner, Role.USER_ADMINISTRATOR)
    membership = ok(await env.gql(MEMBERSHIPS, token=ua))["externalMemberships"]["nodes"][0]
    left = ok(await env.gql(LEAVE, {"id": membership["id"]}, token=ua))["removeOwnUserFromExternalGroup"]
    assert left["userErrors"] == []
    assert [n["kind"] for n in await notifications_of(env, partner, Role.ORGANISATION_ADMINISTRATOR)] == [
        "EXTERNAL_MEMBER_REMOVED", "EXTERNAL_MEMBER_ADDED"]
    # The one who did it is not told of their own action
    assert [n["kind"] for n in await notifications_of(env, partner, Role.USER_ADMINISTRATOR)] == [
        "EXTERNAL_MEMBER_ADDED"]


def test_a_handle_verifies_only_unaltered_for_its_organisation_and_within_the_configured_time() -> None:
    settings = Settings.from_env({"EXTERNAL_USER_HANDLE_SECONDS": "60"})
    assert settings.external_user_handle_seconds == 60
    platform = SystemPlatform(settings)
    user, now = uuid.uuid4(), dt.datetime.now(dt.UTC)
    handle = platform.sign_external_user(user, 7, now)
    assert platform.verify_external_user(handle, 7, now + dt.timedelta(seconds=59)) == user
    assert platform.verify_external_user(handle, 7, now + dt.timedelta(seconds=61)) is None
    assert platform.verify_external_user(handle, 8, now) is None
    uuid_part, expires, mac = handle.split(".")
    tampered = [
        f"{uuid.uuid4()}.{expires}.{mac}", f"{uuid_part}.{int(expires) + 3600}.{mac}",
        f"{uuid_part}.{expires}.{mac[:-1]}{'A' if mac[-1] != 'A' else 'B'}", f"{uuid_part}.{expires}.", uuid_part, "",
    ]
    assert [platform.verify_external_user(t, 7, now) for t in tampered] == [None] * len(tampered)
    other_key = SystemPlatform(Settings.from_env({"DATA_KEY": "another key"}))
    assert other_key.verify_external_user(handle, 7, now) is None
