"""Use cases for user groups themselves: system groups (one per P-unit, maintained by the system:
members are the users attached to the unit) and custom groups, created, changed and deleted here.
Their members are in `members` (ours) and `external` (partners')."""

from __future__ import annotations

import enum
import uuid
from dataclasses import dataclass

from app.domain.activity.history import ActivityType, record
from app.domain.common.errors import DomainError, NotFound
from app.domain.common.ports import UnitOfWork
from app.domain.common.validation import (
    Errors,
    check_units,
    has_control_characters,
    one_line,
    optional,
    org_context,
    parse_rights,
)
from app.domain.user_groups.model import GroupKind, UserGroup
from app.domain.user_groups.partners import tell_partner

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


async def get_group(uow: UnitOfWork, group_id: uuid.UUID) -> UserGroup:
    group = await uow.user_groups.get(group_id)
    if group is None:
        raise NotFound("User group", ["groupId"])
    return group


def custom_only(group: UserGroup, what: str) -> None:
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
        elif has_control_characters(name):
            one_line(errors, "name", name)
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
    group = await get_group(uow, group_id)
    if group.kind is GroupKind.SYSTEM and (
        data.name is not None or data.description is not None or data.p_number is not None
        or data.se_number is not None
    ):
        custom_only(group, "renaming or limiting it")
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
    group = await get_group(uow, group_id)
    custom_only(group, "deleting it")
    externals = await uow.user_groups.external_members(group.id)
    await uow.user_groups.delete(group.id)
    await record(uow, ActivityType.GROUP_DELETED, f"Group '{group.name}' deleted", group=group)
    if externals:
        org = await uow.organisations.get()
        for external in externals:
            await record(uow, ActivityType.EXTERNAL_MEMBER_REMOVED,
                         f"Removed from a group of {org.name} ({org.cvr}): the group was deleted",
                         target=external, details={"organisation": org.cvr}, org_id=external.org_id)
            await tell_partner(uow, org, external, group, added=False, why=" (the group was deleted)")
    return group
