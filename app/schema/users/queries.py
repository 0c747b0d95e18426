"""User queries: the organisation's users (administrators) and one user (administrators or self)."""

from __future__ import annotations

import enum
import uuid

import strawberry
from strawberry.types import Info

from app.domain.common.errors import DomainError
from app.domain.common.identifiers import IdentifierError, normalise_p_number, normalise_se_number
from app.domain.common.organisation import Authenticator
from app.domain.common.policy import Action, can_view_anonymity_request, can_view_user
from app.domain.common.principal import Principal
from app.domain.reporting import moment_range
from app.domain.users import anonymity
from app.domain.users.model import AnonymityRequest as DomainRequest
from app.domain.users.model import User as DomainUser
from app.domain.users.model import UserFilter, UserOrder
from app.persistence import rights as rights_sql
from app.persistence.read_session import ReadSession
from app.persistence.users import reads as users_sql
from app.schema.runtime.base import Node, bad_input, requires, to_global_id, uuid_of
from app.schema.runtime.context import Context
from app.schema.runtime.enums import AnonymityRequestStatus, Identification, UserOrderField, UserStatus
from app.schema.runtime.prefetch import prefetch_page
from app.schema.runtime.text_inputs import search_text
from app.schema.users.loaders import USER_BY_ID
from app.schema.users.types import User, UserConnection, load_user, users_page_args


@strawberry.input
class UserFilterInput:
    search: str | None = strawberry.field(default=None, description="Name, email or UUID")
    status: UserStatus | None = None
    p_number: str | None = None
    se_number: str | None = None
    identification: Identification | None = None
    group_id: strawberry.ID | None = strawberry.field(default=None, description="Members of this group")
    right: str | None = strawberry.field(
        default=None, description="Holders of this right from the catalogue (own or through a group, as effectiveRights)"
    )
    authenticator: Authenticator | None = strawberry.field(default=None, description="Holders of this authenticator")
    created_from: str | None = strawberry.field(default=None, description="ISO date or date-time: created at or after")
    created_to: str | None = strawberry.field(default=None, description="ISO date (inclusive) or date-time: created before")


@strawberry.enum
class OrderDirection(enum.Enum):
    ASC = "ASC"
    DESC = "DESC"


@strawberry.input
class UserOrderInput:
    field: UserOrderField = UserOrderField.NAME
    direction: OrderDirection = OrderDirection.ASC


def user_filter_of(f: UserFilterInput | None, known_rights: frozenset[str] = frozenset()) -> UserFilter:
    """The domain's filter from the input (BAD_USER_INPUT naming the field); `known_rights`: the catalogue."""
    if f is None:
        return UserFilter()
    try:
        p = normalise_p_number(f.p_number) if f.p_number else None
        se = normalise_se_number(f.se_number) if f.se_number else None
    except IdentifierError as exc:
        raise bad_input(exc.message, "filter") from exc
    group = None
    if f.group_id is not None:
        # A group id of another type or organisation matches nobody.
        group = uuid_of(f.group_id, "UserGroup") or uuid.UUID(int=0)
    try:
        created = moment_range(f.created_from, f.created_to, "createdFrom", "createdTo")
    except DomainError as exc:
        raise bad_input(exc.message, exc.field[0] if exc.field else "createdFrom") from exc
    right = f.right.strip() if f.right is not None else None
    if right is not None and right not in known_rights:
        raise bad_input("`right` is not in the rights catalogue", "right")
    return UserFilter(
        search=search_text(f.search), status=f.status, p_number=p, se_number=se, identification=f.identification,
        group_id=group, right=right, authenticator=f.authenticator.value if f.authenticator else None,
        created_from=created.start, created_to=created.end,
    )


async def known_rights(reader: ReadSession, right: str | None) -> frozenset[str]:
    """The catalogue's codes when a `right` is filtered by (one read, only then: a misspelt right is an
    error, not an empty list); else nothing to read."""
    if right is None:
        return frozenset()
    return frozenset(r.code for r in await reader.run_shared(rights_sql.all_rights))


async def user_filter(info: Info, f: UserFilterInput | None) -> UserFilter:
    """The filter of `users`, a `right` checked against the catalogue."""
    ctx: Context = info.context
    return user_filter_of(f, await known_rights(ctx.reader, f.right if f is not None else None))


@strawberry.type(name="AnonymityRequest")
class AnonymityRequestNode(Node):
    id: strawberry.ID
    status: AnonymityRequestStatus
    reason: str | None
    requested_at: strawberry.Private[object]
    _user_id: strawberry.Private[object]
    _new_user_id: strawberry.Private[object]

    @classmethod
    def of(cls, r: DomainRequest) -> AnonymityRequestNode:
        return cls(
            id=to_global_id("AnonymityRequest", r.id), status=r.status, reason=r.reason,
            requested_at=r.requested_at, _user_id=r.user_id, _new_user_id=r.new_user_id,
        )

    @classmethod
    async def resolve_node(cls, info: Info, id: str) -> AnonymityRequestNode | None:
        """node(id:): the organisation's requests for those who decide them (as `anonymityRequests`),
        a requester their own (as the payload of `requestAnonymity` showed it)."""
        ctx: Context = info.context
        request_id = uuid_of(id, "AnonymityRequest")
        if request_id is None or ctx.principal is None:
            return None
        async with ctx.unit_of_work() as uow:
            request = await anonymity.get_anonymity_request(uow, request_id)
        if request is None or not can_view_anonymity_request(ctx.principal, request.user_id):
            return None
        return cls.of(request)

    @strawberry.field
    async def user(self, info: Info) -> User | None:
        return await load_user(info, self._user_id)  # type: ignore[arg-type]

    @strawberry.field
    async def new_user(self, info: Info) -> User | None:
        return await load_user(info, self._new_user_id)  # type: ignore[arg-type]


async def users_page(
    reader: ReadSession, principal: Principal | None, first: int | None, after: str | None,
    filter: UserFilterInput | None, order_by: UserOrderInput | None,
) -> tuple[UserConnection, list[DomainUser]]:
    """`users(...)`: a page of the organisation's users (the resolver's and the compiled plan's read),
    and the page's users."""
    offset, limit = users_page_args(first, after)
    f = user_filter_of(filter, await known_rights(reader, filter.right if filter is not None else None))
    o = order_by or UserOrderInput()
    order = UserOrder(field=o.field, descending=o.direction is OrderDirection.DESC)
    rows = await reader.run(users_sql.list_users, f, order, offset, limit + 1)
    return UserConnection.page(rows, offset, limit, f, principal), rows[:limit]


@strawberry.type
class UserQueries:
    @strawberry.field(permission_classes=requires(Action.VIEW_USERS))
    async def users(
        self,
        info: Info,
        first: int | None = None,
        after: str | None = None,
        filter: UserFilterInput | None = None,
        order_by: UserOrderInput | None = None,
    ) -> UserConnection:
        ctx: Context = info.context
        connection, page = await users_page(ctx.reader, ctx.principal, first, after, filter, order_by)
        prime = ctx.loaders[USER_BY_ID].prime
        for u in page:
            prime(u.id, u)
        await prefetch_page(info, "User", [u.id for u in page])
        return connection

    @strawberry.field(permission_classes=requires(Action.VIEW_OWN_PROFILE))
    async def user(self, info: Info, id: strawberry.ID) -> User | None:
        ctx: Context = info.context
        user_id = uuid_of(id, "User")
        if user_id is None or ctx.principal is None or not can_view_user(ctx.principal, user_id):
            return None
        return await load_user(info, user_id)

    @strawberry.field(permission_classes=requires(Action.VIEW_ANONYMITY_REQUESTS))
    async def anonymity_requests(
        self, info: Info, status: AnonymityRequestStatus | None = AnonymityRequestStatus.PENDING
    ) -> list[AnonymityRequestNode]:
        ctx: Context = info.context
        return [AnonymityRequestNode.of(r) for r in await ctx.reader.run(users_sql.anonymity_requests_of_org, status)]
