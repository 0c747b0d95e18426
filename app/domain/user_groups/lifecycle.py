"""User groups: system groups (one per P-unit, maintained by the system: members are the users
attached to the unit) and custom groups with members from the organisation and from partners."""

from __future__ import annotations

import enum
import uuid
from collections.abc import Sequence
from dataclasses import dataclass

from app.domain.activity.history import ActivityType, record
from app.domain.common import identifiers as ids
from app.domain.common.errors import DomainError, NotFound, ValidationFailed
from app.domain.common.organisation import Organisation
from app.domain.common.ports import UnitOfWork
from app.domain.common.validation import Errors, check_units, optional, org_context, parse_rights
from app.domain.notifications.delivery import notify_administrators_of
from app.domain.user_groups.model import ExternalUser, GroupKind, UserGroup
from app.domain.users.model import User, UserStatus

NAME_MAX = 200
DESCRIPTION_MAX = 1000


class GroupErrorCode(enum.StrEnum):
    SYSTEM_GROUP = "SYSTEM_GROUP"
    DUPLICATE_NAME = "DUPLICATE_NAME"
    USER_NOT_ACTIVATED = "USER_NOT_ACTIVATED"
    USER_NOT_ACTIVE = "USER_NOT_ACTIVE"
    NOT_A_MEMBER = "NOT_A_MEMBER"
    OWN_ORGANISATION = "OWN_ORGANISATION"


G = GroupErrorCode


@dataclass(slots=True)
class GroupInput:
    name: str | None = None
    description: str | None = None
    rights: list[str] | None = None
    p_number: str | None = None
    se_number: str | None = None


async def _group(uow: UnitOfWork, group_id: uuid.UUID) -> UserGroup:
    group = await uow.user_groups.get(group_id)
    if group is None:
        raise NotFound("User group", ["groupId"])
    return group


def _custom_only(group: UserGroup, what: str) -> None:
    if group.kind is GroupKind.SYSTEM:
        raise DomainError(
            G.SYSTEM_GROUP, f"System groups are maintained automatically; {what} is not possible", ["groupId"]
        )


async def _validate(uow: UnitOfWork, data: GroupInput, errors: Errors, *, except_id: uuid.UUID | None) -> dict:
    ctx = await org_context(uow)
    out: dict = {}
    if data.name is not None:
        name = data.name.strip()
        if not name:
            errors.add("REQUIRED", "The group needs a name", "name")
        elif len(name) > NAME_MAX:
            errors.add("TOO_LONG", f"At most {NAME_MAX} characters", "name")
        elif await uow.user_groups.name_taken(name.lower(), except_id=except_id):
            errors.add(G.DUPLICATE_NAME, "Another group already has this name", "name")
        out["name"] = name
    if data.description is not None:
        description = optional(data.description)
        if description and len(description) > DESCRIPTION_MAX:
            errors.add("TOO_LONG", f"At most {DESCRIPTION_MAX} characters", "description")
        out["description"] = description
    if data.rights is not None:
        out["rights"] = parse_rights(errors, data.rights, ctx.right_codes)
    if data.p_number is not None or data.se_number is not None:
        p, se = check_units(errors, ctx, optional(data.p_number), optional(data.se_number))
        if data.p_number is not None:
            out["p_number"] = p
        if data.se_number is not None:
            out["se_number"] = se
    return out


async def create_user_group(uow: UnitOfWork, data: GroupInput) -> UserGroup:
    errors = Errors()
    if data.name is None:
        errors.add("REQUIRED", "The group needs a name", "name")
    values = await _validate(uow, data, errors, except_id=None)
    errors.raise_if_any()
    group = UserGroup(
        id=uuid.uuid4(), org_id=uow.actor.org_id, kind=GroupKind.CUSTOM, name=values["name"],
        description=values.get("description"), p_number=values.get("p_number"), se_number=values.get("se_number"),
        created_at=uow.platform.now(),
    )
    await uow.user_groups.add(group)
    rights = values.get("rights") or []
    if rights:
        await uow.user_groups.set_rights(group.id, rights)
    await record(uow, ActivityType.GROUP_CREATED, f"Group '{group.name}' created", group=group,
                 details={"rights": rights, "pNumber": group.p_number, "seNumber": group.se_number})
    return group


async def update_user_group(uow: UnitOfWork, group_id: uuid.UUID, data: GroupInput) -> UserGroup:
    """Name, description and P/SE limit of custom groups; rights of any group (a system group
    carries its P-unit's rights)."""
    group = await _group(uow, group_id)
    if group.kind is GroupKind.SYSTEM and (
        data.name is not None or data.description is not None or data.p_number is not None
        or data.se_number is not None
    ):
        _custom_only(group, "renaming or limiting it")
    errors = Errors()
    values = await _validate(uow, data, errors, except_id=group.id)
    errors.raise_if_any()
    changed: dict[str, dict] = {}
    for attr, label in (("name", "name"), ("description", "description"), ("p_number", "pNumber"),
                        ("se_number", "seNumber")):
        if attr in values and values[attr] != getattr(group, attr):
            changed[label] = {"from": getattr(group, attr), "to": values[attr]}
            setattr(group, attr, values[attr])
    if "rights" in values:
        before = await uow.user_groups.rights(group.id)
        if sorted(before) != sorted(values["rights"]):
            await uow.user_groups.set_rights(group.id, values["rights"])
            changed["rights"] = {"from": sorted(before), "to": sorted(values["rights"])}
    if changed:
        await uow.user_groups.save(group)
        await record(uow, ActivityType.GROUP_UPDATED, "Group changed: " + ", ".join(sorted(changed)),
                     group=group, details=changed)
    return group


async def delete_user_group(uow: UnitOfWork, group_id: uuid.UUID) -> UserGroup:
    """Deleting a group ends its external memberships too: each partner hears of it as of a removal."""
    group = await _group(uow, group_id)
    _custom_only(group, "deleting it")
    externals = await uow.user_groups.external_members(group.id)
    await uow.user_groups.delete(group.id)
    await record(uow, ActivityType.GROUP_DELETED, f"Group '{group.name}' deleted", group=group)
    if externals:
        org = await uow.organisations.get()
        for external in externals:
            await record(uow, ActivityType.EXTERNAL_MEMBER_REMOVED,
                         f"Removed from a group of {org.name} ({org.cvr}): the group was deleted",
                         target=external, details={"organisation": org.cvr}, org_id=external.org_id)
            await _tell_partner(uow, org, external, group, added=False, why=" (the group was deleted)")
    return group


async def add_users_to_group(uow: UnitOfWork, group_id: uuid.UUID, user_ids: Sequence[uuid.UUID]) -> UserGroup:
    """All or nothing; users already in the group are left as they are (idempotent)."""
    group = await _group(uow, group_id)
    _custom_only(group, "adding members by hand")
    unique = list(dict.fromkeys(user_ids))
    users, _, _ = await uow.users.find_many(unique, [], [])
    problems: list[DomainError] = []
    for i, user_id in enumerate(user_ids):
        user = users.get(user_id)
        if user is None:
            problems.append(DomainError("NOT_FOUND", "User not found", ["userIds", str(i)]))
        elif user.status is UserStatus.ACTIVE:
            continue
        elif user.activated_at is None:
            problems.append(DomainError(
                G.USER_NOT_ACTIVATED, f"{user.full_name} has not activated their user yet", ["userIds", str(i)]
            ))
        else:
            problems.append(DomainError(
                G.USER_NOT_ACTIVE, f"{user.full_name} is {user.status.value.lower()}; only active users join groups",
                ["userIds", str(i)],
            ))
    if problems:
        raise ValidationFailed(problems)
    existing = await uow.user_groups.member_ids(group.id, unique)
    new = [users[u] for u in unique if u not in existing]
    if new:
        await uow.user_groups.add_members(
            group.id, [(u.id, uow.actor.org_id, False) for u in new], uow.platform.now(), uow.actor.user_id
        )
        for user in new:
            await record(uow, ActivityType.GROUP_MEMBER_ADDED, f"Added to group '{group.name}'", target=user,
                         group=group)
    return group


async def remove_user_from_group(uow: UnitOfWork, group_id: uuid.UUID, user_id: uuid.UUID) -> UserGroup:
    group = await _group(uow, group_id)
    _custom_only(group, "removing members by hand")
    user = await uow.users.get(user_id)
    if user is None:
        raise NotFound("User", ["userId"])
    if not await uow.user_groups.remove_member(group.id, user.id, external=False):
        raise DomainError(G.NOT_A_MEMBER, "The user is not a member of the group", ["userId"])
    await record(uow, ActivityType.GROUP_MEMBER_REMOVED, f"Removed from group '{group.name}'", target=user,
                 group=group)
    return group


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


def _who(person: ExternalUser | User) -> str:
    """How a partner's user is named to their own administrators: an anonymous one by UUID only."""
    if person.anonymous:
        return f"User {person.id}"
    return f"{person.first_name} {person.last_name} ({person.id})"


async def _tell_partner(
    uow: UnitOfWork, org: Organisation, external: ExternalUser, group: UserGroup, *, added: bool, why: str = ""
) -> None:
    """The partner's administrators hear what our organisation did with their user."""
    what = "added to" if added else "removed from"
    kind = ActivityType.EXTERNAL_MEMBER_ADDED if added else ActivityType.EXTERNAL_MEMBER_REMOVED
    title = f"One of your users was {what} a group of {org.name}"
    body = f"{_who(external)} was {what} the group '{group.name}' of {org.name} (CVR {org.cvr}){why}."
    await notify_administrators_of(uow, external.org_id, kind.value, title, body)


async def add_external_user_to_group(uow: UnitOfWork, group_id: uuid.UUID, handle: str) -> UserGroup:
    """Only with a handle from this organisation's own search, not expired; the user must still
    be ACTIVE now. Adding twice changes nothing."""
    group = await _group(uow, group_id)
    _custom_only(group, "adding members by hand")
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
    await _tell_partner(uow, org, external, group, added=True)
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
    group = await _group(uow, group_id)
    user_id = _member_id(uow, member)
    external = await uow.user_groups.external_user(user_id) if user_id is not None else None
    if external is None or not await uow.user_groups.remove_member(group.id, external.id, external=True):
        raise NotFound("External member", ["externalUserId"])
    org = await uow.organisations.get()
    await record(uow, ActivityType.EXTERNAL_MEMBER_REMOVED, f"External user removed from group '{group.name}'",
                 target=external, group=group, details={"organisation": external.org_cvr})
    await record(uow, ActivityType.EXTERNAL_MEMBER_REMOVED, f"Removed from a group of {org.name} ({org.cvr})",
                 target=external, details={"organisation": org.cvr}, org_id=external.org_id)
    await _tell_partner(uow, org, external, group, added=False)
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
        f"{_who(user)} was removed from the group '{group_name}' of organisation {owner_cvr} by {await uow.actor_name()}.",
    )
