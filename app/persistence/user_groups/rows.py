"""User groups' columns and their mapping to the domain's dataclasses."""

from __future__ import annotations

from typing import Any

from app.domain.user_groups.model import ExternalUser, GroupKind, UserGroup
from app.persistence.tables.organisations import organisations
from app.persistence.tables.user_groups import user_groups
from app.persistence.tables.users import users

G = user_groups
GROUP_COLUMNS = [G.c.id, G.c.org_id, G.c.kind, G.c.name, G.c.description, G.c.p_number, G.c.se_number,
                 G.c.created_at, G.c.version, G.c.updated_at]

_KIND = {m.value: m for m in GroupKind}


def group_kind_of(value: str) -> GroupKind:
    return _KIND[value]


def group_from_row(r: Any, start: int = 0) -> UserGroup:
    """A group from GROUP_COLUMNS at `start` in the row, by position (cheaper than by name)."""
    id_, org_id, kind, name, description, p_number, se_number, created_at, version, updated_at = r[start:start + 10]
    return UserGroup(
        id=id_, org_id=org_id, kind=_KIND[kind], name=name, description=description,
        p_number=p_number, se_number=se_number, created_at=created_at, version=version, updated_at=updated_at,
    )


def external_from_row(r: Any) -> ExternalUser:
    return ExternalUser(
        id=r.id, org_id=r.org_id, org_cvr=r.cvr, org_name=r.org_name, first_name=r.first_name,
        last_name=r.last_name, email=r.email, p_number=r.p_number, anonymous=r.anonymous,
    )


EXTERNAL_COLUMNS = [users.c.id, users.c.org_id, organisations.c.cvr, organisations.c.name.label("org_name"),
                    users.c.first_name, users.c.last_name, users.c.email, users.c.p_number, users.c.anonymous]
