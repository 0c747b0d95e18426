"""Employees' requests for a user account: the public form (`requestUserAccount`) and its
confirmation (`confirmUserAccountRequest`, also behind the mailed link's page), and what user
administrators do with confirmed requests (`userAccountRequests`, approve, reject)."""

from __future__ import annotations

import asyncio
import datetime as dt
import enum
import time
from collections.abc import Callable
from typing import Any

import strawberry
from graphql import GraphQLError
from strawberry.types import Info

from app.domain.account_requests import lifecycle as uc
from app.domain.account_requests.model import AccountRequest
from app.domain.account_requests.rules import (
    ANSWER_FLOOR_SECONDS,
    RequestForm,
    rate_limit_keys,
    validate_request,
)
from app.domain.common.errors import DomainError
from app.domain.common.policy import Action, is_allowed
from app.persistence import account_requests as account_requests_sql
from app.schema.runtime.area import Area
from app.schema.runtime.base import (
    Node,
    PageInfo,
    UserError,
    decode_cursor,
    encode_cursor,
    in_unit_of_work,
    not_found,
    page_info_of,
    page_size,
    requires,
    to_global_id,
    user_errors,
    uuid_of,
)
from app.schema.runtime.context import Context
from app.schema.runtime.enums import Authenticator
from app.schema.users.types import User, load_user

CONFIRM_PATH = "/account-requests/confirm"


@strawberry.enum(description="A request administrators see: confirmed by the requester, then decided.")
class UserAccountRequestStatus(enum.Enum):
    PENDING = "PENDING"
    APPROVED = "APPROVED"
    REJECTED = "REJECTED"


@strawberry.type(name="UserAccountRequest", description="An employee's confirmed request for a user account.")
class UserAccountRequestNode(Node):
    id: strawberry.ID
    first_name: str
    last_name: str
    email: str
    message: str | None
    status: UserAccountRequestStatus
    requested_at: dt.datetime
    confirmed_at: dt.datetime | None
    decided_at: dt.datetime | None
    reject_reason: str | None
    _user_id: strawberry.Private[Any]
    _decided_by: strawberry.Private[Any]

    @classmethod
    def of(cls, r: AccountRequest) -> UserAccountRequestNode:
        return cls(
            id=to_global_id("UserAccountRequest", r.id), first_name=r.first_name, last_name=r.last_name,
            email=r.email, message=r.message, status=UserAccountRequestStatus(r.status.value),
            requested_at=r.created_at, confirmed_at=r.confirmed_at, decided_at=r.decided_at,
            reject_reason=r.reject_reason, _user_id=r.user_id, _decided_by=r.decided_by,
        )

    @strawberry.field(description="The user created when the request was approved")
    async def user(self, info: Info) -> User | None:
        return await load_user(info, self._user_id)

    @strawberry.field(description="The user administrator who approved or rejected it")
    async def decided_by(self, info: Info) -> User | None:
        return await load_user(info, self._decided_by)

    @classmethod
    async def resolve_node(cls, info: Info, id: str) -> UserAccountRequestNode | None:
        """node(id:): as `userAccountRequests`: the organisation's user administrators, confirmed requests."""
        ctx: Context = info.context
        request_id = uuid_of(id, "UserAccountRequest")
        if request_id is None or ctx.actor is None or not is_allowed(ctx.actor.roles, Action.VIEW_USER_ACCOUNT_REQUESTS):
            return None
        found = await ctx.reader.run(account_requests_sql.request_by_id, request_id)
        return cls.of(found) if found else None


@strawberry.type
class UserAccountRequestEdge:
    cursor: str
    node: UserAccountRequestNode


@strawberry.type
class UserAccountRequestConnection:
    edges: list[UserAccountRequestEdge]
    page_info: PageInfo
    total_count: int


@strawberry.input
class RequestUserAccountInput:
    cvr: str
    first_name: str
    last_name: str
    email: str
    message: str | None = None


@strawberry.type
class RequestUserAccountPayload:
    accepted: bool = strawberry.field(
        description="True for every well-formed request, whether or not it was stored: the answer is the same "
        "for an unknown CVR, an organisation that does not take requests and a request mailed for confirmation"
    )
    user_errors: list[UserError]


@strawberry.input
class ConfirmUserAccountRequestInput:
    token: str


@strawberry.type
class ConfirmUserAccountRequestPayload:
    confirmed: bool
    user_errors: list[UserError]


@strawberry.input
class ApproveUserAccountRequestInput:
    request_id: strawberry.ID
    cpr: str | None = strawberry.field(default=None, description="DDMMYY-SSSS or DDMMYYSSSS")
    date_of_birth: str | None = strawberry.field(default=None, description="ISO date; instead of a CPR")
    phone: str | None = None
    authenticators: list[Authenticator] = strawberry.field(default_factory=list)
    p_number: str | None = None
    se_number: str | None = None
    rights: list[str] = strawberry.field(default_factory=list)
    reference: str | None = None


@strawberry.input
class RejectUserAccountRequestInput:
    request_id: strawberry.ID
    reason: str | None = strawberry.field(default=None, description="Mailed to the requester")


@strawberry.type
class UserAccountRequestPayload:
    request: UserAccountRequestNode | None
    user: User | None = strawberry.field(default=None, description="approve: the user created")
    temporary_activation_code: str | None = strawberry.field(
        default=None, description="approve, date-of-birth users only: shown once, pass it on through a secure channel"
    )
    user_errors: list[UserError]


def confirmation_link(base_url: str) -> Callable[[str], str]:
    """The mailed link: a page that confirms on a deliberate POST (a GET alone never does)."""
    base = base_url.rstrip("/")
    return lambda token: f"{base}{CONFIRM_PATH}?token={token}"


async def _charge(info: Info, form: RequestForm) -> None:
    """The form's budgets (per client address, e-mail address and CVR), held across processes by the
    cost budgets' store; over one: RATE_LIMITED (HTTP 429, Retry-After)."""
    ctx: Context = info.context
    client = getattr(getattr(ctx.request, "client", None), "host", None)
    for key, per_minute in rate_limit_keys(client, form):
        verdict = await ctx.services.cost_budgets.take(key, 1, per_minute)
        if not verdict.allowed:
            if ctx.response is not None:
                ctx.response.status_code = 429
                ctx.response.headers["Retry-After"] = str(verdict.retry_after)
            raise GraphQLError(f"Too many requests; retry in {verdict.retry_after} s",
                               extensions={"code": "RATE_LIMITED", "retryAfter": verdict.retry_after})


@strawberry.type
class AccountRequestQueries:
    @strawberry.field(permission_classes=requires(Action.VIEW_USER_ACCOUNT_REQUESTS))
    async def user_account_requests(
        self, info: Info, status: UserAccountRequestStatus | None = UserAccountRequestStatus.PENDING,
        first: int | None = None, after: str | None = None,
    ) -> UserAccountRequestConnection:
        """Confirmed requests of the organisation, newest first (status null: every status)."""
        ctx: Context = info.context
        limit = page_size(first)
        offset = decode_cursor(after, "Offset") or 0
        rows, total = await ctx.reader.run(
            account_requests_sql.list_requests, status.value if status else None, offset, limit
        )
        edges = [UserAccountRequestEdge(cursor=encode_cursor("Offset", offset + i + 1), node=UserAccountRequestNode.of(r))
                 for i, r in enumerate(rows)]
        return UserAccountRequestConnection(
            edges=edges, total_count=total,
            page_info=page_info_of(edges, has_next=offset + len(rows) < total, has_previous=offset > 0),
        )


@strawberry.type
class AccountRequestMutations:
    @strawberry.mutation(description="An employee asks for a user account (public: no token needed).")
    async def request_user_account(self, info: Info, input: RequestUserAccountInput) -> RequestUserAccountPayload:
        started = time.monotonic()
        form = RequestForm(cvr=input.cvr, first_name=input.first_name, last_name=input.last_name, email=input.email,
                           message=input.message)
        await _charge(info, form)
        try:
            valid = validate_request(form)
        except DomainError as exc:
            return RequestUserAccountPayload(accepted=False, user_errors=user_errors(exc))
        services = info.context.services
        await account_requests_sql.submit_request(
            services.engine, services.unit_of_work, valid, confirmation_link(services.settings.public_base_url)
        )
        # The same answer at the same time for an unknown CVR, a closed organisation and a stored request.
        await asyncio.sleep(max(0.0, started + ANSWER_FLOOR_SECONDS - time.monotonic()))
        return RequestUserAccountPayload(accepted=True, user_errors=[])

    @strawberry.mutation(description="The requester confirms with the mailed link's token (public: no token needed).")
    async def confirm_user_account_request(
        self, info: Info, input: ConfirmUserAccountRequestInput
    ) -> ConfirmUserAccountRequestPayload:
        services = info.context.services
        if await account_requests_sql.confirm_request(
            services.engine, services.unit_of_work, services.platform.hash_token, input.token
        ):
            return ConfirmUserAccountRequestPayload(confirmed=True, user_errors=[])
        return ConfirmUserAccountRequestPayload(confirmed=False, user_errors=[UserError(
            field=["token"], code="INVALID_CONFIRMATION", message="The confirmation link is invalid, used or expired"
        )])

    @strawberry.mutation(permission_classes=requires(Action.DECIDE_USER_ACCOUNT_REQUEST))
    async def approve_user_account_request(
        self, info: Info, input: ApproveUserAccountRequestInput
    ) -> UserAccountRequestPayload:
        request_id = uuid_of(input.request_id, "UserAccountRequest")
        if request_id is None:
            return UserAccountRequestPayload(request=None, user_errors=not_found("requestId", "User account request"))
        approval = uc.Approval(
            cpr=input.cpr, date_of_birth=input.date_of_birth, phone=input.phone, p_number=input.p_number,
            se_number=input.se_number, authenticators=[a.value for a in input.authenticators], rights=input.rights,
            reference=input.reference,
        )
        result, errors = await in_unit_of_work(info, lambda uow: uc.approve_request(uow, request_id, approval))
        if result is None:
            return UserAccountRequestPayload(request=None, user_errors=errors)
        request, created = result
        return UserAccountRequestPayload(
            request=UserAccountRequestNode.of(request), user=User.of(created.user, info),
            temporary_activation_code=created.temporary_activation_code, user_errors=[],
        )

    @strawberry.mutation(permission_classes=requires(Action.DECIDE_USER_ACCOUNT_REQUEST))
    async def reject_user_account_request(
        self, info: Info, input: RejectUserAccountRequestInput
    ) -> UserAccountRequestPayload:
        request_id = uuid_of(input.request_id, "UserAccountRequest")
        if request_id is None:
            return UserAccountRequestPayload(request=None, user_errors=not_found("requestId", "User account request"))
        request, errors = await in_unit_of_work(info, lambda uow: uc.reject_request(uow, request_id, input.reason))
        return UserAccountRequestPayload(
            request=UserAccountRequestNode.of(request) if request else None, user_errors=errors
        )


AREA = Area(
    queries=(AccountRequestQueries,), mutations=(AccountRequestMutations,), types=(UserAccountRequestNode,)
)
