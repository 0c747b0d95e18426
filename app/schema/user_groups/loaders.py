"""The user groups area's loaders: groups, their rights and members, and the rights catalogue."""

from __future__ import annotations

from aiodataloader import DataLoader

from app.domain.common.rights import Right
from app.persistence import rights as rights_sql
from app.persistence.read_session import ReadSession
from app.persistence.user_groups import reads as user_groups_sql
from app.schema.runtime.loaders import by_key, by_key_and_shape, custom

GROUP_BY_ID = by_key("group_by_id", user_groups_sql.groups_by_ids)  # uuid -> UserGroup | None
RIGHTS_OF_GROUP = by_key("rights_by_group", user_groups_sql.rights_by_group, [])  # uuid -> [right code]
MEMBERS = by_key_and_shape("members_by_group", user_groups_sql.members_by_group, [])  # (uuid, offset, limit)
MEMBER_COUNT = by_key("member_count_by_group", user_groups_sql.member_counts, 0)  # uuid -> int
GROUPS_OF_USER = by_key("groups_by_user", user_groups_sql.groups_by_user, [])  # user uuid -> [UserGroup]
GROUP_RIGHTS_OF_USER = by_key("group_rights_by_user", user_groups_sql.group_rights_by_user, [])  # user uuid


def _catalogue(session: ReadSession) -> DataLoader:
    async def batch(keys: list[str]) -> list[dict[str, Right]]:
        by_code = {r.code: r for r in await session.run_shared(rights_sql.all_rights)}
        return [by_code for _ in keys]

    return DataLoader(batch)


CATALOGUE = custom("catalogue", _catalogue)  # "all" -> {code: Right}
