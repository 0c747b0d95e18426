"""The User type: scalar fields are plain attributes; relations go through the request's loaders."""

from __future__ import annotations

import datetime as dt
import uuid as uuid_mod
from typing import TYPE_CHECKING, Annotated

import strawberry
from strawberry.types import Info

from app.domain.common.policy import can_view_user, reveals_identity
from app.domain.common.principal import Principal
from app.domain.users.model import User as DomainUser
from app.domain.users.model import UserFilter, UserOrder
from app.domain.users.roles import effective_roles
from app.persistence.users import reads as users_sql
from app.schema.activity import ActivityConnection, ActivityNode
from app.schema.runtime.base import (
    Node,
    PageInfo,
    decode_cursor,
    encode_cursor,
    page_info_of,
    page_size,
    to_global_id,
    uuid_of,
)
from app.schema.runtime.context import Context
from app.schema.runtime.enums import (
    ActivityType,
    Authenticator,
    Identification,
    Role,
    UserStatus,
)
from app.schema.runtime.loaders import now_or_later
from app.schema.user_groups.loaders import GROUP_RIGHTS_OF_USER, GROUPS_OF_USER
from app.schema.users.loaders import (
    AUTHENTICATORS,
    HISTORY,
    HISTORY_COUNT,
    HISTORY_DEFAULT,
    RIGHTS,
    ROLES,
    USER_BY_ID,
    history_args,
)

if TYPE_CHECKING:
    from app.schema.certificates.types import CertificateNode
    from app.schema.user_groups.types import UserGroupNode



@strawberry.type
class Deactivation:
    from_: dt.datetime | None = strawberry.field(name="from")
    until: dt.datetime | None


@strawberry.type(name="User")
class User(Node):
    id: strawberry.ID
    uuid: uuid_mod.UUID = strawberry.field(description="The stable user number")
    first_name: str | None
    last_name: str | None
    name: str | None
    email: str | None
    phone: str | None
    reference: str | None
    cpr_masked: str | None = strawberry.field(description="DDMMYY-**** for CPR users; never the full CPR")
    date_of_birth: dt.date | None
    identification: Identification
    anonymous: bool
    status: UserStatus
    p_number: str | None
    se_number: str | None
    can_sign: bool
    can_create_seal: bool
    deactivation: Deactivation | None
    created_at: dt.datetime
    activated_at: dt.datetime | None
    last_login_at: dt.datetime | None = strawberry.field(description="The activation's sign-in (not updated since)")
    updated_at: dt.datetime = strawberry.field(
        description="The latest change of the user: their data, rights, authenticators, roles or custom groups"
    )
    last_seen_at: dt.datetime | None = strawberry.field(
        description="The user's latest authenticated request (recorded at most every 5 minutes)"
    )
    _id: strawberry.Private[uuid_mod.UUID]

    @classmethod
    def of(cls, u: DomainUser, info: Info) -> User:
        ctx: Context = info.context
        return cls.shown_to(u, ctx.principal)

    @classmethod
    def shown_to(cls, u: DomainUser, principal: Principal | None) -> User:
        """`u` as `principal` sees them: an anonymous user's identity only to those it is revealed to."""
        reveal = not u.anonymous or (principal is not None and reveals_identity(principal, u.id))
        deactivation = (
            Deactivation(from_=u.deactivated_from, until=u.deactivated_until)
            if u.deactivated_from is not None or u.deactivated_until is not None
            else None
        )
        return cls(
            id=to_global_id("User", u.id), uuid=u.id, _id=u.id,
            first_name=u.first_name if reveal else None,
            last_name=u.last_name if reveal else None,
            name=u.full_name if reveal else None,
            email=u.email if reveal else None,
            phone=u.phone if reveal else None,
            reference=u.reference if reveal else None,
            cpr_masked=u.cpr_masked if reveal else None,
            date_of_birth=u.date_of_birth if reveal else None,
            identification=u.identification, anonymous=u.anonymous, status=u.status,
            p_number=u.p_number if reveal else None,
            se_number=u.se_number if reveal else None,
            can_sign=u.can_sign, can_create_seal=u.can_create_seal, deactivation=deactivation,
            created_at=u.created_at, activated_at=u.activated_at, last_login_at=u.last_login_at,
            updated_at=u.updated_at or u.created_at, last_seen_at=u.last_seen_at,
        )

    @classmethod
    async def resolve_node(cls, info: Info, id: str) -> User | None:
        """node(id:): as `user(id:)` (administrators: the organisation's users; everyone: themself)."""
        return await load_user(info, uuid_of(id, "User"))

    # Relations: synchronous resolvers over the request's loaders. A page of users prefetches the
    # relations its query selects (`prefetch_page`), so these return at once; alone (a single user,
    # a history actor) they return an awaitable and the loader batches as before.

    @strawberry.field
    def authenticators(self, info: Info) -> list[Authenticator]:
        return now_or_later(info.context.loaders[AUTHENTICATORS], self._id, _authenticators)

    @strawberry.field(description="Rights assigned directly to the user (right codes)")
    def rights(self, info: Info) -> list[str]:
        return now_or_later(info.context.loaders[RIGHTS], self._id, list)

    @strawberry.field(description="The user's groups: custom groups and their P-unit's system group")
    def groups(
        self, info: Info
    ) -> list[Annotated[UserGroupNode, strawberry.lazy("app.schema.user_groups.types")]]:
        from app.schema.user_groups.types import UserGroupNode

        user_id = self._id  # marks each group as one of this user's (their own, for the policy's "own")
        return now_or_later(info.context.loaders[GROUPS_OF_USER], user_id,
                            lambda gs: [UserGroupNode.view(g, _member_of=user_id) for g in gs])

    @strawberry.field(description="Own rights and the rights of the user's groups (right codes)")
    async def effective_rights(self, info: Info) -> list[str]:
        loaders = info.context.loaders
        own = await loaders[RIGHTS].load(self._id)
        via_groups = await loaders[GROUP_RIGHTS_OF_USER].load(self._id)
        return sorted(set(own) | set(via_groups))

    @strawberry.field(description="The roles the gateway holds for the user (what counts, whatever a token "
                      "claims), and USER for an active user")
    def roles(self, info: Info) -> list[Role]:
        status = self.status
        return now_or_later(info.context.loaders[ROLES], self._id, lambda held: _roles(held, status))

    @strawberry.field(description="The user's certificates, newest order first (certificate viewers and the user; "
                      "null with a FORBIDDEN error for anyone else)")
    def certificates(
        self, info: Info
    ) -> list[Annotated[CertificateNode, strawberry.lazy("app.schema.certificates.types")]] | None:
        from app.schema.certificates.types import certificates_of_user

        return certificates_of_user(info, self._id)

    @strawberry.field(description="The user's history, newest first; the latest 200 by default (activity-log "
                      "viewers and the user; null with a FORBIDDEN error for anyone else).")
    def history(
        self,
        info: Info,
        first: int | None = HISTORY_DEFAULT,
        after: str | None = None,
        from_: Annotated[str | None, strawberry.argument(name="from")] = None,
        to: str | None = None,
        types: list[ActivityType] | None = None,
        search: str | None = None,
    ) -> ActivityConnection | None:
        loaders = info.context.loaders
        args = history_args(first, after, from_, to, types, search)
        user_id = self._id
        return now_or_later(
            loaders[HISTORY], (user_id, args),
            lambda rows: ActivityConnection.of(
                rows, args.limit - 1, args.before_id,
                lambda: loaders[HISTORY_COUNT].load((user_id, args.filter)), details_read=False,
            ),
        )


def _authenticators(kinds: list[str]) -> list[Authenticator]:
    return [Authenticator(k) for k in kinds]


def _roles(held: list[str], status: UserStatus) -> list[Role]:
    return effective_roles([Role(r) for r in held], status)


async def load_user(info: Info, user_id: uuid_mod.UUID | None) -> User | None:
    """A user the caller may see (administrators: anyone in the organisation; others: themself),
    whichever field leads here (history actor/target, anonymity request, ...); else null."""
    principal = info.context.principal
    if user_id is None or principal is None or not can_view_user(principal, user_id):
        return None
    u = await info.context.loaders[USER_BY_ID].load(user_id)
    return User.of(u, info) if u is not None else None


@strawberry.type
class UserEdge:
    cursor: str
    node: User


@strawberry.type
class UserConnection:
    edges: list[UserEdge]
    page_info: PageInfo
    _filter: strawberry.Private[UserFilter]

    @strawberry.field
    async def total_count(self, info: Info) -> int:
        return await info.context.reader.run(users_sql.count_users, self._filter)

    @classmethod
    def of(cls, users: list[DomainUser], offset: int, limit: int, f: UserFilter, info: Info) -> UserConnection:
        prime = info.context.loaders[USER_BY_ID].prime
        for u in users[:limit]:
            prime(u.id, u)
        return cls.page(users, offset, limit, f, info.context.principal)

    @classmethod
    def page(
        cls, users: list[DomainUser], offset: int, limit: int, f: UserFilter, principal: Principal | None
    ) -> UserConnection:
        """The connection of a page read with one row more than `limit` (there is a next page)."""
        page = users[:limit]
        edges = [UserEdge(cursor=encode_cursor("Offset", offset + i + 1), node=User.shown_to(u, principal))
                 for i, u in enumerate(page)]
        return cls(
            edges=edges,
            page_info=page_info_of(edges, has_next=len(users) > limit, has_previous=offset > 0),
            _filter=f,
        )


def users_page_args(first: int | None, after: str | None) -> tuple[int, int]:
    return (decode_cursor(after, "Offset") or 0), page_size(first)


__all__ = ["ActivityNode", "User", "UserConnection", "UserOrder", "load_user", "users_page_args"]
