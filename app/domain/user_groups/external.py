"""Use cases for a custom group's external members, users of partner organisations: finding one
(exactly, by CVR and email), adding and removing them, and the partner's side, leaving."""

from __future__ import annotations

import uuid
from dataclasses import dataclass

from app.domain.activity.history import ActivityType, record
from app.domain.common import identifiers as ids
from app.domain.common.errors import DomainError, NotFound, ValidationFailed
from app.domain.common.ports import UnitOfWork
from app.domain.notifications.delivery import notify_administrators_of
from app.domain.user_groups.lifecycle import G, custom_only, get_group
from app.domain.user_groups.model import ExternalUser, UserGroup
from app.domain.user_groups.partners import tell_partner, who
from app.domain.users.model import UserStatus


def parse_external_query(cvr: str, email: str) -> tuple[str, str]:
    """Both are required and must be well-formed; nothing else is looked up."""
    problems: list[DomainError] = []
    cvr_ok = email_ok = ""
    try:
        cvr_ok = ids.normalise_cvr(cvr)
    except ids.IdentifierError as exc:
        problems.append(DomainError(exc.code, exc.message, ["cvr"]))
    try:
        email_ok = ids.normalise_email(email).lower()
    except ids.IdentifierError as exc:
        problems.append(DomainError(exc.code, exc.message, ["email"]))
    if problems:
        raise ValidationFailed(problems)
    return cvr_ok, email_ok


@dataclass(slots=True, frozen=True)
class FoundExternalUser:
    """A search result and the handle that lets this organisation add that user for a while (None:
    the user was found as a member of one of our groups, by their plain id)."""

    user: ExternalUser
    handle: str | None


def _unknown_external() -> NotFound:
    # One answer for forged, expired, another organisation's and unknown handles alike.
    return NotFound("External user (search again with externalUsers)", ["externalUserId"])


async def find_external_users(uow: UnitOfWork, cvr: str, email: str) -> list[FoundExternalUser]:
    """Exact CVR + email of an ACTIVE user of another organisation. Unknown CVR, unknown email
    and both wrong all answer the same empty list: there is nothing to enumerate. The result
    carries a signed handle bound to the searching organisation: the only way to add the user."""
    cvr_ok, email_ok = parse_external_query(cvr, email)
    if cvr_ok == uow.actor.org_cvr:
        return []
    found = await uow.user_groups.find_external_user(cvr_ok, email_ok)
    if found is None:
        return []
    handle = uow.platform.sign_external_user(found.id, uow.actor.org_id, uow.platform.now())
    return [FoundExternalUser(found, handle)]


async def get_external_user(uow: UnitOfWork, raw: str) -> FoundExternalUser | None:
    """A partner's user by an id the API handed out (its raw part): a handle from this
    organisation's own search, not expired, of a user still ACTIVE (what the search would find now);
    or the plain UUID of a partner's user who is an external member of one of our groups (what
    UserGroup.members shows). Forged, expired and other organisations' handles, and the UUID of a
    partner's user who is no member of ours, are None alike."""
    user_id = uow.platform.verify_external_user(raw, uow.actor.org_id, uow.platform.now())
    if user_id is not None:
        found = await uow.user_groups.external_user(user_id, active=True)
        return FoundExternalUser(found, raw) if found is not None else None
    try:
        member_id = uuid.UUID(raw)
    except ValueError:
        return None
    member = await uow.user_groups.external_member(member_id)
    return FoundExternalUser(member, None) if member is not None else None



async def add_external_user_to_group(uow: UnitOfWork, group_id: uuid.UUID, handle: str) -> UserGroup:
    """Only with a handle from this organisation's own search, not expired; the user must still
    be ACTIVE now. Adding twice changes nothing."""
    group = await get_group(uow, group_id)
    custom_only(group, "adding members by hand")
    user_id = uow.platform.verify_external_user(handle, uow.actor.org_id, uow.platform.now())
    if user_id is None:
        raise _unknown_external()
    external = await uow.user_groups.external_user(user_id, active=True)
    if external is None:
        raise DomainError(G.USER_NOT_ACTIVE, "The user is no longer active in their organisation",
                          ["externalUserId"])
    if await uow.user_groups.member_ids(group.id, [external.id]):
        return group
    await uow.user_groups.add_members(group.id, [(external.id, external.org_id, True)], uow.platform.now(),
                                      uow.actor.user_id)
    org = await uow.organisations.get()
    details = {"organisation": external.org_cvr, "group": str(group.id)}
    await record(uow, ActivityType.EXTERNAL_MEMBER_ADDED, f"External user added to group '{group.name}'",
                 target=external, group=group, details=details)
    await record(uow, ActivityType.EXTERNAL_MEMBER_ADDED, f"Added to a group of {org.name} ({org.cvr})",
                 target=external, details={"organisation": org.cvr}, org_id=external.org_id)
    await tell_partner(uow, org, external, group, added=True)
    return group


def _member_id(uow: UnitOfWork, raw: str) -> uuid.UUID | None:
    """A member's plain id (as UserGroup.members shows it) or a handle from our search: removal
    only touches our own group, so knowing the UUID is enough."""
    verified = uow.platform.verify_external_user(raw, uow.actor.org_id, uow.platform.now())
    if verified is not None:
        return verified
    try:
        return uuid.UUID(raw)
    except ValueError:
        return None


async def remove_external_user_from_group(uow: UnitOfWork, group_id: uuid.UUID, member: str) -> UserGroup:
    group = await get_group(uow, group_id)
    user_id = _member_id(uow, member)
    external = await uow.user_groups.external_user(user_id) if user_id is not None else None
    if external is None or not await uow.user_groups.remove_member(group.id, external.id, external=True):
        raise NotFound("External member", ["externalUserId"])
    org = await uow.organisations.get()
    await record(uow, ActivityType.EXTERNAL_MEMBER_REMOVED, f"External user removed from group '{group.name}'",
                 target=external, group=group, details={"organisation": external.org_cvr})
    await record(uow, ActivityType.EXTERNAL_MEMBER_REMOVED, f"Removed from a group of {org.name} ({org.cvr})",
                 target=external, details={"organisation": org.cvr}, org_id=external.org_id)
    await tell_partner(uow, org, external, group, added=False)
    return group


async def leave_external_group(uow: UnitOfWork, group_id: uuid.UUID, user_id: uuid.UUID) -> None:
    """The partner's side: remove one of our own users from another organisation's group. The
    membership must be of our user; the group itself stays invisible to us. Our other
    administrators are told, as they are when the group's organisation removes the user."""
    user = await uow.users.get(user_id)
    if user is None or user.status is UserStatus.DELETED:
        raise NotFound("External membership", ["membershipId"])
    owner = await uow.user_groups.remove_own_user_from_foreign_group(group_id, user.id)
    if owner is None:
        raise NotFound("External membership", ["membershipId"])
    owner_org_id, owner_cvr, group_name = owner
    await record(uow, ActivityType.EXTERNAL_MEMBER_REMOVED, f"Left a group of organisation {owner_cvr}",
                 target=user, details={"organisation": owner_cvr})
    await record(uow, ActivityType.EXTERNAL_MEMBER_REMOVED,
                 f"External user removed from group '{group_name}' by their organisation",
                 target=user, details={"organisation": uow.actor.org_cvr, "group": str(group_id)},
                 org_id=owner_org_id)
    await notify_administrators_of(
        uow, uow.actor.org_id, ActivityType.EXTERNAL_MEMBER_REMOVED.value,
        f"One of your users was removed from a group of organisation {owner_cvr}",
        f"{who(user)} was removed from the group '{group_name}' of organisation {owner_cvr} by {await uow.actor_name()}.",
    )
