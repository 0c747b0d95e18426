"""How a partner organisation's administrators hear what our organisation did with their user."""

from __future__ import annotations

from app.domain.activity.history import ActivityType
from app.domain.common.organisation import Organisation
from app.domain.common.ports import UnitOfWork
from app.domain.notifications.delivery import notify_administrators_of
from app.domain.user_groups.model import ExternalUser, UserGroup
from app.domain.users.model import User


def who(person: ExternalUser | User) -> str:
    """How a partner's user is named to their own administrators: an anonymous one by UUID only."""
    if person.anonymous:
        return f"User {person.id}"
    return f"{person.first_name} {person.last_name} ({person.id})"


async def tell_partner(
    uow: UnitOfWork, org: Organisation, external: ExternalUser, group: UserGroup, *, added: bool, why: str = ""
) -> None:
    """The partner's administrators hear what our organisation did with their user."""
    what = "added to" if added else "removed from"
    kind = ActivityType.EXTERNAL_MEMBER_ADDED if added else ActivityType.EXTERNAL_MEMBER_REMOVED
    title = f"One of your users was {what} a group of {org.name}"
    body = f"{who(external)} was {what} the group '{group.name}' of {org.name} (CVR {org.cvr}){why}."
    await notify_administrators_of(uow, external.org_id, kind.value, title, body)
